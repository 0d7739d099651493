// The goroutine record (G).
//
// A record lives as long as the process: once its body returns it gives its
// stack back and goes to a free list, ready for the next `go`. Because records are
// never deallocated, queues hold them as unretained pointers and the hot
// paths use `unowned(unsafe)` references, which keeps reference counting out
// of the scheduler loop. `Registry` holds the one strong reference to each.
//
// A plain thread that blocks in a runtime operation (a channel receive on the
// main thread, say) gets an *external* record of its own, created on first
// use. Parking an external record sleeps the thread on a futex instead of
// switching stacks, so every blocking operation has one code path.

import CGoroutines
import Synchronization

/// Why a goroutine is parked, shown in goroutine dumps as in Go.
enum WaitReason: UInt8 {
    case none
    case chanReceive, chanSend, chanReceiveNilChan, chanSendNilChan
    case select, selectNoCases
    case sleep, timer
    case waitGroup, mutex, rwMutexRead, rwMutexWrite, cond, semaphore, once
    case blocking, preempted

    var text: String {
        switch self {
        case .none: return "running"
        case .chanReceive: return "chan receive"
        case .chanSend: return "chan send"
        case .chanReceiveNilChan: return "chan receive (nil chan)"
        case .chanSendNilChan: return "chan send (nil chan)"
        case .select: return "select"
        case .selectNoCases: return "select (no cases)"
        case .sleep: return "sleep"
        case .timer: return "timer"
        case .waitGroup: return "sync.WaitGroup.Wait"
        case .mutex: return "sync.Mutex.Lock"
        case .rwMutexRead: return "sync.RWMutex.RLock"
        case .rwMutexWrite: return "sync.RWMutex.Lock"
        case .cond: return "sync.Cond.Wait"
        case .semaphore: return "semacquire"
        case .once: return "sync.Once.Do"
        case .blocking: return "syscall"
        case .preempted: return "preempted"
        }
    }
}

/// Goroutine states. Stored in `Goroutine.status`.
enum GStatus: UInt32 {
    case idle = 0  // fresh or on a free list
    case runnable = 1  // in a run queue
    case running = 2  // on an M with a P
    case waiting = 3  // parked
    case blocking = 4  // in a blocking region, possibly without a P
    case dead = 5  // body returned
}

final class Goroutine: @unchecked Sendable {
    // @unchecked: fields are handed between threads only through the
    // scheduler's queues and park/ready, whose atomics order them.

    /// Saved stack pointer (word 0) and Swift exclusivity state (words 1-2).
    /// Raw memory so that the switch never forms an inout access to a
    /// property, which the exclusivity checker would track across the switch.
    /// A running goroutine's slots are the top words of its own stack (see
    /// `useStackSlots`), in the memory the switch touches anyway; a record
    /// without a stack uses `ownSlots`.
    @exclusivity(unchecked) private(set) var slots: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let ownSlots: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    var contextSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?> { slots }
    var exclusivityState: UnsafeMutablePointer<CChar> {
        UnsafeMutableRawPointer(slots + 1).assumingMemoryBound(to: CChar.self)
    }

    @exclusivity(unchecked) var id: Int64 = 0
    @exclusivity(unchecked) var stack: Stack?
    /// The stack size in force when the goroutine was spawned; its stack,
    /// attached when it first runs, has this size.
    @exclusivity(unchecked) var stackSize = 0
    /// Goroutines this one spawned since it started, last parked or last
    /// yielded (see `spawn`). Only the goroutine itself touches it.
    @exclusivity(unchecked) var spawnCount = 0
    @exclusivity(unchecked) var body: (@Sendable () -> Void)?
    let status = Atomic<UInt32>(GStatus.idle.rawValue)

    // Diagnostics: written by the goroutine itself before it parks.
    @exclusivity(unchecked) var waitReason: WaitReason = .none
    @exclusivity(unchecked) var waitSince: Int64 = 0
    @exclusivity(unchecked) var createdFile: StaticString = ""
    @exclusivity(unchecked) var createdLine: UInt = 0
    @exclusivity(unchecked) var parentID: Int64 = 0
    /// The goroutine Runtime.main runs; dumps show no creator for it.
    @exclusivity(unchecked) var isMain = false

    /// The machine running this goroutine, while it runs.
    @exclusivity(unchecked) unowned(unsafe) var machine: Machine?
    @exclusivity(unchecked) var lockedMachineRef = Unretained<Machine>(nil)
    /// Set while the goroutine is wired to a thread by lockOSThread.
    var lockedMachine: Machine? {
        @inline(__always) get { lockedMachineRef.object }
        @inline(__always) set { lockedMachineRef = Unretained(newValue) }
    }
    @exclusivity(unchecked) var lockCount = 0

    /// Intrusive link for the global run queue and free lists.
    @exclusivity(unchecked) var nextRef = Unretained<Goroutine>(nil)
    var next: Goroutine? {
        @inline(__always) get { nextRef.object }
        @inline(__always) set { nextRef = Unretained(newValue) }
    }

    /// Set by sysmon when the goroutine has run too long; honoured at the
    /// next runtime entry.
    let preemptRequested = Atomic<Bool>(false)

