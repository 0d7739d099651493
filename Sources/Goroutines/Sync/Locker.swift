// Locker: anything that can be locked and unlocked, as Go's sync.Locker.
//
// Cond waits on a Locker, so it works with a Mutex, the write side of an
// RWMutex, or the read side handed out by `RWMutex.readLocker`.

/// A lock with `lock()` and `unlock()`, as Go's `sync.Locker`.
///
/// `Mutex` and `RWMutex` (its write side) conform, and
/// `RWMutex.readLocker` returns one for the read side.
public protocol Locker: AnyObject, Sendable {
    /// Acquires the lock, parking the calling goroutine until it is free.
    func lock()
    /// Releases the lock.
    func unlock()
}
