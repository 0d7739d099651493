// Smoke test of the benchmark harness: every benchmark, run at a tiny size by
// `goroutines-bench run-one` for this package and for Swift concurrency, must
// print the checksum its definition implies (Benchmarks/go/README.md). The
// harness executable is built with the tests and sits next to the test
// bundle. Timings are printed by the harness but never asserted here.

import Foundation
import Testing

extension RuntimeCoreTests {
    @Suite("Benchmark harness", .serialized)
    struct BenchHarnessTests {
        /// A benchmark at a tiny size, and the checksum that size implies.
        struct TinyRun: CustomTestStringConvertible, Sendable {
            let name: String
            let arguments: [String]
            let expected: Int?

            var testDescription: String { name }
        }

        static let n = 1_000
        static let tinyRuns: [TinyRun] = [
            TinyRun(name: "skynet", arguments: ["--n", "\(n)"], expected: n * (n - 1) / 2),
            TinyRun(name: "pingpong", arguments: ["--n", "\(n)"], expected: n),
            TinyRun(name: "spawn", arguments: ["--n", "\(n)"], expected: n),
            TinyRun(name: "spawn-bare", arguments: ["--n", "\(n)"], expected: n),
            TinyRun(name: "yield", arguments: ["--n", "\(n)"], expected: 2 * n),
            TinyRun(name: "chan-spsc", arguments: ["--n", "\(n)"], expected: n * (n + 1) / 2),
            TinyRun(name: "chan-mpmc", arguments: ["--n", "\(n)"], expected: n * (n + 1) / 2),
            TinyRun(name: "select4", arguments: ["--n", "\(n)"], expected: n * (n + 1) / 2),
            TinyRun(name: "mutex", arguments: ["--n", "\(n)"], expected: n),
            TinyRun(name: "parked", arguments: ["--n", "\(n)"], expected: n),
            TinyRun(name: "handoff", arguments: ["--n", "5"], expected: 5),
            TinyRun(name: "handoff-unmarked", arguments: ["--n", "5"], expected: 5),
            // Any positive number of files; tiny files for a fifth of a second.
            TinyRun(
                name: "seed-threads",
                arguments: ["--goroutines", "4", "--mib", "0", "--seconds", "0.2"], expected: nil),
        ]

        @Test("each benchmark computes its checksum", arguments: tinyRuns)
        func checksum(_ run: TinyRun) throws {
            for impl in ["ours", "swift"] {
                let outcome = try BenchHarness.run(["run-one", impl, run.name] + run.arguments)
                #expect(outcome.status == 0, "\(impl) \(run.name): \(outcome.stderr)")
                let pairs = BenchHarness.pairs(outcome.stdout)
                let result = try #require(
                    pairs["result"].flatMap { Int($0) }, "\(impl) \(run.name): \(outcome.stdout)")
                if let expected = run.expected {
                    #expect(result == expected, "\(impl) \(run.name)")
                } else {
                    #expect(result > 0, "\(impl) \(run.name)")
                }
                #expect(pairs["ns_per_op"].flatMap { Double($0) } != nil)
            }
        }

        @Test("a wrong size is a usage error, not a run")
        func usageError() throws {
            let outcome = try BenchHarness.run(["run-one", "ours", "skynet", "--n", "0"])
            #expect(outcome.status == 2)
            #expect(outcome.stderr.contains("bad value for --n"))
            #expect(outcome.stdout.isEmpty)
        }

        @Test("the driver writes a table, a CSV and a chart")
        func driverOutputs() throws {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("goroutines-bench-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let csv = directory.appendingPathComponent("bench.csv")

            let outcome = try BenchHarness.run([
                "--impl", "ours,swift", "--runs", "2", "--filter", "skynet,spawn", "--n", "500",
                "--out", csv.path,
            ])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdout.contains("machine:"))
            let table = outcome.stdout.split(separator: "\n")
            #expect(table.contains { $0.hasPrefix("skynet") })
            #expect(table.contains { $0.hasPrefix("spawn") })

            let text = try String(contentsOf: csv, encoding: .utf8)
            let lines = text.split(separator: "\n")
            let header = lines.first.map { $0.split(separator: ",").map(String.init) } ?? []
            for column in [
                "name", "metric", "ours_median", "go_median", "swift_median", "ratio_to_go",
            ] {
                #expect(header.contains(column), "CSV lacks \(column)")
            }
            let nameColumn = try #require(header.firstIndex(of: "name"))
            let metricColumn = try #require(header.firstIndex(of: "metric"))
            let statusColumn = try #require(header.firstIndex(of: "ours_status"))
            let skynet = try #require(
                lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
                    .first { $0[nameColumn] == "skynet" && $0[metricColumn] == "ms" })
            #expect(skynet[statusColumn] == "ok")

            let svg = try String(
                contentsOf: directory.appendingPathComponent("bench.svg"), encoding: .utf8)
            #expect(svg.hasPrefix("<svg"))
            #expect(svg.hasSuffix("</svg>\n"))
        }
    }
}

/// Runs the harness executable as a child process.
private enum BenchHarness {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let executableName = "goroutines-bench"

    static let executable: URL? = {
        var directories: [URL] = []
        if let first = CommandLine.arguments.first {
            directories.append(
                URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL)
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        return directories.map { $0.appendingPathComponent(executableName) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs the harness with `arguments`; kills it after `timeout` seconds.
    static func run(_ arguments: [String], timeout: Double = 120) throws -> Outcome {
        let url = try #require(executable, "\(executableName) not found next to the tests")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("goroutines-bench-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }

        var environment = ProcessInfo.processInfo.environment
        environment["GOMAXPROCS"] = nil
        environment["GODEBUG"] = nil
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("goroutines-bench \(arguments.joined(separator: " ")) timed out")
        }
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// The `key=value` pairs of the first output line.
    static func pairs(_ stdout: String) -> [String: String] {
        var pairs: [String: String] = [:]
        let line = stdout.split(separator: "\n").first ?? ""
        for token in line.split(separator: " ") {
            let parts = token.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { pairs[String(parts[0])] = String(parts[1]) }
        }
        return pairs
    }
}
