// This package's side of select4, mirroring Benchmarks/go/chans.go: one
// consumer selecting over four producers' channels.

import Goroutines

enum OursSelect {
    /// Four producers fill their own channel (capacity 16) with a quarter of
    /// 1...n; the main goroutine selects across all four until it has n
    /// values.
    static func select4(_ params: BenchParams) -> BenchReport {
        let n = params.n(or: 1_000_000)
        let channels = (0..<4).map { _ in Channel<Int>(capacity: 16) }
        let gate = Channel<Int>()
        for (i, channel) in channels.enumerated() {
            let first = splitStart(n, parts: 4, index: i)
            let count = splitSize(n, parts: 4, index: i)
            go {
                _ = gate.receive()
                for value in first..<(first + count) { channel.send(value) }
            }
        }

        var sum = 0
        var got = 0
        let start = nowNanos()
        gate.close()
        while got < n {
            sum += select {
                onReceive(channels[0]) { $0! }
                onReceive(channels[1]) { $0! }
                onReceive(channels[2]) { $0! }
                onReceive(channels[3]) { $0! }
            }
            got += 1
        }
        let elapsed = nowNanos() - start

        var report = BenchReport()
        report.setResult(sum, expected: gauss(n))
        report.set("ns_per_op", Double(elapsed) / Double(n))
        return report
    }
}
