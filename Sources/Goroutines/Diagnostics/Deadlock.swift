// Deadlock detection under Runtime.main: placeholder until checked below.

import Synchronization

enum Deadlock {
    /// Called when a machine goes idle.
    static func check() {}
}
