// Threads and goroutines together: plain threads that block on runtime
// primitives, goroutines wired to their thread with lockOSThread, idle
// threads reaped after the keep-alive, and the thread limit.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

extension RuntimeCoreTests {
    @Suite struct ThreadsTests {
        @Test(arguments: [1, 2])
        func plainThreadReceivesFromGoroutines(procs: Int) {
            let count = 2_000
            let channel = Channel<Int>()
            let sum = Counter()
            withMaxProcs(procs) {
                go {
                    for i in 1...count {
                        channel.send(i)
                        if i % 100 == 0 { sleep(for: .microseconds(200)) }
                    }
                }
                let finished = onPlainThread {
                    for _ in 0..<count { sum.add(channel.receive() ?? 0) }
                }
                #expect(finished)
            }
            #expect(sum.count == count * (count + 1) / 2)
        }

        @Test(arguments: [1, 2])
        func plainThreadWaitGroupIsWokenByGoroutines(procs: Int) {
            let rounds = 200
            let finishedWork = Counter()
            withMaxProcs(procs) {
                let finished = onPlainThread {
                    for round in 0..<rounds {
                        let group = WaitGroup()
                        group.add(4)
                        for _ in 0..<4 {
                            go {
                                if round % 2 == 0 { Runtime.yield() }
                                finishedWork.add()
                                group.done()
                            }
                        }
                        group.wait()
                        // Every goroutine of this round is done before wait returns.
                        if finishedWork.count < 4 * (round + 1) { return }
                    }
                }
                #expect(finished)
            }
            #expect(finishedWork.count == 4 * rounds)
        }

        @Test(arguments: [1, 2])
        func plainThreadSendsToGoroutines(procs: Int) {
            let count = 5_000
            let channel = Channel<Int>()
            let sum = Counter()
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(3)
                for _ in 0..<3 {
                    go {
                        for value in channel { sum.add(value) }
                        group.done()
                    }
                }
                let finished = onPlainThread {
                    for i in 1...count { channel.send(i) }
                    channel.close()
                }
                #expect(finished)
                #expect(wait(group))
            }
            #expect(sum.count == count * (count + 1) / 2)
        }

