// Mutex: mutual exclusion under contention, tryLock, hand-over between
// goroutines and plain threads, and starvation (hand-off) mode.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

extension SyncTests {
    @Suite struct MutexTests {
        typealias Guarded = SyncTest.Guarded
        typealias Occupancy = SyncTest.Occupancy

        /// 8 goroutines increment an unsynchronized counter under the mutex;
        /// some yield while holding it so that waiters really park.
        @Test func counterIsExactUnderContention() {
            SyncTest.forEachProcs { procs in
                for round in 0..<40 {
                    let mutex = Goroutines.Mutex()
                    let counter = Guarded(0)
                    let inside = Occupancy()
                    let perGoroutine = 2_000
                    let finished = SyncTest.goroutines(8) { worker in
                        for i in 0..<perGoroutine {
                            mutex.lock()
                            inside.enter()
                            counter.value += 1
                            if (i + worker) % 97 == 0 { Runtime.yield() }
                            inside.leave()
                            mutex.unlock()
                        }
                    }
                    #expect(finished, "procs \(procs) round \(round): hung")
                    #expect(counter.value == 8 * perGoroutine, "procs \(procs) round \(round)")
                    #expect(inside.highest == 1, "two holders at once")
                    #expect(mutex.state.load(ordering: .relaxed) == 0, "state not clean")
                }
            }
        }

        /// Plain threads and goroutines contend for the same mutex: threads
        /// block on a futex, goroutines park.
        @Test func plainThreadsAndGoroutinesShareTheMutex() {
            SyncTest.forEachProcs { procs in
                let mutex = Goroutines.Mutex()
                let counter = Guarded(0)
                let inside = Occupancy()
                let threadsDone = WaitGroup()
                threadsDone.add(2)
                for _ in 0..<2 {
                    Thread {
                        for _ in 0..<3_000 {
                            mutex.withLock {
                                inside.enter()
                                counter.value += 1
                                inside.leave()
                            }
                        }
                        threadsDone.done()
                    }.start()
                }
                let finished = SyncTest.goroutines(4) { _ in
                    for i in 0..<3_000 {
                        mutex.withLock {
                            inside.enter()
                            counter.value += 1
                            if i % 500 == 0 { Runtime.yield() }
                            inside.leave()
                        }
                    }
                }
                let threadsFinished = SyncTest.inGoroutine { threadsDone.wait() }
                #expect(finished && threadsFinished, "procs \(procs): hung")
                #expect(counter.value == 6 * 3_000)
                #expect(inside.highest == 1)
            }
        }

        @Test func tryLockSucceedsOnlyWhenFree() {
            let mutex = Goroutines.Mutex()
            #expect(mutex.tryLock())
            #expect(!mutex.tryLock())
            mutex.unlock()
            #expect(mutex.tryLock())
            mutex.unlock()
            #expect(mutex.state.load(ordering: .relaxed) == 0)
        }

        /// As in Go, a mutex is not tied to the goroutine that locked it.
        @Test func anotherGoroutineMayUnlock() {
            for _ in 0..<100 {
                let mutex = Goroutines.Mutex()
                let acquiredBySecond = Atomic<Bool>(false)
                let finished = SyncTest.inGoroutine {
                    mutex.lock()
                    let unlocked = Channel<Void>()
                    go {
                        mutex.unlock()
                        unlocked.send(())
                    }
                    unlocked.receive()
                    let second = Channel<Void>()
                    go {
                        mutex.lock()
                        acquiredBySecond.store(true, ordering: .relaxed)
                        mutex.unlock()
                        second.send(())
                    }
                    second.receive()
                }
                #expect(finished)
                #expect(acquiredBySecond.load(ordering: .relaxed) == true)
            }
        }

        /// withLock returns the body's value, rethrows its error, and unlocks
        /// either way.
        @Test func withLockUnlocksOnThrow() {
            struct Failure: Error {}
            let mutex = Goroutines.Mutex()
            #expect(mutex.withLock { 42 } == 42)
            #expect(throws: Failure.self) {
                try mutex.withLock { throw Failure() }
            }
            #expect(!mutex.isLocked)
            #expect(mutex.tryLock())
            mutex.unlock()
        }

        /// Spinning is allowed only to a goroutine, for a few rounds, with
        /// more than one processor and another one running; never on a plain
        /// thread or with GOMAXPROCS 1.
        @Test func spinsOnlyWhenAnotherProcessorRuns() {
            #expect(!Goroutines.Mutex.canSpin(0), "a plain thread never spins")
            let old = Runtime.setMaxProcs(1)
            defer { Runtime.setMaxProcs(old) }
            let singleProcessor = Atomic<Bool>(true)
            SyncTest.inGoroutine {
                singleProcessor.store(Goroutines.Mutex.canSpin(0), ordering: .relaxed)
            }
            #expect(singleProcessor.load(ordering: .relaxed) == false)

            Runtime.setMaxProcs(4)
            let stop = Atomic<Bool>(false)
            let spun = Atomic<Bool>(false)
            let lastRoundRefused = Atomic<Bool>(false)
            let finished = SyncTest.goroutines(2) { index in
                if index == 0 {
                    // Keep a second processor busy, standing in for a holder.
                    while !stop.load(ordering: .relaxed) { Runtime.preemptionPoint() }
                    return
                }
                let seen = SyncTest.eventually { Goroutines.Mutex.canSpin(0) }
                spun.store(seen, ordering: .relaxed)
                let limit = Goroutines.Mutex.spinRounds
                lastRoundRefused.store(!Goroutines.Mutex.canSpin(limit), ordering: .relaxed)
                stop.store(true, ordering: .relaxed)
            }
            #expect(finished)
            #expect(spun.load(ordering: .relaxed) == true)
            #expect(lastRoundRefused.load(ordering: .relaxed) == true)
        }

