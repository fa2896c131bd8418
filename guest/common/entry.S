/*
 * entry.S - what every guest image shares on the way in: the multiboot v1 header, the
 * boot stack and the call of kmain, and the interrupt entry and exit path.
 *
 * The image's own boot.S provides _start (the ELF entry point).  The boot loader
 * (qemu-system-i386 -kernel, vmm386, GRUB) enters it in 32-bit protected mode with paging
 * off, EAX = 0x2BADB002 and EBX = the multiboot information.  _start does what the image
 * needs before C can run (the kernel switches to the higher half) and jumps to boot_main
 * with interrupts off, EAX and EBX as the loader left them, at the address the image is
 * linked at.  boot_main calls kmain(magic, mbi) on boot_stack and stops if it returns.
 * The loader's GDT is not ours to keep: desc_init() (desc.c) loads the image's own before
 * any interrupt is enabled.
 *
 * Interrupt entry: 256 stubs of 16 bytes each (isr_stubs + 16 * vector) push a zero error
 * code where the CPU pushes none, then the vector, and join isr_common, which saves the
 * registers as struct trap_frame (x86.h), loads the kernel data segments and calls the
 * image's trap_dispatch(frame).  trap_return pops such a frame and returns through
 * PV_IRET; a new process's first kernel-stack "return address" is trap_return.
 *
 * Built once per image with that image's pvops.h (PV_CLI, PV_HLT, PV_IRET).
 */
#include "pvops.h"
#include "x86.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* modules page-aligned, memory information wanted */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl boot_main
boot_main:
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
	movw $SEL_KDATA, %ax
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

	.bss
	.align 4096
boot_stack:
	.space 16384
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
