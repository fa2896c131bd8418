/*
 * exceptions.c - raising exceptions and delivering events through the guest IDT.
 *
 * emu_raise() only records an exception (vector, error code if the vector has one); the
 * run loop delivers it with emu_deliver_exception().  emu_deliver() is one delivery attempt:
 *   IDT limit -> gate type -> (software only) gate DPL >= CPL -> gate present ->
 *   target code segment (null, table limit, code, DPL <= CPL, present) ->
 *   non-conforming DPL < CPL: SS:ESP for the new CPL from the 32-bit (or 16-bit) TSS,
 *   checked as a stack, frame SS ESP EFLAGS CS EIP [err] pushed there (supervisor access);
 *   otherwise EFLAGS CS EIP [err] on the current stack ->
 *   EIP within the new CS limit -> commit (CS, CPL, SS:ESP, EFLAGS: TF NT RF VM cleared,
 *   IF too through an interrupt gate).
 * Nothing architectural changes before the last check; a failed attempt leaves the new
 * exception recorded.  Errors found while delivering an external event (an interrupt or an
 * exception the CPU raised) carry the EXT bit in their error code; INT n / INT3 / INTO do not.
 * The pushed RF is 1 for fault-class exceptions, as on real CPUs (SDM 17.3.1.1).
 *
 * emu_deliver_exception() handles faults during delivery with the SDM's classes: benign
 * events are replaced by the new fault; contributory after contributory, and contributory or
 * #PF after #PF, become #DF (error 0); anything while delivering #DF is a triple fault
 * (EXIT_SHUTDOWN).  Task gates are not supported: delivery through one stops the guest with
 * a clear message (EXIT_SHUTDOWN), as does a return to virtual-8086 mode elsewhere.
 */
#include "emu_int.h"

const struct emu_pv_ops *emu_pv;

/* Vectors that push an error code: #DF #TS #NP #SS #GP #PF #AC. */
#define ERR_VECTORS ((1u << EXC_DF) | (1u << EXC_TS) | (1u << EXC_NP) | (1u << EXC_SS) | \
		     (1u << EXC_GP) | (1u << EXC_PF) | (1u << EXC_AC))
/* Contributory exceptions: #DE #TS #NP #SS #GP. */
#define CONTRIB_VECTORS ((1u << EXC_DE) | (1u << EXC_TS) | (1u << EXC_NP) | \
			 (1u << EXC_SS) | (1u << EXC_GP))
/* Fault-class exceptions (the saved EIP is the faulting instruction; RF pushed as 1). */
#define FAULT_VECTORS ((1u << EXC_DE) | (1u << EXC_BR) | (1u << EXC_UD) | (1u << EXC_NM) | \
		       CONTRIB_VECTORS | (1u << EXC_PF) | (1u << EXC_MF) | (1u << EXC_AC) | \
		       (1u << EXC_XM))

#define GATE_TASK   0x5u
#define GATE_INT16  0x6u
#define GATE_TRAP16 0x7u
#define GATE_INT32  0xEu
#define GATE_TRAP32 0xFu

static bool vec_in(uint32_t mask, int vector)
{
	return vector >= 0 && vector < 32 && ((mask >> vector) & 1);
}

int emu_raise(struct vcpu *c, int vector, uint32_t error)
{
	c->exc_vector = vector;
	c->exc_has_error = vec_in(ERR_VECTORS, vector);
	c->exc_error = c->exc_has_error ? error : 0;
	return -1;
}

/* The guest did something the monitor does not implement: report and stop it. */
int emu_stop(struct vcpu *c, const char *why)
{
	vmm_log("vmm386: guest stopped at %04x:%08x: %s\n", c->seg[S_CS].sel, c->eip, why);
	return EXIT_SHUTDOWN;
}

/* One delivery attempt in progress. */
struct event {
	int vector, flags;
	uint32_t err, ext, ret_eip;
	uint32_t gate_lo, gate_hi;
	unsigned gate_type, new_cpl, size;
	uint64_t cs_desc;
	struct seg cs, ss;
	struct stk stk;
};

static int read_gate(struct vcpu *c, struct event *e)
{
	uint32_t idt_err = (uint32_t)e->vector * 8 + 2 + e->ext;
	uint32_t g[2];
	unsigned type;

	if (unlikely((uint32_t)e->vector * 8 + 7 > c->idtr.limit))
		return emu_raise(c, EXC_GP, idt_err);
	if (emu_lin_read_acc(c, c->idtr.base + (uint32_t)e->vector * 8, g, 8, ACC_SYS))
		return -1;
	type = (g[1] >> 8) & 0x1F;   /* S bit (must be 0) and type */
	if (unlikely(type != GATE_TASK && type != GATE_INT16 && type != GATE_TRAP16 &&
		     type != GATE_INT32 && type != GATE_TRAP32))
		return emu_raise(c, EXC_GP, idt_err);
	if ((e->flags & DV_SOFT) && unlikely(((g[1] >> 13) & 3) < (unsigned)c->cpl))
		return emu_raise(c, EXC_GP, (uint32_t)e->vector * 8 + 2);
	if (unlikely(!(g[1] & 0x8000)))
		return emu_raise(c, EXC_NP, idt_err);
	e->gate_lo = g[0];
	e->gate_hi = g[1];
	e->gate_type = type;
	e->size = (type & 8) ? 4 : 2;
	return 0;
}

