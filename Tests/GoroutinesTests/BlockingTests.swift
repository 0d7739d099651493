// Blocking regions free their processor: other goroutines run while one
// blocks, marked or not; long regions grow a thread each, quick ones don't.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

/// How a goroutine blocks its thread in these tests.
enum BlockingKind: String, CaseIterable, Sendable {
    /// Inside `blocking { }`, which the runtime sees.
    case marked
    /// A bare `usleep`, which only sysmon's look at the thread reveals.
    case unmarked

    func sleep(micros: UInt32) {
        switch self {
        case .marked: blocking { _ = usleep(micros) }
        case .unmarked: _ = usleep(micros)
        }
    }
}

extension RuntimeCoreTests {
    @Suite struct BlockingTests {
        @Test(arguments: BlockingKind.allCases)
        func runnableGoroutineRunsWhileAnotherBlocks(kind: BlockingKind) {
            for round in 0..<2 {
                let blockerStarted = FinishFlag()
                let blockerReturned = FinishFlag()
                let ranDuringBlock = Atomic<Int>(-1)
                let group = WaitGroup()
                withMaxProcs(1) {
                    group.add(2)
                    go {
                        blockerStarted.set()
                        kind.sleep(micros: 300_000)
                        blockerReturned.set()
                        group.done()
                    }
                    #expect(poll(timeout: .seconds(5)) { blockerStarted.isSet })
                    go {
                        ranDuringBlock.store(blockerReturned.isSet ? 0 : 1, ordering: .relaxed)
                        group.done()
                    }
                    #expect(wait(group))
                }
                #expect(
                    ranDuringBlock.load(ordering: .relaxed) == 1,
                    "round \(round): the runnable goroutine waited for the \(kind) blocker")
            }
        }

