// The public face of the runtime: `go`, `blocking`, and `Runtime`.

import CGoroutines
import Glibc
import Synchronization

/// Starts a goroutine running `body` concurrently and returns at once.
///
/// `body` is plain synchronous Swift. Blocking operations inside it
/// (channels, `WaitGroup.wait`, `sleep(for:)`) park the goroutine and free its
/// thread for others.
///
/// ```swift
/// let done = Channel<Int>()
/// go { done.send(6 * 7) }
/// print(done.receive()!)  // 42
/// ```
public func go(
    file: StaticString = #fileID, line: UInt = #line,
    _ body: consuming @escaping @Sendable () -> Void
) {
    _ = Scheduler.shared
    spawn(consume body, file: file, line: line)
}

/// Runs `body` as a blocking region: a call that may hold the thread for
/// long, such as a slow `write(2)` or a C library call.
///
/// The goroutine keeps its thread, but if the call does not return quickly
/// the runtime hands its processor to another thread (creating one if
/// needed), so other goroutines keep running. Quick calls cost two atomic
/// operations. With `handOff: true` the processor is handed off at once, for
/// calls known to block for long. On a plain thread, `body` just runs.
///
/// ```swift
/// let n = try blocking { try expensiveCLibraryCall() }
/// ```
@discardableResult
public func blocking<R, E: Error>(
    handOff: Bool = false, _ body: () throws(E) -> R
) throws(E) -> R {
    let entered = BlockingRegion.enter(handOff: handOff)
    defer { if entered { BlockingRegion.exit() } }
    return try body()
}

/// Runtime settings and introspection.
public enum Runtime {
    /// GOMAXPROCS: how many threads may run goroutine code at once.
    public static var maxProcs: Int {
        Scheduler.shared.maxProcs.load(ordering: .relaxed)
    }

    /// Sets GOMAXPROCS while goroutines run, and returns the previous value.
    /// Threads running goroutines on processors beyond the new count give them
    /// up at their next scheduling point.
    ///
    /// - Precondition: `1 <= n <= 1024`.
    @discardableResult
    public static func setMaxProcs(_ n: Int) -> Int {
        require(
            n >= 1 && n <= Scheduler.maxProcessors,
            "Runtime.setMaxProcs: \(n) is out of range; "
                + "GOMAXPROCS must be 1...\(Scheduler.maxProcessors)"
        )
        return Scheduler.shared.setMaxProcs(n)
    }

    /// The number of logical CPUs this process may run on.
    public static var numCPU: Int { MaxProcs.affinityCPUs() }

    /// Goroutines that have started and not yet finished.
    public static var numGoroutine: Int {
        Scheduler.shared.goroutineCount
    }

