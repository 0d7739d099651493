// Tests of the goroutines-demo executable, run as a child process: the
// thread-limit child must die with Go's exact words and status 2, bad
// command lines exit 64, experiments print their summary lines, and the
// temporary directory goes away at the end, when the disk is too small
// (before anything is written), and on SIGTERM.
//
// The executable is built with the tests and sits next to the test bundle.

import Foundation
import Glibc
import Testing

/// What a finished demo process left behind.
struct DemoRun: CustomStringConvertible {
    var stdout: String
    var stderr: String
    /// The exit status, or the signal number when `signaled`.
    var status: Int32
    var signaled: Bool
    var timedOut: Bool

    /// Whether it exited normally with `code`.
    func exited(_ code: Int32) -> Bool { !signaled && !timedOut && status == code }

    /// The last line of stdout.
    var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }

    var description: String {
        let how = timedOut ? "timed out" : signaled ? "signal \(status)" : "status \(status)"
        return "demo \(how)\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
    }
}

enum DemoProcess {
    /// The goroutines-demo executable, or nil if it cannot be found.
    static let executableURL: URL? = {
        var directories: [URL] = []
        if let first = CommandLine.arguments.first {
            let url = URL(fileURLWithPath: first).resolvingSymlinksInPath()
            directories.append(url.deletingLastPathComponent())
        }
        let bundle = Bundle.main.bundleURL
        directories += [bundle, bundle.deletingLastPathComponent()]
        for directory in directories {
            let candidate = directory.appendingPathComponent("goroutines-demo")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()

    /// Starts the demo with `arguments`, in our environment less GODEBUG
    /// and GOMAXPROCS, plus `extra`; `whileRunning` is called every few
    /// milliseconds with the child's pid until it ends. The child is killed
    /// after `timeout`.
    static func run(
        _ arguments: [String], environment extra: [String: String] = [:],
        timeout: Duration = .seconds(60), whileRunning: (Int32) -> Void = { _ in }
    ) throws -> DemoRun {
        let executable = try #require(
            executableURL, "goroutines-demo not found next to the tests")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("goroutines-demo-test-\(UUID().uuidString)")
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
        environment["GODEBUG"] = nil
        environment["GOMAXPROCS"] = nil
        environment["SWIFT_BACKTRACE"] = "enable=no"
        for (key, value) in extra { environment[key] = value }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            whileRunning(process.processIdentifier)
            usleep(2_000)
        }
        process.waitUntilExit()
        return DemoRun(
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
            status: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            timedOut: timedOut)
    }

    /// A fresh directory for the demo's --dir, removed by the end of `body`.
    static func withDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("goroutines-demo-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    /// The entries of `directory`.
    static func contents(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }
}

extension RuntimeCoreTests {
    @Suite("goroutines-demo", .serialized)
    struct DemoTests {
        @Test func threadLimitChildDiesWithGoWordsAndStatus2() throws {
            let run = try DemoProcess.run(["thread-limit", "--limit", "10", "--child"])
            #expect(run.exited(2), "\(run)")
            let expected =
                "runtime: program exceeds 10-thread limit\nfatal error: thread exhaustion\n"
            #expect(run.stderr == expected, "\(run)")
        }

        @Test func threadLimitParentChecksTheChild() throws {
            let run = try DemoProcess.run(["thread-limit", "--limit", "12"])
            #expect(run.exited(0), "\(run)")
            #expect(run.lastLine == "thread-limit limit=12 status=2 message_ok=true", "\(run)")
        }

        /// The child wires --goroutines goroutines, so a limit above the
        /// default 100 works when more goroutines are asked for.
        @Test func threadLimitWiresTheGoroutinesAskedFor() throws {
            let run = try DemoProcess.run(["thread-limit", "--limit", "120", "--goroutines", "130"])
            #expect(run.exited(0), "\(run)")
            #expect(run.stdout.contains("130 goroutines"), "\(run)")
            #expect(run.lastLine == "thread-limit limit=120 status=2 message_ok=true", "\(run)")
        }

