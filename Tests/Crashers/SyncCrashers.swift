// Scenarios for the sync primitives: misuse that Go makes fatal, and the
// preconditions of Semaphore and Group. Each runs as its own process; the
// tests match its stderr and exit status. A scenario that should have died
// but did not prints `survived` and exits 1, so it never hangs a test.

import Goroutines

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Ends a scenario that outlived what should have killed it.
private func syncSurvived() -> Never {
    print("survived")
    fflush(nil)
    exit(1)
}

/// Unlock of a mutex nobody locked, on a plain thread.
func syncUnlockOfUnlockedMutex() {
    let mutex = Goroutines.Mutex()
    mutex.unlock()
    syncSurvived()
}

/// A goroutine unlocks a mutex twice while another goroutine waits for it.
func syncDoubleUnlockInGoroutine() {
    Runtime.main {
        let mutex = Goroutines.Mutex()
        mutex.lock()
        mutex.unlock()
        mutex.unlock()
        syncSurvived()
    }
}

func syncRUnlockOfUnlockedRWMutex() {
    Runtime.main {
        let rw = RWMutex()
        rw.rUnlock()
        syncSurvived()
    }
}

/// rUnlock while a writer, not a reader, holds the lock.
func syncRUnlockOfWriteLockedRWMutex() {
    Runtime.main {
        let rw = RWMutex()
        rw.lock()
        rw.rUnlock()
        syncSurvived()
    }
}

func syncUnlockOfUnlockedRWMutex() {
    Runtime.main {
        let rw = RWMutex()
        rw.rLock()
        rw.unlock()
        syncSurvived()
    }
}

/// One `done` too many, from a goroutine other than main.
func syncNegativeWaitGroupCounter() {
    Runtime.main {
        let group = WaitGroup()
        group.add(1)
        let finished = Channel<Void>()
        go {
            group.done()
            group.done()
            finished.send(())
        }
        finished.receive()
        syncSurvived()
    }
}

func syncSemaphoreOversizedAcquire() {
    let semaphore = Semaphore(3)
    semaphore.acquire(4)
    syncSurvived()
}

func syncSemaphoreOverRelease() {
    let semaphore = Semaphore(3)
    semaphore.acquire(2)
    semaphore.release(3)
    syncSurvived()
}

func syncGroupSetLimitWhileActive() {
    Runtime.main {
        let group = Group()
        let release = Channel<Void>()
        group.go { release.receive() }
        group.setLimit(2)
        syncSurvived()
    }
}

/// Every goroutine waits on a lock that nobody will release: the runtime's
/// deadlock detector must see through Mutex, RWMutex and Cond waits.
func syncLockDeadlock() {
    Runtime.main {
        let mutex = Goroutines.Mutex()
        let rw = RWMutex()
        let cond = Cond(Goroutines.Mutex())
        mutex.lock()
        rw.rLock()
        go { mutex.lock() }
        go { rw.lock() }
        go {
            cond.locker.lock()
            cond.wait()
        }
        mutex.lock()
        syncSurvived()
    }
}