        @Test(arguments: [1, 2])
        func lockedGoroutineKeepsItsThreadExclusively(procs: Int) {
            let lockedThread = Atomic<Int32>(0)
            let strayResumes = Counter()
            let others = SharedSet<Int32>()
            let stop = Atomic<Bool>(false)
            let ping = Channel<Int>()
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(1)
                go {
                    Runtime.lockOSThread()
                    let mine = currentThreadID()
                    lockedThread.store(mine, ordering: .relaxed)
                    for step in 0..<400 {
                        switch step % 4 {
                        case 0: Runtime.yield()
                        case 1: _ = ping.receive()
                        case 2: sleep(for: .microseconds(100))
                        default: blocking(handOff: step % 8 == 3) { _ = usleep(200) }
                        }
                        if currentThreadID() != mine { strayResumes.add() }
                    }
                    Runtime.unlockOSThread()
                    stop.store(true, ordering: .relaxed)
                    group.done()
                }
                for _ in 0..<6 {
                    group.add(1)
                    go {
                        while !stop.load(ordering: .relaxed) {
                            others.insert(currentThreadID())
                            Runtime.yield()
                        }
                        group.done()
                    }
                }
                group.add(1)
                go {
                    for i in 0..<100 {
                        others.insert(currentThreadID())
                        ping.send(i)
                    }
                    group.done()
                }
                #expect(wait(group))
            }
            let mine = lockedThread.load(ordering: .relaxed)
            #expect(mine > 0)
            #expect(strayResumes.count == 0)
            #expect(!others.values.contains(mine), "another goroutine ran on the locked thread")
        }

        @Test(arguments: [1, 2])
        func lockedGoroutinesPingPongWithEachOther(procs: Int) {
            let messages = 3_000
            let ping = Channel<Int>()
            let pong = Channel<Int>()
            let mismatches = Counter()
            let strays = Counter()
            let yields = Counter()
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(2)
                // Each message hands the P from one wired thread to the other.
                go {
                    Runtime.lockOSThread()
                    let mine = currentThreadID()
                    for i in 0..<messages {
                        ping.send(i)
                        if pong.receive() != i { mismatches.add() }
                        if currentThreadID() != mine { strays.add() }
                    }
                    ping.close()
                    Runtime.unlockOSThread()
                    group.done()
                }
                go {
                    Runtime.lockOSThread()
                    let mine = currentThreadID()
                    while let i = ping.receive() {
                        pong.send(i)
                        if currentThreadID() != mine { strays.add() }
                    }
                    Runtime.unlockOSThread()
                    group.done()
                }
                // Unwired goroutines share the processors meanwhile.
                for _ in 0..<4 {
                    group.add(1)
                    go {
                        for _ in 0..<1_000 {
                            Runtime.yield()
                            yields.add()
                        }
                        group.done()
                    }
                }
                #expect(wait(group))
            }
            #expect(mismatches.count == 0)
            #expect(strays.count == 0)
            #expect(yields.count == 4_000)
        }

        @Test func lockOSThreadNests() {
            let strays = Counter()
            let group = WaitGroup()
            withMaxProcs(2) {
                group.add(1)
                go {
                    Runtime.lockOSThread()
                    Runtime.lockOSThread()
                    let mine = currentThreadID()
                    Runtime.unlockOSThread()
                    // Still wired after one unlock of two.
                    for _ in 0..<200 {
                        Runtime.yield()
                        sleep(for: .microseconds(50))
                        if currentThreadID() != mine { strays.add() }
                    }
                    Runtime.unlockOSThread()
                    group.done()
                }
                // Busy goroutines that would move it if it were not wired.
                let stop = Atomic<Bool>(false)
                for _ in 0..<4 {
                    go {
                        while !stop.load(ordering: .relaxed) { Runtime.yield() }
                    }
                }
                #expect(wait(group))
                stop.store(true, ordering: .relaxed)
            }
            #expect(strays.count == 0)
        }

        @Test func goroutineExitingWhileLockedTakesItsThreadDown() {
            let tid = Atomic<Int32>(0)
            let group = WaitGroup()
            group.add(1)
            go {
                Runtime.lockOSThread()
                tid.store(currentThreadID(), ordering: .relaxed)
                group.done()
            }
            #expect(wait(group))
            let wired = tid.load(ordering: .relaxed)
            #expect(wired > 0)
            #expect(poll(timeout: .seconds(5)) { !threadExists(wired) })

            // The runtime goes on running goroutines on other threads.
            let after = WaitGroup()
            after.add(10)
            for _ in 0..<10 { go { after.done() } }
            #expect(wait(after))
        }

        @Test func idleExtraThreadsExitAfterTheKeepAlive() {
            let sched = Scheduler.shared
            let oldKeepAlive = Runtime.threadKeepAlive
            Runtime.threadKeepAlive = .milliseconds(200)
            defer { Runtime.threadKeepAlive = oldKeepAlive }
            let before = Runtime.threadCount

            let group = WaitGroup()
            let sampler = PeakSampler { sched.machineCount.load(ordering: .relaxed) }
            group.add(30)
            for _ in 0..<30 {
                go {
                    blocking(handOff: true) { _ = usleep(150_000) }
                    group.done()
                }
            }
            #expect(wait(group))
            let peak = sampler.stop()
            #expect(peak >= Runtime.maxProcs + 20, "the burst did not grow threads")

            // Within a few keep-alives the extra machines are gone.
            let procs = Runtime.maxProcs
            let shrank = poll(timeout: .seconds(4)) {
                sched.machineCount.load(ordering: .relaxed) <= procs + 2
            }
            #expect(shrank, "machines: \(sched.machineCount.load(ordering: .relaxed))")
            #expect(Runtime.threadCount <= max(before, procs + 6) + 2)
        }

        @Test func passingTheThreadLimitIsFatal() throws {
            let result = try ChildProcess.run(["core-thread-limit"])
            #expect(result.exited(2), "\(result)")
            #expect(
                result.stderr
                    == "runtime: program exceeds 10-thread limit\nfatal error: thread exhaustion\n",
                "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
        }

        @Test func waitPolicyQueuesWorkAtTheLimit() throws {
            let result = try ChildProcess.run(["core-thread-limit-wait"])
            #expect(result.exited(0), "\(result)")
            #expect(result.stderr.isEmpty, "\(result)")
            let match = try #require(
                result.stdout.firstMatch(of: #/completed=40 peak=(\d+)/#), "\(result)")
            // The limit counts machines and sysmon's threads; the process also
            // has the SIGQUIT waiter.
            #expect(Int(match.1)! <= 10 + 1, "\(result)")
        }

        @Test func loweringTheLimitBelowTheThreadCountIsFatalAtOnce() throws {
            let result = try ChildProcess.run(["core-thread-limit-below"])
            #expect(result.exited(2), "\(result)")
            #expect(
                result.stderr
                    == "runtime: program exceeds 5-thread limit\nfatal error: thread exhaustion\n",
                "\(result)")
            #expect(result.stdout.contains("threads="), "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
        }
    }
}
