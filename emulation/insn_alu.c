/*
 * insn_alu.c - data movement and integer arithmetic in the monitor: MOV (all forms; the
 * control/debug/segment register forms are passed on), MOVZX, MOVSX, ADD OR ADC SBB AND SUB
 * XOR CMP TEST, SALC.
 *
 * These exist so that an instruction whose memory operand is device memory (or a traced
 * page) can be completed here: operands go through emu_op_read/emu_op_write, so segment checks,
 * paging and MMIO apply.  The destination is written before EFLAGS, so a faulting store
 * changes nothing.  Flags are computed exactly: CF/OF/AF/SF/ZF/PF for ADD/ADC/SUB/SBB/CMP;
 * for the logical operations CF = OF = 0 and AF = 0 (what Intel and AMD hardware leave
 * in the "undefined" AF).
 */
#include "emu_int.h"

static uint32_t size_mask(unsigned bits)
{
	return bits >= 32 ? 0xFFFFFFFFu : (1u << bits) - 1;
}

static uint32_t flags_szp(uint32_t r, unsigned bits)
{
	uint32_t f = emu_parity(r);

	if ((r & size_mask(bits)) == 0)
		f |= FL_ZF;
	if ((r >> (bits - 1)) & 1)
		f |= FL_SF;
	return f;
}

/* a + b + carry in `bits` bits; *fl receives the six arithmetic flags. */
static uint32_t alu_add(uint32_t a, uint32_t b, uint32_t carry, unsigned bits, uint32_t *fl)
{
	uint32_t m = size_mask(bits), sign = 1u << (bits - 1);
	uint64_t wide = (uint64_t)a + b + carry;
	uint32_t r = (uint32_t)wide & m;

	*fl = flags_szp(r, bits) | (wide > m ? FL_CF : 0) | ((a ^ b ^ r) & FL_AF) |
	      ((~(a ^ b) & (a ^ r) & sign) ? FL_OF : 0);
	return r;
}

/* a - b - borrow in `bits` bits. */
static uint32_t alu_sub(uint32_t a, uint32_t b, uint32_t borrow, unsigned bits, uint32_t *fl)
{
	uint32_t m = size_mask(bits), sign = 1u << (bits - 1);
	uint32_t r = (a - b - borrow) & m;

	*fl = flags_szp(r, bits) | ((uint64_t)a < (uint64_t)b + borrow ? FL_CF : 0) |
	      ((a ^ b ^ r) & FL_AF) | (((a ^ b) & (a ^ r) & sign) ? FL_OF : 0);
	return r;
}

/* Arithmetic flags of CMP a, b in `bits` bits (CMPS/SCAS use it). */
uint32_t emu_cmp_flags(uint32_t a, uint32_t b, unsigned bits)
{
	uint32_t fl;
	alu_sub(a & size_mask(bits), b & size_mask(bits), 0, bits, &fl);
	return fl;
}

static uint32_t alu_compute(ZydisMnemonic m, uint32_t a, uint32_t b, uint32_t cf,
			    unsigned bits, uint32_t *fl)
{
	uint32_t r;

	switch (m) {
	case ZYDIS_MNEMONIC_ADD: return alu_add(a, b, 0, bits, fl);
	case ZYDIS_MNEMONIC_ADC: return alu_add(a, b, cf, bits, fl);
	case ZYDIS_MNEMONIC_SUB:
	case ZYDIS_MNEMONIC_CMP: return alu_sub(a, b, 0, bits, fl);
	case ZYDIS_MNEMONIC_SBB: return alu_sub(a, b, cf, bits, fl);
	case ZYDIS_MNEMONIC_OR:  r = a | b; break;
	case ZYDIS_MNEMONIC_XOR: r = a ^ b; break;
	default:                 r = a & b; break;   /* AND, TEST */
	}
	*fl = flags_szp(r, bits);
	return r;
}

EMU_HANDLER(alu)
{
	ZydisMnemonic mn = in->z.mnemonic;
	unsigned bits = in->op[0].size;
	uint32_t a, b, r, fl, m = size_mask(bits);

	if (emu_op_read(c, in, 0, &a) || emu_op_read(c, in, 1, &b))
		return -1;
	r = alu_compute(mn, a & m, b & m, c->eflags & FL_CF, bits, &fl);
	if (mn != ZYDIS_MNEMONIC_CMP && mn != ZYDIS_MNEMONIC_TEST && emu_op_write(c, in, 0, r))
		return -1;
	c->eflags = (c->eflags & ~FL_ARITH) | fl;
	return 0;
}

EMU_HANDLER(mov)
{
	uint32_t v;

	if (emu_op_is_reg(in, 0, ZYDIS_REGCLASS_CONTROL) || emu_op_is_reg(in, 1, ZYDIS_REGCLASS_CONTROL) ||
	    emu_op_is_reg(in, 0, ZYDIS_REGCLASS_DEBUG) || emu_op_is_reg(in, 1, ZYDIS_REGCLASS_DEBUG))
		return emu_h_mov_crdr(c, in);
	if (emu_op_is_reg(in, 0, ZYDIS_REGCLASS_SEGMENT) || emu_op_is_reg(in, 1, ZYDIS_REGCLASS_SEGMENT))
		return emu_h_mov_sreg(c, in);
	if (emu_op_read(c, in, 1, &v))
		return -1;
	return emu_op_write(c, in, 0, v);
}

/* MOVZX / MOVSX from an 8- or 16-bit source. */
EMU_HANDLER(movx)
{
	unsigned bits = in->op[1].size;
	uint32_t v;

	if (emu_op_read(c, in, 1, &v))
		return -1;
	v &= size_mask(bits);
	if (in->z.mnemonic == ZYDIS_MNEMONIC_MOVSX && ((v >> (bits - 1)) & 1))
		v |= ~size_mask(bits);
	return emu_op_write(c, in, 0, v);
}

EMU_HANDLER(salc)
{
	(void)in;
	c->regs[R_EAX] = (c->regs[R_EAX] & ~0xFFu) | ((c->eflags & FL_CF) ? 0xFF : 0);
	return 0;
}
