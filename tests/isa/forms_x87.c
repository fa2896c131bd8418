/*
 * forms_x87.c - templates for the x87 FPU instructions (and FXSAVE/FXRSTOR).
 *
 * Register forms take a random ST(i) in ModRM.rm; memory forms get the plain variant and
 * one rotating segment/addressing variant.  Every case starts from a random x87 state
 * (gen.c: TOP, tags, register contents, rounding and precision control), so the same
 * bytes see empty and full stacks, NaNs, denormals and ordinary numbers.  Exceptions are
 * masked, except in the "pending #MF" forms, which load a state with an unmasked exception
 * pending so that the next waiting x87 instruction must raise #MF.
 *
 * Memory images that hold the FPU instruction and data pointers (FNSTENV, FNSAVE, FXSAVE)
 * are compared without those fields: they name the address of the instruction that last
 * ran, which is host code in a translator by construction.  Left out: FISTTP (SSE3), the
 * undocumented aliases (D9 D8+i, DC D0+i...), FENI/FDISI/FSETPM.
 */
#include <stdio.h>
#include <string.h>
#include "forms.h"
#include "isa.h"

static unsigned rotate;

static struct form *x87_base(uint8_t op, int dig)
{
	struct form *f = form_new("x87");
	f->op[0] = op;
	f->nop = 1;
	f->ext = (int8_t)dig;
	return f;
}

static void x87_mem(uint8_t op, int dig, const char *mn, uint8_t msize, uint8_t fp, uint8_t kind)
{
	static const unsigned rot[] = { V_FS, V_A16, V_GS, V_NONFLAT };
	bool lim = (op == 0xDD && (dig == 0 || dig == 3)) || (op == 0xDB && dig == 7);
	struct form *f = x87_base(op, dig);
	char name[48];
	f->rm = RM_MEM;
	f->msize = msize;
	f->fp = fp;
	f->kind = kind;
	f->align = 1;
	snprintf(name, sizeof(name), "%s mem", mn);
	forms_variants(f, V_PLAIN | rot[rotate++ % 4] | (lim ? V_LIM : 0), name);
}

static void x87_reg(uint8_t op, int dig, const char *mn)
{
	struct form *f = x87_base(op, dig);
	f->rm = RM_REG;
	form_finish(f, "%s reg", mn);
}

static void x87_fixed(uint8_t op, uint8_t modrm, const char *mn)
{
	struct form *f = x87_base(op, -1);
	f->op[1] = modrm;
	f->nop = 2;
	form_finish(f, "%s", mn);
}

static void arith(void)
{
	static const char *const mn[8] = { "FADD", "FMUL", "FCOM", "FCOMP", "FSUB", "FSUBR", "FDIV",
	    "FDIVR" };
	static const char *const imn[8] = { "FIADD", "FIMUL", "FICOM", "FICOMP", "FISUB", "FISUBR",
	    "FIDIV", "FIDIVR" };
	static const char *const rmn[8] = { "FADD", "FMUL", "", "", "FSUBR", "FSUB", "FDIVR",
	    "FDIV" };
	static const char *const pmn[8] = { "FADDP", "FMULP", "", "", "FSUBRP", "FSUBP", "FDIVRP",
	    "FDIVP" };
	char n[48];
	for (int d = 0; d < 8; d++) {
		snprintf(n, sizeof(n), "%s m32fp", mn[d]);
		x87_mem(0xD8, d, n, 4, FP_F32, K_PLAIN);
		snprintf(n, sizeof(n), "%s m64fp", mn[d]);
		x87_mem(0xDC, d, n, 8, FP_F64, K_PLAIN);
		snprintf(n, sizeof(n), "%s m32int", imn[d]);
		x87_mem(0xDA, d, n, 4, FP_RAW, K_PLAIN);
		snprintf(n, sizeof(n), "%s m16int", imn[d]);
		x87_mem(0xDE, d, n, 2, FP_RAW, K_PLAIN);
		snprintf(n, sizeof(n), "%s ST0,ST(i)", mn[d]);
		x87_reg(0xD8, d, n);
		if (d == 2 || d == 3)
			continue;
		snprintf(n, sizeof(n), "%s ST(i),ST0", rmn[d]);
		x87_reg(0xDC, d, n);
		snprintf(n, sizeof(n), "%s ST(i),ST0", pmn[d]);
		x87_reg(0xDE, d, n);
	}
	x87_fixed(0xDE, 0xD9, "FCOMPP");
	x87_fixed(0xDA, 0xE9, "FUCOMPP");
}

