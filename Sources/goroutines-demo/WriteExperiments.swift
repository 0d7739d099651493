// The seed's three file-writing experiments. Each goroutine rewrites its own
// file again and again until the time is up, while the thread monitor
// records the peak thread count:
// - quick-writes: 16-byte files through writeFile, whose open, write and
//   close mark themselves blocking. The calls return in microseconds, so
//   the processors are seldom handed off and a handful of threads suffice.
// - blocking-writes: --mib MiB files the same way. Each write stays in the
//   kernel for milliseconds; sysmon hands the writer's processor to another
//   thread, so about one thread per writer exists at the peak.
// - foundation-writes: --mib MiB files through Foundation's
//   Data.write(to:), which says nothing to the runtime. sysmon can only
//   notice a thread the kernel reports as sleeping (state S or D) and hand
//   its processor off; a thread busy copying into the page cache looks like
//   it is running.

import Glibc
import Goroutines
import Synchronization

/// What the writers share: the stop flag, the tally, the first error.
final class WriteTally: Sendable {
    let stop = Atomic<Bool>(false)
    let files = Atomic<Int>(0)
    let firstError = Mutex<String?>(nil)

    func fail(_ message: String) {
        firstError.withLock { if $0 == nil { $0 = message } }
        stop.store(true, ordering: .relaxed)
    }
}

enum WriteExperiments {
    /// The seed's number of writers.
    static let defaultGoroutines = 200
    /// The seed's GOMAXPROCS for these experiments.
    static let defaultMaxProcs = 2
    /// The payload of quick-writes.
    static let quickBytes = 16

    /// Where `experiment` makes its directory when `--dir` is not given:
    /// `$TMPDIR`, else `/tmp`. quick-writes is about calls that return at
    /// once, so it takes `/dev/shm` first when that is a memory file system
    /// (tmpfs), even with `$TMPDIR` set: on a disk file system a rewritten
    /// tiny file can wait on writeback, which is a blocking call, not a
    /// quick one.
    static func defaultParent(_ experiment: Experiment) -> String {
        let memory = "/dev/shm"
        if experiment == .quickWrites, access(memory, W_OK | X_OK) == 0,
            Scratch.fileSystemName(at: memory) == "tmpfs"
        {
            return memory
        }
        return File.temporaryDirectory
    }

    /// Bytes written per file by `experiment`.
    static func fileSize(_ experiment: Experiment, _ options: Options) -> Int {
        experiment == .quickWrites ? quickBytes : options.mib << 20
    }

    /// Disk room `experiment` may need: each writer's file, twice over for
    /// the old copy the file system may still hold while it is rewritten.
    static func roomNeeded(_ experiment: Experiment, _ options: Options) -> (Int, String) {
        let writers = options.goroutines ?? defaultGoroutines
        if experiment == .quickWrites {
            return (writers * 4096 * 2, "\(writers) goroutines × 4 KiB × 2")
        }
        let reason = "\(writers) goroutines × \(options.mib) MiB × 2"
        return (writers * (options.mib << 20) * 2, reason)
    }

