// The command line of goroutines-bench.
//
//   goroutines-bench [--runs N] [--quick] [--filter a,b] [--impl ours,go,swift]
//                    [--out FILE.csv] [--svg FILE.svg] [--install-go]
//                    [--gobench PATH] [--timeout S] [--all-metrics]
//                    [--n N] [--gomaxprocs P] [--goroutines G] [--mib M]
//                    [--seconds S]
//   goroutines-bench run-one <ours|swift> <name> [--n N] [--gomaxprocs P] ...
//   goroutines-bench list
//
// Without a subcommand it compares the three implementations and prints the
// table; see Benchmarks/README.md.

import Glibc

enum Harness {
    static func main(_ arguments: [String]) -> Never {
        let args = Array(arguments.dropFirst())
        switch args.first {
        case "run-one":
            RunOne.main(Array(args.dropFirst()))
        case "list":
            for bench in Catalog.all {
                print("\(pad(bench.name, 17)) \(bench.summary)")
            }
            exit(0)
        case "help", "-h", "--help":
            print(usage)
            exit(0)
        default:
            do {
                compare(try parseDriverOptions(args))
            } catch {
                note("goroutines-bench: \(error.message)")
                note(usage)
                exit(2)
            }
        }
    }

    static let usage = """
        usage: goroutines-bench [options]          compare ours, Go and Swift concurrency
               goroutines-bench run-one <ours|swift> <name> [--n N] [--gomaxprocs P] \
        [--goroutines G] [--mib M] [--seconds S]
               goroutines-bench list               the benchmarks
        options:
          --runs N          repetitions per implementation, interleaved (default 5)
          --quick           smaller sizes, under a minute in all
          --filter a,b      only these benchmarks
          --impl ours,go    only these implementations (ours, go, swift)
          --out FILE.csv    write a CSV, and an SVG chart next to it
          --svg FILE.svg    write the chart here
          --install-go      if go is missing and we are root, apt-get install golang-go
          --gobench PATH    use this prebuilt Go benchmark binary
          --timeout S       kill a run after S seconds (default 600, 120 with --quick)
          --all-metrics     tabulate every reported figure and peak RSS
          --n N, --gomaxprocs P, --goroutines G, --mib M, --seconds S
                            passed to every run (as the Go binary takes them)
        """

