/*
 * branch.c - lowerings of the near control transfers: Jcc, LOOP/LOOPE/LOOPNE/JECXZ (32- and
 * 16-bit counters), CALL rel, RET, and CALL/JMP through a register or memory.
 *
 * Each ends the block.  A relative target becomes a direct exit (chained later by the code
 * cache); RET and indirect targets go through the inline lookup probe (exit.c).  The return
 * address is pushed, and the target loaded, before ESP or any guest register changes.
 * Called from translate_insn (translate.c).
 */
#include "xl_int.h"

void xl_translate_jcc(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	uint8_t cc = (op == 0x0F ? g->bytes[g->opc + 1] : op) & 0xF;
	struct cc_exit *taken = xl_new_exit(x);
	taken->blk = x->blk;
	e8(&x->b, 0x0F);
	e8(&x->b, (uint8_t)(0x80 | cc));
	taken->rel = x->b.p;
	e32(&x->b, 0);
	xl_emit_direct_exit(x, next_eip(g));
	patch_rel32(taken->rel, x->b.p);
	xl_emit_exit_stub(x, taken, rel_target(g));
	xl_stats.direct_exits++;
	x->ended = true;
}

/* LOOP/LOOPE/LOOPNE/JECXZ with ECX (guest 32-bit addressing only).
 *   67 op +5 ; jmp F (patchable) ; jmp T (patchable) ; stub F ; stub T */
void xl_translate_loop(struct xl_ctx *x, const struct ginsn *g)
{
	e8(&x->b, 0x67);
	e8(&x->b, g->bytes[g->opc]);
	e8(&x->b, 5);
	struct cc_exit *f = xl_new_exit(x), *t = xl_new_exit(x);
	f->blk = t->blk = x->blk;
	f->rel = emit_jmp32(&x->b, x->b.p);
	t->rel = emit_jmp32(&x->b, x->b.p);
	patch_rel32(f->rel, x->b.p);
	xl_emit_exit_stub(x, f, next_eip(g));
	patch_rel32(t->rel, x->b.p);
	xl_emit_exit_stub(x, t, rel_target(g));
	xl_stats.direct_exits += 2;
	x->ended = true;
}

/* The same with a 16-bit counter (0x67): CX is decremented and tested without touching
 * the upper half of ECX or the flags (JRCXZ on a zero-extended copy in RCX).
 *   [lea r14d,[rcx-1]; mov cx,r14w]; mov r11,rcx; movzx ecx,cx; jrcxz zero;
 *   mov rcx,r11; [loope: jnz F | loopne: jz F]; jmp T|F; zero: mov rcx,r11; jmp F|T */
void xl_translate_loop16(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t movzx_cx[] = {0x0F, 0xB7, 0xC9};
	uint8_t op = g->bytes[g->opc];
	bool jcxz = op == 0xE3;
	struct cc_exit *f = xl_new_exit(x), *t = xl_new_exit(x);
	f->blk = t->blk = x->blk;
	if (!jcxz) {
		emit_lea32(&x->b, H_R14, H_RCX, -1, -1);
		emit_rr(&x->b, EM_O16, OP_MOV_ST, 1, H_R14, H_RCX);
	}
	emit_rr(&x->b, EM_W, OP_MOV_ST, 1, H_RCX, H_R11);
	ebytes(&x->b, movzx_cx, 3);
	e8(&x->b, 0xE3); uint8_t *zero = x->b.p; e8(&x->b, 0);
	emit_rr(&x->b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);
	uint8_t *cond = NULL;
	if (op == 0xE1 || op == 0xE0) {                /* loope: exit if !ZF; loopne: if ZF */
		e8(&x->b, 0x0F); e8(&x->b, op == 0xE1 ? 0x85 : 0x84);
		cond = x->b.p; e32(&x->b, 0);
	}
	uint8_t *nz = emit_jmp32(&x->b, x->b.p);       /* counter != 0 */
	*zero = (uint8_t)(x->b.p - zero - 1);
	emit_rr(&x->b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);
	uint8_t *z = emit_jmp32(&x->b, x->b.p);        /* counter == 0 */
	struct cc_exit *taken_if_nz = jcxz ? f : t, *taken_if_z = jcxz ? t : f;
	taken_if_nz->rel = nz;
	taken_if_z->rel = z;
	patch_rel32(f->rel, x->b.p);
	if (cond) patch_rel32(cond, x->b.p);
	xl_emit_exit_stub(x, f, next_eip(g));
	patch_rel32(t->rel, x->b.p);
	xl_emit_exit_stub(x, t, rel_target(g));
	xl_stats.direct_exits += 2;
	x->ended = true;
}

void xl_translate_call_rel(struct xl_ctx *x, const struct ginsn *g)
{
	xl_emit_push_imm(x, next_eip(g), 4);
	xl_emit_direct_exit(x, rel_target(g));
	x->ended = true;
	xl_stats.lowered++;
}

void xl_translate_ret(struct xl_ctx *x, const struct ginsn *g)
{
	uint32_t extra = g->bytes[g->opc] == 0xC2 ? (uint32_t)g->z.raw.imm[0].value.u : 0;
	xl_emit_stack_mem(x, 0, OP_MOV_LD, H_R14, H_R12, 0, 4, false);
	emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)(4 + extra));
	xl_emit_indirect_exit(x);
	xl_stats.lowered++;
}

/* FF /2 (call) and FF /4 (jmp) near indirect. */
void xl_translate_indirect(struct xl_ctx *x, const struct ginsn *g, bool call)
{
	xl_emit_load_rm(x, g, 4);
	if (call)
		xl_emit_push_imm(x, next_eip(g), 4);
	xl_emit_indirect_exit(x);
	xl_stats.lowered++;
}
