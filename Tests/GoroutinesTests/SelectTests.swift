// select: ready cases, the default case, nil and closed channels, parking
// on several channels and being woken by each kind of waker, plain threads,
// the result builder's control flow, fairness, and the fatal paths.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

extension RuntimeCoreTests {
    @Suite struct SelectTests {
        // MARK: Ready cases and the default case

        @Test func aReadyReceiveIsTakenAndItsValueReturned() {
            let numbers = Channel<Int>(capacity: 1)
            let words = Channel<String>(capacity: 1)
            numbers.send(7)
            let got: String = select {
                onReceive(numbers) { "number \($0!)" }
                onReceive(words) { "word \($0!)" }
            }
            #expect(got == "number 7")
            #expect(numbers.count == 0)
        }

        @Test func aReadySendDeliversItsValue() {
            let out = Channel<Int>(capacity: 1)
            let blocked = Channel<Int>()
            let which = select {
                onSend(out, 42) { 1 }
                onReceive(blocked) { _ in 2 }
            }
            #expect(which == 1)
            #expect(out.receive() == 42)
        }

        @Test func defaultRunsOnlyWhenNothingIsReady() {
            let channel = Channel<Int>(capacity: 2)
            let empty = select {
                onReceive(channel) { _ in false }
                onDefault { true }
            }
            #expect(empty)

            var sent = 0
            while select({
                onSend(channel, sent) { true }
                onDefault { false }
            }) {
                sent += 1
                #expect(sent <= channel.capacity)
            }
            #expect(sent == 2)
            #expect(channel.count == 2)

            var received: [Int] = []
            while let value = select({
                onReceive(channel) { $0 }
                onDefault { nil }
            }) {
                received.append(value)
            }
            #expect(received == [0, 1])
        }

        @Test func anUnbufferedSendWithNoReceiverTakesTheDefault() {
            let channel = Channel<Int>()
            for _ in 0..<100 {
                let sent = select {
                    onSend(channel, 1) { true }
                    onDefault { false }
                }
                #expect(!sent)
            }
        }

        @Test func onlyDefaultRunsTheDefault() {
            #expect(select { onDefault { 5 } } == 5)
        }

        // MARK: Nil and closed channels

        @Test func aNilChannelIsNeverReady() {
            let none: Channel<Int>? = nil
            let ready = Channel<Int>(capacity: 1)
            for round in 0..<200 {
                ready.send(round)
                let got = select {
                    onReceive(none) { _ in -1 }
                    onSend(none, 9) { -2 }
                    onReceive(ready) { $0! }
                }
                #expect(got == round)
            }
            let fellThrough = select {
                onReceive(none) { _ in false }
                onSend(none, 1) { false }
                onDefault { true }
            }
            #expect(fellThrough)
        }

        @Test func aClosedChannelIsReadyAndDrainsBeforeNil() {
            let channel = Channel<Int>(capacity: 3)
            channel.send(1)
            channel.send(2)
            channel.close()
            let never = Channel<Int>()
            var got: [Int?] = []
            for _ in 0..<4 {
                got.append(
                    select {
                        onReceive(channel) { $0 }
                        onReceive(never) { _ in -1 }
                        onDefault { -2 }
                    })
            }
            #expect(got == [1, 2, nil, nil])
        }

        // MARK: Parking and waking

        @Test(arguments: selectProcs)
        func aParkedSelectIsWokenBySendOnAnyOfItsChannels(procs: Int) {
            let rounds = 2_000
            let channels = (0..<3).map { _ in Channel<Int>() }
            let wrong = AtomicTally()
            let group = WaitGroup()
            underMaxProcs(procs) {
                group.add(2)
                go {
                    defer { group.done() }
                    for round in 0..<rounds {
                        let (index, value) = select {
                            onReceive(channels[0]) { (0, $0) }
                            onReceive(channels[1]) { (1, $0) }
                            onReceive(channels[2]) { (2, $0) }
                        }
                        if index != round % 3 || value != round { wrong.add() }
                    }
                }
                go {
                    defer { group.done() }
                    for round in 0..<rounds {
                        if round % 7 == 0 { Runtime.yield() }
                        channels[round % 3].send(round)
                    }
                }
                #expect(groupFinishes(group))
            }
            #expect(wrong.value == 0)
        }

