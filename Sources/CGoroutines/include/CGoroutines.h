// The only C in the package: the context switch (in assembly, one file per
// architecture), futex and thread helpers, the thread-local slots the Swift
// runtime reads through calls the optimizer cannot see through, and the
// stack-overflow signal handler.

#ifndef CGOROUTINES_H
#define CGOROUTINES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Context switch

/// Saves the callee-saved registers on the current stack, stores the stack
/// pointer in `*save_sp`, loads `new_sp` and resumes whatever was saved there.
/// `arg` comes out as the return value on the other side.
void *gr_switch(void **save_sp, void *new_sp, void *arg);

/// Lays out a fresh stack so that the first `gr_switch` into the returned
/// stack pointer calls `entry(arg)`, where `arg` is the switch's third
/// argument. `entry` must never return.
void *gr_prepare_stack(void *stack_top, void (*entry)(void *));

// MARK: - Thread-local slots (out of line on purpose: a goroutine may move
// between threads at any call into the runtime, and a TLS address computed
// before a switch would name the old thread).

void *gr_tls_machine(void);
void gr_tls_set_machine(void *m);
void *gr_tls_external(void);
void gr_tls_set_external(void *g);

/// What the stack-overflow handler needs to know about a goroutine: the
/// guard range below its stack, its id and its stack size.
struct gr_running {
  uintptr_t guard_lo;
  uintptr_t guard_hi;
  int64_t goid;
  size_t stack_size;
};

/// Records the goroutine now running on this thread (NULL for none), for the
/// stack-overflow handler. `running` stays valid while it is recorded.
void gr_tls_set_running(const struct gr_running *running);

// MARK: - Futex and threads

/// Waits while `*word == expected`. `timeout_ns < 0` waits forever.
/// Returns 0 when woken or the value differed, or -1 with errno on timeout.
int gr_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);
/// Wakes up to `count` waiters on `word`.
void gr_futex_wake(uint32_t *word, int count);

int32_t gr_gettid(void);
/// CPUs in the calling thread's affinity mask, or 0 on failure.
int gr_affinity_cpus(void);
int gr_errno(void);
void gr_set_errno(int value);

/// Starts a detached pthread running `body(arg)` with a stack of
/// `stack_size` bytes. Returns 0 or the pthread_create error number.
int gr_thread_start(void *(*body)(void *), void *arg, size_t stack_size);

/// Installs an alternate signal stack for the calling thread (once).
void gr_install_altstack(void);
/// Installs the SIGSEGV/SIGBUS handler that reports goroutine stack
/// overflows and chains to any earlier handler for every other fault.
void gr_install_overflow_handler(void);

/// Installs a SIGQUIT handler that calls `dump` (on its own thread, since a
/// dump takes locks) and lets the process go on.
void gr_install_sigquit(void (*dump)(void));

// MARK: - Atomics on raw words (for lock-free rings of plain memory)

static inline uintptr_t gr_load_acquire(uintptr_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline uintptr_t gr_load_relaxed(uintptr_t *p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void gr_store_release(uintptr_t *p, uintptr_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static inline void gr_store_relaxed(uintptr_t *p, uintptr_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/// A hint to the CPU that this is a spin-wait loop.
static inline void gr_cpu_relax(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/// Releases a RawLock given the address of its word: store 0, and wake one
/// sleeper if the lock was contended (2).
static inline void gr_rawlock_unlock(uint32_t *word) {
  if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) == 2) gr_futex_wake(word, 1);
}

/// Flushes stdout unless another thread is using it; for fatal exits.
void gr_flush_stdout(void);

// MARK: - Swift runtime hooks for the exclusivity-checking state

/// Saves the calling thread's dynamic-exclusivity access set into `state`
/// (two words) and clears it on the thread.
void swift_task_exitThreadLocalContext(char *state);
/// Restores the access set saved in `state` onto the calling thread.
void swift_task_enterThreadLocalContext(char *state);

#ifdef __cplusplus
}
#endif

#endif
