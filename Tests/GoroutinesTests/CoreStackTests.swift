// Goroutine stacks and the Swift exclusivity state that travels with them:
// deep recursion fits in the default reserve, and goroutines that park in
// the middle of an `inout` access resume cleanly, on any thread.

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
    }
}
