/*
 * forms_int.c - templates for the IA-32 integer instructions (no privilege needed):
 * arithmetic and logic, shifts and rotates, multiply and divide, bit operations, SETcc,
 * CMOVcc, moves and exchanges, the atomic forms, flag instructions, BCD, stack operations,
 * branches, XLAT and the string instructions.
 *
 * A family (struct fam) is one opcode with its operand pattern; fam() expands it into the
 * operand sizes it exists in (o32 and, with 0x66, o16), a register form and the memory
 * variants of forms.c.  Undefined-flag masks follow the SDM's "Flags Affected" sections.
 * Left out on purpose: instructions in the monitor's sensitive table other than the BCD
 * group and PUSHA/POPA/BOUND/SALC (issue 4 item 2 tests those: PUSHF/POPF, segment loads,
 * INT/INTO/IRET, far transfers, IN/OUT, CPUID, RDTSC...), 0x66 near branches (they
 * truncate EIP to 16 bits) and F3 0F BC/BD (TZCNT/LZCNT on this host, BSF/BSR for the
 * guest's i686 CPUID).
 */
#include <stdio.h>
#include <string.h>
#include "forms.h"
#include "isa.h"
#include "monitor/vmm.h"

enum { SZ_B = 1, SZ_V, SZ_D, SZ_W };              /* operand sizes of a family */
enum { I0, IB, IZ, IW, IENTER };                  /* immediate of a family */
enum { F_REG = 1, F_MEM = 2, F_BOTH = 3 };

#define U_LOGIC ISA_FL_AF
#define U_MUL (ISA_FL_SF | ISA_FL_ZF | ISA_FL_AF | ISA_FL_PF)
#define U_DIV ISA_FL_ARITH
#define U_BT (ISA_FL_OF | ISA_FL_SF | ISA_FL_AF | ISA_FL_PF)
#define U_BSF (ISA_FL_CF | ISA_FL_OF | ISA_FL_SF | ISA_FL_AF | ISA_FL_PF)

struct fam {
	const char *mn, *ops;
	uint8_t op[2];        /* one opcode byte, or 0F and a second one */
	uint8_t dig;          /* /digit + 1, or 0 for a random ModRM.reg */
	uint8_t sz, imm, rms;
	unsigned vars;        /* memory variants (RM_NONE: environment variants) */
	uint8_t kind, sub;
	uint16_t undef;
	uint8_t msize;        /* memory operand bytes if not the operand size (MS_2X: twice) */
	uint8_t avoid;
	bool opreg, esprel;
};
#define MS_2X 0xFF
#define FAM(...) fam(&(struct fam){ __VA_ARGS__ })
#define D(n) ((n) + 1)

static unsigned imm_bytes(unsigned imm, unsigned osz)
{
	switch (imm) {
	case IB: return 1;
	case IZ: return osz == 2 ? 2 : 4;
	case IW: return 2;
	case IENTER: return 3;
	default: return 0;
	}
}

static void fam_size(const struct fam *t, unsigned osz, bool o16_tag)
{
	struct form *f = form_new(t->kind == K_BCD ? "bcd" : t->kind == K_STRING ? "string" : "int");
	char name[64];
	if (o16_tag)
		f->pfx[f->npfx++] = 0x66;
	f->nop = t->op[0] == 0x0F ? 2 : 1;
	memcpy(f->op, t->op, f->nop);
	f->ext = (int8_t)(t->dig ? t->dig - 1 : -1);
	f->osize = (uint8_t)osz;
	f->imm = (uint8_t)imm_bytes(t->imm, osz);
	f->kind = t->kind;
	f->sub = t->sub;
	f->undef = t->undef;
	f->avoid = t->avoid;
	f->opreg = t->opreg;
	f->esp_rel = t->esprel;
	f->msize = (uint8_t)(t->msize == MS_2X ? 2 * osz : t->msize ? t->msize : osz);
	snprintf(name, sizeof(name), "%s%s%s%s", t->mn, *t->ops ? " " : "", t->ops,
		 o16_tag ? " o16" : "");
	if (!t->rms) {
		f->rm = RM_NONE;
		forms_variants(f, t->vars ? t->vars : V_PLAIN, name);
		return;
	}
	if (t->rms & F_REG) {
		f->rm = RM_REG;
		form_finish(f, "%s reg", name);
	}
	if (t->rms & F_MEM) {
		char mname[72];
		snprintf(mname, sizeof(mname), "%s mem", name);
		f->rm = RM_MEM;
		forms_variants(f, t->vars ? t->vars : V_STD, mname);
	}
}

