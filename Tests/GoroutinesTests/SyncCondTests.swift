// Cond: signal wakes one waiter, broadcast wakes all, no wake-up is lost
// between unlocking and parking, and a signal with no waiter is not banked.

import Synchronization
import Testing

@testable import Goroutines

/// The example from Cond's documentation.
private final class Mailbox: @unchecked Sendable {  // `letters` is guarded by `mutex`
    private let mutex = Goroutines.Mutex()
    private let arrived: Cond
    private var letters: [String] = []

    init() { arrived = Cond(mutex) }

    func post(_ letter: String) {
        mutex.withLock { letters.append(letter) }
        arrived.signal()
    }

    func take() -> String {
        mutex.lock()
        defer { mutex.unlock() }
        while letters.isEmpty { arrived.wait() }
        return letters.removeFirst()
    }
}

extension SyncTests {
    @Suite struct CondTests {
        /// The documented mailbox: takers park until letters arrive, and every
        /// letter is taken exactly once.
        @Test func documentedMailboxWorks() {
            SyncTest.forEachProcs { procs in
                let mailbox = Mailbox()
                let taken = SyncTest.EventLog<String>()
                let finished = SyncTest.goroutines(6) { index in
                    if index < 3 {
                        for _ in 0..<100 { taken.append(mailbox.take()) }
                    } else {
                        for i in 0..<100 { mailbox.post("\(index)-\(i)") }
                    }
                }
                #expect(finished, "procs \(procs): hung")
                #expect(Set(taken.events).count == 300)
            }
        }

        typealias Guarded = SyncTest.Guarded

        /// A bounded queue of one slot built from a mutex and a cond: a
        /// producer and consumers hand 2000 items over with `signal`. A lost
        /// wake-up hangs it; a duplicate delivery breaks the sum.
        @Test func signalHandsOverEveryItem() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<10 {
                    let mutex = Goroutines.Mutex()
                    let cond = Cond(mutex)
                    let slot = Guarded<Int?>(nil)
                    let consumed = Atomic<Int>(0)
                    let sum = Atomic<Int>(0)
                    let items = 2_000
                    let consumers = 3
                    let finished = SyncTest.goroutines(consumers + 1) { index in
                        mutex.lock()
                        defer { mutex.unlock() }
                        if index == 0 {
                            for item in 1...items {
                                while slot.value != nil { cond.wait() }
                                slot.value = item
                                cond.broadcast()
                            }
                            // Tell the consumers to stop: -1 per consumer.
                            for _ in 0..<consumers {
                                while slot.value != nil { cond.wait() }
                                slot.value = -1
                                cond.broadcast()
                            }
                        } else {
                            while true {
                                while slot.value == nil { cond.wait() }
                                let item = slot.value!
                                slot.value = nil
                                cond.signal()
                                cond.broadcast()
                                if item < 0 { return }
                                consumed.add(1, ordering: .relaxed)
                                sum.add(item, ordering: .relaxed)
                            }
                        }
                    }
                    #expect(finished, "procs \(procs): hung (lost wake-up)")
                    #expect(consumed.load(ordering: .relaxed) == items)
                    #expect(sum.load(ordering: .relaxed) == items * (items + 1) / 2)
                }
            }
        }

        /// `signal` wakes exactly one parked waiter, the one that waited
        /// longest; each further signal wakes the next.
        @Test func signalWakesOneWaiterInOrder() {
            for _ in 0..<20 {
                let mutex = Goroutines.Mutex()
                let cond = Cond(mutex)
                let woken = SyncTest.EventLog<Int>()
                let extraWakes = Atomic<Int>(0)
                let finished = SyncTest.inGoroutine {
                    let done = WaitGroup()
                    done.add(3)
                    for i in 0..<3 {
                        go {
                            mutex.lock()
                            cond.wait()
                            woken.append(i)
                            mutex.unlock()
                            done.done()
                        }
                        // Wait until waiter i is parked before starting the next.
                        _ = SyncTest.eventually { cond.parkedCount == i + 1 }
                    }
                    for expected in 1...3 {
                        cond.signal()
                        _ = SyncTest.eventually { woken.events.count == expected }
                        // Nobody else woke: the others are still parked.
                        if cond.parkedCount != 3 - expected {
                            extraWakes.add(1, ordering: .relaxed)
                        }
                    }
                    done.wait()
                }
                #expect(finished)
                #expect(woken.events == [0, 1, 2])
                #expect(extraWakes.load(ordering: .relaxed) == 0)
            }
        }

        @Test func broadcastWakesEveryWaiter() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<20 {
                    let mutex = Goroutines.Mutex()
                    let cond = Cond(mutex)
                    let ready = Guarded(false)
                    let waiters = 8
                    let finished = SyncTest.inGoroutine {
                        let done = WaitGroup()
                        done.add(waiters)
                        for _ in 0..<waiters {
                            go {
                                mutex.lock()
                                while !ready.value { cond.wait() }
                                mutex.unlock()
                                done.done()
                            }
                        }
                        _ = SyncTest.eventually { cond.parkedCount == waiters }
                        mutex.withLock { ready.value = true }
                        cond.broadcast()
                        done.wait()
                    }
                    #expect(finished, "procs \(procs): a waiter missed the broadcast")
                }
            }
        }

        /// A signal sent when nobody waits is lost, as in Go: a later waiter
        /// parks and needs a signal of its own.
        @Test func signalWithoutWaitersIsNotBanked() {
            let mutex = Goroutines.Mutex()
            let cond = Cond(mutex)
            let woke = Atomic<Bool>(false)
            let wokeEarly = Atomic<Bool>(false)
            let finished = SyncTest.inGoroutine {
                cond.signal()
                cond.broadcast()
                let done = Channel<Void>()
                go {
                    mutex.lock()
                    cond.wait()
                    woke.store(true, ordering: .relaxed)
                    mutex.unlock()
                    done.send(())
                }
                // It parks: the earlier signals did not let it through.
                _ = SyncTest.eventually { cond.parkedCount == 1 }
                wokeEarly.store(woke.load(ordering: .relaxed), ordering: .relaxed)
                cond.signal()
                done.receive()
            }
            #expect(finished)
            #expect(wokeEarly.load(ordering: .relaxed) == false)
            #expect(woke.load(ordering: .relaxed) == true)
        }

        /// Works with an RWMutex's write side and read side as its locker.
        @Test func waitsOnAnRWMutex() {
            let rw = RWMutex()
            for locker in [rw as any Locker, rw.readLocker] {
                let cond = Cond(locker)
                let flag = Atomic<Bool>(false)
                let finished = SyncTest.inGoroutine {
                    let done = Channel<Void>()
                    go {
                        locker.lock()
                        while !flag.load(ordering: .relaxed) { cond.wait() }
                        locker.unlock()
                        done.send(())
                    }
                    _ = SyncTest.eventually { cond.parkedCount == 1 }
                    flag.store(true, ordering: .relaxed)
                    cond.signal()
                    done.receive()
                }
                #expect(finished)
            }
            #expect(rw.tryLock())
            rw.unlock()
        }
    }
}
