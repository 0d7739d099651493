// Scenarios that probe the scheduler's edges: GOMAXPROCS raised past its
// start-up value or lowered under blocked goroutines, timer wake-ups under a
// busy hand-off workload, schedtrace while the runtime idles, and the OS
// thread count at the thread limit; a file path with a NUL byte in it, a
// file closed while another goroutine writes to it, a Group limited to zero
// goroutines, and the thread-limit wait policy when threads exit.
// Each prints what it measured; the tests judge the numbers.

import Goroutines
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The integer argument after the scenario name.
private func intArgument() -> Int {
    guard CommandLine.arguments.count > 2, let n = Int(CommandLine.arguments[2]) else {
        print("missing integer argument")
        exit(64)
    }
    return n
}

/// Raises GOMAXPROCS to the argument, then has that many goroutines spin at
/// once: each counts itself in and spins until all have, or 3 s have passed.
/// With n processors all n run at the same time, on n threads.
func advGrowMaxProcsRunsInParallel() {
    let target = intArgument()
    Runtime.main {
        Runtime.setMaxProcs(target)
        let running = Atomic<Int>(0)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(3)
        for _ in 1..<target {
            go {
                running.add(1, ordering: .relaxed)
                while running.load(ordering: .relaxed) < target, clock.now < deadline {}
            }
        }
        running.add(1, ordering: .relaxed)
        while running.load(ordering: .relaxed) < target, clock.now < deadline {}
        print("running=\(running.load(ordering: .relaxed)) maxprocs=\(Runtime.maxProcs)")
        exit(0)
    }
}

/// Raises GOMAXPROCS to 4, lets some goroutines come and go, then blocks the
/// main goroutine forever: Go's deadlock error is due.
func advDeadlockAfterGrowingMaxProcs() {
    Runtime.main {
        Runtime.setMaxProcs(4)
        let group = WaitGroup()
        for _ in 0..<8 {
            group.add(1)
            go {
                defer { group.done() }
                Runtime.yield()
            }
        }
        group.wait()
        _ = Channel<Int>().receive()
        print("survived")
        exit(1)
    }
}

/// Lowers GOMAXPROCS to 1 while every processor's goroutine sleeps in a call
/// (a marked blocking region with argument "marked", else an unmarked
/// `usleep`) with a goroutine queued behind it. Three rounds; prints the
/// longest any queued goroutine waited, in microseconds. Go moves the run
/// queues of the processors it removes to the global queue at once.
func advShrinkWhileBlocking() {
    let marked = CommandLine.arguments.count > 2 && CommandLine.arguments[2] == "marked"
    Runtime.main {
        let procs = Runtime.maxProcs
        let clock = ContinuousClock()
        var worst = Duration.zero
        for _ in 0..<3 {
            Runtime.setMaxProcs(procs)
            let sleeping = Atomic<Int>(0)
            let waits = Channel<Duration>(capacity: procs)
            let start = clock.now
            for _ in 0..<procs {
                go {
                    go { waits.send(clock.now - start) }
                    sleeping.add(1, ordering: .relaxed)
                    if marked {
                        blocking { usleep(300_000) }
                    } else {
                        usleep(300_000)
                    }
                }
            }
            let shrunk = Channel<Bool>(capacity: 1)
            startPlainThread {
                while sleeping.load(ordering: .relaxed) < procs {}
                Runtime.setMaxProcs(1)
                shrunk.send(true)
            }
            for _ in 0..<procs { worst = max(worst, waits.receive()!) }
            _ = shrunk.receive()
            usleep(300_000)  // let the sleepers finish before the next round
        }
        print("procs=\(procs) worst_us=\(microseconds(worst))")
        exit(0)
    }
}

/// Runs the argument's number of unbuffered ping-pong pairs, and meanwhile
/// sleeps 1 ms twenty times on the main goroutine. Prints the average and
/// the worst time each sleep took, in microseconds.
func advSleepUnderPingPong() {
    let pairs = intArgument()
    Runtime.main {
        let stop = Atomic<Bool>(false)
        let group = WaitGroup()
        for _ in 0..<pairs {
            let ping = Channel<Int>()
            let pong = Channel<Int>()
            group.add(2)
            go {
                defer { group.done() }
                while !stop.load(ordering: .relaxed) {
                    ping.send(0)
                    _ = pong.receive()
                }
                ping.close()
            }
            go {
                defer { group.done() }
                while let value = ping.receive() { pong.send(value) }
            }
        }
        let clock = ContinuousClock()
        let rounds = 20
        var total = Duration.zero
        var worst = Duration.zero
        for _ in 0..<rounds {
            let start = clock.now
            sleep(for: .milliseconds(1))
            let took = clock.now - start
            total += took
            worst = max(worst, took)
        }
        stop.store(true, ordering: .relaxed)
        group.wait()
        print("average_us=\(microseconds(total / rounds)) worst_us=\(microseconds(worst))")
        exit(0)
    }
}

/// Sleeps 300 ms with nothing else to do, then exits; run with a
/// GODEBUG=schedtrace period to see how many SCHED lines the idle runtime
/// prints.
func advIdleForSchedtrace() {
    Runtime.main {
        sleep(for: .milliseconds(300))
        exit(0)
    }
}

