// The processor (P): the token a thread must hold to run goroutine code.
//
// Each P owns a local run queue: a ring of 256 slots with one producer (the
// thread holding the P) and many consumers (the owner and thieves). `tail` is
// written only by the owner; `head` moves by compare-and-swap, so a thief
// and the owner never both take the same slot. Beside the ring sits
// `runnext`, a one-goroutine slot for the goroutine just readied by the
// running one: a receiver woken by a send runs next, which keeps ping-pong
// pairs on one P and skips a queue round trip.
//
// Ownership is an atomic word: the owning machine's id in the high bits and
// a state in the low byte. A machine moves its P between `user` (running
// goroutine code) and `runtime` (inside the scheduler or a runtime entry)
// with a compare-and-swap, and sysmon may take a P only in the `blocking`
// state (a marked blocking region) or, for unmarked blocking, in `user`. A
// machine whose compare-and-swap fails has lost its P and must get one back
// before it runs goroutine code again.

import CGoroutines
import Glibc
import Synchronization

enum PState: UInt64 {
    case idle = 0  // on the idle list, no owner
    case user = 1  // its machine runs goroutine code
    case runtime = 2  // its machine is inside the runtime
    case blocking = 3  // its goroutine is in a marked blocking region
    case retired = 4  // beyond GOMAXPROCS after a shrink
}

final class Processor: @unchecked Sendable {
    // @unchecked: the ring and `runnext` are lock-free (orderings noted at
    // each access); the plain fields are touched only by the owning machine,
    // or under the scheduler lock where marked.

    static let ringSize: UInt32 = 256

    let id: Int
    /// Owner machine id << 8 | PState.
    let ownership = Atomic<UInt64>(PState.idle.rawValue)

    private let head = Atomic<UInt32>(0)
    private let tail = Atomic<UInt32>(0)
    private let ring: UnsafeMutablePointer<UInt>
    private let runnext = Atomic<UInt>(0)

    /// Goroutines scheduled on this P; sysmon compares it between looks.
    let scheduleTick = Atomic<UInt64>(0)
    /// Marked blocking regions entered on this P.
    let blockingTick = Atomic<UInt64>(0)
    /// When the current blocking region started (ns).
    let blockingStart = Atomic<Int64>(0)

    /// Next on the idle list; guarded by the scheduler lock.
    @exclusivity(unchecked) unowned(unsafe) var nextIdle: Processor?
    /// The owner, set on acquire; read only by the owner or under the lock.
    var machine: Machine? {
        @inline(__always) get { machineRef.object }
        @inline(__always) set { machineRef = Unretained(newValue) }
    }
    @exclusivity(unchecked) var machineRef = Unretained<Machine>(nil)

    /// Free goroutine records, owner only.
    @exclusivity(unchecked) var freeGoroutines = GoroutineList()
    /// Free stacks, owner only.
    @exclusivity(unchecked) var stacks = StackCache()

    /// Goroutines started and finished while this P was held. Only the owner
    /// writes them (a load and a releasing store, no read-modify-write);
    /// `Runtime.numGoroutine` sums them over every P, so spawning and exiting
    /// touch no counter shared between cores.
    let startedCount = Atomic<Int>(0)
    let finishedCount = Atomic<Int>(0)
    /// Goroutine ids reserved for this P, `idNext..<idEnd`; owner only. Ids
    /// come from the global counter a batch at a time, as in Go.
    @exclusivity(unchecked) var idNext: Int64 = 0
    @exclusivity(unchecked) var idEnd: Int64 = 0

    // sysmon's memory of its last look at this P.
    /// Scheduling rounds left before the global queue is looked at first;
    /// owner only. Counts every round, also those that inherit the time
    /// slice, so a pair of goroutines handing off through `runnext` cannot
    /// keep goroutines readied by timers waiting on the global queue.
    @exclusivity(unchecked) var roundsToGlobalCheck = 61
    /// A spawner held back by back-pressure (see `spawn`) while this P runs
    /// what is queued, as its record's address (0 for none). It counts as
    /// queued work wherever a P's queue is looked at, so a P handed off or
    /// watched by sysmon never strands it. Only the owner writes it.
    let heldBackBits = Atomic<UInt>(0)
    /// When (monotonic ns) the held-back spawner resumes at the latest; it
    /// resumes sooner once the global backlog is down to half the limit, or
    /// if the P runs out of work. From then on another P may take it too, so
    /// a goroutine that runs on here without a break cannot strand it. Only
    /// the owner writes it.
    let backOffUntil = Atomic<Int64>(0)

