/*
 * desc.c - the GDT, the IDT and the TSS, shared by every guest image (desc.h).
 *
 * Every descriptor the kernel itself loads is created with the accessed bit already set,
 * so the CPU never has to write the GDT behind our back.  Exceptions and IRQs get
 * interrupt gates with DPL 0, so the kernel is entered with IF=0 and a user-mode INT n on
 * them is a #GP; the image adds its own gates (the system call, the self test's vectors)
 * in desc_image_idt().  Every other vector is not present.
 *
 * Built once per image, with that image's pvops.h: LGDT, LTR and LIDT are pv-ops.
 */
#include "kernel.h"
#include "pvops.h"

uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
uint64_t idt[256] __attribute__((aligned(8)));
struct tss tss;

uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	uint32_t lo = (limit & 0xFFFF) | (base & 0xFFFF) << 16;
	uint32_t hi = ((base >> 16) & 0xFF) | (uint32_t)access << 8 | (limit & 0xF0000) |
		      (uint32_t)(flags & 0xF) << 20 | (base & 0xFF000000);
	return (uint64_t)hi << 32 | lo;
}

uint64_t gate_desc(uint16_t sel, uint32_t offset, uint8_t access)
{
	uint32_t lo = (offset & 0xFFFF) | (uint32_t)sel << 16;
	uint32_t hi = (offset & 0xFFFF0000) | (uint32_t)access << 8;
	return (uint64_t)hi << 32 | lo;
}

void gdt_load(const uint64_t *table, uint16_t limit)
{
	struct pv_dtr d = { limit, (uint32_t)table };
	pv_lgdt(&d);
	/* Reloading segment registers is not privileged; only the LGDT above is. */
	asm volatile("ljmp %0, $1f\n1:\n\t"
		     "movw %w1, %%ax\n\t"
		     "movw %%ax, %%ds\n\tmovw %%ax, %%es\n\tmovw %%ax, %%fs\n\t"
		     "movw %%ax, %%gs\n\tmovw %%ax, %%ss"
		     :: "i"(SEL_KCODE), "i"(SEL_KDATA) : "eax", "memory");
}

void idt_set_gate(int vec, uint32_t handler, uint8_t type_attr)
{
	idt[vec] = gate_desc(SEL_KCODE, handler, type_attr);
}

static void gdt_init(void)
{
	gdt[SEL_NULL / 8]  = 0;
	gdt[SEL_KCODE / 8] = seg_desc(0, 0xFFFFF, 0x9B, 0xC);
	gdt[SEL_KDATA / 8] = seg_desc(0, 0xFFFFF, 0x93, 0xC);
	gdt[SEL_UCODE / 8] = seg_desc(0, 0xFFFFF, 0xFB, 0xC);
	gdt[SEL_UDATA / 8] = seg_desc(0, 0xFFFFF, 0xF3, 0xC);
	gdt[SEL_TSS / 8]   = seg_desc((uint32_t)&tss, sizeof(tss) - 1, 0x89, 0);
	tss.ss0 = SEL_KDATA;
	tss.esp0 = (uint32_t)boot_stack_top;
	tss.iomap = sizeof(struct tss);        /* no I/O bitmap: no port access from CPL 3 */
	desc_image_gdt();

	gdt_load(gdt, sizeof(gdt) - 1);
	pv_ltr(SEL_TSS);
}

static void idt_init(void)
{
	for (int v = 0; v < 0x30; v++)
		idt_set_gate(v, (uint32_t)isr_stubs + 16 * v, 0x8E);
	desc_image_idt();
	struct pv_dtr d = { sizeof(idt) - 1, (uint32_t)idt };
	pv_lidt(&d);
}

void desc_init(void)
{
	gdt_init();
	idt_init();
}