/* The handler's code segment; decides the new CPL. */
static int gate_target(struct vcpu *c, struct event *e)
{
	uint16_t sel = (uint16_t)(e->gate_lo >> 16), a;
	unsigned dpl;
	uint64_t d;
	int r;

	if (unlikely((sel & 0xFFFC) == 0))
		return emu_raise(c, EXC_GP, e->ext);
	r = emu_desc_fetch(c, sel, &d);
	if (r)
		return r < 0 ? -1 : emu_raise(c, EXC_GP, SEL_ERR(sel) + e->ext);
	a = desc_attr(d);
	dpl = SEGA_DPL(a);
	if (unlikely(!(a & SEGA_S) || !(SEGA_TYPE(a) & SEGT_CODE) || dpl > (unsigned)c->cpl))
		return emu_raise(c, EXC_GP, SEL_ERR(sel) + e->ext);
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel) + e->ext);
	e->new_cpl = (SEGA_TYPE(a) & SEGT_CONF) ? (unsigned)c->cpl : dpl;
	e->cs_desc = d;
	emu_desc_to_seg(d, (uint16_t)((sel & ~3u) | e->new_cpl), &e->cs);
	return 0;
}

/* SS:ESP for privilege level cpl from the current TSS. */
static int tss_stack(struct vcpu *c, unsigned cpl, uint32_t ext, uint16_t *ss_sel, uint32_t *esp)
{
	bool tss32 = SEGA_TYPE(c->tr.attr) & 8;
	uint32_t off = tss32 ? 4 + cpl * 8 : 2 + cpl * 4;
	unsigned w = tss32 ? 4 : 2;
	uint32_t v[2] = { 0, 0 };

	if (unlikely(!(c->tr.attr & SEGA_P) || off + 2 * w - 1 > c->tr.limit))
		return emu_raise(c, EXC_TS, SEL_ERR(c->tr.sel) + ext);
	if (emu_lin_read_acc(c, c->tr.base + off, &v[0], w, ACC_SYS) ||
	    emu_lin_read_acc(c, c->tr.base + off + w, &v[1], 2, ACC_SYS))
		return -1;
	*esp = v[0];
	*ss_sel = (uint16_t)v[1];
	return 0;
}

/* The inner stack for privilege level cpl (interrupts, call gates): SS:ESP from the TSS,
 * SS writable data with RPL = DPL = cpl, present.  Sets its accessed bit; fills *ss and *stk
 * (a supervisor-access stack whose faults are #SS(SS selector + ext)). */
int emu_inner_stack(struct vcpu *c, unsigned cpl, uint32_t ext, struct seg *ss, struct stk *stk)
{
	uint16_t sel, a;
	uint32_t esp;
	uint64_t d;
	int r;

	if (tss_stack(c, cpl, ext, &sel, &esp))
		return -1;
	if (unlikely((sel & 0xFFFC) == 0))
		return emu_raise(c, EXC_TS, ext);
	r = emu_desc_fetch(c, sel, &d);
	if (r)
		return r < 0 ? -1 : emu_raise(c, EXC_TS, SEL_ERR(sel) + ext);
	a = desc_attr(d);
	if (unlikely((sel & 3u) != cpl || SEGA_DPL(a) != cpl ||
		     !(a & SEGA_S) || (SEGA_TYPE(a) & (SEGT_CODE | SEGT_RW)) != SEGT_RW))
		return emu_raise(c, EXC_TS, SEL_ERR(sel) + ext);
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_SS, SEL_ERR(sel) + ext);
	if (emu_desc_mark(c, sel, &d, DESC_A))
		return -1;
	emu_desc_to_seg(d, sel, ss);
	*stk = (struct stk){ ss, esp, ACC_SYS, SEL_ERR(sel) + ext };
	return 0;
}

static uint32_t pushed_eflags(const struct vcpu *c, const struct event *e)
{
	uint32_t fl = c->eflags;
	if (!(e->flags & (DV_SOFT | DV_INTR)) && vec_in(FAULT_VECTORS, e->vector))
		fl |= FL_RF;
	if (emu_pv)
		fl = emu_pv->event_flags(fl);  /* a PV guest's IF is virtual (pv/abi.h) */
	return fl;
}

