// Group: goroutines working on subtasks of one task, as Go's errgroup.
//
// A WaitGroup counts the goroutines; the first error any of them throws is
// kept; `wait` parks until all have finished and rethrows that error. With
// a limit, a Semaphore of `limit` units caps how many run at once: `go`
// takes a unit before it starts the goroutine (parking the caller when the
// group is full), and the goroutine gives it back as it finishes.
//
// A group made with a parent context derives a child context from it and
// cancels that child on the first error, so sibling goroutines that watch
// it can stop early, and again when `wait` returns.
//
// `lock` guards `firstError`, `limiter` and `active`. The WaitGroup and the
// Semaphore have their own locks; none of these is held across a park.

import Synchronization

/// A group of goroutines working on subtasks of a common task, as Go's
/// `golang.org/x/sync/errgroup`: `wait` waits for all of them and reports
/// the first error.
///
/// ```swift
/// let group = Group(context: .background(), limit: 4)
/// for url in urls {
///     group.go { try fetch(url, context: group.context) }
/// }
/// try group.wait()   // the first error, after every goroutine is done
/// ```
public final class Group: @unchecked Sendable {
    // @unchecked: `firstError`, `limiter` and `active` are guarded by `lock`.

    /// The group's context. For a group made with `init(context:limit:)`,
    /// a child of that parent, cancelled when a goroutine of the group first
    /// throws, or when `wait` returns. Otherwise the background context.
    public let context: Context

    private let cancel: CancelFunc?
    private let finished = WaitGroup()
    private let lock = RawLock()
    private var firstError: (any Error)?
    private var limiter: Semaphore?
    private var active = 0

    /// Makes a group with no limit (or at most `limit` goroutines at once)
    /// and no context.
    public init(limit: Int? = nil) {
        context = .background()
        cancel = nil
        if let limit { setLimit(limit) }
    }

    /// Makes a group whose `context` is derived from `parent` and is
    /// cancelled on the first error, as errgroup's `WithContext`. `limit`
    /// caps how many goroutines run at once.
    public init(context parent: Context, limit: Int? = nil) {
        let (child, cancel) = Context.withCancel(parent)
        context = child
        self.cancel = cancel
        if let limit { setLimit(limit) }
    }

    /// Caps how many of the group's goroutines may run at once; a negative
    /// `n` removes the cap. With `n == 0`, `go` blocks forever and `tryGo`
    /// always fails.
    ///
    /// - Precondition: no goroutine of the group is running.
    public func setLimit(_ n: Int) {
        lock.withLock {
            require(
                active == 0,
                "errgroup: modify limit while \(active) goroutines in the group are still active")
            limiter = n < 0 ? nil : Semaphore(n)
        }
    }

    /// Runs `body` in a new goroutine of the group. When the group is at its
    /// limit, parks the caller until one of its goroutines finishes.
    ///
    /// The first error thrown by any body is kept for `wait` and cancels
    /// `context`.
    public func go(
        file: StaticString = #fileID, line: UInt = #line,
        _ body: @escaping @Sendable () throws -> Void
    ) {
        let limiter = lock.withLock { self.limiter }
        if let limiter, limiter.size == 0 {
            // A zero limit admits nobody: wait forever, as Go's errgroup does.
            _ = Channel<Void>().receive()
        }
        limiter?.acquire(1)
        start(body, limiter: limiter, file: file, line: line)
    }

    /// Runs `body` in a new goroutine of the group if the group is below its
    /// limit, and says whether it did. Never parks.
    public func tryGo(
        file: StaticString = #fileID, line: UInt = #line,
        _ body: @escaping @Sendable () throws -> Void
    ) -> Bool {
        let limiter = lock.withLock { self.limiter }
        if let limiter, limiter.size == 0 || !limiter.tryAcquire(1) { return false }
        start(body, limiter: limiter, file: file, line: line)
        return true
    }

    /// Parks until every goroutine of the group has finished, then cancels
    /// `context` and throws the first error any of them threw.
    public func wait() throws {
        finished.wait()
        cancel?()
        if let error = lock.withLock({ firstError }) { throw error }
    }

    // MARK: Internals

    /// The first error on record so far (for tests).
    var recordedError: (any Error)? { lock.withLock { firstError } }

    /// Callers of `go` parked at the limit now (for tests).
    var waitingToStart: Int { lock.withLock { limiter }?.waiterCount ?? 0 }

    private func start(
        _ body: @escaping @Sendable () throws -> Void, limiter: Semaphore?,
        file: StaticString, line: UInt
    ) {
        finished.add(1)
        lock.withLock { active += 1 }
        _ = Scheduler.shared
        spawn(
            { [self] in
                defer { finish(limiter) }
                do {
                    try body()
                } catch {
                    record(error)
                }
            }, file: file, line: line)
    }

    private func finish(_ limiter: Semaphore?) {
        lock.withLock { active -= 1 }
        limiter?.release(1)
        finished.done()
    }

    private func record(_ error: any Error) {
        let isFirst = lock.withLock {
            if firstError != nil { return false }
            firstError = error
            return true
        }
        if isFirst { cancel?() }
    }
}
