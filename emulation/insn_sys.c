/*
 * insn_sys.c - handlers for system instructions: CLI/STI, HLT, MOV CR/DR, CLTS, LMSW, SMSW,
 * LGDT/LIDT/SGDT/SIDT, LLDT/LTR/SLDT/STR, INVD/WBINVD/INVLPG, CPUID, RDTSC, RDPMC, RDMSR/WRMSR,
 * SYSENTER/SYSEXIT.
 *
 * Privileged ones are #GP(0) at CPL > 0 before anything else.  The "sensitive but
 * unprivileged" ones (SMSW SGDT SIDT SLDT STR) work at any CPL and return the guest's values
 * (no UMIP).  SGDT/SIDT store 6 bytes: the limit and the full 32-bit base, whatever the
 * operand size.  SLDT/STR/SMSW to a 32-bit register write the whole register (SLDT/STR zero
 * the upper half; SMSW stores all of CR0, as P6 and later do); to memory they store 16 bits.
 */
#include "emu_int.h"

static int need_cpl0(struct vcpu *c)
{
	return unlikely(c->cpl != 0) ? emu_raise(c, EXC_GP, 0) : 0;
}

/* SGDT SIDT SLDT SMSW STR with CR4.UMIP: CPL 0 only. */
static int umip_check(struct vcpu *c)
{
	return (c->cr4 & CR4_UMIP) ? need_cpl0(c) : 0;
}

EMU_HANDLER(cli)
{
	(void)in;
	if (unlikely((unsigned)c->cpl > IOPL(c)))
		return emu_raise(c, EXC_GP, 0);
	c->eflags &= ~FL_IF;
	return 0;
}

EMU_HANDLER(sti)
{
	(void)in;
	if (unlikely((unsigned)c->cpl > IOPL(c)))
		return emu_raise(c, EXC_GP, 0);
	if (!(c->eflags & FL_IF)) {
		c->eflags |= FL_IF;
		c->intr_inhibit = true;
	}
	return 0;
}

EMU_HANDLER(hlt)
{
	(void)in;
	if (need_cpl0(c))
		return -1;
	c->halted = true;
	return EXIT_HALT;
}

static uint32_t read_cr(const struct vcpu *c, int n)
{
	switch (n) {
	case 0: return c->cr0;
	case 2: return c->cr2;
	case 3: return c->cr3;
	default: return c->cr4;
	}
}

/* DR7.GD: any debug-register access is a #DB fault (GD cleared, DR6.BD set). */
static int debug_guard(struct vcpu *c)
{
	if (likely(!(c->dr[7] & DR7_GD)))
		return 0;
	c->dr[7] &= ~DR7_GD;
	c->dr[6] |= DR6_BD;
	return emu_raise(c, EXC_DB, 0);
}

/* MOV to/from CRn/DRn (reached from emu_h_mov).  The r/m operand is always a register. */
EMU_HANDLER(mov_crdr)
{
	bool to_sys = !emu_op_is_reg(in, 0, ZYDIS_REGCLASS_GPR32);
	ZydisRegister sys = in->op[to_sys ? 0 : 1].reg.value;
	ZydisRegister gpr = in->op[to_sys ? 1 : 0].reg.value;
	bool dr = ZydisRegisterGetClass(sys) == ZYDIS_REGCLASS_DEBUG;
	int n = ZydisRegisterGetId(sys);

	if (need_cpl0(c) || (dr && debug_guard(c)))
		return -1;
	if (to_sys)
		return dr ? emu_write_dr(c, n, emu_reg_read(c, gpr))
			  : emu_write_cr(c, n, emu_reg_read(c, gpr));
	emu_reg_write(c, gpr, dr ? emu_read_dr(c, n) : read_cr(c, n));
	return 0;
}

EMU_HANDLER(clts)
{
	(void)in;
	if (need_cpl0(c))
		return -1;
	if (c->cr0 & CR0_TS) {
		c->cr0 &= ~CR0_TS;
		emu_mode_changed(c);
	}
	return 0;
}

/* LMSW loads PE MP EM TS from the low bits; it can set PE but never clear it. */
EMU_HANDLER(lmsw)
{
	uint32_t v;

	if (need_cpl0(c) || emu_op_read(c, in, 0, &v))
		return -1;
	return emu_write_cr(c, 0, (c->cr0 & ~0xEu) | (v & 0xF) | CR0_PE);
}

EMU_HANDLER(smsw)
{
	if (umip_check(c))
		return -1;
	return emu_op_write(c, in, 0, c->cr0);
}

