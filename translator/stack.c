/*
 * stack.c - lowerings of the stack instructions: PUSH, POP, PUSHA, POPA, PUSH Sreg,
 * LEAVE, ENTER, and the stack helpers the branch and virtual-IF lowerings use.
 *
 * Guest ESP lives in R12D.  Every store or load happens before ESP or any other guest
 * register changes, so a fault restarts the instruction with the state it had.  With flat
 * segments a stack access is gs:[r12d + disp]; with non-flat ones the offset is checked
 * against SS's limit and SS's base is added (xl_emit_stack_mem, r8-r11 clobbered).
 * Called from translate_insn (translate.c), branch.c and vif.c.
 */
#include "xl_int.h"

/*
 * A stack access [base + disp] (SS): flat segments use gs:[base+disp] directly; in non-flat
 * mode the offset goes through r9 with the SS limit check and SS base.  An immediate, if
 * any, is appended by the caller.  Uses r8-r11.
 */
void xl_emit_stack_mem(struct xl_ctx *x, unsigned flags, const uint8_t *op, int reg,
			   int base, int32_t disp, unsigned size, bool write)
{
	if (!(x->mode & XM_NONFLAT)) {
		emit_mem(&x->b, EM_GUEST | flags, op, 1, reg, base, -1, 0, disp);
		return;
	}
	emit_lea32(&x->b, H_R9, base, -1, disp);
	xl_emit_limit_check(x, x->imap[x->n].eip, H_R9, S_SS, size, write);
	xl_emit_add_segbase(x, H_R9, S_SS);
	emit_mem(&x->b, EM_GUEST | flags, op, 1, reg, H_R9, -1, 0, 0);
}

/* mov gs:[r12d - size + adj], reg */
void xl_emit_push_reg(struct xl_ctx *x, int hr, unsigned size)
{
	xl_emit_stack_mem(x, size == 2 ? EM_O16 : 0, OP_MOV_ST, hr, H_R12, -(int32_t)size, size, true);
	emit_lea32(&x->b, H_R12, H_R12, -1, -(int32_t)size);
}

void xl_emit_push_imm(struct xl_ctx *x, uint32_t imm, unsigned size)
{
	xl_emit_stack_mem(x, size == 2 ? EM_O16 : 0, OP_MOV_IMM, 0, H_R12, -(int32_t)size, size, true);
	if (size == 2) e16(&x->b, (uint16_t)imm); else e32(&x->b, imm);
	emit_lea32(&x->b, H_R12, H_R12, -1, -(int32_t)size);
}

/* Load the guest ModRM operand (register or memory) into host r14 (size 2 or 4). */
void xl_emit_load_rm(struct xl_ctx *x, const struct ginsn *g, unsigned size)
{
	if (g->z.raw.modrm.mod == 3) {
		emit_rr(&x->b, size == 2 ? EM_O16 : 0, OP_MOV_ST, 1, hreg(g->z.raw.modrm.rm), H_R14);
		return;
	}
	uint8_t pfx[1] = {0x66};
	xl_emit_with_mem(x, g, pfx, size == 2 ? 1 : 0, OP_MOV_LD, 1, H_R14, false, NULL, 0);
}

void xl_translate_push(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	unsigned size = opsz(g);
	xl_stats.lowered++;
	if (op >= 0x50 && op <= 0x57) {
		xl_emit_push_reg(x, hreg(op & 7), size);
	} else if (op == 0x68 || op == 0x6A) {
		xl_emit_push_imm(x, (uint32_t)g->z.raw.imm[0].value.s, size);
	} else {                                                /* FF /6 */
		xl_emit_load_rm(x, g, size);
		xl_emit_push_reg(x, H_R14, size);
	}
}

/* PUSHA/PUSHAD (flat stack only): eight stores below ESP (ESP's slot gets the value before
 * the instruction), then ESP moves.  A fault on a store leaves ESP and every register as
 * they were, so the instruction simply restarts. */
void xl_translate_pusha(struct xl_ctx *x, const struct ginsn *g)
{
	unsigned size = opsz(g), f16 = size == 2 ? EM_O16 : 0;
	xl_stats.lowered++;
	for (int i = 0; i < 8; i++)
		xl_emit_stack_mem(x, f16, OP_MOV_ST, hreg(i), H_R12, -(int32_t)(size * (unsigned)(i + 1)), size, true);
	emit_lea32(&x->b, H_R12, H_R12, -1, -(int32_t)(8 * size));
}

/* POPA/POPAD (flat stack only): EAX's slot, the highest, is loaded first into r14 and EDI's,
 * the lowest, next: both ends of the frame are touched before any other guest register
 * changes, so a fault (the frame can span two pages) leaves the state as it was. */
