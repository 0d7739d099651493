// RWMutex: Go's sync.RWMutex, a reader/writer lock for goroutines.
//
// Any number of readers or one writer. A writer that asks for the lock
// shuts the door on new readers and waits only for the readers already
// inside, so a stream of readers cannot starve writers.
//
// State:
// - `writerLock`, a Mutex, serializes writers.
// - `readers` counts readers inside or waiting. A writer subtracts
//   `maxReaders` from it to announce itself: a negative count tells
//   arriving readers to park on `readerSema`.
// - `departing` counts the readers that were inside when the writer
//   announced itself; each one, leaving, decrements it, and the last one
//   releases `writerSema`, where the writer parks.
// - Unlock adds `maxReaders` back, which reopens the door, and releases
//   `readerSema` once per reader that parked meanwhile.
//
// The semaphores bank permits, so a release that comes before the matching
// park is never lost (see ParkSemaphore).

import Synchronization

/// A reader/writer mutual-exclusion lock for goroutines, as Go's
/// `sync.RWMutex`: many readers at once, or a single writer.
///
/// A writer waiting in `lock()` blocks new readers, so writers never
/// starve. As in Go, a goroutine must not take the read lock recursively:
/// a writer arriving between the two `rLock` calls would deadlock it.
///
/// ```swift
/// let rw = RWMutex()
/// let table = Table()        // guarded by rw
/// rw.withReadLock { _ = table.lookup("key") }
/// rw.withLock { table.insert("key", 1) }
/// ```
///
/// Misuse is fatal, exit status 2: `fatal error: sync: RUnlock of unlocked
/// RWMutex`, and `fatal error: sync: Unlock of unlocked RWMutex`.
public final class RWMutex: Locker, Sendable {
    /// More readers than this at once is a usage error.
    static let maxReaders = 1 << 30

    let writerLock = Mutex()
    let writerSema = ParkSemaphore()
    let readerSema = ParkSemaphore()
    /// Readers inside or parked; minus `maxReaders` while a writer is pending.
    let readers = Atomic<Int>(0)
    /// Readers a pending writer still waits for.
    let departing = Atomic<Int>(0)

    /// Makes an unlocked RWMutex.
    public init() {}

    // MARK: Read side

    /// Takes the lock for reading, parking while a writer holds it or waits
    /// for it.
    public func rLock() {
        checkPreemption()  // a loop of uncontended read locks never parks; see Mutex.lock
        // acquiringAndReleasing: pairs with the writer's unlock, and keeps
        // our increment ordered before our reads of the protected data.
        if readers.add(1, ordering: .acquiringAndReleasing).newValue < 0 {
            // A writer is pending: wait for its unlock to let us in.
            readerSema.acquire(reason: .rwMutexRead)
        }
    }

    /// Takes the read lock if no writer holds it or waits for it, and says
    /// whether it did. Never parks.
    public func tryRLock() -> Bool {
        checkPreemption()  // a loop that never parks must still yield; see Mutex.lock
        var count = readers.load(ordering: .relaxed)
        while count >= 0 {
            let (exchanged, original) = readers.compareExchange(
                expected: count, desired: count + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            count = original
        }
        return false
    }

    /// Releases a read lock.
    ///
    /// Releasing a read lock that is not held is fatal:
    /// `fatal error: sync: RUnlock of unlocked RWMutex`.
    public func rUnlock() {
        // releasing: our reads complete before a writer may go in.
        let count = readers.subtract(1, ordering: .releasing).newValue
        if count < 0 { rUnlockSlow(count) }
    }

    private func rUnlockSlow(_ count: Int) {
        if count + 1 == 0 || count + 1 == -Self.maxReaders {
            fatal("sync: RUnlock of unlocked RWMutex")
        }
        // A writer is pending; the last reader it waits for lets it in.
        if departing.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            writerSema.release()
        }
    }

    /// Runs `body` holding the read lock.
    public func withReadLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        rLock()
        defer { rUnlock() }
        return try body()
    }

    /// A Locker whose `lock`/`unlock` are this mutex's `rLock`/`rUnlock`,
    /// as Go's `RLocker`.
    public var readLocker: any Locker { ReadLocker(self) }

    // MARK: Write side

    /// Takes the lock for writing, parking until every reader and any other
    /// writer has left. From the moment it waits, new readers wait too.
    public func lock() {
        writerLock.lock(reason: .rwMutexWrite)
        // Announce the writer; what was there before is the readers inside.
        let inside =
            readers.subtract(Self.maxReaders, ordering: .acquiringAndReleasing).newValue
            + Self.maxReaders
        // Wait for them, unless they all left before we could count them.
        if inside != 0,
            departing.add(inside, ordering: .acquiringAndReleasing).newValue != 0
        {
            writerSema.acquire(reason: .rwMutexWrite)
        }
    }

    /// Takes the write lock if nobody holds the lock in either mode, and
    /// says whether it did. Never parks.
    public func tryLock() -> Bool {
        checkPreemption()  // as in tryRLock
        if !writerLock.tryLock() { return false }
        if !readers.compareExchange(
            expected: 0, desired: -Self.maxReaders, ordering: .acquiringAndReleasing
        ).exchanged {
            writerLock.unlock()
            return false
        }
        return true
    }

    /// Releases the write lock, letting in every reader that queued meanwhile.
    ///
    /// Unlocking an RWMutex that is not write-locked is fatal:
    /// `fatal error: sync: Unlock of unlocked RWMutex`.
    public func unlock() {
        // Reopen the door to readers; the result is how many queued up.
        let waiting =
            readers.add(Self.maxReaders, ordering: .acquiringAndReleasing).newValue
        if waiting >= Self.maxReaders {
            fatal("sync: Unlock of unlocked RWMutex")
        }
        for _ in 0..<waiting { readerSema.release() }
        writerLock.unlock()
    }

    /// Runs `body` holding the write lock.
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// The read side of an RWMutex as a Locker.
private final class ReadLocker: Locker {
    let rw: RWMutex
    init(_ rw: RWMutex) { self.rw = rw }
    func lock() { rw.rLock() }
    func unlock() { rw.rUnlock() }
}
