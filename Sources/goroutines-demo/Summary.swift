// The one-line summaries that end every experiment, e.g.
//   blocking-writes goroutines=200 gomaxprocs=2 mib=8 peak_threads=204
// printed on stdout and, for the default run's children, appended to the
// file the parent named with --summary-file.

import Glibc
import Goroutines

enum Summary {
    /// Prints `line` and appends it to the summary file, if any.
    static func emit(_ line: String, options: Options) {
        Console.say(line)
        guard let path = options.summaryFile else { return }
        do {
            let file = try File.open(path, [.write, .create, .append])
            try file.write(line + "\n")
            try file.close()
        } catch {
            Console.complain("goroutines-demo: cannot record the summary: \(error)")
        }
    }
}
