/*
 * gen.c - builds one test case for a form: random registers, flags and x87/SSE state, the
 * instruction bytes with a random ModRM/SIB/displacement, and the memory windows.
 *
 * Memory operands: the generator first picks where the operand should land (an offset in
 * the data area relative to the operand's segment, aligned or not, sometimes straddling a
 * 4 KiB page), then an addressing shape (disp32, [base], [base+disp8/32], SIB with any
 * scale, index without base, or one of the eight 16-bit forms), and finally solves for the
 * register values: base = target - index*scale - disp, modulo 2^32 (so wrap-around
 * arithmetic is exercised too), with the special cases base == index and no base.  Values
 * that other operands need (ESP for the stack, the bit offset of BT, ...) are kept out of
 * the address through the kind's "avoid" mask.
 *
 * Windows: each touched range gets a window of random bytes a little wider than the access
 * (so a wrong address or size shows); overlapping windows are merged.  Everything is drawn
 * from a splitmix64 stream seeded by (seed, form name, case index).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gen_int.h"
#include "monitor/vmm.h"

uint32_t g_r32(struct gen *g)
{
	uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (uint32_t)((z ^ (z >> 31)) >> 16);
}

uint32_t g_rn(struct gen *g, uint32_t n) { return n ? g_r32(g) % n : 0; }
bool g_pct(struct gen *g, unsigned p) { return g_rn(g, 100) < p; }

uint32_t g_val(struct gen *g)
{
	static const uint32_t special[] = {
		0, 1, 2, 0xFFFFFFFF, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
		0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFF80, 0xFFFF8000, 0x0000FF00,
	};
	unsigned r = g_rn(g, 100);
	if (r < 15)
		return special[g_rn(g, sizeof(special) / sizeof(special[0]))];
	if (r < 30)
		return (uint32_t)((int32_t)g_rn(g, 601) - 300);
	return g_r32(g);
}

void g_bytes(struct gen *g, uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)g_r32(g);
}

/* ---- segments and targets ---------------------------------------------------------- */

uint32_t g_segbase(const struct gen *g, int seg)
{
	if (seg == S_FS)
		return ISA_FS_BASE;
	if (seg == S_GS)
		return ISA_GS_BASE;
	if (seg == S_CS)
		return 0;
	return g->f->env == ISA_ENV_NONFLAT ? ISA_NF_BASE : 0;
}

/* Offset (relative to base) for an access of size bytes: aligned, random, or across a
 * page boundary.  Flat segments use the first 64 KiB of the data area. */
/* FS with a limit: mostly inside, sometimes across the limit or beyond it. */
static uint32_t pick_limited(struct gen *g, unsigned size, unsigned align)
{
	unsigned r = g_rn(g, 100);
	if (r < 15)
		return ISA_FS_LIMIT + 1 - g_rn(g, size);
	if (r < 25)
		return ISA_FS_LIMIT + 1 + g_rn(g, 64);
	uint32_t off = g_rn(g, ISA_FS_LIMIT + 2 - size);
	return g_pct(g, 70) ? off & ~(align - 1) : off;
}

uint32_t g_pick_off(struct gen *g, uint32_t base, unsigned size, unsigned align, bool a16)
{
	if (g->f->env == ISA_ENV_LIMIT && base == ISA_FS_BASE)
		return pick_limited(g, size, align ? align : 1);
	uint32_t lo = base ? (a16 ? 0 : 0x40) : ISA_DATA + 0x40;
	uint32_t hi = (base ? (a16 ? 0x10000 : 0xFFC0) : ISA_DATA + 0xFFC0) - size;
	unsigned r = g_rn(g, 100);
	uint32_t off = lo + g_rn(g, hi - lo);
	if (r < 12 && size > 1) {
		uint32_t page = ((base + off) & ~0xFFFu) + 0x1000;
		uint32_t lin = page - 1 - g_rn(g, size - 1);
		if (lin - base >= lo && lin - base < hi)
			return lin - base;
	}
	if (r < 70 && align > 1)
		off &= ~(align - 1);
	return off < lo ? off + align : off;
}

