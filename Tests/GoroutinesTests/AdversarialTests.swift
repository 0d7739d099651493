// Edge cases found by attacking the runtime. Most run in a child process
// (Tests/Crashers/AdversarialCrashers.swift), so that process-wide settings
// (GOMAXPROCS, the thread limit, GODEBUG) start fresh and a crash or a hang
// fails one test rather than the whole run.

import Foundation
import Goroutines
import Testing

extension RuntimeCoreTests {
    @Suite struct AdversarialTests {
        /// The value of `key=` in a child's stdout, e.g. `running=4`.
        private func field(_ key: String, in text: String) -> Int? {
            for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            where word.hasPrefix(key + "=") {
                return Int(word.dropFirst(key.count + 1))
            }
            return nil
        }

        /// Processors added by `setMaxProcs` beyond the start-up count must run
        /// goroutines: with GOMAXPROCS raised to 4, four spinning goroutines run
        /// at once.
        @Test(arguments: ["1", "2"])
        func raisedMaxProcsRunInParallel(startup: String) throws {
            let result = try ChildProcess.run(
                ["adv-grow-maxprocs", "4"], environment: ["GOMAXPROCS": startup])
            #expect(result.exited(0), "\(result)")
            #expect(field("maxprocs", in: result.stdout) == 4, "\(result)")
            #expect(field("running", in: result.stdout) == 4, "\(result)")
        }

        /// Under the wait policy a thread that ends frees a slot, and goroutines
        /// queued for want of a thread then run. Here each goroutine's thread
        /// ends with it, so they only finish if the freed slots are used.
        @Test func waitPolicyUsesSlotsFreedByEndingThreads() throws {
            let result = try ChildProcess.run(
                ["adv-wait-policy-threads-exit"], environment: ["GOMAXPROCS": "2"],
                timeout: .seconds(10))
            #expect(result.exited(0), "\(result)")
            #expect(field("finished", in: result.stdout) == 1, "\(result)")
        }

        /// Lowering GOMAXPROCS while each processor's goroutine sleeps in a call
        /// must not strand the goroutines queued on the removed processors until
        /// those calls return (300 ms here); Go runs them within a few ms.
        @Test(arguments: [("2", "unmarked"), ("4", "unmarked"), ("2", "marked"), ("4", "marked")])
        func shrinkingMaxProcsDoesNotStrandQueuedWork(procs: String, call: String) throws {
            let result = try ChildProcess.run(
                ["adv-shrink-while-blocking", call], environment: ["GOMAXPROCS": procs])
            #expect(result.exited(0), "\(result)")
            let worst = try #require(field("worst_us", in: result.stdout), "\(result)")
            #expect(worst < 100_000, "\(result)")
        }

        /// Deadlock detection still works after GOMAXPROCS was raised past its
        /// start-up value.
        @Test(arguments: ["1", "2"])
        func deadlockDetectedAfterRaisingMaxProcs(startup: String) throws {
            let result = try ChildProcess.run(
                ["adv-deadlock-after-grow"], environment: ["GOMAXPROCS": startup],
                timeout: .seconds(10))
            #expect(result.exited(2), "\(result)")
            #expect(
                result.stderr.hasPrefix("fatal error: all goroutines are asleep - deadlock!\n"),
                "\(result)")
        }

        /// A sleeping goroutine wakes soon after its timer fires even while
        /// other goroutines hand values back and forth without pause. Go 1.19 on
        /// the same workload averages about 1.1 ms per 1 ms sleep; allow 15 ms.
        @Test(arguments: ["1", "2"])
        func sleepWakesPromptlyUnderPingPong(procs: String) throws {
            let result = try ChildProcess.run(
                ["adv-sleep-under-pingpong", "3"], environment: ["GOMAXPROCS": procs])
            #expect(result.exited(0), "\(result)")
            let average = try #require(field("average_us", in: result.stdout), "\(result)")
            #expect(average < 15_000, "\(result)")
        }

