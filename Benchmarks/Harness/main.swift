// goroutines-bench: this package, Go and Swift concurrency, side by side.
// The work happens in Harness.swift; top-level code stays minimal because
// closures formed here would be main-actor isolated.

Harness.main(CommandLine.arguments)
