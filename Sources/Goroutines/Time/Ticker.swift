// Ticker: the current instant on a channel at every period, as Go's
// `time.Ticker`.
//
// The ticker's node in the runtime's timer heap is periodic: the timer
// thread puts it back on its own grid after every expiry, skipping any
// deadlines it missed. Each tick is a send without blocking into a buffer
// of one, so a slow receiver finds at most one stale tick and the rest are
// dropped rather than queued.
//
// `stop` and `reset` use the generation scheme of Timer.swift: they bump the
// generation, remove the node and drain the channel under the ticker's lock,
// and a callback sends only if its generation is still current. After either
// returns, no tick of an earlier arming can be received.

/// Delivers the current instant on `channel` every period until stopped.
///
/// ```swift
/// let ticker = Ticker(every: .milliseconds(100))
/// defer { ticker.stop() }
/// for _ in 0..<3 {
///     let now = ticker.channel.receive()!
///     print("tick at", now)
/// }
/// ```
///
/// A receiver slower than the period misses ticks: the channel holds at most
/// one. A ticker keeps its runtime timer until `stop` is called, so always
/// stop tickers that are no longer needed. Do not send on the channel or
/// close it.
public final class Ticker: @unchecked Sendable {
    // @unchecked: `generation` and `node` are guarded by `lock`.

    /// Receives the instant of each tick.
    public let channel = Channel<ContinuousClock.Instant>(capacity: 1)

    private let lock = RawLock()
    private var generation: UInt64 = 0
    /// The armed periodic node; nil once stopped.
    private var node: TimerNode?

    /// Starts a ticker whose first tick comes after `period`.
    ///
    /// - Precondition: `period > .zero`.
    public init(every period: Duration) {
        require(period > .zero, "non-positive interval for Ticker")
        TimerQueue.shared.start()
        lock.withLock { armLocked(period) }
    }

    /// Stops the ticker: no further ticks, and a tick still waiting in the
    /// channel is discarded.
    public func stop() {
        lock.lock()
        let wake = disarmLocked()
        lock.unlock()
        if let wake { ready(wake) }
    }

    /// Stops the ticker and restarts it with a new period, the next tick
    /// coming `period` from now. A tick still waiting in the channel is
    /// discarded.
    ///
    /// - Precondition: `period > .zero`.
    public func reset(every period: Duration) {
        require(period > .zero, "non-positive interval for Ticker.reset")
        lock.lock()
        let wake = disarmLocked()
        armLocked(period)
        lock.unlock()
        if let wake { ready(wake) }
    }

    /// Cancels the current arming and empties the channel. Returns a sender
    /// to ready (only a misuse of the channel leaves one parked there).
    private func disarmLocked() -> Goroutine? {
        generation &+= 1
        if let node {
            let queue = TimerQueue.shared
            queue.lock.withLock { _ = queue.removeLocked(node) }
            self.node = nil
        }
        var stale: ContinuousClock.Instant?
        channel.lock.lock()
        let drained = channel.attemptReceiveLocked(&stale)
        channel.lock.unlock()
        if case .done(let wake) = drained { return wake.object }
        return nil
    }

    private func armLocked(_ period: Duration) {
        let armed = generation
        let nanos = max(period.nanosecondsClamped, 1)
        let node = TimerNode(
            when: monotonicNanos() + nanos, period: nanos,
            action: .call { [self] in tick(armed) })
        self.node = node
        TimerQueue.shared.insert(node)
    }

    /// The callback, on the timer thread.
    private func tick(_ armed: UInt64) {
        lock.lock()
        guard armed == generation else {
            lock.unlock()
            return
        }
        let wake = sendWithoutBlocking(ContinuousClock.now, on: channel)
        lock.unlock()
        if let wake { ready(wake) }
    }
}
