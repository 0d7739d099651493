// Ctrl-C and SIGTERM: remove the temporary directory, then exit with
// 128 + the signal number (130 and 143), as shells report.
//
// The handler itself does only what is safe in a signal handler: it stores
// into atomics and forwards the signal to the running child process with
// kill(2). The cleanup happens in ordinary code that polls `checkpoint()`:
// the thread monitor every few milliseconds, and the main flow between
// steps. A third signal exits at once, for the case where nothing polls.

import Glibc
import Goroutines
import Synchronization

enum Interrupts {
    /// The first signal received, or 0.
    static let pending = Atomic<Int32>(0)
    /// How many signals arrived.
    static let count = Atomic<Int>(0)
    /// A child process that should receive the signal too, or 0.
    static let child = Atomic<Int32>(0)

    /// Installs the SIGINT and SIGTERM handler.
    static func install() {
        // Touch the atomics now: a static's first use runs a lazy
        // initializer, which a signal handler must never do.
        _ = pending.load(ordering: .relaxed)
        _ = count.load(ordering: .relaxed)
        _ = child.load(ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handleSignal
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A parent may have started us with these signals blocked; threads
        // the runtime starts later inherit this thread's mask.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    /// If a signal arrived: removes the temporary directory and exits.
    static func checkpoint() {
        let signal = pending.load(ordering: .acquiring)
        if signal == 0 { return }
        let removed = Scratch.removeCurrent()
        Console.complain(
            "goroutines-demo: interrupted by \(signal == SIGINT ? "SIGINT" : "SIGTERM")"
                + (removed.map { "; removed \($0)" } ?? ""))
        exit(128 + signal)
    }
}

private let handleSignal: @convention(c) (Int32) -> Void = { signal in
    _ = Interrupts.pending.compareExchange(expected: 0, desired: signal, ordering: .releasing)
    let child = Interrupts.child.load(ordering: .acquiring)
    if child > 0 { kill(child, signal) }
    if Interrupts.count.add(1, ordering: .relaxed).newValue >= 3 { _exit(128 + signal) }
}
