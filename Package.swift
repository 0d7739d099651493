// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Goroutines",
    products: [
        .library(name: "Goroutines", targets: ["Goroutines"]),
        .executable(name: "goroutines-demo", targets: ["goroutines-demo"]),
        .executable(name: "goroutines-bench", targets: ["goroutines-bench"]),
    ],
    targets: [
        // The context switch (assembly), futex, TLS and signal helpers.
        .target(name: "CGoroutines"),
        .target(
            name: "Goroutines",
            dependencies: ["CGoroutines"]
        ),
        // The seed's experiments and the skynet demo.
        .executableTarget(
            name: "goroutines-demo",
            dependencies: ["Goroutines"]
        ),
        // This runtime, Go and Swift concurrency, side by side.
        .executableTarget(
            name: "goroutines-bench",
            dependencies: ["Goroutines"],
            path: "Benchmarks/Harness"
        ),
        // Programs that die on purpose; the tests run them as child processes.
        .executableTarget(
            name: "goroutines-crashers",
            dependencies: ["Goroutines"],
            path: "Tests/Crashers"
        ),
        .testTarget(
            name: "GoroutinesTests",
            dependencies: ["Goroutines"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
