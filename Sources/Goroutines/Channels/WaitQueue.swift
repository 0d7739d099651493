// A FIFO of parked goroutines waiting on one channel direction.
//
// Entries are values stored in a ring that grows as needed; a wait costs no
// allocation once the ring has room. An entry from a select may have lost
// its race to another channel: `dequeue` skips those, and claims a select
// entry by winning its goroutine's `selectDone` compare-and-swap, the single
// atomic decision that picks a select's winning case.

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
    private var ring: [Waiter?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func enqueue(_ waiter: Waiter) {
        if count == ring.count { grow() }
        ring[(head + count) % ring.count] = waiter
        count += 1
    }

    private mutating func grow() {
        let capacity = max(4, ring.count * 2)
        var fresh = [Waiter?](repeating: nil, count: capacity)
        for i in 0..<count { fresh[i] = ring[(head + i) % ring.count] }
        ring = fresh
        head = 0
    }

    private mutating func popFront() -> Waiter? {
        if count == 0 { return nil }
        let waiter = ring[head]
        ring[head] = nil
        head = (head + 1) % ring.count
        count -= 1
        return waiter
    }

    /// Removes and returns the first waiter that can still be woken, claiming
    /// it if it belongs to a select.
    @inline(__always)
    mutating func dequeue() -> Waiter? {
        // Most operations find the other side's queue empty: decide that
        // without a call.
        if count == 0 { return nil }
        return dequeueLive()
    }

    private mutating func dequeueLive() -> Waiter? {
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
    /// Compacts the ring in place, in order: every woken select runs this on
    /// each of its channels, so it allocates nothing.
    mutating func remove(_ goroutine: Goroutine) {
        if count == 0 { return }
        let capacity = ring.count
        var kept = 0
        for position in 0..<count {
            let waiter = ring[(head + position) % capacity]
            // The slot written is never one still to be read: kept ≤ position.
            if waiter?.goroutine !== goroutine {
                ring[(head + kept) % capacity] = waiter
                kept += 1
            }
        }
        for position in kept..<count { ring[(head + position) % capacity] = nil }
        count = kept
    }

    /// Removes and returns all waiters that can still be woken.
    mutating func dequeueAll() -> [Waiter] {
        var all: [Waiter] = []
        while let waiter = dequeue() { all.append(waiter) }
        return all
    }
}
