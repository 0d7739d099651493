// Running goroutines on a machine: the g0 side of every switch.
//
// `runMachine` is the loop each machine thread runs on its own stack (g0):
// find a goroutine, switch to it, and when it switches back, carry out what
// it asked for. The goroutine side of the switch is in Park.swift.

import CGoroutines
import Glibc
import Synchronization

/// The scheduler loop. Returns when the machine's thread should end.
func runMachine(_ m: Machine) {
    let sched = Scheduler.shared
    while true {
        if !m.lockedGoroutineRef.isNil, let locked = m.lockedGoroutine {
            // A wired machine runs only its goroutine: wait until it is
            // handed back together with a P.
            if let p = m.processor {
                m.processor = nil
                sched.handOff(p)
            }
            waitForLockedGoroutine(m)
            if run(m, locked, inheritTime: false) == .endThread { return }
            continue
        }
        guard let (found, inheritTime) = sched.findRunnable(m) else { return }
        sched.stopSpinning(m)
        // safety: records are immortal; `g` is borrowed without a count.
        let outcome = found._withUnsafeGuaranteedRef { g -> RunOutcome in
            if !g.lockedMachineRef.isNil, let owner = g.lockedMachine, owner !== m {
                // Hand our P to the goroutine's own thread and sleep.
                let p = m.processor!
                m.processor = nil
                p.machine = nil
                owner.nextProcessor = p
                owner.note.wake()
                return .next
            }
            return run(m, g, inheritTime: inheritTime)
        }
        if outcome == .endThread { return }
    }
}

/// Sleeps a wired machine until its goroutine is runnable and a P arrives.
private func waitForLockedGoroutine(_ m: Machine) {
    m.note.sleep()
    m.note.reset()
    Scheduler.shared.acquire(m, m.nextProcessor!)
    m.nextProcessor = nil
}

enum RunOutcome { case next, endThread }

/// Switches to `g` and handles its request when it switches back.
private func run(_ m: Machine, _ g: Goroutine, inheritTime: Bool) -> RunOutcome {
    var inherit = inheritTime
    while true {
        // The P, borrowed without counting references to it.
        let current = m.processorRef
        if !inherit {
            // A new time slice. Only the P's owner writes the tick (sysmon and
            // schedtrace read it), so a load and a store do; a read-modify-
            // write would lock the bus. sysmon times the slice from when it
            // first sees the tick, as Go's does, so no clock is read here.
            current.with { p in
                p.scheduleTick.store(
                    p.scheduleTick.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
            }
            // A request sysmon made for an earlier slice (it may land just as
            // the goroutine leaves) must not cut this one short.
            g.preemptRequested.store(false, ordering: .relaxed)
        }
        if g.stack == nil { current.with { attachStack(g, $0) } }
        g.status.store(GStatus.running.rawValue, ordering: .relaxed)
        g.machine = m
        m.current = g
        m.runningID.store(g.id, ordering: .relaxed)
        gr_tls_set_running(g.overflowFacts)
        swift_task_enterThreadLocalContext(g.exclusivityState)
        // releasing: the goroutine's code may now use the P's queues.
        let owner = Processor.word(m.id, .user)
        current.with { $0.ownership.store(owner, ordering: .releasing) }

        _ = gr_switch(m.g0Slot, g.contextSlot.pointee, Unmanaged.passUnretained(g).toOpaque())

        // Back on g0; the goroutine's stack is idle from here on.
        swift_task_exitThreadLocalContext(g.exclusivityState)
        m.current = nil
        m.runningID.store(0, ordering: .relaxed)
        gr_tls_set_running(nil)
        if let stack = g.stack, !stack.canaryIntact {
            fatal(
                "goroutine \(g.id): stack overflow (stack \(stack.size) bytes)", "stack overflow")
        }

        // Keep the P only if sysmon did not take it while the goroutine ran.
        var held = false
        if !m.processorRef.isNil {
            let expected = Processor.word(m.id, .user)
            let desired = Processor.word(m.id, .runtime)
            held =
                m.processorRef.with {
                    $0.ownership.compareExchange(
                        expected: expected, desired: desired, ordering: .acquiringAndReleasing
                    ).exchanged
                } == true
            if !held { m.processor = nil }
        }

        let request = m.request
        m.request = .none
        switch request {
        case .park(let commit, let context):
            g.status.store(GStatus.waiting.rawValue, ordering: .releasing)
            if let commit, !commit(context) {
                g.status.store(GStatus.runnable.rawValue, ordering: .releasing)
                if held {
                    inherit = true
                    continue
                }
                Scheduler.shared.globalPut(g)
            }
        case .backOff:
            g.status.store(GStatus.runnable.rawValue, ordering: .releasing)
            // A P holds back one spawner at a time; another one that backs
            // off meanwhile waits behind the backlog, so that spawners
            // outnumbering the Ps stay held back too. One whose P was taken
            // by sysmon waits at the front.
            if !held {
                Scheduler.shared.globalPutFront(g)
                Scheduler.shared.wakeIfIdle()
            } else if m.processorRef.with({ $0.hasHeldBack }) == false {
                m.processorRef.with { $0.holdBack(g, until: monotonicNanos() + backOffNanos) }
            } else {
                Scheduler.shared.globalPut(g)
            }
        case .yield, .requeue:
            g.status.store(GStatus.runnable.rawValue, ordering: .releasing)
            Scheduler.shared.globalPut(g)
            if !held { Scheduler.shared.wakeIfIdle() }
        case .exit:
            return finish(m, g, held ? m.processorRef : Unretained(nil))
        case .none:
            fatal(
                "runtime: goroutine \(g.id) switched to the scheduler without a request",
                "schedule")
        }
        return .next
    }
}

/// A goroutine's body returned: recycle it. A goroutine that ends while
/// wired to its thread takes the thread down (the main thread parks instead).
/// `held` is the P the machine still holds, if any, borrowed uncounted.
private func finish(_ m: Machine, _ g: Goroutine, _ held: Unretained<Processor>) -> RunOutcome {
    let sched = Scheduler.shared
    let wired = g.lockedMachine != nil
    g.status.store(GStatus.dead.rawValue, ordering: .releasing)
    g.lockedMachine = nil
    g.lockCount = 0
    g.machine = nil
    g.waitReason = .none
    let stack = g.detachStack()
    if held.isNil {
        if let stack { StackAllocator.shared.give(stack, nil) }
        sched.liveGoroutines.subtract(1, ordering: .relaxed)
        sched.putFreeGoroutine(g, nil)
    } else {
        held.with { p in
            if let stack { StackAllocator.shared.give(stack, p) }
            p.countFinished()
            sched.putFreeGoroutine(g, p)
        }
    }
    if wired {
        m.lockedGoroutine = nil
        if let p = held.object {
            m.processor = nil
            sched.handOff(p)
        }
        if m.isMainThread {
            while true { pause() }
        }
        return .endThread
    }
    return .next
}

/// A cheap monotonic clock for time slices and wait durations.
@inline(__always)
func coarseNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