        @Test(arguments: selectProcs)
        func aParkedSelectIsWokenByReceiveOnAnyOfItsChannels(procs: Int) {
            let rounds = 2_000
            let channels = (0..<3).map { _ in Channel<Int>() }
            let wrong = AtomicTally()
            let group = WaitGroup()
            underMaxProcs(procs) {
                group.add(2)
                go {
                    defer { group.done() }
                    for round in 0..<rounds {
                        // Each case offers a different value; the receiver
                        // must get the one of the case that ran.
                        var ran = -1
                        select {
                            onSend(channels[0], 3 * round) { ran = 0 }
                            onSend(channels[1], 3 * round + 1) { ran = 1 }
                            onSend(channels[2], 3 * round + 2) { ran = 2 }
                        }
                        if ran != round % 3 { wrong.add() }
                    }
                }
                go {
                    defer { group.done() }
                    for round in 0..<rounds {
                        if round % 5 == 0 { Runtime.yield() }
                        if channels[round % 3].receive() != 3 * round + round % 3 { wrong.add() }
                    }
                }
                #expect(groupFinishes(group))
            }
            #expect(wrong.value == 0)
        }

        @Test(arguments: selectProcs)
        func closeWakesAParkedReceiveCaseWithNil(procs: Int) {
            let rounds = 500
            let wrong = AtomicTally()
            let group = WaitGroup()
            underMaxProcs(procs) {
                for _ in 0..<rounds {
                    let closing = Channel<Int>()
                    let idle = Channel<String>()
                    group.add(1)
                    go {
                        defer { group.done() }
                        let got = select {
                            onReceive(idle) { _ in "idle" }
                            onReceive(closing) { $0 == nil ? "closed" : "value" }
                        }
                        if got != "closed" { wrong.add() }
                    }
                    go { closing.close() }
                }
                #expect(groupFinishes(group))
            }
            #expect(wrong.value == 0)
        }

        @Test func aSelectOnAPlainThreadParksAndIsWoken() {
            let channels = (0..<2).map { _ in Channel<Int>() }
            let results = LockedBox<[Int]>([])
            let group = WaitGroup()
            group.add(1)
            go {
                defer { group.done() }
                for i in 1...200 { channels[i % 2].send(i) }
            }
            let finished = runOnPlainThread {
                for _ in 0..<200 {
                    let value = select {
                        onReceive(channels[0]) { $0! }
                        onReceive(channels[1]) { -$0! }
                    }
                    results.update { $0.append(value) }
                }
            }
            #expect(finished)
            #expect(groupFinishes(group))
            #expect(results.value == (1...200).map { $0 % 2 == 0 ? $0 : -$0 })
        }

        @Test func theSameChannelTwiceIsLockedOnceAndEitherCaseMayRun() {
            let channel = Channel<Int>(capacity: 1)
            var seen: Set<String> = []
            for round in 0..<400 {
                channel.send(round)
                let got = select {
                    onReceive(channel) { "a\($0! - round)" }
                    onReceive(channel) { "b\($0! - round)" }
                }
                seen.insert(got)
            }
            #expect(seen == ["a0", "b0"])

            // A send and a receive on the same channel: exactly one happens.
            let box = Channel<Int>(capacity: 1)
            var full = false
            for _ in 0..<400 {
                let sent = select {
                    onSend(box, 1) { true }
                    onReceive(box) { _ in false }
                }
                #expect(sent != full)
                full = sent
                #expect(box.count == (full ? 1 : 0))
            }
        }

