// The benchmarks, by name: what each measures, its sizes, the checksum every
// run must reproduce, the figures the report tabulates, and the function that
// runs it on each side. Names, sizes and checksums match Benchmarks/go.

import Goroutines

/// Whether a smaller or a larger figure is the better one.
enum Better: String, Sendable {
    case lower
    case higher
    /// A descriptive figure, such as a thread count.
    case neither
}

/// A figure a benchmark reports, by its key in the `key=value` line.
struct Metric: Sendable {
    let key: String
    /// The unit, as shown in the table.
    let unit: String
    var better = Better.lower
}

/// The answer a run must give.
enum Checksum: Sendable {
    case exactly(Int)
    case positive

    func accepts(_ result: Int) -> Bool {
        switch self {
        case .exactly(let expected): result == expected
        case .positive: result > 0
        }
    }

    var description: String {
        switch self {
        case .exactly(let expected): String(expected)
        case .positive: "a positive count"
        }
    }
}

/// One benchmark and its three implementations.
struct Benchmark: Sendable {
    let name: String
    /// The benchmark the Go binary runs for this one.
    let goName: String
    let summary: String
    /// `--n` when none is given.
    let defaultN: Int?
    /// The sizes `--quick` uses.
    let quick: BenchParams
    /// GOMAXPROCS the benchmark is defined with, whatever is asked.
    let fixedProcs: Int?
    /// The figures to tabulate; the first is the headline.
    let metrics: [Metric]
    let checksum: @Sendable (_ n: Int) -> Checksum
    /// This package's implementation; runs on the main goroutine.
    let ours: (@Sendable (BenchParams) -> BenchReport)?
    /// Why `ours` is missing.
    let oursPending: String?
    /// Swift concurrency's implementation.
    let swift: @Sendable (BenchParams) async -> BenchReport

    /// The checksum for a run with `params`.
    func expected(_ params: BenchParams) -> Checksum { checksum(params.n ?? defaultN ?? 0) }
}

enum Catalog {
    static let all: [Benchmark] = scheduling + channels + system

    static func named(_ name: String) -> Benchmark? { all.first { $0.name == name } }

    static let million = 1_000_000
    static let quickN = BenchParams(n: 100_000)
    static let perOp = "ns/op"

    static let scheduling: [Benchmark] = [
        Benchmark(
            name: "skynet", goName: "skynet",
            summary: "10-ary tree of goroutines with n leaves; each node sums its children",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [Metric(key: "ms", unit: "ms total")],
            checksum: { .exactly($0 * ($0 - 1) / 2) },
            ours: OursScheduling.skynet, oursPending: nil, swift: SwiftScheduling.skynet),
        Benchmark(
            name: "pingpong", goName: "pingpong",
            summary: "round trips of a value over two unbuffered channels",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [Metric(key: "ns_per_op", unit: "ns/round trip")],
            checksum: { .exactly($0) },
            ours: OursScheduling.pingpong, oursPending: nil, swift: SwiftScheduling.pingpong),
        Benchmark(
            name: "spawn", goName: "spawn",
            summary: "start n goroutines that bump a counter and leave a WaitGroup",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [Metric(key: "ns_per_op", unit: "ns/goroutine")],
            checksum: { .exactly($0) },
            ours: OursScheduling.spawn, oursPending: nil, swift: SwiftScheduling.spawn),
        Benchmark(
            name: "spawn-bare", goName: "spawn",
            summary: "spawn, with bodies that capture nothing (Go's side is spawn itself)",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [Metric(key: "ns_per_op", unit: "ns/goroutine")],
            checksum: { .exactly($0) },
            ours: OursScheduling.spawnBare, oursPending: nil, swift: SwiftScheduling.spawnBare),
        Benchmark(
            name: "yield", goName: "yield",
            summary: "GOMAXPROCS=1; two goroutines yield to each other n times each",
            defaultN: million, quick: quickN, fixedProcs: 1,
            metrics: [Metric(key: "ns_per_op", unit: "ns/yield")],
            checksum: { .exactly(2 * $0) },
            ours: OursScheduling.yield, oursPending: nil, swift: SwiftScheduling.yield),
    ]

