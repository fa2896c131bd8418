/*
 * native_entry.S - the native runner's way into and out of a test instruction (i386).
 *
 * nr_enter saves the host's callee-saved registers, ESP and segment selectors, loads the
 * case's x87/SSE image (FXRSTOR), EFLAGS (through a private stack), the test's segment
 * selectors and finally the eight GPRs, and jumps to the instruction at ISA_CODE.  Once
 * DS, ES or SS may carry a non-zero base, every load it still makes uses a CS override
 * (CS is flat and readable).
 *
 * The instruction ends in an exit pad (built by native_runner.c at each landing offset):
 * the pad makes DS flat, records its offset in nr_landing and jumps to nr_exit, which
 * stores the GPRs and EFLAGS, restores the host segments, saves the x87/SSE image
 * (FXSAVE), loads a clean one and returns 0.  A fault in the instruction goes through the
 * runner's signal handler instead, which records the state from the signal context and
 * resumes at nr_fault_resume with host segments and the private stack: that path saves the
 * image the same way and returns 1.
 */
	.text
	.globl nr_enter
	.type nr_enter,@function
nr_enter:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov %esp, nr_host_esp
	movw %ds, nr_host_ds
	movw %es, nr_host_es
	movw %fs, nr_host_fs
	movw %gs, nr_host_gs
	movw %ss, nr_host_ss
	fxrstor nr_fpu_in
	mov $nr_tmp_stack+4096, %esp
	pushl nr_in_eflags
	popfl
	movw nr_sel_es, %es
	movw nr_sel_fs, %fs
	movw nr_sel_gs, %gs
	movw nr_sel_ss, %ss
	movw nr_sel_ds, %ds
	mov %cs:nr_in_regs+0, %eax
	mov %cs:nr_in_regs+4, %ecx
	mov %cs:nr_in_regs+8, %edx
	mov %cs:nr_in_regs+12, %ebx
	mov %cs:nr_in_regs+16, %esp
	mov %cs:nr_in_regs+20, %ebp
	mov %cs:nr_in_regs+24, %esi
	mov %cs:nr_in_regs+28, %edi
	jmp *%cs:nr_code_ptr
	.size nr_enter, .-nr_enter

	.globl nr_exit
	.type nr_exit,@function
nr_exit:
	mov %eax, nr_out_regs+0
	mov %ecx, nr_out_regs+4
	mov %edx, nr_out_regs+8
	mov %ebx, nr_out_regs+12
	mov %esp, nr_out_regs+16
	mov %ebp, nr_out_regs+20
	mov %esi, nr_out_regs+24
	mov %edi, nr_out_regs+28
	movw nr_host_ss, %ss
	mov $nr_tmp_stack+4096, %esp
	pushfl
	popl nr_out_eflags
	movw nr_host_es, %es
	movw nr_host_fs, %fs
	movw nr_host_gs, %gs
	xor %eax, %eax
	jmp 1f

	.globl nr_fault_resume
nr_fault_resume:
	mov $1, %eax
1:	cld
	fxsave nr_fpu_out
	fxrstor nr_fpu_clean
	mov nr_host_esp, %esp
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret
	.globl nr_entry_end
nr_entry_end:
	.size nr_exit, .-nr_exit

	.section .note.GNU-stack,"",@progbits
