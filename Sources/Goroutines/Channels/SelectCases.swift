// The cases of a select, and the channel steps they run under the channel's
// lock.
//
// A select is generic over its result but not over its channels' element
// types, so each case is an object (an "arm") that knows its element type
// and offers the select loop a type-erased interface: its channel's lock
// word, poll, enqueue a waiter, remove it, release a losing case's slot.
// The loop in Select.swift owns the order of these steps and is not generic
// at all. An arm only ever touches its own channel.
//
// Where the generic code runs decides what a select costs. The case
// functions and `select` itself are inlinable, so an arm is made, and the
// chosen case's closure is called, in the caller's module with concrete
// types. The arms' overridden methods run as unspecialized generic code
// here; they handle `Element` only through raw slots and its own metadata.
// Forming an `Element?` there would look up `Optional<Element>`'s metadata
// in the runtime's cache on every call, which once cost more than the rest
// of the select together.
//
// Known cost: every case is one heap object per select, where Go's select
// allocates nothing. Allocating, initializing and freeing four arms is about
// a third of a four-case select's instructions. Cases kept as plain values
// in the list would avoid it, but the builder then copies a list of several
// hundred bytes between its steps, through value witnesses, and measured
// slower than the objects.
//
// Arms form a small class hierarchy: `SelectArm` (what the loop sees),
// `ResultArm<Result>` (what runs the chosen case's closure), and the three
// kinds of case: receive, send and default.
//
// The channel steps here are the only place a value moves in or out of a
// channel without waiting; `Channel.send` and `receive` use them too. They
// never unlock and never ready anyone: they return the goroutine to ready,
// because a select still holds the other channels' locks when a case
// succeeds, and `ready` must not run under a RawLock (it may switch stacks
// when sysmon has taken the caller's processor). The timers in Time/ use the
// same steps to send and drain without blocking.

/// What a channel step that must not block did. Not generic, so that the
/// select loop and the arms handle it without looking up type metadata.
enum ChannelStep {
    /// The operation happened. `wake` is a goroutine to ready once every
    /// lock is released: the parked partner that took part, if any, held
    /// without a reference count (records are immortal).
    case done(wake: Unretained<Goroutine>)
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
            return .done(wake: served(receiver))
        }
        if bufferHasRoom {
            bufferPush(value)
            return .done(wake: Unretained(nil))
        }
        return .wouldBlock
    }

    /// With `lock` held, receives into `slot` if that needs no waiting: from
    /// the buffer or a parked sender. Leaves `lock` held. Only `.done`
    /// initializes `slot` with one Element; `.closed` means the channel is
    /// closed and drained.
    ///
    /// Raw memory rather than an `Element?` keeps this generic code from
    /// looking up `Optional<Element>`'s metadata on every call.
    func attemptReceiveLocked(into slot: UnsafeMutableRawPointer) -> ChannelStep {
        let out = slot.assumingMemoryBound(to: Element.self)
        if !bufferIsEmpty {
            out.initialize(to: bufferPop())
            // A parked sender may now move its value into the freed slot,
            // behind the buffered ones, which keeps each sender's FIFO order.
            guard let sender = senders.dequeue() else { return .done(wake: Unretained(nil)) }
            // safety: a sender's slot holds its initialized value until taken.
            bufferPush(sender.slot.assumingMemoryBound(to: Element.self).move())
            return .done(wake: served(sender))
        }
        if let sender = senders.dequeue() {
            // safety: as above.
            moveValue(from: sender.slot.assumingMemoryBound(to: Element.self), to: out)
            return .done(wake: served(sender))
        }
        return closed ? .closed : .wouldBlock
    }

    /// As `attemptReceiveLocked(into:)`, into `value`, which is nil unless
    /// the result is `.done`.
    func attemptReceiveLocked(_ value: inout Element?) -> ChannelStep {
        withUnsafeTemporaryAllocation(of: Element.self, capacity: 1) { buffer in
            let slot = buffer.baseAddress!
            let step = attemptReceiveLocked(into: UnsafeMutableRawPointer(slot))
            if case .done = step {
                value = slot.move()
            } else {
                value = nil
            }
            return step
        }
    }
}

/// What polling one select case found. The case's channel stays locked.
enum SelectPoll {
    /// The case completed; ready `wake` (if any) after unlocking everything.
    /// A receive case left its value in the slot it was given.
    case ready(wake: Unretained<Goroutine>)
    /// A receive case found its channel closed and drained: it completes
    /// with nil, and its slot stays uninitialized.
    case closed
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
///
/// Arms are made in the caller's module (the case functions are inlinable),
/// where their generic types are concrete; their overridden methods run
/// generic code here, which therefore touches `Element` only through raw
/// slots and never forms an `Element?`.
@usableFromInline
class SelectArm {
    /// The address of the channel's lock word, which orders the select's
    /// locking; nil for a nil channel (never ready) and the default case.
    let lockWord: UnsafeMutableRawPointer?
    /// Bytes and alignment of the slot this case needs to receive or, while
    /// parked, to offer its value.
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

