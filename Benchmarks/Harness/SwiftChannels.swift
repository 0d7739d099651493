// Swift concurrency's side of the channel and lock benchmarks. Channels are
// `AsyncBoundedChannel`s (continuations behind a mutex); select4 merges its
// four channels the way an AsyncSequence `merge` does, with one forwarding
// task per channel feeding a shared AsyncStream; mutex uses
// Synchronization.Mutex, the lock the standard library offers.

import Synchronization

enum SwiftChannels {
    static func chanSPSC(_ params: BenchParams) async -> BenchReport {
        let n = params.n(or: 1_000_000)
        let channel = AsyncBoundedChannel<Int>(capacity: 128)
        let gate = AsyncBoundedChannel<Int>(capacity: 0)
        let producer = Task {
            _ = await gate.receive()
            for value in 1...n { await channel.send(value) }
        }

        var sum = 0
        let start = nowNanos()
        gate.close()
        for _ in 0..<n { sum += await channel.receive()! }
        let elapsed = nowNanos() - start
        await producer.value

        var report = BenchReport()
        report.setResult(sum, expected: gauss(n))
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    static func chanMPMC(_ params: BenchParams) async -> BenchReport {
        let producers = 4
        let consumers = 4
        let n = params.n(or: 1_000_000)
        let channel = AsyncBoundedChannel<Int>(capacity: 128)
        let gate = AsyncBoundedChannel<Int>(capacity: 0)
        let producing = SharedCounter()
        let total = SharedCounter()

        let start = await withDiscardingTaskGroup { group in
            for p in 0..<producers {
                let first = splitStart(n, parts: producers, index: p)
                let count = splitSize(n, parts: producers, index: p)
                group.addTask {
                    _ = await gate.receive()
                    for value in first..<(first + count) { await channel.send(value) }
                    // The last producer to finish closes the channel.
                    if producing.value.add(1, ordering: .acquiringAndReleasing).newValue
                        == producers
                    {
                        channel.close()
                    }
                }
            }
            for _ in 0..<consumers {
                group.addTask {
                    _ = await gate.receive()
                    var sum = 0
                    for await value in channel { sum += value }
                    total.add(sum)
                }
            }
            let start = nowNanos()
            gate.close()
            return start
        }
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(total.current, expected: gauss(n))
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    static func select4(_ params: BenchParams) async -> BenchReport {
        let n = params.n(or: 1_000_000)
        let channels = (0..<4).map { _ in AsyncBoundedChannel<Int>(capacity: 16) }
        let gate = AsyncBoundedChannel<Int>(capacity: 0)
        let (merged, mergedInput) = AsyncStream.makeStream(of: Int.self)

        let (sum, elapsed) = await withDiscardingTaskGroup { group in
            for (i, channel) in channels.enumerated() {
                let first = splitStart(n, parts: 4, index: i)
                let count = splitSize(n, parts: 4, index: i)
                group.addTask {
                    _ = await gate.receive()
                    for value in first..<(first + count) { await channel.send(value) }
                    channel.close()
                }
                group.addTask {
                    for await value in channel { mergedInput.yield(value) }
                }
            }

            var sum = 0
            var got = 0
            let start = nowNanos()
            gate.close()
            var iterator = merged.makeAsyncIterator()
            while got < n, let value = await iterator.next() {
                sum += value
                got += 1
            }
            mergedInput.finish()
            return (sum, nowNanos() - start)
        }

        var report = BenchReport()
        report.setResult(sum, expected: gauss(n))
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }

    static func mutex(_ params: BenchParams) async -> BenchReport {
        let workers = 8
        let n = params.n(or: 1_000_000)
        let counter = LockedCounter()
        let gate = AsyncBoundedChannel<Int>(capacity: 0)

        let start = await withDiscardingTaskGroup { group in
            for w in 0..<workers {
                let ops = splitSize(n, parts: workers, index: w)
                group.addTask {
                    _ = await gate.receive()
                    for _ in 0..<ops { counter.mutex.withLock { $0 += 1 } }
                }
            }
            let start = nowNanos()
            gate.close()
            return start
        }
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(counter.mutex.withLock { $0 }, expected: n, what: "counter")
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }
}

/// An integer behind Synchronization's Mutex, shareable between tasks.
final class LockedCounter: Sendable {
    let mutex = Mutex(0)
}
