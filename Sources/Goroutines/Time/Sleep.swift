// sleep(for:): park the goroutine on a runtime timer.

/// Pauses the calling goroutine for `duration` without blocking its thread:
/// the goroutine parks on a runtime timer and its thread runs others
/// meanwhile. On a plain thread, the thread sleeps. A zero or negative
/// duration returns at once, as in Go.
///
/// ```swift
/// go {
///     sleep(for: .milliseconds(10))
///     print("ten milliseconds later")
/// }
/// ```
public func sleep(for duration: Duration) {
    let nanos = duration.nanosecondsClamped
    if nanos <= 0 { return }
    sleepNanos(nanos)
}

extension Duration {
    /// Whole nanoseconds, clamped to a century either way.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let century: Int64 = 100 * 365 * 24 * 3600
        if seconds >= century { return century * 1_000_000_000 }
        if seconds <= -century { return -century * 1_000_000_000 }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
