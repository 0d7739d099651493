// Runs the `goroutines-crashers` executable as a child process, for tests of
// paths that end the process (fatal errors, panics, failed preconditions) and
// of start-up settings read from the environment.
//
// The executable is built with the tests and sits next to the test bundle:
// in the directory of `CommandLine.arguments[0]` or of `Bundle.main`. Its
// stdout and stderr go to temporary files rather than pipes, so a child that
// writes a lot can never block on a full pipe while we wait for it.

import Foundation
import Testing

/// What a finished child process left behind.
struct ChildResult: CustomStringConvertible {
    var stdout: String
    var stderr: String
    /// The exit status, or the signal number when `signaled`.
    var status: Int32
    /// Whether the child was ended by a signal (a trap, an abort).
    var signaled: Bool
    /// Whether we killed it because it outlived its time limit.
    var timedOut: Bool

    /// Whether it exited normally with `code`.
    func exited(_ code: Int32) -> Bool { !signaled && !timedOut && status == code }

    var description: String {
        let how = timedOut ? "timed out" : signaled ? "signal \(status)" : "status \(status)"
        return "child \(how)\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
    }
}

enum ChildProcess {
    static let executableName = "goroutines-crashers"

    /// The crashers executable, or nil if it cannot be found.
    static let executableURL: URL? = {
        var directories: [URL] = []
        if let first = CommandLine.arguments.first {
            let url = URL(fileURLWithPath: first).resolvingSymlinksInPath()
            directories.append(url.deletingLastPathComponent())
        }
        let bundle = Bundle.main.bundleURL
        directories.append(bundle)
        directories.append(bundle.deletingLastPathComponent())
        for directory in directories {
            let candidate = directory.appendingPathComponent(executableName)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()

    /// Runs the crashers executable with `arguments`. The child inherits our
    /// environment minus GOMAXPROCS and GODEBUG, with Swift's backtracer off,
    /// plus `environment`. It is killed if it runs longer than `timeout`.
    static func run(
        _ arguments: [String], environment: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) throws -> ChildResult {
        let executable = try #require(
            executableURL, "\(executableName) not found next to the test bundle")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("goroutines-child-\(UUID().uuidString)")
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

        var env = ProcessInfo.processInfo.environment
        env["GOMAXPROCS"] = nil
        env["GODEBUG"] = nil
        // Swift's crash backtracer is slow and noisy; the message suffices.
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (key, value) in environment { env[key] = value }

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = env
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now > deadline {
                timedOut = true
                process.terminate()
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()

        return ChildResult(
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
            status: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            timedOut: timedOut)
    }
}
