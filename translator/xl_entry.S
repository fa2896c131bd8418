/*
 * xl_entry.S - the only way into and out of translated code.
 *
 * xl_enter saves the host's callee-saved registers on the monitor stack, remembers the
 * stack pointer in vcpu->host_rsp, loads GS base and R15 with the window base, restores
 * the guest's x87/SSE state, loads the guest GPRs (ESP into R12) and the guest's
 * arithmetic flags and DF into RFLAGS, and jumps to the block.
 *
 * Translated code leaves by jumping to xl_exit with vcpu->eip and vcpu->exit_reason
 * already stored; xl_exit stores the GPRs and merges the host arithmetic flags into
 * vcpu->eflags (virtual IF/IOPL stay as the monitor keeps them), then falls into xl_leave.
 * The signal handler, which stores the guest state from the signal context itself,
 * resumes at xl_leave.  xl_leave saves the guest FPU state, resets the x87 and MXCSR
 * control state for the monitor, restores the host registers and returns exit_reason.
 *
 * FPU state: XRSTOR on entry and XSAVEOPT on exit (x87 + SSE only, image in vcpu->fpu with
 * an XSAVE header after the 512-byte FXSAVE64 part).  XSAVEOPT writes nothing when the guest
 * did not touch x87/SSE since the XRSTOR, which is the common case for kernel code; the
 * header's XSTATE_BV is forced to 3 before each XRSTOR so that changes the emulator made
 * to the image are always loaded.  The monitor itself is built -mgeneral-regs-only; the
 * SIMD registers libc's string functions use are the guest's only while saved in the
 * image, so nothing is lost.  Measured: the FXSAVE+FXRSTOR(host)+FXRSTOR(guest) of the
 * first version were 21% of a syscall-heavy run's profile.
 */
#include "xl_asm.h"

#define FL_HOST 0xCD5   /* CF PF AF ZF SF DF OF */

	.text
	.globl xl_enter
	.type xl_enter,@function
xl_enter:				/* rdi = vcpu, rsi = code, rdx = window */
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	sub $8, %rsp
	mov %rdi, %r13
	mov %rsp, VC_HOST_RSP(%r13)
	wrgsbase %rdx
	mov %rdx, %r15
	mov %rsi, %r14
	orb $3, VC_FPU+512(%r13)	/* XSTATE_BV: x87 and SSE come from the image */
	mov $3, %eax
	xor %edx, %edx
	xrstor64 VC_FPU(%r13)
	mov VC_EFLAGS(%r13), %eax
	and $FL_HOST, %eax
	or $2, %eax
	push %rax
	mov VC_REGS+0(%r13), %eax
	mov VC_REGS+4(%r13), %ecx
	mov VC_REGS+8(%r13), %edx
	mov VC_REGS+12(%r13), %ebx
	mov VC_REGS+16(%r13), %r12d
	mov VC_REGS+20(%r13), %ebp
	mov VC_REGS+24(%r13), %esi
	mov VC_REGS+28(%r13), %edi
	popfq
	jmp *%r14
	.size xl_enter, .-xl_enter

	.globl xl_exit
	.type xl_exit,@function
xl_exit:
	mov %eax, VC_REGS+0(%r13)
	mov %ecx, VC_REGS+4(%r13)
	mov %edx, VC_REGS+8(%r13)
	mov %ebx, VC_REGS+12(%r13)
	mov %r12d, VC_REGS+16(%r13)
	mov %ebp, VC_REGS+20(%r13)
	mov %esi, VC_REGS+24(%r13)
	mov %edi, VC_REGS+28(%r13)
	pushfq
	pop %r14
	and $FL_HOST, %r14d
	mov VC_EFLAGS(%r13), %eax
	and $~FL_HOST, %eax
	or %r14d, %eax
	mov %eax, VC_EFLAGS(%r13)
	.globl xl_leave
xl_leave:
	mov VC_HOST_RSP(%r13), %rsp
	mov $3, %eax
	xor %edx, %edx
	xsaveopt64 VC_FPU(%r13)		/* skipped by the CPU if the guest left x87/SSE alone */
	fninit				/* the monitor's own x87/SSE control state */
	ldmxcsr xl_host_fpu+24(%rip)
	cld
	mov VC_EXIT_REASON(%r13), %eax
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret
	.size xl_exit, .-xl_exit

	.section .note.GNU-stack,"",@progbits