        @Test(arguments: selectProcs)
        func aParkedSelectOnTheSameChannelTwiceIsWokenOnce(procs: Int) {
            let rounds = 1_000
            let wrong = AtomicTally()
            let group = WaitGroup()
            let channel = Channel<Int>()
            underMaxProcs(procs) {
                group.add(2)
                go {
                    defer { group.done() }
                    for round in 0..<rounds {
                        let got = select {
                            onReceive(channel) { $0 }
                            onReceive(channel) { $0 }
                        }
                        if got != round { wrong.add() }
                    }
                }
                go {
                    defer { group.done() }
                    for round in 0..<rounds { channel.send(round) }
                }
                #expect(groupFinishes(group))
            }
            #expect(wrong.value == 0)
        }

        // MARK: The builder

        @Test func casesMayComeFromLoopsAndConditions() {
            let channels = (0..<5).map { _ in Channel<Int>(capacity: 1) }
            channels[3].send(33)
            let includeDefault = Bool.random()
            let got = select {
                for (index, channel) in channels.enumerated() {
                    onReceive(channel) { ($0 ?? 0) * 10 + index }
                }
                if includeDefault {
                    onDefault { -1 }
                }
            }
            #expect(got == 333)

            let picked = select {
                if includeDefault {
                    onReceive(channels[0]) { _ in "first" }
                } else {
                    onReceive(channels[1]) { _ in "second" }
                }
                onDefault { "none" }
            }
            #expect(picked == "none")

            for mode in 0..<3 {
                if channels[3].count == 0 { channels[3].send(1) }
                let chosen = select {
                    switch mode {
                    case 0: onReceive(channels[3]) { _ in "received" }
                    case 1: onReceive(channels[4]) { _ in "empty" }
                    default: onSend(channels[0], 7) { "sent" }
                    }
                    if mode == 1 {
                    } else {
                        onReceive(channels[2]) { _ in "empty" }
                    }
                    onDefault { "default" }
                }
                #expect(chosen == ["received", "default", "sent"][mode])
            }
        }

        // MARK: Examples for the guide

        /// The select-with-timeout examples offered for the README, as written
        /// there, with the printed values checked.
        @Test func timeoutExamplesBehaveAsDocumented() {
            // A reply that comes in time.
            let replies = Channel<String>()
            go {
                sleep(for: .milliseconds(10))  // a slow worker
                replies.send("pong")
            }
            let answer = select {
                onReceive(replies) { $0 ?? "closed" }
                onReceive(after(.seconds(1))) { _ in "timed out" }
            }
            #expect(answer == "pong")

            // A reply that never comes.
            let silent = Channel<String>()
            let late = select {
                onReceive(silent) { $0 ?? "closed" }
                onReceive(after(.milliseconds(50))) { _ in "timed out" }
            }
            #expect(late == "timed out")

            // Ticks until a deadline.
            let ticker = Ticker(every: .milliseconds(10))
            defer { ticker.stop() }
            let deadline = after(.milliseconds(100))
            var ticks = 0
            var running = true
            while running {
                select {
                    onReceive(ticker.channel) { _ in ticks += 1 }
                    onReceive(deadline) { _ in running = false }
                }
            }
            #expect(ticks <= 10)

            // A send that must not wait.
            let events = Channel<String>(capacity: 1)
            var dropped = 0
            for event in ["started", "progress", "finished"] {
                select {
                    onSend(events, event) {}
                    onDefault { dropped += 1 }  // full: drop it rather than wait
                }
            }
            #expect(dropped == 2)
            #expect(events.receive() == "started")

            // A timeout that is usually cancelled.
            let timer = Goroutines.Timer(after: .seconds(5))
            let done = Channel<Void>(capacity: 1)
            done.send(())
            let cancelled = select {
                onReceive(done) { _ in timer.stop() }
                onReceive(timer.channel) { _ in false }
            }
            #expect(cancelled)
        }

        // MARK: Fairness

