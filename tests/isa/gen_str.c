/*
 * gen_str.c - case set-up for the instructions with implicit memory operands: the string
 * instructions (ESI/EDI/ECX, or SI/DI/CX with 0x67) and the stack (ESP, EBP).
 *
 * Strings: REP counts are 0, 1 or up to 48 elements; the touched range is placed anywhere
 * in the segment's region, aligned or not, and a quarter of the time across a 4 KiB page
 * boundary; with DF = 1 the pointers start at the top of the range.  MOVS sometimes gets
 * overlapping source and destination.  CMPS and SCAS data are arranged so that REPE/REPNE
 * run for a while and stop at a random element (or run out of count).
 *
 * Stack: ESP (SS-relative) in the data area, with room below for PUSHA and ENTER; return
 * addresses and indirect CALL targets point at the branch landing pad.  An [esp+disp8]
 * operand is where the SDM puts it: PUSH and CALL address it with ESP before the push,
 * POP with ESP after the pop.
 */
#include "gen_int.h"
#include "monitor/vmm.h"

static void set_ptr(struct gen *g, int r, uint32_t v)
{
	g_reg_put(g, r, g->f->a16 ? 2 : 4, v);
}

/* Offset of the lowest byte of a span-byte range in the segment at base. */
static uint32_t pick_range(struct gen *g, uint32_t base, uint32_t span, unsigned e)
{
	uint32_t off = g_pick_off(g, base, span, e, g->f->a16);
	if (span > 1 && g_pct(g, 25)) {
		uint32_t page = ((base + off) & ~0xFFFu) + 0x1000;
		uint32_t lo = page - 1 - g_rn(g, span - 1) - base;
		uint32_t min = base ? 0x10 : ISA_DATA + 0x40, max = (base ? 0xFFF0 : ISA_DATA + 0xFFC0) - span;
		if (lo >= min && lo <= max)
			off = lo;
	}
	return off;
}

static void flip(struct gen *g, uint32_t a)
{
	*g_mem(g, a) ^= (uint8_t)(1 + g_rn(g, 255));
}

static void cmps_fill(struct gen *g, uint32_t s, uint32_t d, uint32_t n, unsigned e)
{
	for (uint32_t i = 0; i < n * e; i++)
		*g_mem(g, d + i) = *g_mem(g, s + i);
	if (g->f->rep == REP_NE) {
		uint32_t keep = g_pct(g, 50) ? g_rn(g, n) : n;
		for (uint32_t k = 0; k < n; k++)
			if (k != keep)
				flip(g, d + k * e + g_rn(g, e));
	} else if (g_pct(g, 70)) {
		flip(g, d + g_rn(g, n) * e + g_rn(g, e));
	}
}

static void scas_fill(struct gen *g, uint32_t d, uint32_t n, unsigned e)
{
	uint32_t acc = g_reg_get(g, R_EAX, e);
	if (g->f->rep == REP_NE) {
		if (g_pct(g, 50))
			g_put(g, d + g_rn(g, n) * e, e, acc);
		return;
	}
	for (uint32_t k = 0; k < n; k++)
		g_put(g, d + k * e, e, acc);
	if (g_pct(g, 70))
		flip(g, d + g_rn(g, n) * e + g_rn(g, e));
}

static uint32_t overlap(struct gen *g, uint32_t base, uint32_t slo, uint32_t span, unsigned e)
{
	uint32_t d = slo + g_rn(g, 4 * e + 1) - 2 * e;
	uint32_t min = base ? 0x10 : ISA_DATA + 0x40, max = (base ? 0xFFF0 : ISA_DATA + 0xFFC0) - span;
	return d >= min && d <= max ? d : slo;
}

void g_string(struct gen *g)
{
	const struct form *f = g->f;
	unsigned e = f->osize, sub = f->sub;
	bool src = sub == STR_MOVS || sub == STR_CMPS || sub == STR_LODS;
	bool dst = sub != STR_LODS, df = f->df == 1;
	uint32_t n = 1;
	if (f->rep != REP_NONE) {
		unsigned r = g_rn(g, 100);
		n = r < 8 ? 0 : r < 16 ? 1 : 1 + g_rn(g, 48);
		g_reg_put(g, R_ECX, f->a16 ? 2 : 4, n);
	}
	uint32_t span = (n ? n : 1) * e;
	uint32_t sb = g_segbase(g, f->seg == SEG_NONE ? S_DS : f->seg), db = g_segbase(g, S_ES);
	uint32_t slo = 0, dlo = 0;
	if (src) {
		slo = pick_range(g, sb, span, e);
		set_ptr(g, R_ESI, df ? slo + span - e : slo);
		g_win(g, sb + slo - 8, span + 16);
	}
	if (dst) {
		dlo = src && sb == db && sub == STR_MOVS && g_pct(g, 15) ? overlap(g, sb, slo, span, e)
								     : pick_range(g, db, span, e);
		set_ptr(g, R_EDI, df ? dlo + span - e : dlo);
		g_win(g, db + dlo - 8, span + 16);
	}
	if (sub == STR_CMPS && n)
		cmps_fill(g, sb + slo, db + dlo, n, e);
	if (sub == STR_SCAS && n)
		scas_fill(g, db + dlo, n, e);
}

