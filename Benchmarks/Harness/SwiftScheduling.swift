// Swift concurrency's side of the scheduling benchmarks, written as a Swift
// developer would: skynet as recursive task groups, spawn as a discarding
// task group, pingpong over rendezvous channels, and yield between two tasks
// that share one actor. The actor stands in for GOMAXPROCS=1: it runs one of
// them at a time, so each `Task.yield()` hands the actor to the other task.

import Synchronization

enum SwiftScheduling {
    /// A skynet node returns the sum of its leaves, computed by up to ten
    /// child tasks.
    static func skynetNode(_ first: Int, _ count: Int) async -> Int {
        if count == 1 { return first }
        let children = min(10, count)
        return await withTaskGroup(of: Int.self) { group in
            var next = first
            for i in 0..<children {
                let size = count / children + (i < count % children ? 1 : 0)
                let start = next
                group.addTask { await skynetNode(start, size) }
                next += size
            }
            var sum = 0
            for await part in group { sum += part }
            return sum
        }
    }

    static func skynet(_ params: BenchParams) async -> BenchReport {
        let n = params.n(or: 1_000_000)
        let start = nowNanos()
        let sum = await skynetNode(0, n)
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(sum, expected: n * (n - 1) / 2)
        report.set("ns_per_op", Double(elapsed) / Double(n))
        report.set("ms", Double(elapsed) / 1e6)
        return report
    }

    static func pingpong(_ params: BenchParams) async -> BenchReport {
        let n = params.n(or: 1_000_000)
        let ping = AsyncBoundedChannel<Int>(capacity: 0)
        let pong = AsyncBoundedChannel<Int>(capacity: 0)
        let partner = Task {
            for await value in ping { await pong.send(value) }
        }

        var received = 0
        let start = nowNanos()
        for i in 0..<n {
            await ping.send(i)
            if await pong.receive() == i { received += 1 }
        }
        let elapsed = nowNanos() - start
        ping.close()
        await partner.value

        var report = BenchReport()
        report.setResult(received, expected: n, what: "round trips")
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    static func spawn(_ params: BenchParams) async -> BenchReport {
        let n = params.n(or: 1_000_000)
        let count = SharedCounter()
        let start = nowNanos()
        await withDiscardingTaskGroup { group in
            for _ in 0..<n {
                group.addTask { count.add(1) }
            }
        }
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(count.current, expected: n, what: "tasks counted")
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    /// As `spawn`, with a task body that captures nothing.
    static func spawnBare(_ params: BenchParams) async -> BenchReport {
        let n = params.n(or: 1_000_000)
        let before = bareCounter.current
        let start = nowNanos()
        await withDiscardingTaskGroup { group in
            for _ in 0..<n {
                group.addTask { bareCounter.add(1) }
            }
        }
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(bareCounter.current - before, expected: n, what: "tasks counted")
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    /// The one serial executor both yielding tasks run on.
    actor YieldArena {
        func spin(_ n: Int, gate: AsyncBoundedChannel<Int>) async -> Int {
            _ = await gate.receive()
            var mine = 0
            for _ in 0..<n {
                await Task.yield()
                mine += 1
            }
            return mine
        }
    }

    static func yield(_ params: BenchParams) async -> BenchReport {
        let n = params.n(or: 1_000_000)
        let arena = YieldArena()
        let gate = AsyncBoundedChannel<Int>(capacity: 0)
        let (total, elapsed) = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<2 {
                group.addTask { await arena.spin(n, gate: gate) }
            }
            let start = nowNanos()
            gate.close()
            var total = 0
            for await mine in group { total += mine }
            return (total, nowNanos() - start)
        }

        var report = BenchReport()
        report.setResult(total, expected: 2 * n, what: "yields counted")
        report.set("ns_per_op", Double(elapsed) / Double(2 * n))
        return report
    }
}
