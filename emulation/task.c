/*
 * task.c - hardware task switches between 32-bit TSSes (SDM vol. 3 §7.3): a far JMP or CALL
 * to a TSS descriptor or task gate, an interrupt or exception through a task gate, and IRET
 * with EFLAGS.NT set (return to the task in the back link).
 *
 * Order, as on the CPU: every check that leaves the old task running is made first (the new
 * TSS descriptor: in the GDT, the right type, present, limit >= 0x67; the old TSS big enough)
 * and the new TSS is read whole before anything is written, so a fault there is taken in the
 * old task with nothing changed.  Then the old task's state (EIP, EFLAGS, general and segment
 * registers) goes into its TSS, the busy bits and back link are updated (JMP/IRET clear the
 * old busy bit; CALL/INT write the link and set NT), TR, CR3, EFLAGS, EIP and the registers
 * take the new task's values, CR0.TS is set and DR7's local enables are cleared.  The LDT and
 * segment registers are loaded last; a bad one there raises #TS (or #NP/#SS) in the context
 * of the new task, as the SDM says.  CPL becomes the new CS selector's RPL.  An exception
 * with an error code that switched tasks pushes it on the new task's stack.
 *
 * Not supported (the guest is stopped with a message): 16-bit TSSes, and a new task whose
 * EFLAGS.VM is set (virtual-8086 mode).  The TSS's I/O map and T (debug trap) bit are not
 * consulted.
 */
#include "emu_int.h"

#define TSS_LINK   0x00
#define TSS_CR3    0x1C
#define TSS_EIP    0x20
#define TSS_EFLAGS 0x24
#define TSS_REGS   0x28     /* EAX ECX EDX EBX ESP EBP ESI EDI, as regs[] */
#define TSS_SEGS   0x48     /* ES CS SS DS FS GS, as seg[] */
#define TSS_LDT    0x60
#define TSS_MIN    0x67     /* smallest limit of a 32-bit TSS */
#define DR7_LOCAL  0x55u

struct tss32 {
	uint32_t eip, eflags, regs[8], segs[6], ldt;
};

/* Is the descriptor type one a task switch leaves (busy) or enters (available)? */
static bool is_tss(uint16_t a, bool busy)
{
	unsigned t = SEGA_TYPE(a);

	if (a & SEGA_S)
		return false;
	return busy ? (t == SYST_TSS32B || t == SYST_TSS16B) : (t == SYST_TSS32 || t == SYST_TSS16);
}

/* The new TSS's descriptor: #GP(sel) for JMP/CALL/INT, #TS(sel) for IRET's back link. */
static int fetch_tss(struct vcpu *c, uint16_t sel, enum emu_task why, uint64_t *d)
{
	int vec = why == TASK_IRET ? EXC_TS : EXC_GP, r;
	uint16_t a;

	if (unlikely(sel & 4) || unlikely((sel & 0xFFFC) == 0))
		return emu_raise(c, vec, SEL_ERR(sel));
	r = emu_desc_fetch(c, sel, d);
	if (r)
		return r < 0 ? -1 : emu_raise(c, vec, SEL_ERR(sel));
	a = desc_attr(*d);
	if (unlikely(!is_tss(a, why == TASK_IRET)))
		return emu_raise(c, vec, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel));
	return 0;
}

static void clear_busy(struct vcpu *c, uint16_t sel)
{
	uint64_t d;

	if (emu_desc_fetch(c, sel, &d) == 0 && (d & DESC_BUSY)) {
		uint8_t b = (uint8_t)((d & ~DESC_BUSY) >> 40);
		emu_lin_write_acc(c, c->gdtr.base + (sel & ~7u) + 5, &b, 1, ACC_SYS);
	}
}

/* A fault loading the new task's LDT or segments is #TS(selector), except not-present. */
static int as_ts(struct vcpu *c, int r)
{
	if (r && c->exc_vector == EXC_GP) {
		c->exc_vector = EXC_TS;
		c->exc_has_error = true;
	}
	return r;
}

/* CS of the new task: code, DPL = RPL (conforming: DPL <= RPL), present. */
static int load_cs(struct vcpu *c, uint16_t sel)
{
	unsigned rpl = sel & 3u, dpl;
	struct seg s;
	uint64_t d;
	uint16_t a;
	int r;

	if (unlikely((sel & 0xFFFC) == 0))
		return emu_raise(c, EXC_TS, 0);
	r = emu_desc_fetch(c, sel, &d);
	if (r)
		return r < 0 ? -1 : emu_raise(c, EXC_TS, SEL_ERR(sel));
	a = desc_attr(d);
	dpl = SEGA_DPL(a);
	if (unlikely(!(a & SEGA_S) || !(SEGA_TYPE(a) & SEGT_CODE)) ||
	    unlikely((SEGA_TYPE(a) & SEGT_CONF) ? dpl > rpl : dpl != rpl))
		return emu_raise(c, EXC_TS, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel));
	if (emu_desc_mark(c, sel, &d, DESC_A))
		return -1;
	emu_desc_to_seg(d, sel, &s);
	emu_cs_set(c, &s, (int)rpl);
	return 0;
}

