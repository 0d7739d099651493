// select: wait on several channel operations at once, as Go's `select`.
//
// The cases come from a result builder; each channel case is an arm
// (SelectCases.swift). One select runs in three steps:
//
// 1. Lock every involved channel, once each, in the order of their lock
//    addresses. Every multi-lock holder uses that order, so two selects over
//    the same channels cannot deadlock; single-channel operations take one
//    lock and cannot join a cycle.
// 2. Poll the cases in a fresh random order and take the first one ready.
//    A uniformly random order makes every ready case equally likely. If none
//    is ready, take the default case if there is one.
// 3. Otherwise enqueue a waiter for every case, each with its case index and
//    its own slot in the goroutine's transfer buffer (heap memory, never a
//    stack), and park. The park's commit releases all the locks once the
//    goroutine is off its stack.
//
// A case that polls ready completes there: a receive leaves its value in
// the goroutine's transfer buffer, and `select` hands it to the case's
// closure. The poll costs no heap allocation beyond the arms themselves:
// the loop's index lists live on the stack, and each select draws its
// shuffle from a private generator seeded by one atomic add.
//
// Waking: the first waker to claim the goroutine's `selectDone` (0 → 1, in
// `WaitQueue.dequeue`) owns the wake-up. It completes its case (fills or
// empties that case's slot), records `wakeCase` and `wakeSuccess`, and
// readies the goroutine; later wakers skip its other waiters. The woken
// select relocks every channel, removes its remaining waiters, and resets
// `selectDone` to 0 while still holding every lock, so no waiter of an old
// select survives into the next one.
//
// Alternatives rejected: locking channels one at a time while polling would
// let two cases be committed by different wakers; a per-select heap object
// for the slots would cost an allocation per blocking select, where the
// goroutine's transfer buffer is reused.

import CGoroutines
import Synchronization

// MARK: - Public API

/// One case of a `select`, made by `onReceive`, `onSend` or `onDefault`.
/// `Result` is what the case's closure returns; every case of one select
/// returns the same type.
public struct SelectCase<Result> {
    @usableFromInline let arm: ResultArm<Result>

    @inlinable
    init(arm: ResultArm<Result>) { self.arm = arm }
}

/// The cases of one `select`, as its result builder collects them.
///
/// The first four cases are kept inline, so that a typical select builds
/// its list without an array.
public struct SelectCaseList {
    @usableFromInline var count: Int
    @usableFromInline var first: SelectArm?
    @usableFromInline var second: SelectArm?
    @usableFromInline var third: SelectArm?
    @usableFromInline var fourth: SelectArm?
    /// The cases after the fourth.
    @usableFromInline var more: [SelectArm]

    @inlinable
    init() {
        count = 0
        more = []
    }

    @inlinable
    init(_ arm: SelectArm) {
        count = 1
        first = arm
        more = []
    }

    /// The case at `index`, counting from 0 in the order written.
    @inlinable
    subscript(index: Int) -> SelectArm {
        switch index {
        case 0: return first!
        case 1: return second!
        case 2: return third!
        case 3: return fourth!
        default: return more[index - 4]
        }
    }

    @inlinable
    mutating func append(_ other: consuming SelectCaseList) {
        if other.count == 1 {
            append(other.first!)
            return
        }
        var index = 0
        while index < other.count {
            append(other[index])
            index += 1
        }
    }

    @inlinable
    mutating func append(_ arm: SelectArm) {
        switch count {
        case 0: first = arm
        case 1: second = arm
        case 2: third = arm
        case 3: fourth = arm
        default: more.append(arm)
        }
        count += 1
    }
}

/// Collects the cases written inside `select { ... }`. Cases may be chosen
/// with `if`, `switch` and `for` as well as listed.
@resultBuilder
public enum SelectBuilder<Result> {
    /// One case.
    @inlinable
    public static func buildExpression(_ selectCase: SelectCase<Result>) -> SelectCaseList {
        SelectCaseList(selectCase.arm)
    }

    /// An empty block.
    @inlinable
    public static func buildBlock() -> SelectCaseList { SelectCaseList() }

    /// The first part of a block.
    @inlinable
    public static func buildPartialBlock(first: SelectCaseList) -> SelectCaseList { first }

