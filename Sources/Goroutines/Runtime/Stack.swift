// Goroutine stacks.
//
// A stack is a reserve of address space that the kernel commits page by page
// as the goroutine touches it, with a guard region below it. Stacks are
// carved from slabs of `stacksPerSlab` so that a million goroutines need a
// few thousand mappings, not a million.
//
// Guards, in order of preference:
// 1. `madvise(MADV_GUARD_INSTALL)` (Linux 6.13 and later). It marks the guard
//    pages without splitting the slab's mapping, so the slab stays one entry
//    of the process's map count.
// 2. `mprotect(PROT_NONE)`. Every guard splits the mapping, costing two map
//    entries per stack; `vm.max_map_count` (65530 by default) then caps the
//    process near 32k stacks.
// 3. No guard, when mprotect guards would pass the map-count limit. The stack
//    instead gets a canary word at its low end that the scheduler checks every
//    time the goroutine switches out. An overflow is then caught after the
//    fact rather than at the faulting instruction; that is the documented
//    price of going past the limit on kernels without guard advice.
//
// A goroutine gets its stack when it first runs, not when it is spawned, and
// gives it back when its body returns. A goroutine waiting in a run queue
// therefore costs only its record, and a new goroutine usually starts on the
// stack the previous one on its P just left, still mapped and in cache. Free
// stacks sit in a small cache per P (`StackCache`) and a global pool behind
// it; beyond a warm set, the scavenger gives pooled stacks' memory back with
// MADV_FREE.

import CGoroutines
import Glibc
import Synchronization

/// One goroutine stack: `size` usable bytes above `base`, a guard below.
struct Stack {
    /// Lowest usable address.
    let base: UnsafeMutableRawPointer
    /// Usable bytes.
    let size: Int
    /// Whether a guard region sits below `base` (else a canary protects it).
    let guarded: Bool

    var top: UnsafeMutableRawPointer { base + size }

    static let canary: UInt = 0x5AFE_C0DE_5AFE_C0DE

    /// Whether the canary of an unguarded stack is intact.
    var canaryIntact: Bool {
        guarded || base.load(as: UInt.self) == Stack.canary
    }
}

/// A P's own free stacks, the most recently freed on top. Owner only.
struct StackCache {
    static let capacity = 64
    /// Stacks moved to or from the global pool at a time.
    static let batch = 32

    private let slots: UnsafeMutablePointer<Stack>
    private(set) var count = 0

    init() {
        slots = .allocate(capacity: StackCache.capacity)
    }

    var isFull: Bool { count == StackCache.capacity }

    @inline(__always)
    mutating func pop() -> Stack? {
        if count == 0 { return nil }
        count -= 1
        return (slots + count).move()
    }

    /// Pops the top stack if it has `size` bytes.
    @inline(__always)
    mutating func pop(ifSize size: Int) -> Stack? {
        if count == 0 || slots[count - 1].size != size { return nil }
        count -= 1
        return (slots + count).move()
    }

    /// Adds a stack; the cache must not be full.
    @inline(__always)
    mutating func push(_ stack: Stack) {
        (slots + count).initialize(to: stack)
        count += 1
    }

    /// Removes the `n` least recently freed stacks, oldest first.
    mutating func removeOldest(_ n: Int) -> [Stack] {
        let taken = min(n, count)
        let oldest = Array(UnsafeBufferPointer(start: slots, count: taken))
        // The regions may overlap; moveInitialize allows that.
        slots.moveInitialize(from: slots + taken, count: count - taken)
        count -= taken
        return oldest
    }
}

