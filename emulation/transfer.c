/*
 * transfer.c - far control transfers: JMP/CALL ptr16:32 and m16:32, far RET (imm16), IRET,
 * SYSENTER and SYSEXIT.
 *
 * JMP/CALL go to a code segment at the current privilege only: a conforming segment with
 * DPL <= CPL, or a non-conforming one with DPL = CPL and RPL <= CPL; CS takes RPL = CPL.
 * A call gate (16- or 32-bit; gate DPL >= CPL and >= RPL) is followed to its target, and
 * the gate's offset replaces the instruction's.  CALL through a gate to a more privileged
 * non-conforming segment switches to the TSS stack of the target's DPL and copies the gate's
 * parameter count (call_inner); JMP through a gate stays at the current privilege.  A TSS or
 * task-gate descriptor switches tasks (task.c), as does IRET with NT = 1.
 *
 * RET and IRET may return to the same or an outer (numerically higher) privilege level.
 * To an outer level they also pop SS:ESP, check SS against the new CPL, and afterwards
 * null any of DS/ES/FS/GS holding a data or non-conforming code segment the new CPL may not
 * use.  IRET restores EFLAGS by the rules of the *old* CPL: IOPL only at CPL 0, IF only if
 * CPL <= IOPL, VIF/VIP only at CPL 0.  IRET to virtual-8086 mode stops the guest with a clear
 * message: it is not supported.
 *
 * Every check happens on private copies (struct stk, struct ret_frame) before the commit,
 * so a fault leaves CS, SS, ESP, EFLAGS and the CPL as they were.
 */
#include "emu_int.h"

/* Fetch the descriptor a transfer names: a null selector is #GP(0), one beyond its table
 * #GP(selector).  Returns 0, or -1 with the fault raised. */
static int fetch_named(struct vcpu *c, uint16_t sel, uint64_t *d)
{
	int r;

	if (unlikely((sel & 0xFFFC) == 0))
		return emu_raise(c, EXC_GP, 0);
	r = emu_desc_fetch(c, sel, d);
	if (r)
		return r < 0 ? -1 : emu_raise(c, EXC_GP, SEL_ERR(sel));
	return 0;
}

/* The code segment of a far JMP/CALL target (*sel, *off are the target). */
static int code_target(struct vcpu *c, uint16_t sel, uint64_t *d, struct seg *cs)
{
	unsigned cpl = (unsigned)c->cpl, t, dpl;
	uint16_t a = desc_attr(*d);

	t = SEGA_TYPE(a);
	dpl = SEGA_DPL(a);
	if (unlikely(!(a & SEGA_S)) || unlikely(!(t & SEGT_CODE)) ||
	    unlikely((t & SEGT_CONF) ? dpl > cpl : ((sel & 3u) > cpl || dpl != cpl)))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel));
	emu_desc_to_seg(*d, (uint16_t)((sel & ~3u) | cpl), cs);
	return 0;
}

/* Follow a call gate at the current privilege: *sel and *off become its target. */
static int through_gate(struct vcpu *c, uint16_t *sel, uint32_t *off, uint64_t *d)
{
	uint16_t a = desc_attr(*d);
	unsigned t = SEGA_TYPE(a), dpl = SEGA_DPL(a);
	uint16_t gsel = *sel;

	if (unlikely(t != 0xC && t != 0x4)) {
		if (LOG_ON(LOG_GUEST_ERRORS))
			vmm_log("far JMP/CALL through system descriptor %#x (type %u): #GP\n",
				gsel, t);
		return emu_raise(c, EXC_GP, SEL_ERR(gsel));
	}
	if (unlikely(dpl < (unsigned)c->cpl || dpl < (gsel & 3u)))
		return emu_raise(c, EXC_GP, SEL_ERR(gsel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(gsel));
	*sel = (uint16_t)(*d >> 16);
	*off = (uint32_t)(*d & 0xFFFF) | (t == 0xC ? (uint32_t)(*d >> 32) & 0xFFFF0000u : 0);
	if (fetch_named(c, *sel, d))
		return -1;
	/* at the current privilege the target runs with RPL = CPL; a CALL to a more
	 * privileged non-conforming segment is call_inner()'s */
	*sel = (uint16_t)((*sel & ~3u) | (unsigned)c->cpl);
	return 0;
}

static int jump_target(struct vcpu *c, uint16_t *sel, uint32_t *off, uint64_t *d, struct seg *cs)
{

	if (fetch_named(c, *sel, d))
		return -1;
	if (!(desc_attr(*d) & SEGA_S) && through_gate(c, sel, off, d))
		return -1;
	return code_target(c, *sel, d, cs);
}

/* Resolve a far JMP/CALL operand (through a call gate if it names one) and check the
 * offset against the new CS limit. */
static int far_target(struct vcpu *c, uint16_t *sel, uint32_t *off, unsigned osz, uint64_t *d,
		      struct seg *cs)
{
	if (osz == 2)
		*off &= 0xFFFF;
	if (jump_target(c, sel, off, d, cs))
		return -1;
	if (unlikely(*off > cs->limit))
		return emu_raise(c, EXC_GP, 0);
	return 0;
}

/* A far JMP/CALL naming a TSS or a task gate switches tasks (task.c); returns 1 if the
 * descriptor d of sel is neither, else what the switch returns. */
static int far_task(struct vcpu *c, uint16_t sel, uint64_t d, enum emu_task why, uint32_t ret)
{
	uint16_t a = desc_attr(d);
	unsigned t = SEGA_TYPE(a), dpl = SEGA_DPL(a);

	if ((a & SEGA_S) || (t != 5 && (t & 5) != 1))      /* task gate, TSS16/32 (busy too) */
		return 1;
	if (unlikely(dpl < (unsigned)c->cpl || dpl < (sel & 3u)))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel));
	if (t == 5)
		sel = (uint16_t)(d >> 16);
	return emu_task_switch(c, sel, why, ret, false, 0);
}

