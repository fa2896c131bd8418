/*
 * bcd.c - the decimal-adjust instructions DAA DAS AAA AAS AAM AAD (invalid in 64-bit mode,
 * so the translator always hands them over).
 *
 * The results and every flag, including those the SDM calls undefined, are what the host CPU
 * (AMD, the machine kind vmm386 is developed and tested on) leaves; tests/unit/bcd_native.c
 * runs the real instructions for all inputs and test_emu.c compares:
 *  - DAA/DAS: AL, CF, AF as in the SDM; SF ZF PF from AL; OF set when the adjustment carried
 *    the sign bit from 0 to 1 (DAA) or from 1 to 0 (DAS), i.e. the signed overflow of
 *    AL +/- the total adjustment.
 *  - AAA/AAS: AX +/- 0x106 when adjusting (the carry out of AL reaches AH), then AL &= 0xF.
 *    CF = AF = "adjusted"; OF SF ZF PF are those of the 16-bit ADD/SUB AX, 0x106 (or 0),
 *    taken before AL is masked.
 *  - AAM: #DE when imm8 = 0; SF ZF PF from AL; OF AF CF cleared.
 *  - AAD: AL = AL + AH * imm8, AH = 0; all six flags are those of that 8-bit ADD.
 * Intel parts may leave different values in the undefined flags of AAA/AAS: not verified.
 */
#include "emu_int.h"

static uint32_t szp8(uint32_t v)
{
	return emu_parity(v) | ((v & 0xFF) ? 0 : FL_ZF) | ((v & 0x80) ? FL_SF : 0);
}

static void set_al(struct vcpu *c, uint32_t al)
{
	c->regs[R_EAX] = (c->regs[R_EAX] & ~0xFFu) | (al & 0xFF);
}

static void set_ax(struct vcpu *c, uint32_t ax)
{
	c->regs[R_EAX] = (c->regs[R_EAX] & ~0xFFFFu) | (ax & 0xFFFF);
}

static void set_arith(struct vcpu *c, uint32_t fl)
{
	c->eflags = (c->eflags & ~FL_ARITH) | fl;
}

/* DAA (sub = false) and DAS. */
static void decimal_adjust(struct vcpu *c, bool sub)
{
	uint32_t old = c->regs[R_EAX] & 0xFF, al = old, fl = 0;
	bool old_cf = c->eflags & FL_CF;

	if ((al & 0xF) > 9 || (c->eflags & FL_AF)) {
		if (old_cf || (sub ? al < 6 : al + 6 > 0xFF))
			fl |= FL_CF;
		al = (sub ? al - 6 : al + 6) & 0xFF;
		fl |= FL_AF;
	}
	if (old > 0x99 || old_cf) {
		al = (sub ? al - 0x60 : al + 0x60) & 0xFF;
		fl |= FL_CF;
	} else if (!sub) {
		fl &= ~FL_CF;
	}
	if ((sub ? old & ~al : ~old & al) & 0x80)
		fl |= FL_OF;
	set_al(c, al);
	set_arith(c, fl | szp8(al));
}

/* AAA (sub = false) and AAS. */
static void ascii_adjust(struct vcpu *c, bool sub)
{
	uint32_t ax = c->regs[R_EAX] & 0xFFFF, d = 0, r, fl = 0;

	if ((ax & 0xF) > 9 || (c->eflags & FL_AF)) {
		d = 0x106;
		fl = FL_CF | FL_AF;
	}
	r = (sub ? ax - d : ax + d) & 0xFFFF;
	fl |= emu_parity(r) | (r ? 0 : FL_ZF) | ((r & 0x8000) ? FL_SF : 0);
	if ((sub ? (ax ^ d) & (ax ^ r) : ~(ax ^ d) & (ax ^ r)) & 0x8000)
		fl |= FL_OF;
	set_ax(c, r & 0xFF0F);
	set_arith(c, fl);
}

EMU_HANDLER(daa)
{
	(void)in;
	decimal_adjust(c, false);
	return 0;
}

EMU_HANDLER(das)
{
	(void)in;
	decimal_adjust(c, true);
	return 0;
}

EMU_HANDLER(aaa)
{
	(void)in;
	ascii_adjust(c, false);
	return 0;
}

EMU_HANDLER(aas)
{
	(void)in;
	ascii_adjust(c, true);
	return 0;
}

EMU_HANDLER(aam)
{
	uint32_t base = in->op[0].imm.value.u & 0xFF, al = c->regs[R_EAX] & 0xFF;

	if (unlikely(base == 0))
		return emu_raise(c, EXC_DE, 0);
	set_ax(c, (al / base) << 8 | (al % base));
	set_arith(c, szp8(al % base));
	return 0;
}

EMU_HANDLER(aad)
{
	uint32_t base = in->op[0].imm.value.u & 0xFF, ax = c->regs[R_EAX];
	uint32_t al = ax & 0xFF, prod = (((ax >> 8) & 0xFF) * base) & 0xFF;
	uint32_t r = (al + prod) & 0xFF, fl = szp8(r);

	if (al + prod > 0xFF)
		fl |= FL_CF;
	fl |= (al ^ prod ^ r) & FL_AF;
	if (~(al ^ prod) & (al ^ r) & 0x80)
		fl |= FL_OF;
	set_ax(c, r);
	set_arith(c, fl);
	return 0;
}
