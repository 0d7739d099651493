// Helpers every benchmark body shares, whatever runtime it exercises: the
// clock, checksums, splitting a range among workers, percentiles, resident
// memory and thread counts read from /proc, and the bare whole-file write
// Swift concurrency's seed experiment repeats.
//
// They are plain synchronous functions with no runtime of their own, so the
// same code serves this package's side and Swift concurrency's, and the
// formulas match the Go side's.

import Glibc

/// Monotonic time in nanoseconds.
@inline(__always)
func nowNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// 1 + 2 + ... + n.
func gauss(_ n: Int) -> Int { n * (n + 1) / 2 }

/// How many of the values 1...n worker `index` of `parts` owns: the values
/// are cut into contiguous ranges whose sizes differ by at most one.
func splitSize(_ n: Int, parts: Int, index: Int) -> Int {
    n / parts + (index < n % parts ? 1 : 0)
}

/// The first value worker `index` of `parts` owns (see `splitSize`).
func splitStart(_ n: Int, parts: Int, index: Int) -> Int {
    var start = 1
    for j in 0..<index { start += splitSize(n, parts: parts, index: j) }
    return start
}

/// Nearest-rank percentile `p` (0...100) of sorted samples.
func percentile(_ sorted: [Int64], _ p: Double) -> Int64 {
    precondition(!sorted.isEmpty, "percentile of no samples")
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// Resident set size of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = readSmallFile("/proc/self/statm") else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The high-water mark of this process's resident memory (VmHWM). It starts
/// afresh at exec, unlike the ru_maxrss a parent reads, which inherits the
/// spawning process's figure as a floor.
func peakResidentBytes() -> Int? {
    guard let text = readSmallFile("/proc/self/status") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
    }
    return nil
}

/// The OS threads of this process: the entries of /proc/self/task.
func processThreadCount() -> Int {
    guard let dir = opendir("/proc/self/task") else { return 0 }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
    }
    return count
}

/// The contents of a small text file, or nil if it cannot be read.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if got < 0, errno == EINTR { continue }
        if got <= 0 { break }
        bytes.append(contentsOf: chunk[0..<got])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The payload of the seed experiment: `size` bytes of a repeating alphabet.
func seedPayload(bytes size: Int) -> [UInt8] {
    (0..<size).map { UInt8(ascii: "a") + UInt8($0 % 26) }
}

/// Writes `payload` to `path` as Go's `os.WriteFile` does: create or
/// truncate, write everything, close. Returns 0 or the failing call's errno.
func writeWholeFile(_ path: String, _ payload: [UInt8]) -> Int32 {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return errno }
    defer { close(fd) }
    var written = 0
    while written < payload.count {
        let n = payload.withUnsafeBytes {
            write(fd, $0.baseAddress! + written, $0.count - written)
        }
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        written += n
    }
    return 0
}

/// Makes a fresh temporary directory, or returns nil.
func makeTemporaryDirectory(prefix: String) -> String? {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(base)/\(prefix)XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { buffer in
        guard mkdtemp(buffer.baseAddress!) != nil else { return nil }
        return String(cString: buffer.baseAddress!)
    }
}

/// Removes the files `w0000.dat`... that the seed experiment left in `dir`,
/// then the directory itself.
func removeSeedDirectory(_ dir: String, files: Int) {
    for w in 0..<files { unlink(seedFilePath(dir, w)) }
    rmdir(dir)
}

/// The file the seed experiment's writer `w` rewrites.
func seedFilePath(_ dir: String, _ w: Int) -> String {
    let digits = String(w)
    return "\(dir)/w\(String(repeating: "0", count: max(0, 4 - digits.count)))\(digits).dat"
}

/// Sleeps the calling OS thread for `nanos` nanoseconds (restarting after
/// signals).
func threadSleep(nanos: Int64) {
    var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
}

/// One nanosleep system call of `nanos` nanoseconds. Unlike `threadSleep`,
/// an interrupted sleep just ends early, as in the Go side's blocker.
func nanosleepOnce(nanos: Int64) {
    var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
    _ = nanosleep(&request, nil)
}
