// The scheduler: Go's G/M/P model.
//
// Glossary
//   G  Goroutine  a stackful coroutine (Goroutine.swift)
//   M  Machine    an OS thread; its own stack, g0, runs this file's loop
//   P  Processor  a token that lets an M run goroutine code; GOMAXPROCS exist
//
// Protocol
// - An M runs goroutines only while it holds a P. `findRunnable` looks, in
//   order, at runnext and the local queue (the global queue first every 61st
//   round, counting rounds that inherit a time slice too: fairness, and
//   timers, whose thread readies sleepers onto the global queue, stay
//   prompt under a runnext ping-pong), then the global queue, then steals
//   half of another P's queue (four passes over the Ps in random order), and
//   finally gives its P back and sleeps on its note.
// - Park and ready. A goroutine parks by recording a commit step on its M and
//   switching to g0; g0 marks it waiting and runs the commit (typically:
//   unlock the channel whose queue now lists it). Whoever dequeues it later
//   calls `ready`, which puts it on a run queue. Because the commit runs only
//   after the switch, no thread can resume a goroutine whose stack is still
//   in use, and since the waiter becomes visible only at commit, each park
//   meets exactly one ready.
// - Spinning. An M with a P and no work "spins" (steals) for a while. At most
//   half the busy Ps have a spinning M. `wakep` starts a spinning M only when
//   a P is idle and none spins, so readying work never strands it: either a
//   spinner will find it, or the last spinner to stop re-checks every queue
//   after it has stopped counting itself as spinning.
// - The P's ownership word (Processor.swift) lets sysmon take a P from a
//   machine stuck in a blocking call; the machine notices when it next enters
//   the runtime.
//
// Rejected alternative: one lock-protected global queue. It is simple, but
// every spawn and wake-up then contends on one cache line; Go's per-P rings
// with stealing scale, and keep a woken receiver on its sender's P.

import CGoroutines
import Glibc
import Synchronization

final class Scheduler: @unchecked Sendable {
    // @unchecked: fields marked "guarded by lock" are touched only with
    // `lock` held; the rest are atomics or written once during init.

    static let shared = Scheduler()
    static let maxProcessors = 1024

    let lock = RawLock()

    // Global run queue; guarded by lock. `globalCount` is written only under
    // lock, and also read without it.
    @exclusivity(unchecked) private var globalHead = Unretained<Goroutine>(nil)
    @exclusivity(unchecked) private var globalTail = Unretained<Goroutine>(nil)
    let globalCount = Atomic<Int>(0)
    /// Times a spawner yielded to back-pressure (see `spawn`).
    let backPressureYields = Atomic<Int>(0)
    /// Set when a held-back spawner waits at the global queue's front: every
    /// P then looks at the global queue at its next round, not within 61.
    let frontWaiting = Atomic<Bool>(false)

    /// Every P ever made, by id; slots below `processorCount` are set.
    let processors: UnsafeMutablePointer<Processor?>
    let processorCount = Atomic<Int>(0)
    let maxProcs = Atomic<Int>(1)
    /// Guarded by lock.
    @exclusivity(unchecked) private unowned(unsafe) var idleProcessors: Processor?
    let idleProcessorCount = Atomic<Int>(0)

    /// Live machines; guarded by lock. Holds the strong references.
    @exclusivity(unchecked) private var machines: [Machine] = []
    /// Guarded by lock.
    @exclusivity(unchecked) private unowned(unsafe) var idleMachines: Machine?
    @exclusivity(unchecked) private(set) var idleMachineCount = 0  // guarded by lock
    @exclusivity(unchecked) private var nextMachineID = 1  // guarded by lock
    let machineCount = Atomic<Int>(0)
    let spinningCount = Atomic<Int>(0)

    /// Free goroutine records beyond the per-P caches, most recent first;
    /// guarded by lock. Free records hold no stacks (see Stack.swift).
    @exclusivity(unchecked) private var freeGoroutines = GoroutineList()
    /// Goroutines started minus finished on a thread without a P; those
    /// counted on Ps are in each P's `startedCount` and `finishedCount`.
    let liveGoroutines = Atomic<Int>(0)

