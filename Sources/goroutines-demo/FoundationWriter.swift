// foundation-writes' write call, kept apart because it is the only file
// that imports Foundation: Data.write(to:) is an ordinary blocking call the
// runtime is not told about.

import Foundation

/// A call that writes `size` bytes to a path with `Data.write(to:)`.
func foundationWriter(size: Int) -> @Sendable (String) throws -> Void {
    let data = Data((0..<size).map { UInt8(ascii: "a") + UInt8($0 % 26) })
    return { path in try data.write(to: URL(fileURLWithPath: path)) }
}