    static func parseDriverOptions(_ args: [String]) throws(UsageError) -> DriverOptions {
        var options = DriverOptions()
        var passThrough: [String] = []
        var rest = args[...]
        func value(_ flag: String) throws(UsageError) -> String {
            guard let next = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
            return next
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--runs":
                guard let runs = Int(try value(flag)), runs > 0 else {
                    throw UsageError("--runs needs a positive count")
                }
                options.runs = runs
            case "--quick": options.quick = true
            case "--filter": options.names = try value(flag).split(separator: ",").map(String.init)
            case "--impl":
                let names = try value(flag).split(separator: ",")
                let impls = names.compactMap { Impl(rawValue: String($0)) }
                guard impls.count == names.count, !impls.isEmpty else {
                    throw UsageError("--impl takes a list of ours, go, swift")
                }
                options.impls = Impl.allCases.filter { impls.contains($0) }
            case "--out": options.csvPath = try value(flag)
            case "--svg": options.svgPath = try value(flag)
            case "--install-go": options.installGo = true
            case "--gobench": options.gobench = try value(flag)
            case "--timeout":
                guard let seconds = Double(try value(flag)), seconds > 0 else {
                    throw UsageError("--timeout needs a positive number of seconds")
                }
                options.timeoutSeconds = seconds
            case "--all-metrics": options.allMetrics = true
            case "--n", "--gomaxprocs", "--goroutines", "--mib", "--seconds":
                passThrough += [flag, try value(flag)]
            default:
                throw UsageError("unknown option \(flag)")
            }
        }
        options.overrides = try BenchParams.parse(passThrough)
        if let names = options.names {
            let unknown = names.filter { Catalog.named($0) == nil }
            guard unknown.isEmpty else {
                throw UsageError("unknown benchmark(s): \(unknown.joined(separator: ", "))")
            }
        }
        return options
    }

    /// Runs the comparison and exits: 0 if every run gave the right answer,
    /// 1 otherwise.
    static func compare(_ options: DriverOptions) -> Never {
        let benches = Catalog.all.filter { options.names?.contains($0.name) ?? true }
        var machine = MachineInfo.current()

        var driver = Driver(options: options)
        var goSkip: String?
        if options.impls.contains(.go) {
            let go = GoSide.prepare(
                prebuilt: options.gobench, install: options.installGo, timeoutSeconds: 600)
            machine.goVersion = go.version
            driver.goBinary = go.binary
            goSkip = go.skipReason
            if let reason = go.skipReason { note("goroutines-bench: Go skipped: \(reason)") }
        }

        let sizes = options.quick ? "quick sizes" : "full sizes (as the Go side's defaults)"
        var header = machine.lines
        header.append(
            "runs:    \(options.runs) per implementation, interleaved; \(sizes); "
                + "each run a fresh process")
        for line in header { print(line) }
        print("")
        fflush(nil)

        let results = driver.run(benches, goSkip: goSkip)
        let rows = makeRows(results, impls: options.impls, everything: options.allMetrics)
        for line in renderTable(rows, impls: options.impls) { print(line) }
        let notes = footnotes(results, options: options, goSkip: goSkip)
        if !notes.isEmpty {
            print("")
            for line in notes { print(line) }
        }
        fflush(nil)

        var exitStatus: Int32 = 0
        if let csvPath = options.csvPath {
            let allRows = makeRows(results, impls: options.impls, everything: true)
            if let error = writeTextFile(csvPath, renderCSV(allRows, runs: options.runs)) {
                note("goroutines-bench: \(error)")
                exitStatus = 1
            } else {
                note("goroutines-bench: wrote \(csvPath)")
            }
        }
        if let svgPath = options.svgPath ?? options.csvPath.map(chartPath) {
            if let error = writeTextFile(svgPath, renderChart(rows, header: header)) {
                note("goroutines-bench: \(error)")
                exitStatus = 1
            } else {
                note("goroutines-bench: wrote the chart \(svgPath)")
            }
        }

        let failures = results.flatMap { result in
            options.impls.flatMap { result.byImpl[$0]?.failures ?? [] }
        }
        if !failures.isEmpty {
            note("")
            note("!!! \(failures.count) run(s) FAILED their checksum or did not finish:")
            for failure in failures { note("!!!   \(failure)") }
            exitStatus = 1
        }
        exit(exitStatus)
    }

    /// FILE.csv -> FILE.svg (or FILE.svg appended).
    static func chartPath(_ csvPath: String) -> String {
        csvPath.hasSuffix(".csv") ? String(csvPath.dropLast(4)) + ".svg" : csvPath + ".svg"
    }

    static func footnotes(
        _ results: [BenchResults], options: DriverOptions, goSkip: String?
    ) -> [String] {
        var lines: [String] = []
        let names = Set(results.map(\.bench.name))
        if names.contains("handoff-unmarked"), options.impls.contains(.go) {
            lines.append(
                "handoff-unmarked: Go marks every system call itself, so its column is a "
                    + "second sample of Go's handoff;")
            lines.append(
                "  Swift cannot mark a call as blocking, so both handoff rows run the same "
                    + "Swift code.")
        }
        for result in results {
            if let pending = result.byImpl[.ours]?.skipped, result.bench.ours == nil {
                lines.append("\(result.bench.name): ours \(pending)")
            }
        }
        if let goSkip { lines.append("go: skipped: \(goSkip)") }
        for result in results {
            for impl in options.impls {
                for failure in result.byImpl[impl]?.failures ?? [] {
                    lines.append("FAILED: \(failure)")
                }
            }
        }
        return lines
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
