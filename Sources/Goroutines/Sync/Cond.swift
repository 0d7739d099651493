// Cond: a condition variable for goroutines, as Go's sync.Cond.
//
// `wait` must release the locker and park as one step: a `signal` that
// comes after the unlock but before the park must still wake this waiter.
// Tickets make that so without holding any lock across the park:
// - `wait` takes a ticket (`nextTicket`, then increments it) before it
//   unlocks the locker, so any signal after that point counts it.
// - `signal` serves the oldest unserved ticket (`served`) and wakes its
//   holder if it is parked; `broadcast` serves every ticket issued.
// - A waiter whose ticket is already served when it gets to park returns
//   at once; otherwise it parks under `lock`, and whoever serves its ticket
//   finds it in `waiters` and readies it.
// `lock` (a RawLock, never held across a park) guards all three fields.

import Synchronization

/// A condition variable, as Go's `sync.Cond`: goroutines wait for a
/// condition on state guarded by `locker`, and are woken by `signal` or
/// `broadcast` when it may have changed.
///
/// ```swift
/// final class Mailbox: @unchecked Sendable {  // `letters` is guarded by `mutex`
///     private let mutex = Goroutines.Mutex()
///     private let arrived: Cond
///     private var letters: [String] = []
///
///     init() { arrived = Cond(mutex) }
///
///     func post(_ letter: String) {
///         mutex.withLock { letters.append(letter) }
///         arrived.signal()
///     }
///
///     func take() -> String {
///         mutex.lock()
///         defer { mutex.unlock() }
///         while letters.isEmpty { arrived.wait() }
///         return letters.removeFirst()
///     }
/// }
/// ```
public final class Cond: @unchecked Sendable {
    // @unchecked: the ticket counters and `waiters` are guarded by `lock`.

    /// The lock held while the condition is checked or changed.
    public let locker: any Locker

    private let lock = RawLock()
    private var nextTicket: UInt64 = 0
    private var served: UInt64 = 0
    private var waiters: [(ticket: UInt64, goroutine: Goroutine)] = []

    /// Makes a condition variable tied to `locker`.
    public init(_ locker: any Locker) {
        self.locker = locker
    }

    /// Unlocks `locker`, parks until woken by `signal` or `broadcast`, and
    /// locks `locker` again before returning. The caller must hold `locker`.
    /// As in Go, wake-ups say only that the condition may have changed:
    /// check it again in a loop.
    public func wait() {
        lock.lock()
        let ticket = nextTicket
        nextTicket += 1
        lock.unlock()

        locker.unlock()

        lock.lock()
        if ticket < served {
            lock.unlock()
        } else {
            waiters.append((ticket, currentWaiter()))
            park(.cond, commit: unlockCommit, context: lock.address)
        }
        locker.lock()
    }

    /// Wakes the goroutine that has waited longest, if any. The caller need
    /// not hold `locker`.
    public func signal() {
        lock.lock()
        if served == nextTicket {
            lock.unlock()
            return
        }
        let ticket = served
        served += 1
        // The holder may not have parked yet; then it sees `served` and
        // does not park.
        guard let index = waiters.firstIndex(where: { $0.ticket == ticket }) else {
            lock.unlock()
            return
        }
        let g = waiters.remove(at: index).goroutine
        lock.unlock()
        ready(g)
    }

    /// Wakes every waiting goroutine. The caller need not hold `locker`.
    public func broadcast() {
        lock.lock()
        served = nextTicket
        let woken = waiters
        waiters.removeAll()
        lock.unlock()
        for waiter in woken { ready(waiter.goroutine) }
    }

    /// Goroutines parked in `wait` now (for tests).
    var parkedCount: Int { lock.withLock { waiters.count } }
}
