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
    let arm: ResultArm<Result>
}

/// The cases of one `select`, as its result builder collects them.
public struct SelectCaseList {
    /// A list of exactly one case keeps it here, which spares an array.
    var lone: SelectArm?
    /// The cases in order, when there are none or more than one.
    var many: [SelectArm] = []

    init() {}

    init(_ arm: SelectArm) { lone = arm }

    var arms: [SelectArm] {
        if let lone { return [lone] }
        return many
    }

    mutating func append(_ other: consuming SelectCaseList) {
        if let arm = other.lone {
            append(arm)
        } else {
            for arm in other.many { append(arm) }
        }
    }

    private mutating func append(_ arm: SelectArm) {
        if let first = lone {
            many.reserveCapacity(4)
            many.append(first)
            lone = nil
            many.append(arm)
        } else if many.isEmpty {
            lone = arm
        } else {
            many.append(arm)
        }
    }
}

/// Collects the cases written inside `select { ... }`. Cases may be chosen
/// with `if`, `switch` and `for` as well as listed.
@resultBuilder
public enum SelectBuilder<Result> {
    /// One case.
    public static func buildExpression(_ selectCase: SelectCase<Result>) -> SelectCaseList {
        SelectCaseList(selectCase.arm)
    }

    /// An empty block.
    public static func buildBlock() -> SelectCaseList { SelectCaseList() }

    /// The first part of a block.
    public static func buildPartialBlock(first: SelectCaseList) -> SelectCaseList { first }

    /// The next part of a block, appended to the parts before it.
    public static func buildPartialBlock(
        accumulated: consuming SelectCaseList, next: SelectCaseList
    ) -> SelectCaseList {
        accumulated.append(next)
        return accumulated
    }

    /// The cases of an `if` without `else`, when its condition holds.
    public static func buildOptional(_ part: SelectCaseList?) -> SelectCaseList {
        part ?? SelectCaseList()
    }

    /// The cases of the first branch of an `if`/`else` or `switch`.
    public static func buildEither(first part: SelectCaseList) -> SelectCaseList { part }

    /// The cases of the second branch of an `if`/`else` or `switch`.
    public static func buildEither(second part: SelectCaseList) -> SelectCaseList { part }

