// Checks the context switch in Sources/CGoroutines (switch_x86_64.S or
// switch_arm64.S, whichever matches the target) as plain C, without Swift:
//
//  - a ring of coroutines, main -> co0 -> co1 -> co2 -> main, many rounds;
//    each switch passes an argument that must come out as gr_switch's return
//    value on the other side, and a fresh stack must start in its entry with
//    the first argument;
//  - every callee-saved register (x86_64: rbx rbp r12-r15; arm64: x19-x29,
//    d8-d15) holds values distinct per context and per round across each
//    switch (probe_switch in switch_probe.S loads and reads them back), and
//    the stack pointer is the same after the switch as before it;
//  - stack alignment at the entry's first instruction (arm64: sp % 16 == 0;
//    x86_64: (sp + 8) % 16 == 0, as after a call) even from a misaligned top,
//    and gr_prepare_stack writes nothing at or above the top it was given;
//  - floating-point values live across switches come out exact;
//  - the floating-point control state is per context: each context runs in
//    its own rounding mode and finds it in force after every switch
//    (x86_64: MXCSR and the x87 control word; arm64: FPCR), and a fresh
//    context starts with the default control state whatever its starter's;
//  - an unwinder walking a coroutine's stack stops cleanly at the trampoline;
//  - an entry that returns traps in the trampoline (SIGILL on x86_64,
//    SIGTRAP on arm64) instead of running off into memory.
//
// Prints PASS or FAIL lines; exits 0 only if everything passed.

#define _GNU_SOURCE
#include <fenv.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unwind.h>

#include "CGoroutines.h"

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN void *probe_switch(void **save_sp, void *new_sp, void *arg,
                          const uint64_t *in, uint64_t *out);
HIDDEN void probe_entry(void *arg);
HIDDEN void check_entry(void *arg);
HIDDEN uintptr_t probe_entry_sp;

#if defined(__aarch64__)
#define ARCH "arm64"
#define NREGS 19 // x19-x28, x29, d8-d15
static const char *const reg_names[NREGS] = {
    "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
    "x29", "d8",  "d9",  "d10", "d11", "d12", "d13", "d14", "d15"};
#define ENTRY_SP_OK(sp) ((sp) % 16 == 0)
#define ENTRY_SP_RULE "sp % 16 == 0"
#define TRAMPOLINE_SLOT 11 // x30 in the 160-byte frame, in words
#define ENTRY_RETURN_SIGNAL SIGTRAP
#elif defined(__x86_64__)
#define ARCH "x86_64"
#define NREGS 6 // rbx r12 r13 r14 r15 rbp
static const char *const reg_names[NREGS] = {"rbx", "r12", "r13",
                                             "r14", "r15", "rbp"};
#define ENTRY_SP_OK(sp) (((sp) + 8) % 16 == 0)
#define ENTRY_SP_RULE "(sp + 8) % 16 == 0"
#define TRAMPOLINE_SLOT 7 // the return address in the 64-byte frame
#define ENTRY_RETURN_SIGNAL SIGILL
#else
#error "no context switch for this architecture"
#endif

#define NCO 3
#define ROUNDS 20000
#define STACK_SIZE (256 * 1024)

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  if (failures++ < 20) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  failure: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
  }
}

// Counters per check, so the summary can say what ran.
static long n_switches, n_reg_checks, n_fp_checks, n_ctl_checks;

// MARK: - Values

static uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The argument a switch into context `to` carries in round `round`. All 64
// bits vary, so a truncated or swapped register shows.
static void *message(int to, long round) {
  return (void *)(uintptr_t)(mix(0xA11CE000ull + (uint64_t)to * 1000003u +
                                 (uint64_t)round) | 1);
}

// The value callee-saved register `reg` holds in context `ctx` around its
// switch of round `round`. Context NCO is main.
static void sentinels(int ctx, long round, uint64_t *in) {
  for (int reg = 0; reg < NREGS; reg++)
    in[reg] = mix(((uint64_t)ctx << 48) ^ ((uint64_t)round << 8) ^ (uint64_t)reg);
#if defined(__aarch64__)
  // x29 is the frame pointer: keep it a plausible, aligned non-address so
  // nothing mistakes it for a frame, while still distinct per context.
  in[10] &= ~(uint64_t)15;
#endif
}

// MARK: - Contexts

static void *main_sp;
static void *co_sp[NCO];
static unsigned char *stacks[NCO];
#define FILL 0xA5 // above each stack's top: no zero word for an unwinder
#define FILL_BYTES 64