static void fam(const struct fam *t)
{
	if (t->sz == SZ_B)
		fam_size(t, 1, false);
	else if (t->sz == SZ_W)
		fam_size(t, 2, true);
	else
		fam_size(t, 4, false);
	if (t->sz == SZ_V)
		fam_size(t, 2, true);
}

static void alu(void)
{
	static const char *const mn[8] = { "ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP" };
	for (uint8_t i = 0; i < 8; i++) {
		uint16_t u = (i == 1 || i == 4 || i == 6) ? U_LOGIC : 0;
		unsigned lk = i == 7 ? V_STD : V_STD | V_LOCK, lim = i == 0 ? V_LIM : 0;
		uint8_t b = (uint8_t)(8 * i);
		FAM(.mn = mn[i], .ops = "Eb,Gb", .op = { b }, .sz = SZ_B, .rms = F_BOTH, .vars = lk,
		    .undef = u);
		FAM(.mn = mn[i], .ops = "Ev,Gv", .op = { b + 1 }, .sz = SZ_V, .rms = F_BOTH,
		    .vars = lk | lim, .undef = u);
		FAM(.mn = mn[i], .ops = "Gb,Eb", .op = { b + 2 }, .sz = SZ_B, .rms = F_BOTH,
		    .undef = u);
		FAM(.mn = mn[i], .ops = "Gv,Ev", .op = { b + 3 }, .sz = SZ_V, .rms = F_BOTH,
		    .vars = V_STD | lim, .undef = u);
		FAM(.mn = mn[i], .ops = "AL,Ib", .op = { b + 4 }, .sz = SZ_B, .imm = IB,
		    .undef = u);
		FAM(.mn = mn[i], .ops = "eAX,Iz", .op = { b + 5 }, .sz = SZ_V, .imm = IZ,
		    .undef = u);
		FAM(.mn = mn[i], .ops = "Eb,Ib", .op = { 0x80 }, .dig = D(i), .sz = SZ_B, .imm = IB,
		    .rms = F_BOTH, .vars = lk, .undef = u);
		FAM(.mn = mn[i], .ops = "Ev,Iz", .op = { 0x81 }, .dig = D(i), .sz = SZ_V, .imm = IZ,
		    .rms = F_BOTH, .vars = lk, .undef = u);
		FAM(.mn = mn[i], .ops = "Ev,Ib", .op = { 0x83 }, .dig = D(i), .sz = SZ_V, .imm = IB,
		    .rms = F_BOTH, .vars = lk, .undef = u);
		FAM(.mn = mn[i], .ops = "Eb,Ib (82)", .op = { 0x82 }, .dig = D(i), .sz = SZ_B,
		    .imm = IB, .rms = F_BOTH, .vars = V_PLAIN | V_FS, .undef = u);
	}
}

