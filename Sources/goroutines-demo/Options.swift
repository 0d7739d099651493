// Command-line parsing for goroutines-demo, by hand: an optional experiment
// name, then flags written `--flag value` or `--flag=value`. Anything
// unknown or malformed is a usage error (exit status 64, EX_USAGE), and so
// is a --dir that is not a writable directory.

import Glibc

/// The demo's subcommands.
enum Experiment: String, CaseIterable, Sendable {
    case quickWrites = "quick-writes"
    case blockingWrites = "blocking-writes"
    case foundationWrites = "foundation-writes"
    case threadLimit = "thread-limit"
    case lockOSThread = "lock-os-thread"
    case skynet
    case deadlock

    /// The experiments of the default run, in order.
    static let seedRun: [Experiment] = [
        .quickWrites, .blockingWrites, .foundationWrites, .threadLimit, .lockOSThread,
    ]
}

/// Parsed flags. `nil` means "the experiment's own default".
struct Options: Sendable {
    /// The subcommand; nil runs the seed's experiments one after another.
    var experiment: Experiment?
    var goroutines: Int?
    var gomaxprocs: Int?
    var mib = 8
    var seconds = 3.0
    var dir: String?
    var limit = 10
    /// thread-limit: be the child that dies at the limit.
    var child = false
    /// Also append each summary line to this file (the default run's
    /// children report to their parent this way).
    var summaryFile: String?
    var help = false

    /// GOMAXPROCS for an experiment whose own default is `fallback`:
    /// --gomaxprocs, else the GOMAXPROCS variable when the runtime would take
    /// it (a positive whole number), else `fallback`.
    func maxProcs(default fallback: Int) -> Int {
        gomaxprocs ?? Self.environmentMaxProcs ?? fallback
    }

    /// The GOMAXPROCS variable, read as the runtime reads it at start-up.
    static var environmentMaxProcs: Int? {
        guard let raw = getenv("GOMAXPROCS") else { return nil }
        let words = String(cString: raw).split(whereSeparator: \.isWhitespace)
        guard words.count == 1, let n = Int(words[0]), n > 0 else { return nil }
        return min(n, 1024)
    }
}

/// A usage error: what was wrong with the command line.
struct UsageError: Error {
    let message: String
}

enum CommandLineParser {
    static let usage = """
        usage: goroutines-demo [experiment] [flags]

        With no experiment, runs the seed's five experiments one after another, each
        in a child process of its own, and ends with one summary line per experiment.

        experiments:
          quick-writes       goroutines write a 16-byte file in a loop (marked file calls)
          blocking-writes    goroutines write a --mib MiB file in a loop (marked file calls)
          foundation-writes  the same through Foundation's Data.write(to:) (unmarked)
          thread-limit       a child with Runtime.maxThreads = --limit wires --goroutines
                             goroutines to threads and must die at the limit
          lock-os-thread     goroutines wire themselves to threads and check they stay
          skynet             a 10-ary tree of --goroutines goroutines (default 1000000)
          deadlock           the main goroutine waits on a channel nobody sends on

        flags:
          --goroutines N   writers (default 200), wired goroutines (lock-os-thread:
                           default 16; thread-limit: default 100, and more than
                           --limit), or skynet leaves (a power of 10); the default
                           run passes it to the writers and lock-os-thread
          --gomaxprocs N   processors (default $GOMAXPROCS when it is a positive whole
                           number, else 2; skynet: $GOMAXPROCS or the CPU count)
          --mib N          file size in MiB for the 8-MiB writers (default 8; 128 is
                           the seed's size)
          --seconds S      how long each write experiment runs (default 3)
          --dir PATH       where the temporary directory goes (default $TMPDIR, else
                           /tmp; quick-writes takes /dev/shm first when it is a
                           tmpfs)
          --limit N        thread-limit: the thread limit (default 10)
          --child          thread-limit: run as the child that exceeds the limit
          -h, --help       show this text

        """

    /// The flags that take a value.
    static let valuedFlags: Set = [
        "goroutines", "gomaxprocs", "mib", "seconds", "dir", "limit", "summary-file",
    ]

    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var options = Options()
        var rest = arguments[...]
        if let first = rest.first, !first.hasPrefix("-") {
            guard let experiment = Experiment(rawValue: first) else {
                throw UsageError(message: "unknown experiment '\(first)'")
            }
            options.experiment = experiment
            rest = rest.dropFirst()
        }

