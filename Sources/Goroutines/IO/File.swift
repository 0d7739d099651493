// File: an open file descriptor whose calls mark themselves blocking.
//
// Every call goes through SystemCall.swift: one blocking region per system
// call, EINTR retried, errno captured inside the region, failures thrown as
// `FileError`.
//
// The descriptor number is fixed for the file's life; an atomic state word
// counts the calls in flight on it and records a close. A call first takes
// a reference, failing with EBADF once the file is closed. `close` marks the
// file closed, then waits until the last call in flight has given its
// reference back before it closes the descriptor. So a call can never touch
// a number the process has meanwhile reused for another file, and a second
// close, or any call after close, fails with EBADF. A long write checks for
// a close between its partial writes and stops there, so `close` waits at
// most for one system call.

import Glibc
import Synchronization

/// An open file. Reads, writes, syncs and closes run as blocking regions,
/// so a slow disk holds only the calling goroutine's thread, never the
/// processor: other goroutines keep running.
///
/// ```swift
/// let file = try File.open("/tmp/log.txt", [.write, .create, .append])
/// try file.write("started\n")
/// try file.sync()
/// try file.close()
/// ```
///
/// A file still open when its last reference goes away is closed then.
public final class File: Sendable {
    /// The path the file was opened with, or the name it was adopted under.
    public let path: String
    /// The descriptor; its number stays valid until `state` says closed
    /// and no call holds it.
    private let fd: Int32
    /// Bit 0: closed. The rest: calls in flight, times 2.
    private let state = Atomic<Int>(0)
    /// Where the last call in flight tells a waiting `close` it is done.
    private let drained = Channel<Void>(capacity: 1)
    private let closesOnDeinit: Bool

    /// How to open a file: the access wanted and what to do if the file does
    /// or does not exist.
    public struct Options: OptionSet, Sendable {
        /// The flag bits.
        public let rawValue: Int32

        /// Makes options from raw flag bits.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// Open for reading.
        public static let read = Options(rawValue: 1 << 0)
        /// Open for writing; with `read` too, for both.
        public static let write = Options(rawValue: 1 << 1)
        /// Every write goes to the end of the file (`O_APPEND`).
        public static let append = Options(rawValue: 1 << 2)
        /// Create the file if it does not exist (`O_CREAT`).
        public static let create = Options(rawValue: 1 << 3)
        /// Empty the file on open (`O_TRUNC`).
        public static let truncate = Options(rawValue: 1 << 4)
        /// With `create`, fail if the file exists (`O_EXCL`).
        public static let exclusive = Options(rawValue: 1 << 5)

        /// The `open(2)` flags these options stand for; always `O_CLOEXEC`.
        var openFlags: Int32 {
            var flags = O_CLOEXEC
            if contains(.write) || contains(.append) {
                flags |= contains(.read) ? O_RDWR : O_WRONLY
            } else {
                flags |= O_RDONLY
            }
            if contains(.append) { flags |= O_APPEND }
            if contains(.create) { flags |= O_CREAT }
            if contains(.truncate) { flags |= O_TRUNC }
            if contains(.exclusive) { flags |= O_EXCL }
            return flags
        }
    }

    /// Adopts an open descriptor. The file closes it on `close()`, and on
    /// deinit if `closesOnDeinit` is true.
    ///
    /// - Parameters:
    ///   - descriptor: an open file descriptor.
    ///   - name: what errors call the file, e.g. `"stdout"`.
    ///   - closesOnDeinit: whether dropping the last reference closes it.
    public init(descriptor: Int32, name: String, closesOnDeinit: Bool = true) {
        path = name
        fd = descriptor
        self.closesOnDeinit = closesOnDeinit
    }

    deinit {
        // No call can be in flight: each holds a reference to the file.
        if closesOnDeinit && state.load(ordering: .acquiring) & 1 == 0 {
            let descriptor = fd
            _ = attempt { Glibc.close(descriptor) }
        }
    }

    /// The process's standard output, never closed on deinit.
    public static let standardOutput = File(
        descriptor: 1, name: "stdout", closesOnDeinit: false)
    /// The process's standard error, never closed on deinit.
    public static let standardError = File(
        descriptor: 2, name: "stderr", closesOnDeinit: false)

    /// Opens (or creates) the file at `path`.
    ///
    /// - Parameters:
    ///   - path: the file to open.
    ///   - options: access and creation flags; `.read` by default.
    ///   - permissions: the mode of a file that `.create` creates, before the
    ///     process's umask; `0o644` by default.
    /// - Throws: `FileError` with operation `open`.
    public static func open(
        _ path: String, _ options: Options = .read, permissions: UInt32 = 0o644
    ) throws(FileError) -> File {
        try checkPath(path, "open")
        let flags = options.openFlags
        let descriptor = try systemCall("open", path) { Glibc.open(path, flags, permissions) }
        return File(descriptor: descriptor, name: path)
    }

    /// The descriptor, or -1 once the file is closed.
    public var descriptor: Int32 { state.load(ordering: .acquiring) & 1 == 0 ? fd : -1 }

    /// Runs `body` on the open descriptor, which stays open until it
    /// returns; EBADF for `operation` once the file is closed.
    private func withDescriptor<R>(
        _ operation: String, _ body: (Int32) throws(FileError) -> R
    ) throws(FileError) -> R {
        var word = state.load(ordering: .relaxed)
        while true {
            if word & 1 != 0 { throw FileError(errno: EBADF, operation: operation, path: path) }
            // acquiring: pairs with the releasing exchange below, so a call
            // that starts sees the file as its last user left it.
            let (exchanged, current) = state.compareExchange(
                expected: word, desired: word + 2, ordering: .acquiring)
            if exchanged { break }
            word = current
        }
        defer {
            // releasing: this call's use of the descriptor happens before the
            // close that a waiting `close` then makes.
            if state.subtract(2, ordering: .acquiringAndReleasing).newValue == 1 {
                drained.send(())
            }
        }
        return try body(fd)
    }

