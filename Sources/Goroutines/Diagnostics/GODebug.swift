// GODEBUG-style switches, read once at start-up:
//   schedtrace=MS       print a scheduler summary line every MS milliseconds
//   scheddetail=1       with schedtrace, add a line per P and per M
//   sysmonblocking=0    do not watch for unmarked blocking calls
// Unknown keys are ignored, as Go does; malformed values get a warning.

import Glibc

struct GODebug: Sendable {
    static let shared = GODebug(environment: getenv("GODEBUG").map { String(cString: $0) })

    var schedtraceMillis = 0
    var scheddetail = false
    var sysmonBlocking = true

    init(environment: String?) {
        guard let environment, !environment.isEmpty else { return }
        for item in environment.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters()
            let value = parts[1].trimmingCharacters()
            switch key {
            case "schedtrace":
                if let n = Int(value), n >= 0 {
                    schedtraceMillis = n
                } else {
                    warn("goroutines: ignoring GODEBUG schedtrace=\(value): want milliseconds")
                }
            case "scheddetail":
                scheddetail = value == "1"
            case "sysmonblocking":
                if value == "0" || value == "1" {
                    sysmonBlocking = value == "1"
                } else {
                    warn("goroutines: ignoring GODEBUG sysmonblocking=\(value): want 0 or 1")
                }
            default:
                continue
            }
        }
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(self).trimmingWhitespace().description
    }
}
