// Mutex: Go's sync.Mutex, for goroutines.
//
// A waiting goroutine parks instead of blocking its thread, so the thread
// runs other goroutines meanwhile. Everything hangs on one atomic word:
//
//     bit 0      locked    someone holds the mutex
//     bit 1      woken     a waiter is awake (spinning, or just released from
//                          `sema`) and will retry, so unlock need not wake one
//     bit 2      starving  ownership passes by hand-off (below)
//     bits 3...  waiters   goroutines parked on `sema`, or about to park
//
// Uncontended, `lock` and `unlock` are one atomic operation each. Under
// contention a goroutine first spins a little, if that can pay off (more
// than one processor and another one busy running the holder), and then
// counts itself in `waiters` and parks on `sema`, a ParkSemaphore.
//
// Two modes:
// - Normal: unlock clears `locked` and wakes the head waiter, which must
//   then win a compare-and-swap against goroutines that just arrived. The
//   newcomers are on a CPU already and usually win, which is good for
//   throughput; the loser requeues at the front of the line.
// - Starvation: a waiter that has waited more than 1 ms sets `starving`.
//   From then on unlock leaves `locked` clear and hands the mutex to the
//   head waiter directly; newcomers neither take it nor spin, they queue
//   at the back. This bounds tail latency. The waiter that takes the mutex
//   switches back to normal mode when it is the last waiter or did not
//   wait long itself.
//
// Invariants: `starving` is set only while the mutex is locked or being
// handed to a waiter, and only with `waiters` > 0. Only a goroutine that
// set or inherited `woken` clears it. The waiter count drops by one for each
// permit released to `sema`.
//
// Rejected: a queue lock without the state word (always fair, but every
// hand-off costs a context switch, which halves throughput under load).

import Synchronization

/// A mutual-exclusion lock for goroutines, as Go's `sync.Mutex`.
///
/// A goroutine that waits for the mutex parks, and its thread runs other
/// goroutines meanwhile; called from a plain thread, `lock` blocks the
/// thread. Unlike a pthread mutex, it may be held across parking operations
/// (channel sends, `sleep(for:)`) and unlocked by a different goroutine than
/// the one that locked it.
///
/// ```swift
/// let mutex = Goroutines.Mutex()
/// var total = 0  // guarded by mutex
/// mutex.withLock { total += 1 }
/// ```
///
/// The name clashes with `Synchronization.Mutex`: a file that imports both
/// modules writes `Goroutines.Mutex`.
///
/// Unlocking a mutex that is not locked is fatal:
/// `fatal error: sync: unlock of unlocked mutex`, exit status 2.
public final class Mutex: Locker, Sendable {
    static let locked = 1
    static let woken = 2
    static let starving = 4
    static let waiterShift = 3
    static let oneWaiter = 1 << waiterShift
    /// How long a waiter waits before it switches the mutex to hand-off.
    static let starvationThresholdNanos: Int64 = 1_000_000
    /// Spin rounds before parking, and pauses per round.
    static let spinRounds = 4
    static let pausesPerRound = 30
    private static let cpuCount = MaxProcs.affinityCPUs()

    /// The state word described at the top of the file.
    let state = Atomic<Int>(0)
    /// Where waiters park.
    let sema = ParkSemaphore()
    /// How many times the mutex entered starvation mode (for tests).
    let starvationEntries = Atomic<Int>(0)

    /// Makes an unlocked mutex.
    public init() {}

    /// Locks the mutex, parking the caller while another holds it.
    @inline(__always)
    public func lock() {
        // Preemption is cooperative: a loop of uncontended locks never parks,
        // so `lock` honours sysmon's request to yield, or on one P such a
        // loop keeps the goroutines it waits for from ever running.
        checkPreemption()
        // acquiring: the holder's writes, published by unlock, are visible.
        if state.compareExchange(expected: 0, desired: Self.locked, ordering: .acquiring)
            .exchanged
        {
            return
        }
        lockSlow(reason: .mutex)
    }

    /// Locks, showing `reason` in goroutine dumps if the caller parks.
    @inline(__always)
    func lock(reason: WaitReason) {
        checkPreemption()  // as in lock()
        if state.compareExchange(expected: 0, desired: Self.locked, ordering: .acquiring)
            .exchanged
        {
            return
        }
        lockSlow(reason: reason)
    }

    /// Locks the mutex if it is free and not being handed to a waiter, and
    /// says whether it did. Never parks.
    public func tryLock() -> Bool {
        checkPreemption()  // a loop of tryLock never parks; see lock()
        let old = state.load(ordering: .relaxed)
        if old & (Self.locked | Self.starving) != 0 { return false }
        return state.compareExchange(
            expected: old, desired: old | Self.locked, ordering: .acquiring
        ).exchanged
    }

    /// Unlocks the mutex. Any goroutine may unlock it, not only the one that
    /// locked it.
    ///
    /// Unlocking an unlocked mutex is fatal:
    /// `fatal error: sync: unlock of unlocked mutex`.
    @inline(__always)
    public func unlock() {
        // releasing: publishes the critical section to the next holder.
        let new = state.subtract(Self.locked, ordering: .releasing).newValue
        if new != 0 { unlockSlow(new) }
    }

