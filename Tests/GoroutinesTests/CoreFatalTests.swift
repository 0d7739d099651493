// Fatal paths of the core, each in a child process (Tests/Crashers): Go's
// panics for channel and WaitGroup misuse, preconditions for bad arguments,
// the stack guard, and the exclusivity checker across a park.

import Foundation
import Testing

@testable import Goroutines

/// Whether the child died of a trap, as a failed precondition does
/// (SIGILL from `ud2` on x86_64, SIGTRAP from `brk` on arm64).
func trapped(_ result: ChildResult) -> Bool {
    result.signaled && (result.status == SIGILL || result.status == SIGTRAP)
}

extension RuntimeCoreTests {
    @Suite struct CoreFatalTests {
        @Test(arguments: [
            ("core-send-on-closed", "send on closed channel"),
            ("core-send-parked-then-closed", "send on closed channel"),
            ("core-close-of-closed", "close of closed channel"),
            ("core-negative-waitgroup", "sync: negative WaitGroup counter"),
        ])
        func misusePanicsWithGoWording(scenario: String, message: String) throws {
            let result = try ChildProcess.run([scenario])
            #expect(result.exited(2), "\(result)")
            #expect(result.stderr.hasPrefix("panic: \(message)\n"), "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
        }

        @Test(arguments: [
            ("core-negative-capacity", "makechan: size out of range"),
            ("core-huge-capacity", "makechan: size out of range"),
            ("core-setmaxprocs-zero", "Runtime.setMaxProcs: 0 is out of range"),
        ])
        func badArgumentsFailTheirPrecondition(scenario: String, message: String) throws {
            let result = try ChildProcess.run([scenario])
            #expect(trapped(result), "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
            // The message is printed in every build, optimized ones too.
            #expect(result.stderr.contains("Fatal error: \(message)"), "\(result)")
        }

        @Test(arguments: [
            "core-print-then-panic", "core-print-then-deadlock", "core-print-then-misuse",
        ])
        func outputPrintedBeforeAFatalEndIsNotLost(scenario: String) throws {
            // The child's stdout is a pipe, so `print` buffers it.
            let result = try ChildProcess.run([scenario])
            #expect(!result.exited(0), "\(result)")
            #expect(result.stdout.contains("printed before the end\n"), "\(result)")
        }

        @Test func runawayRecursionHitsTheStackGuard() throws {
            let result = try ChildProcess.run(["core-stack-overflow"])
            #expect(result.exited(2), "\(result)")
            let size = Runtime.stackSize
            let pattern = #/goroutine \d+: stack overflow \(stack (\d+) bytes\)\n/#
            let match = result.stderr.firstMatch(of: pattern)
            #expect(match != nil, "\(result)")
            #expect(match.map { Int($0.1) } == size, "\(result)")
            #expect(result.stderr.hasSuffix("fatal error: stack overflow\n"), "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
        }

        @Test func overlappingAccessAcrossAParkIsStillDetected() throws {
            let result = try ChildProcess.run(
                ["core-exclusivity-conflict"], environment: ["GOMAXPROCS": "2"])
            #expect(result.signaled, "\(result)")
            #expect(
                result.stderr.contains(
                    "Simultaneous accesses to 0x"), "\(result)")
            #expect(
                result.stderr.contains("but modification requires exclusive access"),
                "\(result)")
            #expect(!result.stdout.contains("survived"), "\(result)")
        }
    }
}
