// Stress cases for the scheduler's hot paths: record reuse, waiters on one
// channel, parking inside exclusive accesses.

import Synchronization
import Testing

@testable import Goroutines

extension RuntimeCoreTests {
    @Suite struct StressTests {
        /// Goroutines started from a plain thread reuse the records of
        /// finished ones: a plain thread holds no P, so it must take from
        /// the global pool rather than make a record, and a stack, each time.
        @Test func plainThreadSpawnsReuseRecords() {
            let group = WaitGroup()
            let batches = 200
            // Warm up: fill the pools.
            for _ in 0..<100 {
                group.add(1)
                go { group.done() }
            }
            group.wait()
            let before = Registry.shared.snapshot().count
            for _ in 0..<batches {
                for _ in 0..<100 {
                    group.add(1)
                    go { group.done() }
                }
                group.wait()
            }
            let made = Registry.shared.snapshot().count - before
            // At most 100 run at once; allow for records held in P caches.
            #expect(made < batches * 100 / 4, "records made: \(made)")
        }

        /// Many selects wait on one channel, past the queue's inline waiter
        /// and through its ring's growth. Each is served once, and the
        /// losing cases leave no waiter behind: a non-blocking send then
        /// finds no receiver.
        @Test func manySelectsOnOneChannelLeaveNoWaiters() {
            for round in 0..<50 {
                let shared = Channel<Int>()
                let other = Channel<Int>(capacity: round % 2)
                let group = WaitGroup()
                let total = Atomic<Int>(0)
                for _ in 0..<64 {
                    group.add(1)
                    go {
                        let value = select {
                            onReceive(shared) { $0 ?? -1000 }
                            onReceive(other) { $0 ?? -1000 }
                        }
                        total.add(value, ordering: .relaxed)
                        group.done()
                    }
                }
                for index in 0..<64 {
                    if index % 2 == 0 { shared.send(1) } else { other.send(1) }
                }
                group.wait()
                #expect(total.load(ordering: .relaxed) == 64)
                let sent = select {
                    onSend(shared, 0) { true }
                    onDefault { false }
                }
                #expect(!sent, "a served select left a waiter on the channel")
            }
        }

        /// A goroutine parks inside a modifying access to a class property
        /// while others on the same processor read that property: the
        /// parked access is not on the thread's list meanwhile, so the
        /// exclusivity checker sees no conflict, and the increments add up.
        @Test func parkInsideModifyWhileOthersRead() {
            let old = Runtime.setMaxProcs(1)
            defer { Runtime.setMaxProcs(old) }
            final class Counter: @unchecked Sendable { var value = 0 }
            @Sendable func increment(_ value: inout Int, by channel: Channel<Int>) {
                let step = channel.receive()!
                Runtime.yield()
                value += step
            }
            let group = WaitGroup()
            let iterations = 2000
            let counters = (0..<4).map { _ in Counter() }
            for counter in counters {
                let channel = Channel<Int>()
                group.add(2)
                go {
                    for _ in 0..<iterations { increment(&counter.value, by: channel) }
                    group.done()
                }
                go {
                    var seen = 0
                    for _ in 0..<iterations {
                        seen &+= counter.value
                        channel.send(1)
                    }
                    _ = seen
                    group.done()
                }
            }
            group.wait()
            for counter in counters { #expect(counter.value == iterations) }
        }
    }
}
