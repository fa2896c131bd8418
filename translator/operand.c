/*
 * operand.c - guest memory operands made host-addressable.
 *
 * Guest memory is gs:[32-bit address] (0x65 0x67 prefixes): with flat segments a ModRM
 * operand keeps its own encoding and only ESP becomes R12 (REX.B/R) and [disp32] becomes
 * an absolute SIB form.  16-bit addressing, fs:/gs:/cs: overrides and non-flat segments go
 * through an explicit effective address instead: offset (xl_emit_offset), limit and type
 * check as the hardware does it (xl_emit_limit_check: #GP(0) or #SS(0) at the instruction),
 * then the segment base (xl_emit_add_segbase), into a scratch register.  When AH..BH forbid
 * a REX prefix, a guest register the instruction does not mention is borrowed and parked
 * in vcpu->spill[1] (the instruction map records it for the fault handler).
 * Used by every emitter that touches guest memory.
 */
#include "xl_int.h"

/* The explicit (ModRM or moffs) memory operand, or NULL; hidden ones (stack) don't count. */
static const ZydisDecodedOperand *explicit_mem(const struct ginsn *g)
{
	for (unsigned i = 0; i < g->z.operand_count; i++)
		if (g->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    g->op[i].visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
			return &g->op[i];
	return NULL;
}

/* Default segment of the ModRM memory operand. */
int xl_mem_seg(const struct ginsn *g)
{
	if (g->seg >= 0)
		return g->seg;
	const ZydisDecodedOperand *o = explicit_mem(g);
	return o && o->mem.segment == ZYDIS_REGISTER_SS ? S_SS : S_DS;
}

/* Must the segment base be added for this access? */
bool xl_seg_needs_base(const struct xl_ctx *x, int seg)
{
	if (seg == S_FS || seg == S_GS || seg == S_CS)   /* cs: writes must #GP */
		return true;
	return (x->mode & XM_NONFLAT) != 0;
}

/*
 * Segment limit and type check of an access [dst, dst+size-1] (offset in dst, before the
 * base is added), as hardware does it for every data access.  Uses r10 and r11 only.  Flags are saved around the
 * compares; this path only runs for fs:/gs: and non-flat segments.  On failure the block
 * leaves with #GP(0), or #SS(0) for SS, at the instruction.
 */
void xl_emit_limit_check(struct xl_ctx *x, gla_t eip, int dst, int seg, unsigned size,
			     bool write)
{
	static const uint8_t cmp[] = {0x39}, pushf[] = {0x9C}, popf[] = {0x9D};
	struct xbuf *b = &x->b;
	ebytes(b, pushf, 1);
	emit_mem(b, EM_W, OP_LEA, 1, H_R11, dst, -1, 0, (int32_t)size);
	emit_vcpu_load(b, H_R10, (write ? VC_SEG_END_W : VC_SEG_END_R) + 8 * seg, 1);
	emit_rr(b, EM_W, cmp, 1, H_R10, H_R11);             /* cmp r11, r10 */
	e8(b, 0x77); uint8_t *ja = b->p; e8(b, 0);          /* ja fail */
	emit_vcpu_load(b, H_R10, VC_SEG_LO + 4 * seg, 0);
	emit_rr(b, EM_W, cmp, 1, H_R10, dst);               /* cmp dst, r10 */
	e8(b, 0x73); uint8_t *jae = b->p; e8(b, 0);         /* jae ok */
	*ja = (uint8_t)(b->p - ja - 1);
	ebytes(b, popf, 1);
	if (x->imap[x->n].spill >= 0)        /* give the borrowed register back */
		emit_vcpu_load(b, x->imap[x->n].spill, VC_SPILL + 8, 1);
	emit_vcpu_imm32(b, VC_EIP, eip);
	emit_vcpu_imm32(b, VC_EXIT_INFO, seg == S_SS ? EXC_SS : EXC_GP);
	emit_vcpu_imm32(b, VC_EXIT_REASON, EXIT_EXCEPTION);
	emit_jmp32(b, cc_exit_thunk());
	*jae = (uint8_t)(b->p - jae - 1);
	ebytes(b, popf, 1);
}

/* lea dst, [r + seg base]: flag-free add of the segment base kept in vcpu->seg_base. */
void xl_emit_add_segbase(struct xl_ctx *x, int dst, int seg)
{
	emit_vcpu_load(&x->b, H_R8, VC_SEG_BASE + 4 * seg, 0);
	emit_lea32(&x->b, dst, dst, H_R8, 0);
}

int xl_gpr_of(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI) return r - ZYDIS_REGISTER_EAX;
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_DI) return r - ZYDIS_REGISTER_AX;
	return -1;
}

