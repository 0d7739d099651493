// The thread monitor: a plain OS thread that counts the process's threads
// every 5 ms while an experiment runs, keeps the peak, draws the live line,
// and polls for Ctrl-C.
//
// It is a thread rather than a goroutine on purpose. A sampler goroutine
// parks on a timer between samples and then waits for a processor like
// everyone else; with 200 goroutines that never park, its wake-ups come
// hundreds of milliseconds late and it would miss the peaks it is meant to
// see. The monitor's own thread is not counted in what it reports.

import Glibc
import Goroutines
import Synchronization

final class ThreadMonitor: Sendable {
    private let label: String
    private let progress: @Sendable () -> String
    private let peakThreads = Atomic<Int>(0)
    private let lastThreads = Atomic<Int>(0)
    private let samples = Atomic<Int>(0)
    private let stopRequested = Atomic<Bool>(false)
    private let stopped = Channel<Int>(capacity: 1)

    /// - Parameters:
    ///   - label: the experiment's name, shown at the start of the live line.
    ///   - progress: extra text for the live line, e.g. files written so far.
    init(label: String, progress: @escaping @Sendable () -> String = { "" }) {
        self.label = label
        self.progress = progress
    }

    /// The highest thread count seen so far, the monitor's thread excluded.
    var peak: Int { peakThreads.load(ordering: .relaxed) }
    /// The latest thread count, the monitor's thread excluded.
    var latest: Int { lastThreads.load(ordering: .relaxed) }
    /// How many samples were taken.
    var sampleCount: Int { samples.load(ordering: .relaxed) }

    /// Takes one sample now and starts the monitor thread.
    func start() {
        sample(ownThread: false)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let error = pthread_create(
            &thread, nil,
            { raw in
                // safety: `raw` is the monitor, retained for this thread above.
                let monitor = Unmanaged<ThreadMonitor>.fromOpaque(raw!).takeRetainedValue()
                monitor.run()
                return nil
            }, context)
        if error != 0 {
            Unmanaged<ThreadMonitor>.fromOpaque(context).release()
            Console.complain("goroutines-demo: cannot start the thread monitor (errno \(error))")
            stopped.send(0)
            return
        }
        pthread_detach(thread)
    }

    /// Stops sampling, clears the live line, and returns the peak.
    func finish() -> Int {
        stopRequested.store(true, ordering: .relaxed)
        _ = stopped.receive()
        Console.clearLive()
        return peak
    }

    private func run() {
        let start = ContinuousClock.now
        var lastDrawn = start
        let drawEvery: Duration = Console.isTerminal ? .milliseconds(100) : .seconds(1)
        while !stopRequested.load(ordering: .relaxed) {
            Interrupts.checkpoint()
            let now = sample(ownThread: true)
            if ContinuousClock.now - lastDrawn >= drawEvery {
                lastDrawn = ContinuousClock.now
                let elapsed = Format.fixed(Format.seconds(since: start), 1)
                Console.live("  \(label) \(elapsed)s  threads=\(now) peak=\(peak)  \(progress())")
            }
            usleep(5_000)
        }
        sample(ownThread: true)
        stopped.send(0)
    }

    /// Counts the threads, leaving out the monitor's own when it runs.
    @discardableResult
    private func sample(ownThread: Bool) -> Int {
        samples.add(1, ordering: .relaxed)
        let now = Runtime.threadCount - (ownThread ? 1 : 0)
        lastThreads.store(now, ordering: .relaxed)
        var seen = peakThreads.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = peakThreads.compareExchange(
                expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
        return now
    }
}
