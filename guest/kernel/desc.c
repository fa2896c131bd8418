/*
 * desc.c - GDT (flat ring-0 and ring-3 code and data, one TSS) and IDT.
 *
 * Every IDT entry used is an interrupt gate, so the kernel is always entered with IF=0 (the
 * kernel is not preemptible, kernel.h).  Exceptions and IRQs have DPL 0, so a user-mode
 * INT n on them is a #GP; INT 0x80 has DPL 3.  Descriptors the kernel loads are created with
 * the accessed bit set, so the CPU never writes the GDT behind our back.
 */
#include "kernel.h"

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
struct tss tss;
extern char boot_stack_top[];

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	uint32_t lo = (limit & 0xFFFF) | (base & 0xFFFF) << 16;
	uint32_t hi = ((base >> 16) & 0xFF) | (uint32_t)access << 8 | (limit & 0xF0000) |
		      (uint32_t)(flags & 0xF) << 20 | (base & 0xFF000000);
	return (uint64_t)hi << 32 | lo;
}

static uint64_t gate_desc(uint16_t sel, uint32_t offset, uint8_t access)
{
	uint32_t lo = (offset & 0xFFFF) | (uint32_t)sel << 16;
	uint32_t hi = (offset & 0xFFFF0000) | (uint32_t)access << 8;
	return (uint64_t)hi << 32 | lo;
}

void desc_init(void)
{
	gdt[0] = 0;
	gdt[SEL_KCODE / 8] = seg_desc(0, 0xFFFFF, 0x9B, 0xC);
	gdt[SEL_KDATA / 8] = seg_desc(0, 0xFFFFF, 0x93, 0xC);
	gdt[SEL_UCODE / 8] = seg_desc(0, 0xFFFFF, 0xFB, 0xC);
	gdt[SEL_UDATA / 8] = seg_desc(0, 0xFFFFF, 0xF3, 0xC);
	gdt[SEL_TSS / 8]   = seg_desc((uint32_t)&tss, sizeof(tss) - 1, 0x89, 0);
	tss.ss0 = SEL_KDATA;
	tss.esp0 = (uint32_t)boot_stack_top;
	tss.iomap = sizeof(struct tss);        /* no I/O bitmap: no port access from CPL 3 */

	struct pv_dtr g = { sizeof(gdt) - 1, (uint32_t)gdt };
	pv_lgdt(&g);
	/* Reloading segment registers is not privileged; only the LGDT above is. */
	asm volatile("ljmp %0, $1f\n1:\n\t"
		     "movw %w1, %%ax\n\t"
		     "movw %%ax, %%ds\n\tmovw %%ax, %%es\n\tmovw %%ax, %%fs\n\t"
		     "movw %%ax, %%gs\n\tmovw %%ax, %%ss"
		     :: "i"(SEL_KCODE), "i"(SEL_KDATA) : "eax", "memory");
	pv_ltr(SEL_TSS);

	for (int v = 0; v < 0x30; v++)
		idt[v] = gate_desc(SEL_KCODE, (uint32_t)isr_stubs + 16 * v, 0x8E);
	idt[VEC_SYSCALL] = gate_desc(SEL_KCODE, (uint32_t)isr_stubs + 16 * VEC_SYSCALL, 0xEE);
	struct pv_dtr i = { sizeof(idt) - 1, (uint32_t)idt };
	pv_lidt(&i);
}
