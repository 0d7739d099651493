// Low-level locks for the runtime's own structures.
//
// `RawLock` guards short critical sections: a channel's queues, the
// scheduler's global lists. It spins briefly, then sleeps on a futex. It is
// not goroutine-aware: code must never park while holding one, except
// through a park whose commit step releases it on the scheduler stack.
//
// `Note` is a one-shot wake-up word for a thread that must sleep until
// another thread tells it to go on (an idle machine, a plain thread blocked
// in a channel operation).

import CGoroutines
import Glibc
import Synchronization

/// A futex-based mutual-exclusion lock for runtime internals.
///
/// States: 0 unlocked, 1 locked, 2 locked with possible sleepers.
struct RawLock: ~Copyable {
    let word = Atomic<UInt32>(0)

    init() {}

    @inline(__always)
    func lock() {
        // acquiring: pairs with the releasing store in unlock().
        if word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            return
        }
        lockSlow()
    }

    @inline(never)
    func lockSlow() {
        for _ in 0..<64 {
            if word.load(ordering: .relaxed) == 0,
                word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
            {
                return
            }
            spinPause()
        }
        // Announce a sleeper (2) and sleep until the holder's unlock wakes us.
        while word.exchange(2, ordering: .acquiring) != 0 {
            futexWait(word, expected: 2)
        }
    }

    @inline(__always)
    func tryLock() -> Bool {
        word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
    }

    @inline(__always)
    func unlock() {
        // releasing: publishes the critical section to the next holder.
        if word.exchange(0, ordering: .releasing) == 2 {
            futexWake(word, count: 1)
        }
    }

    @inline(__always)
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A one-shot event: `sleep()` returns once `wake()` has been called.
/// `reset()` re-arms it; only the sleeping side resets.
struct Note: ~Copyable {
    let word = Atomic<UInt32>(0)

    init() {}

    func reset() { word.store(0, ordering: .relaxed) }

    /// Sleeps until woken. Returns false if `timeoutNanos` passed first.
    @discardableResult
    func sleep(timeoutNanos: Int64 = -1) -> Bool {
        if timeoutNanos < 0 {
            // acquiring: everything before wake() is visible after we return.
            while word.load(ordering: .acquiring) == 0 {
                futexWait(word, expected: 0)
            }
            return true
        }
        let deadline = monotonicNanos() + timeoutNanos
        while word.load(ordering: .acquiring) == 0 {
            let left = deadline - monotonicNanos()
            if left <= 0 { return word.load(ordering: .acquiring) != 0 }
            futexWait(word, expected: 0, timeoutNanos: left)
        }
        return true
    }

    func wake() {
        // releasing: pairs with the acquiring load in sleep().
        word.store(1, ordering: .releasing)
        futexWake(word, count: 1)
    }

    var isSet: Bool { word.load(ordering: .acquiring) != 0 }
}

@inline(__always)
func futexWait(_ word: borrowing Atomic<UInt32>, expected: UInt32, timeoutNanos: Int64 = -1) {
    // safety: an Atomic's storage has a stable address for its lifetime, and
    // the futex system call reads it atomically.
    let address = UnsafeMutablePointer<UInt32>(mutating: word.rawAddress)
    _ = gr_futex_wait(address, expected, timeoutNanos)
}

@inline(__always)
func futexWake(_ word: borrowing Atomic<UInt32>, count: Int32) {
    // safety: as in futexWait.
    let address = UnsafeMutablePointer<UInt32>(mutating: word.rawAddress)
    gr_futex_wake(address, count)
}

extension Atomic where Value == UInt32 {
    /// The address of the atomic's storage, for the futex system call.
    var rawAddress: UnsafePointer<UInt32> {
        // safety: Atomic is @_rawLayout storage at a fixed address while borrowed.
        withUnsafePointer(to: self) { UnsafeRawPointer($0) }
            .assumingMemoryBound(to: UInt32.self)
    }
}

@inline(__always)
func spinPause() {
    gr_cpu_relax()
}

/// Nanoseconds on the monotonic clock.
@inline(__always)
func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
