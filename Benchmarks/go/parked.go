package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// residentBytes reads the resident set size of this process from
// /proc/self/statm (second field, in pages).
func residentBytes() (int64, error) {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 2 {
		return 0, fmt.Errorf("unexpected /proc/self/statm contents %q", raw)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * int64(os.Getpagesize()), nil
}

// peakResidentBytes reads the high-water mark of this process's resident set
// (VmHWM in /proc/self/status). Unlike the ru_maxrss a parent sees, it starts
// afresh at exec, so it is not inflated by the memory of whoever spawned us.
func peakResidentBytes() (int64, error) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "VmHWM:" {
			kib, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kib * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// settle lets the heap and the runtime calm down before an RSS reading.
func settle() {
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
}

// runParked: n goroutines block receiving from one channel that stays silent
// until every one of them is parked. The RSS growth divided by n approximates
// the memory cost of a parked goroutine. Closing the channel releases them.
func runParked(o options, r *report) error {
	n := o.nOr(1_000_000)
	release := make(chan struct{})
	var parked, exited sync.WaitGroup
	var exitCount int64

	settle()
	before, err := residentBytes()
	if err != nil {
		return err
	}

	start := time.Now()
	parked.Add(int(n))
	exited.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			parked.Done()
			<-release
			atomic.AddInt64(&exitCount, 1)
			exited.Done()
		}()
	}
	parked.Wait()
	spawnElapsed := time.Since(start)

	settle()
	after, err := residentBytes()
	if err != nil {
		return err
	}

	close(release)
	exited.Wait()
	if exitCount != n {
		return fmt.Errorf("%d goroutines exited, want %d", exitCount, n)
	}

	spawnNs := nsPer(spawnElapsed, n)
	r.setInt("result", exitCount)
	r.setFloat("ns_per_op", spawnNs)
	r.setInt("rss_per_g_bytes", (after-before)/n)
	r.setFloat("spawn_ns", spawnNs)
	r.setInt("rss_before_bytes", before)
	r.setInt("rss_after_bytes", after)
	return nil
}
