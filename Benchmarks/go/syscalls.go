package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// percentile returns the nearest-rank p-th percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// runHandoff: with GOMAXPROCS=1, a "blocker" goroutine spends its whole life
// in 50 ms nanosleep system calls, so the only P must be handed off for
// anything else to run. The main goroutine sleeps 1-3 ms between samples
// (its wake-ups therefore land while the blocker is inside the syscall), then
// measures how long a freshly spawned goroutine takes to report back over a
// channel. The lateness of each time.Sleep wake-up is reported as well.
func runHandoff(o options, r *report) error {
	samples := o.nOr(200)
	var stop, inSyscall int32
	blockerStarted := make(chan struct{})
	go func() {
		ts := syscall.Timespec{Nsec: int64(50 * time.Millisecond)}
		close(blockerStarted)
		for atomic.LoadInt32(&stop) == 0 {
			atomic.StoreInt32(&inSyscall, 1)
			_ = syscall.Nanosleep(&ts, nil) // EINTR just ends this round early
			atomic.StoreInt32(&inSyscall, 0)
		}
	}()
	<-blockerStarted
	time.Sleep(5 * time.Millisecond) // let the blocker get into its first syscall

	latencies := make([]time.Duration, 0, samples)
	overshoots := make([]time.Duration, 0, samples)
	var duringSyscall int64
	reply := make(chan time.Duration)
	for i := int64(0); i < samples; i++ {
		pause := time.Millisecond + time.Duration(i%3)*time.Millisecond
		slept := time.Now()
		time.Sleep(pause)
		t0 := time.Now()
		overshoots = append(overshoots, t0.Sub(slept)-pause)
		if atomic.LoadInt32(&inSyscall) == 1 {
			duringSyscall++
		}
		go func() { reply <- time.Since(t0) }()
		latencies = append(latencies, <-reply)
	}
	atomic.StoreInt32(&stop, 1)

	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	sort.Slice(overshoots, func(a, b int) bool { return overshoots[a] < overshoots[b] })
	p50 := percentile(latencies, 50)
	r.setInt("result", int64(len(latencies)))
	r.setFloat("ns_per_op", float64(p50.Nanoseconds()))
	r.setInt("p50_ns", p50.Nanoseconds())
	r.setInt("p99_ns", percentile(latencies, 99).Nanoseconds())
	r.setInt("max_ns", latencies[len(latencies)-1].Nanoseconds())
	r.setInt("wake_late_p50_ns", percentile(overshoots, 50).Nanoseconds())
	r.setInt("wake_late_p99_ns", percentile(overshoots, 99).Nanoseconds())
	r.setInt("samples_in_syscall", duringSyscall)
	return nil
}

// threadCount returns the number of OS threads of this process.
func threadCount() (int, error) {
	dir, err := os.Open("/proc/self/task")
	if err != nil {
		return 0, err
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return 0, err
	}
	return len(names), nil
}

// runSeedThreads: with GOMAXPROCS=2, many goroutines write files as fast as
// they can for a fixed time. Each write that blocks in the kernel pins an OS
// thread, so the runtime keeps creating threads to keep its two Ps busy. A
// sampler polls /proc/self/task every 10 ms and records the peak. --mib 0
// switches to tiny 16-byte files.
func runSeedThreads(o options, r *report) error {
	workers := o.goroutines
	if workers < 0 {
		workers = 200
	}
	if workers == 0 {
		return fmt.Errorf("--goroutines must be positive")
	}
	mib := o.mib
	if mib < 0 {
		mib = 8
	}
	seconds := o.seconds
	if seconds < 0 {
		seconds = 3
	}
	if seconds == 0 {
		return fmt.Errorf("--seconds must be positive")
	}

	size := 16
	if mib > 0 {
		size = mib << 20
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}

	dir, err := os.MkdirTemp("", "gobench-seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	threadsBefore, err := threadCount()
	if err != nil {
		return err
	}

	// Sampler.
	var peak int64 = int64(threadsBefore)
	observe := func() {
		if n, err := threadCount(); err == nil && int64(n) > peak {
			peak = int64(n)
		}
	}
	samplerStop := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-samplerStop:
				observe()
				return
			case <-tick.C:
				observe()
			}
		}
	}()

	// Writers.
	var stop int32
	var files int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	wg.Add(workers)
	start := time.Now()
	for w := 0; w < workers; w++ {
		path := filepath.Join(dir, fmt.Sprintf("w%04d.dat", w))
		go func() {
			defer wg.Done()
			for atomic.LoadInt32(&stop) == 0 {
				if err := os.WriteFile(path, payload, 0o600); err != nil {
					errOnce.Do(func() { firstErr = err })
					atomic.StoreInt32(&stop, 1)
					return
				}
				atomic.AddInt64(&files, 1)
			}
		}()
	}
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	elapsed := time.Since(start)
	close(samplerStop)
	<-samplerDone

	if firstErr != nil {
		return firstErr
	}
	if files == 0 {
		return fmt.Errorf("no files were written")
	}
	r.setInt("result", files)
	r.setFloat("ns_per_op", 0)
	r.setInt("peak_threads", peak)
	r.setInt("threads_before", int64(threadsBefore))
	r.setFloat("elapsed_ms", float64(elapsed.Nanoseconds())/1e6)
	r.setFloat("mib_per_s", float64(files)*float64(size)/float64(1<<20)/elapsed.Seconds())
	return nil
}
