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
    }
}