/* LDT, CS, SS, DS, ES, FS, GS of the new task, in the SDM's order. */
static int load_task_segments(struct vcpu *c, const struct tss32 *t)
{
	static const int order[] = { S_SS, S_DS, S_ES, S_FS, S_GS };

	for (int i = 0; i < S_NR; i++)   /* the selectors first; descriptors follow */
		c->seg[i].sel = (uint16_t)t->segs[i];
	if (as_ts(c, emu_lldt(c, (uint16_t)t->ldt)) || load_cs(c, (uint16_t)t->segs[S_CS]))
		return -1;
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (as_ts(c, emu_load_seg(c, order[i], (uint16_t)t->segs[order[i]])))
			return -1;
	return 0;
}

static void read_image(const uint8_t *img, struct tss32 *t)
{
	memcpy(&t->eip, img + TSS_EIP, 4);
	memcpy(&t->eflags, img + TSS_EFLAGS, 4);
	memcpy(t->regs, img + TSS_REGS, 32);
	memcpy(t->segs, img + TSS_SEGS, 24);
	memcpy(&t->ldt, img + TSS_LDT, 4);
}

/* Store the running task's state in its TSS (EIP = ret_eip). */
static int save_old(struct vcpu *c, enum emu_task why, uint32_t ret_eip)
{
	uint32_t v[18];

	v[0] = ret_eip;
	v[1] = c->eflags & ~(why == TASK_IRET ? FL_NT : 0);
	memcpy(&v[2], c->regs, 32);
	for (int i = 0; i < S_NR; i++)
		v[10 + i] = c->seg[i].sel;
	return emu_lin_write_acc(c, c->tr.base + TSS_EIP, v, 16 * 4, ACC_SYS);
}

int emu_task_switch(struct vcpu *c, uint16_t sel, enum emu_task why, uint32_t ret_eip,
		    bool has_err, uint32_t err)
{
	uint8_t img[TSS_MIN + 1];
	struct tss32 t;
	uint32_t cr3, link;
	uint64_t d;
	struct seg tr;

	if (fetch_tss(c, sel, why, &d))
		return -1;
	if (SEGA_TYPE(desc_attr(d)) == SYST_TSS16 || SEGA_TYPE(desc_attr(d)) == SYST_TSS16B)
		return emu_stop(c, "task switch to a 16-bit TSS (not supported)");
	emu_desc_to_seg(d, sel, &tr);
	if (unlikely(tr.limit < TSS_MIN))
		return emu_raise(c, EXC_TS, SEL_ERR(sel));
	if (unlikely(c->tr.limit < TSS_LDT - 1))
		return emu_raise(c, EXC_TS, SEL_ERR(c->tr.sel));
	if (emu_lin_read_acc(c, tr.base, img, sizeof(img), ACC_SYS))
		return -1;
	read_image(img, &t);
	memcpy(&cr3, img + TSS_CR3, 4);
	if (unlikely(t.eflags & FL_VM))
		return emu_stop(c, "task switch to a virtual-8086 task (not supported)");
	if (save_old(c, why, ret_eip))
		return -1;
	if (why == TASK_JMP || why == TASK_IRET)
		clear_busy(c, c->tr.sel);
	if (why == TASK_CALL || why == TASK_INT) {
		link = c->tr.sel;
		if (emu_lin_write_acc(c, tr.base + TSS_LINK, &link, 4, ACC_SYS))
			return -1;
		t.eflags |= FL_NT;
	}
	if (why != TASK_IRET && emu_desc_mark(c, sel, &d, DESC_BUSY))
		return -1;
	/* committed: from here on the new task runs, and faults are its own */
	emu_desc_to_seg(d | DESC_BUSY, sel, &c->tr);
	c->cr0 |= CR0_TS;
	c->dr[7] &= ~DR7_LOCAL;
	if (c->cr0 & CR0_PG) {
		c->cr3 = cr3;
		emu_hook_tlb_flush(c, 0, false);
	}
	c->eflags = t.eflags | FL_FIXED;
	c->eip = t.eip;
	memcpy(c->regs, t.regs, sizeof(t.regs));
	emu_mode_changed(c);
	if (load_task_segments(c, &t))
		return -1;
	if (has_err) {
		struct stk s = emu_stk_current(c);
		if (emu_stk_push(c, &s, &err, 1, 4))
			return -1;
		c->regs[R_ESP] = s.esp;
	}
	return 0;
}
