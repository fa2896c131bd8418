/*
 * boot.S - multiboot v1 entry, the switch to the higher half, interrupt entry and exit,
 * and the kernel context switch.
 *
 * The kernel is linked at 0xC0100000 and loaded at 1 MiB (linker.ld), so until paging is on
 * only position-independent code and explicit "symbol - KBASE" addresses may be used.  The
 * boot page directory maps the first 8 MiB twice with 4 MiB pages: identity (for the few
 * instructions between setting CR0.PG and the jump to the high address) and at KBASE.
 * mm_init() then builds the real kernel directory covering all RAM, without the identity
 * part, and switches to it.
 *
 * Interrupt entry: 256 stubs of 16 bytes (isr_stubs + 16 * vector) push a zero error code
 * where the CPU pushes none, then the vector, and join isr_common, which saves the registers
 * as struct trap_frame (kernel.h), loads the kernel data segments and calls
 * trap_dispatch(frame).  trap_return pops such a frame and IRETs; a new process's first
 * kernel-stack "return address" is trap_return (proc.c).
 */
#include "pvops.h"

#define KBASE    0xC0000000
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* modules page-aligned, memory information wanted */
#define KDATA    0x10
#define PDE_4M   0x83       /* present, writable, 4 MiB */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	PV_BOOT_CLI
	movl %eax, %esi            /* magic; PV_BOOT_PAGING clobbers EAX (PV: ECX, EDX) */
	movl $(boot_pd - KBASE), %edi
	movl $PDE_4M, (%edi)
	movl $(0x400000 + PDE_4M), 4(%edi)
	movl $PDE_4M, (768 * 4)(%edi)
	movl $(0x400000 + PDE_4M), (769 * 4)(%edi)
	PV_BOOT_PAGING $(boot_pd - KBASE)
	movl $1f, %ecx
	jmp *%ecx                  /* to the high address */
1:	movl $boot_stack_top, %esp
	pushl $0
	popfl                      /* IF=0, DF=0, IOPL=0 */
	pushl %ebx                 /* multiboot info, physical */
	pushl %esi                 /* magic */
	call kmain
2:	PV_CLI
	PV_HLT
	jmp 2b

	.globl isr_stubs
	.align 16
isr_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushl $0
	.endif
	pushl $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	pushal
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	movw $KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	cld
	pushl %esp
	call trap_dispatch
	addl $4, %esp
	.globl trap_return
trap_return:
	popl %gs
	popl %fs
	popl %es
	popl %ds
	popal
	addl $8, %esp              /* vector and error code */
	PV_IRET

/* void swtch(uint32_t *save_esp, uint32_t new_esp): save the callee-saved registers on this
 * stack, store ESP, switch to new_esp and pop the same frame there. */
	.globl swtch
swtch:
	movl 4(%esp), %eax
	movl 8(%esp), %edx
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, (%eax)
	movl %edx, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.bss
	.align 4096
	.globl boot_pd
boot_pd:
	.space 4096
boot_stack:
	.space 16384
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
