// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Goroutines",
    products: [
        .library(name: "Goroutines", targets: ["Goroutines"]),
        .executable(name: "goroutines-demo", targets: ["goroutines-demo"]),
    ],
    targets: [
        .target(name: "CGoroutines"),
        .target(
            name: "Goroutines",
            dependencies: ["CGoroutines"]
        ),
        .executableTarget(
            name: "goroutines-demo",
            dependencies: ["Goroutines"]
        ),
        .testTarget(
            name: "GoroutinesTests",
            dependencies: ["Goroutines"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
