// Shared pieces of the sync, context and group tests.
//
// Every suite of these tests nests inside `SyncTests`, another name for the
// serialized `RuntimeCoreTests`: the runtime is process-global, so no test
// may run while another changes GOMAXPROCS or loads the machine.
// Scenarios run as goroutines and the test thread waits for them with a
// bound, so a lost wakeup or a deadlock fails the test instead of hanging
// the run.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

/// The parent of the sync, context and group suites; see the file comment.
typealias SyncTests = RuntimeCoreTests

enum SyncTest {
    /// The GOMAXPROCS values the concurrency tests run under.
    static let procs = [1, 4]

    /// How long a scenario may take before it counts as hung.
    static let liveness: Duration = .seconds(30)

    /// Set once a scenario has hung. Its goroutines stay parked forever, so
    /// later scenarios get a short bound instead: one failure is enough.
    static let sawHang = Atomic<Bool>(false)

    static func bound(_ timeout: Duration) -> Duration {
        sawHang.load(ordering: .relaxed) ? min(timeout, .seconds(2)) : timeout
    }

    /// Runs `body` once for each GOMAXPROCS value in `procs`, restoring the
    /// previous value afterwards.
    static func forEachProcs(_ body: (Int) throws -> Void) rethrows {
        let old = Runtime.maxProcs
        defer { Runtime.setMaxProcs(old) }
        for n in procs {
            Runtime.setMaxProcs(n)
            try body(n)
        }
    }

    /// Runs `body` as a goroutine and waits for it to return, at most
    /// `timeout`. Returns whether it finished in time.
    @discardableResult
    static func inGoroutine(
        timeout: Duration = liveness, _ body: @escaping @Sendable () -> Void
    ) -> Bool {
        let finished = Completion()
        go {
            body()
            finished.signal()
        }
        return reportHang(finished.wait(timeout: bound(timeout)))
    }

    /// Starts `count` goroutines running `body(index)` and waits for all of
    /// them, at most `timeout`. Returns whether they finished in time. The
    /// bodies start together, once every goroutine exists, so that even a
    /// fast body meets the others.
    @discardableResult
    static func goroutines(
        _ count: Int, timeout: Duration = liveness,
        _ body: @escaping @Sendable (Int) -> Void
    ) -> Bool {
        let group = WaitGroup()
        let gate = Channel<Void>()
        group.add(count)
        for i in 0..<count {
            go {
                gate.receive()
                body(i)
                group.done()
            }
        }
        gate.close()
        let finished = Completion()
        go {
            group.wait()
            finished.signal()
        }
        return reportHang(finished.wait(timeout: bound(timeout)))
    }

    /// Passes `finished` through; when false, prints a goroutine dump to
    /// stderr so that a hang can be diagnosed from the test log.
    static func reportHang(_ finished: Bool) -> Bool {
        if !finished {
            sawHang.store(true, ordering: .relaxed)
            let text = "sync tests: scenario hung; goroutine dump:\n" + GoroutineDump.text()
            FileHandle.standardError.write(Data(text.utf8))
        }
        return finished
    }

    /// Polls `condition`, yielding in between, until it holds or `timeout`
    /// passes. Returns whether it held.
    static func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + bound(timeout)
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            if Runtime.goroutineID != 0 {
                Runtime.yield()
            } else {
                usleep(100)
            }
        }
        return true
    }
}

extension SyncTest {
    /// A one-shot signal a plain thread can wait for with a timeout.
    final class Completion: @unchecked Sendable {
        // @unchecked: Note is an atomic word.
        private let note = Note()

        func signal() { note.wake() }

        func wait(timeout: Duration) -> Bool {
            note.sleep(timeoutNanos: timeout.nanosecondsClamped)
        }

        var isSignaled: Bool { note.isSet }
    }

    /// A value deliberately left unsynchronized: the lock under test guards it.
    final class Guarded<Value>: @unchecked Sendable {
        // @unchecked: every access happens under the lock the test exercises.
        var value: Value
        init(_ value: Value) { self.value = value }
    }

    /// A list shared between goroutines, under a goroutine-aware lock.
    ///
    /// Not `Synchronization.Mutex`: its inlined lock caches the thread id in
    /// a thread-local, which a goroutine that moved threads between two
    /// calls in one function may read from its previous thread.
    final class EventLog<Element: Sendable>: @unchecked Sendable {
        // @unchecked: `storage` is guarded by `mutex`.
        private let mutex = Goroutines.Mutex()
        private var storage: [Element] = []

        func append(_ element: Element) { mutex.withLock { storage.append(element) } }

        var events: [Element] { mutex.withLock { storage } }
    }

    /// Tracks how many goroutines are inside a region now, and the most ever.
    final class Occupancy: Sendable {
        private let inside = Atomic<Int>(0)
        private let peak = Atomic<Int>(0)

        /// Enters; returns how many are inside, counting the caller.
        @discardableResult
        func enter() -> Int {
            let now = inside.add(1, ordering: .acquiringAndReleasing).newValue
            peak.max(now, ordering: .relaxed)
            return now
        }

        func leave() { inside.subtract(1, ordering: .acquiringAndReleasing) }

        var current: Int { inside.load(ordering: .acquiring) }
        var highest: Int { peak.load(ordering: .relaxed) }
    }
}

/// The outcome of a crasher scenario run as a child process.
struct SyncCrash {
    var stderr: String
    var status: Int32
    var signaled: Bool

    /// Runs `goroutines-crashers <scenario>` and collects its stderr and exit.
    static func run(_ scenario: String) throws -> SyncCrash {
        let executable = try #require(crashersURL, "goroutines-crashers not found")
        let process = Process()
        process.executableURL = executable
        process.arguments = [scenario]
        var environment = ProcessInfo.processInfo.environment
        environment["GOMAXPROCS"] = nil
        environment["GODEBUG"] = nil
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The scenarios print a line or two, far below a pipe's capacity, so
        // reading after exit cannot deadlock.
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { usleep(1_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        return SyncCrash(
            stderr: String(decoding: data, as: UTF8.self),
            status: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal)
    }

    private static let crashersURL: URL? = {
        var directories: [URL] = []
        if let first = CommandLine.arguments.first {
            directories.append(
                URL(fileURLWithPath: first).resolvingSymlinksInPath()
                    .deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL)
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for directory in directories {
            let candidate = directory.appendingPathComponent("goroutines-crashers")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()
}
