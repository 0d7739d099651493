// What a single benchmark run takes and gives back.
//
// A run is described by `BenchParams`, the same flags the Go side accepts
// (`--n`, `--gomaxprocs`, `--goroutines`, `--mib`, `--seconds`). It answers
// with a `BenchReport`: ordered `key=value` pairs printed on one line, the
// calling convention of the Go binary, so the driver parses both alike.
// Every report carries `result=` (the checksum) and `ns_per_op=`.

/// Parameters of one run; nil means "the benchmark's default".
struct BenchParams: Sendable {
    var n: Int?
    var gomaxprocs: Int?
    var goroutines: Int?
    var mib: Int?
    var seconds: Double?

    /// `--n`, or `fallback` when it was not given.
    func n(or fallback: Int) -> Int { n ?? fallback }

    /// The flags that reproduce these parameters on a command line.
    var arguments: [String] {
        var args: [String] = []
        if let n { args += ["--n", String(n)] }
        if let gomaxprocs { args += ["--gomaxprocs", String(gomaxprocs)] }
        if let goroutines { args += ["--goroutines", String(goroutines)] }
        if let mib { args += ["--mib", String(mib)] }
        if let seconds { args += ["--seconds", String(seconds)] }
        return args
    }

    /// Parses `--flag value` or `--flag=value` pairs.
    static func parse(_ args: [String]) throws(UsageError) -> BenchParams {
        var params = BenchParams()
        var rest = args[...]
        while let flag = rest.popFirst() {
            var name = flag
            var value: String?
            if let eq = flag.firstIndex(of: "=") {
                name = String(flag[..<eq])
                value = String(flag[flag.index(after: eq)...])
            } else {
                value = rest.popFirst()
            }
            guard let value else { throw UsageError("\(flag) needs a value") }
            let number = Double(value)
            let whole = Int(value)
            let valid: Bool
            switch name {
            case "--n":
                params.n = whole
                valid = (whole ?? 0) > 0
            case "--gomaxprocs":
                params.gomaxprocs = whole
                valid = (whole ?? 0) > 0
            case "--goroutines":
                params.goroutines = whole
                valid = (whole ?? 0) > 0
            case "--mib":
                params.mib = whole
                valid = (whole ?? -1) >= 0
            case "--seconds":
                params.seconds = number
                valid = (number ?? 0) > 0
            default:
                throw UsageError("unknown flag \(name)")
            }
            if !valid { throw UsageError("bad value for \(name): \(value)") }
        }
        return params
    }
}

/// A malformed command line, explained.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// The outcome of one run: ordered key/value pairs, or a failure.
struct BenchReport: Sendable {
    private(set) var pairs: [(key: String, value: String)] = []
    /// Set when the run itself found it computed the wrong answer.
    var failure: String?

    mutating func set(_ key: String, _ value: Int) {
        pairs.append((key, String(value)))
    }

    mutating func set(_ key: String, _ value: Int64) {
        pairs.append((key, String(value)))
    }

    mutating func set(_ key: String, _ value: Double) {
        pairs.append((key, formatFixed(value, decimals: 3)))
    }

    /// Records `result`, and a failure if it differs from `expected`.
    mutating func setResult(_ result: Int, expected: Int, what: String = "checksum") {
        set("result", result)
        if result != expected { failure = "\(what) \(result), want \(expected)" }
    }

    /// The one-line `key=value ...` form.
    var line: String { pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }

    /// The value of `key` as a number, if present.
    func number(_ key: String) -> Double? {
        pairs.first { $0.key == key }.flatMap { Double($0.value) }
    }

    /// Parses a `key=value ...` line; tokens without `=` are ignored.
    static func parse(_ line: String) -> BenchReport {
        var report = BenchReport()
        for token in line.split(separator: " ") {
            guard let eq = token.firstIndex(of: "=") else { continue }
            report.pairs.append(
                (String(token[..<eq]), String(token[token.index(after: eq)...])))
        }
        return report
    }
}

/// `value` with exactly `decimals` digits after the point, without Foundation.
func formatFixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let whole = Int(scaled)
    let unit = Int(scale)
    var text = String(whole / unit)
    if decimals > 0 {
        let fraction = String(whole % unit)
        text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
    return (value < 0 && whole != 0 ? "-" : "") + text
}
