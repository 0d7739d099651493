// Group: the first error wins and is reported after every goroutine ends,
// the limit caps concurrency, tryGo respects it, and a group with a context
// cancels that context on the first error and when wait returns.

import Synchronization
import Testing

@testable import Goroutines

extension SyncTests {
    @Suite struct GroupTests {
        struct Failure: Error, Equatable {
            let id: Int
        }

        @Test func waitReturnsWhenAllSucceed() throws {
            let group = Group()
            let finished = Atomic<Int>(0)
            for _ in 0..<50 {
                group.go { finished.add(1, ordering: .relaxed) }
            }
            try group.wait()
            #expect(finished.load(ordering: .relaxed) == 50)
        }

        /// The error thrown first is reported, and only after every other
        /// goroutine (including a slow one and later failures) has finished.
        @Test func firstErrorIsReportedAfterAllFinish() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<30 {
                    let group = Group()
                    let slowFinished = Atomic<Bool>(false)
                    group.go { throw Failure(id: 1) }
                    group.go {
                        // Fail only once the first failure is on record.
                        _ = SyncTest.eventually { group.recordedError != nil }
                        Runtime.yield()
                        slowFinished.store(true, ordering: .releasing)
                        throw Failure(id: 2)
                    }
                    for _ in 0..<6 { group.go {} }
                    let caught = SyncTest.Guarded<(any Error)?>(nil)
                    let finished = SyncTest.inGoroutine {
                        do { try group.wait() } catch { caught.value = error }
                    }
                    #expect(finished, "procs \(procs): hung")
                    #expect(caught.value as? Failure == Failure(id: 1))
                    #expect(slowFinished.load(ordering: .acquiring) == true)
                }
            }
        }

        /// With a limit of 3, no more than 3 bodies ever run at once, and
        /// the limit is reached.
        @Test func limitCapsConcurrency() {
            SyncTest.forEachProcs { procs in
                for limit in [1, 3] {
                    let group = Group(limit: limit)
                    let running = SyncTest.Occupancy()
                    let finished = SyncTest.inGoroutine {
                        for _ in 0..<40 {
                            group.go {
                                running.enter()
                                for _ in 0..<3 { Runtime.yield() }
                                running.leave()
                            }
                        }
                        try? group.wait()
                    }
                    #expect(finished, "procs \(procs): hung")
                    #expect(running.highest <= limit, "procs \(procs) limit \(limit)")
                    #expect(running.highest >= 1)
                }
            }
        }

        /// At the limit, `go` parks the caller until a slot frees, and
        /// `tryGo` refuses.
        @Test func goBlocksAndTryGoFailsAtTheLimit() {
            let group = Group(limit: 2)
            let release = Channel<Void>()
            let events = SyncTest.EventLog<String>()
            let tryGoWhileFull = Atomic<Bool>(true)
            let finished = SyncTest.inGoroutine {
                for _ in 0..<2 { group.go { release.receive() } }
                tryGoWhileFull.store(group.tryGo {}, ordering: .relaxed)
                let third = Channel<Void>()
                go {
                    group.go { events.append("third ran") }
                    events.append("third started")
                    third.send(())
                }
                // The third `go` parks until a slot frees.
                _ = SyncTest.eventually { group.waitingToStart == 1 }
                events.append("releasing")
                release.send(())
                third.receive()
                release.send(())
                try? group.wait()
            }
            #expect(finished)
            #expect(tryGoWhileFull.load(ordering: .relaxed) == false)
            #expect(events.events.first == "releasing")
            #expect(Set(events.events) == ["releasing", "third started", "third ran"])
        }

        @Test func tryGoRunsBelowTheLimit() throws {
            let group = Group()
            group.setLimit(1)
            let ran = Atomic<Int>(0)
            #expect(group.tryGo { ran.add(1, ordering: .relaxed) })
            try group.wait()
            #expect(group.tryGo { ran.add(1, ordering: .relaxed) })
            try group.wait()
            #expect(ran.load(ordering: .relaxed) == 2)
            group.setLimit(-1)
            for _ in 0..<10 { #expect(group.tryGo {}) }
            try group.wait()
        }

        /// The first error cancels the group's context, so siblings blocked on
        /// it stop; the parent context is untouched.
        @Test func firstErrorCancelsTheContext() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<20 {
                    let (parent, cancelParent) = Context.withCancel(.background())
                    let group = Group(context: parent)
                    let siblingsStopped = Atomic<Int>(0)
                    for _ in 0..<4 {
                        group.go {
                            group.context.done.receive()
                            if group.context.err == .canceled {
                                siblingsStopped.add(1, ordering: .relaxed)
                            }
                        }
                    }
                    group.go { throw Failure(id: 7) }
                    let caught = SyncTest.Guarded<(any Error)?>(nil)
                    let finished = SyncTest.inGoroutine {
                        do { try group.wait() } catch { caught.value = error }
                    }
                    #expect(finished, "procs \(procs): siblings never saw the cancel")
                    #expect(caught.value as? Failure == Failure(id: 7))
                    #expect(siblingsStopped.load(ordering: .relaxed) == 4)
                    #expect(parent.err == nil)
                    cancelParent()
                }
            }
        }

        /// Without an error, the context is cancelled once wait returns; a
        /// cancelled parent cancels the group's context as well.
        @Test func contextEndsWithWaitOrParent() throws {
            let group = Group(context: .background())
            group.go {}
            try group.wait()
            #expect(group.context.err == .canceled)

            let (parent, cancelParent) = Context.withCancel(.background())
            let child = Group(context: parent, limit: 2)
            let sawCancel = Atomic<Bool>(false)
            child.go {
                child.context.done.receive()
                sawCancel.store(true, ordering: .relaxed)
            }
            cancelParent()
            let finished = SyncTest.inGoroutine { try? child.wait() }
            #expect(finished)
            #expect(sawCancel.load(ordering: .relaxed) == true)
            #expect(child.context.err == .canceled)
        }

        /// A plain group has the background context, which is never done.
        @Test func plainGroupHasBackgroundContext() throws {
            let group = Group()
            group.go { throw Failure(id: 1) }
            #expect(throws: Failure(id: 1)) { try group.wait() }
            #expect(group.context.err == nil)
        }
    }
}
