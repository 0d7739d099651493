// A bounded channel for Swift concurrency, the Swift side's stand-in for Go's
// channel: what a Swift developer writes (or takes from a package such as
// swift-async-algorithms) when tasks must pass values with back-pressure.
//
// It is a `Mutex` around a buffer and two FIFO queues of suspended tasks,
// held as continuations. A send hands its value straight to a waiting
// receiver, else buffers it if there is room, else suspends until a receiver
// takes it; a receive takes from the buffer (letting one waiting sender
// refill it), else from a waiting sender, else suspends. Capacity 0 is a
// rendezvous. Every step decides under the lock and resumes continuations
// after unlocking. The suspending path re-runs the same step inside
// `withUnsafeContinuation`, so a waiter is published atomically with the
// check that found it must wait.

import Synchronization

/// A first-in first-out queue on a growable ring.
struct RingQueue<Element> {
    private var slots: [Element?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element) {
        if count == slots.count { grow() }
        slots[(head + count) % slots.count] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = slots[head].take()
        head = (head + 1) % slots.count
        count -= 1
        return element
    }

    private mutating func grow() {
        var larger = [Element?](repeating: nil, count: Swift.max(16, slots.count * 2))
        for i in 0..<count { larger[i] = slots[(head + i) % slots.count].take() }
        slots = larger
        head = 0
    }
}

/// A channel between tasks with a buffer of `capacity` values.
final class AsyncBoundedChannel<Element: Sendable>: Sendable, AsyncSequence {
    typealias Receiver = UnsafeContinuation<Element?, Never>
    typealias Sender = UnsafeContinuation<Void, Never>

    private enum SendStep {
        case handedTo(Receiver)
        case buffered
        case mustWait
        case waiting
    }

    private enum ReceiveStep {
        case value(Element, wake: Sender?)
        case closed
        case mustWait
        case waiting
    }

    private struct State {
        var buffer = RingQueue<Element>()
        var receivers = RingQueue<Receiver>()
        var senders = RingQueue<(Element, Sender)>()
        var closed = false

        mutating func send(_ value: Element, capacity: Int, waiter: Sender?) -> SendStep {
            precondition(!closed, "send on closed channel")
            if let receiver = receivers.popFirst() { return .handedTo(receiver) }
            if buffer.count < capacity {
                buffer.append(value)
                return .buffered
            }
            guard let waiter else { return .mustWait }
            senders.append((value, waiter))
            return .waiting
        }

        mutating func receive(waiter: Receiver?) -> ReceiveStep {
            if let value = buffer.popFirst() {
                guard let (queued, sender) = senders.popFirst() else {
                    return .value(value, wake: nil)
                }
                buffer.append(queued)
                return .value(value, wake: sender)
            }
            if let (value, sender) = senders.popFirst() { return .value(value, wake: sender) }
            if closed { return .closed }
            guard let waiter else { return .mustWait }
            receivers.append(waiter)
            return .waiting
        }
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    /// Sends `value`, suspending until a receiver or buffer space takes it.
    func send(_ value: Element) async {
        switch state.withLock({ $0.send(value, capacity: capacity, waiter: nil) }) {
        case .handedTo(let receiver): return receiver.resume(returning: value)
        case .buffered: return
        case .mustWait, .waiting: break
        }
        await withUnsafeContinuation { (sender: Sender) in
            switch state.withLock({ $0.send(value, capacity: capacity, waiter: sender) }) {
            case .handedTo(let receiver):
                receiver.resume(returning: value)
                sender.resume()
            case .buffered: sender.resume()
            case .mustWait, .waiting: break
            }
        }
    }

    /// Receives a value, suspending until one arrives; nil once the channel
    /// is closed and drained.
    func receive() async -> Element? {
        switch state.withLock({ $0.receive(waiter: nil) }) {
        case .value(let value, let sender):
            sender?.resume()
            return value
        case .closed: return nil
        case .mustWait, .waiting: break
        }
        return await withUnsafeContinuation { (receiver: Receiver) in
            switch state.withLock({ $0.receive(waiter: receiver) }) {
            case .value(let value, let sender):
                sender?.resume()
                receiver.resume(returning: value)
            case .closed: receiver.resume(returning: nil)
            case .mustWait, .waiting: break
            }
        }
    }

    /// Closes the channel; waiting receivers get nil.
    func close() {
        let receivers = state.withLock { state in
            precondition(!state.closed, "close of closed channel")
            precondition(state.senders.isEmpty, "close with senders waiting")
            state.closed = true
            var waiting: [Receiver] = []
            while let receiver = state.receivers.popFirst() { waiting.append(receiver) }
            return waiting
        }
        for receiver in receivers { receiver.resume(returning: nil) }
    }

    /// Iterates received values until the channel is closed and drained.
    struct AsyncIterator: AsyncIteratorProtocol {
        let channel: AsyncBoundedChannel

        mutating func next() async -> Element? { await channel.receive() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: self) }
}
