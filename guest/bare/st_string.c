/*
 * st_string.c - self test: string instructions with REP across 4 KiB page boundaries, in
 * both directions, with their final ESI/EDI/ECX and flags; an fs: source override with a
 * non-zero base (ES:EDI cannot be overridden); overlapping copies, which must behave
 * element by element (a memmove lowering would be wrong).
 */
#include "selftest.h"

static uint8_t sbuf[4 * 4096] __attribute__((aligned(4096)));
#define P1 (sbuf + 4096)
#define P2 (sbuf + 8192)
#define P3 (sbuf + 12288)
#define A(p) ((uint32_t)(p))

struct sres {
	uint32_t esi, edi, ecx, eax, fl;
};

#define STRFN(fn, insn)                                                                     \
	static struct sres fn(uint32_t esi, uint32_t edi, uint32_t ecx, uint32_t eax, int df)  \
	{                                                                                   \
		uint32_t fl;                                                                \
		asm volatile("pushfl\n\tcmpl $0, %5\n\tje 1f\n\tstd\n1:\t" insn "\n\t"       \
			     "pushfl\n\tpopl %4\n\tpopfl"                                   \
			     : "+S"(esi), "+D"(edi), "+c"(ecx), "+a"(eax), "=&d"(fl)        \
			     : "b"(df) : "memory", "cc");                                   \
		return (struct sres){ esi, edi, ecx, eax, fl };                             \
	}
STRFN(s_movsb, "rep movsb")
STRFN(s_movsd, "rep movsl")
STRFN(s_stosb, "rep stosb")
STRFN(s_stosd, "rep stosl")
STRFN(s_lodsb, "rep lodsb")
STRFN(s_cmpsb, "repe cmpsb")
STRFN(s_cmpsd, "repe cmpsl")
STRFN(s_scasb, "repne scasb")
STRFN(s_movsb_fs, "rep movsb %%fs:(%%esi), %%es:(%%edi)")

static void fill(void)
{
	for (unsigned i = 0; i < sizeof(sbuf); i++)
		sbuf[i] = (uint8_t)(i * 7 + 3 + (i >> 8));
}

static void movs_stos(void)
{
	fill();
	uint8_t *src = P1 - 37, *dst = P2 - 50;
	memset(dst - 1, 0xEE, 102);
	struct sres r = s_movsb(A(src), A(dst), 100, 0, 0);
	st_check(!memcmp(src, dst, 100) && dst[-1] == 0xEE && dst[100] == 0xEE && r.ecx == 0 &&
		 r.esi == A(src + 100) && r.edi == A(dst + 100),
		 "rep movsb across page boundaries (DF=0)", "ecx %u esi +%d edi +%d", r.ecx,
		 (int)(r.esi - A(src)), (int)(r.edi - A(dst)));

	fill();
	uint8_t *sl = P1 + 40, *dl = P2 + 20;   /* last dword of each */
	memset(dl - 96 - 4, 0, 108);
	r = s_movsd(A(sl), A(dl), 25, 0, 1);
	st_check(!memcmp(sl - 96, dl - 96, 100) && *(uint32_t *)(dl - 100) == 0 && *(uint32_t *)(dl + 4) == 0 &&
		 r.esi == A(sl - 100) && r.edi == A(dl - 100) && r.ecx == 0 && (r.fl & EFLAGS_DF),
		 "rep movsd across page boundaries (DF=1)", "ecx %u esi %d edi %d", r.ecx,
		 (int)(r.esi - A(sl)), (int)(r.edi - A(dl)));

	fill();
	dst = P2 - 30;
	memset(dst - 1, 0, 63);
	r = s_stosb(0, A(dst), 61, 0x123456A5, 0);
	int ok = dst[-1] == 0 && dst[61] == 0 && r.edi == A(dst + 61) && r.ecx == 0;
	for (int i = 0; i < 61; i++)
		ok &= dst[i] == 0xA5;
	st_check(ok, "rep stosb across a page boundary (DF=0)", "edi +%d", (int)(r.edi - A(dst)));

	dl = P3 + 8;
	memset(dl - 80, 0, 88);
	r = s_stosd(0, A(dl), 20, 0xDEADBEEF, 1);
	ok = r.edi == A(dl - 80) && r.ecx == 0 && *(uint32_t *)(dl - 80) == 0;
	for (int i = 0; i < 20; i++)
		ok &= *(uint32_t *)(dl - 4 * i) == 0xDEADBEEF;
	st_check(ok, "rep stosd across a page boundary (DF=1)", "edi %d", (int)(r.edi - A(dl)));

	fill();
	src = P1 - 3;
	r = s_lodsb(A(src), 0, 7, 0xFFFFFF00, 0);
	st_check(r.eax == (0xFFFFFF00 | src[6]) && r.esi == A(src + 7) && r.ecx == 0,
		 "rep lodsb across a page boundary (DF=0)", "eax 0x%x", r.eax);
	src = P2 + 2;
	r = s_lodsb(A(src), 0, 5, 0, 1);
	st_check(r.eax == src[-4] && r.esi == A(src - 5) && r.ecx == 0,
		 "rep lodsb across a page boundary (DF=1)", "eax 0x%x", r.eax);
}