static void unary_and_test(void)
{
	FAM(.mn = "TEST", .ops = "Eb,Gb", .op = { 0x84 }, .sz = SZ_B, .rms = F_BOTH,
	    .undef = U_LOGIC);
	FAM(.mn = "TEST", .ops = "Ev,Gv", .op = { 0x85 }, .sz = SZ_V, .rms = F_BOTH,
	    .undef = U_LOGIC);
	FAM(.mn = "TEST", .ops = "AL,Ib", .op = { 0xA8 }, .sz = SZ_B, .imm = IB, .undef = U_LOGIC);
	FAM(.mn = "TEST", .ops = "eAX,Iz", .op = { 0xA9 }, .sz = SZ_V, .imm = IZ, .undef = U_LOGIC);
	FAM(.mn = "TEST", .ops = "Eb,Ib", .op = { 0xF6 }, .dig = D(0), .sz = SZ_B, .imm = IB,
	    .rms = F_BOTH, .undef = U_LOGIC);
	FAM(.mn = "TEST", .ops = "Ev,Iz", .op = { 0xF7 }, .dig = D(0), .sz = SZ_V, .imm = IZ,
	    .rms = F_BOTH, .undef = U_LOGIC);
	FAM(.mn = "TEST", .ops = "Eb,Ib (F6 /1)", .op = { 0xF6 }, .dig = D(1), .sz = SZ_B,
	    .imm = IB, .rms = F_REG, .undef = U_LOGIC);
	static const char *const un[4] = { "INC", "DEC", "NOT", "NEG" };
	static const uint8_t dg[4] = { 0, 1, 2, 3 }, opb[4] = { 0xFE, 0xFE, 0xF6, 0xF6 };
	for (unsigned i = 0; i < 4; i++) {
		FAM(.mn = un[i], .ops = "Eb", .op = { opb[i] }, .dig = D(dg[i]), .sz = SZ_B,
		    .rms = F_BOTH, .vars = V_STD | V_LOCK);
		FAM(.mn = un[i], .ops = "Ev", .op = { (uint8_t)(opb[i] + 1) }, .dig = D(dg[i]),
		    .sz = SZ_V, .rms = F_BOTH, .vars = V_STD | V_LOCK | (i == 0 ? V_LIM : 0));
	}
	FAM(.mn = "INC", .ops = "Zv", .op = { 0x40 }, .sz = SZ_V, .opreg = true);
	FAM(.mn = "DEC", .ops = "Zv", .op = { 0x48 }, .sz = SZ_V, .opreg = true);
}

static void muldiv(void)
{
	static const char *const mn[4] = { "MUL", "IMUL", "DIV", "IDIV" };
	for (uint8_t i = 0; i < 4; i++) {
		uint8_t k = i < 2 ? K_PLAIN : K_DIV;
		uint16_t u = i < 2 ? U_MUL : U_DIV;
		FAM(.mn = mn[i], .ops = "Eb", .op = { 0xF6 }, .dig = D(4 + i), .sz = SZ_B,
		    .rms = F_BOTH, .kind = k, .sub = i & 1, .undef = u);
		FAM(.mn = mn[i], .ops = "Ev", .op = { 0xF7 }, .dig = D(4 + i), .sz = SZ_V,
		    .rms = F_BOTH, .kind = k, .sub = i & 1, .undef = u);
	}
	FAM(.mn = "IMUL", .ops = "Gv,Ev", .op = { 0x0F, 0xAF }, .sz = SZ_V, .rms = F_BOTH,
	    .undef = U_MUL);
	FAM(.mn = "IMUL", .ops = "Gv,Ev,Iz", .op = { 0x69 }, .sz = SZ_V, .imm = IZ, .rms = F_BOTH,
	    .undef = U_MUL);
	FAM(.mn = "IMUL", .ops = "Gv,Ev,Ib", .op = { 0x6B }, .sz = SZ_V, .imm = IB, .rms = F_BOTH,
	    .undef = U_MUL);
}

static void shifts(void)
{
	static const char *const mn[8] = { "ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAL(/6)",
	    "SAR" };
	for (uint8_t i = 0; i < 8; i++) {
		unsigned v = i == 6 ? V_PLAIN : V_STD;
		FAM(.mn = mn[i], .ops = "Eb,Ib", .op = { 0xC0 }, .dig = D(i), .sz = SZ_B, .imm = IB,
		    .rms = F_BOTH, .vars = v, .kind = K_SHIFT, .sub = i);
		FAM(.mn = mn[i], .ops = "Ev,Ib", .op = { 0xC1 }, .dig = D(i), .sz = SZ_V, .imm = IB,
		    .rms = F_BOTH, .vars = v, .kind = K_SHIFT, .sub = i);
		FAM(.mn = mn[i], .ops = "Eb,1", .op = { 0xD0 }, .dig = D(i), .sz = SZ_B,
		    .rms = F_BOTH, .vars = v, .kind = K_SHIFT, .sub = i);
		FAM(.mn = mn[i], .ops = "Ev,1", .op = { 0xD1 }, .dig = D(i), .sz = SZ_V,
		    .rms = F_BOTH, .vars = v, .kind = K_SHIFT, .sub = i);
		FAM(.mn = mn[i], .ops = "Eb,CL", .op = { 0xD2 }, .dig = D(i), .sz = SZ_B,
		    .rms = F_BOTH, .vars = v, .kind = K_SHIFT, .sub = i);
		FAM(.mn = mn[i], .ops = "Ev,CL", .op = { 0xD3 }, .dig = D(i), .sz = SZ_V,
		    .rms = F_BOTH, .vars = v, .kind = K_SHIFT, .sub = i);
	}
	FAM(.mn = "SHLD", .ops = "Ev,Gv,Ib", .op = { 0x0F, 0xA4 }, .sz = SZ_V, .imm = IB,
	    .rms = F_BOTH, .kind = K_SHIFT, .sub = SH_SHLD);
	FAM(.mn = "SHLD", .ops = "Ev,Gv,CL", .op = { 0x0F, 0xA5 }, .sz = SZ_V, .rms = F_BOTH,
	    .kind = K_SHIFT, .sub = SH_SHLD);
	FAM(.mn = "SHRD", .ops = "Ev,Gv,Ib", .op = { 0x0F, 0xAC }, .sz = SZ_V, .imm = IB,
	    .rms = F_BOTH, .kind = K_SHIFT, .sub = SH_SHRD);
	FAM(.mn = "SHRD", .ops = "Ev,Gv,CL", .op = { 0x0F, 0xAD }, .sz = SZ_V, .rms = F_BOTH,
	    .kind = K_SHIFT, .sub = SH_SHRD);
}

