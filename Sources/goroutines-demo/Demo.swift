// The demo's entry: parse the command line, then run the chosen experiment
// as the main goroutine under Runtime.main.
//
// Exit statuses: 0 when the experiment behaved as the runtime promises, 1
// when it did not (or an I/O error stopped it), 64 for a bad command line,
// 130 / 143 after SIGINT / SIGTERM.

import Glibc
import Goroutines

enum Demo {
    static func run(_ arguments: [String]) -> Never {
        let options: Options
        do {
            options = try CommandLineParser.parse(arguments)
        } catch {
            try? File.standardError.write(
                "goroutines-demo: \(error.message)\n\n" + CommandLineParser.usage)
            exit(64)
        }
        if options.help {
            try? File.standardOutput.write(CommandLineParser.usage)
            exit(0)
        }

        switch options.experiment {
        case .threadLimit where options.child:
            // Dies at the thread limit; no cleanup to do, so no handler.
            Runtime.main {
                ThreadLimit.child(
                    limit: options.limit,
                    goroutines: options.goroutines ?? ThreadLimit.defaultGoroutines)
            }
        case .deadlock:
            Runtime.main {
                let nobody = Channel<Int>()
                _ = nobody.receive()
            }
        default:
            Interrupts.install()
            Runtime.main { exit(dispatch(options)) }
        }
    }

    /// Runs the experiment; returns the exit status.
    private static func dispatch(_ options: Options) -> Int32 {
        switch options.experiment {
        case nil: return SeedRun.run(options)
        case .quickWrites, .blockingWrites, .foundationWrites:
            return WriteExperiments.run(options.experiment!, options)
        case .threadLimit: return ThreadLimit.parent(options)
        case .lockOSThread: return LockOSThreadExperiment.run(options)
        case .skynet: return Skynet.run(options)
        case .deadlock: return 0
        }
    }
}
