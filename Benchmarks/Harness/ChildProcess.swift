// Running one child process: the harness itself (`run-one`), the Go binary,
// or a tool (`go build`, `swift --version`).
//
// The child gets its own process group and pipes for stdout and stderr, which
// are drained with poll(2) until both close or the deadline passes; past it
// the whole group is killed. wait4(2) then gives the exit status and
// ru_maxrss. That figure is only a fallback for peak memory: Linux carries
// the spawning process's peak over into the child, so it never reads below
// the harness's own size. Children report their VmHWM instead.

import Glibc

/// How a child process ended, and what it printed.
struct ChildOutcome {
    /// The exit status, or nil if a signal ended the child.
    var exitStatus: Int32?
    /// The signal that ended the child, if any.
    var signal: Int32?
    var stdout = ""
    var stderr = ""
    /// Peak resident memory of the child, in bytes.
    var maxRSSBytes = 0
    var timedOut = false
    var wallNanos: Int64 = 0

    var succeeded: Bool { exitStatus == 0 && !timedOut }

    /// One phrase for a failed run: the status, signal or timeout, and the
    /// last line of stderr.
    var failureSummary: String {
        var why: String
        if timedOut {
            why = "timed out"
        } else if let signal {
            why = "killed by signal \(signal)"
        } else {
            why = "exit status \(exitStatus ?? -1)"
        }
        let lastLine = stderr.split(separator: "\n").last.map(String.init) ?? ""
        if !lastLine.isEmpty { why += ": " + lastLine }
        return why
    }
}

/// Runs `program` (a path, or a name looked up in PATH) with `arguments`,
/// and waits for it at most `timeoutSeconds`.
func runChild(
    _ program: String, _ arguments: [String], timeoutSeconds: Double = 600,
    workingDirectory: String? = nil
) -> ChildOutcome {
    var outcome = ChildOutcome()
    var outPipe: [Int32] = [-1, -1]
    var errPipe: [Int32] = [-1, -1]
    guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
        outcome.exitStatus = 127
        outcome.stderr = "pipe: \(String(cString: strerror(errno)))"
        return outcome
    }
    // The harness is single-threaded, so no other spawn can inherit these
    // descriptors before they are marked close-on-exec.
    for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)

    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { for arg in argv { free(arg) } }
    let envp = currentEnvironment().map { strdup($0) } + [nil]
    defer { for entry in envp { free(entry) } }

    // The child starts in `workingDirectory`: this single-threaded process
    // moves there for the spawn and comes back.
    var previousDirectory = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    if workingDirectory != nil { _ = getcwd(&previousDirectory, previousDirectory.count) }
    if let workingDirectory { _ = chdir(workingDirectory) }
    let start = nowNanos()
    var pid: pid_t = 0
    let spawned = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
    if workingDirectory != nil { _ = chdir(previousDirectory) }
    close(outPipe[1])
    close(errPipe[1])
    guard spawned == 0 else {
        close(outPipe[0])
        close(errPipe[0])
        outcome.exitStatus = 127
        outcome.stderr = "cannot run \(program): \(String(cString: strerror(spawned)))"
        return outcome
    }

    let deadline = start + Int64(timeoutSeconds * 1e9)
    var out: [UInt8] = []
    var err: [UInt8] = []
    drain(outPipe[0], errPipe[0], into: &out, &err, deadline: deadline) {
        outcome.timedOut = true
        kill(-pid, SIGKILL)
    }
    close(outPipe[0])
    close(errPipe[0])

    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
    outcome.wallNanos = nowNanos() - start
    outcome.maxRSSBytes = Int(usage.ru_maxrss) * 1024
    if status & 0x7f == 0 {
        outcome.exitStatus = (status >> 8) & 0xff
    } else {
        outcome.signal = status & 0x7f
    }
    outcome.stdout = String(decoding: out, as: UTF8.self)
    outcome.stderr = String(decoding: err, as: UTF8.self)
    return outcome
}

/// Reads both pipes until they close. Past `deadline`, calls `expire` once
/// (which kills the writer) and keeps draining what is left.
private func drain(
    _ outFD: Int32, _ errFD: Int32, into out: inout [UInt8], _ err: inout [UInt8],
    deadline: Int64, expire: () -> Void
) {
    var fds = [
        pollfd(fd: outFD, events: Int16(POLLIN), revents: 0),
        pollfd(fd: errFD, events: Int16(POLLIN), revents: 0),
    ]
    var open = 2
    var expired = false
    var chunk = [UInt8](repeating: 0, count: 65536)
    while open > 0 {
        let left = deadline - nowNanos()
        if left <= 0, !expired {
            expired = true
            expire()
        }
        let waitMillis = expired ? 1000 : Int32(min(left / 1_000_000 + 1, 1000))
        let ready = poll(&fds, 2, waitMillis)
        if ready < 0, errno != EINTR { break }
        for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
            let got = chunk.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
            if got > 0 {
                if i == 0 {
                    out.append(contentsOf: chunk[0..<got])
                } else {
                    err.append(contentsOf: chunk[0..<got])
                }
            } else if got == 0 || errno != EINTR {
                fds[i].fd = -1
                open -= 1
            }
        }
    }
}

/// This process's environment, as `NAME=value` strings.
func currentEnvironment() -> [String] {
    guard let text = readSmallFile("/proc/self/environ") else { return [] }
    return text.split(separator: "\0").map(String.init)
}

/// The absolute path of the running executable.
func currentExecutablePath() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return CommandLine.arguments[0] }
    return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The full path of `name` found in PATH, or nil.
func findInPath(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") where !dir.isEmpty {
        let candidate = "\(dir)/\(name)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// Writes `text` to a file descriptor, whole.
func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// Writes one line to stderr.
func note(_ line: String) { writeAll(2, line + "\n") }
