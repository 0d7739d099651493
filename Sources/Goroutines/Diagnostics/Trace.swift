// GODEBUG=schedtrace=MS: a Go-shaped scheduler summary every MS ms, e.g.
//
//   SCHED 1004ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0
//   idlethreads=2 runqueue=0 [0 0]
//
// (one line). With scheddetail=1, a line per P and per M follows.

import Glibc
import Synchronization

enum Trace {
    private static let startNanos = monotonicNanos()
    private nonisolated(unsafe) static var lastNanos: Int64 = 0
    // nonisolated(unsafe): written and read by the sysmon thread only.

    /// Called by sysmon every round; prints when a period has passed.
    static func tick(now: Int64) {
        let period = Int64(GODebug.shared.schedtraceMillis) * 1_000_000
        if period <= 0 { return }
        if now - lastNanos < period { return }
        lastNanos = now
        writeStderr(summary(now: monotonicNanos()))
    }

    static func summary(now: Int64) -> String {
        let sched = Scheduler.shared
        let procs = sched.maxProcs.load(ordering: .relaxed)
        var queues: [String] = []
        for i in 0..<procs { queues.append(String(sched.processors[i]?.queueLength ?? 0)) }
        let elapsed = (now - startNanos) / 1_000_000
        var line =
            "SCHED \(elapsed)ms: gomaxprocs=\(procs) "
            + "idleprocs=\(sched.idleProcessorCount.load(ordering: .relaxed)) "
            + "threads=\(Runtime.threadCount) "
            + "spinningthreads=\(sched.spinningCount.load(ordering: .relaxed)) "
            + "idlethreads=\(sched.idleMachinesNow) "
            + "runqueue=\(sched.globalCount.load(ordering: .relaxed)) "
            + "[\(queues.joined(separator: " "))]\n"
        if GODebug.shared.scheddetail {
            // Who holds which P comes from each P's ownership word, the one
            // source of truth: a machine's own `processor` field can lag
            // after sysmon retakes its P. As in Go, a P whose goroutine is
            // in a blocking region belongs to no machine.
            var held: [Int: Int] = [:]
            for i in 0..<procs {
                guard let p = sched.processors[i] else { continue }
                let word = p.ownership.load(ordering: .relaxed)
                let state = PState(rawValue: word & 0xFF) ?? .idle
                let owner = Int(word >> 8)
                let running = state == .user || state == .runtime
                if running && owner != 0 { held[owner] = i }
                line +=
                    "  P\(i): status=\(p.state) "
                    + "schedtick=\(p.scheduleTick.load(ordering: .relaxed)) "
                    + "syscalltick=\(p.blockingTick.load(ordering: .relaxed)) "
                    + "m=\(running && owner != 0 ? owner : -1) runqsize=\(p.queueLength)\n"
            }
            for m in sched.machineSnapshot() {
                line +=
                    "  M\(m.id): p=\(held[Int(m.id)] ?? -1) "
                    + "curg=\(m.runningID.load(ordering: .relaxed)) "
                    + "spinning=\(m.spinning) "
                    + "blocked=\(m.inBlockingRegion.load(ordering: .relaxed)) "
                    + "lockedg=\(m.lockedGoroutine?.id ?? -1) tid=\(m.tid)\n"
            }
        }
        return line
    }
}
