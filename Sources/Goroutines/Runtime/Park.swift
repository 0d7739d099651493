// The goroutine side of the runtime: spawning, parking, readying, yielding.
//
// Every function here runs on a goroutine's stack (or on a plain thread) and
// may resume on a different thread than it started on. So each reads the
// current machine afresh after any switch, through `Machine.current`, an
// out-of-line call the optimizer cannot fold across the switch.
//
// Runtime entries that touch the P's queues first move the P from `user`
// to `runtime` with a compare-and-swap (`enterRuntime`). If that fails,
// sysmon took the P while this thread sat in an unmarked blocking call, and
// the goroutine must get a P back before it goes on.

import CGoroutines
import Glibc
import Synchronization

/// Entry point of every goroutine, reached through the assembly trampoline.
let goroutineEntry: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    runBody(raw)
    let (from, to) = prepareExit()
    _ = gr_switch(from, to, nil)
    fatal("runtime: a finished goroutine was resumed", "goexit")
}

@inline(never)
private func runBody(_ raw: UnsafeMutableRawPointer?) {
    // safety: the scheduler passes the goroutine record being started.
    let g = Unmanaged<Goroutine>.fromOpaque(raw!)
    // Moved out, not copied: the record's reference becomes ours.
    let body = g._withUnsafeGuaranteedRef { $0.body.take()! }
    body()
}

/// Records the exit request and returns the raw switch operands, so that the
/// final switch holds no references whose releases would never run.
@inline(never)
private func prepareExit() -> (
    UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer?
) {
    // safety: see Machine.current. Records are borrowed without counting.
    unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(gr_tls_machine()!)
        .takeUnretainedValue()
    m.request = .exit
    return (m.currentRef.with { $0.contextSlot }!, m.g0Slot.pointee)
}

/// The running goroutine and its machine, if the caller is a goroutine.
@inline(__always)
func currentGoroutineAndMachine() -> (Goroutine, Machine)? {
    guard let m = Machine.current, let g = m.current else { return nil }
    return (g, m)
}

/// The record to park for the caller: the running goroutine, or the plain
/// thread's external record.
@inline(__always)
func currentWaiter() -> Goroutine {
    // Inside a blocking region the thread acts as a plain thread: it has no
    // P to give the scheduler, so it sleeps on its own.
    if let raw = gr_tls_machine() {
        // safety: see Machine.current.
        unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
        if !m.currentRef.isNil, !m.inBlockingRegion.load(ordering: .relaxed) {
            return m.current!
        }
    }
    return externalWaiter()
}

/// Runs `body` on the caller's waiter record (see `currentWaiter`) without
/// counting a reference to it. Read afresh on each call: the caller may
/// have moved to another thread since the last one.
@inline(__always)
func withCurrentWaiter<Result>(_ body: (Goroutine) -> Result) -> Result {
    // safety: records are immortal, so the borrow cannot outlive one.
    currentWaiterUnmanaged()._withUnsafeGuaranteedRef(body)
}

/// Marks a waiter taken off a channel's queue as served and returns its
/// record, uncounted, for the caller to ready once it holds no lock.
@inline(__always)
func served(_ waiter: Waiter) -> Unretained<Goroutine> {
    // safety: records are immortal, so the borrow cannot outlive one.
    Unmanaged.passUnretained(waiter.goroutine)._withUnsafeGuaranteedRef { g in
        g.wakeSuccess = true
        g.wakeCase = waiter.caseIndex
        return Unretained(g)
    }
}

/// `currentWaiter` without counting a reference to the record.
@inline(__always)
private func currentWaiterUnmanaged() -> Unmanaged<Goroutine> {
    if let raw = gr_tls_machine() {
        // safety: see Machine.current.
        unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
        if let bits = m.currentRef.bits, !m.inBlockingRegion.load(ordering: .relaxed) {
            // safety: the running goroutine's record, immortal.
            return Unmanaged<Goroutine>.fromOpaque(bits)
        }
    }
    return Unmanaged.passUnretained(externalWaiter())
}

