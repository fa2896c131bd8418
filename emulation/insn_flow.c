/*
 * insn_flow.c - handlers for control transfers: JMP, CALL, RET (near and far), IRET,
 * INT n, INT3, INTO, INT1, and BOUND.
 *
 * Far forms go to transfer.c; near forms are here so that a near branch handed over by the
 * translator is not a spurious #UD (target checked against the CS limit, #GP(0)).
 * INT n, INT3 and INTO are software interrupts: delivered at once, with the gate-DPL check
 * and the saved EIP after the instruction; if delivery faults, the fault belongs to the INT
 * instruction (EIP stays on it) and is not a double fault.  INT1 (ICEBP) delivers #DB as a
 * trap without the DPL check.  BOUND raises #BR (a fault) when the signed index is outside
 * the bounds.
 */
#include "emu_int.h"
#include "../pv/abi.h"

static bool is_far(const struct insn *in)
{
	return in->z.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
}

/* Selector and offset of a far JMP/CALL operand: ptr16:16/32 or m16:16/32. */
static int far_target(struct vcpu *c, const struct insn *in, uint16_t *sel, uint32_t *off)
{
	const ZydisDecodedOperand *o = &in->op[0];
	uint32_t a;
	int sreg;

	if (o->type == ZYDIS_OPERAND_TYPE_POINTER) {
		*sel = o->ptr.segment;
		*off = o->ptr.offset;
		return 0;
	}
	emu_op_addr(c, in, 0, &sreg, &a);
	*off = 0;
	if (emu_seg_read(c, sreg, a, off, in->osz) || emu_seg_read(c, sreg, a + in->osz, sel, 2))
		return -1;
	return 0;
}

/* Target of a near JMP/CALL: relative immediate, register or memory. */
static int near_target(struct vcpu *c, const struct insn *in, uint32_t *target)
{
	const ZydisDecodedOperand *o = &in->op[0];

	if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		*target = in->next + (uint32_t)o->imm.value.u;
	else if (emu_op_read(c, in, 0, target))
		return -1;
	if (in->osz == 2)
		*target &= 0xFFFF;
	if (unlikely(*target > c->seg[S_CS].limit))
		return emu_raise(c, EXC_GP, 0);
	return 0;
}

EMU_HANDLER(jmp)
{
	uint32_t off;
	uint16_t sel;
	int r;

	if (!is_far(in))
		return near_target(c, in, &in->next);
	if (far_target(c, in, &sel, &off))
		return -1;
	r = emu_far_jmp(c, sel, off, in->osz, in->next);
	if (r == 0)
		in->next = c->eip;
	return r;
}

EMU_HANDLER(call)
{
	struct stk s = emu_stk_current(c);
	uint32_t off, ret = in->next;
	uint16_t sel;

	if (is_far(in)) {
		if (far_target(c, in, &sel, &off))
			return -1;
		int r = emu_far_call(c, sel, off, in->osz, ret);
		if (r == 0)
			in->next = c->eip;
		return r;
	}
	if (near_target(c, in, &off) || emu_stk_push(c, &s, &ret, 1, in->osz))
		return -1;
	c->regs[R_ESP] = s.esp;
	in->next = off;
	return 0;
}

EMU_HANDLER(ret)
{
	uint16_t imm = 0;
	struct stk s = emu_stk_current(c);
	uint32_t target;

	if (in->z.operand_count_visible > 0)
		imm = (uint16_t)in->op[0].imm.value.u;
	if (is_far(in)) {
		if (emu_far_ret(c, in->osz, imm))
			return -1;
		in->next = c->eip;
		return 0;
	}
	if (emu_stk_read(c, &s, 0, &target, 1, in->osz))
		return -1;
	if (unlikely(target > c->seg[S_CS].limit))
		return emu_raise(c, EXC_GP, 0);
	emu_stk_adjust(&s, (int32_t)(in->osz + imm));
	c->regs[R_ESP] = s.esp;
	in->next = target;
	return 0;
}

EMU_HANDLER(iret)
{
	int r = emu_iret(c, in->osz, in->next);

	if (r == 0) {
		in->next = c->eip;
		c->nmi_blocked = false;   /* IRET ends NMI blocking */
	}
	return r;
}

/* Deliver a software interrupt or trap whose saved EIP is the next instruction. */
static int soft_event(struct vcpu *c, struct insn *in, int vector, int flags)
{
	int r = emu_deliver(c, vector, 0, flags, in->next);

	if (r == 0)
		in->next = c->eip;
	return r;
}

EMU_HANDLER(int)
{
	/* A PV guest's hypercall (pv/abi.h): handled by the monitor, never through the IDT */
	if (emu_pv && c->cpl == 0 && (in->op[0].imm.value.u & 0xFF) == PV_HYPERCALL_VEC)
		return emu_pv->hypercall(c);
	return soft_event(c, in, (int)(in->op[0].imm.value.u & 0xFF), DV_SOFT);
}

EMU_HANDLER(int3)
{
	return soft_event(c, in, EXC_BP, DV_SOFT);
}

EMU_HANDLER(into)
{
	if (!(c->eflags & FL_OF))
		return 0;
	return soft_event(c, in, EXC_OF, DV_SOFT);
}

EMU_HANDLER(int1)
{
	return soft_event(c, in, EXC_DB, DV_EXT);
}

EMU_HANDLER(bound)
{
	uint32_t idx, lo = 0, hi = 0, off;
	int32_t i, l, h;
	int sreg;

	if (emu_op_read(c, in, 0, &idx))
		return -1;
	emu_op_addr(c, in, 1, &sreg, &off);
	if (emu_seg_read(c, sreg, off, &lo, in->osz) || emu_seg_read(c, sreg, off + in->osz, &hi, in->osz))
		return -1;
	if (in->osz == 2) {
		i = (int16_t)idx;
		l = (int16_t)lo;
		h = (int16_t)hi;
	} else {
		i = (int32_t)idx;
		l = (int32_t)lo;
		h = (int32_t)hi;
	}
	if (i < l || i > h)
		return emu_raise(c, EXC_BR, 0);
	return 0;
}
