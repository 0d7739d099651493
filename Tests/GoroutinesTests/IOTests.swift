// Tests of the file layer: errors carry errno, operation and path; happy
// paths round-trip bytes; many goroutines writing and reading at once each
// see their own data and their own errno; an interrupted call is retried.

import Foundation
import Glibc
import Synchronization
import Testing

@testable import Goroutines

/// A fresh temporary directory for one test, removed by `body`'s end. It
/// goes to /dev/shm when there is one: these tests are about the calls, and
/// a disk file system would only make them slow (rewriting a file there may
/// wait for the writeback of its last contents).
func withIOScratch<R>(_ body: (String) throws -> R) throws -> R {
    let memory = (try? File.status(at: "/dev/shm"))?.kind == .directory ? "/dev/shm" : nil
    let directory = try File.makeTemporaryDirectory(in: memory, prefix: "goroutines-io-test-")
    defer { try? File.removeAll(directory) }
    return try body(directory)
}

/// Runs `body` with GOMAXPROCS set to `procs`, restoring it afterwards.
func withIOMaxProcs<R>(_ procs: Int, _ body: () throws -> R) rethrows -> R {
    let old = Runtime.setMaxProcs(procs)
    defer { Runtime.setMaxProcs(old) }
    return try body()
}

/// Runs `count` goroutines and waits (at most `bound`) for all to finish.
/// Returns how many finished.
func runIOGoroutines(
    _ count: Int, bound: Duration = .seconds(60), _ body: @escaping @Sendable (Int) -> Void
) -> Int {
    let counter = IOCounter()
    for index in 0..<count {
        go {
            body(index)
            counter.value.add(1, ordering: .releasing)
        }
    }
    let deadline = ContinuousClock.now + bound
    while counter.value.load(ordering: .acquiring) < count && ContinuousClock.now < deadline {
        usleep(1_000)
    }
    return counter.value.load(ordering: .acquiring)
}

final class IOCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// Bytes that differ by `seed` and `count`, so a mix-up shows.
func ioPattern(seed: Int, count: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count {
            buffer[i] = UInt8(truncatingIfNeeded: i &* 31 &+ seed &* 7 &+ (i >> 8))
        }
        initialized = count
    }
}

extension RuntimeCoreTests {
    @Suite("File calls", .serialized)
    struct IOTests {
        // MARK: Errors

        @Test func missingFileReportsENOENTWithOperationAndPath() throws {
            try withIOScratch { directory in
                let path = directory + "/absent/file.txt"
                let error = #expect(throws: FileError.self) { _ = try readFile(path) }
                #expect(error?.errno == ENOENT)
                #expect(error?.operation == "open")
                #expect(error?.path == path)
                let text = "open \(path): No such file or directory (errno \(ENOENT))"
                #expect(error?.description == text)
            }
        }

        @Test func directoryOpenedForWritingReportsEISDIR() throws {
            try withIOScratch { directory in
                let error = #expect(throws: FileError.self) {
                    _ = try File.open(directory, [.write])
                }
                #expect(error?.errno == EISDIR)
                #expect(error?.path == directory)
                let write = #expect(throws: FileError.self) { try writeFile(directory, "x") }
                #expect(write?.errno == EISDIR)
            }
        }