    /// The next part of a block, appended to the parts before it.
    @inlinable
    public static func buildPartialBlock(
        accumulated: consuming SelectCaseList, next: SelectCaseList
    ) -> SelectCaseList {
        accumulated.append(next)
        return accumulated
    }

    /// The cases of an `if` without `else`, when its condition holds.
    @inlinable
    public static func buildOptional(_ part: SelectCaseList?) -> SelectCaseList {
        part ?? SelectCaseList()
    }

    /// The cases of the first branch of an `if`/`else` or `switch`.
    @inlinable
    public static func buildEither(first part: SelectCaseList) -> SelectCaseList { part }

    /// The cases of the second branch of an `if`/`else` or `switch`.
    @inlinable
    public static func buildEither(second part: SelectCaseList) -> SelectCaseList { part }

    /// The cases of a `for` loop, one group per iteration.
    @inlinable
    public static func buildArray(_ parts: [SelectCaseList]) -> SelectCaseList {
        var list = SelectCaseList()
        for part in parts { list.append(part) }
        return list
    }
}

/// A case that receives from `channel`. `body` gets the value, or nil when
/// the channel is closed and drained (Go's `ok == false`). A closed channel
/// is always ready; a nil `channel` never is.
///
/// ```swift
/// select {
///     onReceive(jobs) { job in
///         if let job { run(job) } else { print("no more jobs") }
///     }
/// }
/// ```
@inlinable
public func onReceive<Element, Result>(
    _ channel: consuming Channel<Element>?, _ body: @escaping (Element?) -> Result
) -> SelectCase<Result> {
    SelectCase(
        arm: ReceiveArm(channel, body) { arm, slot, success in
            let body = unsafeDowncast(arm, to: ReceiveArm<Element, Result>.self).body
            // safety: after a successful receive the case's slot holds the
            // value, which nothing else reads.
            return body(success ? slot!.assumingMemoryBound(to: Element.self).move() : nil)
        })
}

/// A case that sends `value` on `channel`, then runs `body`. The value is
/// taken when the select starts, as in Go. A nil `channel` is never ready.
/// If this case is chosen while the channel is closed, or the channel is
/// closed while the select waits on it, the process dies with
/// `panic: send on closed channel`, as a plain send would.
@inlinable
public func onSend<Element, Result>(
    _ channel: consuming Channel<Element>?, _ value: Element, _ body: @escaping () -> Result
) -> SelectCase<Result> {
    SelectCase(
        arm: SendArm(channel, value, body) { arm, _, _ in
            unsafeDowncast(arm, to: SendArm<Element, Result>.self).body()
        })
}

/// The case taken when no other case is ready: it makes a select
/// non-blocking. At most one per select.
///
/// ```swift
/// let sent = select {
///     onSend(events, event) { true }
///     onDefault { false }  // the buffer is full: drop the event
/// }
/// ```
@inlinable
public func onDefault<Result>(_ body: @escaping () -> Result) -> SelectCase<Result> {
    SelectCase(
        arm: DefaultArm(body) { arm, _, _ in
            unsafeDowncast(arm, to: DefaultArm<Result>.self).body()
        })
}

/// Waits until one of the cases can proceed, performs it, and returns what
/// that case's closure returns. As Go's `select`:
///
/// - When several cases are ready, one is chosen uniformly at random.
/// - `onDefault` runs when no other case is ready; without it, `select`
///   parks the goroutine (or blocks a plain thread) until a case is ready.
/// - A case on a nil channel is never ready. A closed channel is always
///   ready to receive (the closure gets nil).
/// - A select whose cases are all on nil channels, with no default, blocks
///   forever; so does `select()` with no cases at all.
///
/// ```swift
/// let reply: String? = select {
///     onReceive(replies) { $0 }
///     onReceive(after(.seconds(1))) { _ in nil }  // timed out
/// }
/// ```
///
/// - Precondition: at most one `onDefault` case.
@inlinable
@discardableResult
public func select<Result>(@SelectBuilder<Result> _ cases: () -> SelectCaseList) -> Result {
    let list = cases()
    let chosen = runSelect(list)
    // safety: the builder admits only SelectCase<Result>, whose arms are
    // ResultArm<Result>.
    return list.unretainedArm(chosen.index)._withUnsafeGuaranteedRef {
        let arm = unsafeDowncast($0, to: ResultArm<Result>.self)
        return arm.complete(arm, chosen.slot, chosen.success)
    }
}

