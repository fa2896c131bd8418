/*
 * state.c - the vCPU's initial protected-mode state and its printout.
 *
 * emu_reset_protected() gives what a multiboot loader promises (and what QEMU's -kernel
 * leaves): CS = 0x08 flat 32-bit code, DS ES FS GS SS = 0x10 flat data, CR0 = PE | ET,
 * EFLAGS = 0x2 (IF clear), CPL 0, the given GDTR, IDTR base 0 limit 0x3FF, LDTR and TR in
 * their reset state, DR6/DR7 at their reset values.  The loader sets EIP, EAX and EBX.
 * The monitor is not notified (nothing is translated yet).
 *
 * emu_dump_state() prints the layout of QEMU's "info registers" for i386, so logs from both
 * can be compared line by line.
 */
#include "emu_int.h"

void emu_reset_protected(struct vcpu *c, uint32_t gdt_base, uint16_t gdt_limit)
{
	memset(c->regs, 0, sizeof(c->regs));
	c->eip = 0;
	c->eflags = FL_FIXED;
	for (int i = 0; i < S_NR; i++) {
		emu_seg_flat(&c->seg[i], i == S_CS ? 0x08 : 0x10, 0, i == S_CS);
		c->seg_base[i] = 0;
	}
	c->gdtr = (struct dtr){ gdt_base, gdt_limit };
	c->idtr = (struct dtr){ 0, 0x3FF };
	c->ldtr = (struct seg){ 0, 0x0082, 0, 0xFFFF };
	c->tr = (struct seg){ 0, 0x008B, 0, 0xFFFF };
	c->cr0 = CR0_PE | CR0_ET;
	c->cr2 = c->cr3 = c->cr4 = 0;
	memset(c->dr, 0, sizeof(c->dr));
	c->dr[6] = 0xFFFF0FF0u;
	c->dr[7] = 0x400u;
	c->cpl = 0;
	c->intr_inhibit = false;
	c->halted = false;
	c->exc_vector = 0;
	c->exc_has_error = false;
	c->exc_error = 0;
	c->delivering = 0;
	c->msr_sysenter_cs = c->msr_sysenter_esp = c->msr_sysenter_eip = 0;
}

void emu_boot_selectors(struct vcpu *c, uint16_t cs, uint16_t ds)
{
	for (int i = 0; i < S_NR; i++)
		emu_seg_flat(&c->seg[i], i == S_CS ? cs : ds, 0, i == S_CS);
}

static const char *const sys_type_name[16] = {
	"Reserved", "TSS16-avl", "LDT", "TSS16-busy", "CallGate16", "TaskGate", "IntGate16",
	"TrapGate16", "Reserved", "TSS32-avl", "Reserved", "TSS32-busy", "CallGate32",
	"Reserved", "IntGate32", "TrapGate32",
};

/* One segment line: "ES =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]". */
static void dump_seg(FILE *f, const char *name, const struct seg *s)
{
	uint16_t a = s->attr;
	unsigned t = SEGA_TYPE(a);

	fprintf(f, "%-3s=%04x %08x %08x %08x", name, s->sel, s->base, s->limit,
		(uint32_t)a << 8);
	if (!(a & SEGA_P)) {
		fprintf(f, "\n");
		return;
	}
	fprintf(f, " DPL=%u ", (unsigned)SEGA_DPL(a));
	if (!(a & SEGA_S))
		fprintf(f, "%s", sys_type_name[t]);
	else if (t & SEGT_CODE)
		fprintf(f, "%s [%c%c%c]", (a & SEGA_DB) ? "CS32" : "CS16",
			(t & SEGT_CONF) ? 'C' : '-', (t & SEGT_RW) ? 'R' : '-',
			(t & SEGT_ACC) ? 'A' : '-');
	else
		fprintf(f, "%s [%c%c%c]", (a & SEGA_DB) ? "DS  " : "DS16",
			(t & SEGT_EDOWN) ? 'E' : '-', (t & SEGT_RW) ? 'W' : '-',
			(t & SEGT_ACC) ? 'A' : '-');
	fprintf(f, "\n");
}

static void dump_flags_line(struct vcpu *c, FILE *f)
{
	uint32_t fl = c->eflags;

	fprintf(f, "EIP=%08x EFL=%08x [%c%c%c%c%c%c%c] CPL=%d II=%d A20=1 SMM=0 HLT=%d\n",
		c->eip, fl, (fl & FL_DF) ? 'D' : '-', (fl & FL_OF) ? 'O' : '-',
		(fl & FL_SF) ? 'S' : '-', (fl & FL_ZF) ? 'Z' : '-', (fl & FL_AF) ? 'A' : '-',
		(fl & FL_PF) ? 'P' : '-', (fl & FL_CF) ? 'C' : '-', c->cpl,
		c->intr_inhibit ? 1 : 0, c->halted ? 1 : 0);
}

void emu_dump_state(struct vcpu *c, FILE *f)
{
	static const char *const names[S_NR] = { "ES", "CS", "SS", "DS", "FS", "GS" };
	const uint32_t *r = c->regs;

	fprintf(f, "EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n", r[R_EAX], r[R_EBX], r[R_ECX],
		r[R_EDX]);
	fprintf(f, "ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", r[R_ESI], r[R_EDI], r[R_EBP],
		r[R_ESP]);
	dump_flags_line(c, f);
	for (int i = 0; i < S_NR; i++)
		dump_seg(f, names[i], &c->seg[i]);
	dump_seg(f, "LDT", &c->ldtr);
	dump_seg(f, "TR", &c->tr);
	fprintf(f, "GDT=     %08x %08x\n", c->gdtr.base, c->gdtr.limit);
	fprintf(f, "IDT=     %08x %08x\n", c->idtr.base, c->idtr.limit);
	fprintf(f, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", c->cr0, c->cr2, c->cr3, c->cr4);
	fprintf(f, "DR0=%08x DR1=%08x DR2=%08x DR3=%08x \n", c->dr[0], c->dr[1], c->dr[2],
		c->dr[3]);
	fprintf(f, "DR6=%08x DR7=%08x\n", c->dr[6], c->dr[7]);
}
