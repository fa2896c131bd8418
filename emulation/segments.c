/*
 * segments.c - descriptors and segment registers.
 *
 * A selector names an 8-byte descriptor in the GDT (TI = 0) or the current LDT (TI = 1);
 * emu_desc_fetch() reads it with the table-limit check and reports "outside" separately from a
 * memory fault, so that MOV Sreg can raise #GP(selector) while LAR and friends only clear ZF.
 * Loading a register converts the descriptor into the hidden cache (struct seg: byte-granular
 * limit, attr = descriptor bits 40..55) and sets the accessed bit in the table in memory.
 *
 * Every segment-register change goes through emu_seg_set()/emu_cs_set(), which keep
 * vcpu->seg_base[] (read by translated code) equal to seg[].base, and call
 * emu_mode_changed() when the hidden part or the CPL actually changed.
 *
 * Also here: LLDT, LTR (sets the busy bit), and LAR/LSL/VERR/VERW, which never fault on a
 * bad selector (only a fault reading the table itself is raised).
 */
#include "emu_int.h"

/* Returns 0, 1 if sel is outside its table (nothing raised), or -1 on a memory fault. */
int emu_desc_fetch(struct vcpu *c, uint16_t sel, uint64_t *d)
{
	uint32_t idx = sel & ~7u, base = c->gdtr.base, limit = c->gdtr.limit;

	if (sel & 4) {
		if (!(c->ldtr.attr & SEGA_P))
			return 1;
		base = c->ldtr.base;
		limit = c->ldtr.limit;
	}
	if (idx + 7 > limit)
		return 1;
	return emu_lin_read_acc(c, base + idx, d, 8, ACC_SYS) ? -1 : 0;
}

/* Set `bit` (accessed or busy) in the descriptor *d of sel, in memory too. */
int emu_desc_mark(struct vcpu *c, uint16_t sel, uint64_t *d, uint64_t bit)
{
	uint32_t base = (sel & 4) ? c->ldtr.base : c->gdtr.base;
	uint8_t b;

	if (*d & bit)
		return 0;
	*d |= bit;
	b = (uint8_t)(*d >> 40);
	return emu_lin_write_acc(c, base + (sel & ~7u) + 5, &b, 1, ACC_SYS);
}

void emu_desc_to_seg(uint64_t d, uint16_t sel, struct seg *s)
{
	uint32_t limit = (uint32_t)(d & 0xFFFF) | (uint32_t)((d >> 32) & 0xF0000);

	s->sel = sel;
	s->attr = desc_attr(d);
	s->base = (uint32_t)((d >> 16) & 0xFFFFFF) | (uint32_t)((d >> 32) & 0xFF000000u);
	s->limit = (s->attr & SEGA_G) ? (limit << 12) | 0xFFF : limit;
}

static bool seg_hidden_differs(const struct seg *a, const struct seg *b)
{
	return a->base != b->base || a->limit != b->limit || a->attr != b->attr;
}

void emu_seg_set(struct vcpu *c, int sreg, const struct seg *s)
{
	bool changed = seg_hidden_differs(&c->seg[sreg], s);

	c->seg[sreg] = *s;
	c->seg_base[sreg] = s->base;
	if (changed)
		emu_mode_changed(c);
}

/* A null selector in DS/ES/FS/GS: the register is unusable (P clear) until reloaded. */
void emu_seg_set_null(struct vcpu *c, int sreg, uint16_t sel)
{
	struct seg s = { sel, 0, 0, 0 };
	emu_seg_set(c, sreg, &s);
}

void emu_cs_set(struct vcpu *c, const struct seg *s, int cpl)
{
	bool changed = seg_hidden_differs(&c->seg[S_CS], s) || c->cpl != cpl;

	c->seg[S_CS] = *s;
	c->seg_base[S_CS] = s->base;
	c->cpl = cpl;
	if (changed)
		emu_mode_changed(c);
}

/* A flat 4 GiB segment: 32-bit read/execute code or read/write data, accessed. */
void emu_seg_flat(struct seg *s, uint16_t sel, int dpl, bool code)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xFFFFFFFFu;
	s->attr = 0xCF90 | (uint16_t)(dpl << 5) | (code ? 0xB : 0x3);
}

/* MOV/POP DS, ES, FS, GS: data or readable code, privilege unless conforming code. */
static int check_data_seg(struct vcpu *c, uint16_t sel, uint16_t a)
{
	unsigned t = SEGA_TYPE(a), dpl = SEGA_DPL(a);

	if (unlikely(!(a & SEGA_S) || (t & (SEGT_CODE | SEGT_RW)) == SEGT_CODE))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if ((t & (SEGT_CODE | SEGT_CONF)) != (SEGT_CODE | SEGT_CONF) &&
	    unlikely((sel & 3u) > dpl || (unsigned)c->cpl > dpl))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel));
	return 0;
}

/* MOV/POP SS: writable data with RPL = DPL = CPL; not present is #SS. */
static int check_stack_seg(struct vcpu *c, uint16_t sel, uint16_t a)
{
	unsigned t = SEGA_TYPE(a);

	if (unlikely((sel & 3u) != (unsigned)c->cpl || !(a & SEGA_S) ||
		     (t & (SEGT_CODE | SEGT_RW)) != SEGT_RW ||
		     SEGA_DPL(a) != (unsigned)c->cpl))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_SS, SEL_ERR(sel));
	return 0;
}

