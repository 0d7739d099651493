// goroutines-crashers: programs that die on purpose, one subcommand per scenario.
//
// The tests run this executable as a child process and match its stderr text and exit
// status, because a fatal error ends the whole process. Each scenario lives in a
// Tests/Crashers/<Area>Crashers.swift file as a nonisolated function; add one `case`
// line per scenario below. An unknown or missing name prints the usage and exits 64.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

switch CommandLine.arguments.dropFirst().first {
case "core-send-on-closed": sendOnClosedChannel()
case "core-print-then-panic": printThenPanic()
case "core-print-then-deadlock": printThenDeadlock()
case "core-print-then-misuse": printThenMisuse()
case "core-send-parked-then-closed": sendParkedThenClosed()
case "core-close-of-closed": closeOfClosedChannel()
case "core-negative-waitgroup": negativeWaitGroupCounter()
case "core-negative-capacity": negativeChannelCapacity()
case "core-huge-capacity": hugeChannelCapacity()
case "core-setmaxprocs-zero": setMaxProcsZero()
case "core-stack-overflow": stackOverflow()
case "core-exclusivity-conflict": exclusivityConflictAcrossPark()
case "core-print-maxprocs": printMaxProcs()
case "core-thread-limit": threadLimitExceeded()
case "core-thread-limit-below": threadLimitBelowCurrent()
case "core-schedtrace": schedtraceWorkload()
case "core-thread-limit-wait": threadLimitWaitPolicy()
case "core-sigquit-dump": sigquitDump()
case "select-send-on-closed": selectSendOnClosed()
case "select-send-parked-then-closed": selectSendParkedThenClosed()
case "select-no-cases": selectNoCases()
case "select-multiple-defaults": selectMultipleDefaults()
case "ticker-zero-period": tickerZeroPeriod()
case "sync-unlock-unlocked-mutex": syncUnlockOfUnlockedMutex()
case "sync-double-unlock-goroutine": syncDoubleUnlockInGoroutine()
case "sync-runlock-unlocked-rwmutex": syncRUnlockOfUnlockedRWMutex()
case "sync-runlock-write-locked-rwmutex": syncRUnlockOfWriteLockedRWMutex()
case "sync-unlock-unlocked-rwmutex": syncUnlockOfUnlockedRWMutex()
case "sync-negative-waitgroup": syncNegativeWaitGroupCounter()
case "sync-semaphore-oversized": syncSemaphoreOversizedAcquire()
case "sync-semaphore-over-release": syncSemaphoreOverRelease()
case "sync-group-setlimit-active": syncGroupSetLimitWhileActive()
case "sync-lock-deadlock": syncLockDeadlock()
case "adv-grow-maxprocs": advGrowMaxProcsRunsInParallel()
case "adv-deadlock-after-grow": advDeadlockAfterGrowingMaxProcs()
case "adv-sleep-under-pingpong": advSleepUnderPingPong()
case "adv-idle-schedtrace": advIdleForSchedtrace()
case "adv-thread-limit-peak": advThreadLimitPeak()
case "adv-shrink-while-blocking": advShrinkWhileBlocking()
case "adv-removeall-nul": advRemoveAllNulPath()
case "adv-close-during-write": advCloseDuringWrite()
case "adv-group-limit-zero-trygo": advGroupLimitZeroTryGo()
case "adv-group-limit-zero-go": advGroupLimitZeroGo()
case "adv-wait-policy-threads-exit": advWaitPolicyThreadsExit()
default:
    let usage = "usage: goroutines-crashers <scenario>\n"
    _ = usage.withCString { write(2, $0, strlen($0)) }
    exit(64)
}