struct coroutine {
  int index;
  double acc;        // floating-point state carried across switches
  uintptr_t tramp;   // trampoline address as gr_prepare_stack laid it out
  int mode;          // rounding mode this coroutine runs in
};
static struct coroutine coros[NCO];

static void **slot_of(int ctx) { return ctx == NCO ? &main_sp : &co_sp[ctx]; }

// Switches from context `self` to `to`, with every callee-saved register set
// to this context's sentinels, and checks what comes back: the registers,
// the stack pointer, and the argument of whoever switches back to `self`.
//
// Odd rounds call gr_switch directly instead, so that compiled code keeps
// its own values (floating-point ones included) in callee-saved registers
// across the switch; only the argument is checked then.
static void switch_checked(int self, int to, long round, long back_round) {
  if (round & 1) {
    void *got = gr_switch(slot_of(self), *slot_of(to), message(to, round));
    n_switches++;
    if (got != message(self, back_round))
      fail("%s: context %d round %ld: gr_switch returned %p, expected %p",
           ARCH, self, round, got, message(self, back_round));
    return;
  }
  uint64_t in[NREGS], out[NREGS + 2];
  sentinels(self, round, in);
  void *got = probe_switch(slot_of(self), *slot_of(to), message(to, round), in, out);
  n_switches++;
  for (int r = 0; r < NREGS; r++) {
    n_reg_checks++;
    if (out[r] != in[r])
      fail("%s: context %d round %ld: %s is %#llx after the switch, was %#llx",
           ARCH, self, round, reg_names[r], (unsigned long long)out[r],
           (unsigned long long)in[r]);
  }
  if (out[NREGS] != out[NREGS + 1])
    fail("%s: context %d round %ld: sp %#llx after the switch, %#llx before",
         ARCH, self, round, (unsigned long long)out[NREGS],
         (unsigned long long)out[NREGS + 1]);
  if (got != message(self, back_round))
    fail("%s: context %d round %ld: gr_switch returned %p, expected %p",
         ARCH, self, round, got, message(self, back_round));
}

// MARK: - Floating point

// Each context runs in its own rounding mode, and must find it in force
// after every switch: x86_64 keeps it in MXCSR and the x87 control word,
// arm64 in FPCR.
static const int modes[4] = {FE_UPWARD, FE_DOWNWARD, FE_TONEAREST, FE_TOWARDZERO};
static const char *const mode_names[4] = {"upward", "downward", "to-nearest",
                                          "toward-zero"};

// 1/3 in the live rounding mode (and on x86_64 also in x87 arithmetic).
static volatile double one = 1.0, three = 3.0;
static double third(void) { return one / three; }
static double third_in[4];

#if defined(__x86_64__)
static const unsigned rc_bits[4] = {2, 1, 0, 3}; // RC field, same in both words

static unsigned read_mxcsr(void) {
  unsigned v;
  __asm__ volatile("stmxcsr %0" : "=m"(v));
  return v;
}
static unsigned read_x87cw(void) {
  unsigned short v;
  __asm__ volatile("fnstcw %0" : "=m"(v));
  return v;
}
static volatile long double lone = 1.0L, lthree = 3.0L;
static long double third_x87(void) { return lone / lthree; }
static long double third_x87_in[4];

static void check_control_words(int ctx, int mode, const char *when) {
  unsigned mx = read_mxcsr(), cw = read_x87cw();
  n_ctl_checks++;
  if (((mx >> 13) & 3) != rc_bits[mode] || ((cw >> 10) & 3) != rc_bits[mode])
    fail("x86_64: context %d %s: MXCSR %#x, x87 CW %#x, expected rounding %s",
         ctx, when, mx, cw, mode_names[mode]);
  if (third() != third_in[mode] || third_x87() != third_x87_in[mode])
    fail("x86_64: context %d %s: 1/3 not rounded %s", ctx, when, mode_names[mode]);
}

// A fresh context starts from the default control words, whatever the
// context that started it runs with.
static void check_fresh_control_words(int ctx) {
  if (read_mxcsr() != 0x1F80 || read_x87cw() != 0x037F)
    fail("x86_64: coroutine %d started with MXCSR %#x, x87 CW %#x", ctx,
         read_mxcsr(), read_x87cw());
}
#else
static const unsigned rmode_bits[4] = {1, 2, 0, 3}; // FPCR.RMode, bits 22-23

static uint64_t read_fpcr(void) {
  uint64_t v;
  __asm__ volatile("mrs %0, fpcr" : "=r"(v));
  return v;
}

