// goroutines-demo: the seed's experiments, runnable. See Demo.swift for the
// entry and `goroutines-demo --help` for the command line.

Demo.run(Array(CommandLine.arguments.dropFirst()))