        /// A goroutine that takes and gives back a free lock or semaphore in a
        /// loop never parks; on one processor, the others run only if each
        /// such operation honours sysmon's preemption request. (The
        /// starvation test below hangs without that at `Mutex.lock` when a
        /// waiter passes its gate before the hog.)
        @Test(arguments: NonParkingStep.allCases)
        func aLoopThatNeverParksIsPreempted(step: NonParkingStep) {
            let primitive = step.prepare()
            let started = Atomic<Bool>(false)
            let released = Atomic<Bool>(false)
            let looperGaveUp = Atomic<Bool>(false)
            let group = WaitGroup()
            withMaxProcs(1) {
                group.add(2)
                go {
                    started.store(true, ordering: .releasing)
                    let deadline = ContinuousClock.now + .seconds(5)
                    while !released.load(ordering: .relaxed), ContinuousClock.now < deadline {
                        primitive.step()
                    }
                    if !released.load(ordering: .relaxed) {
                        looperGaveUp.store(true, ordering: .relaxed)
                    }
                    group.done()
                }
                #expect(SyncTest.eventually { started.load(ordering: .acquiring) })
                go {
                    released.store(true, ordering: .relaxed)
                    group.done()
                }
                #expect(wait(group))
            }
            let gaveUp = looperGaveUp.load(ordering: .relaxed)
            #expect(!gaveUp, "the other goroutine ran only after the \(step) loop stopped")
            #expect(primitive.isFree(), "\(step) left its primitive held")
        }

        /// A hog holds the mutex for 2 ms at a time and relocks at once, while
        /// three goroutines lock and unlock it in a loop. A waiter that has
        /// waited more than 1 ms and then sees the mutex retaken switches it
        /// to hand-off; from then on the waiters get the mutex in turn while
        /// the hog still wants it, and the mode turns off once the queue
        /// drains.
        @Test func starvationModeEngagesAndHandsOff() {
            for procs in [1, 2, 4] {
                let old = Runtime.setMaxProcs(procs)
                defer { Runtime.setMaxProcs(old) }
                let mutex = Goroutines.Mutex()
                let hogRunning = Atomic<Bool>(true)
                let hogRounds = Atomic<Int>(0)
                let handedOver = Atomic<Int>(0)
                let waiters = 3
                let finished = SyncTest.goroutines(waiters + 1) { index in
                    if index == 0 {
                        var rounds = 0
                        while rounds < 500,
                            mutex.starvationEntries.load(ordering: .relaxed) == 0
                                || handedOver.load(ordering: .relaxed) < waiters
                        {
                            mutex.lock()
                            sleep(for: .milliseconds(2))
                            mutex.unlock()
                            rounds += 1
                        }
                        hogRounds.store(rounds, ordering: .relaxed)
                        hogRunning.store(false, ordering: .releasing)
                    } else {
                        while hogRunning.load(ordering: .acquiring) {
                            mutex.lock()
                            // Held in starvation mode: it was handed to us.
                            if mutex.isStarving { handedOver.add(1, ordering: .relaxed) }
                            mutex.unlock()
                        }
                    }
                }
                #expect(finished, "procs \(procs): hung")
                #expect(mutex.starvationEntries.load(ordering: .relaxed) >= 1, "procs \(procs)")
                #expect(handedOver.load(ordering: .relaxed) >= waiters, "procs \(procs)")
                #expect(hogRounds.load(ordering: .relaxed) < 500, "procs \(procs)")
                #expect(mutex.state.load(ordering: .relaxed) == 0, "left starving or locked")
            }
        }
    }
}

/// One step of a loop that succeeds without parking, on a primitive of its
/// own, and a check that the primitive is free again.
enum NonParkingStep: String, CaseIterable, Sendable, CustomStringConvertible {
    case mutexLock, mutexTryLock, readLock, readTryLock, writeTryLock
    case semaphoreAcquire, semaphoreTryAcquire

    var description: String { rawValue }

    /// Makes the primitive; returns one step on it and the freedom check.
    func prepare() -> (step: @Sendable () -> Void, isFree: @Sendable () -> Bool) {
        switch self {
        case .mutexLock:
            let mutex = Goroutines.Mutex()
            return (
                {
                    mutex.lock()
                    mutex.unlock()
                },
                { mutex.state.load(ordering: .relaxed) == 0 }
            )
        case .mutexTryLock:
            let mutex = Goroutines.Mutex()
            return (
                { if mutex.tryLock() { mutex.unlock() } },
                { mutex.state.load(ordering: .relaxed) == 0 }
            )
        case .readLock, .readTryLock, .writeTryLock:
            let rw = RWMutex()
            let isFree: @Sendable () -> Bool = {
                guard rw.tryLock() else { return false }
                rw.unlock()
                return true
            }
            switch self {
            case .readLock:
                return (
                    {
                        rw.rLock()
                        rw.rUnlock()
                    }, isFree
                )
            case .readTryLock: return ({ if rw.tryRLock() { rw.rUnlock() } }, isFree)
            default: return ({ if rw.tryLock() { rw.unlock() } }, isFree)
            }
        case .semaphoreAcquire, .semaphoreTryAcquire:
            let semaphore = Semaphore(1)
            let isFree: @Sendable () -> Bool = {
                guard semaphore.tryAcquire() else { return false }
                semaphore.release()
                return true
            }
            if self == .semaphoreAcquire {
                return (
                    {
                        semaphore.acquire()
                        semaphore.release()
                    }, isFree
                )
            }
            return ({ if semaphore.tryAcquire() { semaphore.release() } }, isFree)
        }
    }
}