/* Compute the guest linear address of the ModRM memory operand into host register dst. */

/* esp_adj is added when ESP is the base (POP m32 addresses with the incremented ESP). */
void xl_emit_ea(struct xl_ctx *x, const struct ginsn *g, int dst, int32_t esp_adj)
{
	xl_emit_offset(x, g, dst, esp_adj);
	xl_emit_seg_apply(x, g, dst);
}

/* The offset (effective address before the segment) of the ModRM operand, into dst. */
void xl_emit_offset(struct xl_ctx *x, const struct ginsn *g, int dst, int32_t esp_adj)
{
	const ZydisDecodedInstruction *z = &g->z;
	int32_t disp = (int32_t)z->raw.disp.value;
	if (g->a16) {
		static const int8_t b16[8] = {R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX};
		static const int8_t i16[8] = {R_ESI, R_EDI, R_ESI, R_EDI, -1, -1, -1, -1};
		int rm = z->raw.modrm.rm, base = b16[rm], idx = i16[rm];
		if (z->raw.modrm.mod == 0 && rm == 6)
			base = -1;
		if (base < 0) {
			if (dst & 8) e8(&x->b, 0x41);
			e8(&x->b, (uint8_t)(0xB8 | (dst & 7)));
			e32(&x->b, (uint32_t)disp & 0xFFFF);
		} else {
			emit_lea32(&x->b, dst, base, idx, disp);
			emit_rr(&x->b, 0, OP_MOVZX16, 2, dst, dst);
		}
	} else {
		int base = -1, idx = -1, scale = 1;
		const ZydisDecodedOperand *o = explicit_mem(g);
		if (o) {
			base = xl_gpr_of(o->mem.base);
			idx = xl_gpr_of(o->mem.index);
			scale = o->mem.scale ? o->mem.scale : 1;
			disp = (int32_t)o->mem.disp.value + (base == R_ESP ? esp_adj : 0);
		}
		if (base < 0 && idx < 0) {
			if (dst & 8) e8(&x->b, 0x41);
			e8(&x->b, (uint8_t)(0xB8 | (dst & 7)));
			e32(&x->b, (uint32_t)disp);
		} else {
			emit_mem(&x->b, 0, OP_LEA, 1, dst, base < 0 ? -1 : hreg(base),
				 idx < 0 ? -1 : hreg(idx), scale, disp);
		}
	}
}

/* Offset in dst -> linear address: limit/type check and segment base when needed. */
void xl_emit_seg_apply(struct xl_ctx *x, const struct ginsn *g, int dst)
{
	int seg = xl_mem_seg(g);
	const ZydisDecodedOperand *o = explicit_mem(g);
	if (!o || o->mem.type == ZYDIS_MEMOP_TYPE_AGEN || !xl_seg_needs_base(x, seg))
		return;    /* LEA: an offset, no segment */
	xl_emit_limit_check(x, g->eip, dst, seg, o->size / 8,
			 (o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0);
	xl_emit_add_segbase(x, dst, seg);
}

/* Guest legacy prefixes to keep (all but segment overrides and 0x67), plus 0x66 if asked. */
unsigned xl_keep_prefixes(const struct ginsn *g, uint8_t *out, bool drop_rep)
{
	unsigned n = 0;
	for (unsigned i = 0; i < g->z.raw.prefix_count; i++) {
		uint8_t p = g->bytes[i];
		if (p == 0x26 || p == 0x2E || p == 0x36 || p == 0x3E || p == 0x64 || p == 0x65 ||
		    p == 0x67)
			continue;
		if (drop_rep && p == 0xF3)
			continue;
		out[n++] = p;
	}
	return n;
}

static bool is_high8(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
	       r == ZYDIS_REGISTER_BH;
}

/* Does the instruction mention guest register g (any width, including AH..BH)? */
static bool uses_greg(const struct ginsn *g, int r)
{
	for (unsigned i = 0; i < g->z.operand_count; i++) {
		const ZydisDecodedOperand *o = &g->op[i];
		ZydisRegister regs[3] = {ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE};
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) regs[0] = o->reg.value;
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) { regs[1] = o->mem.base; regs[2] = o->mem.index; }
		for (int k = 0; k < 3; k++) {
			ZydisRegister v = regs[k];
			if (v == ZYDIS_REGISTER_NONE) continue;
			ZydisRegister l = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LEGACY_32, v);
			if (xl_gpr_of(l) == r) return true;
		}
	}
	return false;
}

