// A FIFO of parked goroutines waiting on one channel direction.
//
// The oldest entry is stored inline and the rest in a ring that grows as
// needed, so a queue that never holds two waiters at once allocates nothing,
// and a wait costs no allocation once the ring has room. An entry from a
// select may have lost its race to another channel: `dequeue` skips those,
// and claims a select entry by winning its goroutine's `selectDone`
// compare-and-swap, the single atomic decision that picks a select's winning
// case.

import Synchronization

struct Waiter {
    unowned(unsafe) var goroutine: Goroutine
    /// Where the value lands (receiver) or is read from (sender). Heap memory
    /// owned by the waiting operation, never another goroutine's stack.
    var slot: UnsafeMutableRawPointer
    /// The select case this entry stands for, or -1 for a plain operation.
    var caseIndex: Int
}

struct WaitQueue {
    /// The oldest entry, held inline: most queues never hold more than one
    /// waiter, and those then allocate nothing.
    private var front: Waiter? = nil
    /// The entries after `front`, oldest first. Its capacity is zero or a
    /// power of two, so an index wraps with a mask instead of a division.
    private var ring: [Waiter?] = []
    private var head = 0
    private var ringCount = 0
    /// All entries: `front` (if any) and the ring's.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func enqueue(_ waiter: Waiter) {
        if count == 0 {
            front = waiter
        } else {
            ringPush(waiter)
        }
        count += 1
    }

    private mutating func popFront() -> Waiter? {
        guard let first = front else { return nil }
        front = ringCount == 0 ? nil : ringPop()
        count -= 1
        return first
    }

    // The ring is touched only out of line: inlined, the optimizer hoists
    // the ring's uniqueness check into every caller's loop, where it fails
    // on the shared empty array and copies the ring on each call.

    @inline(never)
    private mutating func ringPush(_ waiter: Waiter) {
        if ringCount == ring.count { grow() }
        ring[(head + ringCount) & (ring.count - 1)] = waiter
        ringCount += 1
    }

    @inline(never)
    private mutating func ringPop() -> Waiter? {
        let waiter = ring[head]
        ring[head] = nil
        head = (head + 1) & (ring.count - 1)
        ringCount -= 1
        return waiter
    }

    private mutating func grow() {
        let capacity = max(4, ring.count * 2)
        var fresh = [Waiter?](repeating: nil, count: capacity)
        for i in 0..<ringCount { fresh[i] = ring[(head + i) & (ring.count - 1)] }
        ring = fresh
        head = 0
    }

    /// Removes and returns the first waiter that can still be woken, claiming
    /// it if it belongs to a select.
    @inline(__always)
    mutating func dequeue() -> Waiter? {
        if count == 0 { return nil }
        while let waiter = popFront() {
            if waiter.caseIndex < 0 { return waiter }
            // acquiringAndReleasing: the winner's writes to the goroutine's
            // wake fields follow its claim.
            if waiter.goroutine.selectDone.compareExchange(
                expected: 0, desired: 1, ordering: .acquiringAndReleasing
            ).exchanged {
                return waiter
            }
        }
        return nil
    }

    /// Removes every entry of `goroutine` (a select's losing cases).
    mutating func remove(_ goroutine: Goroutine) {
        if count == 0 { return }
        if count == 1 {
            if front?.goroutine === goroutine {
                front = nil
                count = 0
            }
            return
        }
        // One turn of the queue: each entry leaves the front and, unless it
        // is the goroutine's, rejoins at the back, so order is kept and
        // nothing is allocated. Every woken select runs this on each of its
        // channels.
        for _ in 0..<count {
            let waiter = popFront()!
            if waiter.goroutine !== goroutine { enqueue(waiter) }
        }
    }

    /// Removes and returns all waiters that can still be woken.
    mutating func dequeueAll() -> [Waiter] {
        var all: [Waiter] = []
        while let waiter = dequeue() { all.append(waiter) }
        return all
    }
}
