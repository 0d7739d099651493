// Context: Go's context package for goroutines.
//
// A Context carries a cancellation signal, an optional deadline and
// request-scoped values down a tree of calls and goroutines. Contexts are
// immutable values: deriving one (withCancel, withDeadline, withTimeout,
// withValue) makes a child node that points at its parent.
//
// Cancellation lives in CancelScope (see there): contexts made by
// withCancel, withDeadline and withTimeout own one; value contexts share the
// nearest one above them; the background context has none and is never
// done. Cancelling a context cancels every context derived from it, never
// its parent or siblings. A child's deadline never exceeds its parent's: a
// later deadline than the parent's is simply the parent's.
//
// `done` is a Channel<Void> that is closed on cancellation, so goroutines
// can block on it with `receive()` (which then returns nil), or use it as
// a case in a select, alongside other channels.

import Synchronization

/// A function that cancels a context, as Go's `context.CancelFunc`. Calling
/// it more than once does nothing more.
public typealias CancelFunc = @Sendable () -> Void

/// A cancellation signal, a deadline and request-scoped values, carried
/// across goroutines, as Go's `context.Context`.
///
/// ```swift
/// let (ctx, cancel) = Context.withTimeout(.background(), .milliseconds(50))
/// defer { cancel() }
/// go {
///     while ctx.err == nil { doSomeWork() }
/// }
/// ctx.done.receive()   // returns when cancelled or the 50 ms are up
/// print(ctx.err!)      // context deadline exceeded
/// ```
public final class Context: Sendable {
    /// The context this one was derived from; nil for the background.
    let parent: Context?
    /// The nearest cancellable scope at or above this context.
    let scope: CancelScope?
    /// The key and value stored by `withValue`, if this is a value context.
    let key: (any Hashable & Sendable)?
    let value: (any Sendable)?

    private init(
        parent: Context?, scope: CancelScope?,
        key: (any Hashable & Sendable)? = nil, value: (any Sendable)? = nil
    ) {
        self.parent = parent
        self.scope = scope
        self.key = key
        self.value = value
    }

    private static let root = Context(parent: nil, scope: nil)
    private static let neverDone = Channel<Void>()

    /// The empty root context: never cancelled, no deadline, no values.
    /// Derive every other context from it.
    public static func background() -> Context { root }

    // MARK: Observing

    /// A channel closed once the context is cancelled or its deadline
    /// passes. It is never closed for the background context.
    ///
    /// `ctx.done.receive()` parks until then. Values are never sent on it.
    public var done: Channel<Void> { scope?.done ?? Self.neverDone }

    /// Nil while the context is live; afterwards, why it is done. The error
    /// is fixed at the first cancellation and never changes afterwards.
    public var err: ContextError? { scope?.err }

    /// Whether the context is cancelled (`err != nil`).
    public var isDone: Bool { err != nil }

    /// When the context will be cancelled by itself, if ever: the earliest
    /// deadline on its path to the root.
    public var deadline: ContinuousClock.Instant? { scope?.deadline }

    /// The value stored under `key` by this context or its nearest ancestor
    /// that has one, or nil. Keys match with `==` and must have equal types.
    public func value<Key: Hashable & Sendable>(forKey key: Key) -> (any Sendable)? {
        var node: Context? = self
        while let context = node {
            // Same dynamic type, then `==`: `1 as Int` and `1 as UInt8` differ.
            if let stored = context.key, type(of: stored) == Key.self,
                let candidate = stored as? Key, candidate == key
            {
                return context.value
            }
            node = context.parent
        }
        return nil
    }

    // MARK: Deriving

    /// A child of `parent` that is done when `cancel` is called or `parent`
    /// is done, whichever comes first. Call `cancel` once the work is over
    /// to release what the child holds in its parent.
    public static func withCancel(_ parent: Context) -> (Context, cancel: CancelFunc) {
        let scope = CancelScope(parent: parent.scope, deadline: parent.deadline)
        return (Context(parent: parent, scope: scope), { scope.cancel(.canceled) })
    }

    /// A child of `parent` that is also done at `deadline`, with
    /// `ContextError.deadlineExceeded`. If `parent`'s deadline is earlier, the
    /// child keeps that one instead.
    public static func withDeadline(
        _ parent: Context, _ deadline: ContinuousClock.Instant
    ) -> (Context, cancel: CancelFunc) {
        if let inherited = parent.deadline, inherited <= deadline {
            return withCancel(parent)
        }
        let scope = CancelScope(parent: parent.scope, deadline: deadline)
        scope.armDeadline(deadline)
        return (Context(parent: parent, scope: scope), { scope.cancel(.canceled) })
    }

    /// A child of `parent` that is also done after `timeout`, with
    /// `ContextError.deadlineExceeded`.
    public static func withTimeout(
        _ parent: Context, _ timeout: Duration
    ) -> (Context, cancel: CancelFunc) {
        withDeadline(parent, ContinuousClock.now + timeout)
    }

    /// A child of `parent` that carries `value` under `key`, and shares
    /// `parent`'s cancellation and deadline.
    ///
    /// Use a key type of your own (an enum case, say) so that keys from
    /// different libraries cannot collide.
    public static func withValue(
        _ parent: Context, key: some Hashable & Sendable, value: some Sendable
    ) -> Context {
        Context(parent: parent, scope: parent.scope, key: key, value: value)
    }

    // MARK: Runtime hooks

    /// Runs `callback` once the context is done (at once if it is; never for
    /// the background). Returns a token for `removeCancelCallback`, or nil if
    /// nothing stays registered. The callback must be short and not park.
    func onCancel(_ callback: @escaping @Sendable () -> Void) -> Int? {
        scope?.onCancel(callback)
    }

    /// Forgets a callback registered by `onCancel`.
    func removeCancelCallback(_ token: Int?) {
        if let token { scope?.removeCallback(token) }
    }
}
