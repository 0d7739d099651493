// Scenarios for the runtime core: misuse that Go makes fatal, stack
// overflow, the thread limit, exclusivity across a park, and start-up
// settings read from the environment. Each runs as its own process; the
// tests match its stderr and exit status. A scenario that should have died
// but did not prints `survived` and exits 1, so it never hangs a test.

import Goroutines
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Ends a scenario that outlived what should have killed it.
private func survived() -> Never {
    print("survived")
    fflush(nil)
    exit(1)
}

func sendOnClosedChannel() {
    Runtime.main {
        let channel = Channel<Int>(capacity: 1)
        channel.close()
        channel.send(1)
        survived()
    }
}

/// A sender parked on a full channel panics when the channel closes.
func sendParkedThenClosed() {
    Runtime.main {
        let channel = Channel<Int>()
        let parked = Channel<Bool>(capacity: 1)
        go {
            parked.send(true)
            channel.send(1)
            survived()
        }
        _ = parked.receive()
        sleep(for: .milliseconds(50))
        channel.close()
        sleep(for: .seconds(5))
        survived()
    }
}

func closeOfClosedChannel() {
    Runtime.main {
        let channel = Channel<Int>()
        channel.close()
        channel.close()
        survived()
    }
}

func negativeWaitGroupCounter() {
    Runtime.main {
        let group = WaitGroup()
        group.add(1)
        group.done()
        group.done()
        survived()
    }
}

func negativeChannelCapacity() {
    let capacity = CommandLine.arguments.count - 10  // -8: not foldable
    _ = Channel<Int>(capacity: capacity)
    survived()
}

func hugeChannelCapacity() {
    let capacity = Int.max >> (CommandLine.arguments.count)  // 2^61 - 1: not foldable
    _ = Channel<Int>(capacity: capacity)
    survived()
}

func setMaxProcsZero() {
    Runtime.setMaxProcs(CommandLine.arguments.count - 2)  // 0: not foldable
    survived()
}

/// Keeps the compiler from proving a frame unused.
@_optimize(none)
private func touch(_ pointer: UnsafeMutableRawPointer) {}

