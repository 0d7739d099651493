// Once: exactly one run under races, late callers wait for the first, and a
// throwing body still counts as run.

import Synchronization
import Testing

@testable import Goroutines

extension SyncTests {
    @Suite struct OnceTests {
        /// 8 goroutines race into `do`; the body runs once, and yields midway
        /// so that others arrive while it runs. Every caller returns only
        /// after the body has finished.
        @Test func runsExactlyOnceUnderRaces() {
            SyncTest.forEachProcs { procs in
                for round in 0..<100 {
                    let once = Once()
                    let runs = Atomic<Int>(0)
                    let bodyFinished = Atomic<Bool>(false)
                    let earlyReturns = Atomic<Int>(0)
                    let finished = SyncTest.goroutines(8) { _ in
                        once.do {
                            runs.add(1, ordering: .relaxed)
                            Runtime.yield()
                            bodyFinished.store(true, ordering: .relaxed)
                        }
                        if !bodyFinished.load(ordering: .relaxed) {
                            earlyReturns.add(1, ordering: .relaxed)
                        }
                    }
                    #expect(finished, "procs \(procs) round \(round): hung")
                    #expect(runs.load(ordering: .relaxed) == 1)
                    #expect(earlyReturns.load(ordering: .relaxed) == 0)
                    #expect(once.hasRun)
                }
            }
        }

        /// A caller that arrives while the body is parked waits for it.
        @Test func lateCallerWaitsForTheBody() {
            for _ in 0..<50 {
                let once = Once()
                let release = Channel<Void>()
                let order = SyncTest.EventLog<String>()
                let finished = SyncTest.goroutines(2) { index in
                    if index == 0 {
                        once.do {
                            order.append("body started")
                            release.receive()
                            order.append("body finished")
                        }
                    } else {
                        _ = SyncTest.eventually { order.events.count == 1 }
                        go { release.send(()) }
                        once.do { order.append("second body") }
                        order.append("second returned")
                    }
                }
                #expect(finished)
                #expect(order.events == ["body started", "body finished", "second returned"])
            }
        }

        @Test func throwingBodyCountsAsRun() {
            struct Failure: Error {}
            let once = Once()
            #expect(throws: Failure.self) {
                try once.do { throw Failure() }
            }
            var ranAgain = false
            once.do { ranAgain = true }
            #expect(!ranAgain)
            #expect(once.hasRun)
        }
    }
}
