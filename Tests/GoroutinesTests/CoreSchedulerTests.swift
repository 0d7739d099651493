// The scheduler: spawning at scale, run-queue overflow into the global queue,
// parallel use of every processor, resizing GOMAXPROCS under load, and
// sleep parking instead of holding a thread.

import Foundation
import Glibc
import Synchronization
import Testing

@testable import Goroutines

/// A counter shared between goroutines.
final class Counter: Sendable {
    let value = Atomic<Int>(0)

    func add(_ n: Int = 1) { value.add(n, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

/// Burns CPU for about `micros` microseconds without entering the runtime.
@inline(never)
func spin(micros: Int) -> Double {
    let end = ContinuousClock.now + .microseconds(micros)
    var x = 1.0
    while ContinuousClock.now < end {
        for i in 0..<200 { x = x * 1.000_001 + Double(i & 3) }
    }
    return x
}

extension RuntimeCoreTests {
    @Suite struct CoreSchedulerTests {
        @Test(arguments: [1, 2, 8])
        func hundredThousandGoroutinesSpawnAndFinish(procs: Int) {
            let spawners = 100
            let perSpawner = 1_000
            let finished = Counter()
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(spawners * perSpawner)
                for _ in 0..<spawners {
                    go {
                        for _ in 0..<perSpawner {
                            go {
                                finished.add()
                                group.done()
                            }
                        }
                    }
                }
                #expect(wait(group, timeout: .seconds(30)))
            }
            #expect(finished.count == spawners * perSpawner)
        }

        @Test func spawningPastTheLocalRingSpillsToTheGlobalQueue() {
            let spawned = 1_000
            let ran = Counter()
            let peakGlobal = Atomic<Int>(0)
            let globalBeforeYield = Atomic<Int>(-1)
            let group = WaitGroup()
            withMaxProcs(1) {
                group.add(spawned + 1)
                go {
                    // No yield and no park until every child is queued: the
                    // P's ring holds 256 and runnext one; the rest spill.
                    for _ in 0..<spawned {
                        go {
                            ran.add()
                            group.done()
                        }
                        peakGlobal.max(
                            Scheduler.shared.globalCount.load(ordering: .relaxed),
                            ordering: .relaxed)
                    }
                    globalBeforeYield.store(
                        Scheduler.shared.globalCount.load(ordering: .relaxed), ordering: .relaxed)
                    Runtime.yield()
                    group.done()
                }
                #expect(wait(group))
            }
            #expect(peakGlobal.load(ordering: .relaxed) > 0)
            #expect(globalBeforeYield.load(ordering: .relaxed) > 0)
            #expect(ran.count == spawned)
        }

        @Test func queuedGoroutinesHoldNoStack() {
            // 1000 children queued behind a spawner that neither yields nor
            // parks: none has run, so none should hold a stack yet.
            let spawned = 1_000
            let withStacks = Atomic<Int>(-1)
            let queued = Atomic<Int>(-1)
            let ran = Counter()
            let group = WaitGroup()
            withMaxProcs(1) {
                group.add(spawned + 1)
                go {
                    for _ in 0..<spawned {
                        go {
                            ran.add()
                            group.done()
                        }
                    }
                    let runnable = Registry.shared.snapshot().filter {
                        $0.currentStatus == .runnable
                    }
                    queued.store(runnable.count, ordering: .relaxed)
                    withStacks.store(
                        runnable.filter { $0.stack != nil }.count, ordering: .relaxed)
                    group.done()
                }
                #expect(wait(group))
            }
            #expect(queued.load(ordering: .relaxed) >= spawned)
            // Only a goroutine that ran and then yielded may hold one.
            #expect(withStacks.load(ordering: .relaxed) < 10)
            #expect(ran.count == spawned)
        }

        @Test(arguments: [1, 2])
        func aSpawnerThatOutrunsItsProcessorsYields(procs: Int) {
            // Without back-pressure a goroutine spawning 100k children that
            // never park would queue nearly all of them at once.
            let spawned = 100_000
            let peakGlobal = Atomic<Int>(0)
            let ranDuringLoop = Atomic<Int>(0)
            let ran = Counter()
            let group = WaitGroup()
            let before = Scheduler.shared.backPressureYields.load(ordering: .relaxed)
            withMaxProcs(procs) {
                group.add(spawned + 1)
                go {
                    for _ in 0..<spawned {
                        go {
                            ran.add()
                            group.done()
                        }
                        peakGlobal.max(
                            Scheduler.shared.globalCount.load(ordering: .relaxed),
                            ordering: .relaxed)
                    }
                    ranDuringLoop.store(ran.count, ordering: .relaxed)
                    group.done()
                }
                #expect(wait(group, timeout: .seconds(60)))
            }
            #expect(ran.count == spawned)
            // The limit, plus a burst of spawns, spilled half a ring at a
            // time, and what other Ps spill; with slack for a loaded machine,
            // where a back-off may end on its deadline before the backlog
            // is down.
            #expect(
                peakGlobal.load(ordering: .relaxed)
                    <= spawnBacklogLimit + 4 * spawnBurst)
            #expect(ranDuringLoop.load(ordering: .relaxed) >= spawned - 8_000)
            #expect(Scheduler.shared.backPressureYields.load(ordering: .relaxed) > before)
        }

        @Test(arguments: [1, 2])
        func aHeldBackSpawnerIsNotStarvedByWhatItSpawned(procs: Int) {
            // 1500 children spin until the spawner, after its loop, sets a
            // flag. Back-pressure holds the spawner back once; it must then
            // resume after one time slice, not after every child's.
            let spawned = 1_500
            let release = Atomic<Bool>(false)
            let group = WaitGroup()
            let before = Scheduler.shared.backPressureYields.load(ordering: .relaxed)
            withMaxProcs(procs) {
                group.add(spawned + 1)
                go {
                    for _ in 0..<spawned {
                        go {
                            while !release.load(ordering: .relaxed) { Runtime.preemptionPoint() }
                            group.done()
                        }
                    }
                    release.store(true, ordering: .relaxed)
                    group.done()
                }
                // A whole slice per child would take 15 s or more.
                #expect(wait(group, timeout: .seconds(8)))
                release.store(true, ordering: .relaxed)
                #expect(wait(group, timeout: .seconds(60)))
            }
            if procs == 1 {
                #expect(Scheduler.shared.backPressureYields.load(ordering: .relaxed) > before)
            }
        }

        @Test func aHeldBackSpawnerMovesToAnotherProcessorPastItsDeadline() {
            // While the spawner is held back inside `go`, a child starts on
            // its thread and runs without entering the runtime until the
            // spawner finishes its loop (3 s at most). The other P must take
            // the spawner once the back-off deadline passes.
            let spawned = 5_000
            for _ in 0..<5 {
                let spawnerThread = Atomic<UInt>(0)
                let insideGo = Atomic<Bool>(false)
                let progress = Atomic<Int>(0)
                let longTaken = Atomic<Bool>(false)
                let release = Atomic<Bool>(false)
                let loopNanos = Atomic<Int>(0)
                let group = WaitGroup()
                withMaxProcs(2) {
                    group.add(spawned + 1)
                    go {
                        let start = ContinuousClock.now
                        for i in 0..<spawned {
                            spawnerThread.store(UInt(pthread_self()), ordering: .relaxed)
                            progress.store(i, ordering: .relaxed)
                            insideGo.store(true, ordering: .relaxed)
                            go {
                                let mine = UInt(pthread_self())
                                if insideGo.load(ordering: .relaxed),
                                    progress.load(ordering: .relaxed) >= 1_100,
                                    spawnerThread.load(ordering: .relaxed) == mine,
                                    !longTaken.exchange(true, ordering: .relaxed)
                                {
                                    let begin = ContinuousClock.now
                                    while !release.load(ordering: .relaxed),
                                        ContinuousClock.now - begin < .seconds(3)
                                    {}
                                }
                                group.done()
                            }
                            insideGo.store(false, ordering: .relaxed)
                        }
                        let took = ContinuousClock.now - start
                        loopNanos.store(
                            Int(took.components.seconds) * 1_000_000_000
                                + Int(took.components.attoseconds / 1_000_000_000),
                            ordering: .relaxed)
                        release.store(true, ordering: .relaxed)
                        group.done()
                    }
                    #expect(wait(group, timeout: .seconds(30)))
                }
                #expect(loopNanos.load(ordering: .relaxed) < 1_000_000_000)
            }
        }

        @Test func parkingOrYieldingStartsANewSpawnBurst() {
            // Back-pressure counts spawns in a row: a goroutine that spawns
            // between waits (an accept loop, say) is never counted as a burst.
            let counts = SharedArray<Int>()
            let group = WaitGroup()
            group.add(1)
            go {
                let count = { Machine.current?.current?.spawnCount ?? -1 }
                let children = WaitGroup()
                children.add(20)
                for _ in 0..<10 { go { children.done() } }
                counts.append(count())
                sleep(for: .milliseconds(1))
                counts.append(count())
                for _ in 0..<10 { go { children.done() } }
                counts.append(count())
                Runtime.yield()
                counts.append(count())
                children.wait()
                group.done()
            }
            #expect(wait(group))
            #expect(counts.values == [10, 0, 10, 0])
        }

        @Test(arguments: [1, 2])
        func aTreeOfSpawnersIsNotHeldBack(procs: Int) {
            // 200 parents spawning 100 children each queue far more than the
            // backlog limit, but none spawns a burst: nobody is made to yield.
            let parents = 200
            let children = 100
            let ran = Counter()
            let peakGlobal = Atomic<Int>(0)
            let group = WaitGroup()
            let before = Scheduler.shared.backPressureYields.load(ordering: .relaxed)
            withMaxProcs(procs) {
                group.add(1)
                go {
                    let all = WaitGroup()
                    all.add(parents * (children + 1))
                    for _ in 0..<parents {
                        go {
                            for _ in 0..<children {
                                go {
                                    ran.add()
                                    all.done()
                                }
                            }
                            peakGlobal.max(
                                Scheduler.shared.globalCount.load(ordering: .relaxed),
                                ordering: .relaxed)
                            all.done()
                        }
                    }
                    all.wait()
                    group.done()
                }
                #expect(wait(group, timeout: .seconds(60)))
            }
            #expect(ran.count == parents * children)
            let yields = Scheduler.shared.backPressureYields.load(ordering: .relaxed) - before
            #expect(yields == 0)
            if procs == 1 { #expect(peakGlobal.load(ordering: .relaxed) > spawnBacklogLimit) }
        }

        @Test func cpuBoundGoroutinesUseEveryProcessor() {
            let threads = SharedSet<Int32>()
            let running = Atomic<Int>(0)
            let mostAtOnce = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
            let group = WaitGroup()
            withMaxProcs(2) {
                for _ in 0..<4 {
                    group.add(1)
                    go {
                        let deadline = ContinuousClock.now + .seconds(3)
                        while !stop.load(ordering: .relaxed), ContinuousClock.now < deadline {
                            threads.insert(currentThreadID())
                            let now = running.add(1, ordering: .relaxed).newValue
                            mostAtOnce.max(now, ordering: .relaxed)
                            _ = spin(micros: 500)
                            let after = running.load(ordering: .relaxed)
                            mostAtOnce.max(after, ordering: .relaxed)
                            running.subtract(1, ordering: .relaxed)
                            if mostAtOnce.load(ordering: .relaxed) >= 2, threads.values.count >= 2 {
                                stop.store(true, ordering: .relaxed)
                            }
                            Runtime.yield()
                        }
                        group.done()
                    }
                }
                #expect(wait(group))
            }
            #expect(threads.values.count >= 2)
            #expect(mostAtOnce.load(ordering: .relaxed) == 2)
        }

        @Test func resizingMaxProcsUnderLoadLosesNoWork() {
            let workers = 64
            let steps = 300
            let total = Counter()
            let finishedWorkers = Counter()
            let group = WaitGroup()
            let results = Channel<Int>(capacity: 8)
            let old = Runtime.maxProcs
            group.add(workers)
            for w in 0..<workers {
                go {
                    var sum = 0
                    for step in 0..<steps {
                        sum += w * steps + step
                        if step % 3 == 0 { Runtime.yield() }
                        if step % 50 == 0 { _ = spin(micros: 50) }
                    }
                    results.send(sum)
                    finishedWorkers.add()
                    group.done()
                }
            }
            let collector = WaitGroup()
            collector.add(1)
            go {
                for sum in results { total.add(sum) }
                collector.done()
            }

            // Grow and shrink repeatedly while the workers run.
            let sizes = [1, 3, 2, 8, 1, 4, 1, 2, 6, 1]
            var resizes = 0
            let deadline = ContinuousClock.now + .seconds(20)
            while finishedWorkers.count < workers, ContinuousClock.now < deadline {
                Runtime.setMaxProcs(sizes[resizes % sizes.count])
                #expect(Runtime.maxProcs == sizes[resizes % sizes.count])
                resizes += 1
                usleep(1_000)
            }
            Runtime.setMaxProcs(2)
            #expect(wait(group))
            results.close()
            #expect(wait(collector))
            Runtime.setMaxProcs(old)

            let n = workers * steps
            #expect(total.count == n * (n - 1) / 2)
            #expect(resizes > 0)
        }

        @Test func preemptionPointLetsOthersRunOnOneProcessor() {
            let released = Atomic<Bool>(false)
            let hogRounds = Atomic<Int>(0)
            let hogGaveUp = Atomic<Bool>(false)
            let group = WaitGroup()
            withMaxProcs(1) {
                group.add(2)
                go {
                    // Spins until the other goroutine runs; only sysmon's
                    // request, honoured at the preemption point, lets it.
                    let deadline = ContinuousClock.now + .seconds(5)
                    while !released.load(ordering: .relaxed), ContinuousClock.now < deadline {
                        _ = spin(micros: 100)
                        hogRounds.add(1, ordering: .relaxed)
                        Runtime.preemptionPoint()
                    }
                    if !released.load(ordering: .relaxed) {
                        hogGaveUp.store(true, ordering: .relaxed)
                    }
                    group.done()
                }
                go {
                    released.store(true, ordering: .relaxed)
                    group.done()
                }
                #expect(wait(group))
            }
            let gaveUp = hogGaveUp.load(ordering: .relaxed)
            #expect(!gaveUp, "the other goroutine ran only after the hog stopped")
            #expect(hogRounds.load(ordering: .relaxed) > 0)
        }

        @Test func pingPongPairDoesNotStarveOthers() {
            let stop = Atomic<Bool>(false)
            let exchanges = Counter()
            let ranAt = Atomic<Int>(-1)
            let ping = Channel<Int>()
            let pong = Channel<Int>()
            let group = WaitGroup()
            withMaxProcs(1) {
                group.add(2)
                go {
                    var i = 0
                    while !stop.load(ordering: .relaxed) {
                        ping.send(i)
                        _ = pong.receive()
                        i += 1
                        exchanges.add()
                    }
                    ping.close()
                    group.done()
                }
                go {
                    while let i = ping.receive() { pong.send(i) }
                    group.done()
                }
                // The pair hands the P back and forth through runnext; a
                // third goroutine must still get its turn.
                #expect(poll(timeout: .seconds(5)) { exchanges.count > 100 })
                let bystander = WaitGroup()
                bystander.add(1)
                go {
                    ranAt.store(exchanges.count, ordering: .relaxed)
                    bystander.done()
                }
                #expect(wait(bystander, timeout: .seconds(5)))
                stop.store(true, ordering: .relaxed)
                #expect(wait(group))
            }
            #expect(ranAt.load(ordering: .relaxed) > 0)
        }

        @Test(arguments: [1, 2])
        func thirtyThousandGoroutinesParkAtOnce(procs: Int) {
            let count = 30_000
            let gate = Channel<Int>()
            let parked = Counter()
            let released = Counter()
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(count)
                for _ in 0..<count {
                    go {
                        parked.add()
                        if gate.receive() == nil { released.add() }
                        group.done()
                    }
                }
                #expect(poll(timeout: .seconds(20)) { parked.count == count })
                #expect(Runtime.numGoroutine >= count)
                gate.close()
                #expect(wait(group, timeout: .seconds(30)))
            }
            #expect(released.count == count)
        }

        @Test func sleepParksInsteadOfHoldingTheThread() {
            let sleepers = 100
            let group = WaitGroup()
            let start = ContinuousClock.now
            withMaxProcs(1) {
                group.add(sleepers)
                for _ in 0..<sleepers {
                    go {
                        sleep(for: .milliseconds(50))
                        group.done()
                    }
                }
                #expect(wait(group))
            }
            let elapsed = ContinuousClock.now - start
            // Sleeping threads would need 100 × 50 ms = 5 s on one P.
            #expect(elapsed < .milliseconds(2_500), "took \(elapsed)")
        }

        @Test func sleepWaitsAtLeastItsDuration() {
            let shortest = Atomic<Int64>(Int64.max)
            let group = WaitGroup()
            group.add(20)
            for i in 0..<20 {
                go {
                    let start = ContinuousClock.now
                    sleep(for: .milliseconds(10 + i))
                    let took = (ContinuousClock.now - start) - .milliseconds(10 + i)
                    shortest.min(took.nanosecondsClamped, ordering: .relaxed)
                    group.done()
                }
            }
            #expect(wait(group))
            #expect(shortest.load(ordering: .relaxed) >= 0)
        }
    }
}
