/*
 * gen_fpu.c - random x87/MMX/SSE input state (an FXSAVE image) and floating-point memory
 * contents.
 *
 * Both executors run on the same host CPU, so any bit pattern is a fair input: the state
 * mixes ordinary numbers (so arithmetic does something), special values (zeros,
 * infinities, QNaN/SNaN, denormals, the x87's unnormals and pseudo-denormals, integer
 * boundaries for conversions) and raw random bits.  TOP, the tag word, precision and
 * rounding control, MXCSR rounding/FZ/DAZ and the sticky flags are random; exceptions are
 * masked unless the form asks otherwise (so no #MF/#XM is pending on entry by accident).
 * Fields the image holds only for the OS (FIP/FDP/FOP, the reserved area) are zero.
 */
#include <string.h>
#include "gen_int.h"

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint64_t r64(struct gen *g) { return (uint64_t)g_r32(g) << 32 | g_r32(g); }

static uint32_t f32(struct gen *g)
{
	static const uint32_t sp[] = {
		0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFC00001,
		0x00000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0x3F800000, 0xBF800000, 0x3F000000,
		0x4F000000, 0xCF000000, 0x4EFFFFFF, 0x4F800000, 0x3FC00000, 0x40200000,
	};
	unsigned r = g_rn(g, 100);
	if (r < 20)
		return sp[g_rn(g, sizeof(sp) / sizeof(sp[0]))];
	if (r < 35) {
		float v = (float)((int32_t)g_rn(g, 2001) - 1000) / (float)(1u << g_rn(g, 4));
		uint32_t u;
		memcpy(&u, &v, 4);
		return u;
	}
	if (r < 80)
		return (g_r32(g) & 0x807FFFFF) | (uint32_t)(127 - 40 + g_rn(g, 80)) << 23;
	return g_r32(g);
}

static uint64_t f64(struct gen *g)
{
	static const uint64_t sp[] = {
		0, 1ull << 63, 0x7FF0000000000000ull, 0xFFF0000000000000ull, 0x7FF8000000000000ull,
		0x7FF0000000000001ull, 1, 0x000FFFFFFFFFFFFFull, 0x0010000000000000ull,
		0x7FEFFFFFFFFFFFFFull, 0x3FF0000000000000ull, 0xBFF0000000000000ull,
		0x41E0000000000000ull, 0xC1E0000000000000ull, 0x41DFFFFFFFC00000ull,
		0xC1E0000000200000ull, 0x3FE0000000000000ull, 0x47EFFFFFE0000000ull,
	};
	unsigned r = g_rn(g, 100);
	if (r < 20)
		return sp[g_rn(g, sizeof(sp) / sizeof(sp[0]))];
	if (r < 35) {
		double v = (double)((int32_t)g_rn(g, 200001) - 100000) / (double)(1u << g_rn(g, 6));
		uint64_t u;
		memcpy(&u, &v, 8);
		return u;
	}
	if (r < 80)
		return (r64(g) & 0x800FFFFFFFFFFFFFull) | (uint64_t)(1023 - 200 + g_rn(g, 400)) << 52;
	return r64(g);
}

/* 80-bit extended: 64-bit significand (explicit integer bit) + sign/exponent. */
static void f80(struct gen *g, uint8_t *p)
{
	static const struct { uint64_t m; uint16_t se; } sp[] = {
		{ 0, 0 }, { 0, 0x8000 }, { 1ull << 63, 0x7FFF }, { 1ull << 63, 0xFFFF },
		{ 3ull << 62, 0x7FFF }, { (1ull << 63) | 1, 0x7FFF }, { 0x123456789ull, 0 },
		{ (1ull << 63) | 5, 0 }, { 0x4000000000000000ull, 0x3FFF }, { 0, 0x7FFF },
		{ 1ull << 63, 0x3FFF }, { 1ull << 63, 0xBFFF }, { 0xFFFFFFFFFFFFFFFFull, 0x7FFE },
		{ 1ull << 63, 0x0001 }, { 1ull << 63, 0x401E }, { 1ull << 63, 0x403E },
	};
	unsigned r = g_rn(g, 100);
	uint64_t m = r64(g);
	uint16_t se = (uint16_t)g_r32(g);
	if (r < 20) {
		unsigned k = g_rn(g, sizeof(sp) / sizeof(sp[0]));
		m = sp[k].m;
		se = sp[k].se;
	} else if (r < 35) {
		int32_t v = (int32_t)g_rn(g, 20001) - 10000;
		uint32_t a = (uint32_t)(v < 0 ? -v : v);
		unsigned sh = a ? (unsigned)__builtin_clz(a) : 0;
		m = a ? (uint64_t)a << (32 + sh) : 0;
		se = (uint16_t)((a ? 0x3FFF + 31 - sh : 0) | (v < 0 ? 0x8000 : 0));
	} else if (r < 80) {
		m |= 1ull << 63;
		se = (uint16_t)((se & 0x8000) | (0x3FFF - 64 + g_rn(g, 128)));
	}
	memcpy(p, &m, 8);
	memcpy(p + 8, &se, 2);
}

