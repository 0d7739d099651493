package main

import (
	"fmt"
	"sync"
	"time"
)

// gauss returns 1 + 2 + ... + n.
func gauss(n int64) int64 { return n * (n + 1) / 2 }

// split cuts the values 1..n into k contiguous ranges whose sizes differ by
// at most one. Range i is [lo[i], hi[i]] inclusive (empty when lo > hi).
func split(n int64, k int) (lo, hi []int64) {
	lo = make([]int64, k)
	hi = make([]int64, k)
	base, extra := n/int64(k), n%int64(k)
	next := int64(1)
	for i := 0; i < k; i++ {
		size := base
		if int64(i) < extra {
			size++
		}
		lo[i], hi[i] = next, next+size-1
		next += size
	}
	return lo, hi
}

// runChanSPSC: one producer sends 1..n through a channel of capacity 128 and
// the main goroutine sums what it receives.
func runChanSPSC(o options, r *report) error {
	n := o.nOr(1_000_000)
	ch := make(chan int64, 128)
	gate := make(chan struct{})
	go func() {
		<-gate
		for v := int64(1); v <= n; v++ {
			ch <- v
		}
	}()

	var sum int64
	start := time.Now()
	close(gate)
	for i := int64(0); i < n; i++ {
		sum += <-ch
	}
	elapsed := time.Since(start)

	if want := gauss(n); sum != want {
		return fmt.Errorf("checksum %d, want %d", sum, want)
	}
	r.setInt("result", sum)
	r.setFloat("ns_per_op", nsPer(elapsed, n))
	return nil
}

// runChanMPMC: four producers share the values 1..n and four consumers drain
// one channel of capacity 128 until it is closed.
func runChanMPMC(o options, r *report) error {
	const producers, consumers = 4, 4
	n := o.nOr(1_000_000)
	ch := make(chan int64, 128)
	gate := make(chan struct{})
	lo, hi := split(n, producers)

	var prodWG, consWG sync.WaitGroup
	partial := make([]int64, consumers)
	prodWG.Add(producers)
	for p := 0; p < producers; p++ {
		go func(from, to int64) {
			defer prodWG.Done()
			<-gate
			for v := from; v <= to; v++ {
				ch <- v
			}
		}(lo[p], hi[p])
	}
	consWG.Add(consumers)
	for c := 0; c < consumers; c++ {
		go func(slot *int64) {
			defer consWG.Done()
			<-gate
			var s int64
			for v := range ch {
				s += v
			}
			*slot = s
		}(&partial[c])
	}

	start := time.Now()
	close(gate)
	prodWG.Wait()
	close(ch)
	consWG.Wait()
	elapsed := time.Since(start)

	var sum int64
	for _, s := range partial {
		sum += s
	}
	if want := gauss(n); sum != want {
		return fmt.Errorf("checksum %d, want %d", sum, want)
	}
	r.setInt("result", sum)
	r.setFloat("ns_per_op", nsPer(elapsed, n))
	return nil
}

// runSelect4: four producers each fill their own channel (capacity 16) with a
// quarter of 1..n; the main goroutine selects across all four until it has
// received n values.
func runSelect4(o options, r *report) error {
	n := o.nOr(1_000_000)
	var chs [4]chan int64
	for i := range chs {
		chs[i] = make(chan int64, 16)
	}
	gate := make(chan struct{})
	lo, hi := split(n, len(chs))
	for i := range chs {
		go func(ch chan<- int64, from, to int64) {
			<-gate
			for v := from; v <= to; v++ {
				ch <- v
			}
		}(chs[i], lo[i], hi[i])
	}

	var sum, got int64
	start := time.Now()
	close(gate)
	for got < n {
		select {
		case v := <-chs[0]:
			sum += v
		case v := <-chs[1]:
			sum += v
		case v := <-chs[2]:
			sum += v
		case v := <-chs[3]:
			sum += v
		}
		got++
	}
	elapsed := time.Since(start)

	if want := gauss(n); sum != want {
		return fmt.Errorf("checksum %d, want %d", sum, want)
	}
	r.setInt("result", sum)
	r.setFloat("ns_per_op", nsPer(elapsed, n))
	return nil
}

// runMutex: eight goroutines share n lock/increment/unlock operations on one
// sync.Mutex.
func runMutex(o options, r *report) error {
	const workers = 8
	n := o.nOr(1_000_000)
	var mu sync.Mutex
	var counter int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	lo, hi := split(n, workers)

	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func(ops int64) {
			defer wg.Done()
			<-gate
			for i := int64(0); i < ops; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}(hi[w] - lo[w] + 1)
	}

	start := time.Now()
	close(gate)
	wg.Wait()
	elapsed := time.Since(start)

	if counter != n {
		return fmt.Errorf("counter %d, want %d", counter, n)
	}
	r.setInt("result", counter)
	r.setFloat("ns_per_op", nsPer(elapsed, n))
	return nil
}
