/*
 * insn_seg.c - handlers for instructions that read or load segment registers and
 * descriptors: MOV Sreg,r/m and MOV r/m,Sreg, LDS/LES/LFS/LGS/LSS, LAR, LSL, VERR, VERW, ARPL.
 *
 * MOV to SS inhibits interrupts for one instruction.  MOV from a segment register to a
 * 32-bit register zero-extends the selector (P6 and later); to memory it stores 16 bits.
 * LxS reads the offset and the selector first, loads the segment (all its checks), and only
 * then writes the general register.  LAR/LSL/VERR/VERW report through ZF and leave the
 * destination alone when ZF is cleared.
 */
#include "emu_int.h"

static void set_zf(struct vcpu *c, bool on)
{
	c->eflags = on ? c->eflags | FL_ZF : c->eflags & ~FL_ZF;
}

/* MOV with a segment register (reached from emu_h_mov). */
EMU_HANDLER(mov_sreg)
{
	int sreg = emu_zreg_sreg(in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER ?
			     in->op[0].reg.value : ZYDIS_REGISTER_NONE);
	uint32_t v;

	if (sreg < 0)   /* MOV r/m, Sreg */
		return emu_op_write(c, in, 0, c->seg[emu_zreg_sreg(in->op[1].reg.value)].sel);
	if (unlikely(sreg == S_CS))
		return emu_raise(c, EXC_UD, 0);
	if (emu_op_read(c, in, 1, &v) || emu_load_seg(c, sreg, (uint16_t)v))
		return -1;
	if (sreg == S_SS)
		emu_ss_shadow(c);
	return 0;
}

static int lxs_sreg(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_LDS: return S_DS;
	case ZYDIS_MNEMONIC_LES: return S_ES;
	case ZYDIS_MNEMONIC_LFS: return S_FS;
	case ZYDIS_MNEMONIC_LGS: return S_GS;
	default:                 return S_SS;
	}
}

/* LDS/LES/LFS/LGS/LSS r, m16:16 or m16:32. */
EMU_HANDLER(lxs)
{
	uint32_t off, val = 0;
	uint16_t sel;
	int sreg;

	emu_op_addr(c, in, 1, &sreg, &off);
	if (emu_seg_read(c, sreg, off, &val, in->osz) ||
	    emu_seg_read(c, sreg, off + in->osz, &sel, 2) ||
	    emu_load_seg(c, lxs_sreg(in->z.mnemonic), sel))
		return -1;
	emu_reg_write(c, in->op[0].reg.value, val);
	return 0;
}

EMU_HANDLER(lar)
{
	uint32_t sel, v;
	int r;

	if (emu_op_read(c, in, 1, &sel))
		return -1;
	r = emu_lar(c, (uint16_t)sel, &v);
	if (r < 0)
		return -1;
	if (r)
		emu_reg_write(c, in->op[0].reg.value, in->osz == 2 ? v & 0xFF00 : v);
	set_zf(c, r);
	return 0;
}

EMU_HANDLER(lsl)
{
	uint32_t sel, v;
	int r;

	if (emu_op_read(c, in, 1, &sel))
		return -1;
	r = emu_lsl(c, (uint16_t)sel, &v);
	if (r < 0)
		return -1;
	if (r)
		emu_reg_write(c, in->op[0].reg.value, v);
	set_zf(c, r);
	return 0;
}

static int verify(struct vcpu *c, struct insn *in, bool write)
{
	uint32_t sel;
	int r;

	if (emu_op_read(c, in, 0, &sel))
		return -1;
	r = emu_verify(c, (uint16_t)sel, write);
	if (r < 0)
		return -1;
	set_zf(c, r);
	return 0;
}

EMU_HANDLER(verr)
{
	return verify(c, in, false);
}

EMU_HANDLER(verw)
{
	return verify(c, in, true);
}

/* ARPL r/m16, r16: raise the destination selector's RPL to the source's. */
EMU_HANDLER(arpl)
{
	uint32_t dst, src;

	if (emu_op_read(c, in, 0, &dst) || emu_op_read(c, in, 1, &src))
		return -1;
	if ((dst & 3) < (src & 3)) {
		if (emu_op_write(c, in, 0, (dst & ~3u) | (src & 3)))
			return -1;
		set_zf(c, true);
	} else {
		set_zf(c, false);
	}
	return 0;
}
