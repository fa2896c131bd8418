/*
 * forms_simd.c - templates for MMX, SSE and SSE2 (what the guest's CPUID advertises;
 * SSE3 and later are #UD by design in vmm386 and are not in the table).
 *
 * Integer operations exist on MMX registers (m64, no alignment) and, with 0x66, on XMM
 * registers (m128, 16-byte aligned or #GP); one template line gives both.  Floating-point
 * operations come as PS / SS (F3) / PD (66) / SD (F2) from one line each.  Register and
 * memory forms are generated; memory forms get the plain variant and one rotating
 * segment/addressing variant.  Register numbers in ModRM are random per case, including
 * GPR operands such as ESP (CVTSS2SI esp, xmm0).  The input state has exceptions masked,
 * except in the "unmasked" forms, where an SSE exception must be #XM.  CLFLUSH is not in
 * the table: the guest's CPUID does not advertise it (emulation/cpuid.c), so vmm386 raises
 * #UD for it by design.
 */
#include <stdio.h>
#include <string.h>
#include "forms.h"
#include "isa.h"

enum { F_REG = 1, F_MEM = 2, F_BOTH = 3 };

struct simd {
	const char *grp, *mn;
	uint8_t pfx, op;
	int dig1;             /* /digit + 1, or 0 for a random ModRM.reg */
	uint8_t rms, msize, align, imm, fp, kind;
	bool lim;             /* also the fs:limit and gs:ro variants */
};

static unsigned rotate;

static void simd_form(const struct simd *s)
{
	static const unsigned rot[] = { V_FS, V_A16, V_GS, V_NONFLAT };
	struct form *f = form_new(s->grp);
	char name[64];
	if (s->pfx)
		f->pfx[f->npfx++] = s->pfx;
	f->op[0] = 0x0F;
	f->op[1] = s->op;
	f->nop = 2;
	f->ext = (int8_t)(s->dig1 - 1);
	f->msize = s->msize;
	f->align = s->align ? s->align : 1;
	f->imm = s->imm;
	f->fp = s->fp;
	f->kind = s->kind;
	if (s->rms & F_REG) {
		f->rm = RM_REG;
		form_finish(f, "%s reg", s->mn);
	}
	if (s->rms & F_MEM) {
		f->rm = RM_MEM;
		snprintf(name, sizeof(name), "%s mem", s->mn);
		forms_variants(f, V_PLAIN | rot[rotate++ % 4] | (s->lim ? V_LIM : 0), name);
	}
}

#define SIMD(...) simd_form(&(struct simd){ __VA_ARGS__ })

