// The one way the runtime dies, and the one way it warns.
//
// Fatal errors print Go-shaped lines to stderr and exit with status 2, the
// status Go uses for runtime failures. Warnings are one line each.

import CGoroutines
import Glibc
import Synchronization

/// Set by the first fatal error or panic.
private let dying = Atomic<Bool>(false)

/// Prints `lines` to stderr, each on its own line, then `fatal error: <reason>`,
/// and exits with status 2.
func fatal(_ lines: String..., reason: String? = nil) -> Never {
    // Only the first fatal error speaks; any racing one waits for the exit.
    if dying.exchange(true, ordering: .acquiringAndReleasing) {
        while true { pause() }
    }
    var text = ""
    if let reason {
        for line in lines { text += line + "\n" }
        text += "fatal error: \(reason)\n"
    } else if let last = lines.last {
        for line in lines.dropLast() { text += line + "\n" }
        text += "fatal error: \(last)\n"
    }
    flushStandardOutput()
    writeStderr(text)
    _exit(2)
}

/// Go's "panic" for misuse that Go makes unrecoverable: `panic: <message>`,
/// then exit status 2.
func goPanic(_ message: String) -> Never {
    if dying.exchange(true, ordering: .acquiringAndReleasing) {
        while true { pause() }
    }
    flushStandardOutput()
    writeStderr("panic: \(message)\n\ngoroutine \(currentGoroutineID()) [running]:\n")
    _exit(2)
}

/// Writes out what `print` has buffered, so a program's output up to a fatal
/// error is not lost when stdout is a pipe or a file. Skipped if another
/// thread is inside a stdio call on stdout: waiting for it could hang.
func flushStandardOutput() {
    gr_flush_stdout()
}

/// Checks a caller's argument. When `condition` is false, stops the process
/// with `Fatal error: <message>` on stderr, in every build: Swift's own
/// `precondition` drops its message under -O, and misuse must say what was
/// wrong in a release build too.
@inline(__always)
func require(
    _ condition: Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition) { misuse(message(), file: file, line: line) }
}

/// Stops the process for a misused API, with `message`, in every build.
@inline(never)
func misuse(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    flushStandardOutput()
    fatalError(message, file: file, line: line)
}

/// Prints one warning line to stderr.
func warn(_ line: String) {
    writeStderr(line + "\n")
}

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(2, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return
            }
            offset += n
        }
    }
}

func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// Reads a small text file (a /proc or /sys entry) whole.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension String {
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return s
    }
}