    /// Holds `g` back until `until` (see `heldBackBits`); none may be held
    /// already. Owner only.
    func holdBack(_ g: Goroutine, until: Int64) {
        backOffUntil.store(until, ordering: .relaxed)
        // releasing: the record's state, and the deadline, are published
        // with it.
        heldBackBits.store(
            UInt(bitPattern: Unmanaged.passUnretained(g).toOpaque()), ordering: .releasing)
    }

    /// Takes the held-back goroutine, if any. The owner may always take it;
    /// another P (a thief) only once its deadline has passed. An exchange,
    /// since owner and thieves may race.
    func takeHeldBack(asThief: Bool = false, now: Int64 = 0) -> Unmanaged<Goroutine>? {
        if heldBackBits.load(ordering: .relaxed) == 0 { return nil }
        if asThief, now < backOffUntil.load(ordering: .relaxed) { return nil }
        // acquiring: pairs with holdBack's releasing store.
        let bits = heldBackBits.exchange(0, ordering: .acquiring)
        if bits == 0 { return nil }
        // safety: the bits are a live, immortal record's address.
        return Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
    }

    var hasHeldBack: Bool {
        @inline(__always) get { heldBackBits.load(ordering: .relaxed) != 0 }
    }
    @exclusivity(unchecked) var sysmonTick: UInt64 = 0
    /// When sysmon first saw `sysmonTick`: the start of the current time
    /// slice, late by at most one of sysmon's rounds.
    @exclusivity(unchecked) var sysmonTickSeen: Int64 = 0
    @exclusivity(unchecked) var sysmonBlockingTick: UInt64 = 0
    @exclusivity(unchecked) var sysmonSleepyLooks = 0

    init(id: Int) {
        self.id = id
        ring = .allocate(capacity: Int(Processor.ringSize))
        ring.initialize(repeating: 0, count: Int(Processor.ringSize))
        makeImmortal(self)
    }

    /// Counts a goroutine started on this P. Owner only.
    @inline(__always)
    func countStarted() {
        startedCount.store(startedCount.load(ordering: .relaxed) + 1, ordering: .releasing)
    }

    /// Counts a goroutine finished on this P. Owner only.
    @inline(__always)
    func countFinished() {
        finishedCount.store(finishedCount.load(ordering: .relaxed) + 1, ordering: .releasing)
    }

    /// A fresh goroutine id. Owner only.
    @inline(__always)
    func takeGoroutineID() -> Int64 {
        if idNext == idEnd {
            let batch: Int64 = 16
            idNext = Registry.shared.nextID.add(batch, ordering: .relaxed).oldValue
            idEnd = idNext + batch
        }
        defer { idNext += 1 }
        return idNext
    }

    // MARK: Ownership

    @inline(__always)
    static func word(_ machineID: Int, _ state: PState) -> UInt64 {
        UInt64(machineID) << 8 | state.rawValue
    }

    /// Whether a machine holds this P (it runs goroutine or runtime code).
    var isOwned: Bool {
        let s = state
        return s == .user || s == .runtime
    }

    var state: PState {
        PState(rawValue: ownership.load(ordering: .acquiring) & 0xFF) ?? .idle
    }

    // MARK: Local run queue

    @inline(__always)
    private func slot(_ index: UInt32) -> UnsafeMutablePointer<UInt> {
        ring + Int(index % Processor.ringSize)
    }

    var isQueueEmpty: Bool {
        head.load(ordering: .acquiring) == tail.load(ordering: .acquiring)
            && runnext.load(ordering: .acquiring) == 0
            && heldBackBits.load(ordering: .acquiring) == 0
    }

    var queueLength: Int {
        Int(tail.load(ordering: .acquiring) &- head.load(ordering: .acquiring))
            + (runnext.load(ordering: .relaxed) != 0 ? 1 : 0)
    }

    /// Queues `g`; with `next`, puts it in `runnext` and queues whatever was
    /// there. When the ring is full, moves half of it to the global queue.
    /// Owner only.
    @inline(__always)
    func put(_ g: Goroutine, next: Bool) {
        var bits = UInt(bitPattern: Unmanaged.passUnretained(g).toOpaque())
        if next {
            // acquiringAndReleasing: publishes g to a thief of runnext and
            // takes ownership of the goroutine we displace.
            let old = runnext.exchange(bits, ordering: .acquiringAndReleasing)
            if old == 0 { return }
            bits = old
        }
        while true {
            // acquiring: a thief's head update must be seen before we reuse
            // the slots it freed.
            let h = head.load(ordering: .acquiring)
            let t = tail.load(ordering: .relaxed)
            if t &- h < Processor.ringSize {
                gr_store_relaxed(slot(t), bits)
                // releasing: publishes the slot to consumers that read tail.
                tail.store(t &+ 1, ordering: .releasing)
                return
            }
            if putSlow(bits, head: h, tail: t) { return }
        }
    }