void xl_analyse(const struct ginsn *g, struct rewrite *rw)
{
	const ZydisDecodedInstruction *z = &g->z;
	memset(rw, 0, sizeof(*rw));
	rw->has_modrm_mem = (z->attributes & ZYDIS_ATTRIB_HAS_MODRM) && z->raw.modrm.mod != 3;
	for (unsigned i = 0; i < z->operand_count; i++) {
		const ZydisDecodedOperand *o = &g->op[i];
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			if (is_high8(o->reg.value)) rw->high8 = true;
			if (is_sp(o->reg.value)) {
				if (o->encoding == ZYDIS_OPERAND_ENCODING_MODRM_REG) rw->rex |= 0x44;
				else if (o->encoding == ZYDIS_OPERAND_ENCODING_MODRM_RM ||
					 o->encoding == ZYDIS_OPERAND_ENCODING_OPCODE) rw->rex |= 0x41;
			}
		} else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (o->mem.type == ZYDIS_MEMOP_TYPE_AGEN) rw->is_agen = true;
			else rw->mem_access = true;
			if (is_sp(o->mem.base) && o->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
				rw->rex |= 0x41;
		}
	}
}

/*
 * Emit the guest instruction with its ModRM memory operand made host-addressable.
 * pfx: prefixes to emit; opc: opcode bytes (up to, not including, ModRM); reg: the ModRM
 * reg field as a host register number (bit 3 -> REX.R); rexb_extra: REX bits the caller
 * needs besides R (normally 0); tail: the immediate bytes.
 */
void xl_emit_with_mem(struct xl_ctx *x, const struct ginsn *g, const uint8_t *pfx,
			  unsigned npfx, const uint8_t *opc, unsigned nopc, int reg,
			  bool high8, const uint8_t *tail, unsigned ntail)
{
	const ZydisDecodedInstruction *z = &g->z;
	struct rewrite rw;
	xl_analyse(g, &rw);
	bool agen = rw.is_agen;
	bool via_ea = g->a16 || (!agen && xl_seg_needs_base(x, xl_mem_seg(g)));
	/* direct form: base ESP -> R12 needs REX.B; high byte registers forbid any REX */
	const ZydisDecodedOperand *mop = explicit_mem(g);
	bool base_sp = mop && is_sp(mop->mem.base);
	uint8_t rex = 0x40 | ((reg & 8) ? 4 : 0);
	int ea_reg = H_R14;
	if (!via_ea && base_sp) rex |= 1;
	if (via_ea) rex |= 1;
	if (high8 && rex != 0x40) {
		/* borrow a guest register the instruction does not use as the address register */
		ea_reg = xl_borrow_reg(g);
		x->imap[x->n].spill = (int8_t)ea_reg;
		emit_vcpu_store(&x->b, VC_SPILL + 8, ea_reg, 1);
		via_ea = true;
		rex = 0x40;
		xl_stats.spills++;
	}
	if (via_ea)
		xl_emit_ea(x, g, ea_reg, 0);
	if (!agen) e8(&x->b, 0x65);
	e8(&x->b, 0x67);
	ebytes(&x->b, pfx, npfx);
	if (rex != 0x40) e8(&x->b, rex);
	ebytes(&x->b, opc, nopc);
	if (via_ea) {
		e8(&x->b, (uint8_t)(((reg & 7) << 3) | (ea_reg & 7)));   /* mod 00, [ea_reg] */
	} else {
		unsigned m = z->raw.modrm.offset;
		uint8_t modrm = (uint8_t)((g->bytes[m] & 0xC7) | ((reg & 7) << 3));
		unsigned end = z->raw.imm[0].size ? z->raw.imm[0].offset : z->length;
		if ((modrm & 0xC7) == 0x05) {                /* [disp32]: absolute via SIB */
			e8(&x->b, (uint8_t)((modrm & 0x38) | 0x04));
			e8(&x->b, 0x25);
			ebytes(&x->b, g->bytes + m + 1, end - m - 1);
		} else {
			e8(&x->b, modrm);
			ebytes(&x->b, g->bytes + m + 1, end - m - 1);
		}
	}
	ebytes(&x->b, tail, ntail);
	if (x->imap[x->n].spill >= 0)
		emit_vcpu_load(&x->b, x->imap[x->n].spill, VC_SPILL + 8, 1);
}

/* Pick a guest register the instruction does not mention, to lend to a rewrite. */
int xl_borrow_reg(const struct ginsn *g)
{
	static const int pick[] = {R_EBX, R_ESI, R_EDI, R_EDX, R_ECX, R_EAX};
	for (unsigned i = 0; i < 6; i++)
		if (!uses_greg(g, pick[i]))
			return pick[i];
	vmm_panic("no register to borrow at %08x", g->eip);
}
