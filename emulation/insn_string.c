/*
 * insn_string.c - MOVS, STOS, LODS, CMPS and SCAS in the monitor (and FXSAVE, the other
 * block memory write the translator cannot run as it is).
 *
 * The translator runs string instructions on the host's own string unit when segments are
 * flat.  It hands them here when that cannot be exact: 16-bit addressing (SI/DI/CX wrap at
 * 64 KiB), a source or destination segment whose base or limit must be applied (fs:/gs:,
 * non-flat mode), and device memory.  One element at a time: both accesses of an element
 * happen before any register changes, so a fault leaves ESI/EDI/ECX at the element that
 * faulted, as the architecture says.  REP/REPE/REPNE stop on ECX (or CX) = 0 and, for
 * CMPS/SCAS, on the ZF condition; after EMU_STRING_BATCH elements the instruction is
 * left unfinished (EIP unchanged) so that the run loop can take interrupts.
 * The destination is always ES:EDI; the source is DS:ESI unless overridden.
 */
#include "emu_int.h"

enum str_op { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS };

static int str_kind(const struct insn *in)
{
	switch (in->z.opcode) {
	case 0xA4: case 0xA5: return STR_MOVS;
	case 0xA6: case 0xA7: return STR_CMPS;
	case 0xAA: case 0xAB: return STR_STOS;
	case 0xAC: case 0xAD: return STR_LODS;
	case 0xAE: case 0xAF: return STR_SCAS;
	default: return -1;
	}
}

static int src_seg(const struct insn *in)
{
	for (unsigned i = 0; i < in->z.operand_count; i++)
		if (in->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    (in->op[i].mem.base == ZYDIS_REGISTER_ESI || in->op[i].mem.base == ZYDIS_REGISTER_SI)) {
			int s = emu_zreg_sreg(in->op[i].mem.segment);
			return s < 0 ? S_DS : s;
		}
	return S_DS;
}

/* One element: accesses first, then registers and flags.  Returns 0 or -1 (fault). */
static int str_elem(struct vcpu *c, const struct insn *in, int k, unsigned size, uint32_t amask)
{
	uint32_t si = c->regs[R_ESI] & amask, di = c->regs[R_EDI] & amask;
	uint32_t a = 0, b = 0, acc = c->regs[R_EAX];
	int32_t step = (c->eflags & FL_DF) ? -(int32_t)size : (int32_t)size;

	if ((k == STR_MOVS || k == STR_LODS || k == STR_CMPS) &&
	    emu_seg_read(c, src_seg(in), si, &a, size))
		return -1;
	if ((k == STR_CMPS || k == STR_SCAS) && emu_seg_read(c, S_ES, di, &b, size))
		return -1;
	if (k == STR_MOVS && emu_seg_write(c, S_ES, di, &a, size))
		return -1;
	if (k == STR_STOS && emu_seg_write(c, S_ES, di, &acc, size))
		return -1;
	if (k == STR_LODS)
		memcpy(&c->regs[R_EAX], &a, size);   /* little endian: AL / AX / EAX */
	if (k == STR_CMPS || k == STR_SCAS) {
		uint32_t fl = emu_cmp_flags(k == STR_CMPS ? a : acc, b, size * 8);
		c->eflags = (c->eflags & ~FL_ARITH) | fl;
	}
	if (k == STR_MOVS || k == STR_LODS || k == STR_CMPS)
		emu_addr_reg_add(c, R_ESI, step, in->asz);
	if (k != STR_LODS)
		emu_addr_reg_add(c, R_EDI, step, in->asz);
	return 0;
}

EMU_HANDLER(string)
{
	int k = str_kind(in);
	unsigned size = in->osz;
	uint32_t amask = in->asz == 2 ? 0xFFFFu : 0xFFFFFFFFu;
	uint64_t a = in->z.attributes;
	bool rep = a & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
	bool cond = k == STR_CMPS || k == STR_SCAS;

	if (k < 0 || in->z.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
		return emu_raise(c, EXC_UD, 0);
	if (!(in->z.opcode & 1))
		size = 1;
	for (unsigned n = 0; !rep || (c->regs[R_ECX] & amask) != 0; n++) {
		if (n == EMU_STRING_BATCH) {
			in->next = c->eip;   /* come back for the rest */
			return 0;
		}
		if (str_elem(c, in, k, size, amask))
			return -1;
		if (!rep)
			break;
		emu_addr_reg_add(c, R_ECX, -1, in->asz);
		if (cond && (a & ZYDIS_ATTRIB_HAS_REPE) && !(c->eflags & FL_ZF))
			break;
		if (cond && (a & ZYDIS_ATTRIB_HAS_REPNE) && (c->eflags & FL_ZF))
			break;
	}
	return 0;
}

/*
 * FXSAVE m512 (32-bit format).  Run in 64-bit mode the host instruction would also store
 * XMM8-15 into bytes 288-415, which a 32-bit CPU leaves alone; so the translator hands it
 * here.  The guest's x87/SSE state is in vcpu->fpu (FXSAVE64 image taken when translated
 * code exited); the 32-bit image differs only in the FIP/FCS and FDP/FDS fields.
 */
EMU_HANDLER(fxsave)
{
	uint8_t img[288];
	int sreg;
	uint32_t off;

	emu_op_addr(c, in, 0, &sreg, &off);
	if ((c->seg[sreg].base + off) & 15)
		return emu_raise(c, EXC_GP, 0);
	memcpy(img, c->fpu, sizeof(img));
	memset(img + 12, 0, 4);    /* FIP is 32 bits, FCS 0 */
	memset(img + 20, 0, 4);    /* FDP is 32 bits, FDS 0 */
	return emu_seg_write(c, sreg, off, img, sizeof(img));
}
