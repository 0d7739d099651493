// Semaphore: weights are respected under contention, waiters are served in
// arrival order (a large request is not overtaken), and a context-aware
// acquire gives up when its context is done.

import Synchronization
import Testing

@testable import Goroutines

extension SyncTests {
    @Suite struct SemaphoreTests {
        /// 8 goroutines take random weights of a size-10 semaphore; the units
        /// in use never exceed 10 and all are back at the end.
        @Test func weightsNeverExceedTheSize() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<10 {
                    let semaphore = Semaphore(10)
                    let inUse = Atomic<Int>(0)
                    let peak = Atomic<Int>(0)
                    let finished = SyncTest.goroutines(8) { index in
                        var random = SystemRandomNumberGenerator()
                        for i in 0..<300 {
                            let n = Int.random(in: 1...10, using: &random)
                            semaphore.acquire(n)
                            let now = inUse.add(n, ordering: .relaxed).newValue
                            peak.max(now, ordering: .relaxed)
                            if (i + index) % 7 == 0 { Runtime.yield() }
                            inUse.subtract(n, ordering: .relaxed)
                            semaphore.release(n)
                        }
                    }
                    #expect(finished, "procs \(procs): hung")
                    #expect(peak.load(ordering: .relaxed) <= 10)
                    #expect(peak.load(ordering: .relaxed) >= 2)
                    #expect(semaphore.heldUnits == 0)
                    #expect(semaphore.waiterCount == 0)
                }
            }
        }

        /// A large request queued first is served before small ones queued
        /// after it, even though the small ones would fit earlier.
        @Test func largeRequestIsNotOvertaken() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<20 {
                    let semaphore = Semaphore(10)
                    let order = SyncTest.EventLog<String>()
                    let smallFitButRefused = Atomic<Bool>(false)
                    let finished = SyncTest.inGoroutine {
                        semaphore.acquire(6)
                        let done = WaitGroup()
                        done.add(3)
                        go {
                            semaphore.acquire(10)
                            order.append("large")
                            semaphore.release(10)
                            done.done()
                        }
                        _ = SyncTest.eventually { semaphore.waiterCount == 1 }
                        // 4 units are free, but the large waiter is first.
                        smallFitButRefused.store(
                            !semaphore.tryAcquire(1), ordering: .relaxed)
                        for name in ["small 1", "small 2"] {
                            go {
                                semaphore.acquire(2)
                                order.append(name)
                                semaphore.release(2)
                                done.done()
                            }
                            _ = SyncTest.eventually {
                                semaphore.waiterCount == (name == "small 1" ? 2 : 3)
                            }
                        }
                        semaphore.release(6)
                        done.wait()
                    }
                    #expect(finished, "procs \(procs): hung")
                    #expect(smallFitButRefused.load(ordering: .relaxed) == true)
                    #expect(order.events.first == "large")
                    #expect(order.events.count == 3)
                    #expect(semaphore.heldUnits == 0)
                }
            }
        }

        /// One release lets in every head waiter that fits, in order, and
        /// stops at the first that does not.
        @Test func releaseGrantsHeadWaitersThatFit() {
            let semaphore = Semaphore(5)
            let granted = SyncTest.EventLog<Int>()
            let finished = SyncTest.inGoroutine {
                semaphore.acquire(5)
                for (i, n) in [2, 3, 4].enumerated() {
                    go {
                        semaphore.acquire(n)
                        granted.append(n)
                    }
                    _ = SyncTest.eventually { semaphore.waiterCount == i + 1 }
                }
                semaphore.release(5)
                _ = SyncTest.eventually { granted.events.count == 2 }
            }
            #expect(finished)
            #expect(Set(granted.events) == [2, 3])
            #expect(semaphore.heldUnits == 5)
            #expect(semaphore.waiterCount == 1)
            // The 4-unit waiter follows once enough is released.
            semaphore.release(2)
            #expect(semaphore.waiterCount == 1)
            semaphore.release(3)
            #expect(SyncTest.eventually { granted.events.count == 3 })
            #expect(semaphore.heldUnits == 4)
        }

        @Test func tryAcquireTakesWhatIsFree() {
            let semaphore = Semaphore(3)
            #expect(semaphore.tryAcquire(2))
            #expect(!semaphore.tryAcquire(2))
            #expect(semaphore.tryAcquire(1))
            #expect(!semaphore.tryAcquire(1))
            semaphore.release(3)
            #expect(semaphore.tryAcquire(3))
            #expect(semaphore.heldUnits == 3)
        }

        /// A waiter whose context is cancelled stops waiting, takes nothing,
        /// and the waiters it was holding up go ahead.
        @Test func cancelledWaiterGivesUpAndUnblocksOthers() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<20 {
                    let semaphore = Semaphore(4)
                    let (context, cancel) = Context.withCancel(.background())
                    let outcome = SyncTest.EventLog<String>()
                    let finished = SyncTest.inGoroutine {
                        semaphore.acquire(1)
                        let done = WaitGroup()
                        done.add(2)
                        go {
                            do {
                                try semaphore.acquire(4, context: context)
                                outcome.append("large acquired")
                            } catch {
                                outcome.append("large: \(error)")
                            }
                            done.done()
                        }
                        _ = SyncTest.eventually { semaphore.waiterCount == 1 }
                        go {
                            semaphore.acquire(2)
                            outcome.append("small acquired")
                            done.done()
                        }
                        _ = SyncTest.eventually { semaphore.waiterCount == 2 }
                        cancel()
                        done.wait()
                    }
                    #expect(finished, "procs \(procs): hung")
                    #expect(
                        Set(outcome.events) == ["large: context canceled", "small acquired"])
                    #expect(semaphore.heldUnits == 3)
                }
            }
        }

        @Test func contextAcquireHonoursDeadlinesAndDoneContexts() throws {
            let semaphore = Semaphore(1)
            semaphore.acquire(1)
            let (short, cancelShort) = Context.withTimeout(.background(), .milliseconds(5))
            defer { cancelShort() }
            #expect(throws: ContextError.deadlineExceeded) {
                try semaphore.acquire(1, context: short)
            }
            // Already done: fails without waiting, even if units are free.
            semaphore.release(1)
            let (dead, cancelDead) = Context.withCancel(.background())
            cancelDead()
            #expect(throws: ContextError.canceled) {
                try semaphore.acquire(1, context: dead)
            }
            #expect(semaphore.heldUnits == 0)
            // A live context that never fires behaves like a plain acquire.
            let (live, cancelLive) = Context.withCancel(.background())
            defer { cancelLive() }
            try semaphore.acquire(1, context: live)
            #expect(semaphore.heldUnits == 1)
            try semaphore.acquire(0, context: .background())
        }
    }
}