static void bits(void)
{
	static const char *const mn[4] = { "BT", "BTS", "BTR", "BTC" };
	static const uint8_t opb[4] = { 0xA3, 0xAB, 0xB3, 0xBB };
	for (uint8_t i = 0; i < 4; i++) {
		unsigned lk = i ? V_STD | V_LOCK : V_STD;
		FAM(.mn = mn[i], .ops = "Ev,Gv", .op = { 0x0F, opb[i] }, .sz = SZ_V, .rms = F_BOTH,
		    .vars = lk, .kind = K_BT, .undef = U_BT);
		FAM(.mn = mn[i], .ops = "Ev,Ib", .op = { 0x0F, 0xBA }, .dig = D(4 + i), .sz = SZ_V,
		    .imm = IB, .rms = F_BOTH, .vars = lk, .undef = U_BT);
	}
	FAM(.mn = "BSF", .ops = "Gv,Ev", .op = { 0x0F, 0xBC }, .sz = SZ_V, .rms = F_BOTH,
	    .undef = U_BSF);
	FAM(.mn = "BSR", .ops = "Gv,Ev", .op = { 0x0F, 0xBD }, .sz = SZ_V, .rms = F_BOTH,
	    .undef = U_BSF);
	static const char *const cc[16] = { "O", "NO", "B", "AE", "E", "NE", "BE", "A",
					    "S", "NS", "P", "NP", "L", "GE", "LE", "G" };
	char mn_set[16][8], mn_cmov[16][8];
	for (uint8_t i = 0; i < 16; i++) {
		snprintf(mn_set[i], sizeof(mn_set[i]), "SET%s", cc[i]);
		snprintf(mn_cmov[i], sizeof(mn_cmov[i]), "CMOV%s", cc[i]);
		FAM(.mn = mn_set[i], .ops = "Eb", .op = { 0x0F, (uint8_t)(0x90 + i) }, .dig = D(0),
		    .sz = SZ_B, .rms = F_BOTH);
		FAM(.mn = mn_cmov[i], .ops = "Gv,Ev", .op = { 0x0F, (uint8_t)(0x40 + i) },
		    .sz = SZ_V, .rms = F_BOTH);
	}
}