/* LGDT/LIDT m16&32: limit then base; a 16-bit operand size keeps 24 bits of the base. */
EMU_HANDLER(lgdt)
{
	uint8_t b[6];
	struct dtr t;
	uint32_t off;
	int sreg;

	if (need_cpl0(c))
		return -1;
	emu_op_addr(c, in, 0, &sreg, &off);
	if (emu_seg_read(c, sreg, off, b, 6))
		return -1;
	t.limit = (uint16_t)(b[0] | b[1] << 8);
	t.base = (uint32_t)b[2] | (uint32_t)b[3] << 8 | (uint32_t)b[4] << 16 |
		 (uint32_t)b[5] << 24;
	if (in->osz == 2)
		t.base &= 0x00FFFFFFu;
	if (in->z.mnemonic == ZYDIS_MNEMONIC_LGDT)
		c->gdtr = t;
	else
		c->idtr = t;
	emu_mode_changed(c);
	return 0;
}

EMU_HANDLER(sgdt)
{
	const struct dtr *t = in->z.mnemonic == ZYDIS_MNEMONIC_SGDT ? &c->gdtr : &c->idtr;
	uint8_t b[6] = { (uint8_t)t->limit, (uint8_t)(t->limit >> 8), (uint8_t)t->base,
			 (uint8_t)(t->base >> 8), (uint8_t)(t->base >> 16),
			 (uint8_t)(t->base >> 24) };
	uint32_t off;
	int sreg;

	if (umip_check(c))
		return -1;
	emu_op_addr(c, in, 0, &sreg, &off);
	return emu_seg_write(c, sreg, off, b, 6);
}

EMU_HANDLER(lldt)
{
	uint32_t v;

	if (need_cpl0(c) || emu_op_read(c, in, 0, &v))
		return -1;
	return emu_lldt(c, (uint16_t)v);
}

EMU_HANDLER(ltr)
{
	uint32_t v;

	if (need_cpl0(c) || emu_op_read(c, in, 0, &v))
		return -1;
	return emu_ltr(c, (uint16_t)v);
}

EMU_HANDLER(sldt)
{
	if (umip_check(c))
		return -1;
	return emu_op_write(c, in, 0, c->ldtr.sel);
}

EMU_HANDLER(str)
{
	if (umip_check(c))
		return -1;
	return emu_op_write(c, in, 0, c->tr.sel);
}

/* INVD, WBINVD: no caches to manage. */
EMU_HANDLER(invd)
{
	(void)in;
	return need_cpl0(c);
}

EMU_HANDLER(invlpg)
{
	uint32_t off;
	int sreg;

	if (need_cpl0(c))
		return -1;
	emu_op_addr(c, in, 0, &sreg, &off);
	emu_hook_tlb_flush(c, c->seg[sreg].base + off, false);
	return 0;
}

EMU_HANDLER(cpuid)
{
	uint32_t out[4];

	(void)in;
	emu_cpuid(c->regs[R_EAX], c->regs[R_ECX], out);
	c->regs[R_EAX] = out[0];
	c->regs[R_EBX] = out[1];
	c->regs[R_ECX] = out[2];
	c->regs[R_EDX] = out[3];
	return 0;
}

EMU_HANDLER(rdtsc)
{
	uint64_t t;

	(void)in;
	if (unlikely((c->cr4 & CR4_TSD) && c->cpl != 0))
		return emu_raise(c, EXC_GP, 0);
	t = emu_guest_tsc(c);
	c->regs[R_EAX] = (uint32_t)t;
	c->regs[R_EDX] = (uint32_t)(t >> 32);
	return 0;
}

/*
 * RDPMC: at CPL > 0 only with CR4.PCE; ECX names one of the two P6 counters (the CPUID
 * signature is a family-6 part), anything else is #GP(0).  No performance events are
 * modelled (the PerfEvtSel MSRs do not exist), so the counters never count: they read 0.
 */
EMU_HANDLER(rdpmc)
{
	(void)in;
	if (unlikely(c->cpl != 0 && !(c->cr4 & CR4_PCE)))
		return emu_raise(c, EXC_GP, 0);
	if (unlikely(c->regs[R_ECX] > 1))
		return emu_raise(c, EXC_GP, 0);
	c->regs[R_EAX] = 0;
	c->regs[R_EDX] = 0;
	return 0;
}

EMU_HANDLER(rdmsr)
{
	uint64_t v;

	(void)in;
	if (need_cpl0(c) || emu_rdmsr(c, c->regs[R_ECX], &v))
		return -1;
	c->regs[R_EAX] = (uint32_t)v;
	c->regs[R_EDX] = (uint32_t)(v >> 32);
	return 0;
}

EMU_HANDLER(wrmsr)
{
	(void)in;
	if (need_cpl0(c))
		return -1;
	return emu_wrmsr(c, c->regs[R_ECX],
			 (uint64_t)c->regs[R_EDX] << 32 | c->regs[R_EAX]);
}

EMU_HANDLER(sysenter)
{
	if (emu_sysenter(c))
		return -1;
	in->next = c->eip;
	return 0;
}

EMU_HANDLER(sysexit)
{
	if (emu_sysexit(c))
		return -1;
	in->next = c->eip;
	return 0;
}
