/*
 * st_bcd.c - self test: the BCD adjust instructions DAA DAS AAA AAS AAM AAD (invalid in
 * 64-bit mode, so a translator must emulate them).  A few worked examples, then a sweep over
 * every AL (and CF/AF, and a few AH) against a model written from the pseudo-code in the
 * Intel SDM vol. 2.  Only the flags the SDM defines for each instruction are compared.
 */
#include "selftest.h"

#define ARITH (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_OF)
#define SZP   (EFLAGS_SF | EFLAGS_ZF | EFLAGS_PF)

enum { DAA, DAS, AAA, AAS, AAM10, AAM16, AAM7, AAD10, AAD7 };

/* Execute one instruction with EFLAGS = fl; returns EAX, *flo = EFLAGS after. */
static uint32_t run(int op, uint32_t eax, uint32_t fl, uint32_t *flo)
{
	uint32_t f;
#define RUN(insn) asm volatile("pushl %2\n\tpopfl\n\t" insn "\n\tpushfl\n\tpopl %1" \
			       : "+a"(eax), "=r"(f) : "r"(fl) : "cc")
	switch (op) {
	case DAA:   RUN("daa"); break;
	case DAS:   RUN("das"); break;
	case AAA:   RUN("aaa"); break;
	case AAS:   RUN("aas"); break;
	case AAM10: RUN(".byte 0xD4, 0x0A"); break;
	case AAM16: RUN(".byte 0xD4, 0x10"); break;
	case AAM7:  RUN(".byte 0xD4, 0x07"); break;
	case AAD10: RUN(".byte 0xD5, 0x0A"); break;
	default:    RUN(".byte 0xD5, 0x07"); break;
	}
#undef RUN
	*flo = f;
	return eax;
}

static uint32_t szp(uint8_t v)
{
	uint32_t f = 0, bits = 0;
	for (int i = 0; i < 8; i++)
		bits += (v >> i) & 1;
	if (!(bits & 1))
		f |= EFLAGS_PF;
	if (!v)
		f |= EFLAGS_ZF;
	if (v & 0x80)
		f |= EFLAGS_SF;
	return f;
}

/* The SDM's pseudo-code.  Returns the new EAX; *fl gets the defined flags, *mask says which. */
static uint32_t model(int op, uint32_t eax, uint32_t fin, uint32_t *fl, uint32_t *mask)
{
	uint8_t al = eax & 0xFF, ah = (eax >> 8) & 0xFF, old_al = al;
	int cf = !!(fin & EFLAGS_CF), af = !!(fin & EFLAGS_AF), ncf = 0, naf = 0;
	uint32_t upper = eax & 0xFFFF0000u;
	unsigned base = op == AAM16 ? 16 : (op == AAM7 || op == AAD7) ? 7 : 10;
	switch (op) {
	case DAA:
	case DAS:
		if ((al & 0xF) > 9 || af) {
			ncf = cf || (op == DAA ? al > 0xF9 : al < 6);
			al = op == DAA ? al + 6 : al - 6;
			naf = 1;
		}
		if (old_al > 0x99 || cf) {
			al = op == DAA ? al + 0x60 : al - 0x60;
			ncf = 1;
		} else if (op == DAA) {
			ncf = 0;
		}
		*mask = EFLAGS_CF | EFLAGS_AF | SZP;
		*fl = (ncf ? EFLAGS_CF : 0) | (naf ? EFLAGS_AF : 0) | szp(al);
		return (eax & 0xFFFFFF00u) | al;
	case AAA:
	case AAS: {
		uint16_t ax = (uint16_t)(ah << 8 | al);
		if ((al & 0xF) > 9 || af) {
			if (op == AAA) {
				ax += 0x106;
			} else {
				ax -= 6;
				ax -= 0x100;
			}
			naf = ncf = 1;
		}
		ax &= 0xFF0F;
		*mask = EFLAGS_CF | EFLAGS_AF;
		*fl = ncf ? EFLAGS_CF | EFLAGS_AF : 0;
		return upper | ax;
	}
	case AAM10:
	case AAM16:
	case AAM7:
		ah = al / base;
		al = al % base;
		*mask = SZP;
		*fl = szp(al);
		return upper | (uint32_t)ah << 8 | al;
	default:
		al = (uint8_t)(al + ah * base);
		*mask = SZP;
		*fl = szp(al);
		return upper | al;
	}
}

static const char *const names[] = { "daa", "das", "aaa", "aas", "aam 10", "aam 16", "aam 7",
				     "aad 10", "aad 7" };

