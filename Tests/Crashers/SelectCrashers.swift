// Scenarios for select and the timers: misuse that Go makes fatal, and a
// select that can never proceed. Each runs as its own process; the tests match its stderr
// and exit status. A scenario that should have died but did not prints
// `survived` and exits 1.

import Goroutines

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

private func selectSurvived() -> Never {
    print("survived")
    fflush(nil)
    exit(1)
}

/// A send case whose channel is already closed when the select polls it.
func selectSendOnClosed() {
    Runtime.main {
        let channel = Channel<Int>(capacity: 1)
        let never = Channel<Int>()
        channel.close()
        select {
            onSend(channel, 1) {}
            onReceive(never) { _ in }
        }
        selectSurvived()
    }
}

/// A select parked on a send case whose channel is then closed.
func selectSendParkedThenClosed() {
    Runtime.main {
        let channel = Channel<Int>()
        let never = Channel<Int>()
        let parking = Channel<Bool>(capacity: 1)
        go {
            parking.send(true)
            select {
                onSend(channel, 1) {}
                onReceive(never) { _ in }
            }
            selectSurvived()
        }
        _ = parking.receive()
        // The goroutine is parked, or about to park; either way the close
        // must kill the process.
        sleep(for: .milliseconds(20))
        channel.close()
        sleep(for: .seconds(5))
        selectSurvived()
    }
}

/// `select()` with no cases, and a select on only nil channels, never return:
/// the runtime reports the deadlock and shows both wait reasons.
func selectNoCases() {
    Runtime.main {
        let started = Channel<Bool>()
        go {
            let none: Channel<Int>? = nil
            started.send(true)
            select {
                onReceive(none) { _ in }
            }
            selectSurvived()
        }
        _ = started.receive()
        select()
    }
}

/// Two `onDefault` cases in one select.
func selectMultipleDefaults() {
    let outcome = select {
        onDefault { 1 }
        onDefault { 2 }
    }
    print(outcome)
    selectSurvived()
}

/// A ticker needs a positive period.
func tickerZeroPeriod() {
    let ticker = Ticker(every: .zero)
    ticker.stop()
    selectSurvived()
}