@inline(never)
private func externalWaiter() -> Goroutine {
    if let raw = gr_tls_external() {
        // safety: the TLS slot holds a record retained by the Registry.
        return Unmanaged<Goroutine>.fromOpaque(raw).takeUnretainedValue()
    }
    let g = Goroutine(external: true)
    g.id = -Int64(gr_gettid())
    Registry.shared.add(g)
    gr_tls_set_external(Unmanaged.passUnretained(g).toOpaque())
    return g
}

// MARK: - Runtime entry

/// Moves the caller's P to the runtime state and returns it, or nil on a
/// plain thread. Pair with `exitRuntime`.
@inline(__always)
func enterRuntime() -> Processor? {
    enterRuntimeUnretained().object
}

/// `enterRuntime` without counting a reference to the P, for hot paths.
@inline(__always)
func enterRuntimeUnretained() -> Unretained<Processor> {
    guard let raw = gr_tls_machine() else { return Unretained(nil) }
    // safety: see Machine.current.
    unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
    guard !m.currentRef.isNil, !m.inBlockingRegion.load(ordering: .relaxed) else {
        return Unretained(nil)
    }
    let id = m.id
    let entered = m.processorRef.with { p in
        p.ownership.compareExchange(
            expected: Processor.word(id, .user), desired: Processor.word(id, .runtime),
            ordering: .acquiringAndReleasing
        ).exchanged
    }
    if entered == true { return m.processorRef }
    return Unretained(reacquireProcessor())
}

@inline(__always)
func exitRuntime(_ p: Processor) {
    // releasing: our queue updates are published before sysmon may take the P.
    let id = p.machineRef.with { $0.id }!
    p.ownership.store(Processor.word(id, .user), ordering: .releasing)
}

/// The caller's P was taken while it ran (sysmon saw it blocked). Take an
/// idle P, or queue the goroutine and let the thread sleep until another
/// machine runs it. Returns the P now held, in the runtime state.
@inline(never)
func reacquireProcessor() -> Processor {
    var m = Machine.current!
    m.processor = nil
    if !Scheduler.shared.acquireIdle(m) {
        let g = m.current!
        m.request = .requeue
        _ = gr_switch(g.contextSlot, m.g0Slot.pointee, nil)
        m = Machine.current!
        // We run again on a machine that holds a P in the user state.
        let p = m.processor!
        p.ownership.store(Processor.word(m.id, .runtime), ordering: .releasing)
        return p
    }
    return m.processor!
}

// MARK: - Spawning

/// Starts a goroutine running `body`. With `onto`, a P the calling thread
/// holds in the runtime state, it goes to that P's runnext: Runtime.main
/// starts the main goroutine this way.
func spawn(
    _ body: consuming @escaping @Sendable () -> Void, file: StaticString, line: UInt,
    onto target: Processor? = nil
) {
    let sched = Scheduler.shared
    let (parent, spawned) = countSpawn()
    if let target {
        let g = sched.takeFreeGoroutine(target) ?? newGoroutineRecord()
        g.body = consume body
        prepare(g, Unretained(target))
        g.createdFile = file
        g.createdLine = line
        g.isMain = true
        target.countStarted()
        target.put(g, next: true)
        return
    }
    let held = enterRuntimeUnretained()
    // A plain thread holds no P: it takes from the global pool, as goroutines
    // that end without a P and full P caches leave records there.
    let free =
        held.with { sched.takeFreeGoroutineUnretained($0) }
        ?? Unretained(sched.takeFreeGoroutine(nil))
    let record = free.isNil ? Unretained(newGoroutineRecord()) : free
    // The body moves into the record without reference-count traffic on it.
    record.unmanaged!.takeUnretainedValue().body = consume body
    // The record is borrowed without counting references to it.
    record.with { g in
        prepare(g, held)
        g.createdFile = file
        g.createdLine = line
        g.parentID = parent
        g.isMain = false
        if held.isNil {
            sched.liveGoroutines.add(1, ordering: .relaxed)
            sched.globalPut(g)
        } else {
            held.with { p in
                p.countStarted()
                p.put(g, next: true)
                exitRuntime(p)
            }
        }
    }
    sched.wakeIfIdle()
    if !held.isNil {
        // Back-pressure: a goroutine that keeps spawning faster than every P
        // can run what it spawns lets its own P work through the backlog, on
        // the core that made it, instead of queueing without bound. Many
        // goroutines spawning a few each (a tree) never trigger it.
        if spawned >= spawnBurst, sched.globalCount.load(ordering: .relaxed) > spawnBacklogLimit {
            sched.backPressureYields.add(1, ordering: .relaxed)
            backOff()
        } else {
            checkPreemption()
        }
    }
}

