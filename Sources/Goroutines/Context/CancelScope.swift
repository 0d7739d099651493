// CancelScope: the cancellable core of a Context.
//
// Every context made by `withCancel`, `withDeadline` or `withTimeout` owns a
// scope; value contexts share their parent's. Scopes form a tree that
// mirrors the cancellable contexts:
// - A new scope registers with its parent scope. If the parent is already
//   cancelled, the new scope is cancelled at once with the parent's error.
// - `cancel` marks the scope (first cancel wins: its error sticks), closes
//   `done`, stops its deadline timer, runs its callbacks, and then does the
//   same for every descendant, walking the subtree with an explicit stack
//   so deep chains cannot overflow a goroutine's stack. Finally it detaches
//   from its parent, which need not track it any longer.
// - Cancellation flows down only: a child's cancel never touches its
//   parent's state beyond that detaching.
//
// Locks: each scope's `lock` guards its error, children, callbacks and
// timer, and is never held while another scope's lock is taken, nor across
// a park. The one nesting is scope lock → timer heap lock, when a deadline
// timer is armed. `err` is set before `done` closes, so a goroutine woken
// by `done` always reads a non-nil `err`.
//
// Deadline timers run `cancel` on the timer thread, which must not block:
// cancel takes only RawLocks and closes a channel, and the callbacks it
// runs are the runtime's own short ones (a Semaphore dropping a waiter).

import Synchronization

final class CancelScope: @unchecked Sendable {
    // @unchecked: `error`, `children`, `callbacks`, `nextCallbackID` and
    // `timer` are guarded by `lock`; the rest is immutable.

    let parent: CancelScope?
    /// The earliest deadline of this scope and its ancestors.
    let deadline: ContinuousClock.Instant?
    /// Closed once the scope is cancelled.
    let done = Channel<Void>()

    private let lock = RawLock()
    private var error: ContextError?
    private var children: [ObjectIdentifier: CancelScope] = [:]
    private var callbacks: [Int: @Sendable () -> Void] = [:]
    private var nextCallbackID = 0
    private var timer: TimerNode?

    /// Makes a scope under `parent` and links it in; it starts cancelled if
    /// the parent already is.
    init(parent: CancelScope?, deadline: ContinuousClock.Instant?) {
        self.parent = parent
        self.deadline = deadline
        if let parent, let reason = parent.adopt(self) {
            cancel(reason)
        }
    }

    /// Why the scope is done, or nil while it is not.
    var err: ContextError? { lock.withLock { error } }

    // MARK: Tree

    /// Registers `child`, or returns the error it must be cancelled with.
    private func adopt(_ child: CancelScope) -> ContextError? {
        lock.withLock {
            if let error { return error }
            children[ObjectIdentifier(child)] = child
            return nil
        }
    }

    private func release(_ child: CancelScope) {
        lock.withLock { _ = children.removeValue(forKey: ObjectIdentifier(child)) }
    }

    /// Number of live children (for tests).
    var childCount: Int { lock.withLock { children.count } }

    // MARK: Cancel

    /// Cancels this scope and its descendants with `reason`, unless it is
    /// already cancelled.
    func cancel(_ reason: ContextError) {
        var pending = [self]
        var cancelledSelf = false
        while let scope = pending.popLast() {
            guard let detached = scope.markCancelled(reason) else { continue }
            if scope === self { cancelledSelf = true }
            pending.append(contentsOf: detached.children)
            if let timer = detached.timer {
                TimerQueue.shared.lock.withLock { _ = TimerQueue.shared.removeLocked(timer) }
            }
            scope.done.close()
            for callback in detached.callbacks { callback() }
        }
        if cancelledSelf { parent?.release(self) }
    }

    /// Sets the error and takes everything cancel must act on, or returns nil
    /// if the scope was already cancelled.
    private func markCancelled(
        _ reason: ContextError
    ) -> (children: [CancelScope], callbacks: [@Sendable () -> Void], timer: TimerNode?)? {
        lock.withLock {
            if error != nil { return nil }
            error = reason
            let taken = (Array(children.values), Array(callbacks.values), timer)
            children.removeAll()
            callbacks.removeAll()
            timer = nil
            return taken
        }
    }

    // MARK: Deadline

    /// Arranges for the scope to be cancelled with `.deadlineExceeded` at
    /// `deadline`, or at once if that has passed.
    func armDeadline(_ deadline: ContinuousClock.Instant) {
        let remaining = (deadline - ContinuousClock.now).nanosecondsClamped
        if remaining <= 0 {
            cancel(.deadlineExceeded)
            return
        }
        let queue = TimerQueue.shared
        queue.start()
        let node = TimerNode(
            when: monotonicNanos() + remaining,
            action: .call { [weak self] in self?.cancel(.deadlineExceeded) })
        lock.withLock {
            if error != nil { return }
            timer = node
            queue.insert(node)
        }
    }

    // MARK: Callbacks

    /// Runs `callback` when the scope is cancelled; at once, on the calling
    /// thread, if it already is (then returns nil). The callback runs on
    /// the cancelling thread (perhaps the timer thread): it must be short
    /// and must not park.
    func onCancel(_ callback: @escaping @Sendable () -> Void) -> Int? {
        lock.lock()
        if error != nil {
            lock.unlock()
            callback()
            return nil
        }
        let id = nextCallbackID
        nextCallbackID += 1
        callbacks[id] = callback
        lock.unlock()
        return id
    }

    /// Forgets a callback registered by `onCancel`, if it has not run.
    func removeCallback(_ id: Int) {
        lock.withLock { _ = callbacks.removeValue(forKey: id) }
    }
}
