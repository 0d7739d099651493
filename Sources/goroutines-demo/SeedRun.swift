// The default run: the seed's five experiments one after another, each in a
// child process of its own, so that no experiment inherits threads another
// one made (idle threads linger for the keep-alive time). The children share
// this terminal, so their reports and live lines show as they run; each also
// appends its summary line to a file, which the parent prints at the end.

import Glibc
import Goroutines

enum SeedRun {
    static func run(_ options: Options) -> Int32 {
        let start = ContinuousClock.now
        let parent = options.dir ?? File.temporaryDirectory
        let (needed, reason) = WriteExperiments.roomNeeded(.blockingWrites, options)
        guard Scratch.checkRoom(in: parent, needed: needed, for: "the run", because: reason)
        else { return 1 }
        let directory: String
        do {
            directory = try Scratch.make(in: parent, label: "run")
        } catch {
            Console.complain("goroutines-demo: cannot make a temporary directory: \(error)")
            return 1
        }
        let summaryPath = directory + "/summary"

        Console.say("goroutines-demo: the seed's experiments, each in a process of its own")
        var failures: [String] = []
        for experiment in Experiment.seedRun {
            Interrupts.checkpoint()
            Console.say()
            do {
                let pid = try ChildProcess.start(
                    childArguments(experiment, options, directory: directory, summary: summaryPath))
                let exit = ChildProcess.wait(pid)
                Interrupts.checkpoint()
                if exit != .exited(0) {
                    failures.append("\(experiment.rawValue): \(exit)")
                }
            } catch {
                failures.append("\(experiment.rawValue) did not start: \(error)")
            }
        }

        let summary = (try? readFile(summaryPath)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        Scratch.removeCurrent()
        Console.say()
        for failure in failures { Console.complain("goroutines-demo: \(failure)") }
        let wall = Format.fixed(Format.seconds(since: start), 1)
        Console.say("== summary (wall time \(wall) s)")
        for line in summary.split(separator: "\n") { Console.say(String(line)) }
        return failures.isEmpty ? 0 : 1
    }

    /// A child's command line: the experiment, the flags the user gave, and
    /// where to put its files and its summary line.
    static func childArguments(
        _ experiment: Experiment, _ options: Options, directory: String, summary: String
    ) -> [String] {
        var arguments = [experiment.rawValue, "--summary-file", summary]
        // quick-writes picks its own default place (a memory file system)
        // unless the user named one; it cleans up after itself either way.
        if experiment != .quickWrites || options.dir != nil {
            arguments += ["--dir", directory]
        }
        // --goroutines counts writers and wired goroutines; thread-limit
        // keeps its own default, which the command line checked against
        // --limit.
        if let goroutines = options.goroutines, experiment != .threadLimit {
            arguments += ["--goroutines", "\(goroutines)"]
        }
        if let procs = options.gomaxprocs { arguments += ["--gomaxprocs", "\(procs)"] }
        arguments += ["--mib", "\(options.mib)", "--seconds", "\(options.seconds)"]
        arguments += ["--limit", "\(options.limit)"]
        return arguments
    }
}
