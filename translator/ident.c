/*
 * ident.c - IDENT and the small re-encodings.
 *
 * Most guest instructions run as themselves: their bytes are copied with the guest's
 * prefixes (segment overrides and 0x67 dropped), GS + 0x67 added for memory and a REX
 * prefix where ESP must become R12.  The rest of this file covers the forms that 64-bit
 * mode encodes differently: INC/DEC r32 short forms (REX there), ESP together with AH..BH
 * (REX would make BH DIL), XLAT and BT m,r through a checked segment.  Memory operands go
 * through operand.c.  Called from translate_insn (translate.c).
 */
#include "xl_int.h"

/* Host register for the ModRM reg field of g (ESP -> R12 when it names a GPR). */
static int modrm_reg_host(const struct ginsn *g)
{
	int reg = g->z.raw.modrm.reg;
	for (unsigned i = 0; i < g->z.operand_count; i++) {
		const ZydisDecodedOperand *o = &g->op[i];
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    o->encoding == ZYDIS_OPERAND_ENCODING_MODRM_REG && is_sp(o->reg.value))
			return H_R12;
	}
	return reg;
}

/*
 * Register forms naming ESP and AH..BH together (MOVZX/MOVSX esp, bh): REX would turn BH
 * into DIL, so ESP is swapped into a borrowed legacy register around the instruction.
 */
static void translate_ident_swap_esp(struct xl_ctx *x, const struct ginsn *g,
				     const struct rewrite *rw, const uint8_t *pfx, unsigned npfx)
{
	uint8_t bytes[16];
	int t = xl_borrow_reg(g);
	const ZydisDecodedInstruction *z = &g->z;
	memcpy(bytes, g->bytes, sizeof(bytes));
	if (z->attributes & ZYDIS_ATTRIB_HAS_MODRM) {
		uint8_t *m = &bytes[z->raw.modrm.offset];
		if (rw->rex & 4) *m = (uint8_t)((*m & 0xC7) | (t << 3));
		if ((rw->rex & 1) && z->raw.modrm.mod == 3) *m = (uint8_t)((*m & 0xF8) | t);
	} else if (rw->rex & 1) {
		bytes[z->length - 1 - (z->raw.imm[0].size / 8)] =
			(uint8_t)((bytes[g->opc + (z->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)] & 0xF8) | t);
	}
	x->imap[x->n].spill = (int8_t)t;
	emit_vcpu_store(&x->b, VC_SPILL + 8, t, 1);
	emit_rr(&x->b, 0, OP_MOV_ST, 1, H_R12, t);                /* t = esp */
	ebytes(&x->b, pfx, npfx);
	ebytes(&x->b, bytes + g->opc, z->length - g->opc);
	emit_rr(&x->b, 0, OP_MOV_ST, 1, t, H_R12);                /* esp = t */
	emit_vcpu_load(&x->b, t, VC_SPILL + 8, 1);
	xl_stats.spills++;
}

/*
 * MOV AL/EAX <-> moffs32 (A0-A3) names the same access as the ModRM form with an absolute
 * disp32 (8A/8B/88/89, mod 00 r/m 101) under the same segment.  The ModRM form goes through
 * the memory lowering, which adds fs:/gs: bases and checks non-flat segments; so a moffs
 * form that needs that (Linux reads its per-CPU variables as mov %fs:addr,%eax) is
 * translated as its ModRM twin instead of leaving for the monitor.  The twin is one byte
 * longer, but only its own bytes are sliced with its length; the block goes on from the
 * guest instruction's length.  False if the form has no twin (16-bit addressing).
 */
static bool translate_moffs_as_modrm(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t twin[4] = { 0x8A, 0x8B, 0x88, 0x89 };
	uint8_t op = g->bytes[g->opc];
	if (g->a16 || op < 0xA0 || op > 0xA3 || g->z.length != g->opc + 5)
		return false;
	struct ginsn m;
	memset(&m, 0, sizeof(m));
	memcpy(m.bytes, g->bytes, g->opc);
	m.bytes[g->opc] = twin[op - 0xA0];
	m.bytes[g->opc + 1] = 0x05;                       /* mod 00, reg 0 (AL/EAX), disp32 */
	memcpy(m.bytes + g->opc + 2, g->bytes + g->opc + 1, 4);
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&xl_decoder, m.bytes, g->z.length + 1, &m.z, m.op)))
		return false;
	m.eip = g->eip;
	m.next_page = g->next_page;
	xl_fill_prefix_info(&m);
	xl_translate_ident(x, &m);
	return true;
}