        /// With every case ready, each must be picked uniformly at random.
        ///
        /// The statistic is Pearson's χ² over `rounds` picks among k cases.
        /// The thresholds are the χ² quantiles for a false-failure
        /// probability of 1e-9 per check (df = k - 1): 37.3 for df 1, 44.8
        /// for df 3. A select that always favoured a position, or alternated
        /// deterministically between two, would exceed them by far; a fair
        /// one fails about once in a billion runs.
        @Test(arguments: [2, 4])
        func readyCasesArePickedUniformly(cases: Int) {
            let rounds = 40_000
            let channels = (0..<cases).map { _ in Channel<Int>() }
            for channel in channels { channel.close() }
            var counts = [Int](repeating: 0, count: cases)
            var runs = 0
            var previous = -1
            for _ in 0..<rounds {
                let picked = select {
                    for (index, channel) in channels.enumerated() {
                        onReceive(channel) { _ in index }
                    }
                }
                counts[picked] += 1
                if picked == previous { runs += 1 }
                previous = picked
            }
            let threshold = cases == 2 ? 37.3 : 44.8
            #expect(chiSquare(counts) < threshold, "counts \(counts)")
            // Consecutive repeats: Binomial(rounds - 1, 1/k), checked the
            // same way (df 1).
            let expectedRepeats = Double(rounds - 1) / Double(cases)
            let repeatsChi =
                pow(Double(runs) - expectedRepeats, 2) / expectedRepeats
                + pow(Double(rounds - 1 - runs) - (Double(rounds - 1) - expectedRepeats), 2)
                / (Double(rounds - 1) - expectedRepeats)
            #expect(repeatsChi < 37.3, "\(runs) repeats of \(rounds - 1)")
        }

        /// A receive, a buffered receive and a send, all kept ready: the
        /// kind of case must not matter either.
        @Test func mixedReadyCasesArePickedUniformly() {
            let rounds = 30_000
            let closed = Channel<Int>()
            closed.close()
            let full = Channel<Int>(capacity: 1)
            full.send(0)
            let roomy = Channel<Int>(capacity: 1)
            var counts = [0, 0, 0]
            for _ in 0..<rounds {
                let picked = select {
                    onReceive(closed) { _ in 0 }
                    onReceive(full) { _ in 1 }
                    onSend(roomy, 0) { 2 }
                }
                counts[picked] += 1
                // Restore: `full` holds one value, `roomy` none.
                if picked == 1 { full.send(0) }
                if picked == 2 { _ = roomy.receive() }
            }
            // df 2, false-failure probability 1e-9: 41.4.
            #expect(chiSquare(counts) < 41.4, "counts \(counts)")
        }

        // MARK: Fatal paths

        @Test func sendOnAClosedChannelInSelectIsFatal() throws {
            let result = try ChildProcess.run(["select-send-on-closed"])
            #expect(result.exited(2), "\(result)")
            #expect(result.stderr.hasPrefix("panic: send on closed channel\n"), "\(result)")
        }

        @Test func closingUnderAParkedSendCaseIsFatal() throws {
            let result = try ChildProcess.run(["select-send-parked-then-closed"])
            #expect(result.exited(2), "\(result)")
            #expect(result.stderr.hasPrefix("panic: send on closed channel\n"), "\(result)")
        }

        @Test func twoDefaultCasesAreAMistake() throws {
            let result = try ChildProcess.run(["select-multiple-defaults"])
            #expect(result.signaled && [SIGILL, SIGTRAP].contains(result.status), "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
            #expect(result.stderr.contains("select: multiple default cases"), "\(result)")
        }

        @Test func aSelectWithNoCasesBlocksForever() throws {
            let result = try ChildProcess.run(["select-no-cases"])
            #expect(result.exited(2), "\(result)")
            #expect(
                result.stderr.hasPrefix("fatal error: all goroutines are asleep - deadlock!"),
                "\(result)")
            #expect(result.stderr.contains("[select (no cases)]"), "\(result)")
            #expect(result.stderr.contains("[select]"), "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
        }
    }
}

/// Pearson's χ² statistic of `counts` against a uniform distribution.
func chiSquare(_ counts: [Int]) -> Double {
    let total = Double(counts.reduce(0, +))
    let expected = total / Double(counts.count)
    return counts.reduce(0) { $0 + pow(Double($1) - expected, 2) / expected }
}