    /// The process's OS threads, counted from /proc/self/task.
    public static var threadCount: Int {
        guard let dir = opendir("/proc/self/task") else { return 0 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }

    /// Yields the processor, letting other goroutines run (Go's Gosched).
    public static func yield() { yieldGoroutine() }

    /// A cheap check for long loops: yields if the runtime has asked the
    /// running goroutine to, because it has run for more than 10 ms.
    @inline(__always)
    public static func preemptionPoint() { checkPreemption() }

    /// The stack reserve of goroutines started from now on, in bytes. The
    /// default is 256 KiB, or `GOROUTINE_STACK_SIZE` (e.g. `512K`, `1M`).
    public static var stackSize: Int {
        get { StackAllocator.shared.stackSize }
        set {
            require(
                newValue >= 16 * 1024 && newValue <= 1 << 30,
                "Runtime.stackSize: \(newValue) bytes is out of range (16 KiB ... 1 GiB)")
            StackAllocator.shared.stackSize = StackAllocator.normalize(newValue)
        }
    }

    /// The most OS threads the runtime may run goroutines on (Go's
    /// `debug.SetMaxThreads`), 10000 by default. Passing it is fatal:
    /// `runtime: program exceeds N-thread limit` / `fatal error: thread
    /// exhaustion`, exit status 2, unless `threadLimitPolicy` is `.wait`.
    /// Setting it below the current count fails at once, as in Go.
    ///
    /// - Precondition: the new value is at least 1.
    public static var maxThreads: Int {
        get { Scheduler.shared.threadLimit.load(ordering: .relaxed) }
        set { setMaxThreads(newValue) }
    }

    /// Sets `maxThreads` and returns the previous limit.
    @discardableResult
    public static func setMaxThreads(_ limit: Int) -> Int {
        require(limit >= 1, "Runtime.maxThreads: \(limit) is not a positive thread count")
        let sched = Scheduler.shared
        let old = sched.threadLimit.exchange(limit, ordering: .relaxed)
        let count = sched.machineCount.load(ordering: .relaxed) + Threads.helperThreads
        if count > limit, !sched.waitForThreadSlot.load(ordering: .relaxed) {
            fatal("runtime: program exceeds \(limit)-thread limit", "thread exhaustion")
        }
        return old
    }

    /// What happens when the runtime needs a thread beyond `maxThreads`.
    public enum ThreadLimitPolicy: Sendable {
        /// Exit with Go's fatal error (the default, as in Go).
        case crash
        /// Start no thread: the work waits until a thread frees up. This
        /// trades the crash for a deadlock risk: if every thread is blocked
        /// waiting for something only a queued goroutine would do, nothing
        /// runs again.
        case wait
    }

    /// The policy at the thread limit; `.crash` by default.
    public static var threadLimitPolicy: ThreadLimitPolicy {
        get { Scheduler.shared.waitForThreadSlot.load(ordering: .relaxed) ? .wait : .crash }
        set { Scheduler.shared.waitForThreadSlot.store(newValue == .wait, ordering: .relaxed) }
    }

    /// How long a thread beyond GOMAXPROCS may sit idle before it exits
    /// (10 seconds by default). Go keeps such threads forever; here they are
    /// reaped.
    public static var threadKeepAlive: Duration {
        get { .nanoseconds(Scheduler.shared.keepAliveNanos.load(ordering: .relaxed)) }
        set {
            require(newValue >= .zero, "Runtime.threadKeepAlive must not be negative")
            Scheduler.shared.keepAliveNanos.store(
                newValue.nanosecondsClamped, ordering: .relaxed)
        }
    }

    /// Wires the calling goroutine to its current OS thread: until a matching
    /// `unlockOSThread`, it runs only on this thread, and the thread runs
    /// nothing else. Calls nest. A goroutine that exits while wired takes its
    /// thread down with it (the process's main thread is parked instead). Use
    /// it for code that needs thread identity: thread-local state, pthread
    /// locks, some C libraries. On a plain thread it does nothing.
    public static func lockOSThread() {
        guard let (g, m) = currentGoroutineAndMachine() else { return }
        g.lockCount += 1
        g.lockedMachine = m
        m.lockedGoroutine = g
    }

    /// Undoes one `lockOSThread`; after the last one the goroutine may move
    /// between threads again. Does nothing if the goroutine is not wired.
    public static func unlockOSThread() {
        guard let (g, m) = currentGoroutineAndMachine(), g.lockCount > 0 else { return }
        g.lockCount -= 1
        if g.lockCount == 0 {
            g.lockedMachine = nil
            m.lockedGoroutine = nil
        }
    }

    /// The id of the running goroutine, or 0 on a plain thread.
    public static var goroutineID: Int64 { currentGoroutineID() }

    /// Runs `body` as the main goroutine on the calling (main) thread, which
    /// becomes one of the runtime's threads. The process exits with status 0
    /// when `body` returns. Under `main`, the runtime detects deadlock: when no
    /// goroutine can ever run again it exits with Go's message.
    public static func main(
        file: StaticString = #fileID, line: UInt = #line,
        _ body: @escaping @Sendable () -> Void
    ) -> Never {
        let sched = Scheduler.shared
        let m = sched.adoptCurrentThread()
        sched.mainStarted.store(true, ordering: .releasing)
        while !sched.acquireIdle(m) { sched_yield() }
        spawn(
            {
                body()
                fflush(nil)
                exit(0)
            }, file: file, line: line, onto: m.processor!)
        runMachine(m)
        // The main thread's machine ends only if its wired goroutine exited.
        while true { pause() }
    }
}
