/*
 * desc.c - the kernel's GDT, LDT, TSS and IDT.
 *
 * The GDT holds flat ring-0 and ring-3 code and data, the TSS, and a set of odd descriptors
 * the self test uses (a second code segment, a not-present segment, an execute-only code
 * segment, gates).  All descriptors that the kernel itself loads are created with the
 * accessed bit already set, so the CPU never has to write the GDT behind our back.
 * The IDT has interrupt gates for the 32 exceptions and the 16 remapped PIC IRQs, plus the
 * self test's vectors; every other vector is not present.
 */
#include "kernel.h"
#include "pvops.h"

uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
uint64_t idt[256] __attribute__((aligned(8)));
uint64_t ldt[4] __attribute__((aligned(8)));
struct tss tss, tss2;
struct tss_io tss_io;
extern char boot_stack_top[];

/* flags: the high nibble of byte 6, i.e. G (8) and D/B (4). */
uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
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

void gdt_load(const uint64_t *table, uint16_t limit)
{
	struct pv_dtr d = { limit, (uint32_t)table };
	pv_lgdt(&d);
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
	gdt[SEL_NULL / 8]   = 0;
	gdt[SEL_KCODE / 8]  = seg_desc(0, 0xFFFFF, 0x9B, 0xC);
	gdt[SEL_KDATA / 8]  = seg_desc(0, 0xFFFFF, 0x93, 0xC);
	gdt[SEL_UCODE / 8]  = seg_desc(0, 0xFFFFF, 0xFB, 0xC);
	gdt[SEL_UDATA / 8]  = seg_desc(0, 0xFFFFF, 0xF3, 0xC);
	gdt[SEL_TSS / 8]    = seg_desc((uint32_t)&tss, TSS_LIMIT, 0x89, 0);
	gdt[SEL_KCODE2 / 8] = seg_desc(0, 0xFFFFF, 0x9B, 0xC);
	gdt[SEL_KDATA2 / 8] = seg_desc(0, 0xFFFFF, 0x93, 0xC);
	gdt[SEL_TBASE / 8]  = seg_desc(0, 0xFFFFF, 0x93, 0xC);
	gdt[SEL_TLIM / 8]   = seg_desc(0, 0xFFF, 0x93, 0x4);
	gdt[SEL_TNP / 8]    = seg_desc(0, 0xFFFFF, 0x13, 0xC);     /* P = 0 */
	gdt[SEL_LDT / 8]    = seg_desc((uint32_t)ldt, sizeof(ldt) - 1, 0x82, 0);
	gdt[SEL_XCODE / 8]  = seg_desc(0, 0xFFFFF, 0x99, 0xC);     /* execute-only */
	gdt[SEL_RODATA / 8] = seg_desc(0, 0xFFFFF, 0x91, 0xC);     /* read-only */
	gdt[SEL_TACC / 8]   = seg_desc(0, 0xFFFFF, 0x92, 0xC);     /* accessed = 0 */
	gdt[SEL_TSS2 / 8]   = seg_desc((uint32_t)&tss2, TSS_LIMIT, 0x89, 0);
	gdt[SEL_CGATE / 8]  = gate_desc(SEL_KCODE, 0, 0x8C);
	gdt[SEL_TRAPG / 8]  = gate_desc(SEL_KCODE, 0, 0x8E);
	gdt[SEL_CONF / 8]   = seg_desc(0, 0xFFFFF, 0x9F, 0xC);     /* conforming, readable */
	gdt[SEL_UGATE / 8]  = gate_desc(SEL_UCODE | 3, 0, 0xEC);
	gdt[SEL_TSS3 / 8]   = seg_desc((uint32_t)&tss_io, TSS_IO_LIMIT, 0x89, 0);
	gdt[SEL_UDATA16 / 8] = seg_desc(0, 0xFFFFF, 0xF3, 0xC);
	ldt[1] = seg_desc(0, 0xFFFFF, 0x93, 0xC);

	tss.ss0 = SEL_KDATA;
	tss.esp0 = (uint32_t)boot_stack_top;
	tss.iomap = sizeof(struct tss);          /* no I/O bitmap */
	tss2 = tss;
	tss_io.t = tss;
	tss_io.t.iomap = (uint16_t)offsetof(struct tss_io, map);
	memset(tss_io.map, 0xFF, sizeof(tss_io.map));       /* everything denied */

	gdt_load(gdt, sizeof(gdt) - 1);
	pv_ltr(SEL_TSS);
}

static void idt_init(void)
{
	for (int v = 0; v < 0x30; v++)
		idt_set_gate(v, (uint32_t)isr_stubs + 16 * v, 0x8E);
	idt_set_gate(VEC_TEST_INT, (uint32_t)isr_stubs + 16 * VEC_TEST_INT, 0x8E);
	idt_set_gate(VEC_TEST_TRAP, (uint32_t)isr_stubs + 16 * VEC_TEST_TRAP, 0x8F);
	idt_set_gate(VEC_TEST_NP, (uint32_t)isr_stubs + 16 * VEC_TEST_NP, 0x0E); /* P = 0 */
	idt_set_gate(VEC_USER_INT, (uint32_t)isr_stubs + 16 * VEC_USER_INT, 0xEE);
	idt_set_gate(VEC_USER_TRAP, (uint32_t)isr_stubs + 16 * VEC_USER_TRAP, 0xEF);
	idt_set_gate(VEC_USER_EXIT, (uint32_t)ring3_exit_stub, 0xEE);
	struct pv_dtr d = { sizeof(idt) - 1, (uint32_t)idt };
	pv_lidt(&d);
}

void desc_init(void)
{
	gdt_init();
	idt_init();
}