void xl_translate_ident(struct xl_ctx *x, const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	struct rewrite rw;
	uint8_t pfx[16];
	bool drop_rep = z->mnemonic == ZYDIS_MNEMONIC_TZCNT || z->mnemonic == ZYDIS_MNEMONIC_LZCNT;
	unsigned npfx = xl_keep_prefixes(g, pfx, drop_rep);
	xl_analyse(g, &rw);
	xl_stats.ident++;
	if (rw.has_modrm_mem) {
		unsigned m = z->raw.modrm.offset;
		unsigned imm = z->raw.imm[0].size ? z->raw.imm[0].offset : z->length;
		xl_emit_with_mem(x, g, pfx, npfx, g->bytes + g->opc, m - g->opc, modrm_reg_host(g),
			      rw.high8, g->bytes + imm, z->length - imm);
		return;
	}
	if (rw.rex && rw.high8 && !rw.mem_access)
		return translate_ident_swap_esp(x, g, &rw, pfx, npfx);
	/* register-only or implicit/moffs memory: prefixes + REX + bytes as they are */
	if (rw.mem_access) {
		if (g->seg == S_FS || g->seg == S_GS || g->a16 || (x->mode & XM_NONFLAT)) {
			if (translate_moffs_as_modrm(x, g))
				return;
			xl_emit_reason_exit(x, g->eip, EXIT_EMULATE, 0);  /* rare: monitor does it */
			return;
		}
		e8(&x->b, 0x65);
		e8(&x->b, 0x67);
	}
	ebytes(&x->b, pfx, npfx);
	if (rw.rex) e8(&x->b, rw.rex);
	ebytes(&x->b, g->bytes + g->opc, z->length - g->opc);
}

/* XLAT with fs:/gs: or non-flat DS: AL = [seg: EBX + AL] through the EA path. */
void xl_translate_xlat(struct xl_ctx *x, const struct ginsn *g)
{
	int seg = g->seg >= 0 ? g->seg : S_DS;
	emit_rr(&x->b, 0, OP_MOVZX8, 2, H_R14, H_RAX);          /* r14d = al */
	emit_lea32(&x->b, H_R14, H_RBX, H_R14, 0);
	if (g->a16)
		emit_rr(&x->b, 0, OP_MOVZX16, 2, H_R14, H_R14);
	xl_emit_limit_check(x, g->eip, H_R14, seg, 1, false);
	xl_emit_add_segbase(x, H_R14, seg);
	emit_mem(&x->b, EM_GUEST, OP_MOV_LD8, 1, H_RAX, H_R14, -1, 0, 0);   /* mov al, [r14d] */
	xl_stats.lowered++;
}

/*
 * BT/BTS/BTR/BTC m, r on the lowered path (16-bit addressing, checked segments): the
 * operand is the word/dword at EA + (signed bit offset >> 4 or 5) * size, wrapped to the
 * address size, and the segment check applies to that address, not to EA.  The address
 * arithmetic clobbers flags, so it runs between PUSHFQ and POPFQ; the bit test itself is
 * the host instruction on [r14] with the bit number in r9.
 */

void xl_translate_bt_reg(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t pushf[] = {0x9C}, popf[] = {0x9D}, movsx16[] = {0x0F, 0xBF};
	static const uint8_t sar[] = {0xC1}, and_imm[] = {0x83};
	unsigned sz = opsz(g), f16 = sz == 2 ? EM_O16 : 0;
	int bitreg = hreg(g->z.raw.modrm.reg);
	uint8_t op[2] = {0x0F, g->bytes[g->opc + 1]};

	ebytes(&x->b, pushf, 1);
	xl_emit_offset(x, g, H_R14, 0);
	if (sz == 2) emit_rr(&x->b, 0, movsx16, 2, H_R9, bitreg);     /* movsx r9d, r16 */
	else emit_rr(&x->b, 0, OP_MOV_ST, 1, bitreg, H_R9);            /* mov r9d, r32 */
	emit_rr(&x->b, 0, sar, 1, 7, H_R9); e8(&x->b, sz == 2 ? 4 : 5); /* sar r9d, 4|5 */
	emit_mem(&x->b, 0, OP_LEA, 1, H_R14, H_R14, H_R9, (int)sz, 0);
	if (g->a16) emit_rr(&x->b, 0, OP_MOVZX16, 2, H_R14, H_R14);
	emit_rr(&x->b, 0, OP_MOV_ST, 1, bitreg, H_R9);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R9); e8(&x->b, (uint8_t)(sz * 8 - 1));
	ebytes(&x->b, popf, 1);
	xl_emit_seg_apply(x, g, H_R14);
	emit_mem(&x->b, EM_GUEST | f16, op, 2, H_R9, H_R14, -1, 0, 0);
	xl_stats.lowered++;
}

/* INC/DEC r32 short forms (0x40-0x4F) are REX in 64-bit mode: use FF /0, FF /1. */
void xl_translate_incdec(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	int r = hreg(op & 7);
	if (g->o16) e8(&x->b, 0x66);
	if (r & 8) e8(&x->b, 0x41);
	e8(&x->b, 0xFF);
	e8(&x->b, (uint8_t)(0xC0 | ((op & 8) ? 0x08 : 0) | (r & 7)));
	xl_stats.lowered++;
}
