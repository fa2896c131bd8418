/*
 * desc.c - the self test's additions to the shared GDT and IDT (guest/common/desc.c).
 *
 * The GDT gets, after the flat segments and the TSS, a set of odd descriptors the self
 * test uses: a second code and data segment, segments the tests rewrite at run time, a
 * not-present, an execute-only, a read-only and a conforming segment, an LDT, a second TSS
 * and one with an I/O permission bitmap, and gates (which LAR/LSL must reject or accept).
 * The IDT gets the self test's vectors: interrupt and trap gates of DPL 0 and 3, a
 * not-present gate, the gate that leaves CPL 3 (st_ring3.c), and interrupt gates for the
 * APIC tests' vectors (st_apic.c, st_ide.c).
 */
#include "kernel.h"
#include "pvops.h"

uint64_t ldt[4] __attribute__((aligned(8)));
struct tss tss2;
struct tss_io tss_io;

void desc_image_gdt(void)
{
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

	tss2 = tss;
	tss_io.t = tss;
	tss_io.t.iomap = (uint16_t)offsetof(struct tss_io, map);
	memset(tss_io.map, 0xFF, sizeof(tss_io.map));       /* everything denied */
}

void desc_image_idt(void)
{
	idt_set_gate(VEC_TEST_INT, (uint32_t)isr_stubs + 16 * VEC_TEST_INT, 0x8E);
	idt_set_gate(VEC_TEST_TRAP, (uint32_t)isr_stubs + 16 * VEC_TEST_TRAP, 0x8F);
	idt_set_gate(VEC_TEST_NP, (uint32_t)isr_stubs + 16 * VEC_TEST_NP, 0x0E); /* P = 0 */
	idt_set_gate(VEC_USER_INT, (uint32_t)isr_stubs + 16 * VEC_USER_INT, 0xEE);
	idt_set_gate(VEC_USER_TRAP, (uint32_t)isr_stubs + 16 * VEC_USER_TRAP, 0xEF);
	idt_set_gate(VEC_USER_EXIT, (uint32_t)ring3_exit_stub, 0xEE);
	for (int v = VEC_APIC_FIRST; v <= VEC_APIC_LAST; v++)
		idt_set_gate(v, (uint32_t)isr_stubs + 16 * v, 0x8E);
	idt_set_gate(VEC_APIC_SPURIOUS, (uint32_t)isr_stubs + 16 * VEC_APIC_SPURIOUS, 0x8E);
}