/* Integer ops on mm (m64) and xmm (m128).  level: 0 MMX, 1 added by SSE, 2 by SSE2. */
static void int_ops(void)
{
	static const struct { uint8_t op; const char *mn; uint8_t level; } t[] = {
		{ 0x60, "PUNPCKLBW", 0 }, { 0x61, "PUNPCKLWD", 0 }, { 0x62, "PUNPCKLDQ", 0 },
		{ 0x63, "PACKSSWB", 0 }, { 0x64, "PCMPGTB", 0 }, { 0x65, "PCMPGTW", 0 },
		{ 0x66, "PCMPGTD", 0 }, { 0x67, "PACKUSWB", 0 }, { 0x68, "PUNPCKHBW", 0 },
		{ 0x69, "PUNPCKHWD", 0 }, { 0x6A, "PUNPCKHDQ", 0 }, { 0x6B, "PACKSSDW", 0 },
		{ 0x74, "PCMPEQB", 0 }, { 0x75, "PCMPEQW", 0 }, { 0x76, "PCMPEQD", 0 },
		{ 0xD1, "PSRLW", 0 }, { 0xD2, "PSRLD", 0 }, { 0xD3, "PSRLQ", 0 }, { 0xD4, "PADDQ",
		    2 },
		{ 0xD5, "PMULLW", 0 }, { 0xD8, "PSUBUSB", 0 }, { 0xD9, "PSUBUSW", 0 },
		{ 0xDA, "PMINUB", 1 }, { 0xDB, "PAND", 0 }, { 0xDC, "PADDUSB", 0 },
		{ 0xDD, "PADDUSW", 0 }, { 0xDE, "PMAXUB", 1 }, { 0xDF, "PANDN", 0 },
		{ 0xE0, "PAVGB", 1 }, { 0xE1, "PSRAW", 0 }, { 0xE2, "PSRAD", 0 }, { 0xE3, "PAVGW",
		    1 },
		{ 0xE4, "PMULHUW", 1 }, { 0xE5, "PMULHW", 0 }, { 0xE8, "PSUBSB", 0 },
		{ 0xE9, "PSUBSW", 0 }, { 0xEA, "PMINSW", 1 }, { 0xEB, "POR", 0 }, { 0xEC, "PADDSB",
		    0 },
		{ 0xED, "PADDSW", 0 }, { 0xEE, "PMAXSW", 1 }, { 0xEF, "PXOR", 0 }, { 0xF1, "PSLLW",
		    0 },
		{ 0xF2, "PSLLD", 0 }, { 0xF3, "PSLLQ", 0 }, { 0xF4, "PMULUDQ", 2 }, { 0xF5,
		    "PMADDWD", 0 },
		{ 0xF6, "PSADBW", 1 }, { 0xF8, "PSUBB", 0 }, { 0xF9, "PSUBW", 0 }, { 0xFA, "PSUBD",
		    0 },
		{ 0xFB, "PSUBQ", 2 }, { 0xFC, "PADDB", 0 }, { 0xFD, "PADDW", 0 }, { 0xFE, "PADDD",
		    0 },
	};
	static const char *const grp[3] = { "mmx", "sse", "sse2" };
	char n1[40], n2[40];
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(n1, sizeof(n1), "%s mm,mm/m64", t[i].mn);
		snprintf(n2, sizeof(n2), "%s xmm,xmm/m128", t[i].mn);
		SIMD(.grp = grp[t[i].level], .mn = n1, .op = t[i].op, .rms = F_BOTH, .msize = 8);
		SIMD(.grp = "sse2", .mn = n2, .pfx = 0x66, .op = t[i].op, .rms = F_BOTH,
		    .msize = 16, .align = 16);
	}
	SIMD(.grp = "sse2", .mn = "PUNPCKLQDQ xmm,xmm/m128", .pfx = 0x66, .op = 0x6C, .rms = F_BOTH,
	    .msize = 16, .align = 16);
	SIMD(.grp = "sse2", .mn = "PUNPCKHQDQ xmm,xmm/m128", .pfx = 0x66, .op = 0x6D, .rms = F_BOTH,
	    .msize = 16, .align = 16);
}

static void shift_imm(void)
{
	static const struct { uint8_t op; int8_t dig; const char *mn; } t[] = {
		{ 0x71, 2, "PSRLW" }, { 0x71, 4, "PSRAW" }, { 0x71, 6, "PSLLW" },
		{ 0x72, 2, "PSRLD" }, { 0x72, 4, "PSRAD" }, { 0x72, 6, "PSLLD" },
		{ 0x73, 2, "PSRLQ" }, { 0x73, 6, "PSLLQ" },
	};
	char n1[40], n2[40];
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(n1, sizeof(n1), "%s mm,Ib", t[i].mn);
		snprintf(n2, sizeof(n2), "%s xmm,Ib", t[i].mn);
		SIMD(.grp = "mmx", .mn = n1, .op = t[i].op, .dig1 = 1 + t[i].dig, .rms = F_REG,
		    .imm = 1);
		SIMD(.grp = "sse2", .mn = n2, .pfx = 0x66, .op = t[i].op, .dig1 = 1 + t[i].dig,
		    .rms = F_REG, .imm = 1);
	}
	SIMD(.grp = "sse2", .mn = "PSRLDQ xmm,Ib", .pfx = 0x66, .op = 0x73, .dig1 = 1 + 3,
	    .rms = F_REG, .imm = 1);
	SIMD(.grp = "sse2", .mn = "PSLLDQ xmm,Ib", .pfx = 0x66, .op = 0x73, .dig1 = 1 + 7,
	    .rms = F_REG, .imm = 1);
}

