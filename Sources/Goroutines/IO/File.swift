// File: an open file descriptor whose calls mark themselves blocking.
//
// Every call goes through SystemCall.swift: one blocking region per system
// call, EINTR retried, errno captured inside the region, failures thrown as
// `FileError`. The descriptor lives in an atomic so that `close` takes it
// exactly once: a second close, or any call after close, fails with EBADF
// instead of touching a descriptor number the process may have reused.
// Closing a file while another goroutine is inside a call on it is a race
// the caller must avoid, as with any descriptor.

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
    /// The descriptor, or -1 once closed. Swapped to -1 exactly once.
    private let fd: Atomic<Int32>
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
        fd = Atomic(descriptor)
        self.closesOnDeinit = closesOnDeinit
    }

    deinit {
        let descriptor = fd.exchange(-1, ordering: .acquiring)
        if closesOnDeinit && descriptor >= 0 {
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
    public var descriptor: Int32 { fd.load(ordering: .acquiring) }

    /// The open descriptor, or EBADF for `operation` once closed.
    private func openDescriptor(_ operation: String) throws(FileError) -> Int32 {
        let descriptor = fd.load(ordering: .acquiring)
        if descriptor < 0 { throw FileError(errno: EBADF, operation: operation, path: path) }
        return descriptor
    }

    // MARK: Reading

    /// Reads up to `buffer.count` bytes into `buffer` and returns how many
    /// it read: 0 at end of file. One `read(2)` call, retried on EINTR.
    ///
    /// - Throws: `FileError` with operation `read`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        let descriptor = try openDescriptor("read")
        if buffer.isEmpty { return 0 }
        return try systemCall("read", path, handOff: buffer.count >= longCallBytes) {
            Glibc.read(descriptor, buffer.baseAddress, buffer.count)
        }
    }

    /// Reads up to `count` bytes; an empty array means end of file.
    ///
    /// - Throws: `FileError` with operation `read`.
    public func read(upToCount count: Int) throws(FileError) -> [UInt8] {
        precondition(count >= 0, "File.read: negative count \(count)")
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
        let descriptor = try openDescriptor("write")
        var offset = 0
        while offset < bytes.count {
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
        let descriptor = try openDescriptor("sync")
        _ = try systemCall("sync", path) { fsync(descriptor) }
    }

    /// The file's size, kind and permissions (`fstat(2)`).
    ///
    /// - Throws: `FileError` with operation `stat`.
    public func status() throws(FileError) -> FileStatus {
        let descriptor = try openDescriptor("stat")
        var info = stat()
        _ = try systemCall("stat", path) { fstat(descriptor, &info) }
        return FileStatus(info)
    }

    /// Closes the file. Later calls on it fail with `EBADF`, and so does a
    /// second close. The descriptor is released even when close reports an
    /// error (an earlier write that failed late, say), and an EINTR from
    /// close is not retried: on Linux the descriptor is gone by then.
    ///
    /// - Throws: `FileError` with operation `close`.
    public func close() throws(FileError) {
        let descriptor = fd.exchange(-1, ordering: .acquiringAndReleasing)
        if descriptor < 0 { throw FileError(errno: EBADF, operation: "close", path: path) }
        let result = attempt { Glibc.close(descriptor) }
        if result.value < 0 && result.code != EINTR {
            throw FileError(errno: result.code, operation: "close", path: path)
        }
    }
}