    /// Goroutines started and not yet finished. Exact when nothing spawns or
    /// exits meanwhile; never below zero.
    var goroutineCount: Int {
        // Finished counts are read first (acquiring, paired with the owners'
        // releasing stores): a goroutine whose exit is counted has had its
        // start counted before, so a concurrent exit cannot make the sum
        // fall below the truth by more than the spawns in flight.
        let count = processorCount.load(ordering: .acquiring)
        var finished = 0
        for i in 0..<count { finished += processors[i]!.finishedCount.load(ordering: .acquiring) }
        var started = 0
        for i in 0..<count { started += processors[i]!.startedCount.load(ordering: .acquiring) }
        return max(0, started - finished + liveGoroutines.load(ordering: .acquiring))
    }

    let threadLimit = Atomic<Int>(10_000)
    /// How long a machine beyond GOMAXPROCS may idle before its thread exits.
    let keepAliveNanos = Atomic<Int64>(10_000_000_000)
    /// Opt-in: wait for a thread slot instead of dying at the limit.
    let waitForThreadSlot = Atomic<Bool>(false)
    /// Set once `Runtime.main` runs the main goroutine.
    let mainStarted = Atomic<Bool>(false)

    private init() {
        processors = .allocate(capacity: Scheduler.maxProcessors)
        processors.initialize(repeating: nil, count: Scheduler.maxProcessors)
        let procs = MaxProcs.initial()
        maxProcs.store(procs, ordering: .releasing)
        for i in 0..<procs { processors[i] = Processor(id: i) }
        processorCount.store(procs, ordering: .releasing)
        lock.withLock {
            for i in (0..<procs).reversed() { putIdleProcessor(processors[i]!) }
        }
        gr_install_overflow_handler()
        GoroutineDump.installSignalHandler()
        Sysmon.start()
    }

    // MARK: Global run queue (callers hold lock unless noted)

    private func globalPutLocked(_ g: Goroutine) {
        let link = Unretained(g)
        g.nextRef = Unretained(nil)
        if globalTail.isNil {
            globalHead = link
        } else {
            globalTail.with { $0.nextRef = link }
        }
        globalTail = link
        // Written only under lock, so a load and a store suffice.
        globalCount.store(globalCount.load(ordering: .relaxed) + 1, ordering: .relaxed)
    }

    /// Queues `g` globally. Takes the lock.
    func globalPut(_ g: Goroutine) {
        lock.withLock { globalPutLocked(g) }
    }

    /// Queues `g` at the front of the global queue, ahead of the backlog: for
    /// a held-back spawner that cannot wait on a P. Takes the lock.
    func globalPutFront(_ g: Goroutine) {
        lock.withLock {
            let link = Unretained(g)
            g.nextRef = globalHead
            globalHead = link
            if globalTail.isNil { globalTail = link }
            // Written only under lock, so a load and a store suffice.
            globalCount.store(globalCount.load(ordering: .relaxed) + 1, ordering: .relaxed)
            frontWaiting.store(true, ordering: .relaxed)
        }
    }

    /// Queues a batch globally. Takes the lock.
    func globalPutBatch(_ batch: [UInt]) {
        lock.withLock {
            for bits in batch {
                globalPutLocked(
                    Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
                        .takeUnretainedValue())
            }
        }
    }

    /// Takes a share of the global queue: one to run, more into `p`'s ring.
    private func globalGetLocked(_ p: Processor, max limit: Int) -> Unmanaged<Goroutine>? {
        let count = globalCount.load(ordering: .relaxed)
        if count == 0 { return nil }
        let procs = max(1, maxProcs.load(ordering: .relaxed))
        var n = min(count, count / procs + 1, Int(Processor.ringSize) / 2)
        if limit > 0 { n = min(n, limit) }
        let first = globalHead
        globalHead = first.with { $0.nextRef }!
        n -= 1
        var taken = 1
        while n > 0, !globalHead.isNil {
            globalHead.with { g in
                globalHead = g.nextRef
                p.put(g, next: false)
            }
            n -= 1
            taken += 1
        }
        if globalHead.isNil { globalTail = Unretained(nil) }
        globalCount.store(count - taken, ordering: .relaxed)
        return first.unmanaged
    }

    // MARK: Idle lists (callers hold lock)