static void int_moves(void)
{
	SIMD(.grp = "mmx", .mn = "MOVD mm,Ed", .op = 0x6E, .rms = F_BOTH, .msize = 4);
	SIMD(.grp = "sse2", .mn = "MOVD xmm,Ed", .pfx = 0x66, .op = 0x6E, .rms = F_BOTH,
	    .msize = 4);
	SIMD(.grp = "mmx", .mn = "MOVD Ed,mm", .op = 0x7E, .rms = F_BOTH, .msize = 4);
	SIMD(.grp = "sse2", .mn = "MOVD Ed,xmm", .pfx = 0x66, .op = 0x7E, .rms = F_BOTH,
	    .msize = 4);
	SIMD(.grp = "mmx", .mn = "MOVQ mm,mm/m64", .op = 0x6F, .rms = F_BOTH, .msize = 8);
	SIMD(.grp = "mmx", .mn = "MOVQ mm/m64,mm", .op = 0x7F, .rms = F_BOTH, .msize = 8);
	SIMD(.grp = "sse2", .mn = "MOVDQA xmm,xmm/m128", .pfx = 0x66, .op = 0x6F, .rms = F_BOTH,
	    .msize = 16, .align = 16, .lim = true);
	SIMD(.grp = "sse2", .mn = "MOVDQU xmm,xmm/m128", .pfx = 0xF3, .op = 0x6F, .rms = F_BOTH,
	    .msize = 16);
	SIMD(.grp = "sse2", .mn = "MOVDQA xmm/m128,xmm", .pfx = 0x66, .op = 0x7F, .rms = F_BOTH,
	    .msize = 16, .align = 16);
	SIMD(.grp = "sse2", .mn = "MOVDQU xmm/m128,xmm", .pfx = 0xF3, .op = 0x7F, .rms = F_BOTH,
	    .msize = 16, .lim = true);
	SIMD(.grp = "sse2", .mn = "MOVQ xmm,xmm/m64", .pfx = 0xF3, .op = 0x7E, .rms = F_BOTH,
	    .msize = 8);
	SIMD(.grp = "sse2", .mn = "MOVQ xmm/m64,xmm", .pfx = 0x66, .op = 0xD6, .rms = F_BOTH,
	    .msize = 8);
	SIMD(.grp = "sse2", .mn = "MOVDQ2Q mm,xmm", .pfx = 0xF2, .op = 0xD6, .rms = F_REG);
	SIMD(.grp = "sse2", .mn = "MOVQ2DQ xmm,mm", .pfx = 0xF3, .op = 0xD6, .rms = F_REG);
	SIMD(.grp = "sse", .mn = "PSHUFW mm,mm/m64,Ib", .op = 0x70, .rms = F_BOTH, .msize = 8,
	    .imm = 1);
	SIMD(.grp = "sse2", .mn = "PSHUFD xmm,xmm/m128,Ib", .pfx = 0x66, .op = 0x70, .rms = F_BOTH,
	    .msize = 16, .align = 16, .imm = 1);
	SIMD(.grp = "sse2", .mn = "PSHUFLW xmm,xmm/m128,Ib", .pfx = 0xF2, .op = 0x70, .rms = F_BOTH,
	    .msize = 16, .align = 16, .imm = 1);
	SIMD(.grp = "sse2", .mn = "PSHUFHW xmm,xmm/m128,Ib", .pfx = 0xF3, .op = 0x70, .rms = F_BOTH,
	    .msize = 16, .align = 16, .imm = 1);
	SIMD(.grp = "sse", .mn = "PINSRW mm,Ed/m16,Ib", .op = 0xC4, .rms = F_BOTH, .msize = 2,
	    .imm = 1);
	SIMD(.grp = "sse2", .mn = "PINSRW xmm,Ed/m16,Ib", .pfx = 0x66, .op = 0xC4, .rms = F_BOTH,
	    .msize = 2, .imm = 1);
	SIMD(.grp = "sse", .mn = "PEXTRW Gd,mm,Ib", .op = 0xC5, .rms = F_REG, .imm = 1);
	SIMD(.grp = "sse2", .mn = "PEXTRW Gd,xmm,Ib", .pfx = 0x66, .op = 0xC5, .rms = F_REG,
	    .imm = 1);
	SIMD(.grp = "sse", .mn = "PMOVMSKB Gd,mm", .op = 0xD7, .rms = F_REG);
	SIMD(.grp = "sse2", .mn = "PMOVMSKB Gd,xmm", .pfx = 0x66, .op = 0xD7, .rms = F_REG);
	SIMD(.grp = "sse", .mn = "MOVNTQ m64,mm", .op = 0xE7, .rms = F_MEM, .msize = 8);
	SIMD(.grp = "sse2", .mn = "MOVNTDQ m128,xmm", .pfx = 0x66, .op = 0xE7, .rms = F_MEM,
	    .msize = 16, .align = 16);
	SIMD(.grp = "sse2", .mn = "MOVNTI m32,Gd", .op = 0xC3, .rms = F_MEM, .msize = 4);
	SIMD(.grp = "sse", .mn = "MASKMOVQ mm,mm", .op = 0xF7, .rms = F_REG, .msize = 8,
	    .kind = K_MASKMOV);
	SIMD(.grp = "sse2", .mn = "MASKMOVDQU xmm,xmm", .pfx = 0x66, .op = 0xF7, .rms = F_REG,
	    .msize = 16, .kind = K_MASKMOV);
}

