// This package's side of the channel and lock benchmarks: chan-spsc,
// chan-mpmc and mutex (select4 is in OursSelect), mirroring
// Benchmarks/go/chans.go. Workers wait on a start gate (a channel that is
// closed when the clock starts), so spawning them stays outside the timed
// region.

import Goroutines
import Synchronization

enum OursChannels {
    /// One producer sends 1...n through a channel of capacity 128; the main
    /// goroutine sums what it receives.
    static func chanSPSC(_ params: BenchParams) -> BenchReport {
        let n = params.n(or: 1_000_000)
        let channel = Channel<Int>(capacity: 128)
        let gate = Channel<Int>()
        go {
            _ = gate.receive()
            for value in 1...n { channel.send(value) }
        }

        var sum = 0
        let start = nowNanos()
        gate.close()
        for _ in 0..<n { sum += channel.receive()! }
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(sum, expected: gauss(n))
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    /// Four producers share 1...n; four consumers drain one channel of
    /// capacity 128 until it is closed.
    static func chanMPMC(_ params: BenchParams) -> BenchReport {
        let producers = 4
        let consumers = 4
        let n = params.n(or: 1_000_000)
        let channel = Channel<Int>(capacity: 128)
        let gate = Channel<Int>()
        let producing = WaitGroup()
        let consuming = WaitGroup()
        let total = SharedCounter()

        producing.add(producers)
        for p in 0..<producers {
            let first = splitStart(n, parts: producers, index: p)
            let count = splitSize(n, parts: producers, index: p)
            go {
                _ = gate.receive()
                for value in first..<(first + count) { channel.send(value) }
                producing.done()
            }
        }
        consuming.add(consumers)
        for _ in 0..<consumers {
            go {
                _ = gate.receive()
                var sum = 0
                for value in channel { sum += value }
                total.add(sum)
                consuming.done()
            }
        }

        let start = nowNanos()
        gate.close()
        producing.wait()
        channel.close()
        consuming.wait()
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(total.current, expected: gauss(n))
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    /// Eight goroutines share n lock/increment/unlock steps on one
    /// goroutine-aware mutex; the main goroutine waits for all of them.
    static func mutex(_ params: BenchParams) -> BenchReport {
        let workers = 8
        let n = params.n(or: 1_000_000)
        let counter = GuardedCounter()
        let gate = Channel<Int>()
        let done = WaitGroup()
        done.add(workers)
        for w in 0..<workers {
            let ops = splitSize(n, parts: workers, index: w)
            go {
                _ = gate.receive()
                for _ in 0..<ops { counter.increment() }
                done.done()
            }
        }

        let start = nowNanos()
        gate.close()
        done.wait()
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(counter.current, expected: n, what: "counter")
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }
}

/// An integer behind this package's Mutex, shared by goroutines.
final class GuardedCounter: @unchecked Sendable {  // value is only touched under mutex
    private let mutex = Goroutines.Mutex()
    private var value = 0

    func increment() {
        mutex.lock()
        value += 1
        mutex.unlock()
    }

    var current: Int { mutex.withLock { value } }
}
