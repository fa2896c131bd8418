/*
 * insn_rmw.c - the integer and SSE instructions that reach the interpreter only because their
 * memory operand is device memory: INC DEC NOT NEG, BT BTS BTR BTC, BSF BSR, IMUL, SHLD
 * SHRD, XCHG XADD CMPXCHG, and the 128-bit SSE moves MOVDQU MOVDQA MOVUPS MOVAPS MOVUPD
 * MOVAPD.  (Translated code runs them natively on RAM; kvm-unit-tests' emulator test runs
 * each against MMIO.)
 *
 * The arithmetic is done by the same host instruction on the operand values, with the
 * guest's arithmetic flags loaded into RFLAGS first and read back after, so every flag,
 * the "undefined" ones included, is what the CPU the coverage suite compares against
 * produces.  The inline asm moves RSP below the red zone before it pushes.  A locked form
 * is the same here (one CPU).  As everywhere in emulation/, the destination is written
 * before EFLAGS and registers change, so a faulting store changes nothing.
 *
 * BT* with a register bit offset and a memory operand address the bit string: the operand
 * read is the one that holds the bit, (offset >> log2(size)) operands away, sign included.
 * The SSE moves read and write the XMM registers in the guest's FXSAVE image (vcpu->fpu),
 * which the translator loads again on entry; the aligned forms raise #GP(0) on an unaligned
 * address, and CR0.EM / CR4.OSFXSR / CR0.TS give #UD / #UD / #NM as on the CPU.
 */
#include "emu_int.h"

#define FLAGS_IN  "lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"
#define FLAGS_OUT "\n\tpushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"

/* Host op on one register operand V (8, 16 or 32 bits); F holds the flags. */
#define HOST1(op, bits, V, F) do {							\
	if ((bits) == 8)								\
		__asm__(FLAGS_IN op "b %b[v]" FLAGS_OUT : [v] "+r"(V), [f] "+r"(F));	\
	else if ((bits) == 16)								\
		__asm__(FLAGS_IN op "w %w[v]" FLAGS_OUT : [v] "+r"(V), [f] "+r"(F));	\
	else										\
		__asm__(FLAGS_IN op "l %k[v]" FLAGS_OUT : [v] "+r"(V), [f] "+r"(F));	\
} while (0)

/* Host op S, D (AT&T order) for 16 and 32 bits (BT*, BSF, BSR, IMUL, XADD). */
#define HOST2(op, bits, S, D, F) do {							\
	if ((bits) == 16)								\
		__asm__(FLAGS_IN op "w %w[s], %w[d]" FLAGS_OUT				\
			: [d] "+r"(D), [f] "+r"(F), [s] "+r"(S));			\
	else										\
		__asm__(FLAGS_IN op "l %k[s], %k[d]" FLAGS_OUT				\
			: [d] "+r"(D), [f] "+r"(F), [s] "+r"(S));			\
} while (0)

static uint64_t flags_in(const struct vcpu *c)
{
	return (c->eflags & FL_ARITH) | FL_FIXED;
}

static void flags_out(struct vcpu *c, uint64_t f)
{
	c->eflags = (c->eflags & ~FL_ARITH) | ((uint32_t)f & FL_ARITH);
}

static bool is_mem(const struct insn *in, int i)
{
	return in->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY;
}

EMU_HANDLER(unary)
{
	unsigned bits = in->op[0].size;
	uint32_t a;
	uint64_t v, f;

	if (emu_op_read(c, in, 0, &a))
		return -1;
	v = a;
	f = flags_in(c);
	switch (in->z.mnemonic) {
	case ZYDIS_MNEMONIC_INC: HOST1("inc", bits, v, f); break;
	case ZYDIS_MNEMONIC_DEC: HOST1("dec", bits, v, f); break;
	case ZYDIS_MNEMONIC_NEG: HOST1("neg", bits, v, f); break;
	default:                 HOST1("not", bits, v, f); break;
	}
	if (emu_op_write(c, in, 0, (uint32_t)v))
		return -1;
	flags_out(c, f);
	return 0;
}