/* Floating point: [0] PS, [1] SS (F3), [2] PD (66), [3] SD (F2). */
struct fl {
	uint8_t op;
	const char *mn[4];
	uint8_t msize[4];
	uint8_t align[4];
	uint8_t imm, rms;
	bool lim;
};

static void fl_form(const struct fl *t)
{
	static const uint8_t pfx[4] = { 0, 0xF3, 0x66, 0xF2 };
	static const uint8_t fp[4] = { FP_F32, FP_F32, FP_F64, FP_F64 };
	for (unsigned k = 0; k < 4; k++)
		if (t->mn[k])
			SIMD(.grp = k & 2 ? "sse2" : "sse", .mn = t->mn[k], .pfx = pfx[k],
			    .op = t->op,
			     .rms = t->rms ? t->rms : F_BOTH, .msize = t->msize[k],
			    .align = t->align[k],
			     .imm = t->imm, .fp = fp[k], .lim = t->lim);
}

#define FL(...) fl_form(&(struct fl){ __VA_ARGS__ })
#define ARITH4(o, a, b, c, d) \
	FL(.op = o, .mn = { a, b, c, d }, .msize = { 16, 4, 16, 8 }, .align = { 16, 0, 16, 0 })

static void float_ops(void)
{
	ARITH4(0x58, "ADDPS", "ADDSS", "ADDPD", "ADDSD");
	ARITH4(0x59, "MULPS", "MULSS", "MULPD", "MULSD");
	ARITH4(0x5C, "SUBPS", "SUBSS", "SUBPD", "SUBSD");
	ARITH4(0x5D, "MINPS", "MINSS", "MINPD", "MINSD");
	ARITH4(0x5E, "DIVPS", "DIVSS", "DIVPD", "DIVSD");
	ARITH4(0x5F, "MAXPS", "MAXSS", "MAXPD", "MAXSD");
	ARITH4(0x51, "SQRTPS", "SQRTSS", "SQRTPD", "SQRTSD");
	ARITH4(0x52, "RSQRTPS", "RSQRTSS", NULL, NULL);
	ARITH4(0x53, "RCPPS", "RCPSS", NULL, NULL);
	ARITH4(0x54, "ANDPS", NULL, "ANDPD", NULL);
	ARITH4(0x55, "ANDNPS", NULL, "ANDNPD", NULL);
	ARITH4(0x56, "ORPS", NULL, "ORPD", NULL);
	ARITH4(0x57, "XORPS", NULL, "XORPD", NULL);
	ARITH4(0x14, "UNPCKLPS", NULL, "UNPCKLPD", NULL);
	ARITH4(0x15, "UNPCKHPS", NULL, "UNPCKHPD", NULL);
	FL(.op = 0xC2, .mn = { "CMPPS Ib", "CMPSS Ib", "CMPPD Ib", "CMPSD Ib" }, .msize = { 16, 4,
	    16, 8 }, .align = { 16, 0, 16, 0 }, .imm = 1);
	FL(.op = 0xC6, .mn = { "SHUFPS Ib", NULL, "SHUFPD Ib", NULL }, .msize = { 16, 0, 16, 0 },
	    .align = { 16, 0, 16, 0 }, .imm = 1);
	FL(.op = 0x10, .mn = { "MOVUPS load", "MOVSS load", "MOVUPD load", "MOVSD load" },
	    .msize = { 16, 4, 16, 8 }, .lim = true);
	FL(.op = 0x11, .mn = { "MOVUPS store", "MOVSS store", "MOVUPD store", "MOVSD store" },
	    .msize = { 16, 4, 16, 8 }, .lim = true);
	FL(.op = 0x28, .mn = { "MOVAPS load", NULL, "MOVAPD load", NULL }, .msize = { 16, 0, 16,
	    0 }, .align = { 16, 0, 16, 0 }, .lim = true);
	FL(.op = 0x29, .mn = { "MOVAPS store", NULL, "MOVAPD store", NULL }, .msize = { 16, 0, 16,
	    0 }, .align = { 16, 0, 16, 0 }, .lim = true);
	FL(.op = 0x2B, .mn = { "MOVNTPS", NULL, "MOVNTPD", NULL }, .msize = { 16, 0, 16, 0 },
	    .align = { 16, 0, 16, 0 }, .rms = F_MEM);
	FL(.op = 0x12, .mn = { "MOVLPS load", NULL, "MOVLPD load", NULL }, .msize = { 8, 0, 8, 0 },
	    .rms = F_MEM);
	FL(.op = 0x13, .mn = { "MOVLPS store", NULL, "MOVLPD store", NULL }, .msize = { 8, 0, 8,
	    0 }, .rms = F_MEM);
	FL(.op = 0x16, .mn = { "MOVHPS load", NULL, "MOVHPD load", NULL }, .msize = { 8, 0, 8, 0 },
	    .rms = F_MEM);
	FL(.op = 0x17, .mn = { "MOVHPS store", NULL, "MOVHPD store", NULL }, .msize = { 8, 0, 8,
	    0 }, .rms = F_MEM);
	FL(.op = 0x12, .mn = { "MOVHLPS", NULL, NULL, NULL }, .rms = F_REG);
	FL(.op = 0x16, .mn = { "MOVLHPS", NULL, NULL, NULL }, .rms = F_REG);
	FL(.op = 0x50, .mn = { "MOVMSKPS Gd,xmm", NULL, "MOVMSKPD Gd,xmm", NULL }, .rms = F_REG);
	FL(.op = 0x2E, .mn = { "UCOMISS", NULL, "UCOMISD", NULL }, .msize = { 4, 0, 8, 0 });
	FL(.op = 0x2F, .mn = { "COMISS", NULL, "COMISD", NULL }, .msize = { 4, 0, 8, 0 });
}

