// This package's side of the system-facing benchmarks, mirroring
// Benchmarks/go/parked.go and syscalls.go:
// - parked: resident memory per goroutine parked on a channel receive;
// - handoff: how soon a new goroutine runs while the only processor's owner
//   sleeps in nanosleep, marked with `blocking {}` or (handoff-unmarked) not;
// - seed-threads: the peak thread count while 200 goroutines rewrite files.

import Glibc
import Goroutines
import Synchronization

/// Flags the handoff blocker and the main goroutine share.
final class BlockerFlags: Sendable {
    let stop = Atomic<Bool>(false)
    let inSyscall = Atomic<Bool>(false)
}

enum OursSystem {
    /// Lets stragglers park and the allocator settle before an RSS reading.
    static func settle() { sleep(for: .milliseconds(50)) }

    /// n goroutines block receiving from a channel that stays silent until
    /// the resident memory has been read; closing it releases them all.
    static func parked(_ params: BenchParams) -> BenchReport {
        let n = params.n(or: 1_000_000)
        let release = Channel<Int>()
        let parkedGroup = WaitGroup()
        let exited = WaitGroup()
        let exitCount = SharedCounter()

        settle()
        let before = residentBytes()
        let start = nowNanos()
        parkedGroup.add(n)
        exited.add(n)
        for _ in 0..<n {
            go {
                parkedGroup.done()
                _ = release.receive()
                exitCount.add(1)
                exited.done()
            }
        }
        parkedGroup.wait()
        let spawnElapsed = nowNanos() - start

        settle()
        let after = residentBytes()
        release.close()
        exited.wait()

        var report = BenchReport()
        report.setResult(exitCount.current, expected: n, what: "goroutines exited")
        let spawnNanos = Double(spawnElapsed) / Double(n)
        report.set("ns_per_op", spawnNanos)
        report.set("rss_per_g_bytes", (after - before) / n)
        report.set("spawn_ns", spawnNanos)
        report.set("rss_before_bytes", before)
        report.set("rss_after_bytes", after)
        return report
    }

    /// With one processor, a blocker goroutine lives in 50 ms nanosleeps.
    /// For each sample the main goroutine sleeps 1-3 ms, then times how long
    /// a freshly spawned goroutine takes to report back over a channel. With
    /// `marked`, each nanosleep runs inside `blocking {}`; without, the
    /// runtime must notice the sleeping thread on its own.
    static func handoff(_ params: BenchParams, marked: Bool) -> BenchReport {
        let samples = params.n(or: 200)
        let flags = BlockerFlags()
        let started = Channel<Int>()
        go {
            started.close()
            while !flags.stop.load(ordering: .relaxed) {
                flags.inSyscall.store(true, ordering: .relaxed)
                if marked {
                    blocking { nanosleepOnce(nanos: 50_000_000) }
                } else {
                    nanosleepOnce(nanos: 50_000_000)
                }
                flags.inSyscall.store(false, ordering: .relaxed)
            }
        }
        _ = started.receive()
        sleep(for: .milliseconds(5))

        var latencies: [Int64] = []
        var overshoots: [Int64] = []
        var duringSyscall = 0
        let reply = Channel<Int64>()
        for i in 0..<samples {
            let pause = Int64(1 + i % 3) * 1_000_000
            let slept = nowNanos()
            sleep(for: .nanoseconds(pause))
            let t0 = nowNanos()
            overshoots.append(t0 - slept - pause)
            if flags.inSyscall.load(ordering: .relaxed) { duringSyscall += 1 }
            go { reply.send(nowNanos() - t0) }
            latencies.append(reply.receive()!)
        }
        flags.stop.store(true, ordering: .relaxed)

        return handoffReport(
            latencies, overshoots, duringSyscall: duringSyscall, expected: samples)
    }

