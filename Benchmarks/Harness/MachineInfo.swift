// The header every report carries: which machine and which toolchains the
// figures come from. Benchmarks mean little without it.

import Glibc
import Goroutines

struct MachineInfo {
    var cpuModel = "unknown CPU"
    var onlineCPUs = 0
    var usableCPUs = 0
    var kernel = "unknown kernel"
    var swiftVersion = ""
    var goVersion = "not run"
    var buildConfiguration = ""
    var date = ""

    static func current() -> MachineInfo {
        var info = MachineInfo()
        if let cpuinfo = readSmallFile("/proc/cpuinfo") {
            for line in cpuinfo.split(separator: "\n") where line.hasPrefix("model name") {
                if let colon = line.firstIndex(of: ":") {
                    info.cpuModel = line[line.index(after: colon)...]
                        .trimmed(of: " \t")
                }
                break
            }
        }
        info.onlineCPUs = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        info.usableCPUs = Runtime.numCPU
        var names = utsname()
        if uname(&names) == 0 {
            let field = { (raw: UnsafeRawPointer) in
                String(cString: raw.assumingMemoryBound(to: CChar.self))
            }
            let sys = withUnsafeBytes(of: &names.sysname) { field($0.baseAddress!) }
            let release = withUnsafeBytes(of: &names.release) { field($0.baseAddress!) }
            let machine = withUnsafeBytes(of: &names.machine) { field($0.baseAddress!) }
            info.kernel = "\(sys) \(release) \(machine)"
        }
        info.swiftVersion = swiftToolchainVersion()
        #if DEBUG
            info.buildConfiguration = "debug build (figures are NOT representative)"
        #else
            info.buildConfiguration = "release build"
        #endif
        info.date = utcTimestamp()
        return info
    }

    /// The lines of the header.
    var lines: [String] {
        [
            "date:    \(date)",
            "machine: \(cpuModel), \(onlineCPUs) CPUs online, \(usableCPUs) usable; \(kernel)",
            "swift:   \(swiftVersion); harness: \(buildConfiguration)",
            "go:      \(goVersion)",
        ]
    }

    /// `swift --version`'s first line, or the compiler version this harness
    /// was built with.
    private static func swiftToolchainVersion() -> String {
        let outcome = runChild("swift", ["--version"], timeoutSeconds: 30)
        if outcome.succeeded {
            let text = outcome.stdout.isEmpty ? outcome.stderr : outcome.stdout
            if let first = text.split(separator: "\n").first { return String(first) }
        }
        #if compiler(>=6.4)
            return "compiled with Swift 6.4 or later"
        #elseif compiler(>=6.3)
            return "compiled with Swift 6.3"
        #else
            return "compiled with Swift older than 6.3"
        #endif
    }

    /// Now, as `YYYY-MM-DD HH:MM UTC`.
    private static func utcTimestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)) UTC"
    }
}

extension Substring {
    /// The substring without leading and trailing characters from `set`.
    func trimmed(of set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