static void conversions(void)
{
	FL(.op = 0x2A, .mn = { "CVTPI2PS xmm,mm/m64", "CVTSI2SS xmm,Ed", "CVTPI2PD xmm,mm/m64",
	    "CVTSI2SD xmm,Ed" }, .msize = { 8, 4, 8, 4 });
	FL(.op = 0x2C, .mn = { "CVTTPS2PI mm,xmm/m64", "CVTTSS2SI Gd,xmm/m32",
	    "CVTTPD2PI mm,xmm/m128", "CVTTSD2SI Gd,xmm/m64" }, .msize = { 8, 4, 16, 8 },
	    .align = { 0, 0, 16, 0 });
	FL(.op = 0x2D, .mn = { "CVTPS2PI mm,xmm/m64", "CVTSS2SI Gd,xmm/m32", "CVTPD2PI mm,xmm/m128",
	    "CVTSD2SI Gd,xmm/m64" }, .msize = { 8, 4, 16, 8 }, .align = { 0, 0, 16, 0 });
	FL(.op = 0x5A, .mn = { "CVTPS2PD", "CVTSS2SD", "CVTPD2PS", "CVTSD2SS" }, .msize = { 8, 4,
	    16, 8 }, .align = { 0, 0, 16, 0 });
	FL(.op = 0x5B, .mn = { "CVTDQ2PS", "CVTTPS2DQ", "CVTPS2DQ", NULL }, .msize = { 16, 16, 16,
	    0 }, .align = { 16, 16, 16, 0 });
	FL(.op = 0xE6, .mn = { NULL, "CVTDQ2PD", "CVTTPD2DQ", "CVTPD2DQ" }, .msize = { 0, 8, 16,
	    16 }, .align = { 0, 0, 16, 16 });
}

