/*
 * insn_stack.c - handlers for PUSH, POP, PUSHF/POPF, PUSHA/POPA (16- and 32-bit forms).
 *
 * PUSH of a segment register with 32-bit operand size writes 4 bytes, the selector
 * zero-extended.  (Intel P6 and later write only the low 2 bytes of the slot; AMD CPUs, the
 * host kind here, and QEMU write 4: we follow them, which also leaves no stale bytes.)
 * POP computes a memory destination with the incremented ESP, and undoes the increment if
 * that store faults.  POP SS inhibits interrupts for one instruction.
 *
 * PUSHF pushes EFLAGS with VM and RF clear.  POPF: at CPL 0 it may change IF and IOPL; at
 * CPL > 0 never IOPL, and IF only when CPL <= IOPL (otherwise IF silently stays); VM, VIF
 * and VIP are never changed, RF ends clear, AC and ID are writable (i486+/CPUID), bit 1 stays
 * set.  16-bit forms touch only FLAGS (the low 16 bits).  POPA skips the saved ESP.
 */
#include "emu_int.h"

EMU_HANDLER(push)
{
	struct stk s = emu_stk_current(c);
	uint32_t v;

	if (emu_op_read(c, in, 0, &v) || emu_stk_push(c, &s, &v, 1, in->osz))
		return -1;
	c->regs[R_ESP] = s.esp;
	return 0;
}

EMU_HANDLER(pop)
{
	struct stk s = emu_stk_current(c);
	uint32_t v, old = c->regs[R_ESP];
	int sreg = -1;

	if (in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER)
		sreg = emu_zreg_sreg(in->op[0].reg.value);
	if (emu_stk_read(c, &s, 0, &v, 1, in->osz))
		return -1;
	emu_stk_adjust(&s, (int32_t)in->osz);
	if (sreg >= 0) {
		if (emu_load_seg(c, sreg, (uint16_t)v))
			return -1;
		c->regs[R_ESP] = s.esp;
		if (sreg == S_SS)
			emu_ss_shadow(c);
		return 0;
	}
	c->regs[R_ESP] = s.esp;
	if (emu_op_write(c, in, 0, v)) {
		c->regs[R_ESP] = old;
		return -1;
	}
	return 0;
}

EMU_HANDLER(pushf)
{
	struct stk s = emu_stk_current(c);
	uint32_t v = c->eflags & ~(FL_VM | FL_RF);

	if (emu_stk_push(c, &s, &v, 1, in->osz))
		return -1;
	c->regs[R_ESP] = s.esp;
	return 0;
}

/* The EFLAGS bits POPF may change at the current CPL and IOPL. */
static uint32_t popf_mask(const struct vcpu *c, unsigned osz)
{
	uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID;

	if (c->cpl == 0)
		mask |= FL_IOPL | FL_IF;
	else if ((unsigned)c->cpl <= IOPL(c))
		mask |= FL_IF;
	return osz == 2 ? mask & 0xFFFF : mask;
}

EMU_HANDLER(popf)
{
	struct stk s = emu_stk_current(c);
	uint32_t v, mask = popf_mask(c, in->osz);

	if (emu_stk_read(c, &s, 0, &v, 1, in->osz))
		return -1;
	emu_stk_adjust(&s, (int32_t)in->osz);
	c->regs[R_ESP] = s.esp;
	c->eflags = ((c->eflags & ~mask) | (v & mask) | FL_FIXED) & ~FL_RF;
	return 0;
}

EMU_HANDLER(pusha)
{
	struct stk s = emu_stk_current(c);
	const uint32_t *r = c->regs;
	uint32_t v[8] = { r[R_EAX], r[R_ECX], r[R_EDX], r[R_EBX],
			  r[R_ESP], r[R_EBP], r[R_ESI], r[R_EDI] };

	if (emu_stk_push(c, &s, v, 8, in->osz))
		return -1;
	c->regs[R_ESP] = s.esp;
	return 0;
}

EMU_HANDLER(popa)
{
	static const int order[8] = { R_EDI, R_ESI, R_EBP, R_ESP, R_EBX, R_EDX, R_ECX, R_EAX };
	struct stk s = emu_stk_current(c);
	uint32_t v[8], m = in->osz == 2 ? 0xFFFFu : 0xFFFFFFFFu;

	if (emu_stk_read(c, &s, 0, v, 8, in->osz))
		return -1;
	for (int i = 0; i < 8; i++)
		if (order[i] != R_ESP)
			c->regs[order[i]] = (c->regs[order[i]] & ~m) | (v[i] & m);
	emu_stk_adjust(&s, (int32_t)(8 * in->osz));
	c->regs[R_ESP] = s.esp;
	return 0;
}