/* BT BTS BTR BTC r/m, reg|imm8. */
EMU_HANDLER(bittest)
{
	unsigned bits = in->op[0].size;
	uint32_t off, a, pos;
	uint64_t v, s, f;
	int sreg;

	if (emu_op_read(c, in, 1, &pos))
		return -1;
	if (is_mem(in, 0) && in->op[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
		int32_t sp = bits == 16 ? (int16_t)pos : (int32_t)pos;
		emu_op_addr(c, in, 0, &sreg, &off);
		off += (uint32_t)((sp >> (bits == 16 ? 4 : 5)) * (int32_t)(bits / 8));
		if (in->asz == 2)
			off &= 0xFFFF;
		a = 0;
		if (emu_seg_read(c, sreg, off, &a, bits / 8))
			return -1;
	} else {
		sreg = -1;
		if (emu_op_read(c, in, 0, &a))
			return -1;
	}
	v = a;
	s = pos & (bits - 1);
	f = flags_in(c);
	switch (in->z.mnemonic) {
	case ZYDIS_MNEMONIC_BTS: HOST2("bts", bits, s, v, f); break;
	case ZYDIS_MNEMONIC_BTR: HOST2("btr", bits, s, v, f); break;
	case ZYDIS_MNEMONIC_BTC: HOST2("btc", bits, s, v, f); break;
	default:                 HOST2("bt", bits, s, v, f); break;
	}
	if (in->z.mnemonic != ZYDIS_MNEMONIC_BT) {
		a = (uint32_t)v;
		if (sreg >= 0 ? emu_seg_write(c, sreg, off, &a, bits / 8) : emu_op_write(c, in, 0, a))
			return -1;
	}
	flags_out(c, f);
	return 0;
}

/* BSF BSR reg, r/m: a zero source leaves the destination as it was (as the CPUs do). */
EMU_HANDLER(bitscan)
{
	unsigned bits = in->op[0].size;
	uint32_t a, d;
	uint64_t s, v, f;

	if (emu_op_read(c, in, 1, &a) || emu_op_read(c, in, 0, &d))
		return -1;
	s = a;
	v = d;
	f = flags_in(c);
	if (in->z.mnemonic == ZYDIS_MNEMONIC_BSF)
		HOST2("bsf", bits, s, v, f);
	else
		HOST2("bsr", bits, s, v, f);
	emu_op_write(c, in, 0, (uint32_t)v);
	flags_out(c, f);
	return 0;
}

/* IMUL in its three shapes: r/m (EDX:EAX = EAX * r/m), reg, r/m and reg, r/m, imm. */
EMU_HANDLER(imul)
{
	unsigned bits = in->op[0].size;
	uint32_t a, b;
	uint64_t f = flags_in(c), v, s;

	if (in->z.operand_count_visible == 1) {
		uint64_t lo = c->regs[R_EAX], hi = c->regs[R_EDX];
		if (emu_op_read(c, in, 0, &a))
			return -1;
		s = a;
		if (bits == 8)
			__asm__(FLAGS_IN "imulb %b[s]" FLAGS_OUT : "+a"(lo), [f] "+r"(f), [s] "+r"(s));
		else if (bits == 16)
			__asm__(FLAGS_IN "imulw %w[s]" FLAGS_OUT
				: "+a"(lo), "+d"(hi), [f] "+r"(f), [s] "+r"(s));
		else
			__asm__(FLAGS_IN "imull %k[s]" FLAGS_OUT
				: "+a"(lo), "+d"(hi), [f] "+r"(f), [s] "+r"(s));
		c->regs[R_EAX] = (uint32_t)lo;
		c->regs[R_EDX] = (uint32_t)hi;
		flags_out(c, f);
		return 0;
	}
	int src = in->z.operand_count_visible == 3 ? 1 : 0;
	if (emu_op_read(c, in, src, &a) || emu_op_read(c, in, src + 1, &b))
		return -1;
	v = a;
	s = b;
	HOST2("imul", bits, s, v, f);
	emu_op_write(c, in, 0, (uint32_t)v);
	flags_out(c, f);
	return 0;
}

/* SHLD/SHRD r/m, reg, CL|imm8. */
EMU_HANDLER(shiftd)
{
	unsigned bits = in->op[0].size;
	uint32_t a, b, n;
	uint64_t d, s, f = flags_in(c), cnt;

	if (emu_op_read(c, in, 0, &a) || emu_op_read(c, in, 1, &b) || emu_op_read(c, in, 2, &n))
		return -1;
	d = a;
	s = b;
	cnt = n & 0xFF;
	if (in->z.mnemonic == ZYDIS_MNEMONIC_SHLD) {
		if (bits == 16)
			__asm__(FLAGS_IN "shldw %%cl, %w[s], %w[d]" FLAGS_OUT
				: [d] "+r"(d), [f] "+r"(f), [s] "+r"(s), "+c"(cnt));
		else
			__asm__(FLAGS_IN "shldl %%cl, %k[s], %k[d]" FLAGS_OUT
				: [d] "+r"(d), [f] "+r"(f), [s] "+r"(s), "+c"(cnt));
	} else {
		if (bits == 16)
			__asm__(FLAGS_IN "shrdw %%cl, %w[s], %w[d]" FLAGS_OUT
				: [d] "+r"(d), [f] "+r"(f), [s] "+r"(s), "+c"(cnt));
		else
			__asm__(FLAGS_IN "shrdl %%cl, %k[s], %k[d]" FLAGS_OUT
				: [d] "+r"(d), [f] "+r"(f), [s] "+r"(s), "+c"(cnt));
	}
	if (emu_op_write(c, in, 0, (uint32_t)d))
		return -1;
	flags_out(c, f);
	return 0;
}

EMU_HANDLER(xchg)
{
	uint32_t a, b;

	if (emu_op_read(c, in, 0, &a) || emu_op_read(c, in, 1, &b))
		return -1;
	if (is_mem(in, 0)) {
		if (emu_op_write(c, in, 0, b))
			return -1;
		emu_op_write(c, in, 1, a);
	} else {
		if (emu_op_write(c, in, 1, a))
			return -1;
		emu_op_write(c, in, 0, b);
	}
	return 0;
}

/* XADD r/m, reg: r/m = r/m + reg, reg = old r/m. */
EMU_HANDLER(xadd)
{
	unsigned bits = in->op[0].size;
	uint32_t a, b;
	uint64_t d, s, f = flags_in(c);

	if (emu_op_read(c, in, 0, &a) || emu_op_read(c, in, 1, &b))
		return -1;
	d = a;
	s = b;
	if (bits == 8)
		__asm__(FLAGS_IN "addb %b[s], %b[d]" FLAGS_OUT : [d] "+r"(d), [f] "+r"(f), [s] "+r"(s));
	else
		HOST2("add", bits, s, d, f);
	if (emu_op_write(c, in, 0, (uint32_t)d))
		return -1;
	emu_op_write(c, in, 1, a);
	flags_out(c, f);
	return 0;
}

/* CMPXCHG r/m, reg: compare with AL/AX/EAX; the destination is written either way. */
EMU_HANDLER(cmpxchg)
{
	unsigned bits = in->op[0].size;
	uint32_t m = bits == 32 ? 0xFFFFFFFFu : (1u << bits) - 1;
	uint32_t d, s, acc = c->regs[R_EAX] & m, fl;

	if (emu_op_read(c, in, 0, &d) || emu_op_read(c, in, 1, &s))
		return -1;
	d &= m;
	fl = emu_cmp_flags(acc, d, bits);
	if (emu_op_write(c, in, 0, acc == d ? s : d))
		return -1;
	if (acc != d)
		c->regs[R_EAX] = (c->regs[R_EAX] & ~m) | d;
	c->eflags = (c->eflags & ~FL_ARITH) | fl;
	return 0;
}

/* 128-bit SSE moves between an XMM register and memory (or two XMM registers). */
EMU_HANDLER(ssemov)
{
	ZydisMnemonic mn = in->z.mnemonic;
	bool aligned = mn == ZYDIS_MNEMONIC_MOVDQA || mn == ZYDIS_MNEMONIC_MOVAPS ||
		       mn == ZYDIS_MNEMONIC_MOVAPD;
	int mem = is_mem(in, 0) ? 0 : is_mem(in, 1) ? 1 : -1;
	uint8_t *x0 = &c->fpu[160 + 16 * ZydisRegisterGetId(in->op[mem == 0 ? 1 : 0].reg.value)];
	uint32_t off;
	int sreg;

	if ((c->cr0 & CR0_EM) || !(c->cr4 & CR4_OSFXSR))
		return emu_raise(c, EXC_UD, 0);
	if (c->cr0 & CR0_TS)
		return emu_raise(c, EXC_NM, 0);
	if (mem < 0) {
		memcpy(x0, &c->fpu[160 + 16 * ZydisRegisterGetId(in->op[1].reg.value)], 16);
		return 0;
	}
	emu_op_addr(c, in, mem, &sreg, &off);
	if (aligned && ((c->seg[sreg].base + off) & 15))
		return emu_raise(c, EXC_GP, 0);
	if (mem == 0)
		return emu_seg_write(c, sreg, off, x0, 16);
	return emu_seg_read(c, sreg, off, x0, 16);
}