        @Test(
            arguments: [
                ["--bogus"],
                ["no-such-experiment"],
                ["quick-writes", "--goroutines", "zero"],
                ["quick-writes", "--goroutines"],
                ["blocking-writes", "--mib=0"],
                ["quick-writes", "--seconds", "-1"],
                ["skynet", "--goroutines", "12"],
                ["lock-os-thread", "--child"],
                ["quick-writes", "stray"],
                ["thread-limit", "--limit", "200"],
                ["thread-limit", "--limit", "20", "--goroutines", "20"],
                ["--limit", "100"],
            ])
        func badCommandLinesExit64WithUsage(arguments: [String]) throws {
            let run = try DemoProcess.run(arguments)
            #expect(run.exited(64), "\(run)")
            #expect(run.stderr.hasPrefix("goroutines-demo: "), "\(run)")
            #expect(run.stderr.contains("usage: goroutines-demo"), "\(run)")
            #expect(run.stdout.isEmpty, "\(run)")
        }

        /// A --dir the experiment cannot use is a usage error that names the
        /// path and what is wrong with it, before anything runs.
        @Test(arguments: [["quick-writes"], ["thread-limit"], []])
        func unusableDirIsAUsageError(experiment: [String]) throws {
            try DemoProcess.withDirectory { directory in
                let file = directory + "/file"
                #expect(FileManager.default.createFile(atPath: file, contents: Data()))
                var cases = [
                    (directory + "/missing", "no such directory"), (file, "not a directory"),
                ]
                // Permissions do not hold back root; the case needs another user.
                if getuid() != 0 {
                    let locked = directory + "/locked"
                    try FileManager.default.createDirectory(
                        atPath: locked, withIntermediateDirectories: false,
                        attributes: [.posixPermissions: 0o555])
                    cases.append((locked, "not writable"))
                }
                for (path, reason) in cases {
                    let run = try DemoProcess.run(experiment + ["--dir", path])
                    #expect(run.exited(64), "\(run)")
                    #expect(
                        run.stderr.hasPrefix("goroutines-demo: --dir \(path): \(reason)"), "\(run)")
                    #expect(run.stderr.contains("usage: goroutines-demo"), "\(run)")
                    #expect(run.stdout.isEmpty, "\(run)")
                }
            }
        }

        @Test func helpPrintsUsageAndExits0() throws {
            let run = try DemoProcess.run(["--help"])
            #expect(run.exited(0), "\(run)")
            #expect(run.stdout.hasPrefix("usage: goroutines-demo"), "\(run)")
        }

        @Test func quickWritesSummarizesAndRemovesItsFiles() throws {
            try DemoProcess.withDirectory { directory in
                let run = try DemoProcess.run([
                    "quick-writes", "--goroutines", "8", "--seconds", "0.3", "--dir", directory,
                ])
                #expect(run.exited(0), "\(run)")
                let summary = /quick-writes goroutines=8 gomaxprocs=2 peak_threads=(\d+)/
                let match = try #require(run.lastLine.wholeMatch(of: summary), "\(run)")
                #expect(Int(match.1)! >= 2)
                #expect(DemoProcess.contents(directory) == [])
            }
        }

        /// GOMAXPROCS for the experiments: --gomaxprocs, else a valid GOMAXPROCS
        /// variable, else 2.
        @Test(arguments: [
            ([], "1", 1), (["--gomaxprocs", "3"], "1", 3), ([], "abc", 2), ([], "", 2),
        ])
        func writeExperimentsTakeGOMAXPROCSFromTheEnvironment(
            flags: [String], variable: String, expected: Int
        ) throws {
            try DemoProcess.withDirectory { directory in
                let run = try DemoProcess.run(
                    ["quick-writes", "--goroutines", "4", "--seconds", "0.2", "--dir", directory]
                        + flags,
                    environment: ["GOMAXPROCS": variable])
                #expect(run.exited(0), "\(run)")
                let summary = try Regex(
                    "quick-writes goroutines=4 gomaxprocs=\(expected) peak_threads=\\d+")
                #expect(run.lastLine.wholeMatch(of: summary) != nil, "\(run)")
            }
        }

        /// Whether /dev/shm is a writable memory file system here.
        static var sharedMemoryIsTmpfs: Bool {
            guard access("/dev/shm", W_OK | X_OK) == 0,
                let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
            else { return false }
            let shm = mounts.split(separator: "\n").last {
                $0.split(separator: " ").dropFirst().first == "/dev/shm"
            }
            return shm?.split(separator: " ").dropFirst(2).first == "tmpfs"
        }

