/*
 * boot.S - the kernel's entry point (the switch to the higher half) and its context switch.
 * The multiboot header, boot stack, call of kmain and the interrupt entry and exit path are
 * shared with the bare image (guest/common/entry.S).
 *
 * The kernel is linked at 0xC0100000 and loaded at 1 MiB (linker.ld), so until paging is on
 * only position-independent code and explicit "symbol - KBASE" addresses may be used.  The
 * boot page directory maps the first 8 MiB twice with 4 MiB pages: identity (for the few
 * instructions between setting CR0.PG and the jump to the high address) and at KBASE.
 * mm_init() then builds the real kernel directory covering all RAM, without the identity
 * part, and switches to it.
 */
#include "pvops.h"

#define KBASE    0xC0000000
#define PDE_4M   0x83       /* present, writable, 4 MiB */

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
	movl %esi, %eax            /* boot_main wants the magic in EAX, the multiboot info in EBX */
	movl $boot_main, %ecx
	jmp *%ecx                  /* to the high address (guest/common/entry.S) */

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

	.section .note.GNU-stack, "", @progbits