    private func putIdleProcessor(_ p: Processor) {
        p.machine = nil
        if p.id >= maxProcs.load(ordering: .relaxed) {
            p.ownership.store(PState.retired.rawValue, ordering: .releasing)
            return
        }
        p.ownership.store(PState.idle.rawValue, ordering: .releasing)
        p.nextIdle = idleProcessors
        idleProcessors = p
        idleProcessorCount.add(1, ordering: .sequentiallyConsistent)
    }

    private func takeIdleProcessor() -> Processor? {
        guard let p = idleProcessors else { return nil }
        idleProcessors = p.nextIdle
        p.nextIdle = nil
        idleProcessorCount.subtract(1, ordering: .sequentiallyConsistent)
        return p
    }

    private func putIdleMachine(_ m: Machine) {
        m.nextIdle = idleMachines
        idleMachines = m
        m.isIdle = true
        m.idleSince = monotonicNanos()
        idleMachineCount += 1
    }

    private func takeIdleMachine() -> Machine? {
        guard let m = idleMachines else { return nil }
        idleMachines = m.nextIdle
        m.nextIdle = nil
        m.isIdle = false
        idleMachineCount -= 1
        return m
    }

    private func removeIdleMachine(_ m: Machine) {
        var previous: Machine? = nil
        var cursor = idleMachines
        while let c = cursor {
            if c === m {
                if let previous {
                    previous.nextIdle = c.nextIdle
                } else {
                    idleMachines = c.nextIdle
                }
                c.nextIdle = nil
                c.isIdle = false
                idleMachineCount -= 1
                return
            }
            previous = c
            cursor = c.nextIdle
        }
    }

    // MARK: Processor hand-over

    /// Makes `p` the machine's P, in the runtime state.
    func acquire(_ m: Machine, _ p: Processor) {
        m.processor = p
        p.machine = m
        // releasing: the new owner's id is published with the P's contents.
        p.ownership.store(Processor.word(m.id, .runtime), ordering: .releasing)
    }

    /// Tries to take an idle P for `m`.
    func acquireIdle(_ m: Machine) -> Bool {
        lock.lock()
        let p = takeIdleProcessor()
        lock.unlock()
        guard let p else { return false }
        acquire(m, p)
        return true
    }

    /// Gives away a P whose machine will not run goroutines for a while: to a
    /// machine if there is work for it, else to the idle list.
    func handOff(_ p: Processor) {
        p.machine = nil
        if !p.isQueueEmpty || globalCount.load(ordering: .relaxed) > 0 {
            startMachine(p, spinning: false)
            return
        }
        // With nobody spinning or idle, start a spinner: work may be coming.
        if spinningCount.load(ordering: .relaxed) + idleProcessorCount.load(ordering: .relaxed)
            == 0,
            spinningCount.compareExchange(
                expected: 0, desired: 1, ordering: .sequentiallyConsistent
            )
            .exchanged
        {
            startMachine(p, spinning: true)
            return
        }
        lock.lock()
        if globalCount.load(ordering: .relaxed) > 0 {
            lock.unlock()
            startMachine(p, spinning: false)
            return
        }
        putIdleProcessor(p)
        lock.unlock()
    }

    /// Wakes a spinning machine if a P is idle and nobody spins. Called after
    /// making a goroutine runnable.
    @inline(__always)
    func wakeIfIdle() {
        if idleProcessorCount.load(ordering: .sequentiallyConsistent) == 0 { return }
        if spinningCount.load(ordering: .sequentiallyConsistent) != 0 { return }
        if !spinningCount.compareExchange(
            expected: 0, desired: 1, ordering: .sequentiallyConsistent
        ).exchanged {
            return
        }
        startMachine(nil, spinning: true)
    }

    /// Runs `p` (or an idle P) on an idle machine, or a new one.
    func startMachine(_ given: Processor?, spinning: Bool) {
        lock.lock()
        var p = given
        if p == nil {
            p = takeIdleProcessor()
            if p == nil {
                lock.unlock()
                if spinning { spinningCount.subtract(1, ordering: .sequentiallyConsistent) }
                return
            }
        }
        let m = takeIdleMachine()
        if m == nil, !Threads.mayCreate(locked: true) {
            // Opt-in policy at the thread limit: the P waits for a machine.
            putIdleProcessor(p!)
            lock.unlock()
            if spinning { spinningCount.subtract(1, ordering: .sequentiallyConsistent) }
            return
        }
        lock.unlock()
        Sysmon.wake()
        if let m {
            m.wakeSpinning = spinning
            m.nextProcessor = p
            m.note.wake()
        } else {
            newMachine(p!, spinning: spinning)
        }
    }