static int push_frame(struct vcpu *c, struct event *e, bool outer)
{
	uint32_t v[6];
	unsigned n = 0;

	if (outer) {
		v[n++] = c->seg[S_SS].sel;
		v[n++] = c->regs[R_ESP];
	} else {
		e->stk = emu_stk_current(c);
		e->stk.ss_err = e->ext;
	}
	v[n++] = pushed_eflags(c, e);
	v[n++] = c->seg[S_CS].sel;
	v[n++] = e->ret_eip;
	if (e->flags & DV_ERR)
		v[n++] = e->err;
	return emu_stk_push(c, &e->stk, v, n, e->size);
}

static void commit(struct vcpu *c, struct event *e, bool outer, uint32_t target)
{
	if (outer)
		emu_seg_set(c, S_SS, &e->ss);
	c->regs[R_ESP] = e->stk.esp;
	emu_cs_set(c, &e->cs, (int)e->new_cpl);
	c->eip = target;
	c->eflags &= ~(FL_TF | FL_NT | FL_RF | FL_VM);
	if ((e->gate_type & 7) == 6)   /* interrupt gate (16 or 32-bit) */
		c->eflags &= ~FL_IF;
	if (emu_pv)
		emu_pv->event_commit(c, e->vector, (e->gate_type & 7) == 6, e->flags & DV_SOFT);
}

/*
 * Deliver `vector` (flags DV_*; error code pushed if DV_ERR) with saved EIP ret_eip.
 * Returns 0 (vcpu at the handler), -1 (new exception recorded) or EXIT_SHUTDOWN.
 */
int emu_deliver(struct vcpu *c, int vector, uint32_t err, int flags, uint32_t ret_eip)
{
	struct event e = { .vector = vector, .flags = flags, .err = err,
			   .ext = (flags & DV_EXT) ? 1 : 0, .ret_eip = ret_eip };
	uint32_t target;
	bool outer;

	if (read_gate(c, &e))
		return -1;
	if (e.gate_type == GATE_TASK)
		return emu_task_switch(c, (uint16_t)(e.gate_lo >> 16), TASK_INT, ret_eip,
				       (flags & DV_ERR) != 0, err);
	if (gate_target(c, &e))
		return -1;
	target = e.gate_lo & 0xFFFF;
	if (e.size == 4)
		target |= e.gate_hi & 0xFFFF0000u;
	if (unlikely(target > e.cs.limit))
		return emu_raise(c, EXC_GP, e.ext);
	outer = e.new_cpl < (unsigned)c->cpl;
	if (outer && emu_inner_stack(c, e.new_cpl, e.ext, &e.ss, &e.stk))
		return -1;
	if (push_frame(c, &e, outer) ||
	    emu_desc_mark(c, (uint16_t)(e.gate_lo >> 16), &e.cs_desc, DESC_A))
		return -1;
	if (LOG_ON(LOG_INT))
		vmm_log("int: vector %#x err %#x at %04x:%08x cpl %d -> %04x:%08x\n", vector,
			err, c->seg[S_CS].sel, ret_eip, c->cpl, e.cs.sel, target);
	commit(c, &e, outer, target);
	return 0;
}

/* Does a fault `second` while delivering `first` make a double fault? */
static bool makes_double_fault(int first, int first_flags, int second)
{
	bool second_bad = vec_in(CONTRIB_VECTORS, second) || second == EXC_PF;

	if (first_flags & (DV_INTR | DV_SOFT))
		return false;
	if (first == EXC_PF)
		return second_bad;
	return vec_in(CONTRIB_VECTORS, first) && vec_in(CONTRIB_VECTORS, second);
}

/* Deliver an event, turning faults during delivery into #DF or a triple fault. */
static int deliver_event(struct vcpu *c, int vector, uint32_t err, int flags)
{
	int r;

	c->delivering = 1;
	while ((r = emu_deliver(c, vector, err, flags, c->eip)) < 0) {
		int next = c->exc_vector;
		if (vector == EXC_DF && !(flags & (DV_INTR | DV_SOFT))) {
			c->delivering = 0;
			return emu_stop(c, "triple fault");
		}
		if (makes_double_fault(vector, flags, next)) {
			vector = EXC_DF;
			err = 0;
			flags = DV_EXT | DV_ERR;
		} else {
			vector = next;
			err = c->exc_error;
			flags = DV_EXT | (c->exc_has_error ? DV_ERR : 0);
		}
		c->delivering++;
	}
	c->delivering = 0;
	return r == 0 ? EXIT_NONE : r;
}

int emu_deliver_exception(struct vcpu *c)
{
	return deliver_event(c, c->exc_vector, c->exc_error,
			     DV_EXT | (c->exc_has_error ? DV_ERR : 0));
}

int emu_deliver_interrupt(struct vcpu *c, int vector)
{
	int r = deliver_event(c, vector, 0, DV_EXT | DV_INTR);
	if (r == EXIT_NONE)
		c->halted = false;
	return r;
}
