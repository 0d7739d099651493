// The machine (M): an OS thread that runs goroutines.
//
// Its own pthread stack is "g0": the scheduler loop runs there and never on
// a goroutine's stack. A goroutine that gives up the thread (to park, yield,
// exit, or because it lost its P) records a `Request` on its machine and
// switches to g0, and g0 carries the request out once the goroutine's stack
// is no longer in use. That ordering is what makes park safe: the commit
// step that publishes a parked goroutine runs only after its stack is idle.

import CGoroutines
import Glibc
import Synchronization

/// What a goroutine asks of g0 when it switches there.
enum Request {
    case none
    /// Park; run `commit(context)` on g0, and resume at once if it says false.
    case park(commit: ParkCommit?, context: UnsafeMutableRawPointer?)
    /// Go to the back of the global queue.
    case yield
    /// A spawner held back: its P keeps it aside and runs other goroutines
    /// for a short while (see `spawn`).
    case backOff
    /// The body returned.
    case exit
    /// The goroutine lost its P and found no idle one: queue it and stop.
    case requeue
}

/// A park's commit step. It runs on g0 after the goroutine has switched out;
/// returning false resumes the goroutine at once.
typealias ParkCommit = @convention(c) (UnsafeMutableRawPointer?) -> Bool

final class Machine: @unchecked Sendable {
    // @unchecked: fields are written by the machine's own thread, or by
    // another thread only while this machine sleeps on `note`, with the
    // note's release/acquire ordering the hand-over.

    let id: Int
    /// g0's saved stack pointer. Raw memory, never an inout property access.
    let g0Slot: UnsafeMutablePointer<UnsafeMutableRawPointer?>

    @exclusivity(unchecked) var currentRef = Unretained<Goroutine>(nil)
    @exclusivity(unchecked) var processorRef = Unretained<Processor>(nil)
    /// The goroutine running on this machine, if any.
    var current: Goroutine? {
        @inline(__always) get { currentRef.object }
        @inline(__always) set { currentRef = Unretained(newValue) }
    }
    /// The P this machine holds, if any.
    var processor: Processor? {
        @inline(__always) get { processorRef.object }
        @inline(__always) set { processorRef = Unretained(newValue) }
    }
    /// The P a waker hands over with `note.wake()`.
    @exclusivity(unchecked) unowned(unsafe) var nextProcessor: Processor?
    @exclusivity(unchecked) var spinning = false
    /// State of this machine's private random generator (xorshift64*), for
    /// choosing steal victims without a system call.
    @exclusivity(unchecked) var randomState: UInt64
    /// Scratch space for stealing, kept so that looking for work allocates
    /// nothing; the machine's own thread only.
    @exclusivity(unchecked) var stealBatch: [UInt] = []
    /// A waker sets this to make the machine spin for work when it wakes.
    @exclusivity(unchecked) var wakeSpinning = false
    let note = Note()
    @exclusivity(unchecked) var lockedGoroutineRef = Unretained<Goroutine>(nil)
    /// The goroutine wired to this thread by lockOSThread.
    var lockedGoroutine: Goroutine? {
        @inline(__always) get { lockedGoroutineRef.object }
        @inline(__always) set { lockedGoroutineRef = Unretained(newValue) }
    }
    @exclusivity(unchecked) var tid: Int32 = 0
    @exclusivity(unchecked) var request: Request = .none
    let isMainThread: Bool

    /// Next on the idle list, and when it went idle; guarded by the
    /// scheduler lock.
    @exclusivity(unchecked) unowned(unsafe) var nextIdle: Machine?
    @exclusivity(unchecked) var idleSince: Int64 = 0
    /// Whether the machine is on the idle list; guarded by the scheduler lock.
    @exclusivity(unchecked) var isIdle = false

    /// sysmon's view: which goroutine runs here and since when, in ns.
    let runningID = Atomic<Int64>(0)
    /// True while the machine is inside a marked blocking region or parked.
    let inBlockingRegion = Atomic<Bool>(false)
    /// Set when sysmon took this machine's P for unmarked blocking.
    let lostProcessor = Atomic<Bool>(false)
    /// When the current blocking region started (ns), once its P is gone:
    /// whoever takes the P away copies the P's `blockingStart` here first.
    /// Read only by goroutine dumps.
    let blockingSince = Atomic<Int64>(0)

    init(id: Int, mainThread: Bool = false) {
        self.id = id
        isMainThread = mainThread
        randomState = 0x9E37_79B9_7F4A_7C15 &* UInt64(id + 1) | 1
        g0Slot = .allocate(capacity: 1)
        g0Slot.initialize(to: nil)
        makeImmortal(self)
    }

    /// The machine of the calling thread, if it is one.
    @inline(__always)
    static var current: Machine? {
        guard let raw = gr_tls_machine() else { return nil }
        // safety: the TLS slot holds an unretained pointer to a machine that
        // the scheduler's list keeps alive while its thread runs.
        return Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
    }
}

extension Machine {
    /// A fast pseudo-random number in 0..<bound (bound > 0). Owner thread only.
    @inline(__always)
    func random(_ bound: Int) -> Int {
        var x = randomState
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        randomState = x
        return Int((x &* 0x2545_F491_4F6C_DD1D) >> 33) % bound
    }
}

/// The id of the goroutine running on this thread, or 0 on a plain thread.
@inline(__always)
func currentGoroutineID() -> Int64 {
    guard let raw = gr_tls_machine() else { return 0 }
    // safety: see Machine.current.
    unowned(unsafe) let m = Unmanaged<Machine>.fromOpaque(raw).takeUnretainedValue()
    return m.currentRef.with { $0.id } ?? 0
}