        /// GODEBUG=schedtrace=10 prints a line every 10 ms even while every
        /// processor is idle, as Go does: a 300 ms sleep gives about 30 lines
        /// (at least 8 leaves room for a loaded machine).
        @Test func schedtraceKeepsPrintingWhileIdle() throws {
            let result = try ChildProcess.run(
                ["adv-idle-schedtrace"], environment: ["GODEBUG": "schedtrace=10"])
            #expect(result.exited(0), "\(result)")
            let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("SCHED ") }
            #expect(lines.count >= 8, "\(result)")
        }

        /// Under the wait policy the process never has more OS threads than
        /// `maxThreads`, as Go's limit bounds every thread of the program.
        @Test func threadLimitBoundsTheProcessThreads() throws {
            let result = try ChildProcess.run(["adv-thread-limit-peak", "8"])
            #expect(result.exited(0), "\(result)")
            let peak = try #require(field("peak", in: result.stdout), "\(result)")
            #expect(peak <= 8, "\(result)")
        }

        /// A path with a NUL byte cannot name a file. Go's calls fail with
        /// EINVAL; passing it on as a C string would cut it at the NUL and act on
        /// another file.
        @Test func pathsWithANulByteFailWithEINVAL() throws {
            try withIOScratch { directory in
                let keep = directory + "/keep"
                try writeFile(keep, "precious\n")
                let bad = keep + "\0.bak"
                let calls: [(String, () throws(FileError) -> Void)] = [
                    ("writeFile", { () throws(FileError) in try writeFile(bad, "overwritten\n") }),
                    ("open", { () throws(FileError) in _ = try File.open(bad) }),
                    ("status", { () throws(FileError) in _ = try File.status(at: bad) }),
                    ("readFile", { () throws(FileError) in _ = try readFile(bad) }),
                    ("list", { () throws(FileError) in _ = try File.contentsOfDirectory(bad) }),
                    (
                        "mkdir",
                        { () throws(FileError) in try File.makeDirectory(directory + "/d\0x") }
                    ),
                    ("remove", { () throws(FileError) in try File.remove(bad) }),
                ]
                for (name, call) in calls {
                    do throws(FileError) {
                        try call()
                        Issue.record("\(name) accepted a path with a NUL byte")
                    } catch {
                        #expect(error.errno == EINVAL, "\(name): \(error)")
                    }
                }
                #expect(try readFile(keep) == Array("precious\n".utf8))
                #expect((try? File.status(at: directory + "/d")) == nil)
            }
        }

        /// `File.removeAll` on such a path must neither recurse forever nor
        /// remove the directory the path starts with.
        @Test func removeAllRejectsAPathWithANulByte() throws {
            let result = try ChildProcess.run(["adv-removeall-nul"])
            #expect(result.exited(0), "\(result)")
            #expect(field("errno", in: result.stdout) == Int(EINVAL), "\(result)")
            #expect(field("exists", in: result.stdout) == 1, "\(result)")
        }

        /// Closing a `File` while another goroutine writes to it must not send
        /// the rest of that write to whatever file reuses the descriptor number.
        /// Go's `os.File` keeps the descriptor open until in-flight calls end.
        @Test func writeInFlightAtCloseNeverReachesAnotherFile() throws {
            let result = try ChildProcess.run(["adv-close-during-write"])
            #expect(result.exited(0), "\(result)")
            #expect(field("victim_bytes", in: result.stdout) == 0, "\(result)")
        }

        /// `Group.setLimit` documents that with a limit of zero `tryGo` always
        /// fails and `go` blocks forever, as in Go's errgroup.
        @Test func groupWithZeroLimitDeclinesTryGo() throws {
            let result = try ChildProcess.run(["adv-group-limit-zero-trygo"])
            #expect(result.exited(0), "\(result)")
            #expect(field("tryGo", in: result.stdout) == 0, "\(result)")
        }

        @Test func groupWithZeroLimitBlocksGo() throws {
            let result = try ChildProcess.run(["adv-group-limit-zero-go"], timeout: .seconds(10))
            #expect(result.exited(2), "\(result)")
            #expect(
                result.stderr.hasPrefix("fatal error: all goroutines are asleep - deadlock!\n"),
                "\(result)")
        }
    }
}