    private func newMachine(_ p: Processor, spinning: Bool) {
        lock.lock()
        let m = Machine(id: nextMachineID)
        nextMachineID += 1
        machines.append(m)
        lock.unlock()
        m.nextProcessor = p
        m.wakeSpinning = spinning
        Threads.start(m)
    }

    /// Registers the calling thread as a machine (the process's main thread
    /// under `Runtime.main`).
    func adoptCurrentThread() -> Machine {
        lock.lock()
        let m = Machine(id: nextMachineID, mainThread: true)
        nextMachineID += 1
        machines.append(m)
        lock.unlock()
        machineCount.add(1, ordering: .relaxed)
        m.tid = gr_gettid()
        gr_tls_set_machine(Unmanaged.passUnretained(m).toOpaque())
        gr_install_altstack()
        return m
    }

    /// Forgets a machine whose thread is about to end.
    func retire(_ m: Machine) {
        lock.withLock {
            if let i = machines.firstIndex(where: { $0 === m }) { machines.remove(at: i) }
        }
    }

    func machineSnapshot() -> [Machine] { lock.withLock { machines } }

    /// Idle machines and those spinning, for schedtrace.
    var idleMachinesNow: Int { lock.withLock { idleMachineCount } }

    // MARK: Machine sleep

    enum StopResult { case resumed, exit }

    /// Puts `m` (without a P) to sleep until a waker hands it one. A machine
    /// beyond GOMAXPROCS that sleeps past the keep-alive exits instead.
    func stop(_ m: Machine) -> StopResult {
        // A sleeping machine never counts as spinning, or wakeIfIdle would
        // trust it to find work and strand that work.
        dropSpinning(m)
        lock.lock()
        putIdleMachine(m)
        lock.unlock()

        while true {
            let keepAlive = keepAliveNanos.load(ordering: .relaxed)
            let extra = machineCount.load(ordering: .relaxed) > maxProcs.load(ordering: .relaxed)
            if m.note.sleep(timeoutNanos: extra && !m.isMainThread ? keepAlive : -1) { break }
            lock.lock()
            if m.isIdle,
                machineCount.load(ordering: .relaxed) > maxProcs.load(ordering: .relaxed)
            {
                removeIdleMachine(m)
                lock.unlock()
                return .exit
            }
            lock.unlock()
        }
        m.note.reset()
        acquire(m, m.nextProcessor!)
        m.nextProcessor = nil
        if m.wakeSpinning {
            m.spinning = true
            m.wakeSpinning = false
        }
        return .resumed
    }

    // MARK: Finding work

    /// Blocks until there is a goroutine for `m` to run; returns with `m`
    /// holding a P in the runtime state. Returns nil if the machine should
    /// end its thread.
    func findRunnable(_ m: Machine) -> (Unmanaged<Goroutine>, inheritTime: Bool)? {
        while true {
            if m.processorRef.isNil {
                if acquireIdle(m) { continue }
                if stop(m) == .exit { return nil }
                continue
            }
            // The common case, the P's own work, borrows the P without
            // counting references to it.
            let held = m.processorRef
            if case let found?? = held.with({ localWork($0) }) { return found }
            // safety: Ps are immortal; `p` borrows the held one uncounted.
            unowned(unsafe) let p = held.unmanaged!.takeUnretainedValue()
            if p.id >= maxProcs.load(ordering: .relaxed) {
                retireProcessor(m, p)
                continue
            }
            if globalCount.load(ordering: .relaxed) > 0 {
                lock.lock()
                let g = held.with { globalGetLocked($0, max: 0) }!
                lock.unlock()
                if let g { return (g, false) }
            }
            // The backlog a held-back spawner made room for is gone.
            if let g = p.takeHeldBack() { return (g, false) }

            // Steal, if spinning is allowed.
            let procs = maxProcs.load(ordering: .relaxed)
            let busy = procs - idleProcessorCount.load(ordering: .relaxed)
            if m.spinning || 2 * spinningCount.load(ordering: .relaxed) < busy {
                if !m.spinning {
                    m.spinning = true
                    spinningCount.add(1, ordering: .sequentiallyConsistent)
                }
                if let g = steal(m, into: p, procs: procs, batch: &m.stealBatch) {
                    return (g, false)
                }
            }

            // Nothing: give the P back.
            lock.lock()
            if globalCount.load(ordering: .relaxed) > 0 {
                let g = globalGetLocked(p, max: 0)
                lock.unlock()
                if let g { return (g, false) }
                continue
            }
            m.processor = nil
            putIdleProcessor(p)
            lock.unlock()

            let wasSpinning = m.spinning
            if m.spinning {
                m.spinning = false
                spinningCount.subtract(1, ordering: .sequentiallyConsistent)
            }
            // A goroutine readied while we were spinning saw a spinner and
            // woke nobody; now that we have stopped, look once more.
            if wasSpinning || globalCount.load(ordering: .sequentiallyConsistent) > 0 {
                if workExists(procs: procs), acquireIdle(m) {
                    m.spinning = true
                    spinningCount.add(1, ordering: .sequentiallyConsistent)
                    continue
                }
            }
            if stop(m) == .exit { return nil }
        }
    }