static void enter(struct gen *g, uint32_t sbase, uint32_t lin, unsigned osz)
{
	unsigned r = g_rn(g, 100);
	uint32_t frame = r < 20 ? 0 : r < 60 ? 4 * g_rn(g, 16) : g_rn(g, 0x10000);
	r = g_rn(g, 100);
	uint32_t level = r < 50 ? 0 : r < 70 ? 1 : r < 90 ? 2 + g_rn(g, 3) : g_r32(g) & 0xFF;
	uint32_t nl = level & 31;
	uint32_t room = lin - ISA_DATA - 64 - osz * 33;   /* hardware write-probes the new ESP */
	uint8_t *imm = g->t->in.code + g->imm_off;
	if (frame > room)
		frame = g_rn(g, room);
	imm[0] = (uint8_t)frame;
	imm[1] = (uint8_t)(frame >> 8);
	imm[2] = (uint8_t)level;
	g_win(g, lin - osz * (nl + 1) - 8, osz * (nl + 1) + 16);
	if (nl > 1) {
		uint32_t ebp = g_pick_off(g, sbase, 4, 4, false) + 0x200;
		g->t->in.regs[R_EBP] = ebp;
		g_win(g, sbase + ebp - osz * nl - 8, osz * nl + 16);
	}
}

/* Branch displacement, indirect target, return address and RET's imm16. */
static void stack_targets(struct gen *g, uint32_t lin)
{
	unsigned sub = g->f->sub;
	uint32_t target = ISA_CODE + g->len + ISA_BRANCH_REL;
	uint8_t *imm = g->t->in.code + g->imm_off;
	if (sub == STK_CALL)
		imm[0] = ISA_BRANCH_REL, imm[1] = imm[2] = imm[3] = 0;
	if (sub == STK_CALL_IND)
		g_rm_put(g, 4, target);
	if (sub == STK_RET || sub == STK_RET_IMM)
		g_put(g, lin, 4, target);
	if (sub == STK_RET_IMM) {
		unsigned r = g_rn(g, 100);
		uint32_t n = r < 30 ? 0 : r < 70 ? 4 * g_rn(g, 8) : g_rn(g, 64);
		imm[0] = (uint8_t)n;
		imm[1] = 0;
	}
}

void g_stack(struct gen *g)
{
	const struct form *f = g->f;
	unsigned osz = f->osize;
	uint32_t sbase = g_segbase(g, S_SS), t = g_pick_off(g, sbase, 4, osz, false) + 0x200;
	uint32_t lin = sbase + t;
	g->t->in.regs[R_ESP] = t;
	if (f->esp_rel) {
		g->has_mem = true;
		g->lin = lin + (uint32_t)(int32_t)(int8_t)g->esp_disp + (f->sub == STK_POP ? osz : 0);
		g_win(g, g->lin - 8, osz + 16);
	}
	switch (f->sub) {
	case STK_PUSH: case STK_CALL: case STK_CALL_IND:
		g_win(g, lin - 16, 24);
		break;
	case STK_POP: case STK_RET: case STK_RET_IMM:
		g_win(g, lin - 8, 24);
		break;
	case STK_PUSHA:
		g_win(g, lin - 8 * osz - 8, 8 * osz + 16);
		break;
	case STK_POPA:
		g_win(g, lin - 8, 8 * osz + 16);
		break;
	case STK_ENTER:
		enter(g, sbase, lin, osz);
		break;
	case STK_LEAVE: {
		uint32_t ebp = g_pick_off(g, sbase, 4, osz, false) + 0x200;
		g->t->in.regs[R_EBP] = ebp;
		g_win(g, sbase + ebp - 8, osz + 16);
		break;
	}
	}
	stack_targets(g, lin);
}