    /// With two processors, many goroutines rewrite their own file for a
    /// fixed time with the package's `writeFile`, whose open, write and close
    /// each run as a blocking region; a sampler goroutine records the peak
    /// thread count every 10 ms.
    static func seedThreads(_ params: BenchParams) -> BenchReport {
        let setup = SeedSetup(params)
        guard let dir = makeTemporaryDirectory(prefix: "goroutines-bench-seed-") else {
            var report = BenchReport()
            report.failure = "cannot make a temporary directory"
            return report
        }
        defer { removeSeedDirectory(dir, files: setup.workers) }

        let threadsBefore = Runtime.threadCount
        let samplerPeak = Channel<Int>(capacity: 1)
        let stopSampler = SharedFlag()
        let shared = SeedShared()
        go {
            var peak = threadsBefore
            while !stopSampler.isSet {
                sleep(for: .milliseconds(10))
                peak = max(peak, Runtime.threadCount)
            }
            samplerPeak.send(max(peak, Runtime.threadCount))
        }

        let writers = WaitGroup()
        writers.add(setup.workers)
        let start = nowNanos()
        for w in 0..<setup.workers {
            let path = seedFilePath(dir, w)
            let payload = setup.payload
            go {
                while !shared.stop.isSet {
                    do throws(FileError) {
                        try writeFile(path, payload, permissions: 0o600)
                    } catch {
                        shared.fail(errno: error.errno)
                        break
                    }
                    shared.files.add(1)
                }
                writers.done()
            }
        }
        sleep(for: .nanoseconds(Int64(setup.seconds * 1e9)))
        shared.stop.set()
        let stopped = nowNanos() - start
        writers.wait()
        let elapsed = nowNanos() - start
        stopSampler.set()
        let peak = samplerPeak.receive()!

        var report = seedReport(
            setup, shared, peak: peak, threadsBefore: threadsBefore, elapsedNanos: elapsed)
        // How late the main goroutine's timer fired, under the writers' load.
        report.set("stop_late_ms", Double(stopped) / 1e6 - setup.seconds * 1e3)
        return report
    }
}

/// A one-way flag goroutines or tasks can raise and poll.
final class SharedFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    func set() { raised.store(true, ordering: .relaxed) }
    var isSet: Bool { raised.load(ordering: .relaxed) }
}

/// The seed experiment's parameters, with Go's defaults.
struct SeedSetup: Sendable {
    let workers: Int
    let fileBytes: Int
    let seconds: Double
    let payload: [UInt8]

    init(_ params: BenchParams) {
        workers = params.goroutines ?? 200
        let mib = params.mib ?? 8
        fileBytes = mib > 0 ? mib << 20 : 16
        seconds = params.seconds ?? 3
        payload = seedPayload(bytes: fileBytes)
    }
}

/// What the seed experiment's writers share.
final class SeedShared: Sendable {
    let stop = SharedFlag()
    let files = SharedCounter()
    let firstErrno = Atomic<Int32>(0)

    func fail(errno: Int32) {
        _ = firstErrno.compareExchange(expected: 0, desired: errno, ordering: .relaxed)
        stop.set()
    }
}

/// The seed experiment's report, shared by this package's and Swift's sides.
func seedReport(
    _ setup: SeedSetup, _ shared: SeedShared, peak: Int, threadsBefore: Int,
    elapsedNanos: Int64
) -> BenchReport {
    var report = BenchReport()
    let files = shared.files.current
    let error = shared.firstErrno.load(ordering: .relaxed)
    report.set("result", files)
    if error != 0 {
        report.failure = "write failed: \(String(cString: strerror(error)))"
    } else if files == 0 {
        report.failure = "no files were written"
    }
    report.set("ns_per_op", 0.0)
    report.set("peak_threads", peak)
    report.set("threads_before", threadsBefore)
    report.set("elapsed_ms", Double(elapsedNanos) / 1e6)
    let mebibytes = Double(files) * Double(setup.fileBytes) / Double(1 << 20)
    report.set("mib_per_s", mebibytes / (Double(elapsedNanos) / 1e9))
    return report
}

/// The handoff report, shared by this package's and Swift's sides.
func handoffReport(
    _ latencies: [Int64], _ overshoots: [Int64], duringSyscall: Int, expected: Int
) -> BenchReport {
    let latencies = latencies.sorted()
    let overshoots = overshoots.sorted()
    var report = BenchReport()
    report.setResult(latencies.count, expected: expected, what: "samples")
    let p50 = percentile(latencies, 50)
    report.set("ns_per_op", Double(p50))
    report.set("p50_ns", p50)
    report.set("p99_ns", percentile(latencies, 99))
    report.set("max_ns", latencies.last!)
    report.set("wake_late_p50_ns", percentile(overshoots, 50))
    report.set("wake_late_p99_ns", percentile(overshoots, 99))
    report.set("samples_in_syscall", duringSyscall)
    // Sleeps that overslept by more than 10 ms: a wake-up stuck behind the
    // blocker rather than ordinary timer slack.
    report.set("wake_late_over_10ms", overshoots.count { $0 > 10_000_000 })
    return report
}
