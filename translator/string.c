/*
 * string.c - the string instructions (MOVS, CMPS, STOS, LODS, SCAS, with REP).
 *
 * In 64-bit mode ES:EDI ignores segment overrides, so the instruction runs on host
 * pointers: RSI/RDI become window + ESI/EDI (R15 is the window base) around the guest's
 * own bytes, then are converted back, flag-free.  The instruction map marks RSI/RDI as host
 * pointers (XI_STR_SRC/DST) so that a fault mid-REP gives the guest the right ESI/EDI.
 * 16-bit addressing and segments that need a base or per-element checks go to the monitor.
 * Called from translate_insn (translate.c).
 */
#include "xl_int.h"

/* lea rX, [r15 + rX] (64-bit): guest offset -> host pointer. */
static void emit_to_host_ptr(struct xl_ctx *x, int r)
{
	emit_mem(&x->b, EM_W, OP_LEA, 1, r, H_R15, r, 1, 0);
}
/* rX = rX - r15 (flag-free: r8 = ~r15; rX = rX + r8 + 1), then zero-extend 32 bits. */
static void emit_from_host_ptr(struct xl_ctx *x, int r)
{
	static const uint8_t not_op[] = {0xF7};
	emit_rr(&x->b, EM_W, OP_MOV_ST, 1, H_R15, H_R8);
	emit_rr(&x->b, EM_W, not_op, 1, 2, H_R8);
	emit_mem(&x->b, EM_W, OP_LEA, 1, r, r, H_R8, 1, 1);
	emit_rr(&x->b, 0, OP_MOV_ST, 1, r, r);
}

void xl_translate_string(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	bool src = (op >= 0xA4 && op <= 0xA7) || op == 0xAC || op == 0xAD;
	bool dst = (op >= 0xA4 && op <= 0xA7) || op == 0xAA || op == 0xAB || op == 0xAE || op == 0xAF;
	int sseg = g->seg >= 0 ? g->seg : S_DS;
	bool sbase = src && xl_seg_needs_base(x, sseg);
	bool dbase = dst && (x->mode & XM_NONFLAT);
	uint8_t pfx[16];
	unsigned npfx = xl_keep_prefixes(g, pfx, false);
	if (g->a16 || sbase || dbase) {
		/* 16-bit addressing, or segments to check per element: the monitor does it */
		xl_emit_reason_exit(x, g->eip, EXIT_EMULATE, 0);
		return;
	}
	x->imap[x->n].fix = (uint8_t)((src ? XI_STR_SRC : 0) | (dst ? XI_STR_DST : 0) |
				      (sbase ? XI_SRC_SEG | (sseg << 4) : 0));
	if (src) {
		if (sbase) xl_emit_add_segbase(x, H_RSI, sseg);
		emit_to_host_ptr(x, H_RSI);
	}
	if (dst) {
		if (dbase) xl_emit_add_segbase(x, H_RDI, S_ES);
		emit_to_host_ptr(x, H_RDI);
	}
	ebytes(&x->b, pfx, npfx);
	e8(&x->b, op);
	if (src) {
		emit_from_host_ptr(x, H_RSI);
		if (sbase) {   /* subtract the base again: esi = esi + ~base + 1 */
			static const uint8_t not_op[] = {0xF7};
			emit_vcpu_load(&x->b, H_R8, VC_SEG_BASE + 4 * sseg, 0);
			emit_rr(&x->b, 0, not_op, 1, 2, H_R8);
			emit_mem(&x->b, 0, OP_LEA, 1, H_RSI, H_RSI, H_R8, 1, 1);
		}
	}
	if (dst) {
		emit_from_host_ptr(x, H_RDI);
		if (dbase) {
			static const uint8_t not_op[] = {0xF7};
			emit_vcpu_load(&x->b, H_R8, VC_SEG_BASE + 4 * S_ES, 0);
			emit_rr(&x->b, 0, not_op, 1, 2, H_R8);
			emit_mem(&x->b, 0, OP_LEA, 1, H_RDI, H_RDI, H_R8, 1, 1);
		}
	}
	xl_stats.lowered++;
}