/* ---- windows ------------------------------------------------------------------------ */

static void win_fill(struct gen *g, struct gwin *w, uint32_t from, uint32_t to)
{
	for (uint32_t a = from; a < to; a++)
		w->buf[a - w->addr] = (uint8_t)g_r32(g);
}

static void abort_case(const char *why)
{
	fprintf(stderr, "isa-diff: generator: %s\n", why);
	exit(2);
}

/* Add the window [addr, addr+len) with random bytes; a window it overlaps or touches is
 * merged into it, keeping the bytes that window already had.  Returns the bytes at addr. */
uint8_t *g_win(struct gen *g, uint32_t addr, uint32_t len)
{
	static struct gwin nw, old;
	if (addr < ISA_DATA || addr + len > ISA_DATA + ISA_DATA_SIZE || len > ISA_MEMMAX)
		abort_case("window outside the data area");
	nw.addr = addr;
	nw.len = len;
	win_fill(g, &nw, addr, addr + len);
	for (unsigned i = 0; i < g->nwin;) {
		struct gwin *w = &g->win[i];
		if (nw.addr > w->addr + w->len || w->addr > nw.addr + nw.len) {
			i++;
			continue;
		}
		old = nw;
		uint32_t lo = old.addr < w->addr ? old.addr : w->addr;
		uint32_t hi = old.addr + old.len > w->addr + w->len ? old.addr + old.len : w->addr + w->len;
		if (hi - lo > ISA_MEMMAX)
			abort_case("merged window too large");
		nw.addr = lo;
		nw.len = hi - lo;
		memcpy(nw.buf + (old.addr - lo), old.buf, old.len);
		memcpy(nw.buf + (w->addr - lo), w->buf, w->len);
		*w = g->win[--g->nwin];
		i = 0;
	}
	if (g->nwin == GEN_MAXWIN)
		abort_case("too many windows");
	g->win[g->nwin++] = nw;
	return g_mem(g, addr);
}

uint8_t *g_mem(struct gen *g, uint32_t addr)
{
	for (unsigned i = 0; i < g->nwin; i++)
		if (addr - g->win[i].addr < g->win[i].len)
			return &g->win[i].buf[addr - g->win[i].addr];
	abort_case("access outside every window");
	return NULL;
}

uint32_t g_get(struct gen *g, uint32_t addr, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)*g_mem(g, addr + i) << (8 * i);
	return v;
}

void g_put(struct gen *g, uint32_t addr, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size; i++)
		*g_mem(g, addr + i) = (uint8_t)(v >> (8 * i));
}

/* ---- register and r/m operand access --------------------------------------------- */

uint32_t g_reg_get(struct gen *g, int r, unsigned size)
{
	uint32_t v = g->t->in.regs[size == 1 ? r & 3 : r];
	if (size == 1)
		return (r & 4 ? v >> 8 : v) & 0xFF;
	return size == 2 ? v & 0xFFFF : v;
}

void g_reg_put(struct gen *g, int r, unsigned size, uint32_t v)
{
	uint32_t *p = &g->t->in.regs[size == 1 ? r & 3 : r];
	if (size == 1 && (r & 4))
		*p = (*p & ~0xFF00u) | (v & 0xFF) << 8;
	else if (size == 1)
		*p = (*p & ~0xFFu) | (v & 0xFF);
	else if (size == 2)
		*p = (*p & ~0xFFFFu) | (v & 0xFFFF);
	else
		*p = v;
}

uint32_t g_rm_get(struct gen *g, unsigned size)
{
	return g->has_mem ? g_get(g, g->lin, size) : g_reg_get(g, g->rm, size);
}

bool g_rm_settable(struct gen *g)
{
	return g->has_mem || !(g->fixed & (1u << (size_t)(g->rm & 7)));
}

