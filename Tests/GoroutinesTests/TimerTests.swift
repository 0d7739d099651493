// after, Timer and Ticker: values arrive no earlier than their deadlines and
// in deadline order; stop and reset leave no stale value behind, even when
// they race with the timer firing; tickers drop ticks for slow receivers.
//
// Durations are milliseconds, so the assertions are about order and about
// lower bounds (a timer never fires early), never about promptness except
// through generous liveness bounds.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

extension RuntimeCoreTests {
    @Suite struct TimerTests {
        // MARK: after

        @Test func afterDeliversOnceNoEarlierThanItsDuration() {
            let start = ContinuousClock.now
            let channel = after(.milliseconds(20))
            let fired = channel.receive()
            #expect(fired != nil)
            if let fired { #expect(fired - start >= .milliseconds(20)) }
            // Nothing more comes: a later timer wins the race.
            let again = select {
                onReceive(channel) { _ in true }
                onReceive(after(.milliseconds(60))) { _ in false }
            }
            #expect(!again)
        }

        @Test func afterWorksAsASelectTimeoutOnAPlainThread() {
            let never = Channel<Int>()
            let timedOut = LockedBox(false)
            let finished = runOnPlainThread(within: .seconds(10)) {
                let outcome = select {
                    onReceive(never) { _ in false }
                    onReceive(after(.milliseconds(10))) { _ in true }
                }
                timedOut.update { $0 = outcome }
            }
            #expect(finished)
            #expect(timedOut.value)
        }

        /// Timers created in a shuffled order fire in the order of their
        /// deadlines: the instants they deliver increase with the deadline.
        /// Deadlines are 5 ms apart and measured from one start instant, so
        /// the time spent creating the timers cannot reorder them.
        @Test(arguments: [1, 2])
        func timersFireInDeadlineOrder(procs: Int) {
            let count = 30
            let offsets = (1...count).map { Duration.milliseconds(5 * $0) }.shuffled()
            let start = ContinuousClock.now
            let timers = offsets.map { Goroutines.Timer(after: start + $0 - ContinuousClock.now) }
            let fired = LockedBox<[(offset: Duration, at: ContinuousClock.Instant)]>([])
            let group = WaitGroup()
            underMaxProcs(procs) {
                group.add(count)
                for (offset, timer) in zip(offsets, timers) {
                    go {
                        defer { group.done() }
                        if let at = timer.channel.receive() {
                            fired.update { $0.append((offset, at)) }
                        }
                    }
                }
                #expect(groupFinishes(group, within: .seconds(20)))
            }
            let byDeadline = fired.value.sorted { $0.offset < $1.offset }
            #expect(byDeadline.count == count)
            for (earlier, later) in zip(byDeadline, byDeadline.dropFirst()) {
                #expect(earlier.at <= later.at, "\(earlier.offset) fired after \(later.offset)")
            }
            for entry in byDeadline { #expect(entry.at - start >= entry.offset) }
        }

        // MARK: Timer stop and reset

        /// 10^5 pending timers: half are stopped, the rest all fire, a
        /// channel ping-pong keeps running meanwhile, and none is left in the
        /// heap afterwards. Deadlines leave half a second for creating them.
        @Test(arguments: [1, 2])
        func aHundredThousandPendingTimers(procs: Int) {
            let count = 100_000
            underMaxProcs(procs) {
                let before = TimerQueue.shared.pendingCount
                let timers = (0..<count).map {
                    Goroutines.Timer(after: .milliseconds(500 + $0 % 100))
                }
                #expect(TimerQueue.shared.pendingCount >= before + count)
                var stopped = 0
                for i in stride(from: 0, to: count, by: 2) where timers[i].stop() { stopped += 1 }
                #expect(stopped == count / 2)

                let ping = Channel<Int>()
                let pong = Channel<Int>()
                let rounds = 10_000
                go {
                    for value in ping { pong.send(value + 1) }
                }
                var total = 0
                for i in 0..<rounds {
                    ping.send(i)
                    total += pong.receive()!
                }
                ping.close()
                #expect(total == rounds * (rounds + 1) / 2)

                var fired = 0
                for i in stride(from: 1, to: count, by: 2) where timers[i].channel.receive() != nil
                {
                    fired += 1
                }
                #expect(fired == count / 2)
                let late = select {
                    onReceive(timers[0].channel) { _ in true }
                    onDefault { false }
                }
                #expect(!late)
                #expect(TimerQueue.shared.pendingCount <= before)
            }
        }

        @Test func stopBeforeFiringPreventsTheValue() {
            let timer = Goroutines.Timer(after: .milliseconds(20))
            #expect(timer.stop())
            #expect(!timer.stop())
            let fired = select {
                onReceive(timer.channel) { _ in true }
                onReceive(after(.milliseconds(60))) { _ in false }
            }
            #expect(!fired)
        }

        @Test func stopAfterTheValueWasReceivedReturnsFalse() {
            let timer = Goroutines.Timer(after: .milliseconds(1))
            #expect(timer.channel.receive() != nil)
            #expect(!timer.stop())
            #expect(!timer.reset(after: .milliseconds(1)))
            #expect(timer.channel.receive() != nil)
        }

        @Test func stopDiscardsAFiredButUnreceivedValue() {
            let timer = Goroutines.Timer(after: .milliseconds(1))
            #expect(holdsEventually(within: .seconds(10)) { timer.channel.count == 1 })
            #expect(timer.stop())
            #expect(timer.channel.count == 0)
            #expect(!timer.stop())
        }

        @Test func resetMovesTheDeadline() {
            let timer = Goroutines.Timer(after: .milliseconds(5))
            let resetAt = ContinuousClock.now
            #expect(timer.reset(after: .milliseconds(40)))
            let fired = timer.channel.receive()
            #expect(fired != nil)
            if let fired { #expect(fired - resetAt >= .milliseconds(40)) }
            #expect(timer.channel.count == 0)
        }

        /// With nobody receiving, the first stop always finds the value still
        /// to come (pending or buffered), and afterwards nothing arrives,
        /// however close to the deadline the stop lands.
        @Test(arguments: [1, 2])
        func stopRacingTheTimerNeverLeavesAStaleValue(procs: Int) {
            let rounds = 400
            var stale = 0
            var missed = 0
            underMaxProcs(procs) {
                var timers: [Goroutines.Timer] = []
                for round in 0..<rounds {
                    let timer = Goroutines.Timer(after: .microseconds(round % 50))
                    if round % 3 == 0 { Runtime.yield() }
                    if !timer.stop() { missed += 1 }
                    if timer.channel.count != 0 { stale += 1 }
                    timers.append(timer)
                }
                // Any value a stopped timer still delivered would show now.
                sleep(for: .milliseconds(5))
                stale += timers.filter { $0.channel.count != 0 }.count
            }
            #expect(missed == 0)
            #expect(stale == 0)
        }

        /// A receiver and a stop race for a timer's one value: exactly one of
        /// them gets it. Stop returns true if and only if the receiver did not.
        @Test(arguments: [1, 2])
        func stopAndAReceiverNeverBothWin(procs: Int) {
            let rounds = 400
            var bothOrNeither = 0
            underMaxProcs(procs) {
                for round in 0..<rounds {
                    let timer = Goroutines.Timer(after: .microseconds(round % 40))
                    let quit = Channel<Void>()
                    let got = Channel<Bool>(capacity: 1)
                    go {
                        got.send(
                            select {
                                onReceive(timer.channel) { _ in true }
                                onReceive(quit) { _ in false }
                            })
                    }
                    if round % 2 == 0 { Runtime.yield() }
                    let stopped = timer.stop()
                    quit.close()
                    let received = got.receive() ?? false
                    if stopped == received { bothOrNeither += 1 }
                }
            }
            #expect(bothOrNeither == 0)
        }

        /// After reset returns, exactly one value comes from the new arming,
        /// plus one from the old arming only if reset reported it could not
        /// prevent it (because it had been received already).
        @Test(arguments: [1, 2])
        func resetRacingTheTimerDeliversExactlyTheNewValue(procs: Int) {
            let rounds = 200
            var wrong = 0
            underMaxProcs(procs) {
                for round in 0..<rounds {
                    let timer = Goroutines.Timer(after: .microseconds(round % 30))
                    let received = AtomicTally()
                    let quit = Channel<Void>()
                    let group = WaitGroup()
                    group.add(1)
                    go {
                        defer { group.done() }
                        while select({
                            onReceive(timer.channel) { _ in true }
                            onReceive(quit) { _ in false }
                        }) {
                            received.add()
                        }
                    }
                    if round % 2 == 0 { Runtime.yield() }
                    let prevented = timer.reset(after: .microseconds(100))
                    let expected = prevented ? 1 : 2
                    if !holdsEventually(within: .seconds(10), { received.value >= expected }) {
                        wrong += 1
                    }
                    // Both armings are spent: nothing is pending or buffered.
                    if timer.stop() { wrong += 1 }
                    quit.close()
                    if !groupFinishes(group) { wrong += 1 }
                    if received.value != expected { wrong += 1 }
                }
            }
            #expect(wrong == 0)
        }

        // MARK: Ticker

        /// The n-th tick comes no earlier than n periods after the start:
        /// ticks follow a fixed grid and never bunch up.
        @Test func ticksFollowTheirGrid() {
            let period = Duration.milliseconds(3)
            let start = ContinuousClock.now
            let ticker = Ticker(every: period)
            defer { ticker.stop() }
            for n in 1...10 {
                let tick = ticker.channel.receive()
                #expect(tick != nil)
                if let tick { #expect(tick - start >= period * n) }
            }
        }

        /// A receiver slower than the period finds only the oldest undelivered
        /// tick waiting, never a queue of them; meanwhile a second ticker's
        /// prompt receiver keeps getting its ticks, so the dropped sends did
        /// not hold up the timer thread.
        @Test func aSlowReceiverMissesTicks() {
            let period = Duration.milliseconds(2)
            let slow = Ticker(every: period)
            let fast = Ticker(every: period)
            defer {
                slow.stop()
                fast.stop()
            }
            let start = ContinuousClock.now
            var fastTicks = 0
            while fastTicks < 25 {
                if fast.channel.receive() != nil { fastTicks += 1 }
            }
            let waited = ContinuousClock.now - start
            #expect(slow.channel.count == 1)
            let oldest = slow.channel.receive()
            #expect(oldest != nil)
            // The buffered tick is the first one, from about one period
            // after the start; the many ticks since then were dropped.
            if let oldest { #expect(oldest - start < waited - period * 5) }
        }

        @Test func stopEndsTheTicksAndDiscardsAWaitingOne() {
            let ticker = Ticker(every: .milliseconds(1))
            #expect(holdsEventually(within: .seconds(10)) { ticker.channel.count == 1 })
            ticker.stop()
            #expect(ticker.channel.count == 0)
            let ticked = select {
                onReceive(ticker.channel) { _ in true }
                onReceive(after(.milliseconds(20))) { _ in false }
            }
            #expect(!ticked)
        }

        @Test func resetChangesThePeriod() {
            let ticker = Ticker(every: .milliseconds(1))
            defer { ticker.stop() }
            #expect(ticker.channel.receive() != nil)
            let resetAt = ContinuousClock.now
            ticker.reset(every: .milliseconds(15))
            for n in 1...3 {
                let tick = ticker.channel.receive()
                #expect(tick != nil)
                if let tick { #expect(tick - resetAt >= .milliseconds(15) * n) }
            }
        }

        @Test func aNonPositiveTickerPeriodIsFatal() throws {
            let result = try ChildProcess.run(["ticker-zero-period"])
            #expect(result.signaled && [SIGILL, SIGTRAP].contains(result.status), "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
            #expect(result.stderr.contains("non-positive interval for Ticker"), "\(result)")
        }
    }
}
