// RWMutex: exclusion of writers, concurrency of readers, writer preference,
// and the try variants.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

extension SyncTests {
    @Suite struct RWMutexTests {
        typealias Guarded = SyncTest.Guarded
        typealias Occupancy = SyncTest.Occupancy

        /// 8 goroutines, 2 of them writers: writes are exact, a writer never
        /// shares the lock, and readers always see a consistent pair.
        @Test func writersAreExclusiveAndCountersExact() {
            SyncTest.forEachProcs { procs in
                for round in 0..<20 {
                    let rw = RWMutex()
                    let pair = Guarded((0, 0))
                    let readers = Occupancy()
                    let writers = Occupancy()
                    let violations = Atomic<Int>(0)
                    let writes = 1_000
                    let finished = SyncTest.goroutines(8) { index in
                        if index < 2 {
                            for i in 0..<writes {
                                rw.lock()
                                if writers.enter() != 1 || readers.current != 0 {
                                    violations.add(1, ordering: .relaxed)
                                }
                                pair.value.0 += 1
                                if i % 50 == 0 { Runtime.yield() }
                                pair.value.1 += 1
                                writers.leave()
                                rw.unlock()
                            }
                        } else {
                            for i in 0..<writes {
                                rw.rLock()
                                readers.enter()
                                if writers.current != 0 { violations.add(1, ordering: .relaxed) }
                                let (a, b) = pair.value
                                if a != b { violations.add(1, ordering: .relaxed) }
                                if i % 50 == 0 { Runtime.yield() }
                                readers.leave()
                                rw.rUnlock()
                            }
                        }
                    }
                    #expect(finished, "procs \(procs) round \(round): hung")
                    let (a, b) = pair.value
                    #expect(a == 2 * writes && b == 2 * writes)
                    #expect(violations.load(ordering: .relaxed) == 0, "procs \(procs)")
                    #expect(writers.highest == 1)
                    #expect(rw.readers.load(ordering: .relaxed) == 0)
                }
            }
        }

        /// A second reader gets in while the first still holds the lock; a
        /// lock that admitted one reader at a time would hang here.
        @Test func readersHoldTheLockTogether() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<50 {
                    let rw = RWMutex()
                    let readers = Occupancy()
                    let firstIn = Channel<Void>()
                    let secondIn = Channel<Void>()
                    let finished = SyncTest.goroutines(2) { index in
                        if index == 0 {
                            rw.rLock()
                            readers.enter()
                            firstIn.send(())
                            secondIn.receive()
                            readers.leave()
                            rw.rUnlock()
                        } else {
                            firstIn.receive()
                            rw.rLock()
                            readers.enter()
                            secondIn.send(())
                            readers.leave()
                            rw.rUnlock()
                        }
                    }
                    #expect(finished, "procs \(procs): second reader was kept out")
                    #expect(readers.highest == 2)
                }
            }
        }

        /// Many readers that yield inside the lock overlap: at least two are
        /// seen inside at once.
        @Test func manyReadersOverlap() {
            SyncTest.forEachProcs { procs in
                let rw = RWMutex()
                let readers = Occupancy()
                let finished = SyncTest.goroutines(8) { _ in
                    for _ in 0..<200 {
                        rw.withReadLock {
                            readers.enter()
                            Runtime.yield()
                            readers.leave()
                        }
                    }
                }
                #expect(finished)
                #expect(readers.highest >= 2, "procs \(procs)")
            }
        }

        /// Once a writer waits, new readers queue behind it: the writer gets
        /// in before a reader that arrived after it, although the lock was
        /// held only for reading all along.
        @Test func waitingWriterGoesBeforeLaterReaders() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<20 {
                    let rw = RWMutex()
                    let order = SyncTest.EventLog<String>()
                    let trySawWriter = Atomic<Bool>(false)
                    let finished = SyncTest.inGoroutine {
                        rw.rLock()
                        let done = WaitGroup()
                        done.add(2)
                        go {
                            rw.lock()
                            order.append("writer")
                            rw.unlock()
                            done.done()
                        }
                        // The writer has announced itself once the reader
                        // count goes negative.
                        _ = SyncTest.eventually { rw.readers.load(ordering: .relaxed) < 0 }
                        trySawWriter.store(!rw.tryRLock(), ordering: .relaxed)
                        go {
                            rw.rLock()
                            order.append("reader")
                            rw.rUnlock()
                            done.done()
                        }
                        _ = SyncTest.eventually { rw.readerSema.waiting == 1 }
                        rw.rUnlock()
                        done.wait()
                    }
                    #expect(finished, "procs \(procs): hung")
                    #expect(trySawWriter.load(ordering: .relaxed) == true)
                    #expect(order.events == ["writer", "reader"])
                }
            }
        }

        /// A writer releases every reader that queued behind it at once.
        @Test func unlockAdmitsAllQueuedReaders() {
            for _ in 0..<20 {
                let rw = RWMutex()
                let readers = Occupancy()
                let allIn = Channel<Void>()
                let finished = SyncTest.inGoroutine {
                    rw.lock()
                    let done = WaitGroup()
                    done.add(4)
                    for _ in 0..<4 {
                        go {
                            rw.rLock()
                            // Every reader stays until all four are in.
                            if readers.enter() == 4 { allIn.close() }
                            allIn.receive()
                            readers.leave()
                            rw.rUnlock()
                            done.done()
                        }
                    }
                    _ = SyncTest.eventually { rw.readerSema.waiting == 4 }
                    rw.unlock()
                    done.wait()
                }
                #expect(finished, "queued readers were not all admitted")
                #expect(readers.highest == 4)
            }
        }

        @Test func tryVariants() {
            let rw = RWMutex()
            #expect(rw.tryRLock())
            #expect(rw.tryRLock())
            #expect(!rw.tryLock())
            rw.rUnlock()
            rw.rUnlock()
            #expect(rw.tryLock())
            #expect(!rw.tryRLock())
            #expect(!rw.tryLock())
            rw.unlock()
            #expect(rw.tryRLock())
            rw.rUnlock()
            #expect(rw.readers.load(ordering: .relaxed) == 0)
        }

        /// The read side as a Locker drives a Cond like any lock.
        @Test func readLockerLocksForReading() {
            let rw = RWMutex()
            let locker = rw.readLocker
            locker.lock()
            #expect(rw.tryRLock())
            #expect(!rw.tryLock())
            rw.rUnlock()
            locker.unlock()
            #expect(rw.tryLock())
            rw.unlock()
        }
    }
}