int emu_far_jmp(struct vcpu *c, uint16_t sel, uint32_t off, unsigned osz, uint32_t ret)
{
	struct seg cs;
	uint64_t d;
	int r;

	if (fetch_named(c, sel, &d))
		return -1;
	if ((r = far_task(c, sel, d, TASK_JMP, ret)) != 1)
		return r;
	if (far_target(c, &sel, &off, osz, &d, &cs) || emu_desc_mark(c, sel, &d, DESC_A))
		return -1;
	emu_cs_set(c, &cs, c->cpl);
	c->eip = off;
	return 0;
}

/*
 * CALL through a call gate to a more privileged non-conforming code segment (target
 * descriptor *d, selector tsel with RPL = CPL): the stack for the new CPL comes from the TSS;
 * on it go the old SS and ESP, the gate's parameter count of words or dwords copied from the
 * old stack, and the old CS and the return EIP, all of the gate's size.
 */
static int call_inner(struct vcpu *c, uint64_t gate, uint16_t tsel, uint32_t off, uint64_t *d,
		      uint32_t ret)
{
	unsigned dpl = SEGA_DPL(desc_attr(*d)), n = (uint32_t)(gate >> 32) & 0x1F;
	unsigned size = SEGA_TYPE(desc_attr(gate)) == 0xC ? 4 : 2;
	struct stk old = emu_stk_current(c), in;
	uint32_t p[31], v[8];
	struct seg cs, ss;

	if (unlikely(!(desc_attr(*d) & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(tsel));
	emu_desc_to_seg(*d, (uint16_t)((tsel & ~3u) | dpl), &cs);
	if (unlikely(off > cs.limit))
		return emu_raise(c, EXC_GP, 0);
	if (emu_inner_stack(c, dpl, 0, &ss, &in))
		return -1;
	for (unsigned i = 0; i < n; i += 8)
		if (emu_stk_read(c, &old, i * size, p + i, n - i < 8 ? n - i : 8, size))
			return -1;
	v[0] = c->seg[S_SS].sel;
	v[1] = c->regs[R_ESP];
	if (emu_stk_push(c, &in, v, 2, size))
		return -1;
	for (unsigned i = n; i > 0;) {          /* highest parameter first: the layout is kept */
		unsigned k = i < 8 ? i : 8;
		for (unsigned j = 0; j < k; j++)
			v[j] = p[i - 1 - j];
		if (emu_stk_push(c, &in, v, k, size))
			return -1;
		i -= k;
	}
	v[0] = c->seg[S_CS].sel;
	v[1] = ret;
	if (emu_stk_push(c, &in, v, 2, size) || emu_desc_mark(c, tsel, d, DESC_A))
		return -1;
	emu_seg_set(c, S_SS, &ss);
	c->regs[R_ESP] = in.esp;
	emu_cs_set(c, &cs, (int)dpl);
	c->eip = off;
	return 0;
}

/* Far CALL: push CS (zero-extended to the operand size, or the call gate's size) and the
 * return EIP `ret`. */
int emu_far_call(struct vcpu *c, uint16_t sel, uint32_t off, unsigned osz, uint32_t ret)
{
	struct stk s = emu_stk_current(c);
	uint32_t v[2] = { c->seg[S_CS].sel, ret };
	struct seg cs;
	uint64_t d;
	int r;

	if (osz == 2)
		off &= 0xFFFF;
	if (fetch_named(c, sel, &d))
		return -1;
	if ((r = far_task(c, sel, d, TASK_CALL, ret)) != 1)
		return r;
	if (!(desc_attr(d) & SEGA_S)) {
		uint64_t gate = d;
		uint16_t a;
		if (through_gate(c, &sel, &off, &d))
			return -1;
		a = desc_attr(d);
		if ((a & SEGA_S) && (SEGA_TYPE(a) & (SEGT_CODE | SEGT_CONF)) == SEGT_CODE &&
		    SEGA_DPL(a) < (unsigned)c->cpl)
			return call_inner(c, gate, sel, off, &d, ret);
		osz = SEGA_TYPE(desc_attr(gate)) == 0xC ? 4 : 2;
	}
	if (code_target(c, sel, &d, &cs))
		return -1;
	if (unlikely(off > cs.limit))
		return emu_raise(c, EXC_GP, 0);
	if (emu_stk_push(c, &s, v, 2, osz) || emu_desc_mark(c, sel, &d, DESC_A))
		return -1;
	c->regs[R_ESP] = s.esp;
	emu_cs_set(c, &cs, c->cpl);
	c->eip = off;
	return 0;
}

/* What RET/IRET found on the stack, checked but not yet loaded. */
struct ret_frame {
	uint32_t eip, esp;
	uint16_t cs_sel, ss_sel;
	unsigned rpl;
	uint64_t cs_desc, ss_desc;
	struct seg cs, ss;
};

static int return_cs(struct vcpu *c, struct ret_frame *f)
{
	uint16_t sel = f->cs_sel, a;
	unsigned t, dpl;

	if (fetch_named(c, sel, &f->cs_desc))
		return -1;
	a = desc_attr(f->cs_desc);
	t = SEGA_TYPE(a);
	dpl = SEGA_DPL(a);
	f->rpl = sel & 3u;
	if (unlikely(!(a & SEGA_S) || !(t & SEGT_CODE) || f->rpl < (unsigned)c->cpl) ||
	    unlikely((t & SEGT_CONF) ? dpl > f->rpl : dpl != f->rpl))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel));
	emu_desc_to_seg(f->cs_desc, sel, &f->cs);
	return 0;
}

