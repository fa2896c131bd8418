/*
 * vif.c - the virtual interrupt flag at CPL 0: CLI, STI, PUSHFD, POPFD inline.
 *
 * At CPL 0, CLI/STI/PUSHF/POPF work on vcpu->eflags (the virtual IF, IOPL, ...) and the
 * host RFLAGS (arithmetic flags, DF) without leaving translated code.  After STI and POPF
 * an interrupt may have become deliverable: a flag-free probe loads through
 * vcpu->irq_ptr, which the run loop points at the fault page while the PIC holds a pending
 * interrupt.  The probe has its own instruction-map entry (EIP of the next instruction),
 * marked XI_INHIBIT after STI so that the next instruction still runs first.
 *
 * Invariant: the guest's IF, IOPL and the other system flags live only in vcpu->eflags,
 * never in the host RFLAGS.  Called from translate_insn (translate.c) when classify.c
 * chose K_CLI/K_STI/K_PUSHF/K_POPF (CPL 0, 32-bit operand size).
 */
#include "xl_int.h"

#define POPF_KEEP (FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | FL_AC | FL_ID)

static void emit_irq_probe(struct xl_ctx *x, gla_t next, bool inhibit)
{
	x->n++;
	x->imap[x->n] = (struct xl_imap){ .eip = next, .host_off = (uint16_t)(x->b.p - x->b.start),
		.fix = inhibit ? XI_INHIBIT : 0, .spill = -1 };
	emit_vcpu_load(&x->b, H_R14, VC_IRQ_PTR, 1);
	emit_mem(&x->b, 0, OP_MOV_LD, 1, H_R14, H_R14, -1, 0, 0);
}

/* and/or dword [r13+eflags], imm with the host flags preserved around it */
static void emit_vflags_op(struct xl_ctx *x, int ext, uint32_t imm)
{
	ebytes(&x->b, OP_PUSHF, 1);
	emit_mem(&x->b, 0, OP_GRP1, 1, ext, H_R13, -1, 0, VC_EFLAGS);
	e32(&x->b, imm);
	ebytes(&x->b, OP_POPF, 1);
}

void xl_translate_cli(struct xl_ctx *x) { emit_vflags_op(x, 4, ~FL_IF); }

void xl_translate_sti(struct xl_ctx *x, const struct ginsn *g)
{
	emit_vflags_op(x, 1, FL_IF);
	emit_irq_probe(x, g->eip + g->z.length, true);
}

/* push (vcpu->eflags without RF/VM, host arithmetic flags and DF merged in) */
void xl_translate_pushf(struct xl_ctx *x)
{
	static const uint8_t and_imm[] = {0x81}, or_rr[] = {0x09};
	ebytes(&x->b, OP_PUSHF, 1);
	emit_mem(&x->b, 0, OP_MOV_LD, 1, H_R14, H_RSP, -1, 0, 0);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R14); e32(&x->b, FL_HOST);
	emit_vcpu_load(&x->b, H_R9, VC_EFLAGS, 0);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R9); e32(&x->b, ~(FL_HOST | FL_RF | FL_VM));
	emit_rr(&x->b, 0, or_rr, 1, H_R9, H_R14);
	ebytes(&x->b, OP_POPF, 1);
	xl_emit_push_reg(x, H_R14, 4);
}

/* host RFLAGS = the arithmetic flags and DF of the guest EFLAGS in r14d */
static void emit_host_flags(struct xl_ctx *x)
{
	static const uint8_t and_imm[] = {0x81}, push_r14[] = {0x41, 0x56};
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R14); e32(&x->b, FL_HOST);
	ebytes(&x->b, push_r14, 2);
	ebytes(&x->b, OP_POPF, 1);
}

/*
 * POPF: the new EFLAGS go to vcpu->eflags and the host flags.  A POPF that sets TF leaves
 * for the run loop after it (the host flags are dead until the POPF of the host part, so
 * the test may use them), which single-steps the guest from the next instruction on.
 */
void xl_translate_popf(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t and_imm[] = {0x81}, test_imm[] = {0xF7};
	gla_t next = g->eip + g->z.length;
	xl_emit_stack_mem(x, 0, OP_MOV_LD, H_R14, H_R12, 0, 4, false);
	emit_lea32(&x->b, H_R12, H_R12, -1, 4);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R14); e32(&x->b, POPF_KEEP);
	emit_rr(&x->b, 0, and_imm, 1, 1, H_R14); e32(&x->b, FL_FIXED);   /* or r14d, 2 */
	emit_vcpu_store(&x->b, VC_EFLAGS, H_R14, 0);
	emit_rr(&x->b, 0, test_imm, 1, 0, H_R14); e32(&x->b, FL_TF);
	e8(&x->b, 0x74); uint8_t *no_tf = x->b.p; e8(&x->b, 0);          /* jz: TF clear */
	emit_host_flags(x);
	emit_mov_imm64(&x->b, H_R14, 0);                                  /* no exit to chain */
	emit_vcpu_store(&x->b, VC_SPILL, H_R14, 1);
	bool ended = x->ended;
	xl_emit_reason_exit(x, next, EXIT_LOOKUP, 0);
	x->ended = ended;
	*no_tf = (uint8_t)(x->b.p - no_tf - 1);
	emit_host_flags(x);
	emit_irq_probe(x, next, false);
}