static void check_control_words(int ctx, int mode, const char *when) {
  uint64_t fpcr = read_fpcr();
  n_ctl_checks++;
  if (((fpcr >> 22) & 3) != rmode_bits[mode])
    fail("arm64: context %d %s: FPCR %#llx, expected rounding %s", ctx, when,
         (unsigned long long)fpcr, mode_names[mode]);
  if (third() != third_in[mode])
    fail("arm64: context %d %s: 1/3 not rounded %s", ctx, when, mode_names[mode]);
}

// A fresh context starts from the default FPCR (all zero: round to
// nearest, no flush to zero, no traps), whatever its starter's is.
static void check_fresh_control_words(int ctx) {
  if (read_fpcr() != 0)
    fail("arm64: coroutine %d started with FPCR %#llx", ctx,
         (unsigned long long)read_fpcr());
}
#endif

// A value that every context computes the same way each round. Every step
// is exact (integers below 2^24), so the result is the same in any rounding
// mode and any corruption of a live floating-point register shows.
static double fp_step(double acc, int ctx, long round) {
  return fmod(acc * 3.0 + (double)(ctx + 1) + (double)(round & 7), 1048576.0);
}

// MARK: - Unwinding

struct walk {
  int frames;
  uintptr_t last_ip;
};
static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *uc, void *p) {
  struct walk *w = p;
  // libgcc reports one last frame with IP 0 once a frame's return address is
  // undefined; keep the last real one.
  uintptr_t ip = _Unwind_GetIP(uc);
  if (ip) w->last_ip = ip;
  if (++w->frames > 64) return _URC_NORMAL_STOP;
  return _URC_NO_REASON;
}

__attribute__((noinline)) static void check_unwind(struct coroutine *co) {
  struct walk w = {0, 0};
  _Unwind_Reason_Code rc = _Unwind_Backtrace(walk_frame, &w);
  // Frames: walk_frame's caller chain is check_unwind, check_entry, and the
  // trampoline, whose return address is just past its call of the entry.
  if (rc != _URC_END_OF_STACK || w.frames > 8)
    fail("%s: unwinding coroutine %d: reason %d after %d frames", ARCH,
         co->index, (int)rc, w.frames);
  else if (!(w.last_ip > co->tramp && w.last_ip <= co->tramp + 16))
    fail("%s: unwinding coroutine %d ended at %#lx, not in the trampoline at %#lx",
         ARCH, co->index, (unsigned long)w.last_ip, (unsigned long)co->tramp);
}

// MARK: - Coroutine body

void check_entry(void *arg) {
  uintptr_t sp = probe_entry_sp;
  struct coroutine *co = NULL;
  for (int i = 0; i < NCO; i++)
    if (arg == message(i, 0)) co = &coros[i];
  if (!co) {
    fail("%s: an entry started with argument %p, not a first message", ARCH, arg);
    printf("FAIL %s\n", ARCH);
    _exit(1);
  }
  int self = co->index;
  if (!ENTRY_SP_OK(sp))
    fail("%s: coroutine %d entered with sp %#lx, not %s", ARCH, self,
         (unsigned long)sp, ENTRY_SP_RULE);
  check_fresh_control_words(self);
  fesetround(modes[co->mode]);
  check_unwind(co);

  int next = self + 1; // NCO is main
  double acc = 1.0;    // live across every switch below
  for (long round = 0; round < ROUNDS; round++) {
    acc = fp_step(acc, self, round);
    double before = acc;
    switch_checked(self, next, round, round + 1);
    n_fp_checks++;
    if (acc != before)
      fail("%s: coroutine %d round %ld: live double changed across a switch",
           ARCH, self, round);
    check_control_words(self, co->mode, "after a switch");
  }
  co->acc = acc;
  // Done: hand control on for good (nothing resumes this context again).
  for (;;) switch_checked(self, next, ROUNDS, ROUNDS + 1);
}

// MARK: - Entry that returns

static void returning_entry(void *arg) { (void)arg; }

static void check_entry_return(void) {
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    // qemu reports the trap it delivers on stderr; the parent reports it.
    freopen("/dev/null", "w", stderr);
    static unsigned char stack[64 * 1024] __attribute__((aligned(16)));
    static void *self_sp;
    void *sp = gr_prepare_stack(stack + sizeof stack, returning_entry);
    gr_switch(&self_sp, sp, NULL);
    _exit(0); // not reached if the trampoline traps
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != ENTRY_RETURN_SIGNAL)
    fail("%s: an entry that returns: child status %#x, expected death by signal %d",
         ARCH, status, ENTRY_RETURN_SIGNAL);
  else
    printf("  entry that returns: trapped with signal %d (%s)\n",
           WTERMSIG(status), strsignal(WTERMSIG(status)));
}

