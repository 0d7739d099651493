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

import CGoroutines
import Synchronization

enum BlockingRegion {
    /// Enters a region. Returns false on a plain thread (nothing to do).
    @inline(__always)
    static func enter(handOff: Bool) -> Bool {
        guard let m = Machine.current, let g = m.current,
            !m.inBlockingRegion.load(ordering: .relaxed)
        else { return false }
        var p = m.processor
        if p == nil
            || !p!.ownership.compareExchange(
                expected: Processor.word(m.id, .user), desired: Processor.word(m.id, .blocking),
                ordering: .acquiringAndReleasing
            ).exchanged
        {
            // Lost the P to sysmon earlier: get one back, then enter.
            let held = reacquireProcessor()
            held.ownership.store(Processor.word(held.machine!.id, .blocking), ordering: .releasing)
            p = held
        }
        let owner = p!.machine!
        p!.blockingTick.add(1, ordering: .relaxed)
        p!.sliceStart.store(coarseNanos(), ordering: .relaxed)
        g.status.store(GStatus.blocking.rawValue, ordering: .relaxed)
        g.waitReason = .blocking
        owner.inBlockingRegion.store(true, ordering: .releasing)
        if handOff,
            p!.ownership.compareExchange(
                expected: Processor.word(owner.id, .blocking),
                desired: Processor.word(0, .runtime), ordering: .acquiringAndReleasing
            ).exchanged
        {
            Scheduler.shared.handOff(p!)
        }
        return true
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
