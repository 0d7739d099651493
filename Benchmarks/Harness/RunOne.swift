// `goroutines-bench run-one <ours|swift> <name> [flags]`: runs one benchmark
// once, in this process, and prints its `key=value` line on stdout, exactly as
// the Go binary does. The driver runs every repetition as such a child, so
// runs cannot disturb each other and the child's peak memory is its own.
//
// This package's side runs on the main goroutine of `Runtime.main`; Swift
// concurrency's side runs in a detached task while the main thread waits.
// Exit status: 0 on success, 1 if the run computed a wrong answer, 2 on a
// usage error, 3 for a benchmark this package cannot run yet.

import Glibc
import Goroutines

enum RunOne {
    static func main(_ args: [String]) -> Never {
        guard args.count >= 2 else {
            failUsage("run-one needs an implementation (ours, swift) and a benchmark name")
        }
        guard let bench = Catalog.named(args[1]) else {
            failUsage("unknown benchmark \(args[1]); try `goroutines-bench list`")
        }
        let params: BenchParams
        do {
            params = try BenchParams.parse(Array(args.dropFirst(2)))
        } catch {
            failUsage(error.message)
        }

        switch args[0] {
        case "ours":
            guard let body = bench.ours else {
                note("goroutines-bench: \(bench.name): \(bench.oursPending ?? "not available")")
                exit(3)
            }
            runOurs(bench, body, params)
        case "swift":
            runSwift(bench, params)
        default:
            failUsage("unknown implementation \(args[0]); run-one takes ours or swift")
        }
    }

    private static func runOurs(
        _ bench: Benchmark, _ body: @escaping @Sendable (BenchParams) -> BenchReport,
        _ params: BenchParams
    ) -> Never {
        Runtime.main {
            if let procs = bench.fixedProcs ?? params.gomaxprocs {
                Runtime.setMaxProcs(procs)
            }
            var report = body(params)
            report.set("gomaxprocs", Runtime.maxProcs)
            finish(bench, report)
        }
    }

    private static func runSwift(_ bench: Benchmark, _ params: BenchParams) -> Never {
        let body = bench.swift
        Task.detached {
            var report = await body(params)
            report.set("cpus", Runtime.numCPU)
            finish(bench, report)
        }
        while true { pause() }
    }

    /// Prints the report (or the failure) and ends the process.
    private static func finish(_ bench: Benchmark, _ report: BenchReport) -> Never {
        var report = report
        if let peak = peakResidentBytes() { report.set("peak_rss_bytes", peak) }
        if let failure = report.failure {
            note("goroutines-bench \(bench.name): \(failure)")
            note(report.line)
            exit(1)
        }
        print(report.line)
        fflush(nil)
        exit(0)
    }

    static func failUsage(_ message: String) -> Never {
        note("goroutines-bench: \(message)")
        note(
            "usage: goroutines-bench run-one <ours|swift> <name> [--n N] [--gomaxprocs P] "
                + "[--goroutines G] [--mib M] [--seconds S]")
        exit(2)
    }
}
