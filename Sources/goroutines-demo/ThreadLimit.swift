// thread-limit: the runtime must die, with Go's words, when a program needs
// more threads than Runtime.maxThreads allows.
//
// The parent starts `goroutines-demo thread-limit --limit N --child` with
// its stderr in a file, watches the child's thread count while it runs, and
// checks that it ended with exit status 2 and exactly these stderr lines:
//   runtime: program exceeds N-thread limit
//   fatal error: thread exhaustion
// The child sets the limit, then starts --goroutines goroutines (default
// 100) that each wire themselves to a thread and park for good: every wired
// goroutine keeps its thread, so the runtime needs a new thread for each,
// and passes the limit. With no more goroutines than the limit it never
// would (the child would deadlock instead), so the command line refuses
// that.

import Glibc
import Goroutines

enum ThreadLimit {
    /// Wired goroutines the child starts unless --goroutines says otherwise.
    static let defaultGoroutines = 100

    /// The child: never returns normally; the runtime ends the process.
    static func child(limit: Int, goroutines: Int) {
        Runtime.maxThreads = limit
        let never = Channel<Int>()
        for _ in 0..<goroutines {
            go {
                Runtime.lockOSThread()
                _ = never.receive()
            }
        }
        _ = never.receive()
    }

    /// The stderr the child must leave, line by line.
    static func expectedLines(limit: Int) -> [String] {
        ["runtime: program exceeds \(limit)-thread limit", "fatal error: thread exhaustion"]
    }

    /// Whether `stderr` holds exactly the expected lines. Scheduler trace
    /// lines (GODEBUG=schedtrace) are set aside first.
    static func messageMatches(_ stderr: String, limit: Int) -> Bool {
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
            .filter { !$0.hasPrefix("SCHED ") && !$0.hasPrefix("  P") && !$0.hasPrefix("  M") }
        return lines == expectedLines(limit: limit) + [""]
    }

    /// The parent: returns the exit status.
    static func parent(_ options: Options) -> Int32 {
        let limit = options.limit
        let goroutines = options.goroutines ?? defaultGoroutines
        Console.say("== thread-limit: a child sets Runtime.maxThreads = \(limit), then wires")
        Console.say("  \(goroutines) goroutines to threads; it must die with Go's message")
        let directory: String
        do {
            directory = try Scratch.make(in: options.dir, label: "thread-limit")
        } catch {
            Console.complain("goroutines-demo: cannot make a temporary directory: \(error)")
            return 1
        }
        let stderrPath = directory + "/child-stderr"

        let exit: ChildExit
        var childPeak = 0
        var lastDrawn = ContinuousClock.now
        do {
            let arguments = [
                "thread-limit", "--limit", "\(limit)", "--goroutines", "\(goroutines)", "--child",
            ]
            let pid = try ChildProcess.start(arguments, stderrPath: stderrPath)
            exit = ChildProcess.wait(pid, timeout: .seconds(20)) {
                Interrupts.checkpoint()
                let now = ChildProcess.threadCount(of: pid)
                childPeak = max(childPeak, now)
                if Console.isTerminal && ContinuousClock.now - lastDrawn > .milliseconds(100) {
                    lastDrawn = ContinuousClock.now
                    Console.live("  thread-limit  child threads=\(now) peak=\(childPeak)")
                }
            }
        } catch {
            Console.complain("goroutines-demo: cannot start the child: \(error)")
            Scratch.removeCurrent()
            return 1
        }
        Console.clearLive()
        let stderr = (try? readFile(stderrPath)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        Scratch.removeCurrent()

        let status = exit.shellStatus
        let ok = exit == .exited(2) && messageMatches(stderr, limit: limit)
        Console.say("  child: \(exit); its stderr:")
        for line in stderr.split(separator: "\n") { Console.say("    | \(line)") }
        Console.say(
            ok ? "  as expected" : "  NOT as expected: want status 2 and exactly those lines")
        Summary.emit(
            "thread-limit limit=\(limit) status=\(status) message_ok=\(ok)", options: options)
        return ok ? 0 : 1
    }
}
