// WaitGroup: wait for a collection of goroutines to finish.

import Synchronization

/// Waits for a set of goroutines to finish, as Go's `sync.WaitGroup`.
///
/// ```swift
/// let group = WaitGroup()
/// for i in 0..<10 {
///     group.add(1)
///     go {
///         defer { group.done() }
///         work(i)
///     }
/// }
/// group.wait()
/// ```
public final class WaitGroup: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `lock`.
    private let lock = RawLock()
    private var counter = 0
    private var waiters: [Goroutine] = []

    /// Makes a group with a counter of zero.
    public init() {}

    /// Adds `delta` (which may be negative) to the counter. When it reaches
    /// zero, every waiter resumes. A negative counter is fatal:
    /// `panic: sync: negative WaitGroup counter`.
    public func add(_ delta: Int) {
        lock.lock()
        counter += delta
        if counter < 0 {
            lock.unlock()
            goPanic("sync: negative WaitGroup counter")
        }
        if counter > 0 || waiters.isEmpty {
            lock.unlock()
            return
        }
        let woken = waiters
        waiters.removeAll()
        lock.unlock()
        for g in woken { ready(g) }
    }

    /// Decrements the counter by one.
    public func done() { add(-1) }

    /// Parks until the counter is zero.
    public func wait() {
        lock.lock()
        if counter == 0 {
            lock.unlock()
            return
        }
        waiters.append(currentWaiter())
        park(.waitGroup, commit: unlockCommit, context: lock.address)
    }
}