    /// Tries the operation without waiting; a receive lands in `slot`.
    func pollLocked(slot: UnsafeMutableRawPointer) -> SelectPoll { noChannel() }
    /// Publishes `g` as a waiter for this case; `slot` is this case's memory.
    func enqueueLocked(_ g: Goroutine, slot: UnsafeMutableRawPointer, caseIndex: Int) {
        noChannel()
    }
    /// Removes every waiter of `g` from this case's queue.
    func removeLocked(_ g: Goroutine) { noChannel() }
    /// After this case woke the goroutine, with `success` false: the
    /// channel was closed. No lock is held.
    func wokenByClose(slot: UnsafeMutableRawPointer) { noChannel() }
    /// Releases a losing case's slot after a wake. No lock is held.
    func discard(slot: UnsafeMutableRawPointer) { noChannel() }

    private func noChannel() -> Never {
        fatal("runtime: select used a case that has no channel", "selectgo")
    }
}

/// An arm whose closure produces the select's result.
@usableFromInline
class ResultArm<Result>: SelectArm {
    /// Runs the chosen, completed case's closure. Given the arm itself, the
    /// case's slot and whether a value came; made by the case function in
    /// the caller's module, so that it runs specialized there.
    @usableFromInline
    let complete: (ResultArm<Result>, UnsafeMutableRawPointer?, Bool) -> Result

    init(
        lockWord: UnsafeMutableRawPointer?, slotSize: Int = 0, slotAlignment: Int = 1,
        isDefault: Bool = false,
        complete: @escaping (ResultArm<Result>, UnsafeMutableRawPointer?, Bool) -> Result
    ) {
        self.complete = complete
        super.init(
            lockWord: lockWord, slotSize: slotSize, slotAlignment: slotAlignment,
            isDefault: isDefault)
    }
}

/// `onReceive`: receives from `channel`, then calls `body` with the value.
@usableFromInline
final class ReceiveArm<Element: Sendable, Result>: ResultArm<Result> {
    let channel: Channel<Element>?
    @usableFromInline let body: (Element?) -> Result

    @usableFromInline
    init(
        _ channel: consuming Channel<Element>?, _ body: @escaping (Element?) -> Result,
        complete: @escaping (ResultArm<Result>, UnsafeMutableRawPointer?, Bool) -> Result
    ) {
        self.channel = channel
        self.body = body
        super.init(
            lockWord: channel?.lock.address, slotSize: MemoryLayout<Element>.size,
            slotAlignment: MemoryLayout<Element>.alignment, complete: complete)
    }

    override func pollLocked(slot: UnsafeMutableRawPointer) -> SelectPoll {
        switch channel!.attemptReceiveLocked(into: slot) {
        case .done(let wake): return .ready(wake: wake)
        case .closed: return .closed
        case .wouldBlock: return .wouldBlock
        }
    }

    override func enqueueLocked(_ g: Goroutine, slot: UnsafeMutableRawPointer, caseIndex: Int) {
        channel!.receivers.enqueue(Waiter(goroutine: g, slot: slot, caseIndex: caseIndex))
    }

    override func removeLocked(_ g: Goroutine) { channel!.receivers.remove(g) }

    /// The slot was never written: `complete` passes nil to the body.
    override func wokenByClose(slot: UnsafeMutableRawPointer) {}

    override func discard(slot: UnsafeMutableRawPointer) {}
}

/// `onSend`: sends a value fixed when the select starts, then calls `body`.
@usableFromInline
final class SendArm<Element: Sendable, Result>: ResultArm<Result> {
    let channel: Channel<Element>?
    let value: Element
    @usableFromInline let body: () -> Result

    @usableFromInline
    init(
        _ channel: consuming Channel<Element>?, _ value: Element, _ body: @escaping () -> Result,
        complete: @escaping (ResultArm<Result>, UnsafeMutableRawPointer?, Bool) -> Result
    ) {
        self.channel = channel
        self.value = value
        self.body = body
        super.init(
            lockWord: channel?.lock.address, slotSize: MemoryLayout<Element>.size,
            slotAlignment: MemoryLayout<Element>.alignment, complete: complete)
    }

    override func pollLocked(slot: UnsafeMutableRawPointer) -> SelectPoll {
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

    override func wokenByClose(slot: UnsafeMutableRawPointer) {
        // The value was never taken.
        discard(slot: slot)
        goPanic("send on closed channel")
    }

    override func discard(slot: UnsafeMutableRawPointer) {
        // safety: a case that did not deliver still holds its initialized value.
        slot.assumingMemoryBound(to: Element.self).deinitialize(count: 1)
    }
}

/// `onDefault`: runs `body` when no other case is ready.
@usableFromInline
final class DefaultArm<Result>: ResultArm<Result> {
    @usableFromInline let body: () -> Result

    @usableFromInline
    init(
        _ body: @escaping () -> Result,
        complete: @escaping (ResultArm<Result>, UnsafeMutableRawPointer?, Bool) -> Result
    ) {
        self.body = body
        super.init(lockWord: nil, isDefault: true, complete: complete)
    }
}