/// Sets the thread limit to the argument under the wait policy, runs 40
/// goroutines that hand their processor off and sleep in a blocking region,
/// and prints the most OS threads the process had while they slept.
func advThreadLimitPeak() {
    let limit = intArgument()
    Runtime.main {
        Runtime.threadLimitPolicy = .wait
        Runtime.maxThreads = limit
        let peak = Atomic<Int>(0)
        let group = WaitGroup()
        for _ in 0..<40 {
            group.add(1)
            go {
                defer { group.done() }
                blocking(handOff: true) {
                    usleep(20_000)
                    let now = Runtime.threadCount
                    var seen = peak.load(ordering: .relaxed)
                    while now > seen {
                        let swap = peak.compareExchange(
                            expected: seen, desired: now, ordering: .relaxed)
                        if swap.exchanged { break }
                        seen = swap.original
                    }
                }
            }
        }
        group.wait()
        print("limit=\(limit) peak=\(peak.load(ordering: .relaxed))")
        exit(0)
    }
}

private func microseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
}

/// `File.removeAll` on a path with a NUL byte after the name of a directory
/// that holds a file. Prints `errno=N` if it threw (0 if it returned) and
/// `exists=1` if the directory is still there.
func advRemoveAllNulPath() {
    Runtime.main {
        var code: Int32 = -1
        var exists = false
        do {
            let directory = try File.makeTemporaryDirectory(prefix: "goroutines-adv-nul-")
            try writeFile(directory + "/keep", "precious\n")
            do throws(FileError) {
                try File.removeAll(directory + "\0/sub")
                code = 0
            } catch {
                code = error.errno
            }
            exists = (try? File.status(at: directory + "/keep")) != nil
            try? File.removeAll(directory)
        } catch {
            print("setup failed: \(error)")
            exit(1)
        }
        print("errno=\(code) exists=\(exists ? 1 : 0)")
        exit(0)
    }
}

/// Closes a `File` while another goroutine's large write to it waits in the
/// kernel, then opens another file, which gets the same descriptor number.
/// The writer's socket has a send timeout, so its write(2) returns a partial
/// count and `File.write` goes on with the rest. Prints how many bytes ended
/// up in the unrelated file (`victim_bytes`).
func advCloseDuringWrite() {
    Runtime.main {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            print("socketpair failed")
            exit(1)
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = setsockopt(pair[1], SOL_SOCKET, SO_SNDTIMEO, &timeout, size)
        let writer = File(descriptor: pair[1], name: "socket")
        let finished = Channel<Bool>(capacity: 1)
        go {
            finished.send((try? writer.write([UInt8](repeating: 65, count: 4 << 20))) != nil)
        }
        // The socket's queue stops growing once the writer waits in write(2).
        var last: Int32 = -1
        while true {
            var queued: Int32 = 0
            _ = ioctl(pair[0], UInt(FIONREAD), &queued)
            if queued > 0 && queued == last { break }
            last = queued
            usleep(2_000)
        }
        do {
            try writer.close()
            let directory = try File.makeTemporaryDirectory(prefix: "goroutines-adv-close-")
            defer { try? File.removeAll(directory) }
            let victim = try File.open(directory + "/victim", [.write, .create, .truncate])
            let wrote = finished.receive()!
            let bytes = try File.status(at: directory + "/victim").size
            print(
                "writer_fd=\(pair[1]) victim_fd=\(victim.descriptor) "
                    + "write_succeeded=\(wrote ? 1 : 0) victim_bytes=\(bytes)")
        } catch {
            print("failed: \(error)")
            exit(1)
        }
        exit(0)
    }
}

/// `tryGo` on a group whose limit is zero; prints `tryGo=1` if it started
/// the goroutine, `tryGo=0` if it declined.
func advGroupLimitZeroTryGo() {
    Runtime.main {
        let group = Group(limit: 0)
        print("tryGo=\(group.tryGo {} ? 1 : 0)")
        exit(0)
    }
}

/// `go` on a group whose limit is zero, from the only goroutine: it waits
/// forever, so Go reports a deadlock.
func advGroupLimitZeroGo() {
    Runtime.main {
        let group = Group(limit: 0)
        group.go {}
        print("survived")
        exit(1)
    }
}

/// Under the wait policy with room for one more thread, 20 goroutines each
/// wire themselves to a thread, block in a handing-off region and exit, so
/// their threads end (the main thread is parked instead). Each thread that
/// ends frees a slot for the queued goroutines. Prints `finished=1`.
func advWaitPolicyThreadsExit() {
    Runtime.main {
        Runtime.threadLimitPolicy = .wait
        Runtime.maxThreads = Runtime.threadCount + 1
        let group = WaitGroup()
        for _ in 0..<20 {
            group.add(1)
            go {
                Runtime.lockOSThread()
                _ = blocking(handOff: true) { usleep(2_000) }
                group.done()
            }
        }
        group.wait()
        print("finished=1")
        exit(0)
    }
}

/// Runs `body` on a new plain thread (not one of the runtime's).
private func startPlainThread(_ body: @escaping @Sendable () -> Void) {
    final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
    let context = Unmanaged.passRetained(Body(body)).toOpaque()
    var thread = pthread_t()
    let error = pthread_create(
        &thread, nil,
        { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, context)
    precondition(error == 0, "pthread_create failed: \(error)")
    pthread_detach(thread)
}
