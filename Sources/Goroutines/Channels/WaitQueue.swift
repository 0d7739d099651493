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
    /// Its capacity is zero or a power of two, so an index wraps with a mask
    /// instead of a division.
    private var ring: [Waiter?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func enqueue(_ waiter: Waiter) {
        if count == ring.count { grow() }
        ring[(head + count) & (ring.count - 1)] = waiter
        count += 1
    }

    private mutating func grow() {
        let capacity = max(4, ring.count * 2)
        var fresh = [Waiter?](repeating: nil, count: capacity)
        for i in 0..<count { fresh[i] = ring[(head + i) & (ring.count - 1)] }
        ring = fresh
        head = 0
    }

    private mutating func popFront() -> Waiter? {
        if count == 0 { return nil }
        let waiter = ring[head]
        ring[head] = nil
        head = (head + 1) & (ring.count - 1)
        count -= 1
        return waiter
    }

    /// Removes and returns the first waiter that can still be woken, claiming
    /// it if it belongs to a select.
    mutating func dequeue() -> Waiter? {
        // Checked before touching the ring: the common empty case then costs
        // no uniqueness check of the ring's storage.
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
        var kept: [Waiter] = []
        kept.reserveCapacity(count)
        while let waiter = popFront() {
            if waiter.goroutine !== goroutine { kept.append(waiter) }
        }
        for waiter in kept { enqueue(waiter) }
    }

    /// Removes and returns all waiters that can still be woken.
    mutating func dequeueAll() -> [Waiter] {
        var all: [Waiter] = []
        while let waiter = dequeue() { all.append(waiter) }
        return all
    }
}
