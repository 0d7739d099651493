// Creating and ending OS threads for machines, and the thread limit.
//
// The limit counts machines, as Go's does, plus the runtime's helper threads
// (sysmon, timers, the SIGQUIT waiter), so that it bounds the threads of the
// process. Passing it is fatal with Go's wording, unless the opt-in policy
// asks blocking regions to wait: then the scheduler simply does not start
// the machine, and the P it would have run waits on the idle list until a
// thread frees up. That trades the crash for a possible deadlock, when every
// thread waits on work that only a queued goroutine would do.

import CGoroutines
import Glibc

enum Threads {
    /// Threads the runtime runs besides its machines.
    static var helperThreads: Int { Sysmon.threads + GoroutineDump.signalThreads }

    /// Whether one more machine may start. Fatal at the limit unless the
    /// wait policy is on. `locked` says the caller holds the scheduler lock.
    static func mayCreate(locked: Bool) -> Bool {
        let sched = Scheduler.shared
        let limit = sched.threadLimit.load(ordering: .relaxed)
        let count = sched.machineCount.load(ordering: .relaxed) + helperThreads
        if count + 1 > limit {
            if sched.waitForThreadSlot.load(ordering: .relaxed) { return false }
            if locked { sched.lock.unlock() }
            fatal("runtime: program exceeds \(limit)-thread limit", "thread exhaustion")
        }
        return true
    }

    /// Starts the thread of a new machine.
    static func start(_ m: Machine) {
        let sched = Scheduler.shared
        let count = sched.machineCount.add(1, ordering: .relaxed).newValue
        let opaque = Unmanaged.passUnretained(m).toOpaque()
        let error = gr_thread_start(machineThreadMain, opaque, 512 * 1024)
        if error != 0 {
            fatal(
                "runtime: failed to create new OS thread (have \(count + helperThreads) "
                    + "already; errno=\(error))", "newosproc")
        }
    }
}

/// Body of every machine thread but the main one.
private let machineThreadMain:
    @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? =
        { raw in
            // safety: `raw` is the machine, kept alive by the scheduler's list.
            let m = Unmanaged<Machine>.fromOpaque(raw!).takeUnretainedValue()
            m.tid = gr_gettid()
            gr_tls_set_machine(raw)
            gr_install_altstack()
            let p = m.nextProcessor!
            m.nextProcessor = nil
            Scheduler.shared.acquire(m, p)
            if m.wakeSpinning {
                m.spinning = true
                m.wakeSpinning = false
            }
            runMachine(m)
            let sched = Scheduler.shared
            sched.machineCount.subtract(1, ordering: .relaxed)
            sched.retire(m)
            // Under the wait policy, work may be queued for want of the
            // thread slot this one just freed: wake a machine to look.
            if sched.waitForThreadSlot.load(ordering: .relaxed) { sched.wakeIfIdle() }
            gr_tls_set_machine(nil)
            return nil
        }