static void cmps_scas(void)
{
	fill();
	uint8_t *a = P1 - 20, *b = P2 - 20;
	memcpy(b, a, 40);
	struct sres r = s_cmpsb(A(a), A(b), 40, 0, 0);
	st_check(r.ecx == 0 && (r.fl & EFLAGS_ZF) && r.esi == A(a + 40) && r.edi == A(b + 40),
		 "repe cmpsb over equal bytes across a boundary", "ecx %u", r.ecx);
	b[25] ^= 0x40;
	r = s_cmpsb(A(a), A(b), 40, 0, 0);
	st_check(r.ecx == 14 && !(r.fl & EFLAGS_ZF) && r.esi == A(a + 26) && r.edi == A(b + 26),
		 "repe cmpsb stops after a mismatch past the boundary", "ecx %u esi +%d", r.ecx,
		 (int)(r.esi - A(a)));

	uint8_t *al = P1 + 12, *bl = P2 + 12;          /* last dwords */
	memcpy(bl - 36, al - 36, 40);
	bl[-24] ^= 1;
	r = s_cmpsd(A(al), A(bl), 10, 0, 1);
	st_check(r.ecx == 3 && !(r.fl & EFLAGS_ZF) && r.esi == A(al - 28) && r.edi == A(bl - 28),
		 "repe cmpsd with DF=1 stops after a mismatch", "ecx %u esi %d", r.ecx,
		 (int)(r.esi - A(al)));

	a = P1 - 10;
	memset(a, 0x11, 30);
	a[15] = 0x5A;
	r = s_scasb(0, A(a), 30, 0x5A, 0);
	st_check(r.ecx == 14 && (r.fl & EFLAGS_ZF) && r.edi == A(a + 16),
		 "repne scasb finds a byte past the boundary (DF=0)", "ecx %u edi +%d", r.ecx,
		 (int)(r.edi - A(a)));
	a = P2 + 10;
	memset(a - 29, 0x22, 30);
	a[-15] = 0x5A;
	r = s_scasb(0, A(a), 30, 0x5A, 1);
	st_check(r.ecx == 14 && (r.fl & EFLAGS_ZF) && r.edi == A(a - 16),
		 "repne scasb finds a byte past the boundary (DF=1)", "ecx %u edi %d", r.ecx,
		 (int)(r.edi - A(a)));
	a[-15] = 0x22;
	r = s_scasb(0, A(a), 30, 0x5A, 1);
	st_check(r.ecx == 0 && !(r.fl & EFLAGS_ZF) && r.edi == A(a - 30),
		 "repne scasb runs out with ZF=0", "ecx %u", r.ecx);
}

static void movs_special(void)
{
	fill();
	uint8_t *dst = P3 - 5;
	memset(dst, 0, 10);
	gdt[SEL_TBASE / 8] = seg_desc(A(sbuf), 0xFFFFF, 0x93, 0xC);
	asm volatile("movw %w0, %%fs" :: "r"(SEL_TBASE) : "memory");
	struct sres r = s_movsb_fs(4091, A(dst), 10, 0, 0);
	asm volatile("movw %w0, %%fs" :: "r"(SEL_KDATA) : "memory");
	st_check(!memcmp(dst, sbuf + 4091, 10) && r.esi == 4101 && r.edi == A(dst + 10),
		 "rep movsb with an fs: source override and a non-zero base", "esi %u", r.esi);

	fill();
	uint8_t before = sbuf[200];
	r = s_movsb(A(sbuf + 100), A(sbuf + 200), 0, 0, 0);
	st_check(sbuf[200] == before && r.esi == A(sbuf + 100) && r.edi == A(sbuf + 200),
		 "rep movsb with ECX=0 does nothing", NULL);

	uint8_t first = sbuf[100];
	r = s_movsb(A(sbuf + 100), A(sbuf + 101), 16, 0, 0);
	int ok = 1;
	for (int i = 0; i <= 16; i++)
		ok &= sbuf[100 + i] == first;
	st_check(ok, "overlapping rep movsb forward copies byte by byte", NULL);
	fill();
	first = sbuf[4100];
	r = s_movsb(A(sbuf + 4100), A(sbuf + 4099), 16, 0, 1);
	ok = 1;
	for (int i = 0; i <= 16; i++)
		ok &= sbuf[4100 - i] == first;
	st_check(ok, "overlapping rep movsb backward (DF=1) copies byte by byte", NULL);
}

void st_group_string(void)
{
	movs_stos();
	cmps_scas();
	movs_special();
}