        @Test func existingPathsReportEEXIST() throws {
            try withIOScratch { directory in
                let sub = directory + "/sub"
                try File.makeDirectory(sub)
                let again = #expect(throws: FileError.self) { try File.makeDirectory(sub) }
                #expect(again?.errno == EEXIST)
                #expect(again?.operation == "mkdir")
                #expect(again?.path == sub)

                let path = directory + "/once"
                try File.open(path, [.write, .create, .exclusive]).close()
                let exclusive = #expect(throws: FileError.self) {
                    _ = try File.open(path, [.write, .create, .exclusive])
                }
                #expect(exclusive?.errno == EEXIST)
            }
        }

        @Test func callsOnAClosedFileReportEBADF() throws {
            try withIOScratch { directory in
                let path = directory + "/closed"
                let file = try File.open(path, [.read, .write, .create])
                try file.close()
                #expect(file.descriptor == -1)
                let read = #expect(throws: FileError.self) { _ = try file.read(upToCount: 4) }
                #expect(read?.errno == EBADF)
                #expect(read?.operation == "read")
                #expect(read?.path == path)
                let write = #expect(throws: FileError.self) { try file.write("x") }
                #expect(write?.errno == EBADF)
                let sync = #expect(throws: FileError.self) { try file.sync() }
                #expect(sync?.operation == "sync")
                let close = #expect(throws: FileError.self) { try file.close() }
                #expect(close?.errno == EBADF)
                #expect(close?.operation == "close")
            }
        }

        @Test func removeReportsMissingPathsButRemoveAllDoesNot() throws {
            try withIOScratch { directory in
                let path = directory + "/nothing"
                let error = #expect(throws: FileError.self) { try File.remove(path) }
                #expect(error?.errno == ENOENT)
                #expect(error?.operation == "remove")
                try File.removeAll(path)
                let status = #expect(throws: FileError.self) { _ = try File.status(at: path) }
                #expect(status?.errno == ENOENT)
                #expect(status?.operation == "stat")
            }
        }

        // MARK: Happy paths

        @Test(arguments: [0, 1, 4095, 4096, (1 << 20) + 3])
        func writeFileThenReadFileRoundTrips(size: Int) throws {
            try withIOScratch { directory in
                let path = directory + "/data"
                let bytes = ioPattern(seed: size, count: size)
                try writeFile(path, bytes, permissions: 0o600)
                #expect(try readFile(path) == bytes)
                let status = try File.status(at: path)
                #expect(status.size == size)
                #expect(status.kind == .regular)
                #expect(status.permissions == 0o600)

                // Rewriting truncates: a shorter file leaves no tail behind.
                try writeFile(path, "short")
                #expect(try readFile(path) == Array("short".utf8))
            }
        }

        @Test func fileCallsReadWriteAppendAndSync() throws {
            try withIOScratch { directory in
                let path = directory + "/log"
                let file = try File.open(path, [.write, .create, .exclusive])
                try file.write("hello, ")
                try file.write(Array("world".utf8))
                try file.sync()
                try file.close()

                let appender = try File.open(path, [.append])
                try appender.write("!")
                try appender.close()

                let reader = try File.open(path)
                #expect(try reader.read(upToCount: 5) == Array("hello".utf8))
                #expect(try reader.readToEnd() == Array(", world!".utf8))
                #expect(try reader.read(upToCount: 16) == [])
                #expect(try reader.status().size == 13)
                try reader.close()
            }
        }

        @Test func readToEndReadsFilesThatReportNoSize() throws {
            // /proc files report size 0 but have contents.
            let status = try readFile("/proc/self/status")
            #expect(String(decoding: status, as: UTF8.self).contains("Threads:"))
        }

        @Test func directoriesCanBeListedAndRemovedWhole() throws {
            try withIOScratch { directory in
                try File.makeDirectory(directory + "/a")
                try File.makeDirectory(directory + "/a/b")
                try writeFile(directory + "/a/b/deep", "1")
                try writeFile(directory + "/a/top", "2")
                try writeFile(directory + "/c", "3")
                #expect(try File.contentsOfDirectory(directory).sorted() == ["a", "c"])
                #expect(try File.contentsOfDirectory(directory + "/a").sorted() == ["b", "top"])
                #expect(try File.status(at: directory + "/a").kind == .directory)

                try File.removeAll(directory + "/a")
                #expect(try File.contentsOfDirectory(directory) == ["c"])
                try File.remove(directory + "/c")
                #expect(try File.contentsOfDirectory(directory) == [])
            }
        }

        @Test func temporaryDirectoriesAreFreshAndPrivate() throws {
            try withIOScratch { parent in
                let first = try File.makeTemporaryDirectory(in: parent, prefix: "x-")
                let second = try File.makeTemporaryDirectory(in: parent, prefix: "x-")
                #expect(first != second)
                #expect(first.hasPrefix(parent + "/x-"))
                #expect(try File.status(at: first).permissions == 0o700)
                let missing = #expect(throws: FileError.self) {
                    _ = try File.makeTemporaryDirectory(in: parent + "/absent")
                }
                #expect(missing?.errno == ENOENT)
                #expect(missing?.operation == "mkdtemp")
            }
        }

        // MARK: Many goroutines

        @Test(arguments: [1, 2, 4])
        func goroutinesRoundTripTheirOwnFiles(procs: Int) throws {
            try withIOScratch { directory in
                let failures = Mutex<[String]>([])
                let writers = 48
                let finished = withIOMaxProcs(procs) {
                    runIOGoroutines(writers) { index in
                        let path = directory + "/g\(index)"
                        for round in 0..<12 {
                            let size = (index * 977 + round * 4099) % (64 * 1024)
                            let bytes = ioPattern(seed: index * 100 + round, count: size)
                            do {
                                try writeFile(path, bytes)
                                let back = try readFile(path)
                                if back != bytes {
                                    failures.withLock { $0.append("g\(index) round \(round)") }
                                }
                            } catch {
                                failures.withLock { $0.append("g\(index): \(error)") }
                            }
                            if round % 3 == 0 { Runtime.yield() }
                        }
                    }
                }
                #expect(finished == writers)
                #expect(failures.withLock { $0 } == [])
            }
        }

        @Test(arguments: [1, 2, 4])
        func goroutinesReadOneFileTogether(procs: Int) throws {
            try withIOScratch { directory in
                let path = directory + "/shared"
                let bytes = ioPattern(seed: 7, count: 300_000)
                try writeFile(path, bytes)
                let mismatches = Atomic<Int>(0)
                let readers = 32
                let finished = withIOMaxProcs(procs) {
                    runIOGoroutines(readers) { index in
                        do {
                            let file = try File.open(path)
                            defer { try? file.close() }
                            var collected: [UInt8] = []
                            let chunk = 1000 + index * 37
                            while true {
                                let part = try file.read(upToCount: chunk)
                                if part.isEmpty { break }
                                collected += part
                            }
                            if collected != bytes { mismatches.add(1, ordering: .relaxed) }
                        } catch {
                            mismatches.add(1, ordering: .relaxed)
                        }
                    }
                }
                #expect(finished == readers)
                #expect(mismatches.load(ordering: .relaxed) == 0)
            }
        }

        /// errno lives in the thread, and a goroutine may change threads when it
        /// leaves a blocking region: each failure must still carry its own call's
        /// errno, whatever its neighbours are doing.
        @Test(arguments: [1, 2, 4])
        func eachGoroutineSeesItsOwnErrno(procs: Int) throws {
            try withIOScratch { directory in
                try File.makeDirectory(directory + "/dir")
                try writeFile(directory + "/file", "x")
                let wrong = Mutex<[String]>([])
                let workers = 60
                let finished = withIOMaxProcs(procs) {
                    runIOGoroutines(workers) { index in
                        for round in 0..<40 {
                            let expected: Int32
                            let caught: FileError?
                            do throws(FileError) {
                                switch (index + round) % 4 {
                                case 0:
                                    expected = ENOENT
                                    _ = try readFile(directory + "/absent-\(index)")
                                case 1:
                                    expected = EISDIR
                                    try writeFile(directory + "/dir", "y")
                                case 2:
                                    expected = EEXIST
                                    try File.makeDirectory(directory + "/dir")
                                default:
                                    expected = 0
                                    _ = try readFile(directory + "/file")
                                }
                                caught = nil
                            } catch {
                                caught = error
                            }
                            if (caught?.errno ?? 0) != expected {
                                let got = caught.map { "\($0)" } ?? "success"
                                wrong.withLock { $0.append("want errno \(expected), got \(got)") }
                            }
                        }
                    }
                }
                #expect(finished == workers)
                #expect(wrong.withLock { $0 } == [])
            }
        }

        // MARK: EINTR

        /// A read that a signal interrupts (SIGUSR1, installed without
        /// SA_RESTART, so the kernel returns EINTR) is retried, not reported.
        @Test func interruptedReadIsRetried() throws {
            IOSignals.install()
            defer { IOSignals.restore() }
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            let reader = File(descriptor: fds[0], name: "pipe")
            let writer = File(descriptor: fds[1], name: "pipe")

            let state = IOReaderState()
            Thread.detachNewThread {
                // The thread may inherit a mask that blocks SIGUSR1.
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, SIGUSR1)
                pthread_sigmask(SIG_UNBLOCK, &set, nil)
                state.thread.withLock { $0 = (pthread_self(), ioKernelThreadID()) }
                do throws(FileError) {
                    let bytes = try reader.read(upToCount: 8)
                    state.result.withLock { $0 = .success(bytes) }
                } catch {
                    state.result.withLock { $0 = .failure(error) }
                }
            }

            let deadline = ContinuousClock.now + .seconds(30)
            func waitFor(_ condition: () -> Bool) -> Bool {
                while !condition() {
                    if ContinuousClock.now > deadline { return false }
                    usleep(1_000)
                }
                return true
            }
            #expect(waitFor { state.thread.withLock { $0 } != nil })
            let (thread, tid) = state.thread.withLock { $0 }!
            for round in 1...3 {
                // Wait until the reader sleeps in read(2), then interrupt it.
                #expect(waitFor { ioThreadIsSleeping(tid) })
                pthread_kill(thread, SIGUSR1)
                #expect(waitFor { IOSignals.delivered.load(ordering: .acquiring) >= round })
            }
            #expect(waitFor { ioThreadIsSleeping(tid) })
            #expect(state.result.withLock { $0 } == nil)
            try writer.write("ok")
            #expect(waitFor { state.result.withLock { $0 } != nil })
            let result = state.result.withLock { $0 }
            #expect(try result?.get() == Array("ok".utf8))
            try writer.close()
            try reader.close()
        }
    }
}

