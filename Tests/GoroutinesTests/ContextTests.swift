// Context: cancellation flows down random trees and never up or sideways,
// races between deriving and cancelling leave no live child under a dead
// parent, deadlines and timeouts fire with the right error, a child's
// deadline never exceeds its parent's, and values are found up the chain.

import Synchronization
import Testing

@testable import Goroutines

extension SyncTests {
    @Suite struct ContextTests {
        /// A small deterministic generator, so a failing tree can be replayed
        /// from the seed in the failure message.
        struct SplitMix: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }

        /// One node of a random tree.
        struct Node {
            let context: Context
            let parent: Int?
            let cancel: CancelFunc?
        }

        /// Grows a node under `parent`: a cancel node, a value node or a node
        /// with a far deadline.
        static func grow(
            _ nodes: inout [Node], under parent: Int, using random: inout SplitMix
        ) {
            let base = nodes[parent].context
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                let child = Context.withValue(base, key: nodes.count, value: "v\(nodes.count)")
                nodes.append(Node(context: child, parent: parent, cancel: nil))
            case 1:
                let (child, cancel) = Context.withTimeout(base, .seconds(3600))
                nodes.append(Node(context: child, parent: parent, cancel: cancel))
            default:
                let (child, cancel) = Context.withCancel(base)
                nodes.append(Node(context: child, parent: parent, cancel: cancel))
            }
        }

        /// Whether `index` or one of its ancestors is in `cancelled`.
        static func expectDone(_ index: Int, _ nodes: [Node], _ cancelled: Set<Int>) -> Bool {
            var cursor: Int? = index
            while let i = cursor {
                if cancelled.contains(i) { return true }
                cursor = nodes[i].parent
            }
            return false
        }

        /// Nodes whose state differs from the model: done exactly when the
        /// node or an ancestor was cancelled.
        static func mismatches(_ nodes: [Node], _ cancelled: Set<Int>) -> [Int] {
            nodes.indices.filter { i in
                let context = nodes[i].context
                let expected = expectDone(i, nodes, cancelled)
                let consistent =
                    context.done.isClosed == (context.err != nil)
                    && (context.err == nil || context.err == .canceled)
                return !consistent || context.isDone != expected
            }
        }

        @Test func randomTreesCancelExactlyTheirSubtrees() {
            let baseSeed = UInt64.random(in: 0...UInt64.max)
            for trial in 0..<300 {
                let seed = baseSeed &+ UInt64(trial)
                var random = SplitMix(state: seed)
                var nodes = [Node(context: .background(), parent: nil, cancel: nil)]
                var cancelled: Set<Int> = []
                for _ in 0..<Int.random(in: 5...40, using: &random) {
                    Self.grow(
                        &nodes, under: Int.random(in: 0..<nodes.count, using: &random),
                        using: &random)
                }
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    let candidates = nodes.indices.filter { nodes[$0].cancel != nil }
                    guard let victim = candidates.randomElement(using: &random) else { break }
                    nodes[victim].cancel!()
                    cancelled.insert(victim)
                    let wrong = Self.mismatches(nodes, cancelled)
                    #expect(
                        wrong.isEmpty, "seed \(seed): nodes \(wrong) after cancelling \(victim)")
                    // Children derived from cancelled nodes are born done.
                    for _ in 0..<3 {
                        Self.grow(
                            &nodes, under: Int.random(in: 0..<nodes.count, using: &random),
                            using: &random)
                    }
                    let afterGrowth = Self.mismatches(nodes, cancelled)
                    #expect(afterGrowth.isEmpty, "seed \(seed): new nodes \(afterGrowth)")
                    if !wrong.isEmpty || !afterGrowth.isEmpty { return }
                }
                for node in nodes { node.cancel?() }
            }
        }

        /// Goroutines cancel random nodes of one tree at once while others
        /// derive new children from random nodes; at the end every node is
        /// done exactly when it or an ancestor was cancelled.
        @Test func concurrentCancelsAndDerivations() {
            let baseSeed = UInt64.random(in: 0...UInt64.max)
            SyncTest.forEachProcs { procs in
                for trial in 0..<50 {
                    let seed = baseSeed &+ UInt64(trial)
                    var random = SplitMix(state: seed)
                    var nodes = [Node(context: .background(), parent: nil, cancel: nil)]
                    for _ in 0..<60 {
                        Self.grow(
                            &nodes, under: Int.random(in: 0..<nodes.count, using: &random),
                            using: &random)
                    }
                    let candidates = nodes.indices.filter { nodes[$0].cancel != nil }
                    let victims = Array(candidates.shuffled(using: &random).prefix(6))
                    let frozen = nodes
                    let grown = SyncTest.EventLog<Node>()
                    let finished = SyncTest.goroutines(12) { worker in
                        if worker < victims.count {
                            frozen[victims[worker]].cancel!()
                            return
                        }
                        var local = SplitMix(state: seed &+ UInt64(worker))
                        for _ in 0..<10 {
                            let parent = Int.random(in: 0..<frozen.count, using: &local)
                            let (child, cancel) = Context.withCancel(frozen[parent].context)
                            grown.append(Node(context: child, parent: parent, cancel: cancel))
                            Runtime.yield()
                        }
                    }
                    #expect(finished, "seed \(seed): hung")
                    if !finished { return }
                    nodes.append(contentsOf: grown.events)
                    let wrong = Self.mismatches(nodes, Set(victims))
                    #expect(wrong.isEmpty, "seed \(seed) procs \(procs): nodes \(wrong)")
                    for node in nodes { node.cancel?() }
                }
            }
        }

        @Test func backgroundIsNeverDone() {
            let background = Context.background()
            #expect(background === Context.background())
            #expect(background.err == nil)
            #expect(background.deadline == nil)
            #expect(!background.done.isClosed)
            #expect(background.value(forKey: "anything") == nil)
        }

        /// Cancel closes `done`, sets `.canceled`, is idempotent, wakes a
        /// goroutine parked on `done`, and detaches the child from its parent.
        @Test func cancelWakesWaitersAndDetaches() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<50 {
                    let (parent, cancelParent) = Context.withCancel(.background())
                    let (child, cancelChild) = Context.withCancel(parent)
                    let errSeen = SyncTest.Guarded<ContextError?>(nil)
                    let finished = SyncTest.inGoroutine {
                        let woke = Channel<Void>()
                        go {
                            child.done.receive()
                            errSeen.value = child.err
                            woke.send(())
                        }
                        Runtime.yield()
                        cancelChild()
                        woke.receive()
                    }
                    #expect(finished, "procs \(procs): waiter not woken")
                    #expect(errSeen.value == .canceled)
                    cancelChild()
                    #expect(child.err == .canceled)
                    #expect(parent.err == nil)
                    #expect(parent.scope!.childCount == 0)
                    cancelParent()
                }
            }
        }

        @Test func timeoutFiresWithDeadlineExceeded() {
            SyncTest.forEachProcs { procs in
                for _ in 0..<5 {
                    let (context, cancel) = Context.withTimeout(
                        .background(), .milliseconds(10))
                    defer { cancel() }
                    let deadline = context.deadline!
                    let firedAt = SyncTest.Guarded<ContinuousClock.Instant?>(nil)
                    let finished = SyncTest.inGoroutine {
                        context.done.receive()
                        firedAt.value = .now
                    }
                    #expect(finished, "procs \(procs): the deadline never fired")
                    #expect(context.err == .deadlineExceeded)
                    // Never early.
                    #expect(firedAt.value! >= deadline)
                    cancel()
                    #expect(context.err == .deadlineExceeded, "first error sticks")
                }
            }
        }

        @Test func pastDeadlineIsDoneAtOnce() {
            let (context, cancel) = Context.withDeadline(
                .background(), .now - .seconds(1))
            defer { cancel() }
            #expect(context.err == .deadlineExceeded)
            #expect(context.done.isClosed)
        }

        /// A child asking for a later deadline keeps the parent's; an earlier
        /// one is its own. The parent's deadline reaches the child with the
        /// same error.
        @Test func childDeadlineNeverExceedsParent() {
            let (parent, cancelParent) = Context.withTimeout(.background(), .milliseconds(200))
            defer { cancelParent() }
            let (later, cancelLater) = Context.withTimeout(parent, .seconds(3600))
            defer { cancelLater() }
            let (earlier, cancelEarlier) = Context.withTimeout(parent, .seconds(-1))
            defer { cancelEarlier() }
            let (plain, cancelPlain) = Context.withCancel(parent)
            defer { cancelPlain() }
            let valued = Context.withValue(later, key: "k", value: 1)
            #expect(later.deadline == parent.deadline)
            #expect(plain.deadline == parent.deadline)
            #expect(valued.deadline == parent.deadline)
            #expect(earlier.deadline! < parent.deadline!)
            #expect(earlier.err == .deadlineExceeded)
            #expect(parent.err == nil)

            // Cancellation reaches a subtree top-down, one node at a time, as in
            // Go: wait for each node rather than read them the moment one is done.
            let finished = SyncTest.inGoroutine {
                for context in [valued, later, plain, parent] { context.done.receive() }
            }
            #expect(finished)
            #expect(parent.err == .deadlineExceeded)
            #expect(later.err == .deadlineExceeded)
            #expect(plain.err == .deadlineExceeded)
            #expect(valued.err == .deadlineExceeded)
        }

        /// Cancelling before the deadline wins: the error stays `.canceled`
        /// after the deadline has passed.
        @Test func cancelBeforeDeadlineSticks() {
            let (context, cancel) = Context.withTimeout(.background(), .milliseconds(5))
            cancel()
            sleep(for: .milliseconds(20))
            #expect(context.err == .canceled)
        }

        @Test func valuesAreFoundUpTheChain() {
            enum Key: Hashable, Sendable { case user, request }
            let root = Context.withValue(.background(), key: Key.user, value: "ada")
            let (cancellable, cancel) = Context.withCancel(root)
            defer { cancel() }
            let inner = Context.withValue(cancellable, key: Key.request, value: 42)
            let shadow = Context.withValue(inner, key: Key.user, value: "grace")
            #expect(inner.value(forKey: Key.user) as? String == "ada")
            #expect(inner.value(forKey: Key.request) as? Int == 42)
            #expect(shadow.value(forKey: Key.user) as? String == "grace")
            #expect(root.value(forKey: Key.request) == nil)
            // Keys of other types never match, even when equal as numbers.
            let numbered = Context.withValue(.background(), key: 1, value: "int")
            #expect(numbered.value(forKey: 1) as? String == "int")
            #expect(numbered.value(forKey: UInt8(1)) == nil)
            #expect(numbered.value(forKey: "1") == nil)
            // A value context shares its parent's cancellation.
            cancel()
            #expect(inner.err == .canceled)
            #expect(shadow.done.isClosed)
            #expect(root.err == nil)
        }

        @Test func errorsReadLikeGo() {
            #expect("\(ContextError.canceled)" == "context canceled")
            #expect("\(ContextError.deadlineExceeded)" == "context deadline exceeded")
        }
    }
}