/// Hands out stacks carved from large slabs, and pools freed ones.
final class StackAllocator: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `lock`.
    static let shared = StackAllocator()

    /// Bytes of guard below each stack: four times a thread's usual one page.
    /// A frame larger than this could step over the guard, but Swift frames
    /// that large are rare, and the kernel's guard advice walks the guard page
    /// by page: 16 KiB costs about a quarter less per new stack than 64 KiB.
    static let guardSize = 16 * 1024
    static let stacksPerSlab = 128
    static let defaultStackSize = 256 * 1024

    private let lock = RawLock()
    /// Usable bytes per new stack. Written under `lock`; read without it on
    /// every spawn (relaxed: a spawn racing a resize may use either size).
    private let stackSizeValue: Atomic<Int>
    /// Unused stacks of the current slab; guarded by `lock`.
    @exclusivity(unchecked) private var carved: [Stack] = []
    /// Freed stacks beyond the P caches, oldest first; guarded by `lock`.
    @exclusivity(unchecked) private var warm: [Stack] = []
    /// Freed stacks whose memory the scavenger gave back; guarded by `lock`.
    /// Used after `warm`, so stacks still in memory are reused first.
    @exclusivity(unchecked) private var cold: [Stack] = []
    /// Map entries our slabs and guards cost; guarded by `lock`.
    @exclusivity(unchecked) private var mapEntries = 0
    /// Which guard mechanism works here; guarded by `lock`.
    @exclusivity(unchecked) private var guardAdviceWorks = true
    private let mapLimit: Int

    private init() {
        stackSizeValue = Atomic(StackAllocator.sizeFromEnvironment())
        mapLimit = StackAllocator.readMapLimit()
    }

    var stackSize: Int {
        @inline(__always) get { stackSizeValue.load(ordering: .relaxed) }
        set {
            lock.withLock {
                stackSizeValue.store(newValue, ordering: .relaxed)
                // The current slab's unused stacks have the old size.
                for stack in carved { StackAllocator.unmap(stack) }
                carved.removeAll()
            }
        }
    }

    /// Rounds a requested stack size to whole pages, within sane bounds.
    static func normalize(_ bytes: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let clamped = max(bytes, 16 * 1024)
        return (clamped + page - 1) / page * page
    }

    private static func sizeFromEnvironment() -> Int {
        guard let raw = getenv("GOROUTINE_STACK_SIZE") else { return defaultStackSize }
        let text = String(cString: raw)
        if let bytes = parseByteSize(text), bytes >= 16 * 1024, bytes <= 1 << 30 {
            return normalize(bytes)
        }
        warn(
            "goroutines: ignoring GOROUTINE_STACK_SIZE=\(text): want a size from 16K to 1G "
                + "such as 262144, 512K or 1M; using \(defaultStackSize / 1024)K")
        return defaultStackSize
    }

    private static func readMapLimit() -> Int {
        guard let text = readSmallFile("/proc/sys/vm/max_map_count"),
            let value = Int(text.trimmingWhitespace())
        else { return 65530 }
        return value
    }

    /// A stack of `size` bytes for a goroutine about to run on `p` for the
    /// first time: the one most recently freed on `p` when there is one.
    /// Caller holds `p`.
    @inline(__always)
    func take(_ p: Processor, size: Int) -> Stack {
        if let stack = p.stacks.pop(ifSize: size) { return stack }
        return takeSlow(p, size: size)
    }

    @inline(never)
    private func takeSlow(_ p: Processor, size: Int) -> Stack {
        // The goroutine was spawned before a size change: pools keep only
        // stacks of the current size.
        if size != stackSize { return StackAllocator.mapSingle(size: size) }
        while let stack = p.stacks.pop() {
            if stack.size == size { return stack }
            StackAllocator.unmap(stack)
        }
        var stale: [Stack] = []
        lock.lock()
        // Refill the cache by half, from the pool, then from slabs.
        while p.stacks.count < StackCache.batch {
            let stack: Stack
            if let next = warm.popLast() {
                stack = next
            } else if let next = cold.popLast() {
                stack = next
            } else {
                if carved.isEmpty || carved[carved.count - 1].size != size { carveSlab(size) }
                stack = carved.removeLast()
            }
            if stack.size == size { p.stacks.push(stack) } else { stale.append(stack) }
        }
        lock.unlock()
        for stack in stale { StackAllocator.unmap(stack) }
        return p.stacks.pop()!
    }

    /// Takes back the stack of a goroutine that finished on `p`, if it holds
    /// one, else straight into the global pool.
    @inline(__always)
    func give(_ stack: Stack, _ p: Processor?) {
        if stack.size != stackSize {
            // Only stacks of the current size are pooled.
            StackAllocator.unmap(stack)
            return
        }
        if let p, !p.stacks.isFull {
            p.stacks.push(stack)
            return
        }
        giveSlow(stack, p)
    }

    @inline(never)
    private func giveSlow(_ stack: Stack, _ p: Processor?) {
        // A full cache keeps its hotter half and passes the rest on.
        let spilled = p?.stacks.removeOldest(StackCache.batch) ?? []
        lock.lock()
        warm.append(contentsOf: spilled)
        if let p { p.stacks.push(stack) } else { warm.append(stack) }
        lock.unlock()
    }

    /// Moves every stack cached on `p` to the global pool, for a P that
    /// is being retired. Caller holds `p`.
    func flush(_ p: Processor) {
        let all = p.stacks.removeOldest(p.stacks.count)
        if all.isEmpty { return }
        lock.withLock { warm.append(contentsOf: all) }
    }

    /// Gives back the memory of pooled stacks beyond the `keep` most recently
    /// freed. They stay reserved, and are reused last.
    func scavenge(keep: Int) {
        lock.lock()
        let surplus = max(0, warm.count - keep)
        let old = Array(warm.prefix(surplus))
        warm.removeFirst(surplus)
        lock.unlock()
        if old.isEmpty { return }
        for stack in old { StackAllocator.release(stack) }
        lock.lock()
        cold.append(contentsOf: old)
        lock.unlock()
    }

    /// Gives a stack's memory back to the kernel; it stays reserved and usable.
    static func release(_ stack: Stack) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        // Keep the top page: it holds nothing but is touched first on reuse.
        let length = stack.size - page
        if length > 0 {
            _ = madvise(stack.base, length, MADV_FREE)
            if !stack.guarded { stack.base.storeBytes(of: Stack.canary, as: UInt.self) }
        }
    }

    /// Unmaps a stack that is no longer wanted (its size is out of date).
    static func unmap(_ stack: Stack) {
        let start = stack.guarded ? stack.base - guardSize : stack.base
        let length = stack.guarded ? stack.size + guardSize : stack.size
        _ = munmap(start, length)
    }

    /// A stack of its own mapping, for a goroutine whose stack size is no
    /// longer the current one. Guarded by mprotect, which splits nothing
    /// here, since the mapping holds only this stack.
    static func mapSingle(size: Int) -> Stack {
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK
        let length = size + guardSize
        guard let start = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0),
            start != MAP_FAILED
        else {
            fatal(
                "runtime: cannot allocate goroutine stack (mmap: \(errnoText(gr_errno())))",
                "out of memory")
        }
        let guarded = mprotect(start, guardSize, PROT_NONE) == 0
        let stack = Stack(base: start + guardSize, size: size, guarded: guarded)
        if !guarded { stack.base.storeBytes(of: Stack.canary, as: UInt.self) }
        return stack
    }

    // Called with `lock` held. Unused stacks of an older size are unmapped.
    private func carveSlab(_ size: Int) {
        for stack in carved { StackAllocator.unmap(stack) }
        carved.removeAll()
        let stride = size + StackAllocator.guardSize
        let count = StackAllocator.stacksPerSlab
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK
        guard let slab = mmap(nil, stride * count, PROT_READ | PROT_WRITE, flags, -1, 0),
            slab != MAP_FAILED
        else {
            fatal(
                "runtime: cannot allocate goroutine stack (mmap: \(errnoText(gr_errno())))",
                "out of memory")
        }
        mapEntries += 1
        // Huge pages would commit 2 MiB where a stack touches 4 KiB. Guard
        // markers already keep the fault path on small pages; this also keeps
        // khugepaged off, and covers the guardless fallback.
        _ = madvise(slab, stride * count, MADV_NOHUGEPAGE)

        let mprotectCost = 2 * count
        let useGuard: Bool
        if guardAdviceWorks {
            let madviseGuardInstall: Int32 = 102
            if madvise(slab, StackAllocator.guardSize, madviseGuardInstall) == 0 {
                for i in 1..<count {
                    _ = madvise(slab + i * stride, StackAllocator.guardSize, madviseGuardInstall)
                }
                useGuard = true
            } else {
                guardAdviceWorks = false
                useGuard = mapEntries + mprotectCost < mapLimit - 4096
                if useGuard { protectGuards(slab, stride: stride, count: count) }
            }
        } else {
            useGuard = mapEntries + mprotectCost < mapLimit - 4096
            if useGuard { protectGuards(slab, stride: stride, count: count) }
        }

        carved.reserveCapacity(count)
        for i in (0..<count).reversed() {
            let base = slab + i * stride + StackAllocator.guardSize
            let stack = Stack(base: base, size: size, guarded: useGuard)
            if !useGuard { base.storeBytes(of: Stack.canary, as: UInt.self) }
            carved.append(stack)
        }
    }

    private func protectGuards(_ slab: UnsafeMutableRawPointer, stride: Int, count: Int) {
        for i in 0..<count {
            _ = mprotect(slab + i * stride, StackAllocator.guardSize, PROT_NONE)
        }
        mapEntries += 2 * count
    }
}

/// Parses "262144", "512K", "512k", "1M", "1m", "1G".
func parseByteSize(_ text: String) -> Int? {
    var digits = Substring(text)
    var scale = 1
    switch digits.last {
    case "k", "K": scale = 1024
    case "m", "M": scale = 1024 * 1024
    case "g", "G": scale = 1024 * 1024 * 1024
    default: break
    }
    if scale != 1 { digits = digits.dropLast() }
    guard let value = Int(digits), value >= 0 else { return nil }
    let (product, overflow) = value.multipliedReportingOverflow(by: scale)
    return overflow ? nil : product
}