final class IOReaderState: Sendable {
    let thread = Mutex<(pthread_t, Int32)?>(nil)
    let result = Mutex<Result<[UInt8], FileError>?>(nil)
}

/// The calling thread's kernel id, from the /proc/thread-self link.
func ioKernelThreadID() -> Int32 {
    var buffer = [CChar](repeating: 0, count: 64)
    let n = readlink("/proc/thread-self", &buffer, buffer.count - 1)
    let text = String(decoding: buffer[0..<max(n, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return Int32(text.split(separator: "/").last ?? "") ?? -1
}

/// Whether the kernel reports thread `tid` of this process as sleeping.
func ioThreadIsSleeping(_ tid: Int32) -> Bool {
    guard let bytes = try? readFile("/proc/self/task/\(tid)/stat") else { return false }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return false }
    let rest = text[text.index(after: close)...].drop { $0 == " " }
    return rest.first == "S"
}

enum IOSignals {
    static let delivered = Atomic<Int>(0)
    private static let previous = Mutex<sigaction?>(nil)

    /// SIGUSR1 counts deliveries, without SA_RESTART.
    static func install() {
        _ = delivered.load(ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            IOSignals.delivered.add(1, ordering: .releasing)
        }
        action.sa_flags = 0
        sigemptyset(&action.sa_mask)
        var old = sigaction()
        sigaction(SIGUSR1, &action, &old)
        previous.withLock { $0 = old }
    }

    static func restore() {
        if var old = previous.withLock({ $0 }) { sigaction(SIGUSR1, &old, nil) }
    }
}
