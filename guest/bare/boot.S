/*
 * boot.S - multiboot v1 entry, the boot stack, and the interrupt entry path.
 *
 * The boot loader (qemu-system-i386 -kernel, vmm386, GRUB) enters _start in 32-bit protected
 * mode with paging off, EAX = 0x2BADB002 and EBX = the multiboot information.  Its GDT is not
 * ours to keep: desc_init() loads the kernel's own before any interrupt is enabled.
 *
 * Interrupt entry: 256 stubs of 16 bytes each (isr_stubs + 16 * vector) push a zero error
 * code where the CPU pushes none, then the vector, and join isr_common, which saves the
 * registers in struct trap_frame order (kernel.h), calls trap_dispatch(frame) with the
 * kernel's data segments loaded, and returns through PV_IRET.
 */
#include "pvops.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* modules page-aligned, memory information wanted */
#define KDATA    0x10

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	PV_CLI
	movl $boot_stack_top, %esp
	pushl $0
	popfl                      /* known EFLAGS: IF=0, DF=0, IOPL=0 */
	pushl %ebx                 /* multiboot info */
	pushl %eax                 /* magic */
	call kmain
1:	PV_CLI
	PV_HLT
	jmp 1b

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
	popl %gs
	popl %fs
	popl %es
	popl %ds
	popal
	addl $8, %esp              /* vector and error code */
	PV_IRET

	.bss
	.align 4096
	.globl boot_stack_top
boot_stack:
	.space 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