/// Blocks forever, as Go's `select {}`: the goroutine parks (a plain thread
/// sleeps) and is never woken. Goroutine dumps show it as
/// `select (no cases)`.
public func select() -> Never {
    park(.selectNoCases, commit: nil, context: nil)
    fatal("runtime: a select with no cases was resumed", "selectgo")
}

// MARK: - The select loop

/// The case a select completed: its index in the list, the slot holding
/// what a receive got, and whether a value came (false for a receive on a
/// closed channel).
@usableFromInline
struct SelectOutcome {
    @usableFromInline let index: Int
    @usableFromInline let slot: UnsafeMutableRawPointer?
    @usableFromInline let success: Bool
}

/// Runs steps 1 to 3 of the file comment and returns the case that
/// completed, ready for its closure.
@usableFromInline
func runSelect(_ list: borrowing SelectCaseList) -> SelectOutcome {
    checkPreemption()
    let count = list.count
    if count == 0 {
        park(.selectNoCases, commit: nil, context: nil)
        fatal("runtime: a select with no cases was resumed", "selectgo")
    }
    // On the stack: the arms, unretained (the list owns them until the
    // select returns), and four lists indexed by case or position.
    return withUnsafeTemporaryAllocation(of: Unmanaged<SelectArm>.self, capacity: count) {
        let arms = $0.baseAddress!
        for index in 0..<count { (arms + index).initialize(to: list.unretainedArm(index)) }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * count) { scratch in
            selectLoop(SelectArms(arms), SelectScratch(scratch.baseAddress!, count), count)
        }
    }
}

extension SelectCaseList {
    /// The case at `index`, counting from 0 in the order written, without
    /// the retain that returning it strongly would cost.
    @inlinable
    func unretainedArm(_ index: Int) -> Unmanaged<SelectArm> {
        switch index {
        case 0: return .passUnretained(first.unsafelyUnwrapped)
        case 1: return .passUnretained(second.unsafelyUnwrapped)
        case 2: return .passUnretained(third.unsafelyUnwrapped)
        case 3: return .passUnretained(fourth.unsafelyUnwrapped)
        default: return more.withUnsafeBufferPointer { .passUnretained($0[index - 4]) }
        }
    }
}

/// The arms of one select, unretained, in a buffer on the select's stack.
private struct SelectArms {
    let base: UnsafeMutablePointer<Unmanaged<SelectArm>>

    init(_ base: UnsafeMutablePointer<Unmanaged<SelectArm>>) { self.base = base }

    /// Calls `body` with the arm at `index`, without reference counting.
    @inline(__always)
    func with<R>(_ index: Int, _ body: (SelectArm) -> R) -> R {
        // safety: the case list owns every arm until runSelect returns.
        base[index]._withUnsafeGuaranteedRef(body)
    }
}

/// The select loop's lists, each as long as the select has cases.
private struct SelectScratch {
    /// By position: indices of the cases with a channel, shuffled before
    /// polling.
    let live: UnsafeMutablePointer<Int>
    /// By position: indices of cases with distinct channels, in lock-address
    /// order.
    let order: UnsafeMutablePointer<Int>
    /// By position in `live`: each case's slot offset in the parked select's
    /// buffer.
    let offsets: UnsafeMutablePointer<Int>
    /// By case index: the address of the case's lock word, 0 for none.
    let lockWords: UnsafeMutablePointer<UInt>

    init(_ base: UnsafeMutablePointer<Int>, _ count: Int) {
        live = base
        order = base + count
        offsets = base + 2 * count
        // safety: Int and UInt share size and alignment.
        lockWords = UnsafeMutableRawPointer(base + 3 * count).assumingMemoryBound(to: UInt.self)
    }

    func lock(_ position: Int) {
        // safety: a live arm's lock word is the start of its channel's
        // RawLock, which the arm keeps alive.
        UnsafeMutableRawPointer(bitPattern: lockWords[order[position]])!
            .assumingMemoryBound(to: RawLock.self).pointee.lock()
    }

    /// Unlocks the first `count` locks in `order`, last first.
    func unlockAll(_ count: Int) {
        var position = count
        while position > 0 {
            position -= 1
            // safety: as in lock(_:).
            gr_rawlock_unlock(UnsafeMutablePointer(bitPattern: lockWords[order[position]])!)
        }
    }
}

