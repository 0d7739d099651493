// The one error type of the file layer: which call failed, on which path,
// and the errno the kernel gave. Failures are values, never crashes.

import Glibc

/// A failed file operation: the call, the path it named, and the `errno`
/// the kernel returned.
///
/// ```swift
/// do {
///     _ = try readFile("/no/such/file")
/// } catch {
///     print(error)  // open /no/such/file: No such file or directory (errno 2)
///     print(error.errno == ENOENT)  // true
/// }
/// ```
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error number the failing call left in `errno` (`ENOENT`, `EACCES`, ...).
    public let errno: Int32
    /// The name of the failed call: `open`, `read`, `write`, `sync`, `close`,
    /// `stat`, `remove`, `mkdir`, `readdir` or `mkdtemp`.
    public let operation: String
    /// The path the call named; for a file opened by descriptor, its name.
    public let path: String

    /// Makes an error for `operation` on `path` with error number `errno`.
    public init(errno: Int32, operation: String, path: String) {
        self.errno = errno
        self.operation = operation
        self.path = path
    }

    /// The system's text for `errno`, e.g. "No such file or directory".
    public var message: String {
        guard let text = strerror(errno) else { return "unknown error" }
        return String(cString: text)
    }

    /// `<operation> <path>: <message> (errno <n>)`, in the shape of Go's
    /// path errors.
    public var description: String {
        "\(operation) \(path): \(message) (errno \(errno))"
    }
}
