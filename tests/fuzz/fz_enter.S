/*
 * fz_enter.S - xl_enter() wrapped in a host-stack canary, for the fuzz target.
 *
 *   unsigned fz_enter(struct vcpu *c, const void *code, void *window);
 *
 * Translated code runs on the monitor's stack (RSP = vcpu->host_rsp) and may touch exactly
 * one slot below it (the PUSHF/POPF pair of a segment-limit check, and xl_exit's PUSHFQ).
 * A guest PUSH or CALL that reached the host stack untranslated would write further down.
 * So before entering, FZ_CANARY bytes of stack starting FZ_SKIP bytes below our own stack
 * pointer (below xl_enter's frame, the slot, and a margin) are filled with a pattern, and
 * after xl_enter returns they are compared.  Nothing else may write there in between:
 * this code makes no calls but xl_enter, and every signal handler of the fuzz process runs
 * on the alternate signal stack (SA_ONSTACK; the harness enforces it).  The number of
 * damaged 8-byte words is stored in fz_canary_damage (0 when all is well).
 */
#define FZ_SKIP    96      /* ret addr 8 + xl_enter pushes 56 + flags slot 8 + margin */
#define FZ_CANARY  2048
#define FZ_PATTERN 0x5A17C0DECAFE5A17

	.text
	.globl fz_enter
	.type fz_enter,@function
fz_enter:
	push %rbx
	push %r12
	push %r13                       /* rsp is 16-byte aligned again for the call */
	mov %rdi, %rbx
	mov %rsi, %r12
	mov %rdx, %r13
	lea -(FZ_SKIP + FZ_CANARY)(%rsp), %rdi
	mov $(FZ_CANARY / 8), %ecx
	movabs $FZ_PATTERN, %rax
	cld
	rep stosq
	mov %rbx, %rdi
	mov %r12, %rsi
	mov %r13, %rdx
	call xl_enter
	mov %eax, %r12d
	lea -(FZ_SKIP + FZ_CANARY)(%rsp), %rdi
	mov $(FZ_CANARY / 8), %ecx
	movabs $FZ_PATTERN, %rax
	xor %edx, %edx
1:	cmp %rax, (%rdi)
	je 2f
	inc %edx
2:	add $8, %rdi
	dec %ecx
	jnz 1b
	mov %edx, fz_canary_damage(%rip)
	mov %r12d, %eax
	pop %r13
	pop %r12
	pop %rbx
	ret
	.size fz_enter, .-fz_enter

	.section .note.GNU-stack,"",@progbits
