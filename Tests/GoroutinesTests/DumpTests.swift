// Goroutine dumps in Go's shape: each goroutine's state and wait reason,
// `, N minutes` only once it has waited a minute or more (timed from the
// park, or from the start of its blocking region), and a creation site for
// every goroutine but the main one. SIGQUIT prints one while the process
// goes on.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

extension RuntimeCoreTests {
    @Suite struct DumpTests {
        /// The header line of goroutine `id` in `dump`, if it is there.
        static func header(of id: Int64, in dump: String) -> String? {
            dump.split(separator: "\n").first { $0.hasPrefix("goroutine \(id) [") }
                .map(String.init)
        }

        /// A goroutine that parks for 1 s, then enters a region: the dump
        /// times the region from its own start, not from the park, whether
        /// the region still holds its P, has lost it to sysmon, or gave it
        /// away at once.
        @Test(arguments: [(false, 0), (false, 100), (true, 0)])
        func blockingRegionIsTimedFromItsStart(handOff: Bool, settleMillis: Int) {
            let id = Atomic<Int64>(0)
            let release = FinishFlag()
            let group = WaitGroup()
            group.add(1)
            go {
                id.store(Runtime.goroutineID, ordering: .releasing)
                sleep(for: .seconds(1))
                blocking(handOff: handOff) {
                    while !release.isSet { _ = usleep(1_000) }
                }
                group.done()
            }
            defer {
                release.set()
                _ = wait(group)
            }

            let inRegion = poll(timeout: .seconds(10)) {
                let g = id.load(ordering: .acquiring)
                guard g != 0, let line = Self.header(of: g, in: GoroutineDump.text()) else {
                    return false
                }
                return line.hasPrefix("goroutine \(g) [syscall")
            }
            #expect(inRegion)
            if settleMillis > 0 { usleep(UInt32(settleMillis) * 1_000) }
            let g = id.load(ordering: .acquiring)
            let seen = coarseNanos()

            let under = GoroutineDump.text(now: seen + 59_500_000_000)
            #expect(Self.header(of: g, in: under) == "goroutine \(g) [syscall]:", "\(under)")
            let one = GoroutineDump.text(now: seen + 60_500_000_000)
            #expect(Self.header(of: g, in: one) == "goroutine \(g) [syscall, 1 minutes]:")
            let later = GoroutineDump.text(now: seen + 150_000_000_000)
            #expect(Self.header(of: g, in: later) == "goroutine \(g) [syscall, 2 minutes]:")
        }

        /// A parked goroutine is timed from its park; under a minute shows
        /// no duration, as in Go.
        @Test func parkedGoroutineIsTimedFromItsPark() {
            let id = Atomic<Int64>(0)
            let gate = Channel<Int>()
            let group = WaitGroup()
            group.add(1)
            go {
                id.store(Runtime.goroutineID, ordering: .releasing)
                _ = gate.receive()
                group.done()
            }
            defer {
                gate.close()
                _ = wait(group)
            }

            let parked = poll(timeout: .seconds(10)) {
                let g = id.load(ordering: .acquiring)
                guard g != 0, let line = Self.header(of: g, in: GoroutineDump.text()) else {
                    return false
                }
                return line.hasPrefix("goroutine \(g) [chan receive")
            }
            #expect(parked)
            let g = id.load(ordering: .acquiring)
            let seen = coarseNanos()
            let now = GoroutineDump.text(now: seen)
            #expect(Self.header(of: g, in: now) == "goroutine \(g) [chan receive]:")
            let one = GoroutineDump.text(now: seen + 61_000_000_000)
            #expect(Self.header(of: g, in: one) == "goroutine \(g) [chan receive, 1 minutes]:")
        }

        /// SIGQUIT in a fresh process, started (as the test runner starts
        /// children) with the signal blocked: the dump comes and the process
        /// goes on. A goroutine 300 ms into a blocking region it entered
        /// without ever parking shows no duration, and the main goroutine has
        /// no "created by" line.
        @Test func sigquitDumpTimesRegionsAndOmitsTheMainCreator() throws {
            let result = try ChildProcess.run(["core-sigquit-dump"])
            #expect(result.exited(0), "\(result)")
            let ids = /main=(\d+) blocker=(\d+) receiver=(\d+)/
            let match = try #require(result.stdout.firstMatch(of: ids), "\(result)")
            let (main, blocker, receiver) = (match.1, match.2, match.3)

            let dump = result.stderr
            #expect(dump.hasPrefix("SIGQUIT: goroutine dump\n\n"), "\(result)")
            // The main goroutine has just sent the signal: running, or asleep.
            let mainBlock = try Regex("goroutine \(main) \\[(running|sleep)\\]:\n\n")
            #expect(dump.contains(mainBlock), "\(result)")
            #expect(!dump.contains("created by goroutine 0"), "\(result)")
            let creator = "\tcreated by goroutine \(main) at "
            #expect(dump.contains("goroutine \(blocker) [syscall]:\n" + creator), "\(result)")
            #expect(
                dump.contains("goroutine \(receiver) [chan receive]:\n" + creator), "\(result)")
            #expect(!dump.contains("minute"), "\(result)")
        }
    }
}