void xl_translate_popa(struct xl_ctx *x, const struct ginsn *g)
{
	unsigned size = opsz(g), f16 = size == 2 ? EM_O16 : 0;
	xl_stats.lowered++;
	xl_emit_stack_mem(x, f16, OP_MOV_LD, H_R14, H_R12, (int32_t)(7 * size), size, false);
	for (int i = R_EDI; i >= R_ECX; i--)
		if (i != R_ESP)
			xl_emit_stack_mem(x, f16, OP_MOV_LD, hreg(i), H_R12, (int32_t)((unsigned)(7 - i) * size), size, false);
	emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, hreg(R_EAX));
	emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)(8 * size));
}

/* PUSH Sreg: the selector comes from the vCPU (the monitor keeps it current), zero-extended
 * to 4 bytes with a 32-bit operand size, as insn_stack.c does. */
void xl_translate_push_sreg(struct xl_ctx *x, const struct ginsn *g)
{
	int s = g->op[0].reg.value - ZYDIS_REGISTER_ES;
	int32_t off = (int32_t)(offsetof(struct vcpu, seg) + (size_t)s * sizeof(struct seg) +
				offsetof(struct seg, sel));
	xl_stats.lowered++;
	emit_mem(&x->b, 0, OP_MOVZX16, 2, H_R14, H_R13, -1, 0, off);
	xl_emit_push_reg(x, H_R14, opsz(g));
}

void xl_translate_pop(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	unsigned size = opsz(g);
	unsigned f16 = size == 2 ? EM_O16 : 0;
	xl_stats.lowered++;
	if (op >= 0x58 && op <= 0x5F && (op & 7) == R_ESP) {
		xl_emit_stack_mem(x, f16, OP_MOV_LD, H_R12, H_R12, 0, size, false);
		return;
	}
	xl_emit_stack_mem(x, f16, OP_MOV_LD, H_R14, H_R12, 0, size, false);
	if (op >= 0x58 && op <= 0x5F) {
		emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)size);
		emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, op & 7);
		return;
	}
	/* 8F /0: the address uses the incremented ESP; store before ESP changes */
	if (g->z.raw.modrm.mod == 3) {
		emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)size);
		emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, hreg(g->z.raw.modrm.rm));
		return;
	}
	/* the address uses the incremented ESP, but nothing may change before the store */
	xl_emit_ea(x, g, H_R9, (int32_t)size);
	emit_mem(&x->b, EM_GUEST | f16, OP_MOV_ST, 1, H_R14, H_R9, -1, 0, 0);
	emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)size);
}

/* LEAVE: ESP = EBP; EBP = pop().  ENTER imm16, 0: push EBP; EBP = ESP; ESP -= imm16. */
void xl_translate_leave(struct xl_ctx *x, const struct ginsn *g)
{
	unsigned size = opsz(g);
	unsigned f16 = size == 2 ? EM_O16 : 0;
	xl_emit_stack_mem(x, f16, OP_MOV_LD, H_R14, H_RBP, 0, size, false);
	emit_lea32(&x->b, H_R12, H_RBP, -1, (int32_t)size);
	emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, H_RBP);
	xl_stats.lowered++;
}

/* ENTER size, level: every store happens before ESP and EBP change (sz = 2 or 4).
 *   [esp-sz] = ebp; for i in 1..level-1: [esp-sz-sz*i] = [ebp-sz*i];
 *   temp = esp-sz; if level: [esp-sz-sz*level] = temp; (e)bp = temp;
 *   esp = temp - sz*level - size */
bool xl_translate_enter(struct xl_ctx *x, const struct ginsn *g)
{
	uint32_t frame = (uint32_t)g->z.raw.imm[0].value.u & 0xFFFF;
	unsigned level = (unsigned)g->z.raw.imm[1].value.u & 31;
	int32_t sz = (int32_t)opsz(g);
	unsigned f16 = sz == 2 ? EM_O16 : 0;
	xl_emit_stack_mem(x, f16, OP_MOV_ST, H_RBP, H_R12, -sz, (unsigned)sz, true);
	for (unsigned i = 1; i < level; i++) {
		xl_emit_stack_mem(x, f16, OP_MOV_LD, H_R14, H_RBP, -(int32_t)(sz * (int32_t)i), (unsigned)sz, false);
		xl_emit_stack_mem(x, f16, OP_MOV_ST, H_R14, H_R12, -(sz + sz * (int32_t)i), (unsigned)sz, true);
	}
	emit_lea32(&x->b, H_R14, H_R12, -1, -sz);
	if (level)
		xl_emit_stack_mem(x, f16, OP_MOV_ST, H_R14, H_R12, -(sz + sz * (int32_t)level), (unsigned)sz, true);
	emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, H_RBP);
	emit_lea32(&x->b, H_R12, H_R14, -1, -(int32_t)((unsigned)sz * level + frame));
	xl_stats.lowered++;
	return true;
}
