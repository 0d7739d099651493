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
// A dead goroutine keeps its stack, and goroutine records are pooled (see
// Processor.swift), so the stack pool is the pool of free goroutines. Beyond a
// warm set, the scavenger gives pooled stacks' memory back with MADV_FREE.

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

/// Hands out stacks carved from large slabs.
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
                carved.removeAll()  // leftover stacks of the old size are abandoned
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

    /// A fresh stack.
    func allocate() -> Stack {
        lock.lock()
        if carved.isEmpty { carveSlab() }
        let stack = carved.removeLast()
        lock.unlock()
        return stack
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

    // Called with `lock` held.
    private func carveSlab() {
        let size = stackSizeValue.load(ordering: .relaxed)
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
