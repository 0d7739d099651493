// Output for the demo: report lines on stdout, errors on stderr, and the
// live thread-count line. On a terminal the live line is redrawn in place
// with a carriage return; elsewhere (a pipe, a CI log) it becomes a plain
// line now and then. Every write goes through the library's File, so even
// a slow terminal holds only the writing goroutine's thread.

import Glibc
import Goroutines
import Synchronization

enum Console {
    /// Whether stdout is a terminal, where the live line is redrawn.
    static let isTerminal = isatty(1) == 1
    /// Whether a live line is on screen and must be cleared before the next.
    private static let liveShown = Atomic<Bool>(false)

    /// Prints `line` on stdout, clearing the live line first if one shows.
    static func say(_ line: String = "") {
        clearLive()
        try? File.standardOutput.write(line + "\n")
    }

    /// Prints `line` on stderr.
    static func complain(_ line: String) {
        clearLive()
        try? File.standardError.write(line + "\n")
    }

    /// Shows `text` as the live line: redrawn in place on a terminal.
    static func live(_ text: String) {
        if isTerminal {
            try? File.standardOutput.write("\r\u{1B}[K" + text)
            liveShown.store(true, ordering: .relaxed)
        } else {
            try? File.standardOutput.write(text + "\n")
        }
    }

    /// Erases the live line, if one shows.
    static func clearLive() {
        if liveShown.exchange(false, ordering: .relaxed) {
            try? File.standardOutput.write("\r\u{1B}[K")
        }
    }
}

/// Formatting helpers for the report.
enum Format {
    /// `bytes` as B, KiB, MiB or GiB with one decimal.
    static func bytes(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = bytes
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : "\(fixed(value, 1)) \(units[unit])"
    }

    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value * scale).rounded()
        let whole = Int(scaled / scale)
        if digits == 0 { return String(whole) }
        let fraction = Int(abs(scaled) - Double(abs(whole)) * scale)
        var digitsText = String(fraction)
        while digitsText.count < digits { digitsText = "0" + digitsText }
        let sign = scaled < 0 && whole == 0 ? "-" : ""
        return "\(sign)\(whole).\(digitsText)"
    }

    /// Seconds since `start`, as a Double.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