    /// Runs one write experiment as the main goroutine's work; returns the
    /// exit status.
    static func run(_ experiment: Experiment, _ options: Options) -> Int32 {
        let writers = options.goroutines ?? defaultGoroutines
        let procs = options.maxProcs(default: defaultMaxProcs)
        let size = fileSize(experiment, options)
        let parent = options.dir ?? defaultParent(experiment)
        Runtime.setMaxProcs(procs)

        let (needed, reason) = roomNeeded(experiment, options)
        guard
            Scratch.checkRoom(
                in: parent, needed: needed, for: experiment.rawValue, because: reason)
        else { return 1 }
        let directory: String
        do {
            directory = try Scratch.make(in: parent, label: experiment.rawValue)
        } catch {
            Console.complain("goroutines-demo: cannot make a temporary directory: \(error)")
            return 1
        }

        describe(experiment, writers: writers, procs: procs, size: size, options: options)
        let fileSystem = Scratch.fileSystemName(at: directory)
        Console.say("  files go to \(directory)" + (fileSystem.map { " (\($0))" } ?? ""))
        if experiment == .quickWrites, fileSystem != "tmpfs" {
            Console.say("  note: on a disk file system, rewriting a file with O_TRUNC may wait for")
            Console.say("  the writeback of its last contents (ext4 flushes a truncated file on")
            Console.say("  close); those calls then block for real and Go shows one thread per")
            Console.say("  writer too")
        }
        let write = writer(experiment, size: size)
        let tally = WriteTally()
        let before = Runtime.threadCount
        let monitor = ThreadMonitor(label: experiment.rawValue) {
            "files=\(tally.files.load(ordering: .relaxed))"
        }
        monitor.start()

        // Each writer watches the deadline itself, so the run ends on time
        // even if the main goroutine's timer wake-up comes late; how late it
        // came is part of the report.
        let start = ContinuousClock.now
        let runTime = Duration.milliseconds(Int64(options.seconds * 1000))
        let deadline = start + runTime
        let group = WaitGroup()
        group.add(writers)
        for index in 0..<writers {
            let path = directory + "/w\(index).dat"
            go {
                defer { group.done() }
                while !tally.stop.load(ordering: .relaxed) && ContinuousClock.now < deadline {
                    do {
                        try write(path)
                    } catch {
                        tally.fail("\(error)")
                        return
                    }
                    tally.files.add(1, ordering: .relaxed)
                }
            }
        }
        sleep(for: runTime)
        let wokeLate = Format.seconds(since: deadline)
        tally.stop.store(true, ordering: .relaxed)
        group.wait()
        let elapsed = Format.seconds(since: start)
        let peak = monitor.finish()
        let after = monitor.latest

        let removed = Scratch.removeCurrent()
        if let message = tally.firstError.withLock({ $0 }) {
            Console.complain("goroutines-demo: \(experiment.rawValue) failed: \(message)")
            return 1
        }
        let files = tally.files.load(ordering: .relaxed)
        let total = Double(files) * Double(size)
        Console.say(
            "  wrote \(files) files (\(Format.bytes(total)), "
                + "\(Format.bytes(total / elapsed))/s) in \(Format.fixed(elapsed, 2)) s")
        Console.say(
            "  threads: \(before) before, peak \(peak), \(after) after "
                + "(\(monitor.sampleCount) samples)")

        Console.say(
            "  the main goroutine's \(Format.fixed(options.seconds, 1)) s sleep ended "
                + "\(Format.fixed(wokeLate * 1000, 1)) ms after its deadline")
        if let removed { Console.say("  removed \(removed)") }

        var line = "\(experiment.rawValue) goroutines=\(writers) gomaxprocs=\(procs)"
        if experiment != .quickWrites { line += " mib=\(options.mib)" }
        Summary.emit(line + " peak_threads=\(peak)", options: options)
        return 0
    }

    private static func describe(
        _ experiment: Experiment, writers: Int, procs: Int, size: Int, options: Options
    ) {
        let whole = options.seconds.rounded() == options.seconds
        let seconds = Format.fixed(options.seconds, whole ? 0 : 1)
        let what = Format.bytes(Double(size))
        Console.say(
            "== \(experiment.rawValue): \(writers) goroutines each rewrite a \(what) file "
                + "for \(seconds) s, GOMAXPROCS=\(procs)")
        let marked = "  through writeFile: open, write and close each mark themselves blocking"
        switch experiment {
        case .quickWrites:
            Console.say(marked)
            Console.say("  expect a handful of threads: quick calls seldom give their P away")
        case .blockingWrites:
            Console.say(marked)
            let most = writers + procs
            Console.say(
                "  expect about \(most) threads, plus the runtime's own few: each writer in "
                    + "the kernel holds one")
        default:
            Console.say("  through Foundation's Data.write(to:), unseen by the runtime: sysmon")
            Console.say("  hands a P off when the kernel shows its thread asleep, and the")
            Console.say("  writer keeps that thread until it next enters the runtime")
        }
    }

    /// The write call of `experiment`: writes `size` bytes to a path.
    private static func writer(
        _ experiment: Experiment, size: Int
    ) -> @Sendable (String) throws -> Void {
        if experiment == .foundationWrites { return foundationWriter(size: size) }
        let payload = (0..<size).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        return { path in try writeFile(path, payload) }
    }
}