        /// quick-writes measures quick calls, so by default it writes to /dev/shm
        /// when that is a tmpfs, even with TMPDIR set; else to TMPDIR. --dir wins.
        @Test func quickWritesPrefersSharedMemoryOverTMPDIR() throws {
            try DemoProcess.withDirectory { tmp in
                let quick = ["quick-writes", "--goroutines", "4", "--seconds", "0.2"]
                let run = try DemoProcess.run(quick, environment: ["TMPDIR": tmp])
                #expect(run.exited(0), "\(run)")
                let parent = Self.sharedMemoryIsTmpfs ? "/dev/shm" : tmp
                let place = "  files go to \(parent)/goroutines-demo-quick-writes-"
                #expect(run.stdout.contains(place), "\(run)")
                if Self.sharedMemoryIsTmpfs { #expect(run.stdout.contains(" (tmpfs)\n"), "\(run)") }

                try DemoProcess.withDirectory { directory in
                    let named = try DemoProcess.run(
                        quick + ["--dir", directory], environment: ["TMPDIR": tmp])
                    #expect(named.exited(0), "\(named)")
                    let place = "  files go to \(directory)/goroutines-demo-quick-writes-"
                    #expect(named.stdout.contains(place), "\(named)")
                }
            }
        }

        @Test func defaultRunEndsWithOneSummaryLinePerExperiment() throws {
            try DemoProcess.withDirectory { directory in
                let run = try DemoProcess.run(
                    ["--goroutines", "6", "--mib", "1", "--seconds", "0.3", "--dir", directory],
                    timeout: .seconds(120))
                #expect(run.exited(0), "\(run)")
                let lines = run.stdout.split(separator: "\n").suffix(5).map(String.init)
                try #require(lines.count == 5, "\(run)")
                let quick = /quick-writes goroutines=6 gomaxprocs=2 peak_threads=\d+/
                let marked = /blocking-writes goroutines=6 gomaxprocs=2 mib=1 peak_threads=\d+/
                let unmarked = /foundation-writes goroutines=6 gomaxprocs=2 mib=1 peak_threads=\d+/
                #expect(lines[0].wholeMatch(of: quick) != nil, "\(run)")
                #expect(lines[1].wholeMatch(of: marked) != nil, "\(run)")
                #expect(lines[2].wholeMatch(of: unmarked) != nil, "\(run)")
                #expect(lines[3] == "thread-limit limit=10 status=2 message_ok=true")
                #expect(lines[4] == "lock-os-thread goroutines=6 distinct_threads=6")
                #expect(DemoProcess.contents(directory) == [])
            }
        }

        @Test func lockOSThreadKeepsEachGoroutineOnItsOwnThread() throws {
            let run = try DemoProcess.run(["lock-os-thread", "--goroutines", "6"])
            #expect(run.exited(0), "\(run)")
            #expect(run.lastLine == "lock-os-thread goroutines=6 distinct_threads=6", "\(run)")
        }

        @Test func refusesToStartWithoutRoomOnDisk() throws {
            try DemoProcess.withDirectory { directory in
                let run = try DemoProcess.run([
                    "blocking-writes", "--goroutines", "10000000", "--mib", "65536",
                    "--dir", directory,
                ])
                #expect(run.exited(1), "\(run)")
                #expect(run.stderr.contains("not enough free space in \(directory)"), "\(run)")
                #expect(run.stderr.contains("needs about"), "\(run)")
                #expect(run.stderr.contains("available"), "\(run)")
                #expect(DemoProcess.contents(directory) == [])
            }
        }

        @Test func sigtermRemovesTheTemporaryDirectory() throws {
            try DemoProcess.withDirectory { directory in
                var sent = false
                let run = try DemoProcess.run([
                    "blocking-writes", "--goroutines", "4", "--mib", "1", "--seconds", "60",
                    "--dir", directory,
                ]) { pid in
                    // Once the writers' files exist, ask the demo to stop.
                    guard !sent, let scratch = DemoProcess.contents(directory).first,
                        !DemoProcess.contents(directory + "/" + scratch).isEmpty
                    else { return }
                    kill(pid, SIGTERM)
                    sent = true
                }
                #expect(sent, "\(run)")
                #expect(run.exited(143), "\(run)")
                #expect(
                    run.stderr.contains("interrupted by SIGTERM; removed \(directory)/"), "\(run)")
                #expect(DemoProcess.contents(directory) == [])
            }
        }
    }
}
