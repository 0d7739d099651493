// Misuse of the sync primitives, run in child processes: the exact fatal
// text, Go's exit status 2, and the preconditions of Semaphore and Group.

import Testing

@testable import Goroutines

extension SyncTests {
    @Suite struct CrashTests {
        /// Go's fatal errors: exactly one line on stderr, exit status 2.
        @Test(arguments: [
            ("sync-unlock-unlocked-mutex", "fatal error: sync: unlock of unlocked mutex"),
            ("sync-double-unlock-goroutine", "fatal error: sync: unlock of unlocked mutex"),
            ("sync-runlock-unlocked-rwmutex", "fatal error: sync: RUnlock of unlocked RWMutex"),
            (
                "sync-runlock-write-locked-rwmutex",
                "fatal error: sync: RUnlock of unlocked RWMutex"
            ),
            ("sync-unlock-unlocked-rwmutex", "fatal error: sync: Unlock of unlocked RWMutex"),
        ])
        func fatalMisuse(scenario: String, message: String) throws {
            let crash = try SyncCrash.run(scenario)
            #expect(!crash.signaled)
            #expect(crash.status == 2)
            #expect(crash.stderr == message + "\n")
        }

        @Test func negativeWaitGroupCounterPanics() throws {
            let crash = try SyncCrash.run("sync-negative-waitgroup")
            #expect(!crash.signaled)
            #expect(crash.status == 2)
            let lines = crash.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.first == "panic: sync: negative WaitGroup counter")
            #expect(lines.count > 2 && lines[2].hasPrefix("goroutine "), "\(crash.stderr)")
            #expect(!crash.stderr.contains("survived"))
        }

        /// Goroutines parked on locks count as asleep: Go's deadlock message,
        /// then a dump that shows what each one waits for.
        @Test func deadlockOnLocksIsDetected() throws {
            let crash = try SyncCrash.run("sync-lock-deadlock")
            #expect(!crash.signaled)
            #expect(crash.status == 2)
            #expect(crash.stderr.hasPrefix("fatal error: all goroutines are asleep - deadlock!\n"))
            for reason in ["sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.Cond.Wait"] {
                #expect(crash.stderr.contains("[\(reason)]"), "\(crash.stderr)")
            }
        }

        /// Precondition failures trap, with their explanation in debug builds.
        @Test(arguments: [
            ("sync-semaphore-oversized", "semaphore: acquired 4 units from a semaphore of size 3"),
            ("sync-semaphore-over-release", "semaphore: released more than held"),
            (
                "sync-group-setlimit-active",
                "errgroup: modify limit while 1 goroutines in the group are still active"
            ),
        ])
        func preconditionMisuse(scenario: String, message: String) throws {
            let crash = try SyncCrash.run(scenario)
            #expect(crash.signaled, "status \(crash.status), stderr: \(crash.stderr)")
            #expect(crash.stderr.contains("Fatal error: " + message), "\(crash.stderr)")
        }
    }
}
