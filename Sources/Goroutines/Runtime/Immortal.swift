// Immortal runtime records.
//
// Goroutine, machine and processor records live as long as the process
// (goroutine records are recycled, never freed). Swift would still count
// references to them on every hand-over, an atomic read-modify-write each
// time, and the scheduler's hot paths hand them over constantly. Marking a
// record immortal makes the runtime's retain and release return without
// touching memory shared between cores.
//
// How the mark works, and why it is written by hand. A native object's
// second word is its reference-count word (64-bit layout):
//   bits 0-31   all ones: the object is immortal
//   bits 33-62  the strong count beyond one
//   bit 63      "use the slow path"
// The runtime's retain and release fast paths add or subtract one strong
// unit and fall back to the slow path, which honours immortality, only
// when the result has bit 63 set. `_swift_stdlib_immortalize` sets the low
// bits and bit 63 but leaves the strong count at zero, so the first release
// borrows out of bit 63: the word turns positive, every later retain and
// release takes the fast path with a locked compare-and-swap, and cores that
// pass a record between them fight over its cache line. Observed on this
// toolchain: records marked that way read 0x7ffffffeffffffff after startup.
// Writing the word with bit 62 of the strong count set as well keeps every
// fast-path result negative in either direction for 2^29 unbalanced
// operations, so retain and release always divert to the immortality check
// and return without a write.
//
// Rejected alternative: keeping the scheduler free of strong references
// altogether (Unmanaged and `unowned(unsafe)` everywhere). The hot paths do
// use them, but the compiler still retains whenever a record crosses a call,
// and auditing every such site is fragile.

/// The reference-count word of an immortal record; see the file comment.
private let immortalCountWord: UInt64 = 0xC000_0000_FFFF_FFFF

/// Marks `object` as never deallocated; retain and release become no-ops.
///
/// Call it from the record's initializer, before the object is shared.
func makeImmortal(_ object: AnyObject) {
    // safety: a native Swift object is a metadata pointer followed by its
    // 64-bit reference-count word; the object is not yet visible to any
    // other thread, so a plain store cannot race with a retain or release.
    let base = Unmanaged.passUnretained(object).toOpaque()
    base.storeBytes(of: immortalCountWord, toByteOffset: 8, as: UInt64.self)
}

/// A nullable reference to an immortal record, held as a bare pointer.
///
/// Reading an `unowned(unsafe)` optional, even only to compare it with nil,
/// makes the compiler retain and release the object: two calls into the
/// Swift runtime. The scheduler's hot paths test and follow these links on
/// every switch, so they keep the pointer itself and borrow the object only
/// for the duration of a closure.
struct Unretained<Object: AnyObject> {
    /// The object's address, or nil.
    private(set) var bits: UnsafeMutableRawPointer?

    @inline(__always)
    init(_ object: Object?) {
        bits = object.map { Unmanaged.passUnretained($0).toOpaque() }
    }

    var isNil: Bool {
        @inline(__always) get { bits == nil }
    }

    /// The object as an ordinary (counted) reference.
    var object: Object? {
        @inline(__always) get {
            guard let bits else { return nil }
            // safety: the bits came from a live immortal record.
            return Unmanaged<Object>.fromOpaque(bits).takeUnretainedValue()
        }
    }

    /// The object as Unmanaged: bind `takeUnretainedValue()` to an
    /// `unowned(unsafe)` local to use it without counting a reference.
    var unmanaged: Unmanaged<Object>? {
        @inline(__always) get { bits.map { Unmanaged<Object>.fromOpaque($0) } }
    }

    /// Runs `body` on the object without counting a reference to it.
    @inline(__always)
    func with<Result>(_ body: (Object) -> Result) -> Result? {
        guard let bits else { return nil }
        // safety: as above; immortal records outlive any borrow.
        return Unmanaged<Object>.fromOpaque(bits)._withUnsafeGuaranteedRef(body)
    }
}
