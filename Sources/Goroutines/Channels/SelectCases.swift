// The cases of a select, and the channel steps they run under the channel's
// lock.
//
// A select is generic over its result but not over its channels' element
// types, so each case is an object (an "arm") that knows its element type
// and offers the select loop a type-erased interface: lock, poll, enqueue a
// waiter, remove it, take the woken value. The loop in Select.swift owns the
// order of these steps and is not generic at all, which keeps it cheap in
// unoptimized builds, where generic code looks its type metadata up at run
// time. An arm only ever touches its own channel.
//
// Arms form a small class hierarchy: `SelectArm` (what the loop sees),
// `ResultArm<Result>` (what runs the chosen case's closure), and the three
// kinds of case: receive, send and default.
//
// The channel steps here differ from `Channel.send`/`receive` in one way:
// they never unlock and never ready anyone. They return the goroutine to
// ready instead, because the select still holds the other channels' locks
// when a case succeeds, and `ready` must not run under a RawLock (it may
// switch stacks when sysmon has taken the caller's processor). The timers in
// Time/ use the same steps to send and drain without blocking.

/// What a channel step that must not block did. Not generic, so that the
/// select loop and the arms handle it without looking up type metadata.
enum ChannelStep {
    /// The operation happened. `wake` is a goroutine to ready once every
    /// lock is released: the parked partner that took part, if any.
    case done(wake: Goroutine?)
    /// The operation would have to wait.
    case wouldBlock
    /// The channel is closed (and, for a receive, drained).
    case closed
}

extension Channel {
    /// With `lock` held, sends `value` if that needs no waiting: to a parked
    /// receiver, or into the buffer. Leaves `lock` held. A `.closed` result
    /// means the send is a panic.
    func attemptSendLocked(_ value: Element) -> ChannelStep {
        if closed { return .closed }
        if let receiver = receivers.dequeue() {
            // safety: a receiver's slot is heap memory reserved for one
            // Element by the parked operation, uninitialized until now.
            receiver.slot.initializeMemory(as: Element.self, to: value)
            let g = receiver.goroutine
            g.wakeSuccess = true
            g.wakeCase = receiver.caseIndex
            return .done(wake: g)
        }
        if bufferHasRoom {
            bufferPush(value)
            return .done(wake: nil)
        }
        return .wouldBlock
    }

    /// With `lock` held, receives into `value` if that needs no waiting:
    /// from the buffer or a parked sender. Leaves `lock` held. A `.closed`
    /// result means the channel is closed and drained; `value` is then nil.
    func attemptReceiveLocked(_ value: inout Element?) -> ChannelStep {
        if !bufferIsEmpty {
            value = bufferPop()
            // A parked sender may now move its value into the freed slot,
            // behind the buffered ones, which keeps each sender's FIFO order.
            guard let sender = senders.dequeue() else { return .done(wake: nil) }
            // safety: a sender's slot holds its initialized value until taken.
            bufferPush(sender.slot.assumingMemoryBound(to: Element.self).move())
            let g = sender.goroutine
            g.wakeSuccess = true
            g.wakeCase = sender.caseIndex
            return .done(wake: g)
        }
        if let sender = senders.dequeue() {
            // safety: as above.
            value = sender.slot.assumingMemoryBound(to: Element.self).move()
            let g = sender.goroutine
            g.wakeSuccess = true
            g.wakeCase = sender.caseIndex
            return .done(wake: g)
        }
        value = nil
        return closed ? .closed : .wouldBlock
    }
}

/// What polling one select case found. The case's channel stays locked.
enum SelectPoll {
    /// The case completed; ready `wake` (if any) after unlocking everything.
    case ready(wake: Goroutine?)
    case wouldBlock
    /// A send case found its channel closed.
    case sendOnClosed
}

/// One case of a select, as the select loop sees it.
///
/// All methods run on the selecting goroutine. Those named `…Locked` require
/// the arm's channel lock to be held (the select holds every involved lock).
/// The base class stands for no channel at all; only arms with a lock word
/// are ever locked, polled or enqueued, so its versions of those are fatal.
class SelectArm {
    /// The address of the channel's lock word, which orders the select's
    /// locking; nil for a nil channel (never ready) and the default case.
    let lockWord: UnsafeMutableRawPointer?
    /// Bytes and alignment of the heap slot this case needs while parked.
    let slotSize: Int
    let slotAlignment: Int
    /// Whether this is the `onDefault` case.
    let isDefault: Bool

    init(
        lockWord: UnsafeMutableRawPointer?, slotSize: Int = 0, slotAlignment: Int = 1,
        isDefault: Bool = false
    ) {
        self.lockWord = lockWord
        self.slotSize = slotSize
        self.slotAlignment = slotAlignment
        self.isDefault = isDefault
    }

