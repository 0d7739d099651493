// Immortal runtime records.
//
// Goroutine, machine and processor records live as long as the process
// (goroutine records are recycled, never freed). Swift would still count
// references to them on every hand-over, an atomic read-modify-write each
// time, and the scheduler's hot paths hand them over constantly. Marking a
// record immortal makes the runtime's retain and release return without
// touching memory shared between cores.
//
// The hook is the Swift runtime's own `_swift_stdlib_immortalize`, exported
// by libswiftCore and used by the standard library for objects that must
// never die. A machine record whose thread has ended is therefore never
// freed; that costs a few hundred bytes per thread ever reaped.

@_silgen_name("_swift_stdlib_immortalize")
private func swiftImmortalize(_ object: UnsafeMutableRawPointer)

/// Marks `object` as never deallocated; retain and release become no-ops.
func makeImmortal(_ object: AnyObject) {
    // safety: the pointer is to a live native Swift object, which is all the
    // runtime function requires.
    swiftImmortalize(Unmanaged.passUnretained(object).toOpaque())
}
