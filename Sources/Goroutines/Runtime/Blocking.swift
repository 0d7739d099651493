// Blocking regions: Go's entersyscall / exitsyscall.
//
// Entering a region moves the P from `user` to `blocking`; the thread keeps
// it, so a call that returns quickly costs two compare-and-swaps and nothing
// more. If the call stays blocked, sysmon moves the P from `blocking` to the
// runtime state and hands it to another thread (creating one if none is
// idle), so the remaining goroutines keep running.
//
// Leaving the region tries, in order: take the P back (it is still ours if
// the state is still `blocking`); take any idle P; otherwise queue the
// goroutine globally and put the thread to sleep until another machine runs
// the goroutine. A region entered with `handOff: true` gives the P away at
// once, for calls known to block for long.
//
// Goroutine dumps time a region from its start without adding to the quick
// path: `blockingStart` on the P, which `enter` stores anyway, while the
// region still holds its P; once the P is taken away (by sysmon, or at once
// with `handOff`), the taker first copies that start to the machine's
// `blockingSince`, since the P's next owner overwrites `blockingStart`.

import CGoroutines
import Synchronization

enum BlockingRegion {
    /// Enters a region. Returns false on a plain thread (nothing to do).
    @inline(__always)
    static func enter(handOff: Bool) -> Bool {
        guard let m = Machine.current, let g = m.current,
            !m.inBlockingRegion.load(ordering: .relaxed)
        else { return false }
        let now = coarseNanos()
        let p: Processor
        if let held = m.processor {
            // The region's tick and start are published before the P becomes
            // takeable, so sysmon never judges this region by the last one.
            held.blockingTick.add(1, ordering: .relaxed)
            held.blockingStart.store(now, ordering: .relaxed)
            if held.ownership.compareExchange(
                expected: Processor.word(m.id, .user), desired: Processor.word(m.id, .blocking),
                ordering: .acquiringAndReleasing
            ).exchanged {
                p = held
            } else {
                p = reacquireForRegion(now)
            }
        } else {
            p = reacquireForRegion(now)
        }
        // The goroutine may have moved while reacquiring; its machine now is `owner`.
        let owner = g.machine!
        g.status.store(GStatus.blocking.rawValue, ordering: .relaxed)
        g.waitReason = .blocking
        owner.inBlockingRegion.store(true, ordering: .releasing)
        // A P in a region needs watching: sysmon may be in its deep sleep,
        // taken while every P was idle (the P may have been idle until this
        // thread took it back when its last region ended).
        Sysmon.wake()
        if handOff {
            owner.blockingSince.store(now, ordering: .relaxed)
            if p.ownership.compareExchange(
                expected: Processor.word(owner.id, .blocking),
                desired: Processor.word(0, .runtime), ordering: .acquiringAndReleasing
            ).exchanged {
                Scheduler.shared.handOff(p)
            }
        }
        return true
    }

    /// When `g`'s current region started (ns), or nil when that is not
    /// known. For goroutine dumps, from another thread: the reads race with
    /// the region, so the answer may be stale by the length of a transition.
    static func start(of g: Goroutine) -> Int64? {
        guard let m = g.machine, m.inBlockingRegion.load(ordering: .acquiring) else {
            return nil
        }
        if let p = m.processor,
            p.ownership.load(ordering: .acquiring) == Processor.word(m.id, .blocking)
        {
            return p.blockingStart.load(ordering: .relaxed)
        }
        let since = m.blockingSince.load(ordering: .relaxed)
        return since > 0 ? since : nil
    }

    /// The P was lost to sysmon before the region: get one back, then enter.
    @inline(never)
    private static func reacquireForRegion(_ now: Int64) -> Processor {
        let p = reacquireProcessor()
        p.blockingTick.add(1, ordering: .relaxed)
        p.blockingStart.store(now, ordering: .relaxed)
        p.ownership.store(Processor.word(p.machine!.id, .blocking), ordering: .releasing)
        return p
    }

    /// Leaves a region entered with `enter`.
    @inline(__always)
    static func exit() {
        let m = Machine.current!
        let g = m.current!
        m.inBlockingRegion.store(false, ordering: .releasing)
        g.waitReason = .none
        g.status.store(GStatus.running.rawValue, ordering: .relaxed)
        if let p = m.processor,
            p.ownership.compareExchange(
                expected: Processor.word(m.id, .blocking), desired: Processor.word(m.id, .user),
                ordering: .acquiringAndReleasing
            ).exchanged
        {
            // A loop of quick regions never enters the scheduler otherwise.
            if g.preemptRequested.load(ordering: .relaxed) { yieldGoroutine() }
            return
        }
        exitSlow()
    }

    @inline(never)
    private static func exitSlow() {
        let p = reacquireProcessor()
        exitRuntime(p)
        checkPreemption()
    }
}