    /// Runs `body` with the mutex locked.
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    // MARK: Slow paths

    @inline(never)
    func lockSlow(reason: WaitReason) {
        let locked = Self.locked
        let woken = Self.woken
        let starving = Self.starving
        var waitStart: Int64 = 0  // when this goroutine first parked
        var isStarving = false  // this goroutine has waited past the threshold
        var holdsWoken = false  // this goroutine owns the `woken` bit
        var spins = 0
        var old = state.load(ordering: .relaxed)

        while true {
            // Spin while a running holder may let go soon (normal mode only).
            if old & (locked | starving) == locked, Self.canSpin(spins) {
                // Claim `woken` so that unlock does not wake a sleeper that
                // would only compete with us.
                if !holdsWoken, old & woken == 0, old >> Self.waiterShift != 0,
                    state.compareExchange(
                        expected: old, desired: old | woken, ordering: .relaxed
                    ).exchanged
                {
                    holdsWoken = true
                }
                for _ in 0..<Self.pausesPerRound { spinPause() }
                spins += 1
                old = state.load(ordering: .relaxed)
                continue
            }

            var new = old
            // In starvation mode the mutex belongs to the head waiter.
            if old & starving == 0 { new |= locked }
            if old & (locked | starving) != 0 { new += Self.oneWaiter }
            // Turn on hand-off only while the mutex is held: an unlock that
            // sees `starving` expects a waiter to hand it to.
            if isStarving, old & locked != 0 { new |= starving }
            if holdsWoken {
                if new & woken == 0 { fatal("sync: inconsistent mutex state") }
                new &= ~woken
            }

            let (exchanged, original) = state.compareExchange(
                expected: old, desired: new, ordering: .acquiring)
            if !exchanged {
                old = original
                continue
            }
            if old & (locked | starving) == 0 { return }  // taken by the swap
            if new & starving != 0, old & starving == 0 {
                starvationEntries.add(1, ordering: .relaxed)
            }

            // Park. A goroutine that has waited before goes back to the head.
            let requeue = waitStart != 0
            if waitStart == 0 { waitStart = monotonicNanos() }
            sema.acquire(lifo: requeue, reason: reason)
            isStarving = isStarving || monotonicNanos() - waitStart > Self.starvationThresholdNanos
            old = state.load(ordering: .relaxed)

            if old & starving != 0 {
                // Handed to us: `locked` is clear and nobody else may take it.
                if old & (locked | woken) != 0 || old >> Self.waiterShift == 0 {
                    fatal("sync: inconsistent mutex state")
                }
                var delta = locked - Self.oneWaiter
                if !isStarving || old >> Self.waiterShift == 1 {
                    // Last waiter, or we did not wait long: back to normal
                    // mode, so that hand-offs do not convoy forever.
                    delta -= starving
                }
                state.add(delta, ordering: .acquiringAndReleasing)
                return
            }
            // Woken in normal mode: retry, owning `woken`.
            holdsWoken = true
            spins = 0
        }
    }

    @inline(never)
    func unlockSlow(_ new: Int) {
        if (new &+ Self.locked) & Self.locked == 0 {
            fatal("sync: unlock of unlocked mutex")
        }
        if new & Self.starving != 0 {
            // Hand the mutex to the head waiter. `locked` stays clear, but
            // `starving` keeps newcomers out until the waiter takes it.
            sema.release()
            return
        }
        var old = new
        while true {
            // Nobody to wake, or someone else will see to it: the mutex was
            // locked again, a waiter is already awake, or hand-off began.
            if old >> Self.waiterShift == 0
                || old & (Self.locked | Self.woken | Self.starving) != 0
            {
                return
            }
            let next = (old - Self.oneWaiter) | Self.woken
            let (exchanged, original) = state.compareExchange(
                expected: old, desired: next, ordering: .relaxed)
            if exchanged {
                sema.release()
                return
            }
            old = original
        }
    }

    /// Whether spinning round `iteration` may pay off: like Go, only on a
    /// goroutine with more than one processor, while another processor is
    /// running (perhaps the holder) and nothing waits on our own run queue.
    static func canSpin(_ iteration: Int) -> Bool {
        if iteration >= spinRounds || cpuCount <= 1 { return false }
        guard let m = Machine.current, m.current != nil,
            !m.inBlockingRegion.load(ordering: .relaxed), let p = m.processor
        else { return false }
        let sched = Scheduler.shared
        let procs = sched.maxProcs.load(ordering: .relaxed)
        if procs <= 1 { return false }
        let idle = sched.idleProcessorCount.load(ordering: .relaxed)
        let spinning = sched.spinningCount.load(ordering: .relaxed)
        if procs <= idle + spinning + 1 { return false }
        return p.isQueueEmpty
    }

    // MARK: Introspection for tests

    /// Whether the mutex is in starvation (hand-off) mode now.
    var isStarving: Bool { state.load(ordering: .relaxed) & Self.starving != 0 }

    /// Whether the mutex is locked now.
    var isLocked: Bool { state.load(ordering: .relaxed) & Self.locked != 0 }

    /// Waiters counted in the state word now.
    var waiterCount: Int { state.load(ordering: .relaxed) >> Self.waiterShift }
}
