// The README's Swift examples, compiled and run. Each example's lines appear
// here verbatim (indented), followed by checks of what it prints; the last
// test fails if a README example is missing from this file, so the two
// cannot drift apart.

import Foundation
import Glibc
import Testing

@testable import Goroutines

extension RuntimeCoreTests {
    @Suite(.serialized)
    struct ReadmeExamplesTests {
        @Test func tour() {
            let results = Channel<Int>(capacity: 10)
            let group = WaitGroup()
            for i in 1...10 {
                group.add(1)
                go {
                    defer { group.done() }
                    results.send(i * i)
                }
            }
            group.wait()
            results.close()
            var total = 0
            for square in results { total += square }
            print(total)  // 385
            #expect(total == 385)
        }

        @Test func blockingCall() {
            let fd = open("/dev/null", O_WRONLY)
            let written = blocking { write(fd, "hello", 5) }
            close(fd)
            print(written)  // 5
            #expect(written == 5)
        }

        @Test func selectWithTimeout() {
            let replies = Channel<String>()
            go {
                sleep(for: .milliseconds(10))  // a slow worker
                replies.send("pong")
            }
            let answer = select {
                onReceive(replies) { $0 ?? "closed" }
                onReceive(after(.seconds(1))) { _ in "timed out" }
            }
            print(answer)  // pong
            #expect(answer == "pong")
        }

        @Test func files() throws {
            let path = "/tmp/goroutines-readme-\(getpid()).txt"
            try writeFile(path, "hello\n")
            let bytes = try readFile(path)
            try File.remove(path)
            print(bytes.count)  // 6
            #expect(bytes.count == 6)
        }

        @Test func everyReadmeExampleIsHere() throws {
            let here = URL(fileURLWithPath: #filePath)
            let root = here.deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            let readme = try String(
                contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
            // The examples live in this file and, for the sync ones, in its sibling.
            let sibling = here.deletingLastPathComponent()
                .appendingPathComponent("SyncReadmeSnippetsTests.swift")
            let sources = try [here, sibling].map { try String(contentsOf: $0, encoding: .utf8) }
            let sourceFiles = sources.map { source in
                source.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            // A manifest excerpt (first line `// Package.swift`) is not code a
            // test can compile; every other Swift block must be here, less its
            // imports (this file imports what the blocks need).
            let blocks = readme.components(separatedBy: "```swift\n").dropFirst().map {
                $0.components(separatedBy: "```")[0]
            }.filter { !$0.hasPrefix("// Package.swift\n") }
            #expect(!blocks.isEmpty)
            for block in blocks {
                let lines = block.split(separator: "\n").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.filter { !$0.isEmpty && !$0.hasPrefix("import ") }
                // The block must appear as consecutive lines in one of the files.
                let found = sourceFiles.contains { sourceLines in
                    sourceLines.indices.contains { start in
                        start + lines.count <= sourceLines.count
                            && Array(sourceLines[start..<start + lines.count]) == lines
                    }
                }
                #expect(found, "README example not compiled here:\n\(block)")
            }
        }
    }
}