        while let argument = rest.popFirst() {
            if argument == "-h" || argument == "--help" {
                options.help = true
                continue
            }
            guard argument.hasPrefix("--") else {
                throw UsageError(message: "unexpected argument '\(argument)'")
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String? = nil
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard name == "child" || valuedFlags.contains(name) else {
                throw UsageError(message: "unknown flag '--\(name)'")
            }
            if name == "child" {
                if inlineValue != nil { throw UsageError(message: "--child takes no value") }
                options.child = true
                continue
            }
            guard let value = inlineValue ?? rest.popFirst() else {
                throw UsageError(message: "--\(name) needs a value")
            }
            switch name {
            case "goroutines":
                options.goroutines = try integer(value, flag: name, in: 1...10_000_000)
            case "gomaxprocs":
                options.gomaxprocs = try integer(value, flag: name, in: 1...1024)
            case "mib":
                options.mib = try integer(value, flag: name, in: 1...65_536)
            case "seconds":
                guard let seconds = Double(value), seconds > 0, seconds <= 3600 else {
                    throw UsageError(
                        message: "--seconds wants a number in (0, 3600], not '\(value)'")
                }
                options.seconds = seconds
            case "dir":
                if value.isEmpty { throw UsageError(message: "--dir wants a path") }
                options.dir = value
            case "limit":
                options.limit = try integer(value, flag: name, in: 1...100_000)
            case "summary-file":
                options.summaryFile = value
            default:
                throw UsageError(message: "unknown flag '--\(name)'")
            }
        }

        if options.child && options.experiment != .threadLimit {
            throw UsageError(message: "--child goes only with thread-limit")
        }
        if options.experiment == .skynet, let leaves = options.goroutines,
            !isPowerOfTen(leaves) || leaves < 10
        {
            throw UsageError(message: "skynet wants --goroutines to be a power of 10 (10 or more)")
        }
        try checkThreadLimit(options)
        if let dir = options.dir { try checkDirectory(dir) }
        return options
    }

    /// thread-limit needs more wired goroutines than threads allowed, or
    /// its child never reaches the limit. The default run gives its
    /// thread-limit no --goroutines, so there only --limit can be wrong.
    private static func checkThreadLimit(_ options: Options) throws(UsageError) {
        let wired: Int
        switch options.experiment {
        case .threadLimit: wired = options.goroutines ?? ThreadLimit.defaultGoroutines
        case nil: wired = ThreadLimit.defaultGoroutines
        default: return
        }
        if wired > options.limit { return }
        let cannot = "cannot exceed a \(options.limit)-thread limit"
        if options.experiment == nil {
            throw UsageError(
                message: "the default run's thread-limit wires \(wired) goroutines, which "
                    + "\(cannot); give a --limit below \(wired)")
        }
        throw UsageError(
            message: "thread-limit wants --goroutines above --limit: \(wired) goroutines \(cannot)")
    }

    /// --dir must name a directory this process can make entries in. Runs
    /// before the runtime starts, so plain system calls do.
    private static func checkDirectory(_ path: String) throws(UsageError) {
        var info = stat()
        if stat(path, &info) != 0 {
            let reason = errno == ENOENT ? "no such directory" : String(cString: strerror(errno))
            throw UsageError(message: "--dir \(path): \(reason)")
        }
        if UInt32(info.st_mode) & UInt32(S_IFMT) != UInt32(S_IFDIR) {
            throw UsageError(message: "--dir \(path): not a directory")
        }
        if access(path, W_OK | X_OK) != 0 {
            let reason = String(cString: strerror(errno))
            throw UsageError(message: "--dir \(path): not writable (\(reason))")
        }
    }

    private static func integer(
        _ text: String, flag: String, in range: ClosedRange<Int>
    ) throws(UsageError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            let bounds = "\(range.lowerBound)...\(range.upperBound)"
            throw UsageError(message: "--\(flag) wants a whole number in \(bounds), not '\(text)'")
        }
        return value
    }

    private static func isPowerOfTen(_ n: Int) -> Bool {
        var n = n
        while n > 1 && n % 10 == 0 { n /= 10 }
        return n == 1
    }
}
