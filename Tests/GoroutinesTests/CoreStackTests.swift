// Goroutine stacks and the Swift exclusivity state that travels with them:
// deep recursion fits in the default reserve, and goroutines that park in
// the middle of an `inout` access resume cleanly, on any thread.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

/// Keeps the compiler from proving a frame unused.
@_optimize(none)
func keepAlive(_ pointer: UnsafeMutableRawPointer) {}

/// The address of a local in the caller's frame.
@inline(never)
func stackAddress() -> UInt {
    var marker = 0
    return withUnsafeMutableBytes(of: &marker) { bytes in
        keepAlive(bytes.baseAddress!)
        return UInt(bitPattern: bytes.baseAddress!)
    }
}

/// Recurses until the stack has grown `target` bytes below `top`, then
/// returns the depth reached. Each frame holds 128 bytes of its own.
@inline(never)
func recurse(top: UInt, target: UInt, depth: Int) -> Int {
    var frame = (depth, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    let here = withUnsafeMutableBytes(of: &frame) { bytes in
        keepAlive(bytes.baseAddress!)
        return UInt(bitPattern: bytes.baseAddress!)
    }
    if top - here >= target { return depth }
    frame.1 = recurse(top: top, target: target, depth: depth + 1)
    return frame.1 + frame.0 - depth
}

/// An object whose stored property goroutines modify through `inout`.
final class Tally {
    var value = 0
}

/// Holds a modify access to `value` across several parks, counting the
/// parks after which the goroutine resumed on another thread.
@inline(never)
func addWhileParked(_ value: inout Int, from channel: Channel<Int>, times: Int, moves: Counter) {
    for _ in 0..<times {
        let before = currentThreadID()
        value += channel.receive() ?? 0
        Runtime.yield()
        if currentThreadID() != before { moves.add() }
    }
}

/// The size of the running goroutine's stack, or nil off a goroutine.
func currentStackSize() -> Int? {
    Machine.current?.current?.stack?.size
}

/// How many mappings the process has.
func mappingCount() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else {
        return -1
    }
    return text.split(separator: "\n").count
}

extension RuntimeCoreTests {
    @Suite struct CoreStackTests {
        @Test func deepRecursionFitsInTheDefaultStack() {
            #expect(Runtime.stackSize >= 150 * 1024)
            let depth = Atomic<Int>(0)
            let group = WaitGroup()
            group.add(1)
            go {
                let top = stackAddress()
                let reached = recurse(top: top, target: 150 * 1024, depth: 0)
                depth.store(reached, ordering: .relaxed)
                group.done()
            }
            #expect(wait(group))
            // 150 KiB of 128-byte-plus frames is at least several hundred deep.
            #expect(depth.load(ordering: .relaxed) >= 500)
        }

        @Test(arguments: [1, 2])
        func parkingInsideAnInoutAccessResumesCleanly(procs: Int) {
            let goroutines = 40
            let rounds = 25
            let moves = Counter()
            // Batches until some access has resumed on another thread (the
            // point of the test), which two processors make all but certain.
            for batch in 0..<20 {
                let totals = SharedArray<Int>()
                let group = WaitGroup()
                let feeders = WaitGroup()
                withMaxProcs(procs) {
                    group.add(goroutines)
                    feeders.add(goroutines)
                    for index in 0..<goroutines {
                        let feed = Channel<Int>()
                        go {
                            let tally = Tally()
                            addWhileParked(&tally.value, from: feed, times: rounds, moves: moves)
                            // The access ended: a fresh one must be allowed.
                            tally.value += 1
                            totals.append(tally.value)
                            group.done()
                        }
                        go {
                            for round in 0..<rounds {
                                feed.send(index + round)
                                _ = spin(micros: 5)
                            }
                            feeders.done()
                        }
                    }
                    #expect(wait(feeders))
                    #expect(wait(group))
                }
                let expected = (0..<goroutines).map { index in
                    (0..<rounds).reduce(1) { $0 + index + $1 }
                }
                #expect(totals.values.sorted() == expected.sorted(), "batch \(batch)")
                if procs == 1 || moves.count > 0 { break }
            }
            if procs > 1 {
                #expect(moves.count > 0, "no access ever resumed on another thread")
            }
        }

        @Test func aGoroutineGetsTheStackSizeInForceWhenItWasSpawned() {
            // The child is queued behind its parent until the parent parks,
            // by which time the size is back to the default.
            let old = Runtime.stackSize
            defer { Runtime.stackSize = old }
            let seen = Atomic<Int>(0)
            let group = WaitGroup()
            withMaxProcs(1) {
                group.add(2)
                go {
                    Runtime.stackSize = 4 << 20
                    go {
                        seen.store(currentStackSize() ?? -1, ordering: .relaxed)
                        let top = stackAddress()
                        _ = recurse(top: top, target: 2 << 20, depth: 0)
                        group.done()
                    }
                    Runtime.stackSize = old
                    group.done()
                }
                #expect(wait(group))
            }
            #expect(seen.load(ordering: .relaxed) == 4 << 20)
        }

        @Test(arguments: [1, 2])
        func changingTheStackSizeWhileSpawningNeitherHangsNorLeaks(procs: Int) {
            let old = Runtime.stackSize
            defer { Runtime.stackSize = old }
            let stop = Atomic<Bool>(false)
            let batches = Counter()
            let group = WaitGroup()
            withMaxProcs(procs) {
                group.add(3)
                go {
                    var toggles = 0
                    while !stop.load(ordering: .relaxed) {
                        toggles += 1
                        Runtime.stackSize = toggles % 2 == 0 ? 64 << 10 : 128 << 10
                        Runtime.yield()
                    }
                    group.done()
                }
                for _ in 0..<2 {
                    go {
                        for _ in 0..<150 {
                            let batch = WaitGroup()
                            batch.add(200)
                            for _ in 0..<200 { go { batch.done() } }
                            batch.wait()
                            batches.add()
                        }
                        group.done()
                        if batches.count == 300 { stop.store(true, ordering: .relaxed) }
                    }
                }
                #expect(wait(group, timeout: .seconds(60)))
                stop.store(true, ordering: .relaxed)
            }
            #expect(batches.count == 300)
        }

        @Test func stacksOfAnOldSizeAreUnmapped() {
            // Each round runs one goroutine on a stack of the size just set,
            // so a stack of the other size waits in a cache every time.
            let old = Runtime.stackSize
            defer { Runtime.stackSize = old }
            let before = Atomic<Int>(0)
            let after = Atomic<Int>(0)
            let group = WaitGroup()
            withMaxProcs(1) {
                group.add(1)
                go {
                    for round in 0..<2_000 {
                        if round == 100 { before.store(mappingCount(), ordering: .relaxed) }
                        Runtime.stackSize = round % 2 == 0 ? 64 << 10 : 128 << 10
                        let one = WaitGroup()
                        one.add(1)
                        go { one.done() }
                        one.wait()
                    }
                    after.store(mappingCount(), ordering: .relaxed)
                    group.done()
                }
                #expect(wait(group, timeout: .seconds(60)))
            }
            #expect(before.load(ordering: .relaxed) > 0)
            #expect(after.load(ordering: .relaxed) - before.load(ordering: .relaxed) < 100)
        }
    }
}
