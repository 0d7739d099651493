// The comparison: every selected benchmark, run by each implementation in
// turn (ours, Go, Swift; ours, Go, Swift; ...) so that drift in the machine's
// load spreads evenly over the three. Each run is a child process; its
// `result=` is checked against the expected checksum and a mismatch, crash or
// timeout is reported loudly and makes the whole command fail.

import Glibc

/// The three implementations compared.
enum Impl: String, CaseIterable, Sendable {
    case ours
    case go
    case swift

    var title: String {
        switch self {
        case .ours: "ours"
        case .go: "go"
        case .swift: "swift"
        }
    }
}

/// What the driver was asked to do.
struct DriverOptions {
    var runs = 5
    var quick = false
    var names: [String]?
    var impls = Impl.allCases
    var csvPath: String?
    var svgPath: String?
    var installGo = false
    var gobench: String?
    var timeoutSeconds: Double?
    var overrides = BenchParams()
    var allMetrics = false
}

/// Everything measured for one implementation of one benchmark.
struct ImplResults {
    /// Values of each reported key, one per successful run.
    var values: [String: [Double]] = [:]
    /// Keys in the order the runs reported them.
    var keys: [String] = []
    /// Runs that failed, each explained.
    var failures: [String] = []
    /// Why this implementation did not run at all.
    var skipped: String?
    var attempted = 0

    mutating func record(_ key: String, _ value: Double) {
        if values[key] == nil { keys.append(key) }
        values[key, default: []].append(value)
    }
}

/// One benchmark's results across implementations.
struct BenchResults {
    let bench: Benchmark
    let params: BenchParams
    var byImpl: [Impl: ImplResults] = [:]
}

struct Driver {
    let options: DriverOptions
    let selfPath = currentExecutablePath()
    var goBinary: String?

    /// The parameters a run of `bench` uses.
    func parameters(for bench: Benchmark) -> BenchParams {
        var params = options.quick ? bench.quick : BenchParams()
        if bench.defaultN != nil, let n = options.overrides.n { params.n = n }
        if let procs = options.overrides.gomaxprocs { params.gomaxprocs = procs }
        if let goroutines = options.overrides.goroutines { params.goroutines = goroutines }
        if let mib = options.overrides.mib { params.mib = mib }
        if let seconds = options.overrides.seconds { params.seconds = seconds }
        return params
    }

    /// Runs every selected benchmark, `options.runs` times per implementation.
    func run(_ benches: [Benchmark], goSkip: String?) -> [BenchResults] {
        var all: [BenchResults] = []
        for bench in benches {
            var results = BenchResults(bench: bench, params: parameters(for: bench))
            for impl in options.impls {
                var slot = ImplResults()
                slot.skipped = skipReason(impl, bench, goSkip: goSkip)
                results.byImpl[impl] = slot
            }
            for run in 1...options.runs {
                var progress: [String] = []
                for impl in options.impls where results.byImpl[impl]!.skipped == nil {
                    progress.append(runOnce(impl, &results, run: run))
                }
                note(
                    "[\(bench.name)] run \(run)/\(options.runs): "
                        + progress.joined(separator: ", "))
            }
            all.append(results)
        }
        return all
    }

    private func skipReason(_ impl: Impl, _ bench: Benchmark, goSkip: String?) -> String? {
        switch impl {
        case .ours: bench.ours == nil ? (bench.oursPending ?? "pending") : nil
        case .go: goBinary == nil ? "skipped: \(goSkip ?? "no go binary")" : nil
        case .swift: nil
        }
    }

    /// One child run; records its figures or its failure and returns a short
    /// progress phrase.
    private func runOnce(_ impl: Impl, _ results: inout BenchResults, run: Int) -> String {
        let bench = results.bench
        let args = results.params.arguments
        let timeout = options.timeoutSeconds ?? (options.quick ? 120 : 600)
        let outcome =
            switch impl {
            case .ours:
                runChild(selfPath, ["run-one", "ours", bench.name] + args, timeoutSeconds: timeout)
            case .swift:
                runChild(
                    selfPath, ["run-one", "swift", bench.name] + args, timeoutSeconds: timeout)
            case .go:
                runChild(goBinary!, [bench.goName] + args, timeoutSeconds: timeout)
            }

        var slot = results.byImpl[impl]!
        slot.attempted += 1
        defer { results.byImpl[impl] = slot }

        let report = BenchReport.parse(outcome.stdout.trimmedLine)
        let expected = bench.expected(results.params)
        let failure: String?
        if !outcome.succeeded {
            failure = outcome.failureSummary
        } else if let result = report.number("result").map({ Int($0) }) {
            failure =
                expected.accepts(result)
                ? nil : "result=\(result), expected \(expected.description)"
        } else {
            failure = "no result= in output: \(outcome.stdout.trimmedLine)"
        }
        if let failure {
            let message = "\(impl.title) \(bench.name) run \(run): \(failure)"
            slot.failures.append(message)
            note("!!! FAILED: \(message)")
            return "\(impl.title) FAILED"
        }

        for (key, value) in report.pairs {
            if let number = Double(value) { slot.record(key, number) }
        }
        if report.number("peak_rss_bytes") == nil {
            // Inflated by the harness's own size, but better than nothing.
            slot.record("peak_rss_bytes", Double(outcome.maxRSSBytes))
        }
        let headline = bench.metrics[0]
        let shown = report.number(headline.key).map { formatFigure($0) } ?? "?"
        return "\(impl.title) \(shown)"
    }
}
