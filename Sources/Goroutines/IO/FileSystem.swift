// Whole-file and path-level calls: Go's os.WriteFile and os.ReadFile, and
// stat, remove, mkdir, directory listing and temporary directories. Each
// system call inside runs in a blocking region of its own (SystemCall.swift).

import CGoroutines
import Glibc

/// Writes `bytes` to the file at `path`, creating it with `permissions`
/// (before the umask) or truncating it first, as Go's `os.WriteFile` does.
/// Open, write and close each run as a blocking region.
///
/// ```swift
/// try writeFile("/tmp/greeting.txt", Array("hello\n".utf8))
/// ```
///
/// - Throws: `FileError` from `open`, `write` or `close`. After a failed
///   write the file is closed and the write's error is thrown.
public func writeFile(
    _ path: String, _ bytes: UnsafeRawBufferPointer, permissions: UInt32 = 0o644
) throws(FileError) {
    let file = try File.open(path, [.write, .create, .truncate], permissions: permissions)
    do throws(FileError) {
        try file.write(bytes)
    } catch {
        try? file.close()
        throw error
    }
    try file.close()
}

/// Writes `bytes` to the file at `path`, creating or truncating it.
///
/// - Throws: `FileError` from `open`, `write` or `close`.
public func writeFile(
    _ path: String, _ bytes: [UInt8], permissions: UInt32 = 0o644
) throws(FileError) {
    try bytes.withUnsafeBytes { raw in
        Result { () throws(FileError) in try writeFile(path, raw, permissions: permissions) }
    }.get()
}

/// Writes `text` as UTF-8 to the file at `path`, creating or truncating it.
///
/// - Throws: `FileError` from `open`, `write` or `close`.
public func writeFile(
    _ path: String, _ text: String, permissions: UInt32 = 0o644
) throws(FileError) {
    var text = text
    try text.withUTF8 { utf8 in
        Result { () throws(FileError) in
            try writeFile(path, UnsafeRawBufferPointer(utf8), permissions: permissions)
        }
    }.get()
}

/// Reads the whole file at `path`, as Go's `os.ReadFile` does.
///
/// ```swift
/// let text = String(decoding: try readFile("/etc/hostname"), as: UTF8.self)
/// ```
///
/// - Throws: `FileError` from `open`, `stat`, `read` or `close`.
public func readFile(_ path: String) throws(FileError) -> [UInt8] {
    let file = try File.open(path)
    let bytes: [UInt8]
    do throws(FileError) {
        bytes = try file.readToEnd()
    } catch {
        try? file.close()
        throw error
    }
    try file.close()
    return bytes
}

/// What `stat(2)` says about a file.
public struct FileStatus: Sendable, Equatable {
    /// The kinds of file this layer tells apart.
    public enum Kind: Sendable, Equatable {
        /// A regular file.
        case regular
        /// A directory.
        case directory
        /// A symbolic link (seen only by calls that do not follow links).
        case symbolicLink
        /// Anything else: a device, pipe or socket.
        case other
    }

    /// The size in bytes.
    public let size: Int
    /// The permission bits, e.g. `0o644`.
    public let permissions: UInt32
    /// The kind of file.
    public let kind: Kind

    init(_ info: stat) {
        size = Int(info.st_size)
        permissions = UInt32(info.st_mode) & 0o7777
        switch UInt32(info.st_mode) & UInt32(S_IFMT) {
        case UInt32(S_IFREG): kind = .regular
        case UInt32(S_IFDIR): kind = .directory
        case UInt32(S_IFLNK): kind = .symbolicLink
        default: kind = .other
        }
    }
}

extension File {
    /// The directory for temporary files: `$TMPDIR`, or `/tmp`.
    public static var temporaryDirectory: String {
        if let value = getenv("TMPDIR"), value.pointee != 0 { return String(cString: value) }
        return "/tmp"
    }

    /// What `stat(2)` reports for `path`, following symbolic links.
    ///
    /// - Throws: `FileError` with operation `stat`.
    public static func status(at path: String) throws(FileError) -> FileStatus {
        try checkPath(path, "stat")
        var info = stat()
        _ = try systemCall("stat", path) { stat(path, &info) }
        return FileStatus(info)
    }

    /// Creates a directory, as `mkdir(2)`.
    ///
    /// - Parameter permissions: its mode before the umask; `0o755` by default.
    /// - Throws: `FileError` with operation `mkdir` (`EEXIST` if it exists).
    public static func makeDirectory(
        _ path: String, permissions: UInt32 = 0o755
    ) throws(FileError) {
        try checkPath(path, "mkdir")
        _ = try systemCall("mkdir", path) { mkdir(path, permissions) }
    }