static void loads_stores(void)
{
	static const struct { uint8_t op; int dig; const char *mn; uint8_t size, fp; } m[] = {
		{ 0xD9, 0, "FLD m32fp", 4, FP_F32 }, { 0xD9, 2, "FST m32fp", 4, FP_F32 },
		{ 0xD9, 3, "FSTP m32fp", 4, FP_F32 }, { 0xDD, 0, "FLD m64fp", 8, FP_F64 },
		{ 0xDD, 2, "FST m64fp", 8, FP_F64 }, { 0xDD, 3, "FSTP m64fp", 8, FP_F64 },
		{ 0xDB, 5, "FLD m80fp", 10, FP_F80 }, { 0xDB, 7, "FSTP m80fp", 10, FP_F80 },
		{ 0xDF, 0, "FILD m16int", 2, FP_RAW }, { 0xDB, 0, "FILD m32int", 4, FP_RAW },
		{ 0xDF, 5, "FILD m64int", 8, FP_RAW }, { 0xDF, 2, "FIST m16int", 2, FP_RAW },
		{ 0xDB, 2, "FIST m32int", 4, FP_RAW }, { 0xDF, 3, "FISTP m16int", 2, FP_RAW },
		{ 0xDB, 3, "FISTP m32int", 4, FP_RAW }, { 0xDF, 7, "FISTP m64int", 8, FP_RAW },
		{ 0xDF, 4, "FBLD m80bcd", 10, FP_BCD }, { 0xDF, 6, "FBSTP m80bcd", 10, FP_BCD },
		{ 0xD9, 7, "FNSTCW m16", 2, FP_RAW }, { 0xDD, 7, "FNSTSW m16", 2, FP_RAW },
	};
	for (unsigned i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		x87_mem(m[i].op, m[i].dig, m[i].mn, m[i].size, m[i].fp, K_PLAIN);
	x87_mem(0xD9, 5, "FLDCW m16", 2, FP_RAW, K_SETFPU);
	x87_reg(0xD9, 0, "FLD ST(i)");
	x87_reg(0xD9, 1, "FXCH ST(i)");
	x87_reg(0xDD, 0, "FFREE ST(i)");
	x87_reg(0xDD, 2, "FST ST(i)");
	x87_reg(0xDD, 3, "FSTP ST(i)");
	x87_fixed(0xDF, 0xE0, "FNSTSW AX");
}

/* FLDENV/FNSTENV/FRSTOR/FNSAVE in the 32-bit and (0x66) 16-bit formats. */
static void environment(void)
{
	static const struct { int dig; const char *mn; uint8_t size32, size16,
	    kind; bool ptrs; } e[] = {
		{ 4, "FLDENV", 28, 14, K_SETFPU, false }, { 6, "FNSTENV", 28, 14, K_PLAIN, true },
	};
	static const struct { int dig; const char *mn; uint8_t size32, size16,
	    kind; bool ptrs; } s[] = {
		{ 4, "FRSTOR", 108, 94, K_SETFPU, false }, { 6, "FNSAVE", 108, 94, K_PLAIN, true },
	};
	for (int o16 = 0; o16 < 2; o16++)
		for (unsigned i = 0; i < 2; i++) {
			for (int which = 0; which < 2; which++) {
				struct form *f = x87_base(which ? 0xDD : 0xD9,
				    which ? s[i].dig : e[i].dig);
				const char *mn = which ? s[i].mn : e[i].mn;
				bool ptrs = which ? s[i].ptrs : e[i].ptrs;
				char n[48];
				if (o16)
					f->pfx[f->npfx++] = 0x66;
				f->rm = RM_MEM;
				f->msize = (uint8_t)(o16 ? (which ? s[i].size16 : e[i].size16)
							 : (which ? s[i].size32 : e[i].size32));
				f->kind = which ? s[i].kind : e[i].kind;
				f->align = 1;
				if (ptrs) {   /* FIP, FCS/FOP, FDP, FDS */
					f->mask_off = o16 ? 6 : 12;
					f->mask_len = o16 ? 8 : 16;
				}
				snprintf(n, sizeof(n), "%s %s mem", mn,
				    o16 ? "m14/94 o16" : "m28/108");
				forms_variants(f, V_PLAIN | (o16 ? V_FS : V_A16), n);
			}
		}
}

static void misc(void)
{
	static const char *const cmov[8] = { "FCMOVB", "FCMOVE", "FCMOVBE", "FCMOVU",
					     "FCMOVNB", "FCMOVNE", "FCMOVNBE", "FCMOVNU" };
	for (int d = 0; d < 4; d++) {
		x87_reg(0xDA, d, cmov[d]);
		x87_reg(0xDB, d, cmov[4 + d]);
	}
	x87_reg(0xDB, 5, "FUCOMI ST0,ST(i)");
	x87_reg(0xDB, 6, "FCOMI ST0,ST(i)");
	x87_reg(0xDF, 5, "FUCOMIP ST0,ST(i)");
	x87_reg(0xDF, 6, "FCOMIP ST0,ST(i)");
	x87_reg(0xDD, 4, "FUCOM ST(i)");
	x87_reg(0xDD, 5, "FUCOMP ST(i)");
	static const char *const d9[32] = {
		"FCHS", "FABS", NULL, NULL, "FTST", "FXAM", NULL, NULL,
		"FLD1", "FLDL2T", "FLDL2E", "FLDPI", "FLDLG2", "FLDLN2", "FLDZ", NULL,
		"F2XM1", "FYL2X", "FPTAN", "FPATAN", "FXTRACT", "FPREM1", "FDECSTP", "FINCSTP",
		"FPREM", "FYL2XP1", "FSQRT", "FSINCOS", "FRNDINT", "FSCALE", "FSIN", "FCOS",
	};
	for (unsigned i = 0; i < 32; i++)
		if (d9[i])
			x87_fixed(0xD9, (uint8_t)(0xE0 + i), d9[i]);
	x87_fixed(0xD9, 0xD0, "FNOP");
	x87_fixed(0xDB, 0xE2, "FNCLEX");
	x87_fixed(0xDB, 0xE3, "FNINIT");
	struct form *f = form_new("x87");
	f->op[0] = 0x9B;
	f->nop = 1;
	form_finish(f, "FWAIT");
}

/* A pending unmasked exception: the next waiting x87 instruction raises #MF. */
static void pending(void)
{
	struct form *f = x87_base(0xD8, 0);
	f->rm = RM_REG;
	f->fpu_pending = true;
	form_finish(f, "FADD ST0,ST(i) reg pending#MF");
	f = form_new("x87");
	f->op[0] = 0x9B;
	f->nop = 1;
	f->fpu_pending = true;
	form_finish(f, "FWAIT pending#MF");
	f = form_new("x87");
	f->op[0] = 0xDB;
	f->op[1] = 0xE2;
	f->nop = 2;
	f->fpu_pending = true;
	form_finish(f, "FNCLEX pending#MF (no fault)");
}

static void fxsr(void)
{
	struct form *f = form_new("x87");
	f->op[0] = 0x0F;
	f->op[1] = 0xAE;
	f->nop = 2;
	f->ext = 0;
	f->rm = RM_MEM;
	f->msize = 512;
	f->align = 16;
	f->mask_off = 6;     /* FOP, FIP, FCS, FDP, FDS */
	f->mask_len = 18;
	forms_variants(f, V_PLAIN | V_FS, "FXSAVE m512 mem");
	f->ext = 1;
	f->kind = K_FXRSTOR;
	f->mask_len = 0;
	f->mask_off = 0;
	forms_variants(f, V_PLAIN | V_A16, "FXRSTOR m512 mem");
}

void forms_x87(void)
{
	arith();
	loads_stores();
	environment();
	misc();
	pending();
	fxsr();
}
