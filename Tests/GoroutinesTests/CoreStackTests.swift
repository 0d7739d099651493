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

/// Holds a modify access to `value` across several parks.
@inline(never)
func addWhileParked(_ value: inout Int, from channel: Channel<Int>, times: Int) {
    for _ in 0..<times {
        value += channel.receive() ?? 0
        Runtime.yield()
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
            let totals = SharedArray<Int>()
            let moved = Counter()
            let group = WaitGroup()
            withMaxProcs(procs) {
                var feeds: [Channel<Int>] = []
                group.add(goroutines)
                for _ in 0..<goroutines {
                    let feed = Channel<Int>()
                    feeds.append(feed)
                    go {
                        let tally = Tally()
                        let before = currentThreadID()
                        addWhileParked(&tally.value, from: feed, times: rounds)
                        if currentThreadID() != before { moved.add() }
                        // The access ended: a fresh one must be allowed.
                        tally.value += 1
                        totals.append(tally.value)
                        group.done()
                    }
                }
                let feeders = WaitGroup()
                for (index, feed) in feeds.enumerated() {
                    feeders.add(1)
                    go {
                        for round in 0..<rounds { feed.send(index + round) }
                        feeders.done()
                    }
                }
                #expect(wait(feeders))
                #expect(wait(group))
            }
            let expected = (0..<goroutines).map { index in
                (0..<rounds).reduce(1) { $0 + index + $1 }
            }
            #expect(totals.values.sorted() == expected.sorted())
            if procs > 1 {
                // The point of the test: accesses that resumed elsewhere.
                #expect(moved.count > 0)
            }
        }
    }
}