private func selectLoop(
    _ arms: SelectArms, _ scratch: SelectScratch, _ count: Int
) -> SelectOutcome {
    // Cases on nil channels take no part.
    let live = scratch.live
    var liveCount = 0
    var fallback = -1
    var slotSize = 0
    var slotAlignment = 1
    for index in 0..<count {
        let (word, size, alignment, isDefault) = arms.with(index) {
            (UInt(bitPattern: $0.lockWord), $0.slotSize, $0.slotAlignment, $0.isDefault)
        }
        scratch.lockWords[index] = word
        if word != 0 {
            live[liveCount] = index
            liveCount += 1
            slotSize = max(slotSize, size)
            slotAlignment = max(slotAlignment, alignment)
        } else if isDefault {
            require(fallback < 0, "select: multiple default cases")
            fallback = index
        }
    }
    if liveCount == 0 {
        if fallback >= 0 { return SelectOutcome(index: fallback, slot: nil, success: true) }
        park(.select, commit: nil, context: nil)
        fatal("runtime: a select with no ready case was resumed", "selectgo")
    }

    // A receive polled ready lands in the goroutine's transfer buffer, which
    // no one else touches before the case's closure has taken it.
    let g = currentWaiter()
    let slot = g.transferBuffer(size: slotSize, alignment: slotAlignment)
    let lockCount = distinctLocksInAddressOrder(scratch, liveCount)
    for position in 0..<lockCount { scratch.lock(position) }

    // Poll in random order: the first ready case is a uniform pick.
    var random = SelectRandom()
    random.shuffle(live, liveCount)
    for position in 0..<liveCount {
        let index = live[position]
        switch arms.with(index, { $0.pollLocked(slot: slot) }) {
        case .wouldBlock:
            continue
        case .sendOnClosed:
            scratch.unlockAll(lockCount)
            goPanic("send on closed channel")
        case .ready(let wake):
            scratch.unlockAll(lockCount)
            wake.with { ready($0) }
            return SelectOutcome(index: index, slot: slot, success: true)
        case .closed:
            scratch.unlockAll(lockCount)
            return SelectOutcome(index: index, slot: slot, success: false)
        }
    }
    if fallback >= 0 {
        scratch.unlockAll(lockCount)
        return SelectOutcome(index: fallback, slot: nil, success: true)
    }

    return parkOnAll(g, arms, scratch, liveCount: liveCount, lockCount: lockCount)
}

/// Step 3 of the file comment, entered with every lock in `scratch.order`
/// held.
private func parkOnAll(
    _ g: Goroutine, _ arms: SelectArms, _ scratch: SelectScratch, liveCount: Int,
    lockCount: Int
) -> SelectOutcome {
    let live = scratch.live
    let offsets = scratch.offsets

    // The buffer: [lock count, lock word addresses...] for the commit, then
    // one slot per live case.
    let word = MemoryLayout<UInt>.stride
    var size = (1 + lockCount) * word
    var alignment = MemoryLayout<UInt>.alignment
    for position in 0..<liveCount {
        let (slotSize, slotAlignment) = arms.with(live[position]) {
            ($0.slotSize, $0.slotAlignment)
        }
        size = (size + slotAlignment - 1) / slotAlignment * slotAlignment
        offsets[position] = size
        size += slotSize
        alignment = max(alignment, slotAlignment)
    }
    let buffer = g.transferBuffer(size: size, alignment: alignment)
    // safety: the buffer holds at least `size` bytes; the words region is
    // read only by the commit below, before its last unlock.
    buffer.storeBytes(of: UInt(lockCount), toByteOffset: 0, as: UInt.self)
    for position in 0..<lockCount {
        let address = scratch.lockWords[scratch.order[position]]
        buffer.storeBytes(of: address, toByteOffset: (1 + position) * word, as: UInt.self)
    }

    // No waiter of g exists anywhere: the last select cleaned up under its
    // locks. Relaxed: our unlocks publish this before any waker's claim.
    g.selectDone.store(0, ordering: .relaxed)
    g.wakeCase = -1
    g.wakeSuccess = false
    for position in 0..<liveCount {
        let index = live[position]
        let slot = buffer + offsets[position]
        arms.with(index) { $0.enqueueLocked(g, slot: slot, caseIndex: index) }
    }
    park(.select, commit: unlockAllCommit, context: buffer)

    // Woken: the winner's writes to wakeCase and wakeSuccess happened before
    // it readied us.
    let winner = g.wakeCase
    let success = g.wakeSuccess
    for position in 0..<lockCount { scratch.lock(position) }
    for position in 0..<liveCount { arms.with(live[position]) { $0.removeLocked(g) } }
    g.selectDone.store(0, ordering: .relaxed)
    scratch.unlockAll(lockCount)

    var winnerSlot: UnsafeMutableRawPointer?
    for position in 0..<liveCount {
        let slot = buffer + offsets[position]
        if live[position] == winner {
            winnerSlot = slot
        } else {
            arms.with(live[position]) { $0.discard(slot: slot) }
        }
    }
    guard let winnerSlot else {
        fatal("runtime: select woken for case \(winner), not one of its own", "selectgo")
    }
    if !success { arms.with(winner) { $0.wokenByClose(slot: winnerSlot) } }
    return SelectOutcome(index: winner, slot: winnerSlot, success: success)
}