/* Sweep one instruction over AL x {CF, AF} x a few AH values. */
static void sweep(int op, const char *name)
{
	static const uint8_t ahs[] = { 0x00, 0x01, 0x09, 0x7F, 0xFF };
	int bad = 0;
	uint32_t first_in = 0, first_fl = 0, got = 0, want = 0;
	for (unsigned h = 0; h < ARRAY_SIZE(ahs); h++)
		for (unsigned al = 0; al < 256; al++)
			for (unsigned cfaf = 0; cfaf < 4; cfaf++) {
				uint32_t in = 0xA5C30000u | (uint32_t)ahs[h] << 8 | al;
				uint32_t fin = 0x2 | ((cfaf & 1) ? EFLAGS_CF : 0) | ((cfaf & 2) ? EFLAGS_AF : 0);
				uint32_t fo, mfl, mask;
				uint32_t r = run(op, in, fin, &fo);
				uint32_t m = model(op, in, fin, &mfl, &mask);
				if (r != m || (fo & mask) != mfl) {
					if (!bad++)
						first_in = in, first_fl = fin, got = r, want = m;
				}
			}
	st_check(!bad, name, "%d mismatches, first %s eax 0x%x flags 0x%x: got 0x%x want 0x%x",
		 bad, names[op], first_in, first_fl, got, want);
}

static void example(const char *name, uint32_t eax_want, uint32_t fl_want, uint32_t mask,
		    uint32_t eax, uint32_t fl)
{
	st_check(eax == eax_want && (fl & mask) == fl_want, name, "eax 0x%x eflags 0x%x", eax, fl);
}

void st_group_bcd(void)
{
	uint32_t a, f;
#define EX(pre, insn, in) \
	a = (in); \
	asm volatile(pre "\n\t" insn "\n\tpushfl\n\tpopl %1" : "+a"(a), "=r"(f) :: "cc")
	EX("addb $0x35, %%al", "daa", 0x79);
	example("daa: 79 + 35 = 114", 0x14, EFLAGS_CF | EFLAGS_AF | EFLAGS_PF, EFLAGS_CF | EFLAGS_AF | SZP, a, f);
	EX("addb $0x45, %%al", "daa", 0x38);
	example("daa: 38 + 45 = 83", 0x83, EFLAGS_AF | EFLAGS_SF, EFLAGS_CF | EFLAGS_AF | SZP, a, f);
	EX("addb $0x50, %%al", "daa", 0x50);
	example("daa: 50 + 50 = 100 (zero, carry)", 0x00, EFLAGS_CF | EFLAGS_ZF | EFLAGS_PF,
		EFLAGS_CF | EFLAGS_AF | SZP, a, f);
	EX("subb $0x47, %%al", "das", 0x35);
	example("das: 35 - 47 = -12 (88, borrow)", 0x88, EFLAGS_CF | EFLAGS_AF | EFLAGS_SF | EFLAGS_PF,
		EFLAGS_CF | EFLAGS_AF | SZP, a, f);
	EX("subb $0x25, %%al", "das", 0x71);
	example("das: 71 - 25 = 46", 0x46, EFLAGS_AF, EFLAGS_CF | EFLAGS_AF | SZP, a, f);
	EX("addb $0x09, %%al", "aaa", 0x0008);
	example("aaa: 8 + 9 = 17 (AX 0107)", 0x0107, EFLAGS_CF | EFLAGS_AF, EFLAGS_CF | EFLAGS_AF, a, f);
	EX("addb $0x03, %%al", "aaa", 0x0204);
	example("aaa: 4 + 3 = 7, no adjust", 0x0207, 0, EFLAGS_CF | EFLAGS_AF, a, f);
	EX("subb $0x05, %%al", "aas", 0x0002);
	example("aas: 2 - 5 = -3 (AX FF07)", 0xFF07, EFLAGS_CF | EFLAGS_AF, EFLAGS_CF | EFLAGS_AF, a, f);
	EX("subb $0x03, %%al", "aas", 0x0309);
	example("aas: 9 - 3 = 6, no adjust", 0x0306, 0, EFLAGS_CF | EFLAGS_AF, a, f);
	EX("movb $0x3F, %%al", "aam", 0x1200);
	example("aam: 63 -> AH 6, AL 3", 0x0603, EFLAGS_PF, SZP, a, f);
	EX("movb $0xA7, %%al", ".byte 0xD4, 0x10", 0);
	example("aam 16 splits the nibbles", 0x0A07, 0, SZP, a, f);
	EX("movw $0x0603, %%ax", "aad", 0);
	example("aad: AH 6, AL 3 -> 63", 0x003F, EFLAGS_PF, SZP, a, f);
	EX("movw $0x0000, %%ax", "aad", 0);
	example("aad: 0 sets ZF", 0x0000, EFLAGS_ZF | EFLAGS_PF, SZP, a, f);
#undef EX
	sweep(DAA, "daa matches the SDM for every AL, CF, AF");
	sweep(DAS, "das matches the SDM for every AL, CF, AF");
	sweep(AAA, "aaa matches the SDM for every AL, AF and several AH");
	sweep(AAS, "aas matches the SDM for every AL, AF and several AH");
	sweep(AAM10, "aam 10 matches the SDM for every AL");
	sweep(AAM16, "aam 16 matches the SDM for every AL");
	sweep(AAM7, "aam 7 matches the SDM for every AL");
	sweep(AAD10, "aad 10 matches the SDM for every AL and several AH");
	sweep(AAD7, "aad 7 matches the SDM for every AL and several AH");
}
