// Helpers for switch_check.c, kept in assembly so that the registers under
// test hold exactly the values the check chose while gr_switch runs.
//
// void *probe_switch(void **save_sp, void *new_sp, void *arg,
//                    const uint64_t *in, uint64_t *out)
//   Saves the real callee-saved registers, loads every callee-saved register
//   from `in` (see PROBE_* in switch_check.c for the order), calls
//   gr_switch(save_sp, new_sp, arg), and when that returns writes the same
//   registers to `out`, followed by the stack pointer after the call and the
//   stack pointer before it. Returns what gr_switch returned.
//
// void probe_entry(void *arg)
//   An entry for gr_prepare_stack: records the stack pointer at its first
//   instruction in probe_entry_sp and tail-calls check_entry(arg).

#if defined(__aarch64__)

        .text
        .globl  probe_switch
        .hidden probe_switch
        .type   probe_switch, %function
        .p2align 4
probe_switch:
        stp     x29, x30, [sp, #-176]!
        mov     x29, sp
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        stp     d8,  d9,  [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        str     x4,  [sp, #160]         // out
        mov     x9, sp
        str     x9,  [sp, #168]         // sp before the call

        ldp     x19, x20, [x3, #0]
        ldp     x21, x22, [x3, #16]
        ldp     x23, x24, [x3, #32]
        ldp     x25, x26, [x3, #48]
        ldp     x27, x28, [x3, #64]
        ldp     d8,  d9,  [x3, #88]
        ldp     d10, d11, [x3, #104]
        ldp     d12, d13, [x3, #120]
        ldp     d14, d15, [x3, #136]
        ldr     x29, [x3, #80]          // frame pointer last
        bl      gr_switch

        ldr     x9,  [sp, #160]
        stp     x19, x20, [x9, #0]
        stp     x21, x22, [x9, #16]
        stp     x23, x24, [x9, #32]
        stp     x25, x26, [x9, #48]
        stp     x27, x28, [x9, #64]
        str     x29, [x9, #80]
        stp     d8,  d9,  [x9, #88]
        stp     d10, d11, [x9, #104]
        stp     d12, d13, [x9, #120]
        stp     d14, d15, [x9, #136]
        mov     x10, sp
        ldr     x11, [sp, #168]
        stp     x10, x11, [x9, #152]

        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldp     x29, x30, [sp], #176
        ret
        .size   probe_switch, .-probe_switch

        .globl  probe_entry
        .hidden probe_entry
        .type   probe_entry, %function
        .p2align 4
probe_entry:
        mov     x9, sp
        adrp    x10, probe_entry_sp
        str     x9, [x10, :lo12:probe_entry_sp]
        b       check_entry
        .size   probe_entry, .-probe_entry

#elif defined(__x86_64__)

        .text
        .globl  probe_switch
        .hidden probe_switch
        .type   probe_switch, @function
        .p2align 4
probe_switch:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        pushq   %r8                     // out
        subq    $16, %rsp
        movq    %rsp, (%rsp)            // sp before the call

        movq    0(%rcx), %rbx
        movq    8(%rcx), %r12
        movq    16(%rcx), %r13
        movq    24(%rcx), %r14
        movq    32(%rcx), %r15
        movq    40(%rcx), %rbp
        call    gr_switch

        movq    16(%rsp), %r8
        movq    %rbx, 0(%r8)
        movq    %r12, 8(%r8)
        movq    %r13, 16(%r8)
        movq    %r14, 24(%r8)
        movq    %r15, 32(%r8)
        movq    %rbp, 40(%r8)
        movq    %rsp, 48(%r8)
        movq    (%rsp), %rcx
        movq    %rcx, 56(%r8)

        addq    $24, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   probe_switch, .-probe_switch

        .globl  probe_entry
        .hidden probe_entry
        .type   probe_entry, @function
        .p2align 4
probe_entry:
        movq    %rsp, probe_entry_sp(%rip)
        jmp     check_entry
        .size   probe_entry, .-probe_entry

#endif

        .section .note.GNU-stack,"",%progbits