    /// Moves half the ring plus `bits` to the global queue.
    @inline(never)
    private func putSlow(_ bits: UInt, head h: UInt32, tail t: UInt32) -> Bool {
        let n = (t &- h) / 2
        var batch: [UInt] = []
        batch.reserveCapacity(Int(n) + 1)
        for i in 0..<n { batch.append(gr_load_relaxed(slot(h &+ i))) }
        // releasing: our reads of the slots happen before thieves see them free.
        if !head.compareExchange(expected: h, desired: h &+ n, ordering: .acquiringAndReleasing)
            .exchanged
        {
            return false
        }
        batch.append(bits)
        Scheduler.shared.globalPutBatch(batch)
        return true
    }

    /// Takes the next goroutine to run. Owner only. `inheritTime` is true for
    /// the runnext goroutine, which continues the current time slice.
    @inline(__always)
    func get() -> (Goroutine, inheritTime: Bool)? {
        guard let (g, inherit) = getUnretained() else { return nil }
        return (g.takeUnretainedValue(), inherit)
    }

    /// `get` without counting a reference to the goroutine. Owner only.
    @inline(__always)
    func getUnretained() -> (Unmanaged<Goroutine>, inheritTime: Bool)? {
        let next = runnext.load(ordering: .relaxed)
        if next != 0,
            runnext.compareExchange(expected: next, desired: 0, ordering: .acquiring).exchanged
        {
            return (unmanaged(next), true)
        }
        while true {
            let h = head.load(ordering: .acquiring)
            // acquiring: pairs with the owner's releasing tail store.
            let t = tail.load(ordering: .acquiring)
            if t == h { return nil }
            let bits = gr_load_relaxed(slot(h))
            // releasing: the slot read happens before the producer reuses it.
            if head.compareExchange(expected: h, desired: h &+ 1, ordering: .releasing).exchanged {
                return (unmanaged(bits), false)
            }
        }
    }

    /// Takes about half of this P's queue into `into`, for a thief. With
    /// `includeNext`, takes runnext when the ring is empty.
    func grab(into batch: inout [UInt], includeNext: Bool) {
        while true {
            let h = head.load(ordering: .acquiring)
            let t = tail.load(ordering: .acquiring)
            var n = t &- h
            n = n - n / 2
            if n == 0 {
                if includeNext {
                    var next = runnext.load(ordering: .acquiring)
                    if next != 0, isOwned {
                        // The owner usually readied that goroutine just before
                        // parking and is about to run it: give it a few
                        // microseconds, or the pair it belongs to gets split
                        // across threads and every hand-off becomes a wake-up.
                        // Sleep rather than poll: polling keeps pulling the
                        // cache line that the owner writes on every hand-off.
                        var pause = timespec(tv_sec: 0, tv_nsec: 3_000)
                        nanosleep(&pause, nil)
                        next = runnext.load(ordering: .acquiring)
                    }
                    if next != 0,
                        runnext.compareExchange(
                            expected: next, desired: 0, ordering: .acquiringAndReleasing
                        ).exchanged
                    {
                        batch.append(next)
                    }
                }
                return
            }
            if n > Processor.ringSize / 2 { continue }  // torn read of head and tail
            batch.removeAll(keepingCapacity: true)
            for i in 0..<n { batch.append(gr_load_relaxed(slot(h &+ i))) }
            if head.compareExchange(expected: h, desired: h &+ n, ordering: .acquiringAndReleasing)
                .exchanged
            {
                return
            }
            batch.removeAll(keepingCapacity: true)
        }
    }

    /// Empties the queue, runnext included, into `batch`. Owner only (or
    /// with the P retired, when no one else can push).
    func drain(into batch: inout [UInt]) {
        let next = runnext.exchange(0, ordering: .acquiringAndReleasing)
        if next != 0 { batch.append(next) }
        while let (g, _) = get() {
            batch.append(UInt(bitPattern: Unmanaged.passUnretained(g).toOpaque()))
        }
    }

    @inline(__always)
    func unmanaged(_ bits: UInt) -> Unmanaged<Goroutine> {
        // safety: queues hold pointers to records that Registry keeps alive.
        Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
    }

    @inline(__always)
    func goroutine(_ bits: UInt) -> Goroutine {
        // safety: queues hold pointers to records that Registry keeps alive.
        Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
            .takeUnretainedValue()
    }
}