/// Goroutines on the global run queue beyond which a spawner yields.
/// Large enough that short bursts of spawning queue as in Go.
let spawnBacklogLimit = 1024
/// How long a held-back spawner lets its P run other goroutines at most; it
/// resumes sooner once the global backlog is down to half the limit. Past
/// this deadline another P may take it, so a goroutine that runs on without
/// a break (one that spins until the spawner does something, say) delays it
/// by 2 ms when other Ps exist, and by that goroutine's time slice on one P.
let backOffNanos: Int64 = 2_000_000

/// Yields to back-pressure: the spawner waits on its P, which runs what is
/// queued, locally and globally, until the global backlog is down to half
/// the limit, or for `backOffNanos`.
@inline(never)
private func backOff() {
    guard let raw = gr_tls_machine() else { return }
    // safety: see Machine.current. Nothing here touches `m` after the
    // switch, which may resume the goroutine on another thread.
    unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
    m.currentRef.with { g in
        g.preemptRequested.store(false, ordering: .relaxed)
        g.spawnCount = 0
        m.request = .backOff
        _ = gr_switch(g.contextSlot, m.g0Slot.pointee, nil)
    }
}
/// Spawns without parking or yielding before a goroutine is held back: a full
/// local run queue's worth.
let spawnBurst = Int(Processor.ringSize)

/// The calling goroutine's id (0 off a goroutine) and how many goroutines it
/// has spawned since it started, last parked or last yielded, this one
/// included.
@inline(__always)
private func countSpawn() -> (parent: Int64, spawned: Int) {
    guard let raw = gr_tls_machine() else { return (0, 0) }
    // safety: see Machine.current.
    unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
    return m.currentRef.with { g in
        g.spawnCount &+= 1
        return (g.id, g.spawnCount)
    } ?? (0, 0)
}

private func newGoroutineRecord() -> Goroutine {
    let g = Goroutine(external: false)
    Registry.shared.add(g)
    return g
}

/// Readies `g`'s record to run its body. `p` is a P the caller holds, if any.
/// The stack comes later, when the goroutine first runs (`attachStack`).
@inline(__always)
private func prepare(_ g: Goroutine, _ p: Unretained<Processor>) {
    g.id =
        p.with { $0.takeGoroutineID() }
        ?? Registry.shared.nextID.add(1, ordering: .relaxed).oldValue
    g.stackSize = StackAllocator.shared.stackSize
    g.spawnCount = 0
    g.preemptRequested.store(false, ordering: .relaxed)
    g.status.store(GStatus.runnable.rawValue, ordering: .releasing)
}

/// Gives a goroutine that is about to run for the first time a stack, from
/// the cache of `p`, which the caller holds, and a frame that enters its body.
@inline(never)
func attachStack(_ g: Goroutine, _ p: Processor) {
    let stack = StackAllocator.shared.take(p, size: g.stackSize)
    g.stack = stack
    let top = g.useStackSlots(stack)
    g.contextSlot.pointee = gr_prepare_stack(top, goroutineEntry)
}

// MARK: - Park and ready

