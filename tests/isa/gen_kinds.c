/*
 * gen_kinds.c - what each form kind arranges on top of random inputs, so that the
 * interesting paths are reached often: divisions that mostly do not overflow (and some
 * that do, and divide by zero), shift counts around 0, 1 and the operand width, string
 * pointers and counts in the data area (sometimes across a page, DF from the form), stack
 * pointers in the data area, branch targets on the landing pads, CMPXCHG operands that
 * match half of the time, BOUND indices inside and outside, BCD digits, loadable MXCSR and
 * FPU images.  Also the undefined-flag masks that depend on a shift count.
 */
#include <string.h>
#include "gen_int.h"
#include "monitor/vmm.h"

#define BIT(r) (1u << (r))

static uint32_t mask_of(unsigned size) { return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1; }

static uint32_t branch_target(struct gen *g) { return ISA_CODE + g->len + ISA_BRANCH_REL; }

uint32_t g_kind_avoid(struct gen *g)
{
	const struct form *f = g->f;
	switch (f->kind) {
	case K_BT: case K_BOUND: return BIT(g->reg);
	case K_STACK: return BIT(R_ESP);
	case K_DIV: return BIT(R_EAX) | BIT(R_EDX);
	case K_CMPXCHG: return BIT(R_EAX);
	case K_CMPXCHG8B: return BIT(R_EAX) | BIT(R_EDX);
	default: return 0;
	}
}

static void adj_div(struct gen *g)
{
	unsigned sz = g->f->osize;
	bool sgn = g->f->sub, rm_acc = !g->has_mem && (sz == 1 ? (g->rm & 3) == 0 : g->rm == 0 || g->rm == 2);
	uint32_t m = mask_of(sz), top = 1u << (8 * sz - 1);
	int hi = sz == 1 ? 4 : R_EDX;                  /* AH, DX or EDX */
	if (rm_acc)
		return;
	if (g_pct(g, 5))
		g_rm_put(g, sz, 0);
	uint32_t d = g_rm_get(g, sz), lo = g_reg_get(g, R_EAX, sz);
	unsigned r = g_rn(g, 100);
	if (r < 70 && !sgn)
		g_reg_put(g, hi, sz, d ? g_r32(g) % d : 0);
	else if (r < 70)
		g_reg_put(g, hi, sz, lo & top ? m : 0);
	else if (r < 78 && sgn) {
		g_reg_put(g, R_EAX, sz, top);
		g_reg_put(g, hi, sz, m);
		g_rm_put(g, sz, m);
	}
}

/* Count source of a shift: the CL forms, an imm8, or the implicit 1. */
static void adj_shift(struct gen *g)
{
	const struct form *f = g->f;
	uint8_t op = f->op[f->nop - 1];
	bool cl = op == 0xD2 || op == 0xD3 || op == 0xA5 || op == 0xAD;
	bool one = op == 0xD0 || op == 0xD1;
	unsigned r = g_rn(g, 100), width = 8u * f->osize;
	uint32_t count = r < 40 ? g_rn(g, 9) : r < 75 ? g_rn(g, 34) : g_r32(g) & 0xFF;
	if (one)
		count = 1;
	else if (cl && !(g->fixed & BIT(R_ECX)))
		g_reg_put(g, R_ECX, 1, count);
	else if (!cl)
		g->t->in.code[g->imm_off] = (uint8_t)count;
	count = cl ? g->t->in.regs[R_ECX] & 0x1F : count & 0x1F;
	if (count == 0)
		return;
	switch (f->sub) {
	case SH_SHL: case SH_SHR: case SH_SAL: case SH_SAR:
		g->dyn_undef = ISA_FL_AF | (count != 1 ? ISA_FL_OF : 0) |
			       (count >= width && f->sub != SH_SAR ? ISA_FL_CF : 0);
		break;
	case SH_SHLD: case SH_SHRD:
		g->dyn_undef = count > width ? ISA_FL_ARITH : ISA_FL_AF | (count != 1 ? ISA_FL_OF : 0);
		break;
	default:                                        /* rotates: OF only for 1-bit ones */
		g->dyn_undef = count != 1 ? ISA_FL_OF : 0;
		break;
	}
}

static void adj_bt(struct gen *g)
{
	if (!g->has_mem)
		return;
	int32_t bit = (int32_t)g_rn(g, 1024) - 512;
	g_reg_put(g, g->reg, g->f->osize, (uint32_t)bit);
}

static void adj_xlat(struct gen *g)
{
	const struct form *f = g->f;
	uint32_t base = g_segbase(g, f->seg == SEG_NONE ? S_DS : f->seg);
	uint32_t t = g_pick_off(g, base, 1, 1, f->a16), al = g->t->in.regs[R_EAX] & 0xFF;
	if (f->a16)
		g_reg_put(g, R_EBX, 2, t - al);
	else
		g->t->in.regs[R_EBX] = t - al;
	g_win(g, base + t - 8, 16);
}

static void adj_moffs(struct gen *g)
{
	const struct form *f = g->f;
	uint32_t base = g_segbase(g, f->seg == SEG_NONE ? S_DS : f->seg);
	uint32_t off = g_pick_off(g, base, f->osize, f->osize, f->a16);
	memcpy(g->t->in.code + g->imm_off, &off, f->a16 ? 2 : 4);
	g->has_mem = true;
	g->lin = base + off;
	g_win(g, g->lin - 16, f->osize + 32u);
}

