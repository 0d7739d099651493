// Goroutine dumps: every goroutine with its state, wait reason and creation
// site (none for the main goroutine), in Go's shape. SIGQUIT prints one and
// the process goes on; the deadlock detector prints one before it exits.

import CGoroutines
import Glibc

enum GoroutineDump {
    /// Installs the SIGQUIT handler (once, when the scheduler starts).
    static func installSignalHandler() {
        gr_install_sigquit(dumpOnSignal)
    }

    /// Threads the dump machinery runs (the SIGQUIT waiter).
    static let signalThreads = 1

    /// The dump text: a block per goroutine that has not finished.
    static func text(now: Int64 = coarseNanos()) -> String {
        var out = ""
        for g in Registry.shared.snapshot() {
            let status = g.currentStatus
            if status == .idle || status == .dead { continue }
            if g.isExternal && status != .waiting { continue }
            var state: String
            switch status {
            case .runnable: state = "runnable"
            case .running: state = "running"
            case .blocking: state = "syscall"
            default: state = g.waitReason.text
            }
            // As in Go: the wait shows from one minute on, always "minutes",
            // and not at all when its start is unknown.
            var since: Int64? = nil
            if status == .waiting { since = g.waitSince }
            if status == .blocking { since = BlockingRegion.start(of: g) }
            if let since, since > 0 {
                let minutes = (now - since) / 60_000_000_000
                if minutes >= 1 { state += ", \(minutes) minutes" }
            }
            if g.lockedMachine != nil { state += ", locked to thread" }
            if g.isExternal {
                out += "thread \(-g.id) [\(state)]:\n\t(a plain thread blocked in the runtime)\n\n"
                continue
            }
            out += "goroutine \(g.id) [\(state)]:\n"
            if !g.isMain {
                out += "\tcreated by goroutine \(g.parentID) at \(g.createdFile):\(g.createdLine)\n"
            }
            out += "\n"
        }
        return out
    }
}

private let dumpOnSignal: @convention(c) () -> Void = {
    writeStderr("SIGQUIT: goroutine dump\n\n" + GoroutineDump.text())
}
