// ParkSemaphore: the counting semaphore that Mutex and RWMutex sleep on.
//
// It is the goroutine-aware equivalent of a futex word: `acquire` takes a
// permit or parks the caller, `release` hands a permit straight to the
// longest-waiting goroutine or, when nobody is queued yet, banks it.
//
// Banking matters. A lock decides "someone must wake" from its own atomic
// state word, and the goroutine it counts may not have reached `acquire`
// yet; the banked permit lets that goroutine pass straight through instead
// of sleeping through its own wake-up. A release never wakes a goroutine
// that then has to race for the permit: a queued waiter is handed the
// permit directly (no lost wakeups, no thundering herd).
//
// Protocol: `lock` guards `permits` and `queue`. A waiter enqueues itself
// while holding the lock and parks with the lock's unlock as the commit,
// so a releaser that dequeues it can only call `ready` after the waiter is
// off its stack. `acquire(lifo: true)` queues at the front: a lock uses
// that for a waiter that was woken, lost the race, and goes back to sleep,
// so it keeps its place at the head of the line.

import Synchronization

final class ParkSemaphore: @unchecked Sendable {
    // @unchecked: `permits` and `queue` are guarded by `lock`.
    private let lock = RawLock()
    private var permits = 0
    private var queue = GoroutineDeque()

    init() {}

    /// Takes a permit, parking the caller until one is released to it.
    func acquire(lifo: Bool = false, reason: WaitReason) {
        lock.lock()
        if permits > 0 {
            permits -= 1
            lock.unlock()
            return
        }
        let g = currentWaiter()
        if lifo { queue.pushFront(g) } else { queue.pushBack(g) }
        park(reason, commit: unlockCommit, context: lock.address)
        // Resumed: the releaser dequeued us and gave us its permit.
    }

    /// Gives one permit to the longest waiter, or banks it if none waits.
    func release() {
        lock.lock()
        guard let g = queue.popFront() else {
            permits += 1
            lock.unlock()
            return
        }
        lock.unlock()
        ready(g)
    }

    /// Goroutines parked here now (for tests and dumps).
    var waiting: Int { lock.withLock { queue.count } }
}

/// A double-ended queue of parked goroutines in a growable ring.
struct GoroutineDeque {
    private var ring: [Goroutine?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func pushBack(_ g: Goroutine) {
        if count == ring.count { grow() }
        ring[(head + count) % ring.count] = g
        count += 1
    }

    mutating func pushFront(_ g: Goroutine) {
        if count == ring.count { grow() }
        head = (head + ring.count - 1) % ring.count
        ring[head] = g
        count += 1
    }

    mutating func popFront() -> Goroutine? {
        if count == 0 { return nil }
        let g = ring[head]
        ring[head] = nil
        head = (head + 1) % ring.count
        count -= 1
        return g
    }

    private mutating func grow() {
        let capacity = max(4, ring.count * 2)
        var fresh = [Goroutine?](repeating: nil, count: capacity)
        for i in 0..<count { fresh[i] = ring[(head + i) % ring.count] }
        ring = fresh
        head = 0
    }
}
