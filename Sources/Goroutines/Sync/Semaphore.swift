// Semaphore: a weighted semaphore for goroutines, in the manner of
// golang.org/x/sync/semaphore.
//
// `size` units in total; `held` are taken. Waiters queue in arrival order and
// are served strictly first come, first served: a release grants the head
// waiter as soon as its whole request fits, and stops at the first one
// that does not. So a large request is never overtaken by a stream of small
// ones, and `acquire` never jumps the queue while anyone waits.
//
// Protocol: `lock` (a RawLock) guards `held` and `queue`. A waiter record is
// queued while the lock is held and its goroutine parks with the unlock as
// the commit. Whoever removes a record from the queue, under the lock, owns
// the one `ready` of its goroutine: a release that grants it, or a context
// cancellation that abandons it (the record's `granted` says which).
//
// Context-aware acquire registers a callback on the context before it
// queues. The callback runs on the cancelling thread (perhaps the timer
// thread), so it only takes the lock, unlinks the record, and readies it.

import Synchronization

/// A weighted semaphore, as `golang.org/x/sync/semaphore`: up to `size`
/// units may be held at once, and each acquisition takes any number of them.
///
/// Waiters are served first come, first served, so large requests are not
/// starved by small ones.
///
/// ```swift
/// let memory = Semaphore(1024)    // MiB of buffers at most in use
/// go {
///     memory.acquire(256)
///     defer { memory.release(256) }
///     processLargeFile()
/// }
/// ```
public final class Semaphore: @unchecked Sendable {
    // @unchecked: `held` and `queue` are guarded by `lock`.

    /// The total number of units.
    public let size: Int

    private let lock = RawLock()
    private var held = 0
    private var queue: [SemaphoreWaiter] = []
    private var queueHead = 0

    /// Makes a semaphore of `size` units, none held.
    ///
    /// - Precondition: `size >= 0`.
    public init(_ size: Int) {
        require(size >= 0, "semaphore: size must not be negative (got \(size))")
        self.size = size
    }

    private var waiting: Int { queue.count - queueHead }

    /// Takes `n` units, parking until they are free and every earlier waiter
    /// has been served.
    ///
    /// - Precondition: `0 <= n <= size`; a request larger than the
    ///   semaphore could never be satisfied.
    public func acquire(_ n: Int = 1) {
        checkRequest(n)
        // A loop of uncontended acquires never parks; it must still yield
        // when sysmon asks, or it starves its processor's other goroutines.
        checkPreemption()
        lock.lock()
        if waiting == 0, size - held >= n {
            held += n
            lock.unlock()
            return
        }
        let waiter = SemaphoreWaiter(units: n, goroutine: currentWaiter())
        queue.append(waiter)
        park(.semaphore, commit: unlockCommit, context: lock.address)
    }

    /// Takes `n` units, parking until they are free and every earlier waiter
    /// has been served, or until `context` is done. If the context wins, it
    /// throws the context's error and takes nothing. If both happen at once,
    /// either outcome may be reported, as in Go.
    ///
    /// - Precondition: `0 <= n <= size`.
    public func acquire(_ n: Int = 1, context: Context) throws(ContextError) {
        checkRequest(n)
        checkPreemption()  // as in acquire(_:)
        if let error = context.err { throw error }
        guard context.scope != nil else { return acquire(n) }

        let waiter = SemaphoreWaiter(units: n, goroutine: currentWaiter())
        let token = context.onCancel { [self] in abandon(waiter) }
        lock.lock()
        if waiting == 0, size - held >= n {
            held += n
            lock.unlock()
            context.removeCancelCallback(token)
            return
        }
        if waiter.abandoned {
            lock.unlock()
            throw context.err ?? .canceled
        }
        waiter.queued = true
        queue.append(waiter)
        park(.semaphore, commit: unlockCommit, context: lock.address)

        context.removeCancelCallback(token)
        if !waiter.granted { throw context.err ?? .canceled }
    }

    /// Takes `n` units if they are free and nobody waits, and says whether it
    /// did. Never parks.
    ///
    /// - Precondition: `0 <= n <= size`.
    public func tryAcquire(_ n: Int = 1) -> Bool {
        checkRequest(n)
        checkPreemption()  // as in acquire(_:)
        return lock.withLock {
            if waiting == 0, size - held >= n {
                held += n
                return true
            }
            return false
        }
    }

    /// Gives back `n` units and wakes the waiters at the head of the queue
    /// whose requests now fit.
    ///
    /// - Precondition: no more units are released than are held.
    public func release(_ n: Int = 1) {
        require(n >= 0, "semaphore: released a negative count (\(n))")
        lock.lock()
        held -= n
        if held < 0 {
            lock.unlock()
            misuse("semaphore: released more than held")
        }
        let woken = grantLocked()
        lock.unlock()
        for waiter in woken { ready(waiter.goroutine) }
    }

    /// Units held now (for tests and diagnostics).
    var heldUnits: Int { lock.withLock { held } }

    /// Goroutines waiting now (for tests and diagnostics).
    var waiterCount: Int { lock.withLock { waiting } }

    // MARK: Queue (lock held)

    /// Grants queued requests in order while they fit; returns the waiters
    /// to ready once the lock is released.
    private func grantLocked() -> [SemaphoreWaiter] {
        var woken: [SemaphoreWaiter] = []
        while queueHead < queue.count {
            let head = queue[queueHead]
            if size - held < head.units { break }
            held += head.units
            head.granted = true
            head.queued = false
            queueHead += 1
            woken.append(head)
        }
        compactLocked()
        return woken
    }

    private func compactLocked() {
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead > 32, queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    /// The context of `waiter` is done: unlink it if it still waits, and
    /// let the waiters behind it go if it was blocking them.
    private func abandon(_ waiter: SemaphoreWaiter) {
        lock.lock()
        waiter.abandoned = true
        guard waiter.queued,
            let index = queue[queueHead...].firstIndex(where: { $0 === waiter })
        else {
            lock.unlock()
            return
        }
        waiter.queued = false
        queue.remove(at: index)
        var woken = [waiter]
        woken.append(contentsOf: grantLocked())
        lock.unlock()
        for w in woken { ready(w.goroutine) }
    }

    private func checkRequest(_ n: Int) {
        require(n >= 0, "semaphore: acquired a negative count (\(n))")
        require(
            n <= size, "semaphore: acquired \(n) units from a semaphore of size \(size)")
    }
}

/// One parked `acquire`. Fields are guarded by the semaphore's lock.
private final class SemaphoreWaiter: @unchecked Sendable {
    // @unchecked: mutable fields are guarded by the owning Semaphore's lock.
    let units: Int
    let goroutine: Goroutine
    /// In the queue now.
    var queued = false
    /// Its units were granted.
    var granted = false
    /// Its context is done; it must not queue.
    var abandoned = false

    init(units: Int, goroutine: Goroutine) {
        self.units = units
        self.goroutine = goroutine
    }
}
