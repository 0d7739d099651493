// The temporary directory an experiment writes into, and the free-space
// check made before anything is written. The current directory is known
// process-wide so that the interrupt path can remove it.

import Glibc
import Goroutines
import Synchronization

enum Scratch {
    /// The directory to remove on exit or interrupt.
    private static let current = Mutex<String?>(nil)

    /// Creates `goroutines-demo-<label>-XXXXXX` in `parent` (or the system's
    /// temporary directory) and makes it the current scratch directory.
    static func make(in parent: String?, label: String) throws(FileError) -> String {
        let path = try File.makeTemporaryDirectory(
            in: parent, prefix: "goroutines-demo-\(label)-")
        current.withLock { $0 = path }
        return path
    }

    /// Removes the current scratch directory and everything in it; returns
    /// its path, or nil if there was none.
    @discardableResult
    static func removeCurrent() -> String? {
        // Take the path out first: the lock must not be held across file
        // calls, which may move the goroutine to another thread.
        let path = current.withLock { path -> String? in
            let taken = path
            path = nil
            return taken
        }
        guard let path else { return nil }
        do {
            try File.removeAll(path)
        } catch {
            Console.complain("goroutines-demo: could not remove \(path): \(error)")
        }
        return path
    }

    /// The bytes free for unprivileged users on the file system of `path`.
    static func availableBytes(at path: String) throws(FileError) -> Int {
        var info = statvfs()
        let result = blocking { () -> (Int32, Int32) in
            let r = statvfs(path, &info)
            return (r, r < 0 ? errno : 0)
        }
        if result.0 < 0 { throw FileError(errno: result.1, operation: "statvfs", path: path) }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// The type of the file system `path` is on ("ext4", "tmpfs", ...), from
    /// the longest mount point in /proc/self/mounts that contains it.
    static func fileSystemName(at path: String) -> String? {
        guard let bytes = try? readFile("/proc/self/mounts") else { return nil }
        var best: (mountPoint: Substring, type: Substring)? = nil
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mountPoint = fields[1]
            let inside =
                mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
            if inside && mountPoint.count >= (best?.mountPoint.count ?? -1) {
                best = (mountPoint, fields[2])
            }
        }
        return best.map { String($0.type) }
    }

    /// Checks that `parent` has room for `needed` bytes. On failure prints a
    /// message naming the need and the room, and returns false.
    static func checkRoom(
        in parent: String, needed: Int, for what: String, because reason: String
    ) -> Bool {
        let available: Int
        do {
            available = try availableBytes(at: parent)
        } catch {
            Console.complain("goroutines-demo: cannot check free space: \(error)")
            return false
        }
        if available >= needed { return true }
        Console.complain(
            "goroutines-demo: not enough free space in \(parent) for \(what): "
                + "needs about \(Format.bytes(Double(needed))) (\(reason)), "
                + "has \(Format.bytes(Double(available))) available")
        return false
    }
}