static void moves(void)
{
	FAM(.mn = "MOV", .ops = "Eb,Gb", .op = { 0x88 }, .sz = SZ_B, .rms = F_BOTH,
	    .vars = V_STD | V_LIM);
	FAM(.mn = "MOV", .ops = "Ev,Gv", .op = { 0x89 }, .sz = SZ_V, .rms = F_BOTH,
	    .vars = V_STD | V_GS | V_NONFLAT | V_ES | V_SS | V_DS | V_CS | V_LIM);
	FAM(.mn = "MOV", .ops = "Gb,Eb", .op = { 0x8A }, .sz = SZ_B, .rms = F_BOTH,
	    .vars = V_STD | V_LIM);
	FAM(.mn = "MOV", .ops = "Gv,Ev", .op = { 0x8B }, .sz = SZ_V, .rms = F_BOTH,
	    .vars = V_STD | V_GS | V_NONFLAT | V_ES | V_SS | V_DS | V_CS | V_LIM);
	FAM(.mn = "MOV", .ops = "Eb,Ib", .op = { 0xC6 }, .dig = D(0), .sz = SZ_B, .imm = IB,
	    .rms = F_BOTH);
	FAM(.mn = "MOV", .ops = "Ev,Iz", .op = { 0xC7 }, .dig = D(0), .sz = SZ_V, .imm = IZ,
	    .rms = F_BOTH, .vars = V_STD | V_LIM);
	FAM(.mn = "MOV", .ops = "Zb,Ib", .op = { 0xB0 }, .sz = SZ_B, .imm = IB, .opreg = true);
	FAM(.mn = "MOV", .ops = "Zv,Iz", .op = { 0xB8 }, .sz = SZ_V, .imm = IZ, .opreg = true);
	unsigned mv = V_PLAIN | V_FS | V_GS | V_A16 | V_NONFLAT | V_ES | V_LIM;
	FAM(.mn = "MOV", .ops = "AL,Ob", .op = { 0xA0 }, .sz = SZ_B, .vars = mv, .kind = K_MOFFS);
	FAM(.mn = "MOV", .ops = "eAX,Ov", .op = { 0xA1 }, .sz = SZ_V, .vars = mv, .kind = K_MOFFS);
	FAM(.mn = "MOV", .ops = "Ob,AL", .op = { 0xA2 }, .sz = SZ_B, .vars = mv, .kind = K_MOFFS);
	FAM(.mn = "MOV", .ops = "Ov,eAX", .op = { 0xA3 }, .sz = SZ_V, .vars = mv, .kind = K_MOFFS);
	FAM(.mn = "MOVZX", .ops = "Gv,Eb", .op = { 0x0F, 0xB6 }, .sz = SZ_V, .rms = F_BOTH,
	    .msize = 1, .vars = V_STD | V_LIM);
	FAM(.mn = "MOVZX", .ops = "Gv,Ew", .op = { 0x0F, 0xB7 }, .sz = SZ_V, .rms = F_BOTH,
	    .msize = 2);
	FAM(.mn = "MOVSX", .ops = "Gv,Eb", .op = { 0x0F, 0xBE }, .sz = SZ_V, .rms = F_BOTH,
	    .msize = 1);
	FAM(.mn = "MOVSX", .ops = "Gv,Ew", .op = { 0x0F, 0xBF }, .sz = SZ_V, .rms = F_BOTH,
	    .msize = 2);
	FAM(.mn = "LEA", .ops = "Gv,M", .op = { 0x8D }, .sz = SZ_V, .rms = F_MEM,
	    .vars = V_PLAIN | V_FS | V_A16, .kind = K_LEA);
	FAM(.mn = "XCHG", .ops = "Eb,Gb", .op = { 0x86 }, .sz = SZ_B, .rms = F_BOTH,
	    .vars = V_STD | V_LOCK);
	FAM(.mn = "XCHG", .ops = "Ev,Gv", .op = { 0x87 }, .sz = SZ_V, .rms = F_BOTH,
	    .vars = V_STD | V_LOCK);
	FAM(.mn = "XCHG", .ops = "eAX,Zv", .op = { 0x90 }, .sz = SZ_V, .opreg = true);
	FAM(.mn = "XADD", .ops = "Eb,Gb", .op = { 0x0F, 0xC0 }, .sz = SZ_B, .rms = F_BOTH,
	    .vars = V_STD | V_LOCK);
	FAM(.mn = "XADD", .ops = "Ev,Gv", .op = { 0x0F, 0xC1 }, .sz = SZ_V, .rms = F_BOTH,
	    .vars = V_STD | V_LOCK);
	FAM(.mn = "CMPXCHG", .ops = "Eb,Gb", .op = { 0x0F, 0xB0 }, .sz = SZ_B, .rms = F_BOTH,
	    .vars = V_STD | V_LOCK, .kind = K_CMPXCHG);
	FAM(.mn = "CMPXCHG", .ops = "Ev,Gv", .op = { 0x0F, 0xB1 }, .sz = SZ_V, .rms = F_BOTH,
	    .vars = V_STD | V_LOCK, .kind = K_CMPXCHG);
	FAM(.mn = "CMPXCHG8B", .ops = "Mq", .op = { 0x0F, 0xC7 }, .dig = D(1), .sz = SZ_D,
	    .rms = F_MEM, .vars = V_STD | V_LOCK | V_LIM, .kind = K_CMPXCHG8B, .msize = 8);
	FAM(.mn = "BSWAP", .ops = "Zd", .op = { 0x0F, 0xC8 }, .sz = SZ_D, .opreg = true);
	FAM(.mn = "NOP", .ops = "Ev (0F 1F)", .op = { 0x0F, 0x1F }, .dig = D(0), .sz = SZ_V,
	    .rms = F_BOTH, .vars = V_PLAIN | V_FS);
}

