/*
 * boot.S - the bare image's entry point.  The image runs where it is loaded (1 MiB, paging
 * off), so there is nothing to do before C but to turn interrupts off; the multiboot
 * header, boot stack and interrupt entry path are shared (guest/common/entry.S).
 */
#include "pvops.h"

	.text
	.globl _start
_start:
	PV_CLI
	jmp boot_main              /* EAX = magic, EBX = multiboot info, untouched */

	.section .note.GNU-stack, "", @progbits