static void adj_cmpxchg(struct gen *g)
{
	unsigned sz = g->f->osize;
	if (g_pct(g, 50))
		g_reg_put(g, R_EAX, sz, g_rm_get(g, sz));
}

static void adj_cmpxchg8b(struct gen *g)
{
	if (g_pct(g, 50)) {
		g->t->in.regs[R_EAX] = g_get(g, g->lin, 4);
		g->t->in.regs[R_EDX] = g_get(g, g->lin + 4, 4);
	}
}

static void adj_bound(struct gen *g)
{
	unsigned sz = g->f->osize;
	uint32_t m = mask_of(sz);
	int32_t lo = (int32_t)g_rn(g, 2001) - 1000, hi = lo + (int32_t)g_rn(g, 2000), idx;
	unsigned r = g_rn(g, 100);
	if (r < 60)
		idx = lo + (int32_t)g_rn(g, (uint32_t)(hi - lo + 1));
	else if (r < 80)
		idx = lo - 1 - (int32_t)g_rn(g, 100);
	else
		idx = hi + 1 + (int32_t)g_rn(g, 100);
	g_put(g, g->lin, sz, (uint32_t)lo & m);
	g_put(g, g->lin + sz, sz, (uint32_t)hi & m);
	g_reg_put(g, g->reg, sz, (uint32_t)idx);
}

static void adj_maskmov(struct gen *g)
{
	const struct form *f = g->f;
	uint32_t base = g_segbase(g, f->seg == SEG_NONE ? S_DS : f->seg);
	uint32_t t = g_pick_off(g, base, f->msize, f->msize, f->a16);
	if (f->a16)
		g_reg_put(g, R_EDI, 2, t);
	else
		g->t->in.regs[R_EDI] = t;
	g_win(g, base + t - 8, f->msize + 16u);
}

static void adj_bcd(struct gen *g)
{
	static const uint8_t edge[] = { 0x99, 0x9A, 0xA0, 0xF9, 0xFF, 0x0A, 0x00, 0x09, 0x90, 0x6A, 0x0F, 0xFA };
	unsigned r = g_rn(g, 100);
	uint32_t al = r < 50 ? g_rn(g, 10) << 4 | g_rn(g, 10) : r < 75 ? g_r32(g) & 0xFF
		      : edge[g_rn(g, sizeof(edge))];
	uint32_t ah = g_pct(g, 50) ? g_rn(g, 10) : g_r32(g) & 0xFF;
	g_reg_put(g, 0, 1, al);
	g_reg_put(g, 4, 1, ah);
	if (g->f->imm) {
		r = g_rn(g, 100);
		g->t->in.code[g->imm_off] = (uint8_t)(r < 45 ? 10 : r < 60 ? 0 : r < 70 ? 16 : g_r32(g));
	}
}

static void adj_fpu_mem(struct gen *g)
{
	const struct form *f = g->f;
	if (f->kind == K_LDMXCSR && g_pct(g, 85))
		g_put(g, g->lin, 4, g_r32(g) & 0xFFFF);
	if (f->kind == K_FXRSTOR && g_pct(g, 90))
		g_put(g, g->lin + FX_MXCSR, 4, g_r32(g) & 0xFFFF);
	if (f->kind == K_SETFPU && g_pct(g, 80)) {
		bool env16 = f->npfx && f->pfx[f->npfx - 1] == 0x66;
		g_put(g, g->lin, 2, g_get(g, g->lin, 2) | 0x3F);
		if (f->msize > 2) {
			uint32_t sw = g->lin + (env16 ? 2 : 4);
			g_put(g, sw, 2, g_get(g, sw, 2) & ~0x8080u);
		}
	}
}

void g_string(struct gen *g);
void g_stack(struct gen *g);

static void adj_branch(struct gen *g)
{
	const struct form *f = g->f;
	uint32_t target = branch_target(g), rel = ISA_BRANCH_REL;
	if (f->sub == BR_REL || f->sub == BR_LOOP)
		memcpy(g->t->in.code + g->imm_off, &rel, f->imm);
	if (f->sub == BR_IND)
		g_rm_put(g, 4, target);
	if (f->sub == BR_LOOP) {
		unsigned r = g_rn(g, 100);
		uint32_t c = r < 25 ? 0 : r < 45 ? 1 : r < 55 ? 2 : g_val(g);
		g_reg_put(g, R_ECX, f->a16 ? 2 : 4, c);
	}
}

void g_kind_adjust(struct gen *g)
{
	switch (g->f->kind) {
	case K_DIV: adj_div(g); break;
	case K_SHIFT: adj_shift(g); break;
	case K_BT: adj_bt(g); break;
	case K_STRING: g_string(g); break;
	case K_XLAT: adj_xlat(g); break;
	case K_STACK: g_stack(g); break;
	case K_BRANCH: adj_branch(g); break;
	case K_MOFFS: adj_moffs(g); break;
	case K_CMPXCHG: adj_cmpxchg(g); break;
	case K_CMPXCHG8B: adj_cmpxchg8b(g); break;
	case K_BOUND: adj_bound(g); break;
	case K_MASKMOV: adj_maskmov(g); break;
	case K_BCD: adj_bcd(g); break;
	case K_LDMXCSR: case K_FXRSTOR: case K_SETFPU: adj_fpu_mem(g); break;
	default: break;
	}
}