/// The commit of a parked select. `context` is the select's buffer, which
/// starts with the lock count and then each lock word's address.
let unlockAllCommit: ParkCommit = { context in
    // safety: the buffer stays intact until the woken goroutine has relocked
    // all these locks, which cannot happen before the last unlock below; the
    // loop reads each address before releasing that lock and nothing after
    // the last release.
    let buffer = context!
    let word = MemoryLayout<UInt>.stride
    let count = Int(buffer.load(as: UInt.self))
    for position in 1...count {
        let address = buffer.load(fromByteOffset: position * word, as: UInt.self)
        gr_rawlock_unlock(UnsafeMutablePointer<UInt32>(bitPattern: address)!)
    }
    return true
}

/// Fills `scratch.order` with the indices among the first `liveCount` of
/// `scratch.live` of cases with distinct channels, sorted by lock address,
/// and returns how many.
private func distinctLocksInAddressOrder(_ scratch: SelectScratch, _ liveCount: Int) -> Int {
    let order = scratch.order
    let words = scratch.lockWords
    // Insertion sort: selects have few cases.
    for i in 0..<liveCount {
        let moving = scratch.live[i]
        let key = words[moving]
        var j = i
        while j > 0, words[order[j - 1]] > key {
            order[j] = order[j - 1]
            j -= 1
        }
        order[j] = moving
    }
    // Drop repeats of a channel, now adjacent.
    var kept = 0
    for i in 0..<liveCount where kept == 0 || words[order[kept - 1]] != words[order[i]] {
        order[kept] = order[i]
        kept += 1
    }
    return kept
}

// MARK: - Randomness

/// The seed source of every select's generator: a counter that each select
/// advances once. Relaxed: only the counter's uniqueness matters.
private let selectSeedCounter = Atomic<UInt64>(UInt64(bitPattern: monotonicNanos()))

/// One select's pseudo-random numbers (wyrand), seeded by mixing a fresh
/// value of the shared counter, so a select costs one atomic add however
/// many cases it shuffles, and is safe from any thread.
private struct SelectRandom {
    private var state: UInt64

    init() {
        let counter = selectSeedCounter.wrappingAdd(
            0x9e37_79b9_7f4a_7c15, ordering: .relaxed
        ).newValue
        // Mixing keeps the sequences of consecutive selects apart; the raw
        // counters differ by one generator step.
        state = Self.mix(counter)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        let mixed = value.multipliedFullWidth(by: value ^ 0xe703_7ed1_a0b4_28db)
        return mixed.high ^ mixed.low
    }

    /// A pseudo-random number in 0..<bound.
    mutating func next(below bound: Int) -> Int {
        state &+= 0xa076_1d64_78bd_642f
        let random = Self.mix(state)
        // Lemire's multiply-shift: the bias is bound / 2^64, far below
        // anything a test could see.
        return Int(UInt64(bound).multipliedFullWidth(by: random).high)
    }

    /// Fisher-Yates over `indices[0..<count]`.
    mutating func shuffle(_ indices: UnsafeMutablePointer<Int>, _ count: Int) {
        var i = count - 1
        while i > 0 {
            let j = next(below: i + 1)
            let moving = indices[i]
            indices[i] = indices[j]
            indices[j] = moving
            i -= 1
        }
    }
}