    /// Creates a new directory with a unique name, `<prefix><random>`, inside
    /// `parent` (the temporary directory by default), mode 0700, and
    /// returns its path.
    ///
    /// ```swift
    /// let scratch = try File.makeTemporaryDirectory(prefix: "job-")
    /// defer { try? File.removeAll(scratch) }
    /// ```
    ///
    /// - Throws: `FileError` with operation `mkdtemp`.
    public static func makeTemporaryDirectory(
        in parent: String? = nil, prefix: String = "tmp-"
    ) throws(FileError) -> String {
        let template = (parent ?? temporaryDirectory) + "/" + prefix + "XXXXXX"
        try checkPath(template, "mkdtemp")
        var chars = Array(template.utf8CString)
        while true {
            let result = blocking { () -> (made: Bool, code: Int32) in
                chars.withUnsafeMutableBufferPointer { buffer in
                    mkdtemp(buffer.baseAddress!) != nil ? (true, 0) : (false, gr_errno())
                }
            }
            checkPreemption()
            if result.made {
                let bytes = chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                return String(decoding: bytes, as: UTF8.self)
            }
            if result.code == EINTR { continue }
            throw FileError(errno: result.code, operation: "mkdtemp", path: template)
        }
    }

    /// Removes a file, or an empty directory, as Go's `os.Remove`.
    ///
    /// - Throws: `FileError` with operation `remove`.
    public static func remove(_ path: String) throws(FileError) {
        try checkPath(path, "remove")
        let unlinked = attemptRetryingInterrupts { unlink(path) }
        if unlinked.value == 0 { return }
        if unlinked.code == EISDIR || unlinked.code == EPERM {
            let removed = attemptRetryingInterrupts { rmdir(path) }
            if removed.value == 0 { return }
            if removed.code != ENOTDIR {
                throw FileError(errno: removed.code, operation: "remove", path: path)
            }
        }
        throw FileError(errno: unlinked.code, operation: "remove", path: path)
    }

    /// Removes `path` and, if it is a directory, everything inside it, as
    /// Go's `os.RemoveAll`. A path that does not exist is not an error.
    /// Entries that appear while it runs (other goroutines still writing)
    /// are removed on a later pass.
    ///
    /// - Throws: `FileError` from `stat`, `readdir` or `remove`.
    public static func removeAll(_ path: String) throws(FileError) {
        try checkPath(path, "remove")
        var info = stat()
        let looked = attemptRetryingInterrupts { lstat(path, &info) }
        if looked.value < 0 {
            if looked.code == ENOENT { return }
            throw FileError(errno: looked.code, operation: "stat", path: path)
        }
        if FileStatus(info).kind != .directory {
            let unlinked = attemptRetryingInterrupts { unlink(path) }
            if unlinked.value < 0 && unlinked.code != ENOENT {
                throw FileError(errno: unlinked.code, operation: "remove", path: path)
            }
            return
        }
        var pass = 0
        while true {
            let names: [String]
            do throws(FileError) {
                names = try contentsOfDirectory(path)
            } catch {
                if error.errno == ENOENT { return }
                throw error
            }
            for name in names { try removeAll(path + "/" + name) }
            let removed = attemptRetryingInterrupts { rmdir(path) }
            if removed.value == 0 || removed.code == ENOENT { return }
            pass += 1
            if removed.code != ENOTEMPTY || pass >= 16 {
                throw FileError(errno: removed.code, operation: "remove", path: path)
            }
        }
    }

    /// The names in the directory at `path`, without `.` and `..`, in the
    /// order the file system lists them.
    ///
    /// - Throws: `FileError` with operation `open` or `readdir`.
    public static func contentsOfDirectory(_ path: String) throws(FileError) -> [String] {
        try checkPath(path, "open")
        var directory: OpaquePointer? = nil
        while directory == nil {
            let result = blocking { () -> (OpaquePointer?, Int32) in
                let handle = opendir(path)
                return (handle, handle == nil ? gr_errno() : 0)
            }
            checkPreemption()
            directory = result.0
            if directory == nil && result.1 != EINTR {
                throw FileError(errno: result.1, operation: "open", path: path)
            }
        }
        let handle = directory!
        defer { _ = attempt { closedir(handle) } }

        // The whole listing is one blocking region: readdir refills its
        // buffer with getdents(2) now and then, and is cheap in between.
        let listing = blocking { () -> (names: [String], code: Int32) in
            var names: [String] = []
            while true {
                gr_set_errno(0)
                guard let entry = readdir(handle) else {
                    return (names, gr_errno())
                }
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name != "." && name != ".." { names.append(name) }
            }
        }
        checkPreemption()
        if listing.code != 0 {
            throw FileError(errno: listing.code, operation: "readdir", path: path)
        }
        return listing.names
    }
}
