package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// nsPer divides an elapsed duration by an operation count.
func nsPer(d time.Duration, ops int64) float64 {
	return float64(d.Nanoseconds()) / float64(ops)
}

// skynetNode owns the leaves numbered [first, first+count). A single leaf
// reports its own number; any larger range is cut into (at most) ten nearly
// equal slices, each handled by a child goroutine, and the node reports the
// sum of what its children sent back.
func skynetNode(out chan<- int64, first, count int64) {
	if count == 1 {
		out <- first
		return
	}
	const fanout = 10
	children := int64(fanout)
	if count < children {
		children = count
	}
	results := make(chan int64, children)
	base, extra := count/children, count%children
	next := first
	for i := int64(0); i < children; i++ {
		size := base
		if i < extra {
			size++
		}
		go skynetNode(results, next, size)
		next += size
	}
	var sum int64
	for i := int64(0); i < children; i++ {
		sum += <-results
	}
	out <- sum
}

// runSkynet: n leaves numbered 0..n-1 in a 10-ary goroutine tree; the
// checksum is n*(n-1)/2.
func runSkynet(o options, r *report) error {
	n := o.nOr(1_000_000)
	out := make(chan int64, 1)
	start := time.Now()
	go skynetNode(out, 0, n)
	sum := <-out
	elapsed := time.Since(start)

	if want := n * (n - 1) / 2; sum != want {
		return fmt.Errorf("checksum %d, want %d", sum, want)
	}
	r.setInt("result", sum)
	r.setFloat("ns_per_op", nsPer(elapsed, n))
	r.setFloat("ms", float64(elapsed.Nanoseconds())/1e6)
	return nil
}

// runPingPong: the main goroutine and a partner bounce a value across two
// unbuffered channels n times.
func runPingPong(o options, r *report) error {
	n := o.nOr(1_000_000)
	ping := make(chan int64)
	pong := make(chan int64)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()

	var received int64
	start := time.Now()
	for i := int64(0); i < n; i++ {
		ping <- i
		if <-pong == i {
			received++
		}
	}
	elapsed := time.Since(start)
	close(ping)

	if received != n {
		return fmt.Errorf("received %d round trips, want %d", received, n)
	}
	r.setInt("result", received)
	r.setFloat("ns_per_op", nsPer(elapsed, n))
	return nil
}

// runSpawn: start n goroutines that each bump a counter and call wg.Done;
// the timed region ends when the main goroutine's Wait returns.
func runSpawn(o options, r *report) error {
	n := o.nOr(1_000_000)
	var wg sync.WaitGroup
	var count int64

	start := time.Now()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			atomic.AddInt64(&count, 1)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	if count != n {
		return fmt.Errorf("counted %d goroutines, want %d", count, n)
	}
	r.setInt("result", count)
	r.setFloat("ns_per_op", nsPer(elapsed, n))
	return nil
}

// runYield: with GOMAXPROCS=1, two goroutines each call runtime.Gosched n
// times, so control alternates between them.
func runYield(o options, r *report) error {
	n := o.nOr(1_000_000)
	var total int64
	var ready, wg sync.WaitGroup
	startGate := make(chan struct{})

	worker := func() {
		defer wg.Done()
		ready.Done()
		<-startGate
		var mine int64
		for i := int64(0); i < n; i++ {
			runtime.Gosched()
			mine++
		}
		atomic.AddInt64(&total, mine)
	}
	ready.Add(2)
	wg.Add(2)
	go worker()
	go worker()
	ready.Wait()

	start := time.Now()
	close(startGate)
	wg.Wait()
	elapsed := time.Since(start)

	if total != 2*n {
		return fmt.Errorf("counted %d yields, want %d", total, 2*n)
	}
	r.setInt("result", total)
	r.setFloat("ns_per_op", nsPer(elapsed, 2*n))
	return nil
}