    // Channel hand-off. A waiting receiver's value lands in `transfer`; a
    // waiting sender's value is read from it. Heap memory owned by this record,
    // so no waiter ever points into another goroutine's stack.
    @exclusivity(unchecked) var transfer: UnsafeMutableRawPointer?
    @exclusivity(unchecked) var transferCapacity = 0
    /// Select: 0 while undecided; the first waker to swap in 1 wins.
    let selectDone = Atomic<Int>(0)
    /// Which case woke the goroutine, and whether a value came with it.
    @exclusivity(unchecked) var wakeCase = -1
    @exclusivity(unchecked) var wakeSuccess = false

    /// For external records: the thread sleeps on this while parked.
    let isExternal: Bool
    let parkNote = Note()

    init(external: Bool) {
        isExternal = external
        ownSlots = .allocate(capacity: Goroutine.slotCount)
        ownSlots.initialize(repeating: nil, count: Goroutine.slotCount)
        slots = ownSlots
        makeImmortal(self)
    }

    var currentStatus: GStatus {
        GStatus(rawValue: status.load(ordering: .acquiring)) ?? .dead
    }

    /// Words 0-2: the context and exclusivity slots; words 4-7 the stack's
    /// `gr_running` facts for the overflow handler (word 3 pads).
    static let slotCount = 8
    private static let factsWord = 4

    /// Places the slots in the top `slotCount` words of `stack`, cleared,
    /// with the stack's overflow facts, and returns the stack top left for
    /// the goroutine's frames. Only while the record is not running.
    func useStackSlots(_ stack: Stack) -> UnsafeMutableRawPointer {
        let bytes = Goroutine.slotCount * MemoryLayout<UnsafeMutableRawPointer?>.stride
        let start = stack.top - bytes
        // safety: the top words of the goroutine's own stack, which no frame
        // uses: frames start below them. Mapped and writable for the stack's
        // lifetime, which spans the goroutine's.
        slots = start.bindMemory(to: UnsafeMutableRawPointer?.self, capacity: Goroutine.slotCount)
        slots.initialize(repeating: nil, count: Goroutine.slotCount)
        let lo = UInt(bitPattern: stack.base)
        let facts = gr_running(
            guard_lo: stack.guarded ? lo - UInt(StackAllocator.guardSize) : lo, guard_hi: lo,
            goid: id, stack_size: stack.size)
        UnsafeMutableRawPointer(slots + Goroutine.factsWord).storeBytes(
            of: facts, as: gr_running.self)
        return start
    }

    /// The running stack's facts for the overflow handler. Only while the
    /// record holds a stack.
    var overflowFacts: UnsafePointer<gr_running> {
        UnsafeRawPointer(slots + Goroutine.factsWord).assumingMemoryBound(to: gr_running.self)
    }

    /// Takes the stack away from a record that is done with it, and moves the
    /// slots back into the record.
    func detachStack() -> Stack? {
        guard let stack else { return nil }
        self.stack = nil
        slots = ownSlots
        return stack
    }

    /// Ensures `transfer` holds at least `size` bytes at `alignment`.
    @inline(__always)
    func transferBuffer(size: Int, alignment: Int) -> UnsafeMutableRawPointer {
        if let transfer, size <= transferCapacity, alignment <= 16 {
            return transfer
        }
        return growTransfer(size: size, alignment: alignment)
    }

    @inline(never)
    private func growTransfer(size: Int, alignment: Int) -> UnsafeMutableRawPointer {
        transfer?.deallocate()
        let capacity = max(size, 64)
        let buffer = UnsafeMutableRawPointer.allocate(
            byteCount: capacity, alignment: max(alignment, 16))
        transfer = buffer
        transferCapacity = capacity
        return buffer
    }
}

/// An intrusive LIFO of goroutine records linked through `next`: free lists
/// cost no allocation. A record is on at most one list or queue at a time.
struct GoroutineList {
    private var first = Unretained<Goroutine>(nil)
    private(set) var count = 0

    var head: Goroutine? { first.object }

    mutating func push(_ g: Goroutine) {
        g.nextRef = first
        first = Unretained(g)
        count += 1
    }

    mutating func pop() -> Goroutine? {
        guard let g = popLink() else { return nil }
        return g.object
    }

    /// Unlinks the front record without counting a reference to it.
    mutating func popLink() -> Unretained<Goroutine>? {
        if first.isNil { return nil }
        let link = first
        link.with { g in
            first = g.nextRef
            g.nextRef = Unretained(nil)
        }
        count -= 1
        return link
    }

    private mutating func pushLink(_ link: Unretained<Goroutine>) {
        let previous = first
        link.with { $0.nextRef = previous }
        first = link
        count += 1
    }

    /// Moves up to `n` records from the front of `other` to this list.
    mutating func take(_ n: Int, from other: inout GoroutineList) {
        for _ in 0..<n {
            guard let link = other.popLink() else { return }
            pushLink(link)
        }
    }
}

/// Every goroutine record ever made: the strong references behind the
/// unowned ones, and the list that dumps and deadlock checks walk.
final class Registry: @unchecked Sendable {
    // @unchecked: `all` is guarded by `lock`.
    static let shared = Registry()
    let lock = RawLock()
    @exclusivity(unchecked) private(set) var all: [Goroutine] = []
    let nextID = Atomic<Int64>(1)

    func add(_ g: Goroutine) {
        lock.withLock { all.append(g) }
    }

    func snapshot() -> [Goroutine] {
        lock.withLock { all }
    }
}