    /// Whether `close` has been called; a long transfer stops at it.
    private var isClosing: Bool { state.load(ordering: .relaxed) & 1 != 0 }

    // MARK: Reading

    /// Reads up to `buffer.count` bytes into `buffer` and returns how many
    /// it read: 0 at end of file. One `read(2)` call, retried on EINTR.
    ///
    /// - Throws: `FileError` with operation `read`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        if buffer.isEmpty {
            return try withDescriptor("read") { _ throws(FileError) in 0 }
        }
        return try withDescriptor("read") { descriptor throws(FileError) in
            try systemCall("read", path, handOff: buffer.count >= longCallBytes) {
                Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            }
        }
    }

    /// Reads up to `count` bytes; an empty array means end of file.
    ///
    /// - Throws: `FileError` with operation `read`.
    public func read(upToCount count: Int) throws(FileError) -> [UInt8] {
        require(count >= 0, "File.read: negative count \(count)")
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { raw in
            Result { () throws(FileError) in try read(into: raw) }
        }.get()
        bytes.removeLast(count - n)
        return bytes
    }

    /// Reads from the current offset to the end of the file.
    ///
    /// - Throws: `FileError` with operation `read` (or `stat`, for the size
    ///   hint).
    public func readToEnd() throws(FileError) -> [UInt8] {
        // One byte beyond the reported size, so that a file whose size is
        // right needs no second buffer; /proc files report 0 and grow it.
        var buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(try status().size + 1, 4096), alignment: 1)
        defer { buffer.deallocate() }
        var count = 0
        while true {
            if count == buffer.count {
                let larger = UnsafeMutableRawBufferPointer.allocate(
                    byteCount: buffer.count * 2, alignment: 1)
                larger.copyMemory(from: UnsafeRawBufferPointer(buffer))
                buffer.deallocate()
                buffer = larger
            }
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
            if n == 0 { break }
            count += n
        }
        return [UInt8](UnsafeRawBufferPointer(rebasing: buffer[..<count]))
    }

    // MARK: Writing

    /// Writes all of `bytes`, looping over partial writes.
    ///
    /// - Throws: `FileError` with operation `write`; `EIO` if the kernel
    ///   accepts no bytes at all.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        try withDescriptor("write") { descriptor throws(FileError) in
            var offset = 0
            while offset < bytes.count {
                if offset > 0 && isClosing {
                    throw FileError(errno: EBADF, operation: "write", path: path)
                }
                let start = bytes.baseAddress! + offset
                let remaining = bytes.count - offset
                let long = remaining >= longCallBytes
                let n = try systemCall("write", path, handOff: long) {
                    Glibc.write(descriptor, start, remaining)
                }
                if n == 0 { throw FileError(errno: EIO, operation: "write", path: path) }
                offset += n
            }
        }
    }

    /// Writes all of `bytes`.
    ///
    /// - Throws: `FileError` with operation `write`.
    public func write(_ bytes: [UInt8]) throws(FileError) {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(FileError) in try write(raw) }
        }.get()
    }

    /// Writes `text` as UTF-8.
    ///
    /// - Throws: `FileError` with operation `write`.
    public func write(_ text: String) throws(FileError) {
        var text = text
        try text.withUTF8 { utf8 in
            Result { () throws(FileError) in try write(UnsafeRawBufferPointer(utf8)) }
        }.get()
    }

    // MARK: Sync, status, close

    /// Flushes the file's data and metadata to the device (`fsync(2)`).
    ///
    /// - Throws: `FileError` with operation `sync`.
    public func sync() throws(FileError) {
        _ = try withDescriptor("sync") { descriptor throws(FileError) in
            try systemCall("sync", path) { fsync(descriptor) }
        }
    }

    /// The file's size, kind and permissions (`fstat(2)`).
    ///
    /// - Throws: `FileError` with operation `stat`.
    public func status() throws(FileError) -> FileStatus {
        try withDescriptor("stat") { descriptor throws(FileError) in
            var info = stat()
            _ = try systemCall("stat", path) { fstat(descriptor, &info) }
            return FileStatus(info)
        }
    }

    /// Closes the file. Later calls on it fail with `EBADF`, and so does a
    /// second close. Calls already in flight on other goroutines finish
    /// first (a long write stops after its current system call), and only
    /// then is the descriptor closed, so their bytes can never reach a file
    /// opened meanwhile. The descriptor is released even when close reports an
    /// error (an earlier write that failed late, say), and an EINTR from
    /// close is not retried: on Linux the descriptor is gone by then.
    ///
    /// - Throws: `FileError` with operation `close`.
    public func close() throws(FileError) {
        // acquiringAndReleasing: the calls that finished before see their
        // effects ordered before the close.
        let word = state.bitwiseOr(1, ordering: .acquiringAndReleasing).oldValue
        if word & 1 != 0 { throw FileError(errno: EBADF, operation: "close", path: path) }
        if word != 0 { _ = drained.receive() }
        let descriptor = fd
        let result = attempt { Glibc.close(descriptor) }
        if result.value < 0 && result.code != EINTR {
            throw FileError(errno: result.code, operation: "close", path: path)
        }
    }
}
