// Thread-local slots, futex, thread start and the fault handlers.

#define _GNU_SOURCE
#include "CGoroutines.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// MARK: - Thread-local slots

// initial-exec: the slots are read on every switch; the general-dynamic
// model would add a __tls_get_addr call to each read.
#define GR_TLS static __thread __attribute__((tls_model("initial-exec")))

GR_TLS void *tls_machine;
GR_TLS void *tls_external;

// The running goroutine's overflow facts, kept by the goroutine itself.
GR_TLS const struct gr_running *tls_running;

__attribute__((noinline)) void *gr_tls_machine(void) { return tls_machine; }
__attribute__((noinline)) void gr_tls_set_machine(void *m) { tls_machine = m; }
__attribute__((noinline)) void *gr_tls_external(void) { return tls_external; }
__attribute__((noinline)) void gr_tls_set_external(void *g) { tls_external = g; }

__attribute__((noinline)) void gr_tls_set_running(const struct gr_running *running) {
  tls_running = running;
}

// MARK: - Futex and threads

int gr_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  struct timespec ts;
  struct timespec *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  long r = syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
  if (r == -1 && errno == ETIMEDOUT) return -1;
  return 0;
}

void gr_futex_wake(uint32_t *word, int count) {
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

int32_t gr_gettid(void) { return (int32_t)syscall(SYS_gettid); }

int gr_affinity_cpus(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}
int gr_errno(void) { return errno; }
void gr_set_errno(int value) { errno = value; }

int gr_thread_start(void *(*body)(void *), void *arg, size_t stack_size) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stack_size > 0) pthread_attr_setstacksize(&attr, stack_size);
  pthread_t thread;
  int r = pthread_create(&thread, &attr, body, arg);
  pthread_attr_destroy(&attr);
  return r;
}

// MARK: - Stack overflow

static struct sigaction previous_segv;
static struct sigaction previous_bus;

void gr_install_altstack(void) {
  static __thread int installed;
  if (installed) return;
  installed = 1;
  size_t size = 64 * 1024;
  void *mem = malloc(size);
  if (mem == NULL) return;
  stack_t ss = {.ss_sp = mem, .ss_size = size, .ss_flags = 0};
  sigaltstack(&ss, NULL);
}

static void write_all(const char *text) {
  size_t len = strlen(text);
  while (len > 0) {
    ssize_t n = write(2, text, len);
    if (n <= 0) return;
    text += n;
    len -= (size_t)n;
  }
}

static void chain(int sig, siginfo_t *info, void *ctx, struct sigaction *prev) {
  if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction != NULL) {
      prev->sa_sigaction(sig, info, ctx);
      return;
    }
  } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
    prev->sa_handler(sig);
    return;
  }
  // Default action: restore it and return, so the fault repeats and kills.
  signal(sig, SIG_DFL);
}

static void on_fault(int sig, siginfo_t *info, void *ctx) {
  uintptr_t addr = (uintptr_t)info->si_addr;
  const struct gr_running *running = tls_running;
  if (running != NULL && addr >= running->guard_lo && addr < running->guard_hi) {
    char line[160];
    snprintf(line, sizeof line, "goroutine %lld: stack overflow (stack %zu bytes)\n",
             (long long)running->goid, running->stack_size);
    write_all("runtime: goroutine stack exceeds its reserve\n");
    write_all(line);
    write_all("fatal error: stack overflow\n");
    _exit(2);
  }
  chain(sig, info, ctx, sig == SIGSEGV ? &previous_segv : &previous_bus);
}

void gr_install_overflow_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &previous_segv);
  sigaction(SIGBUS, &sa, &previous_bus);
}

// MARK: - SIGQUIT

static void (*quit_dump)(void);
static uint32_t quit_pending;

static void *quit_thread(void *arg) {
  (void)arg;
  // A parent may have started us with SIGQUIT blocked, and every thread
  // inherits that mask. Go never lets SIGQUIT be blocked; here this thread
  // takes it, so a process-directed SIGQUIT always reaches a handler.
  sigset_t quit;
  sigemptyset(&quit);
  sigaddset(&quit, SIGQUIT);
  pthread_sigmask(SIG_UNBLOCK, &quit, NULL);
  for (;;) {
    while (__atomic_load_n(&quit_pending, __ATOMIC_ACQUIRE) == 0) {
      syscall(SYS_futex, &quit_pending, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    }
    __atomic_store_n(&quit_pending, 0, __ATOMIC_RELEASE);
    if (quit_dump != NULL) quit_dump();
  }
  return NULL;
}

static void on_quit(int sig) {
  (void)sig;
  int saved = errno;
  __atomic_store_n(&quit_pending, 1, __ATOMIC_RELEASE);
  syscall(SYS_futex, &quit_pending, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved;
}

void gr_install_sigquit(void (*dump)(void)) {
  quit_dump = dump;
  gr_thread_start(quit_thread, NULL, 256 * 1024);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_quit;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGQUIT, &sa, NULL);
}

// MARK: - Output on the way out

void gr_flush_stdout(void) {
  // A thread inside a stdio call on stdout holds its lock; waiting for it
  // could hang the fatal path, so skip the flush then.
  if (ftrylockfile(stdout) == 0) {
    fflush_unlocked(stdout);
    funlockfile(stdout);
  }
}
