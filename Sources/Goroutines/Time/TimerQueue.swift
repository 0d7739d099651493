// The runtime's timers: one binary min-heap ordered by deadline, served by a
// dedicated thread without a P.
//
// A timer either readies a parked goroutine (sleep) or runs a short,
// non-blocking callback (after, Timer, Ticker). The timer thread sleeps on
// a futex until the earliest deadline; inserting an earlier timer bumps the
// futex word to wake it. Insertion and removal are O(log n), so 10^5 pending
// timers cost the scheduler nothing: no machine looks at the heap.
//
// `sleep` inserts its timer and parks with the heap's lock as the commit
// step, so the timer cannot fire before the goroutine is off its stack.

import CGoroutines
import Glibc
import Synchronization

final class TimerNode: @unchecked Sendable {
    // @unchecked: all fields are guarded by TimerQueue.shared.lock.
    enum Action {
        case ready(Goroutine)
        case call(@Sendable () -> Void)
    }

    var when: Int64
    var period: Int64
    var action: Action
    /// Position in the heap, or -1 when not pending.
    var index = -1

    init(when: Int64, period: Int64 = 0, action: Action) {
        self.when = when
        self.period = period
        self.action = action
    }
}

final class TimerQueue: @unchecked Sendable {
    // @unchecked: `heap` and node fields are guarded by `lock`.
    static let shared = TimerQueue()

    let lock = RawLock()
    private var heap: [TimerNode] = []
    /// Bumped whenever the earliest deadline moves earlier.
    private let wakeWord = Atomic<UInt32>(0)
    private let started = Atomic<Bool>(false)

    var pendingCount: Int { lock.withLock { heap.count } }

    func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
        else { return }
        let body: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { _ in
            TimerQueue.shared.run()
            return nil
        }
        if gr_thread_start(body, nil, 256 * 1024) != 0 {
            fatal("runtime: failed to create new OS thread (timers)", "newosproc")
        }
    }

    /// Adds `node`. Caller holds `lock`.
    func insertLocked(_ node: TimerNode) {
        node.index = heap.count
        heap.append(node)
        siftUp(node.index)
        if node.index == 0 {
            wakeWord.add(1, ordering: .releasing)
            futexWake(wakeWord, count: 1)
        }
    }

    /// Removes `node` if pending. Caller holds `lock`. Returns whether it was.
    @discardableResult
    func removeLocked(_ node: TimerNode) -> Bool {
        let i = node.index
        if i < 0 { return false }
        let last = heap.count - 1
        if i != last {
            heap.swapAt(i, last)
            heap[i].index = i
        }
        heap.removeLast()
        node.index = -1
        if i < heap.count {
            siftDown(i)
            siftUp(i)
        }
        return true
    }

    func insert(_ node: TimerNode) { lock.withLock { insertLocked(node) } }

    private func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent].when <= heap[i].when { break }
            heap.swapAt(parent, i)
            heap[parent].index = parent
            heap[i].index = i
            i = parent
        }
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1
            if left >= heap.count { return }
            var child = left
            if left + 1 < heap.count, heap[left + 1].when < heap[left].when { child = left + 1 }
            if heap[i].when <= heap[child].when { return }
            heap.swapAt(i, child)
            heap[i].index = i
            heap[child].index = child
            i = child
        }
    }

    private func run() {
        var due: [TimerNode.Action] = []
        while true {
            let seen = wakeWord.load(ordering: .acquiring)
            let now = monotonicNanos()
            lock.lock()
            while let first = heap.first, first.when <= now {
                removeLocked(first)
                due.append(first.action)
                if first.period > 0 {
                    // A ticker: next deadline on its own grid, skipping missed ones.
                    let missed = (now - first.when) / first.period + 1
                    first.when += missed * first.period
                    insertLocked(first)
                }
            }
            let next = heap.first?.when
            lock.unlock()

            for action in due {
                switch action {
                case .ready(let g): ready(g)
                case .call(let body): body()
                }
            }
            due.removeAll(keepingCapacity: true)

            if let next {
                let wait = next - monotonicNanos()
                if wait > 0 { futexWait(wakeWord, expected: seen, timeoutNanos: wait) }
            } else {
                futexWait(wakeWord, expected: seen)
            }
        }
    }
}

/// Parks the caller for `nanos` nanoseconds on a runtime timer.
func sleepNanos(_ nanos: Int64) {
    if nanos <= 0 {
        yieldGoroutine()
        return
    }
    let g = currentWaiter()
    let queue = TimerQueue.shared
    let node = TimerNode(when: monotonicNanos() + nanos, action: .ready(g))
    queue.lock.lock()
    queue.insertLocked(node)
    park(.sleep, commit: unlockCommit, context: queue.lock.address)
}

extension RawLock {
    /// The lock word's address, the context for `unlockCommit`.
    var address: UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(mutating: word.rawAddress)
    }
}