/// Recurses without bound; each frame holds 256 bytes the callee may read.
@inline(never)
private func recurseForever(_ depth: Int) -> Int {
    var frame = (depth, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    frame.1 = withUnsafeMutableBytes(of: &frame) { bytes in
        touch(bytes.baseAddress!)
        return bytes.count
    }
    frame.2 = recurseForever(depth + 1)
    return frame.0 + frame.2
}

func stackOverflow() {
    Runtime.main {
        go { _ = recurseForever(0) }
        sleep(for: .seconds(10))
        survived()
    }
}

/// A class whose property the exclusivity checker tracks dynamically.
final class ExclusivityBox {
    var value = 0
}

/// Holds a modify access to `value` across a park, then reads the same
/// property through the object: a real overlap the checker must report.
@inline(never)
private func readDuringModify(_ value: inout Int, of box: ExclusivityBox, gate: Channel<Int>) {
    value += 1
    value += gate.receive() ?? 0
    value += box.value
}

func exclusivityConflictAcrossPark() {
    Runtime.main {
        let gate = Channel<Int>()
        go {
            let box = ExclusivityBox()
            readDuringModify(&box.value, of: box, gate: gate)
            survived()
        }
        sleep(for: .milliseconds(20))
        gate.send(1)
        sleep(for: .seconds(5))
        survived()
    }
}

func printMaxProcs() {
    print("maxprocs=\(Runtime.maxProcs)")
}

/// Go's test: with a 10-thread limit, goroutines that wire themselves to
/// their threads and block need one thread each, and the 11th is fatal.
func threadLimitExceeded() {
    Runtime.main {
        Runtime.maxThreads = 10
        let never = Channel<Int>()
        for _ in 0..<100 {
            go {
                Runtime.lockOSThread()
                _ = never.receive()
            }
        }
        sleep(for: .seconds(10))
        survived()
    }
}

/// Lowering the limit below the threads already running is fatal at once.
func threadLimitBelowCurrent() {
    Runtime.main {
        for _ in 0..<20 {
            go { blocking(handOff: true) { _ = usleep(3_000_000) } }
        }
        var waited = 0
        while Runtime.threadCount < 12 && waited < 200 {
            sleep(for: .milliseconds(10))
            waited += 1
        }
        print("threads=\(Runtime.threadCount)")
        fflush(nil)
        Runtime.maxThreads = 5
        survived()
    }
}

/// A short mixed workload for GODEBUG=schedtrace: busy goroutines, a
/// blocking call and a sleeper, for about 400 ms.
func schedtraceWorkload() {
    Runtime.main {
        let group = WaitGroup()
        let start = ContinuousClock.now
        for _ in 0..<4 {
            group.add(1)
            go {
                var x = 0.0
                while ContinuousClock.now - start < .seconds(1) {
                    for i in 0..<1_000 { x += Double(i) }
                    Runtime.yield()
                }
                if x < 0 { print(x) }
                group.done()
            }
        }
        group.add(2)
        go {
            blocking { _ = usleep(200_000) }
            group.done()
        }
        go {
            sleep(for: .milliseconds(300))
            group.done()
        }
        group.wait()
        print("done")
    }
}

/// With the opt-in wait policy, goroutines that need more threads than the
/// limit allows queue instead of dying. Prints the most threads seen.
func threadLimitWaitPolicy() {
    Runtime.main {
        Runtime.threadLimitPolicy = .wait
        Runtime.maxThreads = 10
        let peak = Atomic<Int>(0)
        let group = WaitGroup()
        group.add(40)
        for _ in 0..<40 {
            go {
                blocking(handOff: true) {
                    peak.max(Runtime.threadCount, ordering: .relaxed)
                    _ = usleep(20_000)
                }
                group.done()
            }
        }
        group.wait()
        print("completed=40 peak=\(peak.load(ordering: .relaxed))")
    }
}

/// A goroutine dump on SIGQUIT, of a known cast: the main goroutine asleep,
/// one goroutine in a marked blocking region (never parked before it), one
/// parked on a channel. Prints the three ids first, then signals itself.
func sigquitDump() {
    Runtime.main {
        let ids = Channel<String>(capacity: 2)
        let never = Channel<Int>()
        go {
            ids.send("blocker=\(Runtime.goroutineID)")
            // Signals cut a sleep short: sleep until the deadline.
            let end = ContinuousClock.now + .seconds(5)
            blocking { while ContinuousClock.now < end { _ = usleep(100_000) } }
        }
        go {
            ids.send("receiver=\(Runtime.goroutineID)")
            _ = never.receive()
        }
        let names = [ids.receive()!, ids.receive()!].sorted()
        print("main=\(Runtime.goroutineID) " + names.joined(separator: " "))
        fflush(nil)
        sleep(for: .milliseconds(300))
        kill(getpid(), SIGQUIT)
        // The dump comes from another thread in one write: when stderr is a
        // file, wait for it to grow; on a terminal, just wait a while.
        var waited = 0
        while lseek(2, 0, SEEK_CUR) <= 0 && waited < 100 {
            sleep(for: .milliseconds(50))
            waited += 1
        }
    }
}

/// Output printed before a fatal end reaches a piped stdout.
func printThenPanic() {
    Runtime.main {
        print("printed before the end")
        let channel = Channel<Int>()
        channel.close()
        channel.close()
    }
}

func printThenDeadlock() {
    Runtime.main {
        print("printed before the end")
        _ = Channel<Int>().receive()
    }
}

func printThenMisuse() {
    print("printed before the end")
    _ = Channel<Int>(capacity: CommandLine.arguments.count - 10)
    survived()
}