void g_rm_put(struct gen *g, unsigned size, uint32_t v)
{
	if (g->has_mem)
		g_put(g, g->lin, size, v);
	else
		g_reg_put(g, g->rm, size, v);
}

/* ---- addressing ------------------------------------------------------------------- */

static void emit(struct gen *g, uint32_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		g->t->in.code[g->len++] = (uint8_t)(v >> (8 * i));
}

static int pick_reg(struct gen *g, uint32_t avoid, uint32_t also_avoid)
{
	uint32_t ok = ~(avoid | also_avoid) & 0xFF;
	if (!ok)
		return -1;
	for (;;) {
		int r = (int)g_rn(g, 8);
		if (ok & (1u << r))
			return r;
	}
}

static void set_addr_reg(struct gen *g, int r, uint32_t v)
{
	g->t->in.regs[r] = v;
	g->fixed |= 1u << r;
}

/* base*1 + index*scale + disp == target, for r == base == index. */
static uint32_t solve_same(uint32_t scale, uint32_t *disp, uint32_t target, bool d8)
{
	uint32_t m = scale + 1, need = target - *disp;
	if (m & 1) {
		uint32_t inv = m;                      /* Newton: inverse of an odd m mod 2^32 */
		for (int i = 0; i < 5; i++)
			inv *= 2 - m * inv;
		return need * inv;
	}
	if (need & 1) {                                /* m == 2: make target - disp even */
		*disp += (d8 && (int32_t)*disp >= 127) ? (uint32_t)-1 : 1;
		need = target - *disp;
	}
	return need / 2;
}

static uint32_t rand_disp(struct gen *g, unsigned size)
{
	if (size == 1)
		return (uint32_t)(int32_t)(int8_t)g_r32(g);
	return g_pct(g, 50) ? (uint32_t)((int32_t)g_rn(g, 0x20001) - 0x10000) : g_r32(g);
}

static void sib_form(struct gen *g, uint32_t target, uint32_t avoid)
{
	unsigned mod = g_rn(g, 3), sc = g_rn(g, 4), scale = 1u << sc;
	int base = pick_reg(g, avoid, 0), index = pick_reg(g, avoid, 1u << R_ESP);
	bool nobase = (mod == 0 && g_pct(g, 30)) || base < 0;
	if (nobase) { mod = 0; base = R_EBP; }
	if (!nobase && mod == 0 && base == R_EBP) mod = 1;
	if (index < 0) index = R_ESP;                   /* no index */
	uint32_t disp = mod == 1 ? rand_disp(g, 1) : (mod == 2 || nobase) ? rand_disp(g, 4) : 0;
	uint32_t ival = index == R_ESP ? 0 : g_pct(g, 50) ? g_val(g) : g_rn(g, 0x400);
	if (nobase && index != R_ESP) {
		disp = target - ival * scale;
		set_addr_reg(g, index, ival);
	} else if (nobase) {
		disp = target;
	} else if (index == base) {
		if (mod == 0 && scale == 1 && ((target - disp) & 1))
			mod = 1;                               /* the odd part needs a disp8 */
		uint32_t v = solve_same(scale, &disp, target, mod == 1);
		set_addr_reg(g, base, v);
	} else {
		if (index != R_ESP)
			set_addr_reg(g, index, ival);
		set_addr_reg(g, base, target - ival * scale - disp);
	}
	emit(g, mod << 6 | (unsigned)g->reg << 3 | 4, 1);
	emit(g, sc << 6 | (unsigned)index << 3 | (unsigned)base, 1);
	emit(g, disp, mod == 1 ? 1 : (mod == 2 || nobase) ? 4 : 0);
}