    /// The global queue's turn (every 61st tick), then runnext and the local
    /// queue. Nil if `p` has none, or is to be retired.
    @inline(__always)
    private func localWork(_ p: Processor) -> (Unmanaged<Goroutine>, inheritTime: Bool)? {
        if p.id >= maxProcs.load(ordering: .relaxed) { return nil }
        p.roundsToGlobalCheck -= 1
        if p.roundsToGlobalCheck <= 0 { p.roundsToGlobalCheck = 61 }
        if frontWaiting.load(ordering: .relaxed) {
            frontWaiting.store(false, ordering: .relaxed)
            p.roundsToGlobalCheck = 61
        }
        if p.hasHeldBack,
            globalCount.load(ordering: .relaxed) <= spawnBacklogLimit / 2
                || monotonicNanos() >= p.backOffUntil.load(ordering: .relaxed)
        {
            // A thief may win the race for it; then go on with the ring.
            if let g = p.takeHeldBack() { return (g, false) }
        }
        if p.roundsToGlobalCheck == 61, globalCount.load(ordering: .relaxed) > 0 {
            lock.lock()
            let g = globalGetLocked(p, max: 1)
            lock.unlock()
            if let g { return (g, false) }
        }
        return p.getUnretained()
    }

    private func workExists(procs: Int) -> Bool {
        if globalCount.load(ordering: .sequentiallyConsistent) > 0 { return true }
        for i in 0..<procs {
            if let p = processors[i], !p.isQueueEmpty { return true }
        }
        return false
    }

    private func steal(
        _ m: Machine, into p: Processor, procs: Int, batch: inout [UInt]
    ) -> Unmanaged<Goroutine>? {
        if procs < 2 { return nil }
        var now: Int64 = 0
        for pass in 0..<4 {
            var index = m.random(procs)
            // A step coprime to procs visits every P once per pass.
            let step = coprimeStep(m, procs)
            for _ in 0..<procs {
                if let victim = processors[index], victim !== p {
                    batch.removeAll(keepingCapacity: true)
                    victim.grab(into: &batch, includeNext: pass == 3)
                    if let last = batch.popLast() {
                        for bits in batch { p.put(p.goroutine(bits), next: false) }
                        return p.unmanaged(last)
                    }
                    // A spawner its P has held back past its deadline: that P
                    // is busy with something that does not let it go.
                    if pass == 3, victim.hasHeldBack {
                        if now == 0 { now = monotonicNanos() }
                        if let g = victim.takeHeldBack(asThief: true, now: now) { return g }
                    }
                }
                index = (index + step) % procs
            }
        }
        return nil
    }

    private func coprimeStep(_ m: Machine, _ n: Int) -> Int {
        var step = m.random(n) + 1
        while gcd(step, n) != 1 { step = step % n + 1 }
        return step
    }

    private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// A spinning machine found work: stop spinning, and wake another
    /// spinner if Ps are idle, so bursts of work spread out.
    @inline(__always)
    func stopSpinning(_ m: Machine) {
        guard m.spinning else { return }
        m.spinning = false
        if spinningCount.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 {
            wakeIfIdle()
        }
    }