// MARK: - Main

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("context switch check, %s\n", ARCH);

  for (int m = 0; m < 4; m++) {
    fesetround(modes[m]);
    third_in[m] = third();
#if defined(__x86_64__)
    third_x87_in[m] = third_x87();
#endif
  }
  if (third_in[0] == third_in[1])
    fail("%s: rounding modes have no effect on 1/3; the check proves nothing", ARCH);
#if defined(__x86_64__)
  if (third_x87_in[0] == third_x87_in[1])
    fail("x86_64: rounding modes have no effect on x87 1/3; the check proves nothing");
#endif
  // Main runs toward zero; coroutines upward, downward, to nearest.
  for (int i = 0; i < NCO; i++) coros[i].mode = i;
  const int main_mode = 3;
  fesetround(modes[main_mode]);

  for (int i = 0; i < NCO; i++) {
    stacks[i] = aligned_alloc(16, STACK_SIZE + 64);
    if (!stacks[i]) return 2;
    // A top that is not even 8-byte aligned; gr_prepare_stack aligns it.
    unsigned char *top = stacks[i] + STACK_SIZE - 8 * (i + 1) + 3;
    // Junk below the top, as on a reused stack: gr_prepare_stack must lay
    // out everything the first switch loads.
    memset(stacks[i], 0x5A, (size_t)(((uintptr_t)top & ~(uintptr_t)15) - (uintptr_t)stacks[i]));
    // Junk from the aligned top upward: a walk that runs past the
    // trampoline reads it as a return address instead of a harmless zero.
    memset((void *)((uintptr_t)top & ~(uintptr_t)15), FILL, FILL_BYTES);
    coros[i].index = i;
    co_sp[i] = gr_prepare_stack(top, probe_entry);
    if ((uintptr_t)co_sp[i] % 16 != 0)
      fail("%s: gr_prepare_stack returned %p, not 16-byte aligned", ARCH, co_sp[i]);
    if ((uintptr_t)co_sp[i] >= (uintptr_t)top || (uintptr_t)top - (uintptr_t)co_sp[i] > 256)
      fail("%s: gr_prepare_stack returned %p for top %p", ARCH, co_sp[i], (void *)top);
    coros[i].tramp = ((uintptr_t *)co_sp[i])[TRAMPOLINE_SLOT];
    for (int k = 0; k < 32; k++)
      if (top[k] != FILL)
        fail("%s: gr_prepare_stack wrote at or above the top it was given", ARCH);
  }

  double acc = 3.0;
  for (long round = 0; round < ROUNDS; round++) {
    acc = fp_step(acc, NCO, round);
    double before = acc;
    switch_checked(NCO, 0, round, round);
    n_fp_checks++;
    if (acc != before)
      fail("%s: main round %ld: live double changed across a switch", ARCH, round);
    check_control_words(NCO, main_mode, "after a round");
  }

  // Each context carried its own accumulator through all rounds: compare
  // with the same steps done here without switches.
  double want_main = 3.0;
  for (long round = 0; round < ROUNDS; round++)
    want_main = fp_step(want_main, NCO, round);
  if (acc != want_main)
    fail("%s: main's floating-point result %.17g, expected %.17g", ARCH, acc,
         want_main);
  // One more trip round the ring lets each coroutine leave its loop and
  // record its accumulator.
  switch_checked(NCO, 0, ROUNDS, ROUNDS);
  for (int i = 0; i < NCO; i++) {
    double want = 1.0;
    for (long round = 0; round < ROUNDS; round++) want = fp_step(want, i, round);
    n_fp_checks++;
    if (coros[i].acc != want)
      fail("%s: coroutine %d's floating-point result %.17g, expected %.17g", ARCH,
           i, coros[i].acc, want);
  }

  for (int i = 0; i < NCO; i++) {
    unsigned char *top = stacks[i] + STACK_SIZE - 8 * (i + 1) + 3;
    for (int k = 0; k < 32; k++)
      if (top[k] != FILL)
        fail("%s: coroutine %d wrote at or above its stack top", ARCH, i);
  }

  fesetround(FE_TONEAREST);
  check_entry_return();

  printf("  %d coroutines in a ring with main, %ld switches, %ld register "
         "checks, %ld floating-point checks, %ld control-word checks\n",
         NCO, n_switches, n_reg_checks, n_fp_checks, n_ctl_checks);
  if (failures) {
    printf("FAIL %s: %d failures\n", ARCH, failures);
    return 1;
  }
  printf("PASS %s\n", ARCH);
  return 0;
}
