// Swift concurrency's side of the system-facing benchmarks:
// - parked: resident memory per task suspended on a channel receive;
// - handoff: a task on the cooperative pool sits in nanosleep (Swift has no
//   way to mark a call as blocking, so handoff and handoff-unmarked run the
//   same code) while the main task times how soon a new task runs. The pool
//   has one thread per CPU and never grows, so the blocker takes one of them;
// - seed-threads: tasks doing blocking file writes. The writers never
//   suspend, so the pool runs as many of them as it has threads; the sampler
//   and the clock live on a dedicated thread, since a task would starve.

import Glibc
import Synchronization

enum SwiftSystem {
    static func settle() async { try? await Task.sleep(for: .milliseconds(50)) }

    static func parked(_ params: BenchParams) async -> BenchReport {
        let n = params.n(or: 1_000_000)
        let release = AsyncBoundedChannel<Int>(capacity: 0)
        let allParked = AsyncBoundedChannel<Int>(capacity: 1)
        let parkedCount = SharedCounter()
        let exitCount = SharedCounter()

        await settle()
        let before = residentBytes()
        var after = 0
        var spawnElapsed: Int64 = 0
        let start = nowNanos()
        await withDiscardingTaskGroup { group in
            for _ in 0..<n {
                group.addTask {
                    if parkedCount.value.add(1, ordering: .relaxed).newValue == n {
                        await allParked.send(0)
                    }
                    _ = await release.receive()
                    exitCount.add(1)
                }
            }
            _ = await allParked.receive()
            spawnElapsed = nowNanos() - start

            await settle()
            after = residentBytes()
            release.close()
        }

        var report = BenchReport()
        report.setResult(exitCount.current, expected: n, what: "tasks exited")
        let spawnNanos = Double(spawnElapsed) / Double(n)
        report.set("ns_per_op", spawnNanos)
        report.set("rss_per_g_bytes", (after - before) / n)
        report.set("spawn_ns", spawnNanos)
        report.set("rss_before_bytes", before)
        report.set("rss_after_bytes", after)
        return report
    }

    static func handoff(_ params: BenchParams) async -> BenchReport {
        let samples = params.n(or: 200)
        let flags = BlockerFlags()
        let started = AsyncBoundedChannel<Int>(capacity: 0)
        let blocker = Task.detached {
            started.close()
            while !flags.stop.load(ordering: .relaxed) {
                flags.inSyscall.store(true, ordering: .relaxed)
                nanosleepOnce(nanos: 50_000_000)
                flags.inSyscall.store(false, ordering: .relaxed)
            }
        }
        _ = await started.receive()
        try? await Task.sleep(for: .milliseconds(5))

        var latencies: [Int64] = []
        var overshoots: [Int64] = []
        var duringSyscall = 0
        let reply = AsyncBoundedChannel<Int64>(capacity: 0)
        for i in 0..<samples {
            let pause = Int64(1 + i % 3) * 1_000_000
            let slept = nowNanos()
            try? await Task.sleep(for: .nanoseconds(pause))
            let t0 = nowNanos()
            overshoots.append(t0 - slept - pause)
            if flags.inSyscall.load(ordering: .relaxed) { duringSyscall += 1 }
            Task { await reply.send(nowNanos() - t0) }
            latencies.append(await reply.receive()!)
        }
        flags.stop.store(true, ordering: .relaxed)
        _ = blocker

        return handoffReport(
            latencies, overshoots, duringSyscall: duringSyscall, expected: samples)
    }

    static func seedThreads(_ params: BenchParams) async -> BenchReport {
        let setup = SeedSetup(params)
        guard let dir = makeTemporaryDirectory(prefix: "goroutines-bench-seed-") else {
            var report = BenchReport()
            report.failure = "cannot make a temporary directory"
            return report
        }
        defer { removeSeedDirectory(dir, files: setup.workers) }

        let threadsBefore = processThreadCount()
        let peak = SharedCounter()
        peak.add(threadsBefore)
        let shared = SeedShared()
        let start = nowNanos()
        // The writers never suspend, so once they hold every pool thread no
        // task could run the clock: a plain thread samples and stops them.
        let sampler = PlainThread {
            let deadline = start + Int64(setup.seconds * 1e9)
            while !shared.stop.isSet {
                threadSleep(nanos: min(10_000_000, max(deadline - nowNanos(), 0)))
                peak.raise(to: processThreadCount())
                if nowNanos() >= deadline { shared.stop.set() }
            }
        }

        await withDiscardingTaskGroup { group in
            for w in 0..<setup.workers {
                let path = seedFilePath(dir, w)
                let payload = setup.payload
                group.addTask {
                    while !shared.stop.isSet {
                        let error = writeWholeFile(path, payload)
                        if error != 0 {
                            shared.fail(errno: error)
                            break
                        }
                        shared.files.add(1)
                    }
                }
            }
        }
        let elapsed = nowNanos() - start
        sampler.join()
        peak.raise(to: processThreadCount())

        return seedReport(
            setup, shared, peak: peak.current, threadsBefore: threadsBefore,
            elapsedNanos: elapsed)
    }
}

extension SharedCounter {
    /// Raises the value to `candidate` if that is larger.
    func raise(to candidate: Int) {
        var seen = current
        while candidate > seen {
            let (exchanged, original) = value.compareExchange(
                expected: seen, desired: candidate, ordering: .relaxed)
            if exchanged { return }
            seen = original
        }
    }
}

/// An OS thread outside any runtime, running `body` once.
final class PlainThread: Sendable {
    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    private let thread: pthread_t

    init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { raw in
                // safety: `raw` is the retained Body passed just below.
                Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        self.thread = thread
    }

    /// Waits for the thread to finish.
    func join() { pthread_join(thread, nil) }
}