static int return_ss(struct vcpu *c, struct ret_frame *f)
{
	uint16_t sel = f->ss_sel, a;

	if (fetch_named(c, sel, &f->ss_desc))
		return -1;
	a = desc_attr(f->ss_desc);
	if (unlikely((sel & 3u) != f->rpl || !(a & SEGA_S) || SEGA_DPL(a) != f->rpl ||
		     (SEGA_TYPE(a) & (SEGT_CODE | SEGT_RW)) != SEGT_RW))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_SS, SEL_ERR(sel));
	emu_desc_to_seg(f->ss_desc, sel, &f->ss);
	return 0;
}

/* Pop the outer SS:ESP at stack offset `off`; ESP then moves by `imm` on the new stack. */
static int outer_stack(struct vcpu *c, const struct stk *s, uint32_t off, unsigned osz,
		       uint16_t imm, struct ret_frame *f)
{
	uint32_t v[2];
	struct stk ns;

	if (emu_stk_read(c, s, off, v, 2, osz))
		return -1;
	f->ss_sel = (uint16_t)v[1];
	if (return_ss(c, f))
		return -1;
	ns = (struct stk){ &f->ss, v[0], ACC_R, 0 };
	emu_stk_adjust(&ns, imm);
	f->esp = ns.esp;
	return 0;
}

/* The last checks of a return: EIP within the new CS, accessed bits. */
static int check_return(struct vcpu *c, struct ret_frame *f, bool outer)
{
	if (unlikely(f->eip > f->cs.limit))
		return emu_raise(c, EXC_GP, 0);
	if (emu_desc_mark(c, f->cs_sel, &f->cs_desc, DESC_A))
		return -1;
	if (outer && emu_desc_mark(c, f->ss_sel, &f->ss_desc, DESC_A))
		return -1;
	return 0;
}

/* After a return to an outer level: DS/ES/FS/GS the new CPL may not use become null. */
static void drop_inner_segments(struct vcpu *c)
{
	static const int sregs[] = { S_ES, S_DS, S_FS, S_GS };

	for (unsigned i = 0; i < 4; i++) {
		uint16_t a = c->seg[sregs[i]].attr;
		unsigned t = SEGA_TYPE(a);
		bool conforming = (t & (SEGT_CODE | SEGT_CONF)) == (SEGT_CODE | SEGT_CONF);
		if ((a & SEGA_P) && !conforming && SEGA_DPL(a) < (unsigned)c->cpl)
			emu_seg_set_null(c, sregs[i], 0);
	}
}

static void commit_return(struct vcpu *c, struct ret_frame *f, bool outer)
{
	emu_cs_set(c, &f->cs, (int)f->rpl);
	if (outer)
		emu_seg_set(c, S_SS, &f->ss);
	c->regs[R_ESP] = f->esp;
	c->eip = f->eip;
	if (outer)
		drop_inner_segments(c);
}

