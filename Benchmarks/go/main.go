// Command gobench runs one micro-benchmark of the Go runtime and prints a
// single line of space-separated key=value pairs on stdout. It is the Go
// reference side of the Goroutines benchmark harness; the Swift harness runs
// it as a subprocess and compares the figures with the Swift implementation.
//
// Usage:
//
//	gobench <name> [--n N] [--gomaxprocs P] [--goroutines G] [--mib M] [--seconds S]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// kv is one key=value pair of the output line.
type kv struct {
	key string
	val string
}

// report collects the output pairs of a benchmark in the order they were set.
type report struct {
	pairs []kv
}

func (r *report) setInt(key string, v int64) {
	r.pairs = append(r.pairs, kv{key, strconv.FormatInt(v, 10)})
}

func (r *report) setFloat(key string, v float64) {
	r.pairs = append(r.pairs, kv{key, strconv.FormatFloat(v, 'f', 3, 64)})
}

func (r *report) line() string {
	parts := make([]string, len(r.pairs))
	for i, p := range r.pairs {
		parts[i] = p.key + "=" + p.val
	}
	return strings.Join(parts, " ")
}

// options are the command-line parameters shared by all benchmarks. A value of
// -1 means "not given on the command line".
type options struct {
	n          int64
	gomaxprocs int
	goroutines int
	mib        int
	seconds    float64
}

// nOr returns the --n value, or def when --n was not given.
func (o options) nOr(def int64) int64 {
	if o.n < 0 {
		return def
	}
	return o.n
}

// benchmark describes one named benchmark.
type benchmark struct {
	// run executes the benchmark and fills in the report. It must set
	// "result" and "ns_per_op".
	run func(o options, r *report) error
	// fixedProcs, when non-zero, is the GOMAXPROCS value the benchmark is
	// defined with; --gomaxprocs is ignored for it.
	fixedProcs int
	usage      string
}

var benchmarks = map[string]benchmark{
	"skynet":       {run: runSkynet, usage: "10-ary goroutine tree, --n leaves (default 1000000)"},
	"pingpong":     {run: runPingPong, usage: "unbuffered channel round trips (default 1000000)"},
	"spawn":        {run: runSpawn, usage: "spawn --n goroutines and wait on a WaitGroup (default 1000000)"},
	"yield":        {run: runYield, fixedProcs: 1, usage: "two goroutines alternating runtime.Gosched, --n yields each (default 1000000)"},
	"chan-spsc":    {run: runChanSPSC, usage: "1 producer / 1 consumer, buffered channel cap 128 (default 1000000)"},
	"chan-mpmc":    {run: runChanMPMC, usage: "4 producers / 4 consumers, buffered channel cap 128 (default 1000000)"},
	"select4":      {run: runSelect4, usage: "1 consumer selecting over 4 buffered channels (default 1000000)"},
	"mutex":        {run: runMutex, usage: "8 goroutines contending on one sync.Mutex, --n lock ops total (default 1000000)"},
	"parked":       {run: runParked, usage: "memory per parked goroutine, --n goroutines (default 1000000)"},
	"handoff":      {run: runHandoff, fixedProcs: 1, usage: "wake-up latency while another goroutine blocks in a syscall, --n samples (default 200)"},
	"seed-threads": {run: runSeedThreads, fixedProcs: 2, usage: "peak OS threads under blocking file writes (--goroutines 200 --mib 8 --seconds 3)"},
}

func usage() {
	names := make([]string, 0, len(benchmarks))
	for name := range benchmarks {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintln(os.Stderr, "usage: gobench <name> [--n N] [--gomaxprocs P] [--goroutines G] [--mib M] [--seconds S]")
	fmt.Fprintln(os.Stderr, "benchmarks:")
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  %-13s %s\n", name, benchmarks[name].usage)
	}
}

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	bench, ok := benchmarks[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "gobench: unknown benchmark %q\n", name)
		usage()
		os.Exit(2)
	}

	var o options
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = usage
	fs.Int64Var(&o.n, "n", -1, "problem size (benchmark specific)")
	fs.IntVar(&o.gomaxprocs, "gomaxprocs", -1, "GOMAXPROCS value (default: Go's default)")
	fs.IntVar(&o.goroutines, "goroutines", -1, "seed-threads: number of writer goroutines (default 200)")
	fs.IntVar(&o.mib, "mib", -1, "seed-threads: MiB per file, 0 = tiny 16-byte files (default 8)")
	fs.Float64Var(&o.seconds, "seconds", -1, "seed-threads: duration in seconds (default 3)")
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "gobench: unexpected arguments: %v\n", fs.Args())
		os.Exit(2)
	}
	if o.n == 0 || o.n < -1 {
		fmt.Fprintln(os.Stderr, "gobench: --n must be positive")
		os.Exit(2)
	}

	switch {
	case bench.fixedProcs > 0:
		runtime.GOMAXPROCS(bench.fixedProcs)
	case o.gomaxprocs > 0:
		runtime.GOMAXPROCS(o.gomaxprocs)
	case o.gomaxprocs == 0 || o.gomaxprocs < -1:
		fmt.Fprintln(os.Stderr, "gobench: --gomaxprocs must be positive")
		os.Exit(2)
	}

	var r report
	if err := bench.run(o, &r); err != nil {
		fmt.Fprintf(os.Stderr, "gobench %s: %v\n", name, err)
		os.Exit(1)
	}
	r.setInt("gomaxprocs", int64(runtime.GOMAXPROCS(0)))
	if peak, err := peakResidentBytes(); err == nil {
		r.setInt("peak_rss_bytes", peak)
	}
	fmt.Println(r.line())
}