static void fixed(const char *grp, const char *mn, uint8_t pfx, uint8_t op, uint8_t modrm)
{
	struct form *f = form_new(grp);
	if (pfx)
		f->pfx[f->npfx++] = pfx;
	f->op[0] = op;
	f->op[1] = modrm;
	f->nop = modrm ? 2 : 1;
	if (op == 0xAE || op == 0x77) {   /* 0F AE xx, 0F 77 */
		memmove(f->op + 1, f->op, 2);
		f->op[0] = 0x0F;
		f->nop++;
	}
	form_finish(f, "%s", mn);
}

static void state_and_hints(void)
{
	SIMD(.grp = "sse", .mn = "LDMXCSR m32", .op = 0xAE, .dig1 = 1 + 2, .rms = F_MEM, .msize = 4,
	    .kind = K_LDMXCSR);
	SIMD(.grp = "sse", .mn = "STMXCSR m32", .op = 0xAE, .dig1 = 1 + 3, .rms = F_MEM,
	    .msize = 4);
	static const char *const pf[4] = { "PREFETCHNTA m8", "PREFETCHT0 m8", "PREFETCHT1 m8",
	    "PREFETCHT2 m8" };
	for (int8_t d = 0; d < 4; d++)
		SIMD(.grp = "sse", .mn = pf[d], .op = 0x18, .dig1 = 1 + d, .rms = F_MEM,
		    .msize = 1);
	fixed("sse2", "LFENCE", 0, 0xAE, 0xE8);
	fixed("sse2", "MFENCE", 0, 0xAE, 0xF0);
	fixed("sse", "SFENCE", 0, 0xAE, 0xF8);
	fixed("mmx", "EMMS", 0, 0x77, 0);
	fixed("sse2", "PAUSE", 0xF3, 0x90, 0);
}

/* Unmasked SIMD exceptions: an invalid, zero-divide or inexact result must raise #XM. */
static void unmasked(void)
{
	static const struct { const char *mn; uint8_t pfx, op; } t[] = {
		{ "ADDPS unmasked", 0, 0x58 }, { "DIVSS unmasked", 0xF3, 0x5E },
		{ "SQRTPD unmasked", 0x66, 0x51 }, { "MULSD unmasked", 0xF2, 0x59 },
		{ "CVTTSD2SI unmasked", 0xF2, 0x2C }, { "CVTPD2PS unmasked", 0x66, 0x5A },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct form *f = form_new(t[i].pfx == 0x66 || t[i].pfx == 0xF2 ? "sse2" : "sse");
		if (t[i].pfx)
			f->pfx[f->npfx++] = t[i].pfx;
		f->op[0] = 0x0F;
		f->op[1] = t[i].op;
		f->nop = 2;
		f->rm = RM_REG;
		f->fpu_unmasked = true;
		form_finish(f, "%s reg", t[i].mn);
	}
}

void forms_simd(void)
{
	int_ops();
	shift_imm();
	int_moves();
	float_ops();
	conversions();
	state_and_hints();
	unmasked();
}