        /// Invariant: only threads holding a P run goroutine code, so at most
        /// GOMAXPROCS goroutines run at once outside blocking regions, however
        /// often regions lose their P and threads come back for one.
        @Test(arguments: [1, 2])
        func leavingARegionWaitsForAProcessor(procs: Int) {
            let running = Atomic<Int>(0)
            let mostAtOnce = Atomic<Int>(0)
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(8)
                for index in 0..<8 {
                    go {
                        for step in 0..<20 {
                            blocking { _ = usleep(UInt32((index * 7 + step * 3) % 5) * 400) }
                            let now = running.add(1, ordering: .relaxed).newValue
                            mostAtOnce.max(now, ordering: .relaxed)
                            _ = spin(micros: 200)
                            mostAtOnce.max(running.load(ordering: .relaxed), ordering: .relaxed)
                            running.subtract(1, ordering: .relaxed)
                            if step % 4 == 0 { Runtime.yield() }
                        }
                        group.done()
                    }
                }
                #expect(wait(group))
            }
            #expect(mostAtOnce.load(ordering: .relaxed) <= procs)
            #expect(mostAtOnce.load(ordering: .relaxed) >= 1)
        }

        @Test(arguments: [1, 2])
        func unmarkedSleepersAndBusyGoroutinesAllFinish(procs: Int) {
            let sleepers = 20
            let spinners = 4
            let work = Counter()
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(sleepers + spinners)
                // Sleepers lose their P to sysmon while in usleep, and must
                // get one back at their next runtime entry.
                for _ in 0..<sleepers {
                    go {
                        for _ in 0..<10 {
                            _ = usleep(3_000)
                            _ = spin(micros: 100)
                            work.add()
                            Runtime.yield()
                        }
                        group.done()
                    }
                }
                for _ in 0..<spinners {
                    go {
                        for _ in 0..<2_000 {
                            _ = spin(micros: 5)
                            work.add()
                            Runtime.yield()
                        }
                        group.done()
                    }
                }
                #expect(wait(group))
            }
            #expect(work.count == sleepers * 10 + spinners * 2_000)
        }

        @Test(arguments: BlockingKind.allCases)
        func sleepersWakeOnTimeWhileTheOnlyProcessorCyclesThroughRegions(kind: BlockingKind) {
            // The blocker's thread takes the idle P back after each 40 ms
            // region and enters the next at once. The P must still be taken
            // from it when a sleeper wakes, even if the monitor had gone to
            // its deep sleep while every P was idle.
            let stop = Atomic<Bool>(false)
            let late = Atomic<Int>(0)
            let worst = Atomic<Int>(0)
            let samples = 120
            let group = WaitGroup()
            withMaxProcs(1) {
                group.add(2)
                go {
                    while !stop.load(ordering: .relaxed) { kind.sleep(micros: 40_000) }
                    group.done()
                }
                go {
                    for i in 0..<samples {
                        let pause = Duration.milliseconds(1 + i % 3)
                        let start = ContinuousClock.now
                        sleep(for: pause)
                        let over = (ContinuousClock.now - start - pause)
                        let micros =
                            Int(over.components.seconds) * 1_000_000
                            + Int(over.components.attoseconds / 1_000_000_000_000)
                        worst.max(micros, ordering: .relaxed)
                        if micros > 30_000 { late.add(1, ordering: .relaxed) }
                    }
                    stop.store(true, ordering: .relaxed)
                    group.done()
                }
                #expect(wait(group, timeout: .seconds(60)))
            }
            // Waking late by a whole region, or by the monitor's 100 ms deep
            // sleep, is the fault; a rare hiccup of a loaded machine is not.
            #expect(
                late.load(ordering: .relaxed) <= 2, "worst \(worst.load(ordering: .relaxed)) µs")
        }

        @Test func longRegionsGetAThreadEach() {
            let sched = Scheduler.shared
            let oldKeepAlive = Runtime.threadKeepAlive
            Runtime.threadKeepAlive = .milliseconds(200)
            defer { Runtime.threadKeepAlive = oldKeepAlive }
            let before = Runtime.threadCount
            let inside = Counter()
            let mostInside = Atomic<Int>(0)
            let group = WaitGroup()
            let threads = PeakSampler { Runtime.threadCount }
            let machines = PeakSampler { sched.machineCount.load(ordering: .relaxed) }
            group.add(100)
            for _ in 0..<100 {
                go {
                    blocking {
                        inside.add()
                        mostInside.max(inside.count, ordering: .relaxed)
                        _ = usleep(500_000)
                        inside.add(-1)
                    }
                    group.done()
                }
            }
            #expect(wait(group))
            let peakThreads = threads.stop()
            let peakMachines = machines.stop()
            #expect(mostInside.load(ordering: .relaxed) == 100)
            #expect(peakThreads >= 100, "threads before: \(before), peak: \(peakThreads)")
            #expect(peakMachines >= 100)
        }

        /// Quick regions keep their P, so threads stay near GOMAXPROCS. A thread
        /// that the kernel preempts inside a region for longer than a sysmon
        /// round is handed off, as in Go, so a busy machine adds a few; a
        /// hand-off per call would need a thread per goroutine (32 here).
        @Test(arguments: [1, 2])
        func quickRegionsKeepTheThreadCountLow(procs: Int) {
            let sched = Scheduler.shared
            let goroutines = 32
            let slack = 8
            let oldKeepAlive = Runtime.threadKeepAlive
            Runtime.threadKeepAlive = .milliseconds(100)
            defer { Runtime.threadKeepAlive = oldKeepAlive }
            withMaxProcs(procs) {
                // Let machines left idle by earlier tests go first.
                _ = poll(timeout: .seconds(3)) {
                    sched.machineCount.load(ordering: .relaxed) <= procs + 2
                }
                let start = sched.machineCount.load(ordering: .relaxed)
                let machines = PeakSampler { sched.machineCount.load(ordering: .relaxed) }
                let threads = PeakSampler { Runtime.threadCount }
                // Counted after the samplers' own threads exist; plus one for
                // the thread `wait` uses.
                let startThreads = Runtime.threadCount + 1
                let calls = Counter()
                let group = WaitGroup()
                group.add(goroutines)
                for _ in 0..<goroutines {
                    go {
                        for i in 0..<3_000 {
                            let pid = blocking { getpid() }
                            if pid > 0 { calls.add() }
                            if i % 500 == 0 { Runtime.yield() }
                        }
                        group.done()
                    }
                }
                #expect(wait(group))
                let peakMachines = machines.stop()
                let peakThreads = threads.stop()
                #expect(calls.count == goroutines * 3_000)
                #expect(
                    peakMachines <= max(start, procs) + slack,
                    "machines: start \(start), peak \(peakMachines)")
                #expect(
                    peakThreads <= startThreads + procs + slack,
                    "threads: start \(startThreads), peak \(peakThreads)")
            }
        }
    }
}
