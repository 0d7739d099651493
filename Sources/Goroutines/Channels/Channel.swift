// Channels: Go's typed conduits between goroutines.
//
// A channel is a lock, a ring buffer of `capacity` elements, and two queues
// of parked goroutines (receivers and senders). The rules, as in Go:
// - A send hands its value straight to a waiting receiver if there is one,
//   else buffers it if there is room, else parks until a receiver takes it.
// - A receive takes from the buffer first (and then lets one parked sender
//   refill it, keeping FIFO order), else takes straight from a parked sender,
//   else parks. On a closed, drained channel it returns nil at once.
// - close wakes every waiter: receivers get nil, senders panic.
// - Send on a closed channel and close of a closed channel are fatal, with
//   Go's wording and exit status 2.
//
// Waiters park with the channel's lock as their commit step: the lock is
// released on the scheduler stack once the goroutine is off its own, so a
// waker can never resume a goroutine still running on its stack.

import Synchronization

/// A typed channel, as in Go: unbuffered (`capacity` 0) for a rendezvous, or
/// buffered.
///
/// ```swift
/// let numbers = Channel<Int>(capacity: 10)
/// go {
///     for i in 1...3 { numbers.send(i) }
///     numbers.close()
/// }
/// for n in numbers { print(n) }  // 1 2 3
/// ```
public final class Channel<Element: Sendable>: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `lock`, which is also why
    // the stored properties skip Swift's dynamic exclusivity checks.

    let lock = RawLock()
    /// The buffer's capacity; 0 for an unbuffered channel.
    public let capacity: Int
    private let buffer: UnsafeMutablePointer<Element>
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private var buffered = 0
    @exclusivity(unchecked) private(set) var closed = false
    @exclusivity(unchecked) var receivers = WaitQueue()
    @exclusivity(unchecked) var senders = WaitQueue()

    /// Makes a channel that buffers up to `capacity` values.
    ///
    /// - Precondition: `capacity >= 0`, and the buffer (`capacity` times the
    ///   element's stride) fits in the address space, as Go's `make` checks.
    public init(capacity: Int = 0) {
        require(
            capacity >= 0,
            "makechan: size out of range (Channel capacity \(capacity); want 0 or more)")
        let (bytes, overflow) = capacity.multipliedReportingOverflow(
            by: Swift.max(MemoryLayout<Element>.stride, 1))
        require(
            !overflow && bytes <= 1 << 47,
            "makechan: size out of range (Channel capacity \(capacity) of "
                + "\(MemoryLayout<Element>.stride)-byte elements is more than memory can hold)")
        self.capacity = capacity
        buffer = .allocate(capacity: Swift.max(capacity, 1))
    }

    deinit {
        for i in 0..<buffered { (buffer + (head + i) % capacity).deinitialize(count: 1) }
        buffer.deallocate()
    }

    /// Values waiting in the buffer.
    public var count: Int { lock.withLock { buffered } }

    /// Whether `close()` has been called.
    public var isClosed: Bool { lock.withLock { closed } }

    // MARK: Buffer (lock held)

    // The ring's indices wrap by comparison, not by `%`: a division on
    // every message costs more than the rest of the index arithmetic.

    @inline(__always)
    func bufferPush(_ value: consuming Element) {
        var tail = head + buffered
        if tail >= capacity { tail -= capacity }
        (buffer + tail).initialize(to: value)
        buffered += 1
    }

    @inline(__always)
    func bufferPop() -> Element {
        let value = (buffer + head).move()
        head += 1
        if head == capacity { head = 0 }
        buffered -= 1
        return value
    }

    var bufferHasRoom: Bool {
        @inline(__always) get { buffered < capacity }
    }
    var bufferIsEmpty: Bool {
        @inline(__always) get { buffered == 0 }
    }

    // MARK: Send

    /// Sends `value`, parking until a receiver or buffer space takes it.
    ///
    /// Sending on a closed channel is fatal: `panic: send on closed channel`.
    public func send(_ value: Element) {
        checkPreemption()
        lock.lock()
        switch attemptSendLocked(value) {
        case .done(let partner):
            lock.unlock()
            partner.with { ready($0) }
            return
        case .closed:
            lock.unlock()
            goPanic("send on closed channel")
        case .wouldBlock:
            break
        }

        // The caller's record is borrowed without reference counting.
        let entry = withCurrentWaiter { g -> Waiter in
            let slot = g.transferBuffer(
                size: MemoryLayout<Element>.size, alignment: MemoryLayout<Element>.alignment)
            g.wakeSuccess = false
            return Waiter(goroutine: g, slot: slot, caseIndex: -1)
        }
        entry.slot.initializeMemory(as: Element.self, to: value)
        senders.enqueue(entry)
        park(.chanSend, commit: unlockCommit, context: lock.address)
        if !withCurrentWaiter({ $0.wakeSuccess }) {
            entry.slot.assumingMemoryBound(to: Element.self).deinitialize(count: 1)
            goPanic("send on closed channel")
        }
    }

    // MARK: Receive

    /// Receives a value, parking until one arrives. Returns nil once the
    /// channel is closed and drained.
    public func receive() -> Element? {
        checkPreemption()
        // The caller's record is borrowed without reference counting.
        let slot = withCurrentWaiter {
            $0.transferBuffer(
                size: MemoryLayout<Element>.size, alignment: MemoryLayout<Element>.alignment)
        }
        // The value passes through the waiter's own slot rather than an
        // `Element?` local: unspecialized, such a local would look up the
        // optional type's metadata on every call.
        let value = slot.assumingMemoryBound(to: Element.self)
        lock.lock()
        switch attemptReceiveLocked(into: slot) {
        case .done(let partner):
            lock.unlock()
            partner.with { ready($0) }
            return value.move()
        case .closed:
            lock.unlock()
            return nil
        case .wouldBlock:
            break
        }

        let entry = withCurrentWaiter { g -> Waiter in
            g.wakeSuccess = false
            return Waiter(goroutine: g, slot: slot, caseIndex: -1)
        }
        receivers.enqueue(entry)
        park(.chanReceive, commit: unlockCommit, context: lock.address)
        return withCurrentWaiter({ $0.wakeSuccess }) ? value.move() : nil
    }

    // MARK: Close

    /// Closes the channel: waiting and future receivers get the buffered
    /// values, then nil. Waiting senders panic.
    ///
    /// Closing a closed channel is fatal: `panic: close of closed channel`.
    public func close() {
        lock.lock()
        if closed {
            lock.unlock()
            goPanic("close of closed channel")
        }
        closed = true
        var woken = receivers.dequeueAll()
        woken.append(contentsOf: senders.dequeueAll())
        for waiter in woken {
            waiter.goroutine.wakeSuccess = false
            waiter.goroutine.wakeCase = waiter.caseIndex
        }
        lock.unlock()
        for waiter in woken { ready(waiter.goroutine) }
    }
}

extension Channel: Sequence {
    /// Iterates received values until the channel is closed and drained.
    public struct Iterator: IteratorProtocol {
        let channel: Channel

        /// The next value, or nil once the channel is closed and drained.
        public mutating func next() -> Element? { channel.receive() }
    }

    /// An iterator that receives from the channel.
    public func makeIterator() -> Iterator { Iterator(channel: self) }
}
