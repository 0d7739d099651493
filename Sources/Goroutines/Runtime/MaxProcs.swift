// The default GOMAXPROCS: the CPUs this process may run on, capped by a
// cgroup v2 CPU quota, and overridden by the GOMAXPROCS variable.

import CGoroutines
import Glibc

enum MaxProcs {
    /// The CPUs in the process's affinity mask.
    static func affinityCPUs() -> Int {
        let count = Int(gr_affinity_cpus())
        if count > 0 { return count }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// The cgroup v2 `cpu.max` quota in CPUs, rounded up and at least 2, or
    /// nil when there is no quota.
    static func cgroupLimit() -> Int? {
        guard let membership = readSmallFile("/proc/self/cgroup") else { return nil }
        // cgroup v2 has a single line "0::/path".
        guard let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") })
        else { return nil }
        let path = String(line.dropFirst(3))
        var directory = "/sys/fs/cgroup" + (path == "/" ? "" : path)
        var best: Int? = nil
        // A quota anywhere up the tree applies; take the tightest.
        while true {
            if let text = readSmallFile(directory + "/cpu.max") {
                let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
                if fields.count >= 2, fields[0] != "max", let quota = Double(fields[0]),
                    let period = Double(fields[1]), period > 0, quota > 0
                {
                    let cpus = max(2, Int((quota / period).rounded(.up)))
                    best = min(best ?? cpus, cpus)
                }
            }
            if directory == "/sys/fs/cgroup" { break }
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
            if directory.count < "/sys/fs/cgroup".count { break }
        }
        return best
    }

    static func defaultValue() -> Int {
        var n = affinityCPUs()
        if let limit = cgroupLimit() { n = min(n, limit) }
        return min(max(1, n), Scheduler.maxProcessors)
    }

    /// The value at start-up: GOMAXPROCS if well-formed, else the default.
    static func initial() -> Int {
        let fallback = defaultValue()
        guard let raw = getenv("GOMAXPROCS") else { return fallback }
        let text = String(cString: raw)
        if text.isEmpty { return fallback }
        if let n = Int(text.trimmingWhitespace()), n > 0 {
            return min(n, Scheduler.maxProcessors)
        }
        warn(
            "goroutines: ignoring GOMAXPROCS=\(text): want a positive integer; "
                + "using \(fallback)")
        return fallback
    }
}
