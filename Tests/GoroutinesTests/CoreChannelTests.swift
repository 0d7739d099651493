// Channels under load and at close: every message arrives exactly once, and
// close lets receivers drain the buffer, then see nil.

import Synchronization
import Testing

@testable import Goroutines

extension RuntimeCoreTests {
    @Suite struct CoreChannelTests {
        @Test func millionMessagesPingPongAcrossProcessors() {
            let messages = 1_000_000
            let ping = Channel<Int>()
            let pong = Channel<Int>()
            let received = Counter()
            let mismatches = Counter()
            let threads = SharedSet<Int32>()
            let group = WaitGroup()
            withMaxProcs(2) {
                group.add(2)
                go {
                    threads.insert(currentThreadID())
                    for i in 0..<(messages / 2) {
                        ping.send(i)
                        if pong.receive() != i { mismatches.add() }
                        received.add()
                    }
                    ping.close()
                    group.done()
                }
                go {
                    threads.insert(currentThreadID())
                    while let i = ping.receive() {
                        received.add()
                        pong.send(i)
                    }
                    group.done()
                }
                #expect(wait(group, timeout: .seconds(60)))
            }
            #expect(received.count == messages)
            #expect(mismatches.count == 0)
        }

        @Test(arguments: [1, 2], [0, 1, 16])
        func manySendersAndReceiversEndWithTheExactSum(procs: Int, capacity: Int) {
            let senders = 8
            let receivers = 4
            let perSender = 5_000
            let channel = Channel<Int>(capacity: capacity)
            let sum = Counter()
            let count = Counter()
            let sent = WaitGroup()
            let drained = WaitGroup()
            withMaxProcs(procs) {
                sent.add(senders)
                drained.add(receivers)
                for r in 0..<receivers {
                    go {
                        for value in channel {
                            sum.add(value)
                            count.add()
                            if (value + r) % 97 == 0 { Runtime.yield() }
                        }
                        drained.done()
                    }
                }
                for s in 0..<senders {
                    go {
                        for i in 0..<perSender { channel.send(s * perSender + i + 1) }
                        sent.done()
                    }
                }
                #expect(wait(sent))
                channel.close()
                #expect(wait(drained))
            }
            let n = senders * perSender
            #expect(count.count == n)
            #expect(sum.count == n * (n + 1) / 2)
        }

        @Test func closedBufferedChannelDrainsThenYieldsNil() {
            let channel = Channel<Int>(capacity: 8)
            let results = SharedArray<Int?>()
            let group = WaitGroup()
            group.add(1)
            go {
                for i in 1...5 { channel.send(i * 10) }
                channel.close()
                for _ in 0..<7 { results.append(channel.receive()) }
                group.done()
            }
            #expect(wait(group))
            #expect(results.values == [10, 20, 30, 40, 50, nil, nil])
            #expect(channel.isClosed)
            #expect(channel.count == 0)
        }

        @Test(arguments: [1, 2])
        func receiversBlockedAtCloseGetNil(procs: Int) {
            let receivers = 50
            let channel = Channel<String>()
            let parked = Counter()
            let gotNil = Counter()
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(receivers)
                for _ in 0..<receivers {
                    go {
                        parked.add()
                        if channel.receive() == nil { gotNil.add() }
                        group.done()
                    }
                }
                // Close once every receiver has at least reached receive; a
                // late one still sees the closed channel and gets nil.
                #expect(poll(timeout: .seconds(10)) { parked.count == receivers })
                channel.close()
                #expect(wait(group))
            }
            #expect(gotNil.count == receivers)
        }

        @Test func plainThreadReceiverBlockedAtCloseGetsNil() {
            let channel = Channel<Int>()
            let group = WaitGroup()
            group.add(1)
            go {
                sleep(for: .milliseconds(20))
                channel.close()
                group.done()
            }
            #expect(channel.receive() == nil)
            #expect(wait(group))
        }

        @Test(arguments: [0, 3])
        func iterationEndsAtClose(capacity: Int) {
            let channel = Channel<Int>(capacity: capacity)
            let seen = SharedArray<Int>()
            let group = WaitGroup()
            group.add(2)
            go {
                for value in channel { seen.append(value) }
                group.done()
            }
            go {
                for i in 0..<100 { channel.send(i) }
                channel.close()
                group.done()
            }
            #expect(wait(group))
            #expect(seen.values == Array(0..<100))
        }
    }
}