    func lockChannel() { noChannel() }
    func unlockChannel() { noChannel() }
    /// Tries the operation without waiting.
    func pollLocked() -> SelectPoll { noChannel() }
    /// Publishes `g` as a waiter for this case; `slot` is this case's memory.
    func enqueueLocked(_ g: Goroutine, slot: UnsafeMutableRawPointer, caseIndex: Int) {
        noChannel()
    }
    /// Removes every waiter of `g` from this case's queue.
    func removeLocked(_ g: Goroutine) { noChannel() }
    /// After this case woke the goroutine: takes what the waker left in
    /// `slot`. No lock is held.
    func takeWoken(slot: UnsafeMutableRawPointer, success: Bool) { noChannel() }
    /// Releases a losing case's slot after a wake. No lock is held.
    func discard(slot: UnsafeMutableRawPointer) { noChannel() }

    private func noChannel() -> Never {
        fatal("runtime: select used a case that has no channel", "selectgo")
    }
}

/// An arm whose closure produces the select's result.
class ResultArm<Result>: SelectArm {
    /// Runs the case's closure, once the case has been chosen and completed.
    func run() -> Result {
        fatal("runtime: select case without a body", "selectgo")
    }
}

/// `onReceive`: receives from `channel`, then calls `body` with the value.
final class ReceiveArm<Element: Sendable, Result>: ResultArm<Result> {
    let channel: Channel<Element>?
    let body: (Element?) -> Result
    /// What the case received; nil when the channel was closed.
    private var received: Element?

    init(_ channel: Channel<Element>?, _ body: @escaping (Element?) -> Result) {
        self.channel = channel
        self.body = body
        super.init(
            lockWord: channel?.lock.address, slotSize: MemoryLayout<Element>.size,
            slotAlignment: MemoryLayout<Element>.alignment)
    }

    override func lockChannel() { channel!.lock.lock() }
    override func unlockChannel() { channel!.lock.unlock() }

    override func pollLocked() -> SelectPoll {
        switch channel!.attemptReceiveLocked(&received) {
        case .done(let wake): return .ready(wake: wake)
        case .closed: return .ready(wake: nil)
        case .wouldBlock: return .wouldBlock
        }
    }

    override func enqueueLocked(_ g: Goroutine, slot: UnsafeMutableRawPointer, caseIndex: Int) {
        channel!.receivers.enqueue(Waiter(goroutine: g, slot: slot, caseIndex: caseIndex))
    }

    override func removeLocked(_ g: Goroutine) { channel!.receivers.remove(g) }

    override func takeWoken(slot: UnsafeMutableRawPointer, success: Bool) {
        // safety: on success the waker initialized the slot with one Element;
        // on failure (the channel closed) the slot was never written.
        received = success ? slot.assumingMemoryBound(to: Element.self).move() : nil
    }

    override func discard(slot: UnsafeMutableRawPointer) {}

    override func run() -> Result {
        let value = received
        received = nil
        return body(value)
    }
}

/// `onSend`: sends a value fixed when the select starts, then calls `body`.
final class SendArm<Element: Sendable, Result>: ResultArm<Result> {
    let channel: Channel<Element>?
    let value: Element
    let body: () -> Result

    init(_ channel: Channel<Element>?, _ value: Element, _ body: @escaping () -> Result) {
        self.channel = channel
        self.value = value
        self.body = body
        super.init(
            lockWord: channel?.lock.address, slotSize: MemoryLayout<Element>.size,
            slotAlignment: MemoryLayout<Element>.alignment)
    }

    override func lockChannel() { channel!.lock.lock() }
    override func unlockChannel() { channel!.lock.unlock() }

    override func pollLocked() -> SelectPoll {
        switch channel!.attemptSendLocked(value) {
        case .done(let wake): return .ready(wake: wake)
        case .wouldBlock: return .wouldBlock
        case .closed: return .sendOnClosed
        }
    }

    override func enqueueLocked(_ g: Goroutine, slot: UnsafeMutableRawPointer, caseIndex: Int) {
        // safety: the slot is this case's own region of the select's heap
        // buffer; a receiver moves the value out only after claiming the case.
        slot.initializeMemory(as: Element.self, to: value)
        channel!.senders.enqueue(Waiter(goroutine: g, slot: slot, caseIndex: caseIndex))
    }

    override func removeLocked(_ g: Goroutine) { channel!.senders.remove(g) }

    override func takeWoken(slot: UnsafeMutableRawPointer, success: Bool) {
        if !success {
            // Woken by close: the value was never taken.
            discard(slot: slot)
            goPanic("send on closed channel")
        }
    }

    override func discard(slot: UnsafeMutableRawPointer) {
        // safety: a case that did not deliver still holds its initialized value.
        slot.assumingMemoryBound(to: Element.self).deinitialize(count: 1)
    }

    override func run() -> Result { body() }
}

/// `onDefault`: runs `body` when no other case is ready.
final class DefaultArm<Result>: ResultArm<Result> {
    let body: () -> Result

    init(_ body: @escaping () -> Result) {
        self.body = body
        super.init(lockWord: nil, isDefault: true)
    }

    override func run() -> Result { body() }
}
