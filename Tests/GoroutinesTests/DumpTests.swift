// Goroutine dumps in Go's shape: each goroutine's state and wait reason,
// printed on SIGQUIT while the process goes on.

import Foundation
import Synchronization
import Testing

@testable import Goroutines

extension RuntimeCoreTests {
    @Suite struct DumpTests {
        /// The test runner starts children with SIGQUIT blocked; the dump
        /// comes all the same, and the process goes on to exit normally.
        @Test func sigquitDumpsEvenWhenStartedWithTheSignalBlocked() throws {
            let result = try ChildProcess.run(["core-sigquit-dump"])
            #expect(result.exited(0), "\(result)")
            #expect(result.stderr.hasPrefix("SIGQUIT: goroutine dump\n\n"), "\(result)")
            #expect(result.stderr.contains("[chan receive"), "\(result)")
        }
    }
}
