// Timer and after(_:): a value on a channel once a duration has passed.
//
// A Timer owns a channel with a buffer of one and arms a node in the
// runtime's timer heap. When the node expires, its callback runs on the
// timer thread and sends the current instant without blocking.
//
// Stale values: every arming carries a generation number. `stop` and
// `reset` bump the generation, remove the node, and drain the channel, all
// under the timer's lock; the callback sends only if its generation is still
// current, also under that lock. So once `stop` or `reset` returns, no value
// from an earlier arming can be received, even if the node had already left
// the heap and its callback was about to run.
//
// Lock order: the timer's `lock`, then the channel's lock or the timer
// heap's lock. The timer thread runs callbacks without holding the heap's
// lock, and a send that wakes a receiver readies it after every lock is
// released.

/// Delivers the current instant on a channel once `duration` has passed,
/// as Go's `time.After`. Handy as a timeout case in `select`.
///
/// ```swift
/// select {
///     onReceive(results) { result in handle(result) }
///     onReceive(after(.milliseconds(100))) { _ in print("timed out") }
/// }
/// ```
///
/// The timer behind it cannot be stopped; use `Timer` when a timeout is
/// often cancelled, so its runtime timer is released early.
public func after(_ duration: Duration) -> Channel<ContinuousClock.Instant> {
    Timer(after: duration).channel
}

/// A single event in the future, delivered on `channel`, as Go's
/// `time.Timer`.
///
/// ```swift
/// let timer = Timer(after: .seconds(2))
/// select {
///     onReceive(done) { _ in _ = timer.stop() }
///     onReceive(timer.channel) { _ in print("too slow") }
/// }
/// ```
///
/// The channel holds at most one value. Do not send on it or close it.
/// Within a module that also imports Foundation, write `Goroutines.Timer`.
public final class Timer: @unchecked Sendable {
    // @unchecked: `generation` and `node` are guarded by `lock`.

    /// Receives the instant at which the timer fired.
    public let channel = Channel<ContinuousClock.Instant>(capacity: 1)

    private let lock = RawLock()
    private var generation: UInt64 = 0
    /// The armed node until its callback sends; nil once fired or stopped.
    private var node: TimerNode?

    /// Starts a timer that fires once, after `duration`. A zero or negative
    /// duration fires at once.
    public init(after duration: Duration) {
        TimerQueue.shared.start()
        lock.withLock { armLocked(duration) }
    }

    /// Stops the timer. Returns true if that kept a value from being
    /// received: the timer was pending, or had fired but its value still
    /// sat unreceived in the channel (it is discarded). Returns false if the
    /// value was already received or the timer was already stopped. After
    /// `stop` returns, receiving from `channel` blocks until a `reset` fires.
    @discardableResult
    public func stop() -> Bool {
        lock.lock()
        let (prevented, wake) = disarmLocked()
        lock.unlock()
        if let wake { ready(wake) }
        return prevented
    }

    /// Stops the timer as `stop` does, then arms it to fire after
    /// `duration`. Returns what `stop` would have returned.
    @discardableResult
    public func reset(after duration: Duration) -> Bool {
        lock.lock()
        let (prevented, wake) = disarmLocked()
        armLocked(duration)
        lock.unlock()
        if let wake { ready(wake) }
        return prevented
    }

    /// Cancels the current arming and empties the channel. Returns whether a
    /// value was kept from a receiver, and a sender to ready (only a misuse
    /// of the channel leaves one parked there).
    private func disarmLocked() -> (prevented: Bool, wake: Goroutine?) {
        generation &+= 1
        var prevented = false
        if let node {
            let queue = TimerQueue.shared
            queue.lock.withLock { _ = queue.removeLocked(node) }
            self.node = nil
            prevented = true
        }
        var stale: ContinuousClock.Instant?
        channel.lock.lock()
        let drained = channel.attemptReceiveLocked(&stale)
        channel.lock.unlock()
        if case .done(let wake) = drained { return (true, wake.object) }
        return (prevented, nil)
    }

    private func armLocked(_ duration: Duration) {
        let armed = generation
        let node = TimerNode(
            when: monotonicNanos() + duration.nanosecondsClamped,
            action: .call { [self] in fire(armed) })
        self.node = node
        TimerQueue.shared.insert(node)
    }

    /// The callback, on the timer thread.
    private func fire(_ armed: UInt64) {
        lock.lock()
        guard armed == generation else {
            lock.unlock()
            return
        }
        node = nil
        let wake = sendWithoutBlocking(ContinuousClock.now, on: channel)
        lock.unlock()
        if let wake { ready(wake) }
    }
}

/// Sends `value` on `channel` if that needs no waiting, dropping it
/// otherwise (a full buffer, or a channel the user closed). Returns a
/// receiver to ready once the caller's locks are released.
func sendWithoutBlocking<Element>(_ value: Element, on channel: Channel<Element>) -> Goroutine? {
    channel.lock.lock()
    let attempt = channel.attemptSendLocked(value)
    channel.lock.unlock()
    if case .done(let wake) = attempt { return wake.object }
    return nil
}