    /// The cases of a `for` loop, one group per iteration.
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
public func onReceive<Element, Result>(
    _ channel: Channel<Element>?, _ body: @escaping (Element?) -> Result
) -> SelectCase<Result> {
    SelectCase(arm: ReceiveArm(channel, body))
}

/// A case that sends `value` on `channel`, then runs `body`. The value is
/// taken when the select starts, as in Go. A nil `channel` is never ready.
/// If this case is chosen while the channel is closed, or the channel is
/// closed while the select waits on it, the process dies with
/// `panic: send on closed channel`, as a plain send would.
public func onSend<Element, Result>(
    _ channel: Channel<Element>?, _ value: Element, _ body: @escaping () -> Result
) -> SelectCase<Result> {
    SelectCase(arm: SendArm(channel, value, body))
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
public func onDefault<Result>(_ body: @escaping () -> Result) -> SelectCase<Result> {
    SelectCase(arm: DefaultArm(body))
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
@discardableResult
public func select<Result>(@SelectBuilder<Result> _ cases: () -> SelectCaseList) -> Result {
    let chosen = runSelect(cases().arms)
    // safety: the builder admits only SelectCase<Result>, whose arms are
    // ResultArm<Result>.
    return unsafeDowncast(chosen, to: ResultArm<Result>.self).run()
}

/// Blocks forever, as Go's `select {}`: the goroutine parks (a plain thread
/// sleeps) and is never woken. Goroutine dumps show it as
/// `select (no cases)`.
public func select() -> Never {
    park(.selectNoCases, commit: nil, context: nil)
    fatal("runtime: a select with no cases was resumed", "selectgo")
}

// MARK: - The select loop

/// Runs steps 1 to 3 of the file comment and returns the arm whose case
/// completed, ready to `run()`.
private func runSelect(_ arms: [SelectArm]) -> SelectArm {
    checkPreemption()

    // Cases on nil channels take no part.
    var fallback: SelectArm?
    var live: [Int] = []
    live.reserveCapacity(arms.count)
    for index in arms.indices {
        let arm = arms[index]
        if arm.lockWord != nil {
            live.append(index)
        } else if arm.isDefault {
            precondition(fallback == nil, "select: multiple default cases")
            fallback = arm
        }
    }
    if live.isEmpty {
        if let fallback { return fallback }
        park(arms.isEmpty ? .selectNoCases : .select, commit: nil, context: nil)
        fatal("runtime: a select with no ready case was resumed", "selectgo")
    }

    let lockOrder = distinctLocksInAddressOrder(arms, live)
    for index in lockOrder { arms[index].lockChannel() }

    // Poll in random order: the first ready case is a uniform pick.
    shuffle(&live)
    for index in live {
        switch arms[index].pollLocked() {
        case .wouldBlock:
            continue
        case .sendOnClosed:
            unlockAll(arms, lockOrder)
            goPanic("send on closed channel")
        case .ready(let wake):
            unlockAll(arms, lockOrder)
            if let wake { ready(wake) }
            return arms[index]
        }
    }
    if let fallback {
        unlockAll(arms, lockOrder)
        return fallback
    }

    return parkOnAll(arms, live: live, lockOrder: lockOrder)
}

/// Step 3 of the file comment, entered with every lock in `lockOrder` held.
private func parkOnAll(_ arms: [SelectArm], live: [Int], lockOrder: [Int]) -> SelectArm {
    let g = currentWaiter()

    // The buffer: [lock count, lock word addresses...] for the commit, then
    // one slot per live case.
    let word = MemoryLayout<UInt>.stride
    var size = (1 + lockOrder.count) * word
    var alignment = MemoryLayout<UInt>.alignment
    var offsets = [Int](repeating: 0, count: arms.count)
    for index in live {
        let slotAlignment = arms[index].slotAlignment
        size = (size + slotAlignment - 1) / slotAlignment * slotAlignment
        offsets[index] = size
        size += arms[index].slotSize
        alignment = max(alignment, slotAlignment)
    }
    let buffer = g.transferBuffer(size: size, alignment: alignment)
    // safety: the buffer holds at least `size` bytes; the words region is
    // read only by the commit below, before its last unlock.
    buffer.storeBytes(of: UInt(lockOrder.count), toByteOffset: 0, as: UInt.self)
    for position in 0..<lockOrder.count {
        let address = UInt(bitPattern: arms[lockOrder[position]].lockWord)
        buffer.storeBytes(of: address, toByteOffset: (1 + position) * word, as: UInt.self)
    }

    // No waiter of g exists anywhere: the last select cleaned up under its
    // locks. Relaxed: our unlocks publish this before any waker's claim.
    g.selectDone.store(0, ordering: .relaxed)
    g.wakeCase = -1
    g.wakeSuccess = false
    for index in live {
        arms[index].enqueueLocked(g, slot: buffer + offsets[index], caseIndex: index)
    }
    park(.select, commit: unlockAllCommit, context: buffer)

    // Woken: the winner's writes to wakeCase and wakeSuccess happened before
    // it readied us.
    let winner = g.wakeCase
    let success = g.wakeSuccess
    for index in lockOrder { arms[index].lockChannel() }
    for index in live { arms[index].removeLocked(g) }
    g.selectDone.store(0, ordering: .relaxed)
    unlockAll(arms, lockOrder)

    guard live.contains(winner) else {
        fatal("runtime: select woken for case \(winner), not one of its own", "selectgo")
    }
    for index in live where index != winner { arms[index].discard(slot: buffer + offsets[index]) }
    arms[winner].takeWoken(slot: buffer + offsets[winner], success: success)
    return arms[winner]
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

/// Indices of `live` arms with distinct channels, sorted by lock address.
/// Plain index loops throughout: this runs on every select, and generic
/// collection adaptors are slow in unoptimized builds.
private func distinctLocksInAddressOrder(_ arms: [SelectArm], _ live: [Int]) -> [Int] {
    var order = live
    // Insertion sort: selects have few cases.
    var i = 1
    while i < order.count {
        let moving = order[i]
        let key = UInt(bitPattern: arms[moving].lockWord)
        var j = i
        while j > 0, UInt(bitPattern: arms[order[j - 1]].lockWord) > key {
            order[j] = order[j - 1]
            j -= 1
        }
        order[j] = moving
        i += 1
    }
    // Drop repeats of a channel, now adjacent.
    var kept = 0
    i = 0
    while i < order.count {
        if kept == 0 || arms[order[kept - 1]].lockWord != arms[order[i]].lockWord {
            order[kept] = order[i]
            kept += 1
        }
        i += 1
    }
    order.removeLast(order.count - kept)
    return order
}

private func unlockAll(_ arms: [SelectArm], _ lockOrder: [Int]) {
    var i = lockOrder.count
    while i > 0 {
        i -= 1
        arms[lockOrder[i]].unlockChannel()
    }
}

// MARK: - Randomness

/// The state of the select's generator (wyrand): a counter that every draw
/// advances, then mixes. Relaxed: only the counter's uniqueness matters.
private let selectRandomState = Atomic<UInt64>(UInt64(bitPattern: monotonicNanos()))

/// A pseudo-random number in 0..<bound, cheap enough for every select and
/// safe from any thread.
func selectRandom(below bound: Int) -> Int {
    let state = selectRandomState.wrappingAdd(
        0xa076_1d64_78bd_642f, ordering: .relaxed
    ).newValue
    let mixed = state.multipliedFullWidth(by: state ^ 0xe703_7ed1_a0b4_28db)
    let random = mixed.high ^ mixed.low
    // Lemire's multiply-shift: the bias is bound / 2^64, far below anything
    // a test could see.
    return Int(UInt64(bound).multipliedFullWidth(by: random).high)
}

/// Fisher-Yates with `selectRandom`.
private func shuffle(_ indices: inout [Int]) {
    var i = indices.count - 1
    while i > 0 {
        indices.swapAt(i, selectRandom(below: i + 1))
        i -= 1
    }
}
