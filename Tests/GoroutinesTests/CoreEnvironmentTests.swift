// Start-up settings and diagnostics read from the environment, each checked
// in a child process: GOMAXPROCS, and GODEBUG=schedtrace / scheddetail.

import Foundation
import Testing

@testable import Goroutines

/// The maxprocs a `core-print-maxprocs` child reports on stdout.
func reportedMaxProcs(_ result: ChildResult) -> Int? {
    guard let match = result.stdout.firstMatch(of: #/maxprocs=(\d+)/#) else { return nil }
    return Int(match.1)
}

extension RuntimeCoreTests {
    @Suite struct CoreEnvironmentTests {
        @Test func maxProcsDefaultsQuietlyAndHonoursAValidValue() throws {
            let plain = try ChildProcess.run(["core-print-maxprocs"])
            #expect(plain.exited(0), "\(plain)")
            #expect(plain.stderr.isEmpty, "\(plain)")
            let fallback = try #require(reportedMaxProcs(plain), "\(plain)")
            #expect(fallback >= 1 && fallback <= Runtime.numCPU)

            let three = try ChildProcess.run(
                ["core-print-maxprocs"], environment: ["GOMAXPROCS": "3"])
            #expect(three.exited(0), "\(three)")
            #expect(three.stderr.isEmpty, "\(three)")
            #expect(reportedMaxProcs(three) == 3, "\(three)")
        }

        @Test(arguments: ["abc", "0", "-3", "2x"])
        func malformedMaxProcsWarnsOnceAndUsesTheDefault(value: String) throws {
            let plain = try ChildProcess.run(["core-print-maxprocs"])
            let fallback = try #require(reportedMaxProcs(plain), "\(plain)")

            let result = try ChildProcess.run(
                ["core-print-maxprocs"], environment: ["GOMAXPROCS": value])
            #expect(result.exited(0), "\(result)")
            #expect(reportedMaxProcs(result) == fallback, "\(result)")
            let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 2 && lines[1].isEmpty, "one line of warning: \(result)")
            #expect(lines.first?.contains("GOMAXPROCS=\(value)") == true, "\(result)")
            #expect(lines.first?.hasSuffix("\(fallback)") == true, "\(result)")
        }

        @Test func schedtraceLinesFollowGosShape() throws {
            let result = try ChildProcess.run(
                ["core-schedtrace"],
                environment: ["GOMAXPROCS": "2", "GODEBUG": "schedtrace=50"])
            #expect(result.exited(0), "\(result)")
            #expect(result.stdout.contains("done"), "\(result)")

            let shape =
                #/
                ^SCHED\ (\d+)ms:\ gomaxprocs=(\d+)\ idleprocs=(\d+)\ threads=(\d+)
                \ spinningthreads=(\d+)\ idlethreads=(\d+)\ runqueue=(\d+)
                \ \[((?:\d+\ )*\d+)\]$
                /#
            var times: [Int] = []
            for line in result.stderr.split(separator: "\n") {
                let match = try #require(line.wholeMatch(of: shape), "bad line: \(line)")
                times.append(Int(match.1)!)
                #expect(Int(match.2) == 2, "\(line)")
                #expect(Int(match.3)! <= 2, "\(line)")
                #expect(Int(match.4)! >= 3, "\(line)")
                #expect(match.8.split(separator: " ").count == 2, "\(line)")
            }
            // About a second of work traced every 50 ms: some 20 lines, and at
            // least 3 however loaded the machine is.
            #expect(times.count >= 3, "\(result)")
            #expect(times == times.sorted(), "\(times)")
        }

        @Test func scheddetailAddsProcessorAndMachineLines() throws {
            let result = try ChildProcess.run(
                ["core-schedtrace"],
                environment: ["GOMAXPROCS": "2", "GODEBUG": "schedtrace=50,scheddetail=1"])
            #expect(result.exited(0), "\(result)")

            let summary = #/^SCHED \d+ms: gomaxprocs=(\d+) .*$/#
            let processor =
                #/^  P(\d+): status=\w+ schedtick=\d+ syscalltick=\d+ m=(-?\d+) runqsize=\d+$/#
            let machine =
                #/
                ^\ \ M(\d+):\ p=(-?\d+)\ curg=-?\d+\ spinning=(true|false)
                \ blocked=(true|false)\ lockedg=-?\d+\ tid=\d+$
                /#
            var blocks: [(procs: Int, pLines: [Int], mLines: Int)] = []
            // Per block: which machine each P names, and which P each M names.
            var pOwners: [[Int: Int]] = []
            var mProcessors: [[Int: Int]] = []
            for line in result.stderr.split(separator: "\n") {
                if let match = line.wholeMatch(of: summary) {
                    blocks.append((Int(match.1)!, [], 0))
                    pOwners.append([:])
                    mProcessors.append([:])
                } else if let match = line.wholeMatch(of: processor) {
                    try #require(!blocks.isEmpty, "P line before any SCHED line")
                    blocks[blocks.count - 1].pLines.append(Int(match.1)!)
                    pOwners[pOwners.count - 1][Int(match.1)!] = Int(match.2)!
                } else if let match = line.wholeMatch(of: machine) {
                    try #require(!blocks.isEmpty, "M line before any SCHED line")
                    blocks[blocks.count - 1].mLines += 1
                    mProcessors[mProcessors.count - 1][Int(match.1)!] = Int(match.2)!
                } else {
                    Issue.record("unexpected line: \(line)")
                }
            }
            #expect(blocks.count >= 3, "\(result)")
            for block in blocks {
                #expect(block.pLines == Array(0..<block.procs), "\(result)")
                #expect(block.mLines >= 1, "\(result)")
            }
            // The two views agree: an M that names a P is the M that P names.
            for (owners, processors) in zip(pOwners, mProcessors) {
                for (m, p) in processors where p >= 0 {
                    #expect(owners[p] == m, "M\(m) says p=\(p): \(result)")
                }
            }
        }
    }
}
