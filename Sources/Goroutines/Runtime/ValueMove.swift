// Moving channel values without value witnesses.
//
// Channel code is generic and, called from another module, unspecialized:
// each move or copy of an element calls through the type's value witness
// table. Most element types are plain bytes to move (bitwise takable), so
// `moveValue` moves those as bytes, with the common sizes as single loads and
// stores.

/// Copies `size` bytes; the regions do not overlap.
@inline(__always)
func copyValueBytes(_ target: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ size: Int) {
    switch size {
    case 8:
        target.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
    case 16:
        target.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
        target.storeBytes(
            of: source.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8,
            as: UInt64.self)
    case 0:
        break
    default:
        target.copyMemory(from: source, byteCount: size)
    }
}

/// Moves the value at `source` into uninitialized `target`, leaving
/// `source` uninitialized.
@inline(__always)
func moveValue<T>(from source: UnsafeMutablePointer<T>, to target: UnsafeMutablePointer<T>) {
    if _isBitwiseTakable(T.self) {
        copyValueBytes(target, source, MemoryLayout<T>.size)
    } else {
        target.moveInitialize(from: source, count: 1)
    }
}