static void flagops(void)
{
	static const struct { const char *mn; uint8_t op; uint8_t sz; } t[] = {
		{ "CBW/CWDE", 0x98, SZ_V }, { "CWD/CDQ", 0x99, SZ_V }, { "LAHF", 0x9F, SZ_D },
		{ "SAHF", 0x9E, SZ_D }, { "CLC", 0xF8, SZ_D }, { "STC", 0xF9, SZ_D },
		{ "CMC", 0xF5, SZ_D }, { "CLD", 0xFC, SZ_D }, { "STD", 0xFD, SZ_D },
		{ "NOP", 0x90, SZ_D }, { "SALC", 0xD6, SZ_D },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		FAM(.mn = t[i].mn, .ops = "", .op = { t[i].op }, .sz = t[i].sz);
	FAM(.mn = "UD2", .ops = "", .op = { 0x0F, 0x0B }, .sz = SZ_D);
	FAM(.mn = "DAA", .ops = "", .op = { 0x27 }, .sz = SZ_D, .kind = K_BCD, .undef = ISA_FL_OF);
	FAM(.mn = "DAS", .ops = "", .op = { 0x2F }, .sz = SZ_D, .kind = K_BCD, .undef = ISA_FL_OF);
	FAM(.mn = "AAA", .ops = "", .op = { 0x37 }, .sz = SZ_D, .kind = K_BCD,
	    .undef = ISA_FL_OF | ISA_FL_SF | ISA_FL_ZF | ISA_FL_PF);
	FAM(.mn = "AAS", .ops = "", .op = { 0x3F }, .sz = SZ_D, .kind = K_BCD,
	    .undef = ISA_FL_OF | ISA_FL_SF | ISA_FL_ZF | ISA_FL_PF);
	FAM(.mn = "AAM", .ops = "Ib", .op = { 0xD4 }, .sz = SZ_D, .imm = IB, .kind = K_BCD,
	    .undef = ISA_FL_OF | ISA_FL_AF | ISA_FL_CF);
	FAM(.mn = "AAD", .ops = "Ib", .op = { 0xD5 }, .sz = SZ_D, .imm = IB, .kind = K_BCD,
	    .undef = ISA_FL_OF | ISA_FL_AF | ISA_FL_CF);
}

/* LOCK where the SDM says #UD: register destinations and non-RMW instructions. */
static void lock_ud(void)
{
	static const struct { const char *n; uint8_t op, modrm; } t[] = {
		{ "LOCK ADD Ev,Gv reg (#UD)", 0x01, 0xC8 }, { "LOCK XCHG Ev,Gv reg (#UD)", 0x87,
		    0xD1 },
		{ "LOCK MOV Ev,Gv mem (#UD)", 0x89, 0x03 }, { "LOCK CMP Ev,Gv mem (#UD)", 0x39,
		    0x03 },
		{ "LOCK INC Ev reg (#UD)", 0xFF, 0xC0 },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct form *f = form_new("int");
		f->pfx[f->npfx++] = 0xF0;
		f->op[0] = t[i].op;
		f->op[1] = t[i].modrm;   /* fixed ModRM: [ebx] or a register */
		f->nop = 2;
		form_finish(f, "%s", t[i].n);
	}
}

static void stack(void)
{
	unsigned nv = V_PLAIN | V_NONFLAT;
	FAM(.mn = "PUSH", .ops = "Zv", .op = { 0x50 }, .sz = SZ_V, .vars = nv, .kind = K_STACK,
	    .sub = STK_PUSH, .opreg = true);
	FAM(.mn = "POP", .ops = "Zv", .op = { 0x58 }, .sz = SZ_V, .vars = nv, .kind = K_STACK,
	    .sub = STK_POP, .opreg = true);
	FAM(.mn = "PUSH", .ops = "Ib", .op = { 0x6A }, .sz = SZ_V, .imm = IB, .vars = nv,
	    .kind = K_STACK, .sub = STK_PUSH);
	FAM(.mn = "PUSH", .ops = "Iz", .op = { 0x68 }, .sz = SZ_V, .imm = IZ, .vars = nv,
	    .kind = K_STACK, .sub = STK_PUSH);
	FAM(.mn = "PUSH", .ops = "Ev", .op = { 0xFF }, .dig = D(6), .sz = SZ_V, .rms = F_BOTH,
	    .vars = V_STD | V_LIM, .kind = K_STACK, .sub = STK_PUSH, .avoid = 1u << R_ESP);
	FAM(.mn = "POP", .ops = "Ev", .op = { 0x8F }, .dig = D(0), .sz = SZ_V, .rms = F_BOTH,
	    .vars = V_STD | V_LIM, .kind = K_STACK, .sub = STK_POP, .avoid = 1u << R_ESP);
	/* [esp+disp8]: PUSH and CALL use ESP before the push, POP after the pop */
	FAM(.mn = "PUSH", .ops = "Ev [esp+d8]", .op = { 0xFF }, .dig = D(6), .sz = SZ_V, .rms = F_MEM,
	    .vars = nv, .kind = K_STACK, .sub = STK_PUSH, .esprel = true);
	FAM(.mn = "POP", .ops = "Ev [esp+d8]", .op = { 0x8F }, .dig = D(0), .sz = SZ_V, .rms = F_MEM,
	    .vars = nv, .kind = K_STACK, .sub = STK_POP, .esprel = true);
	FAM(.mn = "CALL", .ops = "Ev [esp+d8]", .op = { 0xFF }, .dig = D(2), .sz = SZ_D, .rms = F_MEM,
	    .vars = nv, .kind = K_STACK, .sub = STK_CALL_IND, .esprel = true);
	FAM(.mn = "PUSHA", .ops = "", .op = { 0x60 }, .sz = SZ_V, .vars = nv, .kind = K_STACK,
	    .sub = STK_PUSHA);
	FAM(.mn = "POPA", .ops = "", .op = { 0x61 }, .sz = SZ_V, .vars = nv, .kind = K_STACK,
	    .sub = STK_POPA);
	FAM(.mn = "ENTER", .ops = "Iw,Ib", .op = { 0xC8 }, .sz = SZ_V, .imm = IENTER, .vars = nv,
	    .kind = K_STACK, .sub = STK_ENTER);
	FAM(.mn = "LEAVE", .ops = "", .op = { 0xC9 }, .sz = SZ_V, .vars = nv, .kind = K_STACK,
	    .sub = STK_LEAVE);
	FAM(.mn = "BOUND", .ops = "Gv,Ma", .op = { 0x62 }, .sz = SZ_V, .rms = F_MEM,
	    .kind = K_BOUND, .msize = MS_2X);
}

static void branches(void)
{
	static const char *const cc[16] = { "JO", "JNO", "JB", "JAE", "JE", "JNE", "JBE", "JA",
					    "JS", "JNS", "JP", "JNP", "JL", "JGE", "JLE", "JG" };
	for (uint8_t i = 0; i < 16; i++) {
		FAM(.mn = cc[i], .ops = "Jb", .op = { (uint8_t)(0x70 + i) }, .sz = SZ_D, .imm = IB,
		    .kind = K_BRANCH, .sub = BR_REL);
		FAM(.mn = cc[i], .ops = "Jz", .op = { 0x0F, (uint8_t)(0x80 + i) }, .sz = SZ_D,
		    .imm = IZ, .kind = K_BRANCH, .sub = BR_REL);
	}
	FAM(.mn = "JMP", .ops = "Jb", .op = { 0xEB }, .sz = SZ_D, .imm = IB, .kind = K_BRANCH,
	    .sub = BR_REL);
	FAM(.mn = "JMP", .ops = "Jz", .op = { 0xE9 }, .sz = SZ_D, .imm = IZ, .kind = K_BRANCH,
	    .sub = BR_REL);
	FAM(.mn = "JMP", .ops = "Ev", .op = { 0xFF }, .dig = D(4), .sz = SZ_D, .rms = F_BOTH,
	    .kind = K_BRANCH, .sub = BR_IND);
	FAM(.mn = "CALL", .ops = "Jz", .op = { 0xE8 }, .sz = SZ_D, .imm = IZ,
	    .vars = V_PLAIN | V_NONFLAT, .kind = K_STACK, .sub = STK_CALL);
	FAM(.mn = "CALL", .ops = "Ev", .op = { 0xFF }, .dig = D(2), .sz = SZ_D, .rms = F_BOTH,
	    .kind = K_STACK, .sub = STK_CALL_IND, .avoid = 1u << R_ESP);
	FAM(.mn = "RET", .ops = "", .op = { 0xC3 }, .sz = SZ_D, .vars = V_PLAIN | V_NONFLAT,
	    .kind = K_STACK, .sub = STK_RET);
	FAM(.mn = "RET", .ops = "Iw", .op = { 0xC2 }, .sz = SZ_D, .imm = IW,
	    .vars = V_PLAIN | V_NONFLAT, .kind = K_STACK, .sub = STK_RET_IMM);
	static const char *const lp[4] = { "LOOPNE", "LOOPE", "LOOP", "JECXZ" };
	for (uint8_t i = 0; i < 4; i++)
		FAM(.mn = lp[i], .ops = "Jb", .op = { (uint8_t)(0xE0 + i) }, .sz = SZ_D, .imm = IB,
		    .vars = V_PLAIN | V_A16, .kind = K_BRANCH, .sub = BR_LOOP);
}

static void strings(void)
{
	static const struct { const char *mn; uint8_t op, sub, reps; } t[] = {
		{ "MOVS", 0xA4, STR_MOVS, 2 }, { "CMPS", 0xA6, STR_CMPS, 3 },
		{ "STOS", 0xAA, STR_STOS, 2 }, { "LODS", 0xAC, STR_LODS, 2 },
		{ "SCAS", 0xAE, STR_SCAS, 3 },
	};
	static const char *const rep_name[2][3] = { { "", "REP ", "" }, { "", "REPE ", "REPNE " } };
	static const char sz_name[3] = { 'B', 'W', 'D' };
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (unsigned sz = 0; sz < 3; sz++)
			for (unsigned rep = 0; rep < t[i].reps; rep++)
				for (int df = 0; df < 2; df++) {
					struct form *f = form_new("string");
					char name[48];
					if (rep)
						f->pfx[f->npfx++] = rep == REP_E ? 0xF3 : 0xF2;
					if (sz == 1)
						f->pfx[f->npfx++] = 0x66;
					f->op[0] = (uint8_t)(t[i].op + (sz > 0));
					f->nop = 1;
					f->osize = (uint8_t)(1u << sz);
					f->kind = K_STRING;
					f->sub = t[i].sub;
					f->rep = (uint8_t)rep;
					f->df = (int8_t)df;
					snprintf(name, sizeof(name), "%s%s%c df%d",
						 rep_name[t[i].reps == 3][rep], t[i].mn, sz_name[sz], df);
					forms_variants(f, V_PLAIN | V_FS | V_A16 | V_NONFLAT |
						       (t[i].sub == STR_STOS || t[i].sub == STR_SCAS ? 0 : V_FSLIM),
						       name);
				}
}

/* XLAT: implicit DS:[EBX + AL], with overrides and 16-bit addressing. */
static void xlat(void)
{
	FAM(.mn = "XLAT", .ops = "", .op = { 0xD7 }, .sz = SZ_D, .kind = K_XLAT,
	    .vars = V_PLAIN | V_FS | V_GS | V_ES | V_A16 | V_NONFLAT | V_FSLIM);
}

void forms_int(void)
{
	alu();
	unary_and_test();
	muldiv();
	shifts();
	bits();
	moves();
	flagops();
	lock_ud();
	stack();
	branches();
	strings();
	xlat();
}