int emu_load_seg(struct vcpu *c, int sreg, uint16_t sel)
{
	struct seg s;
	uint64_t d;
	int r;

	if (unlikely(sreg == S_CS || sreg < 0 || sreg >= S_NR))
		vmm_panic("emu_load_seg: bad segment register %d", sreg);
	if ((sel & 0xFFFC) == 0) {
		if (unlikely(sreg == S_SS))
			return emu_raise(c, EXC_GP, 0);
		emu_seg_set_null(c, sreg, sel);
		return 0;
	}
	r = emu_desc_fetch(c, sel, &d);
	if (r)
		return r < 0 ? -1 : emu_raise(c, EXC_GP, SEL_ERR(sel));
	r = sreg == S_SS ? check_stack_seg(c, sel, desc_attr(d))
			 : check_data_seg(c, sel, desc_attr(d));
	if (r || emu_desc_mark(c, sel, &d, DESC_A))
		return -1;
	emu_desc_to_seg(d, sel, &s);
	emu_seg_set(c, sreg, &s);
	return 0;
}

/* Fetch a system descriptor from the GDT for LLDT/LTR: #GP(sel) if TI=1 or outside. */
static int fetch_gdt_system(struct vcpu *c, uint16_t sel, uint64_t *d)
{
	int r;

	if (unlikely(sel & 4))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	r = emu_desc_fetch(c, sel, d);
	if (r)
		return r < 0 ? -1 : emu_raise(c, EXC_GP, SEL_ERR(sel));
	return 0;
}

int emu_lldt(struct vcpu *c, uint16_t sel)
{
	uint64_t d;
	uint16_t a;

	if ((sel & 0xFFFC) == 0) {
		c->ldtr = (struct seg){ sel, 0, 0, 0 };
		emu_mode_changed(c);
		return 0;
	}
	if (fetch_gdt_system(c, sel, &d))
		return -1;
	a = desc_attr(d);
	if (unlikely((a & SEGA_S) || SEGA_TYPE(a) != SYST_LDT))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel));
	emu_desc_to_seg(d, sel, &c->ldtr);
	emu_mode_changed(c);
	return 0;
}

int emu_ltr(struct vcpu *c, uint16_t sel)
{
	uint64_t d;
	uint16_t a;

	if (unlikely((sel & 0xFFFC) == 0))
		return emu_raise(c, EXC_GP, 0);
	if (fetch_gdt_system(c, sel, &d))
		return -1;
	a = desc_attr(d);
	if (unlikely((a & SEGA_S) || (SEGA_TYPE(a) != SYST_TSS16 && SEGA_TYPE(a) != SYST_TSS32)))
		return emu_raise(c, EXC_GP, SEL_ERR(sel));
	if (unlikely(!(a & SEGA_P)))
		return emu_raise(c, EXC_NP, SEL_ERR(sel));
	if (emu_desc_mark(c, sel, &d, DESC_BUSY))
		return -1;
	emu_desc_to_seg(d, sel, &c->tr);
	emu_mode_changed(c);
	return 0;
}

/*
 * LAR/LSL/VERR/VERW: the descriptor of sel if it exists and is visible at CPL and RPL
 * (conforming code is always visible).  Returns 1 with *d, 0 (clear ZF), or -1 on a fault.
 */
static int probe_visible(struct vcpu *c, uint16_t sel, uint64_t *d)
{
	unsigned dpl, t;
	uint16_t a;
	int r;

	if ((sel & 0xFFFC) == 0)
		return 0;
	r = emu_desc_fetch(c, sel, d);
	if (r)
		return r < 0 ? -1 : 0;
	a = desc_attr(*d);
	dpl = SEGA_DPL(a);
	t = SEGA_TYPE(a);
	if ((a & SEGA_S) && (t & (SEGT_CODE | SEGT_CONF)) == (SEGT_CODE | SEGT_CONF))
		return 1;
	return dpl >= (unsigned)c->cpl && dpl >= (sel & 3u);
}

/* System types LAR accepts: TSSes, LDT, call gates, task gate. */
#define LAR_SYS_TYPES 0x1A3Eu
/* System types LSL accepts: TSSes and LDT. */
#define LSL_SYS_TYPES 0x0A0Eu

static bool type_ok(uint16_t a, unsigned sys_types)
{
	return (a & SEGA_S) || ((sys_types >> SEGA_TYPE(a)) & 1);
}

/*
 * 1 with *val = descriptor bits 32..63 masked with 0x00FFFF00, 0, or -1.  The SDM leaves
 * bits 19:16 (limit 19:16) undefined; the hardware returns them, and so do we.
 */
int emu_lar(struct vcpu *c, uint16_t sel, uint32_t *val)
{
	uint64_t d;
	int r = probe_visible(c, sel, &d);

	if (r <= 0 || !type_ok(desc_attr(d), LAR_SYS_TYPES))
		return r < 0 ? -1 : 0;
	*val = (uint32_t)(d >> 32) & 0x00FFFF00u;
	return 1;
}

/* 1 with *val = the byte-granular limit, 0, or -1. */
int emu_lsl(struct vcpu *c, uint16_t sel, uint32_t *val)
{
	struct seg s;
	uint64_t d;
	int r = probe_visible(c, sel, &d);

	if (r <= 0 || !type_ok(desc_attr(d), LSL_SYS_TYPES))
		return r < 0 ? -1 : 0;
	emu_desc_to_seg(d, sel, &s);
	*val = s.limit;
	return 1;
}

/* VERR (write = false) / VERW: 1 if readable / writable at CPL and RPL, 0, or -1. */
int emu_verify(struct vcpu *c, uint16_t sel, bool write)
{
	uint64_t d;
	uint16_t a;
	unsigned t;
	int r = probe_visible(c, sel, &d);

	if (r <= 0)
		return r;
	a = desc_attr(d);
	t = SEGA_TYPE(a);
	if (!(a & SEGA_S))
		return 0;
	if (write)
		return (t & (SEGT_CODE | SEGT_RW)) == SEGT_RW;
	return !(t & SEGT_CODE) || (t & SEGT_RW);
}
