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
    // @unchecked: `waiters` is guarded by `lock`; the counter is atomic.

    /// Changed without the lock. The change that brings it to zero then
    /// takes the lock and wakes the waiters: a waiter reads the counter under
    /// the lock, so it either sees zero or is listed before that change
    /// looks. Spawning and finishing goroutines thus costs one atomic add
    /// each, as in Go.
    private let counter = Atomic<Int>(0)
    private let lock = RawLock()
    @exclusivity(unchecked) private var waiters: [Goroutine] = []

    /// Makes a group with a counter of zero.
    public init() {}

    /// Adds `delta` (which may be negative) to the counter. When it reaches
    /// zero, every waiter resumes. A negative counter is fatal:
    /// `panic: sync: negative WaitGroup counter`.
    public func add(_ delta: Int) {
        // acquiringAndReleasing: the work before a `done` is published to
        // the waiters, which read the counter with acquiring loads.
        let now = counter.add(delta, ordering: .acquiringAndReleasing).newValue
        if now < 0 { goPanic("sync: negative WaitGroup counter") }
        if now > 0 { return }
        lock.lock()
        // Nonzero again means a new round began before this wake-up looked
        // (an add racing a wait, which Go forbids); its waiters wait for it.
        if waiters.isEmpty || counter.load(ordering: .acquiring) != 0 {
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
        // acquiring: pairs with the add that brought the counter to zero.
        if counter.load(ordering: .acquiring) == 0 { return }
        lock.lock()
        if counter.load(ordering: .acquiring) == 0 {
            lock.unlock()
            return
        }
        waiters.append(currentWaiter())
        park(.waitGroup, commit: unlockCommit, context: lock.address)
    }
}