    /// Stops `m` counting as spinning. If it was the last spinner and work is
    /// queued, wakes another machine, since readiers that saw it spinning
    /// woke nobody.
    private func dropSpinning(_ m: Machine) {
        guard m.spinning else { return }
        m.spinning = false
        let left = spinningCount.subtract(1, ordering: .sequentiallyConsistent).newValue
        if left == 0, workExists(procs: maxProcs.load(ordering: .relaxed)) { wakeIfIdle() }
    }

    /// A P beyond a lowered GOMAXPROCS: move its work to the global queue and
    /// retire it.
    private func retireProcessor(_ m: Machine, _ p: Processor) {
        dropSpinning(m)
        var batch: [UInt] = []
        p.drain(into: &batch)
        if !batch.isEmpty { globalPutBatch(batch) }
        if let g = p.takeHeldBack() { globalPutFront(g.takeUnretainedValue()) }
        StackAllocator.shared.flush(p)
        m.processor = nil
        lock.withLock { putIdleProcessor(p) }
        wakeIfIdle()
    }

    // MARK: GOMAXPROCS

    /// Changes the number of Ps while goroutines run. Returns the old value.
    func setMaxProcs(_ n: Int) -> Int {
        lock.lock()
        let old = maxProcs.load(ordering: .relaxed)
        if n == old {
            lock.unlock()
            return old
        }
        maxProcs.store(n, ordering: .sequentiallyConsistent)
        if n > old {
            var count = processorCount.load(ordering: .relaxed)
            while count < n {
                // A fresh P starts retired, so the loop below lists it idle.
                let p = Processor(id: count)
                p.ownership.store(PState.retired.rawValue, ordering: .relaxed)
                processors[count] = p
                count += 1
            }
            processorCount.store(count, ordering: .releasing)
            // Only retired Ps come back. A P that looks idle but is off the
            // idle list is in flight to a machine (startMachine), which will
            // acquire it; listing it again would give it two owners.
            for i in old..<n where processors[i]!.state == .retired {
                putIdleProcessor(processors[i]!)
            }
        } else {
            // Drop idle Ps beyond n; busy ones retire at their next schedule.
            var kept: Processor? = nil
            var cursor = idleProcessors
            var dropped = 0
            while let p = cursor {
                cursor = p.nextIdle
                if p.id >= n {
                    p.ownership.store(PState.retired.rawValue, ordering: .releasing)
                    p.nextIdle = nil
                    dropped += 1
                } else {
                    p.nextIdle = kept
                    kept = p
                }
            }
            idleProcessors = kept
            idleProcessorCount.subtract(dropped, ordering: .sequentiallyConsistent)
        }
        lock.unlock()
        if n > old {
            for _ in old..<n { wakeIfIdle() }
        }
        return old
    }

    // MARK: Free goroutine records

    /// A free record from `p`'s cache, refilled from the global pool,
    /// without counting a reference to it. Caller holds `p`.
    @inline(__always)
    func takeFreeGoroutineUnretained(_ p: Processor) -> Unretained<Goroutine> {
        if let link = p.freeGoroutines.popLink() { return link }
        return refillFreeGoroutines(p)
    }

    @inline(never)
    private func refillFreeGoroutines(_ p: Processor) -> Unretained<Goroutine> {
        lock.lock()
        p.freeGoroutines.take(32, from: &freeGoroutines)
        lock.unlock()
        return p.freeGoroutines.popLink() ?? Unretained(nil)
    }

    func takeFreeGoroutine(_ p: Processor?) -> Goroutine? {
        if let p {
            if let g = p.freeGoroutines.pop() { return g }
            lock.lock()
            p.freeGoroutines.take(32, from: &freeGoroutines)
            lock.unlock()
            return p.freeGoroutines.pop()
        }
        lock.lock()
        defer { lock.unlock() }
        return freeGoroutines.pop()
    }

    func putFreeGoroutine(_ g: Goroutine, _ p: Processor?) {
        if let p {
            p.freeGoroutines.push(g)
            if p.freeGoroutines.count >= 128 {
                lock.lock()
                freeGoroutines.take(64, from: &p.freeGoroutines)
                lock.unlock()
            }
            return
        }
        lock.withLock { freeGoroutines.push(g) }
    }
}