int emu_far_ret(struct vcpu *c, unsigned osz, uint16_t imm)
{
	struct stk s = emu_stk_current(c);
	struct ret_frame f = { 0 };
	uint32_t v[2];
	bool outer;

	if (emu_stk_read(c, &s, 0, v, 2, osz))
		return -1;
	f.eip = v[0];
	f.cs_sel = (uint16_t)v[1];
	if (return_cs(c, &f))
		return -1;
	outer = f.rpl > (unsigned)c->cpl;
	if (outer) {
		if (outer_stack(c, &s, 2 * osz + imm, osz, imm, &f))
			return -1;
	} else {
		emu_stk_adjust(&s, (int32_t)(2 * osz + imm));
		f.esp = s.esp;
	}
	if (check_return(c, &f, outer))
		return -1;
	commit_return(c, &f, outer);
	return 0;
}

/* EFLAGS from an IRET frame, by the rules of the current (old) CPL. */
static void iret_flags(struct vcpu *c, uint32_t v, unsigned osz)
{
	uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT;

	if (osz == 4)
		mask |= FL_RF | FL_AC | FL_ID;
	if ((unsigned)c->cpl <= IOPL(c))
		mask |= FL_IF;
	if (c->cpl == 0)
		mask |= FL_IOPL | (osz == 4 ? FL_VIF | FL_VIP : 0);
	c->eflags = (c->eflags & ~mask) | (v & mask) | FL_FIXED;
}

int emu_iret(struct vcpu *c, unsigned osz, uint32_t ret)
{
	struct stk s = emu_stk_current(c);
	struct ret_frame f = { 0 };
	uint32_t v[3], link = 0;
	bool outer;

	if (unlikely(c->eflags & FL_NT)) {          /* return to the task in the back link */
		if (unlikely(c->tr.limit < 1))
			return emu_raise(c, EXC_TS, SEL_ERR(c->tr.sel));
		if (emu_lin_read_acc(c, c->tr.base, &link, 2, ACC_SYS))
			return -1;
		return emu_task_switch(c, (uint16_t)link, TASK_IRET, ret, false, 0);
	}
	if (emu_stk_read(c, &s, 0, v, 3, osz))
		return -1;
	if (unlikely(osz == 4 && (v[2] & FL_VM) && c->cpl == 0))
		return emu_stop(c, "IRET to virtual-8086 mode (not supported)");
	f.eip = v[0];
	f.cs_sel = (uint16_t)v[1];
	if (return_cs(c, &f))
		return -1;
	outer = f.rpl > (unsigned)c->cpl;
	if (outer) {
		if (outer_stack(c, &s, 3 * osz, osz, 0, &f))
			return -1;
	} else {
		emu_stk_adjust(&s, (int32_t)(3 * osz));
		f.esp = s.esp;
	}
	if (check_return(c, &f, outer))
		return -1;
	iret_flags(c, v[2], osz);
	commit_return(c, &f, outer);
	return 0;
}

/* SYSENTER: flat ring-0 CS/SS from IA32_SYSENTER_CS, ESP and EIP from the MSRs. */
int emu_sysenter(struct vcpu *c)
{
	uint16_t sel = (uint16_t)c->msr_sysenter_cs & 0xFFFC;
	struct seg cs, ss;

	if (unlikely(sel == 0))
		return emu_raise(c, EXC_GP, 0);
	emu_seg_flat(&cs, sel, 0, true);
	emu_seg_flat(&ss, (uint16_t)(sel + 8), 0, false);
	c->eflags &= ~(FL_VM | FL_IF | FL_RF);
	emu_cs_set(c, &cs, 0);
	emu_seg_set(c, S_SS, &ss);
	c->regs[R_ESP] = (uint32_t)c->msr_sysenter_esp;
	c->eip = (uint32_t)c->msr_sysenter_eip;
	return 0;
}

/* SYSEXIT: flat ring-3 CS/SS at IA32_SYSENTER_CS + 16 / + 24, ESP = ECX, EIP = EDX. */
int emu_sysexit(struct vcpu *c)
{
	uint16_t base = (uint16_t)c->msr_sysenter_cs;
	struct seg cs, ss;

	if (unlikely((base & 0xFFFC) == 0 || c->cpl != 0))
		return emu_raise(c, EXC_GP, 0);
	emu_seg_flat(&cs, (uint16_t)((base + 16) | 3), 3, true);
	emu_seg_flat(&ss, (uint16_t)((base + 24) | 3), 3, false);
	emu_cs_set(c, &cs, 3);
	emu_seg_set(c, S_SS, &ss);
	c->regs[R_ESP] = c->regs[R_ECX];
	c->eip = c->regs[R_EDX];
	return 0;
}
