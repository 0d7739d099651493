// Examples of Mutex, Group and Context written for the README, compiled and
// run here with checks of what they print.

import Testing

@testable import Goroutines

/// The Mutex example's type: a balance guarded by a goroutine-aware mutex.
final class Account: @unchecked Sendable {  // balance is guarded by mutex
    private let mutex = Mutex()
    private var balance = 0

    func deposit(_ amount: Int) { mutex.withLock { balance += amount } }
    var current: Int { mutex.withLock { balance } }
}

private enum LookupError: Error { case unlucky(Int) }

extension SyncTests {
    @Suite struct ReadmeSnippetTests {
        @Test func mutexExample() {
            let account = Account()
            let group = WaitGroup()
            for _ in 0..<100 {
                group.add(1)
                go {
                    defer { group.done() }
                    account.deposit(10)
                }
            }
            group.wait()
            print(account.current)  // 1000
            #expect(account.current == 1000)
        }

        @Test func groupExample() {
            let group = Group(context: .background(), limit: 4)  // at most 4 at once
            for n in 1...16 {
                group.go {
                    if group.context.isDone { return }  // a sibling failed: stop early
                    if n == 13 { throw LookupError.unlucky(n) }
                    sleep(for: .milliseconds(1))
                }
            }
            do {
                try group.wait()  // waits for all 16, then throws the first error
            } catch {
                print("failed:", error)  // failed: unlucky(13)
            }
            #expect(group.recordedError.map { "\($0)" } == "unlucky(13)")
            #expect(group.context.err == .canceled)
        }

        @Test func contextExample() {
            let (ctx, cancel) = Context.withTimeout(.background(), .milliseconds(50))
            defer { cancel() }
            let reply = Channel<String>(capacity: 1)
            go {
                sleep(for: .seconds(1))  // a slow backend
                reply.send("data")
            }
            let answer = select {
                onReceive(reply) { $0 ?? "closed" }
                onReceive(ctx.done) { _ in "gave up: \(ctx.err!)" }
            }
            print(answer)  // gave up: context deadline exceeded
            #expect(answer == "gave up: context deadline exceeded")
        }
    }
}