static void addr32(struct gen *g, uint32_t target, uint32_t avoid)
{
	unsigned shape = g_rn(g, 100);
	int base = pick_reg(g, avoid, 1u << R_ESP);
	if (shape < 10 || base < 0) {                  /* [disp32] */
		emit(g, (unsigned)g->reg << 3 | 5, 1);
		emit(g, target, 4);
		return;
	}
	if (shape >= 55)
		return sib_form(g, target, avoid);
	unsigned mod = shape < 25 ? 0 : shape < 40 ? 1 : 2;
	if (mod == 0 && base == R_EBP)
		mod = 1;
	uint32_t disp = mod ? rand_disp(g, mod == 1 ? 1 : 4) : 0;
	set_addr_reg(g, base, target - disp);
	emit(g, mod << 6 | (unsigned)g->reg << 3 | (unsigned)base, 1);
	emit(g, disp, mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

/* 16-bit forms: the registers keep random upper halves; one of them (or disp16) is
 * chosen so that the 16-bit effective address is exactly target. */
static void addr16(struct gen *g, uint32_t target, uint32_t avoid)
{
	static const int8_t b16[8] = { R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX };
	static const int8_t i16[8] = { R_ESI, R_EDI, R_ESI, R_EDI, -1, -1, -1, -1 };
	unsigned mod = 0, rm = 6;
	for (int tries = 0; tries < 20; tries++) {
		unsigned m = g_rn(g, 3), r = g_rn(g, 8);
		uint32_t used = 1u << b16[r] | (i16[r] >= 0 ? 1u << i16[r] : 0);
		if ((m == 0 && r == 6) || !(used & avoid)) {
			mod = m;
			rm = r;
			break;
		}
	}
	if (mod == 0 && rm == 6) {                     /* [disp16] */
		emit(g, (unsigned)g->reg << 3 | 6, 1);
		emit(g, target, 2);
		return;
	}
	uint32_t *regs = g->t->in.regs;
	uint32_t disp = mod == 1 ? rand_disp(g, 1) : mod == 2 ? g_r32(g) & 0xFFFF : 0;
	uint32_t other = i16[rm] >= 0 ? regs[i16[rm]] : 0;
	if (mod == 2 && g_pct(g, 50)) {
		disp = (target - regs[b16[rm]] - other) & 0xFFFF;
	} else {
		uint32_t low = (target - other - disp) & 0xFFFF;
		regs[b16[rm]] = (regs[b16[rm]] & 0xFFFF0000u) | low;
	}
	g->fixed |= 1u << b16[rm] | (i16[rm] >= 0 ? 1u << i16[rm] : 0);
	emit(g, mod << 6 | (unsigned)g->reg << 3 | rm, 1);
	emit(g, disp, mod == 1 ? 1 : mod == 2 ? 2 : 0);
}

/* ---- the case ---------------------------------------------------------------------- */

static unsigned op_align(const struct form *f)
{
	if (f->align)
		return f->align;
	unsigned a = 1;
	while (a * 2 <= f->msize && a < 16)
		a *= 2;
	return a;
}

static void encode_mem(struct gen *g)
{
	const struct form *f = g->f;
	uint32_t avoid = f->avoid | g_kind_avoid(g);
	uint32_t base = g_segbase(g, f->seg == SEG_NONE ? S_DS : f->seg);
	uint32_t off = f->kind == K_LEA ? g_r32(g) : g_pick_off(g, base, f->msize, op_align(f), f->a16);
	if (f->a16 && f->kind == K_BT && g_pct(g, 25))
		off = 0xFFC0 + g_rn(g, 0x38);          /* bit offsets then wrap at 64 KiB */
	if (f->a16)
		off &= 0xFFFF;
	if (f->a16)
		addr16(g, off, avoid);
	else
		addr32(g, off, avoid);
	if (f->kind == K_LEA)
		return;
	g->has_mem = true;
	g->lin = base + off;
	unsigned margin = f->kind == K_BT ? 72 : 16;
	uint8_t *p = g_win(g, g->lin - margin, f->msize + 2 * margin);
	g_fp_fill(g, p + margin, f->msize, f->fp);
	if (f->mask_len) {
		g->t->ign_lo = g->lin + f->mask_off;
		g->t->ign_hi = g->t->ign_lo + f->mask_len;
	}
}

static void encode(struct gen *g)
{
	const struct form *f = g->f;
	memcpy(g->t->in.code, f->pfx, f->npfx);
	g->len = f->npfx;
	memcpy(g->t->in.code + g->len, f->op, f->nop);
	g->len += f->nop;
	if (f->opreg) {
		g->opreg = (int)g_rn(g, 8);
		g->t->in.code[g->len - 1] = (uint8_t)(g->t->in.code[g->len - 1] + g->opreg);
	}
	if (f->rm != RM_NONE) {
		g->reg = f->ext >= 0 ? f->ext : (int)g_rn(g, 8);
		if (f->rm == RM_MEM && f->esp_rel) {
			g->esp_disp = g_rn(g, 49) - 24;    /* the operand itself is set up by gen_str.c */
			emit(g, 0x44u | (unsigned)g->reg << 3, 1);
			emit(g, 0x24, 1);
			emit(g, g->esp_disp, 1);
		} else if (f->rm == RM_MEM) {
			encode_mem(g);
		} else {
			g->rm = f->rmfix >= 0 ? f->rmfix : (int)g_rn(g, 8);
			if (f->kind == K_STACK && f->sub == STK_CALL_IND && g->rm == R_ESP)
				g->rm = R_EAX;
			emit(g, 0xC0u | (unsigned)g->reg << 3 | (unsigned)g->rm, 1);
		}
	}
	g->imm_off = g->len;
	unsigned imm = f->kind == K_MOFFS ? (f->a16 ? 2 : 4) : f->imm;
	g_bytes(g, g->t->in.code + g->len, imm);
	g->len += imm;
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static void init_regs(struct gen *g)
{
	struct isa_in *in = &g->t->in;
	for (int i = 0; i < 8; i++)
		in->regs[i] = g_val(g);
	/* the native runner's signal stack must not look like the current stack */
	if (in->regs[R_ESP] - ISA_ALTSTACK < ISA_ALTSTACK_SIZE + 0x1000)
		in->regs[R_ESP] ^= 0x40000000u;
	in->eflags = g_r32(g) & ISA_FL_ARITH;
	int df = g->f->df >= 0 ? g->f->df : (int)g_rn(g, 2);
	if (df)
		in->eflags |= ISA_FL_DF;
}

static void finish(struct gen *g)
{
	struct isa_in *in = &g->t->in;
	uint32_t off = 0;
	in->code_len = g->len;
	in->npad = 2;
	in->pad[0] = g->len;
	in->pad[1] = g->len + ISA_BRANCH_REL;
	in->nwin = g->nwin;
	for (unsigned i = 0; i < g->nwin; i++) {
		in->win[i].addr = g->win[i].addr;
		in->win[i].len = g->win[i].len;
		memcpy(in->mem + off, g->win[i].buf, g->win[i].len);
		off += g->win[i].len;
	}
	g->t->flag_mask = ISA_FL_USER & ~(uint32_t)g->f->undef & ~g->dyn_undef;
	g->t->mem_lin = g->has_mem && g->f->rm == RM_MEM && !g->f->esp_rel ? g->lin : 0;
}

void gen_case(const struct form *f, uint64_t seed, unsigned index, struct tcase *t)
{
	static struct gen g;
	memset(&g, 0, sizeof(g));
	memset(t, 0, offsetof(struct tcase, in.mem));
	t->ign_lo = t->ign_hi = t->mem_lin = 0;
	g.f = f;
	g.t = t;
	g.rng = seed ^ name_hash(f->name) ^ (0xD1B54A32D192ED03ull * (index + 1));
	g.reg = g.rm = g.opreg = -1;
	t->in.cmd = ISA_CMD_RUN;
	t->in.env = f->env;
	init_regs(&g);
	g_fpu_state(&g, t->in.fpu);
	encode(&g);
	g_kind_adjust(&g);
	finish(&g);
}
