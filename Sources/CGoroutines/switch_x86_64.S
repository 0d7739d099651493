// Context switch for x86_64 (System V ABI).
//
// A switch is an ordinary function call, so only the callee-saved state has
// to survive it: rbx, rbp, r12-r15, the stack pointer, and the two control
// words the ABI calls callee-saved (MXCSR and the x87 control word). The
// saved frame, from the new stack pointer upward, is:
//
//   [sp+0]  MXCSR (4 bytes) | x87 control word (2 bytes) | pad
//   [sp+8]  r15   [sp+16] r14   [sp+24] r13   [sp+32] r12
//   [sp+40] rbx   [sp+48] rbp   [sp+56] return address
//
// The control words are saved on every switch but loaded only when the
// incoming goroutine's differ from the live ones. No signal mask is saved:
// that would cost a system call per switch.

#if defined(__x86_64__)

        .text

// void *gr_switch(void **save_sp, void *new_sp, void *arg)
        .globl  gr_switch
        .type   gr_switch, @function
        .p2align 4
gr_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %ecx            // the live control words, kept
        movzwl  4(%rsp), %r8d           // for the comparisons below
        movq    %rsp, (%rdi)

        movq    %rsi, %rsp
        // Loading a control word stalls the pipeline (fldcw alone costs more
        // than the rest of the switch), and nearly always the incoming value
        // equals the live one: load each only when it differs.
        cmpl    (%rsp), %ecx
        je      1f
        ldmxcsr (%rsp)
1:      cmpw    4(%rsp), %r8w
        je      2f
        fldcw   4(%rsp)
2:      addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        movq    %rdx, %rax
        ret
        .cfi_endproc
        .size   gr_switch, .-gr_switch

// First code run on a fresh stack. gr_prepare_stack leaves the entry
// function in r12; the switch left its third argument in rax. The stack
// pointer is 16-byte aligned here, as a call requires.
        .type   gr_trampoline, @function
        .p2align 4
gr_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        movq    %rax, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   gr_trampoline, .-gr_trampoline

// void *gr_prepare_stack(void *stack_top, void (*entry)(void *))
        .globl  gr_prepare_stack
        .type   gr_prepare_stack, @function
        .p2align 4
gr_prepare_stack:
        .cfi_startproc
        movq    %rdi, %rax
        andq    $-16, %rax
        leaq    gr_trampoline(%rip), %rcx
        movq    %rcx, -8(%rax)          // return address
        movq    $0, -16(%rax)           // rbp: ends frame-pointer walks
        movq    $0, -24(%rax)           // rbx
        movq    %rsi, -32(%rax)         // r12: entry
        movq    $0, -40(%rax)           // r13
        movq    $0, -48(%rax)           // r14
        movq    $0, -56(%rax)           // r15
        movl    $0x1F80, -64(%rax)      // MXCSR: default, all exceptions masked
        movw    $0x037F, -60(%rax)      // x87 control word: default
        movw    $0, -58(%rax)
        subq    $64, %rax
        ret
        .cfi_endproc
        .size   gr_prepare_stack, .-gr_prepare_stack

#endif

        .section .note.GNU-stack,"",@progbits
