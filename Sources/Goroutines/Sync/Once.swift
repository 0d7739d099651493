// Once: run an action exactly once, as Go's sync.Once.
//
// `done` is read without a lock on the fast path; the first caller runs the
// body holding `mutex`, so concurrent callers park on the mutex until the
// body has finished, and see its effects once they get in. `done` is set
// after the body returns (or throws), never before: a caller that sees it
// set may rely on everything the body did.

import Synchronization

/// Performs an action exactly once, as Go's `sync.Once`.
///
/// Callers that arrive while the action runs wait until it has finished.
///
/// ```swift
/// let once = Once()
/// for _ in 0..<10 {
///     go { once.do { print("initialized") } }  // printed once
/// }
/// ```
public final class Once: Sendable {
    private let done = Atomic<Bool>(false)
    private let mutex = Mutex()

    /// Makes a Once whose action has not run.
    public init() {}

    /// Runs `body` if no call to `do` has run one before; otherwise returns
    /// once the first call's body has finished. A body that throws still
    /// counts as run (as a panic does in Go): the error goes to the first
    /// caller, later calls return quietly. Calling `do` on the same Once
    /// from inside its body deadlocks.
    public func `do`(_ body: () throws -> Void) rethrows {
        // acquiring: pairs with the releasing store below, so the body's
        // effects are visible to callers that skip it.
        if done.load(ordering: .acquiring) { return }
        try doSlow(body)
    }

    private func doSlow(_ body: () throws -> Void) rethrows {
        mutex.lock(reason: .once)
        defer { mutex.unlock() }
        if done.load(ordering: .relaxed) { return }
        defer { done.store(true, ordering: .releasing) }
        try body()
    }

    /// Whether the action has run (or is finished running).
    public var hasRun: Bool { done.load(ordering: .acquiring) }
}