/// Parks the caller until `ready` is called on it. `commit(context)` runs once
/// the goroutine is off its stack (on a plain thread: before it sleeps); it
/// typically unlocks the structure that now lists the waiter. If it returns
/// false, the caller resumes at once.
func park(
    _ reason: WaitReason, commit: ParkCommit?, context: UnsafeMutableRawPointer?
) {
    if let raw = gr_tls_machine() {
        // safety: see Machine.current. `m` is not used after the switch,
        // which may resume the goroutine on another thread.
        unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
        if !m.currentRef.isNil, !m.inBlockingRegion.load(ordering: .relaxed) {
            m.currentRef.with { g in
                g.waitReason = reason
                g.waitSince = coarseNanos()
                g.spawnCount = 0
                m.request = .park(commit: commit, context: context)
                _ = gr_switch(g.contextSlot, m.g0Slot.pointee, nil)
                g.waitReason = .none
            }
            return
        }
    }
    parkExternal(reason, commit: commit, context: context)
}

/// `park` for a plain thread, or a goroutine inside a blocking region: the
/// thread sleeps on its record's note.
@inline(never)
private func parkExternal(
    _ reason: WaitReason, commit: ParkCommit?, context: UnsafeMutableRawPointer?
) {
    let g = currentWaiter()
    g.waitReason = reason
    g.waitSince = coarseNanos()
    g.parkNote.reset()
    g.status.store(GStatus.waiting.rawValue, ordering: .releasing)
    if let commit, !commit(context) {
        g.status.store(GStatus.running.rawValue, ordering: .relaxed)
        g.waitReason = .none
        return
    }
    g.parkNote.sleep()
    g.waitReason = .none
}

/// Makes a parked goroutine runnable. Safe from any thread.
func ready(_ g: Goroutine) {
    if g.isExternal {
        g.status.store(GStatus.running.rawValue, ordering: .relaxed)
        g.parkNote.wake()
        return
    }
    // A load and a store, not an exchange: only the one waker that took `g`
    // off a wait list gets here, after g0 stored `waiting` (releasing) and
    // ran the commit that listed it. acquiring: pairs with that store.
    // A double ready by a runtime bug is still caught, unless it races.
    let old = g.status.load(ordering: .acquiring)
    if old != GStatus.waiting.rawValue { badReady(g, old) }
    g.status.store(GStatus.runnable.rawValue, ordering: .releasing)
    let sched = Scheduler.shared
    let held = enterRuntimeUnretained()
    if held.isNil {
        sched.globalPut(g)
    } else {
        held.with { p in
            p.put(g, next: true)
            exitRuntime(p)
        }
    }
    sched.wakeIfIdle()
}

@inline(never)
private func badReady(_ g: Goroutine, _ status: UInt32) -> Never {
    fatal("runtime: ready of goroutine \(g.id) in state \(status)", "bad g status")
}

/// Unlocks the RawLock whose word `context` points to. The usual commit.
let unlockCommit: ParkCommit = { context in
    // safety: context is the address of a RawLock's word, alive while the
    // parked goroutine's operation is in progress.
    let word = context!.assumingMemoryBound(to: UInt32.self)
    gr_rawlock_unlock(word)
    return true
}

// MARK: - Yield and preemption

/// Puts the running goroutine at the back of the global queue.
func yieldGoroutine() {
    guard let raw = gr_tls_machine() else {
        sched_yield()
        return
    }
    // safety: see Machine.current. Nothing here touches `m` after the
    // switch, which may resume the goroutine on another thread.
    unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
    if m.currentRef.isNil {
        sched_yield()
        return
    }
    m.currentRef.with { g in
        g.preemptRequested.store(false, ordering: .relaxed)
        g.spawnCount = 0
        m.request = .yield
        _ = gr_switch(g.contextSlot, m.g0Slot.pointee, nil)
    }
}

/// Yields if sysmon asked the running goroutine to. Counts no references,
/// so the fast paths of locks can afford it.
@inline(__always)
func checkPreemption() {
    guard let raw = gr_tls_machine() else { return }
    // safety: see Machine.current.
    unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
    if m.currentRef.with({ $0.preemptRequested.load(ordering: .relaxed) }) == true {
        yieldGoroutine()
    }
}
