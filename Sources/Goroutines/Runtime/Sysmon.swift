// sysmon: the monitor thread. It runs without a P and watches the others.
//
// Each round it:
// - takes the P of a goroutine in a marked blocking region that has been
//   there for a whole round while work waits (or nobody could pick work up),
//   or for more than 10 ms in any case, and hands it to another thread;
// - watches threads that have run one goroutine for over 20 µs without
//   entering the runtime: if the kernel reports the thread sleeping (state
//   S or D in /proc/self/task/<tid>/stat) on two looks in a row, it treats
//   the thread as blocked in an unmarked call and hands its P off. That
//   thread must get a P back before it runs goroutine code again, which it
//   does at its next runtime entry (see Park.swift);
// - flags a goroutine that has run for 10 ms or more, timed from when sysmon
//   first saw its P's new schedule tick (as Go's does), so its next runtime
//   entry yields.
// It sleeps 20 µs between rounds, doubling after about 1 ms with nothing to
// do, up to 10 ms, and sleeps until woken while every P is idle.
//
// GODEBUG=sysmonblocking=0 turns off the unmarked-blocking watch.

import CGoroutines
import Glibc
import Synchronization

enum Sysmon {
    /// Runtime threads without a P that count toward the thread limit.
    static var threads: Int { started.load(ordering: .relaxed) ? 2 : 0 }

    private static let started = Atomic<Bool>(false)
    /// Set while sysmon sleeps because every P is idle.
    static let sleeping = Atomic<Bool>(false)
    private static let deepSleep = Atomic<UInt32>(0)

    static func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
        else { return }
        let body: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { _ in
            Monitor().run()
            return nil
        }
        if gr_thread_start(body, nil, 256 * 1024) != 0 {
            fatal("runtime: failed to create new OS thread (sysmon)", "newosproc")
        }
        TimerQueue.shared.start()
    }

    /// Wakes sysmon from its deep sleep. Cheap when it is awake.
    @inline(__always)
    static func wake() {
        if sleeping.load(ordering: .relaxed) {
            sleeping.store(false, ordering: .relaxed)
            deepSleep.store(1, ordering: .releasing)
            futexWake(deepSleep, count: 1)
        }
    }

    fileprivate static func deepSleepUntilWoken(timeoutNanos: Int64) {
        deepSleep.store(0, ordering: .relaxed)
        sleeping.store(true, ordering: .sequentiallyConsistent)
        futexWait(deepSleep, expected: 0, timeoutNanos: timeoutNanos)
        sleeping.store(false, ordering: .relaxed)
    }
}

private final class Monitor {
    let sched = Scheduler.shared
    let watchUnmarked = GODebug.shared.sysmonBlocking
    /// /proc/self/task/<tid>/stat descriptors, by tid.
    var statFiles: [Int32: Int32] = [:]
    var buffer = [UInt8](repeating: 0, count: 512)
    /// When pooled stacks were last trimmed.
    var lastScavenge: Int64 = 0

    func run() {
        var delay: Int64 = 20_000
        var idleRounds = 0
        while true {
            if idleRounds == 0 {
                delay = 20_000
            } else if idleRounds > 50 {
                delay = min(delay * 2, 10_000_000)
            }
            var ts = timespec(tv_sec: 0, tv_nsec: Int(delay))
            nanosleep(&ts, nil)

            let procs = sched.maxProcs.load(ordering: .relaxed)
            // Ps beyond a lowered GOMAXPROCS still count while a blocked
            // goroutine holds them: their queues wait until they are retaken.
            let made = sched.processorCount.load(ordering: .acquiring)
            if sched.idleProcessorCount.load(ordering: .relaxed) >= procs,
                !anyToWatch(procs: procs, made: made)
            {
                Deadlock.check()
                // With schedtrace on, wake for each line, as Go's sysmon does.
                let trace = Int64(GODebug.shared.schedtraceMillis) * 1_000_000
                let timeout: Int64 = trace > 0 ? min(trace, 100_000_000) : 100_000_000
                Sysmon.deepSleepUntilWoken(timeoutNanos: timeout)
                Trace.tick(now: coarseNanos())
                idleRounds = 0
                continue
            }
            let now = coarseNanos()
            if retake(now: now, procs: made) { idleRounds = 0 } else { idleRounds += 1 }
            Trace.tick(now: now)
            if now - lastScavenge > 1_000_000_000 {
                lastScavenge = now
                StackAllocator.shared.scavenge(keep: 1024)
            }
        }
    }

