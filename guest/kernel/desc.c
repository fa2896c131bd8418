/*
 * desc.c - the kernel's additions to the shared GDT and IDT (guest/common/desc.c): the GDT
 * is just the flat segments and the TSS; the IDT adds the system-call gate, INT 0x80 with
 * DPL 3.  Like every other gate it is an interrupt gate, so the kernel is always entered
 * with IF=0 (the kernel is not preemptible, kernel.h).
 */
#include "kernel.h"

void desc_image_gdt(void) {}

void desc_image_idt(void)
{
	idt_set_gate(VEC_SYSCALL, (uint32_t)isr_stubs + 16 * VEC_SYSCALL, 0xEE);
}