    static let channels: [Benchmark] = [
        Benchmark(
            name: "chan-spsc", goName: "chan-spsc",
            summary: "one producer, one consumer, channel of capacity 128",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [Metric(key: "ns_per_op", unit: "ns/message")],
            checksum: { .exactly(gauss($0)) },
            ours: OursChannels.chanSPSC, oursPending: nil, swift: SwiftChannels.chanSPSC),
        Benchmark(
            name: "chan-mpmc", goName: "chan-mpmc",
            summary: "four producers, four consumers, one channel of capacity 128",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [Metric(key: "ns_per_op", unit: "ns/message")],
            checksum: { .exactly(gauss($0)) },
            ours: OursChannels.chanMPMC, oursPending: nil, swift: SwiftChannels.chanMPMC),
        Benchmark(
            name: "select4", goName: "select4",
            summary: "one consumer selects over four channels of capacity 16",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [Metric(key: "ns_per_op", unit: "ns/message")],
            checksum: { .exactly(gauss($0)) },
            ours: OursSelect.select4, oursPending: nil,
            swift: SwiftChannels.select4),
        Benchmark(
            name: "mutex", goName: "mutex",
            summary: "eight goroutines share n lock/increment/unlock steps",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [Metric(key: "ns_per_op", unit: "ns/lock")],
            checksum: { .exactly($0) },
            ours: OursChannels.mutex, oursPending: nil, swift: SwiftChannels.mutex),
    ]

    static let handoffMetrics = [
        Metric(key: "p50_ns", unit: "ns p50 latency"),
        Metric(key: "p99_ns", unit: "ns p99 latency"),
    ]

    static let system: [Benchmark] = [
        Benchmark(
            name: "parked", goName: "parked",
            summary: "resident memory per goroutine parked on a channel receive",
            defaultN: million, quick: quickN, fixedProcs: nil,
            metrics: [
                Metric(key: "rss_per_g_bytes", unit: "bytes/goroutine"),
                Metric(key: "spawn_ns", unit: "ns/goroutine to park"),
            ],
            checksum: { .exactly($0) },
            ours: OursSystem.parked, oursPending: nil, swift: SwiftSystem.parked),
        Benchmark(
            name: "handoff", goName: "handoff",
            summary: "GOMAXPROCS=1; spawn-to-run latency while a goroutine sits in "
                + "blocking { nanosleep(50 ms) }",
            defaultN: 200, quick: BenchParams(n: 100), fixedProcs: 1,
            metrics: handoffMetrics,
            checksum: { .exactly($0) },
            ours: { OursSystem.handoff($0, marked: true) }, oursPending: nil,
            swift: SwiftSystem.handoff),
        Benchmark(
            name: "handoff-unmarked", goName: "handoff",
            summary: "as handoff, with a bare nanosleep the runtime must detect itself",
            defaultN: 200, quick: BenchParams(n: 100), fixedProcs: 1,
            metrics: handoffMetrics,
            checksum: { .exactly($0) },
            ours: { OursSystem.handoff($0, marked: false) }, oursPending: nil,
            swift: SwiftSystem.handoff),
        Benchmark(
            name: "seed-threads", goName: "seed-threads",
            summary: "GOMAXPROCS=2; peak OS threads while 200 goroutines rewrite 8 MiB files",
            defaultN: nil, quick: BenchParams(goroutines: 200, mib: 1, seconds: 1),
            fixedProcs: 2,
            metrics: [
                Metric(key: "peak_threads", unit: "threads at peak", better: .neither),
                Metric(key: "mib_per_s", unit: "MiB/s written", better: .higher),
            ],
            checksum: { _ in .positive },
            ours: OursSystem.seedThreads, oursPending: nil, swift: SwiftSystem.seedThreads),
    ]
}
