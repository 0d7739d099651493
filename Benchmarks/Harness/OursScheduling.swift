// This package's side of the scheduling benchmarks: skynet, pingpong, spawn
// and yield. Each mirrors its Go counterpart in Benchmarks/go/sched.go: same
// sizes, same shape of goroutines and channels, same timed region. Bodies run
// on the main goroutine (inside `Runtime.main`) and return their report.

import Goroutines
import Synchronization

/// A counter shared by goroutines.
final class SharedCounter: Sendable {
    let value = Atomic<Int>(0)

    func add(_ delta: Int) { value.add(delta, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

enum OursScheduling {
    /// A node of the skynet tree owns the leaves `first ..< first + count`. A
    /// leaf sends its number; a larger node splits its range among at most
    /// ten child goroutines and sends the sum they report.
    static func skynetNode(_ out: Channel<Int>, _ first: Int, _ count: Int) {
        if count == 1 {
            out.send(first)
            return
        }
        let children = min(10, count)
        let results = Channel<Int>(capacity: children)
        var next = first
        for i in 0..<children {
            let size = count / children + (i < count % children ? 1 : 0)
            let start = next
            go { skynetNode(results, start, size) }
            next += size
        }
        var sum = 0
        for _ in 0..<children { sum += results.receive()! }
        out.send(sum)
    }

    static func skynet(_ params: BenchParams) -> BenchReport {
        let n = params.n(or: 1_000_000)
        let out = Channel<Int>(capacity: 1)
        let start = nowNanos()
        go { skynetNode(out, 0, n) }
        let sum = out.receive()!
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(sum, expected: n * (n - 1) / 2)
        report.set("ns_per_op", Double(elapsed) / Double(n))
        report.set("ms", Double(elapsed) / 1e6)
        return report
    }

    /// The main goroutine and a partner bounce a value over two unbuffered
    /// channels.
    static func pingpong(_ params: BenchParams) -> BenchReport {
        let n = params.n(or: 1_000_000)
        let ping = Channel<Int>()
        let pong = Channel<Int>()
        go {
            for value in ping { pong.send(value) }
        }

        var received = 0
        let start = nowNanos()
        for i in 0..<n {
            ping.send(i)
            if pong.receive() == i { received += 1 }
        }
        let elapsed = nowNanos() - start
        ping.close()

        var report = BenchReport()
        report.setResult(received, expected: n, what: "round trips")
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    /// Starts n goroutines that each bump a counter and leave a WaitGroup.
    static func spawn(_ params: BenchParams) -> BenchReport {
        let n = params.n(or: 1_000_000)
        let group = WaitGroup()
        let count = SharedCounter()

        let start = nowNanos()
        group.add(n)
        for _ in 0..<n {
            go {
                count.add(1)
                group.done()
            }
        }
        group.wait()
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(count.current, expected: n, what: "goroutines counted")
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    /// As `spawn`, with a body that captures nothing: it uses a counter and
    /// a WaitGroup held in globals, so no closure context is allocated and
    /// no reference counted. What is left is the runtime's own cost.
    static func spawnBare(_ params: BenchParams) -> BenchReport {
        let n = params.n(or: 1_000_000)
        let before = bareCounter.current

        let start = nowNanos()
        bareGroup.add(n)
        for _ in 0..<n {
            go {
                bareCounter.add(1)
                bareGroup.done()
            }
        }
        bareGroup.wait()
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(bareCounter.current - before, expected: n, what: "goroutines counted")
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    /// With one processor, two goroutines yield to each other n times each.
    static func yield(_ params: BenchParams) -> BenchReport {
        let n = params.n(or: 1_000_000)
        let total = SharedCounter()
        let ready = WaitGroup()
        let finished = WaitGroup()
        let gate = Channel<Int>()

        ready.add(2)
        finished.add(2)
        for _ in 0..<2 {
            go {
                ready.done()
                _ = gate.receive()
                var mine = 0
                for _ in 0..<n {
                    Runtime.yield()
                    mine += 1
                }
                total.add(mine)
                finished.done()
            }
        }
        ready.wait()

        let start = nowNanos()
        gate.close()
        finished.wait()
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(total.current, expected: 2 * n, what: "yields counted")
        report.set("ns_per_op", Double(elapsed) / Double(2 * n))
        return report
    }
}

/// The counter and group of `spawnBare`, global so that its bodies capture
/// nothing.
let bareCounter = SharedCounter()
let bareGroup = WaitGroup()
