// lock-os-thread: goroutines that wire themselves to their threads must
// stay there. Each goroutine calls Runtime.lockOSThread(), then alternates
// yields and short sleeps (both give up the processor, and both would
// normally let the goroutine resume on any thread), noting its kernel
// thread id each time. It holds its thread until every goroutine is done,
// so no two of them can ever have shared one. When it works, every
// goroutine saw one thread id and all ids differ: distinct_threads equals
// goroutines.

import Glibc
import Goroutines
import Synchronization

enum LockOSThreadExperiment {
    static let defaultGoroutines = 16
    static let rounds = 40

    /// The calling thread's kernel id, read from the /proc/thread-self link
    /// ("<pid>/task/<tid>"); a fresh system call each time, so nothing can
    /// cache it across a switch.
    static func kernelThreadID() -> Int32 {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        if n <= 0 { return -1 }
        let text = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int32(text.split(separator: "/").last ?? "") ?? -1
    }

    static func run(_ options: Options) -> Int32 {
        let count = options.goroutines ?? defaultGoroutines
        let procs = options.maxProcs(default: WriteExperiments.defaultMaxProcs)
        Runtime.setMaxProcs(procs)
        Console.say("== lock-os-thread: \(count) goroutines wire themselves to threads, then")
        Console.say(
            "  yield and sleep \(rounds) times each, noting their thread id; GOMAXPROCS=\(procs)")

        let seen = Mutex<[Int: Set<Int32>]>([:])
        let recorded = WaitGroup()
        let finished = WaitGroup()
        let release = Channel<Int>()
        let monitor = ThreadMonitor(label: "lock-os-thread")
        monitor.start()
        recorded.add(count)
        finished.add(count)
        for index in 0..<count {
            go {
                defer { finished.done() }
                Runtime.lockOSThread()
                var ids = Set<Int32>()
                for round in 0..<rounds {
                    ids.insert(kernelThreadID())
                    if round % 2 == 0 {
                        Runtime.yield()
                    } else {
                        sleep(for: .microseconds(500))
                    }
                }
                ids.insert(kernelThreadID())
                seen.withLock { $0[index] = ids }
                recorded.done()
                // Keep the thread until everyone has recorded: a thread
                // that ended early could lend its id to a later one.
                _ = release.receive()
            }
        }
        recorded.wait()
        release.close()
        finished.wait()
        let peak = monitor.finish()

        let all = seen.withLock { $0 }
        let moved = all.values.filter { $0.count != 1 }.count
        let distinct = Set(all.values.flatMap { $0 }).count
        Console.say("  goroutines that changed threads: \(moved); distinct thread ids: \(distinct)")
        Console.say("  threads: peak \(peak) (each wired goroutine holds one)")
        Summary.emit(
            "lock-os-thread goroutines=\(count) distinct_threads=\(distinct)", options: options)
        return moved == 0 && distinct == count ? 0 : 1
    }
}
