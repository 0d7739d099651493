// Helpers for the select, channel conformance and timer suites.
//
// The runtime is process-global, so these suites are serialized and every
// wait has a bound: a lost wake-up becomes a failed expectation, never a
// hung test run. The channel operations of the stress tests are tallied in
// `StressLedger`; the conformance suite checks the total once all of them
// have run.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

/// An atomic tally shared between goroutines.
final class AtomicTally: Sendable {
    private let storage = Atomic<Int>(0)

    func add(_ n: Int = 1) { storage.add(n, ordering: .relaxed) }
    var value: Int { storage.load(ordering: .relaxed) }
}

/// The GOMAXPROCS values the concurrency tests of these suites run under.
let selectProcs = [1, 2, 4]

/// Runs `body` with GOMAXPROCS `n`, then restores the previous value.
func underMaxProcs<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
    let old = Runtime.setMaxProcs(n)
    defer { Runtime.setMaxProcs(old) }
    return try body()
}

/// Waits for `group` from a helper thread and reports whether it finished
/// within `timeout`.
func groupFinishes(_ group: WaitGroup, within timeout: Duration = .seconds(30)) -> Bool {
    runOnPlainThread(within: timeout) { group.wait() }
}

/// Polls `condition` every half millisecond until it holds or `timeout`
/// passes; returns whether it held.
func holdsEventually(within timeout: Duration, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        usleep(500)
    }
    return true
}

/// A one-way flag between threads.
final class ThreadFlag: Sendable {
    private let storage = Atomic<Bool>(false)

    func set() { storage.store(true, ordering: .releasing) }
    var isSet: Bool { storage.load(ordering: .acquiring) }
}

/// Runs `body` on a new plain thread (not a goroutine) and returns whether
/// it finished within `timeout`.
func runOnPlainThread(
    within timeout: Duration = .seconds(30), _ body: @escaping @Sendable () -> Void
) -> Bool {
    let flag = ThreadFlag()
    let thread = Thread {
        body()
        flag.set()
    }
    thread.start()
    return holdsEventually(within: timeout) { flag.isSet }
}

/// A value shared between goroutines, behind a lock.
final class LockedBox<Value: Sendable>: Sendable {
    private let storage: Synchronization.Mutex<Value>

    init(_ value: Value) { storage = Synchronization.Mutex(value) }

    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
    var value: Value { storage.withLock { $0 } }
}

/// The channel operations performed by the stress tests of the conformance
/// suite: each completed send and each completed receive counts one.
enum StressLedger {
    /// Each stress test and how many cases (argument combinations) it runs.
    static let expectedCases = ["fifo": 6, "multiset": 3, "sieve": 2, "zero-size": 3, "ring": 2]

    static let operations = AtomicTally()
    private static let finished = LockedBox<[String: Int]>([:])

    /// Adds one finished test case's operations.
    static func record(_ test: String, operations count: Int) {
        operations.add(count)
        finished.update { $0[test, default: 0] += 1 }
    }

    /// Whether every case of every stress test has run in this process.
    static var allRecorded: Bool {
        let seen = finished.value
        return expectedCases.allSatisfy { seen[$0.key, default: 0] >= $0.value }
    }
}
