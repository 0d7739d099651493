// Context switch for arm64 (AAPCS64).
//
// A switch is an ordinary function call, so only the callee-saved state has
// to survive it: x19-x28, the frame pointer (x29), the link register (x30),
// the stack pointer, and the low halves of v8-v15 (d8-d15). FPCR (rounding
// mode, flush to zero, traps) is saved too, so that each goroutine keeps its
// own floating-point mode wherever it resumes, as MXCSR and the x87 control
// word do on x86_64. The saved frame, from the new stack pointer upward, is
// 176 bytes (a multiple of 16, as sp must stay 16-byte aligned):
//
//   [sp+0]   x19 x20    [sp+16]  x21 x22    [sp+32]  x23 x24
//   [sp+48]  x25 x26    [sp+64]  x27 x28    [sp+80]  x29 x30
//   [sp+96]  d8  d9     [sp+112] d10 d11    [sp+128] d12 d13
//   [sp+144] d14 d15    [sp+160] FPCR pad
//
// FPCR is read on every switch but written only when the incoming value
// differs from the live one (a write may synchronize the pipeline).
// Returning through x30 resumes the other side. No signal mask is saved.

#if defined(__aarch64__)

        .text

// void *gr_switch(void **save_sp, void *new_sp, void *arg)
        .globl  gr_switch
        .type   gr_switch, %function
        .p2align 4
gr_switch:
        .cfi_startproc
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8,  d9,  [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x10, fpcr
        str     x10, [sp, #160]
        mov     x9, sp
        str     x9, [x0]

        mov     sp, x1
        ldr     x11, [sp, #160]
        cmp     x11, x10
        b.eq    1f
        msr     fpcr, x11
1:      ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        mov     x0, x2
        ret
        .cfi_endproc
        .size   gr_switch, .-gr_switch

// First code run on a fresh stack. gr_prepare_stack leaves the entry
// function in x19; the switch left its third argument in x0.
        .type   gr_trampoline, %function
        .p2align 4
gr_trampoline:
        .cfi_startproc
        .cfi_undefined x30
        blr     x19
        brk     #0
        .cfi_endproc
        .size   gr_trampoline, .-gr_trampoline

// void *gr_prepare_stack(void *stack_top, void (*entry)(void *))
        .globl  gr_prepare_stack
        .type   gr_prepare_stack, %function
        .p2align 4
gr_prepare_stack:
        .cfi_startproc
        and     x0, x0, #~15
        sub     x0, x0, #176
        // Zero the whole frame: callee-saved registers start at zero, a
        // zero frame pointer ends frame-pointer walks, and FPCR starts at
        // its default (round to nearest, no flush to zero, no traps).
        mov     x9, #0
1:      str     xzr, [x0, x9]
        add     x9, x9, #8
        cmp     x9, #176
        b.lo    1b
        str     x1, [x0, #0]            // x19: entry
        adr     x10, gr_trampoline
        str     x10, [x0, #88]          // x30: return into the trampoline
        ret
        .cfi_endproc
        .size   gr_prepare_stack, .-gr_prepare_stack

#endif

        .section .note.GNU-stack,"",%progbits