static void fill_xmm(struct gen *g, uint8_t *p)
{
	unsigned kind = g_rn(g, 4);
	for (unsigned i = 0; i < 16; i += kind == 1 ? 8 : 4) {
		if (kind == 0)
			put32(p + i, f32(g));
		else if (kind == 1)
			put64(p + i, f64(g));
		else
			put32(p + i, kind == 2 ? g_val(g) : g_r32(g));
	}
}

static uint8_t tag_word(struct gen *g, unsigned top)
{
	unsigned r = g_rn(g, 100), depth = g_rn(g, 9);
	if (r < 20)
		return 0xFF;
	if (r < 35)
		return 0x00;
	if (r < 70) {                            /* a stack of `depth` values from TOP up */
		uint8_t t = 0;
		for (unsigned i = 0; i < depth; i++)
			t |= (uint8_t)(1u << ((top + i) & 7));
		return t;
	}
	return (uint8_t)g_r32(g);
}

void g_fpu_state(struct gen *g, uint8_t *fx)
{
	const struct form *f = g->f;
	static const uint16_t pc[3] = { 0x000, 0x200, 0x300 };
	unsigned top = g_rn(g, 8);
	uint16_t fcw = (uint16_t)(0x007F | pc[g_rn(g, 3)] | g_rn(g, 4) << 10);
	uint16_t fsw = (uint16_t)(top << 11 | (g_r32(g) & 0x4700) | (g_r32(g) & 0x7F & ~0x80));
	uint32_t mxcsr = 0x1F80 | g_rn(g, 4) << 13 | (g_pct(g, 25) ? 0x8000 : 0) |
			 (g_pct(g, 25) ? 0x40 : 0) | (g_r32(g) & 0x3F);
	memset(fx, 0, 512);
	if (f->fpu_pending) {                     /* zero-divide pending and unmasked */
		fcw &= (uint16_t)~0x04;
		fsw |= 0x8084;
	}
	if (f->fpu_unmasked)
		mxcsr &= ~0x1FBFu;
	memcpy(fx + FX_FCW, &fcw, 2);
	memcpy(fx + FX_FSW, &fsw, 2);
	fx[FX_FTW] = tag_word(g, top);
	put32(fx + FX_MXCSR, mxcsr);
	for (int i = 0; i < 8; i++)
		f80(g, fx + FX_ST(i));
	for (int i = 0; i < 8; i++)
		fill_xmm(g, fx + FX_XMM(i));
}

static void fill_bcd(struct gen *g, uint8_t *p)
{
	if (!g_pct(g, 70))
		return;
	for (int i = 0; i < 9; i++)
		p[i] = (uint8_t)(g_rn(g, 10) << 4 | g_rn(g, 10));
	p[9] = g_pct(g, 50) ? 0x80 : 0x00;
}

/* Memory operand contents for a form's FP_* type (random bytes are already there). */
void g_fp_fill(struct gen *g, uint8_t *p, unsigned n, unsigned fp)
{
	if (fp == FP_F32 && g_pct(g, 75))
		for (unsigned i = 0; i + 4 <= n; i += 4)
			put32(p + i, f32(g));
	if (fp == FP_F64 && g_pct(g, 75))
		for (unsigned i = 0; i + 8 <= n; i += 8)
			put64(p + i, f64(g));
	if (fp == FP_F80 && n >= 10 && g_pct(g, 75))
		f80(g, p);
	if (fp == FP_BCD && n >= 10)
		fill_bcd(g, p);
}
