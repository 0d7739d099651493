// Starting and waiting for copies of this executable: the default run
// starts one per experiment, and thread-limit starts the child that must
// die at the limit. posix_spawn(3) is safe in a process with many threads;
// the spawn and each wait run as blocking regions.

import Glibc
import Goroutines

/// How a child process ended.
enum ChildExit: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    case timedOut

    /// The status a shell would report: the exit code, or 128 + signal.
    var shellStatus: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        case .timedOut: return 128 + SIGKILL
        }
    }

    var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        case .timedOut: return "timed out (killed)"
        }
    }
}

enum ChildProcess {
    /// This executable's path, from /proc/self/exe.
    static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n <= 0 { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts this executable with `arguments`; its stderr goes to the file
    /// `stderrPath` if given. Returns the child's pid.
    static func start(_ arguments: [String], stderrPath: String? = nil) throws(FileError) -> pid_t {
        let executable = ownExecutable()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stderrPath {
            posix_spawn_file_actions_addopen(
                &actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = blocking {
            posix_spawn(&pid, executable, &actions, nil, argv + [nil], environ)
        }
        if code != 0 { throw FileError(errno: code, operation: "posix_spawn", path: executable) }
        Interrupts.child.store(pid, ordering: .releasing)
        return pid
    }

    /// Waits for `pid` to end. With a `timeout`, kills it (SIGKILL) when
    /// the time is up. `whileWaiting` runs about every 5 ms.
    static func wait(
        _ pid: pid_t, timeout: Duration? = nil, whileWaiting: () -> Void = {}
    ) -> ChildExit {
        defer { Interrupts.child.store(0, ordering: .releasing) }
        let start = ContinuousClock.now
        var status: Int32 = 0
        while true {
            let result = blocking { waitpid(pid, &status, WNOHANG) }
            if result == pid { break }
            if result < 0 { return .exited(-1) }
            if let timeout, ContinuousClock.now - start > timeout {
                kill(pid, SIGKILL)
                _ = blocking { waitpid(pid, &status, 0) }
                return .timedOut
            }
            whileWaiting()
            sleep(for: .milliseconds(5))
        }
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(low)
    }

    /// The thread count of process `pid`, from /proc/<pid>/task; 0 once gone.
    static func threadCount(of pid: pid_t) -> Int {
        (try? File.contentsOfDirectory("/proc/\(pid)/task").count) ?? 0
    }
}
