// How every file call reaches the kernel.
//
// Each system call runs alone inside a `blocking` region, so a call that
// stays in the kernel lets the runtime hand its processor to another thread,
// while a quick call costs no more than the two atomic operations of the
// region. Three rules hold for every call made here:
// - errno is read inside the region, right after the call, through an
//   out-of-line C function. Leaving the region may park the goroutine and
//   resume it on another thread, where errno would belong to someone else;
//   and the optimizer may reuse a thread-local address computed earlier.
// - EINTR is retried, each attempt in a region of its own.
// - A call that moves at least `longCallBytes` is known to be long: its
//   region hands the processor off at entry instead of waiting for sysmon,
//   so the other goroutines run on at once.
// - After the call the goroutine honours a pending preemption request: a
//   loop of quick file calls never enters the scheduler otherwise.

import CGoroutines
import Glibc

/// Transfers this large or larger are long enough to hand the processor off
/// at the start of the call.
let longCallBytes = 1 << 20

/// A call's integer result and the errno read right after it (0 on success).
struct CallResult<R: BinaryInteger> {
    var value: R
    var code: Int32
}

/// Runs `call` as a blocking region and returns its result with its errno.
/// A negative result counts as a failure.
@inline(__always)
func attempt<R: BinaryInteger>(
    handOff: Bool = false, _ call: () -> R
) -> CallResult<R> {
    let result = blocking(handOff: handOff) { () -> CallResult<R> in
        let value = call()
        return CallResult(value: value, code: value < 0 ? gr_errno() : 0)
    }
    checkPreemption()
    return result
}

/// Runs `call` as a blocking region, retrying on EINTR, and returns the
/// last attempt's result, failed or not.
@inline(__always)
func attemptRetryingInterrupts<R: BinaryInteger>(
    handOff: Bool = false, _ call: () -> R
) -> CallResult<R> {
    while true {
        let result = attempt(handOff: handOff, call)
        if result.value < 0 && result.code == EINTR { continue }
        return result
    }
}

/// Runs `call` as a blocking region, retrying on EINTR; throws a
/// `FileError` naming `operation` and `path` for any other failure.
@inline(__always)
func systemCall<R: BinaryInteger>(
    _ operation: String, _ path: String, handOff: Bool = false, _ call: () -> R
) throws(FileError) -> R {
    let result = attemptRetryingInterrupts(handOff: handOff, call)
    if result.value >= 0 { return result.value }
    throw FileError(errno: result.code, operation: operation, path: path)
}

/// Throws `EINVAL` for a path with a NUL byte, which no file can have: as a
/// C string it would end at the NUL and name another file. Go's calls fail
/// the same way.
@inline(__always)
func checkPath(_ path: String, _ operation: String) throws(FileError) {
    if path.utf8.contains(0) { throw FileError(errno: EINVAL, operation: operation, path: path) }
}
