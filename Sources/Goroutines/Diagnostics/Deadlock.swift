// Deadlock detection under Runtime.main.
//
// The process is deadlocked when no goroutine can ever run again: every P is
// idle with nothing queued, no goroutine is in a blocking region, no timer
// is pending, and no thread outside the runtime could still act (every
// thread of the process is one of the runtime's, or a plain thread parked in
// a runtime operation). sysmon checks this when it finds every P idle, and
// confirms it on a second look a few milliseconds later with no scheduling
// progress in between, since a wake-up may be in flight during the first.
// Then it prints Go's message and a goroutine dump, and exits with status 2.

import Glibc
import Synchronization

enum Deadlock {
    /// Called by sysmon when every P looks idle. Does not return on deadlock.
    static func check() {
        let sched = Scheduler.shared
        guard sched.mainStarted.load(ordering: .acquiring) else { return }
        guard let first = quietSnapshot() else { return }
        var ts = timespec(tv_sec: 0, tv_nsec: 5_000_000)
        nanosleep(&ts, nil)
        guard let second = quietSnapshot(), second == first else { return }
        flushStandardOutput()
        writeStderr(
            "fatal error: all goroutines are asleep - deadlock!\n\n" + GoroutineDump.text())
        _exit(2)
    }

    /// A progress stamp if the runtime looks dead now, else nil.
    private static func quietSnapshot() -> UInt64? {
        let sched = Scheduler.shared
        let procs = sched.maxProcs.load(ordering: .acquiring)
        if sched.idleProcessorCount.load(ordering: .acquiring) < procs { return nil }
        if sched.globalCount.load(ordering: .acquiring) > 0 { return nil }
        if sched.spinningCount.load(ordering: .acquiring) > 0 { return nil }
        if TimerQueue.shared.pendingCount > 0 { return nil }

        var progress: UInt64 = 0
        for i in 0..<procs {
            guard let p = sched.processors[i] else { continue }
            if !p.isQueueEmpty { return nil }
            progress &+= p.scheduleTick.load(ordering: .acquiring)
            progress &+= p.blockingTick.load(ordering: .acquiring)
        }
        // A thread in a blocking region, or still running a goroutine whose P
        // sysmon took (an unmarked blocking call), can still act.
        for m in sched.machineSnapshot()
        where m.inBlockingRegion.load(ordering: .acquiring)
            || m.runningID.load(ordering: .acquiring) != 0
        {
            return nil
        }

        // Every thread must be accounted for.
        var parkedPlainThreads = 0
        for g in Registry.shared.snapshot() where g.isExternal {
            if g.currentStatus == .waiting { parkedPlainThreads += 1 }
        }
        let known =
            sched.machineCount.load(ordering: .acquiring) + Sysmon.threads
            + GoroutineDump.signalThreads + parkedPlainThreads
        if Runtime.threadCount > known { return nil }
        return progress
    }
}
