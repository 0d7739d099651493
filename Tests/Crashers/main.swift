// goroutines-crashers: programs that die on purpose, one subcommand per scenario.
//
// The tests run this executable as a child process and match its stderr text and exit
// status, because a fatal error ends the whole process. Each scenario lives in a
// Tests/Crashers/<Area>Crashers.swift file as a nonisolated function; add one `case`
// line per scenario below. An unknown or missing name prints the usage and exits 64.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

switch CommandLine.arguments.dropFirst().first {
case "select-send-on-closed": selectSendOnClosed()
case "select-send-parked-then-closed": selectSendParkedThenClosed()
case "select-no-cases": selectNoCases()
case "select-multiple-defaults": selectMultipleDefaults()
case "ticker-zero-period": tickerZeroPeriod()
default:
    let usage = "usage: goroutines-crashers <scenario>\n"
    _ = usage.withCString { write(2, $0, strlen($0)) }
    exit(64)
}