    /// Whether some P still needs watching although every P below `procs`
    /// is idle: one in a blocking region, or one beyond a lowered GOMAXPROCS
    /// that a goroutine still holds (it may be stuck in an unmarked call).
    private func anyToWatch(procs: Int, made: Int) -> Bool {
        for i in 0..<made {
            guard let state = sched.processors[i]?.state else { continue }
            if state == .blocking { return true }
            if i >= procs, state != .idle, state != .retired { return true }
        }
        return false
    }

    /// One round over the Ps. Returns whether it took any.
    private func retake(now: Int64, procs: Int) -> Bool {
        var took = false
        // Time slices are timed with the precise clock: the coarse one moves
        // in steps of a few ms, which would cost a whole extra round.
        let preciseNow = monotonicNanos()
        for i in 0..<procs {
            guard let p = sched.processors[i] else { continue }
            let word = p.ownership.load(ordering: .acquiring)
            let state = PState(rawValue: word & 0xFF) ?? .idle
            let owner = Int(word >> 8)
            switch state {
            case .blocking:
                let tick = p.blockingTick.load(ordering: .relaxed)
                if tick != p.sysmonBlockingTick {
                    p.sysmonBlockingTick = tick
                    continue
                }
                let started = p.blockingStart.load(ordering: .relaxed)
                let waited = now - started
                let workWaiting =
                    !p.isQueueEmpty || sched.globalCount.load(ordering: .relaxed) > 0
                let nobodyFree =
                    sched.spinningCount.load(ordering: .relaxed)
                    + sched.idleProcessorCount.load(ordering: .relaxed) == 0
                if !workWaiting && !nobodyFree && waited < 10_000_000 { continue }
                // Before the P goes: goroutine dumps time the region from here.
                if let m = p.machine, m.id == owner {
                    m.blockingSince.store(started, ordering: .relaxed)
                }
                if p.ownership.compareExchange(
                    expected: word, desired: Processor.word(0, .runtime),
                    ordering: .acquiringAndReleasing
                ).exchanged {
                    sched.handOff(p)
                    took = true
                }
            case .user:
                let tick = p.scheduleTick.load(ordering: .relaxed)
                if tick != p.sysmonTick {
                    p.sysmonTick = tick
                    p.sysmonTickSeen = preciseNow
                    p.sysmonSleepyLooks = 0
                    continue
                }
                let ran = preciseNow - p.sysmonTickSeen
                if ran >= 10_000_000, let m = p.machine, let g = m.current {
                    g.preemptRequested.store(true, ordering: .relaxed)
                }
                guard watchUnmarked, ran > 20_000, let m = p.machine, m.id == owner else {
                    continue
                }
                if threadIsSleeping(m.tid) {
                    p.sysmonSleepyLooks += 1
                } else {
                    p.sysmonSleepyLooks = 0
                }
                if p.sysmonSleepyLooks >= 2,
                    p.ownership.compareExchange(
                        expected: word, desired: Processor.word(0, .runtime),
                        ordering: .acquiringAndReleasing
                    ).exchanged
                {
                    p.sysmonSleepyLooks = 0
                    m.lostProcessor.store(true, ordering: .relaxed)
                    sched.handOff(p)
                    took = true
                }
            default:
                continue
            }
        }
        return took
    }

    /// Whether the kernel reports the thread as sleeping (S) or in
    /// uninterruptible wait (D).
    private func threadIsSleeping(_ tid: Int32) -> Bool {
        if tid == 0 { return false }
        var fd = statFiles[tid] ?? -1
        if fd < 0 {
            fd = open("/proc/self/task/\(tid)/stat", O_RDONLY | O_CLOEXEC)
            if fd < 0 { return false }
            statFiles[tid] = fd
        }
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 512, 0) }
        if n <= 0 {
            close(fd)
            statFiles[tid] = nil
            return false
        }
        // "tid (comm) S ...": the state follows the last ')'.
        var i = n - 1
        while i > 0 && buffer[i] != UInt8(ascii: ")") { i -= 1 }
        guard i + 2 < n else { return false }
        let state = buffer[i + 2]
        return state == UInt8(ascii: "S") || state == UInt8(ascii: "D")
    }
}
