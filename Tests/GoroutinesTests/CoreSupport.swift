// Shared pieces of the runtime core, blocking and thread tests.
//
// The runtime is process-global, so every suite in this test target nests
// inside `RuntimeCoreTests`, which is serialized: none of them runs while
// another changes GOMAXPROCS, counts threads, measures a peak or loads the
// machine with child processes. Waits never block
// without a bound: a hang in the runtime becomes a failed expectation.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

/// The parent of the core, blocking and thread suites; see the file comment.
@Suite(.serialized)
struct RuntimeCoreTests {}

/// The GOMAXPROCS values concurrency tests run under.
let procsUnderTest = [1, 2, 4]

/// Runs `body` with GOMAXPROCS set to `n`, restoring the old value after.
func withMaxProcs<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
    let old = Runtime.setMaxProcs(n)
    defer { Runtime.setMaxProcs(old) }
    return try body()
}

/// The calling thread's kernel id, read from /proc/thread-self, which names
/// `<pid>/task/<tid>`. Read fresh on every call: a goroutine may move.
func currentThreadID() -> Int32 {
    var buffer = [CChar](repeating: 0, count: 64)
    let n = buffer.withUnsafeMutableBufferPointer {
        readlink("/proc/thread-self", $0.baseAddress!, 63)
    }
    guard n > 0 else { return -1 }
    let text = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return Int32(text.split(separator: "/").last ?? "") ?? -1
}

/// Whether the thread with kernel id `tid` still exists in this process.
func threadExists(_ tid: Int32) -> Bool {
    access("/proc/self/task/\(tid)", F_OK) == 0
}

/// Polls `condition` every millisecond until it holds or `timeout` passes.
func poll(timeout: Duration, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if condition() { return true }
        if ContinuousClock.now > deadline { return false }
        usleep(1_000)
    }
}

/// A flag one thread sets and another polls.
final class FinishFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// Runs `body` on a new Foundation thread (a plain thread, not a goroutine)
/// and waits up to `timeout` for it. Returns whether it finished in time; a
/// thread that never finishes is left behind, blocked.
func onPlainThread(
    timeout: Duration = .seconds(20), _ body: @escaping @Sendable () -> Void
) -> Bool {
    let flag = FinishFlag()
    let thread = Thread {
        body()
        flag.set()
    }
    thread.start()
    return poll(timeout: timeout) { flag.isSet }
}

/// Waits on `group` from a helper thread, so that a wait that never ends
/// (a lost wakeup) fails the test instead of hanging it. Returns whether the
/// wait finished within `timeout`.
func wait(_ group: WaitGroup, timeout: Duration = .seconds(20)) -> Bool {
    onPlainThread(timeout: timeout) { group.wait() }
}

/// Samples `value` on a helper thread every `interval` until stopped, and
/// keeps the highest value seen.
final class PeakSampler: Sendable {
    private let running = Atomic<Bool>(true)
    private let stopped = Atomic<Bool>(false)
    private let highest = Atomic<Int>(Int.min)

    init(every interval: Duration = .milliseconds(2), _ value: @escaping @Sendable () -> Int) {
        let micros = UInt32(interval.components.attoseconds / 1_000_000_000_000)
        let thread = Thread { [self] in
            while running.load(ordering: .acquiring) {
                highest.max(value(), ordering: .relaxed)
                usleep(max(micros, 100))
            }
            highest.max(value(), ordering: .relaxed)
            stopped.store(true, ordering: .releasing)
        }
        thread.start()
    }

    /// The highest value seen while sampling so far.
    var peak: Int { highest.load(ordering: .relaxed) }

    /// Stops sampling and returns the highest value seen.
    func stop() -> Int {
        running.store(false, ordering: .releasing)
        _ = poll(timeout: .seconds(5)) { stopped.load(ordering: .acquiring) }
        return highest.load(ordering: .relaxed)
    }
}

// Synchronization.Mutex inside goroutines: its fast path caches the calling
// thread's id through a thread-local address, which the optimizer may compute
// once per function. In a goroutine that yields or parks in the same function,
// that address then names the thread it started on, and the mutex traps in
// release builds. So every use below sits in its own `@inline(never)` method,
// which reads thread-local state afresh and never parks while locked.

/// A set of values shared between goroutines.
final class SharedSet<Element: Hashable & Sendable>: Sendable {
    private let storage = Mutex<Set<Element>>([])

    @inline(never)
    func insert(_ value: Element) { _ = storage.withLock { $0.insert(value) } }

    var values: Set<Element> {
        @inline(never) get { storage.withLock { $0 } }
    }
}

/// An array shared between goroutines.
final class SharedArray<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])

    @inline(never)
    func append(_ value: Element) { storage.withLock { $0.append(value) } }

    var values: [Element] {
        @inline(never) get { storage.withLock { $0 } }
    }
}

/// A dictionary shared between goroutines.
final class SharedDictionary<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let storage = Mutex<[Key: Value]>([:])

    @inline(never)
    func set(_ key: Key, _ value: Value) { storage.withLock { $0[key] = value } }

    var values: [Key: Value] {
        @inline(never) get { storage.withLock { $0 } }
    }
}
