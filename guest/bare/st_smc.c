/*
 * st_smc.c - self test: self-modifying code, which x86 keeps coherent without any flush:
 *  (a) code copied into a data page, called, patched and called again (also after it is hot);
 *  (b) a store into the very next instruction of the same straight-line sequence, into an
 *      instruction a few instructions ahead, and over an opcode;
 *  (c) REP MOVSB copying new code over a function that has already run;
 *  (d) a patch stored through fs: with a non-zero base.
 * The functions that rewrite themselves live in .smc, the one writable code section.
 */
#include "selftest.h"

asm(".section .smc, \"awx\"\n"
    "st_smc_next:\n\t"                  /* uint32_t (uint32_t v): returns v */
    "movl 4(%esp), %eax\n\t"
    "movl %eax, 1f+1\n"
    "1:\tmovl $0, %eax\n\t"
    "ret\n"
    "st_smc_ahead:\n\t"                 /* the same, three instructions ahead */
    "movl 4(%esp), %ecx\n\t"
    "movl %ecx, 1f+1\n\t"
    "nop\n\t"
    "xorl %edx, %edx\n\t"
    "addl $1, %edx\n"
    "1:\tmovl $0, %eax\n\t"
    "ret\n"
    "st_smc_opcode:\n\t"                /* uint32_t (uint32_t opcode): 0x100 after inc/dec eax */
    "movl 4(%esp), %ecx\n\t"
    "movl $0x100, %eax\n\t"
    "movb %cl, 1f\n"
    "1:\tincl %eax\n\t"
    "ret\n"
    "\t.balign 16\n"
    "st_smc_target:\n\t"                /* overwritten by rep movsb */
    "movl $1, %eax\n\t"
    "ret\n\t"
    ".fill 32, 1, 0x90\n"
    ".text\n");
uint32_t st_smc_next(uint32_t v);
uint32_t st_smc_ahead(uint32_t v);
uint32_t st_smc_opcode(uint32_t opcode);
uint32_t st_smc_target(void);
extern char st_smc_target_bytes[] __asm__("st_smc_target");

static uint8_t code_page[4096] __attribute__((aligned(4096)));
static const uint8_t tmpl_a[] = { 0xB8, 0x0A, 0x00, 0x00, 0x00, 0xC3 };             /* mov eax,10; ret */
static const uint8_t tmpl_b[] = { 0xB8, 0x0B, 0x00, 0x00, 0x00, 0x83, 0xC0, 0x01, 0xC3 }; /* +1 */

typedef uint32_t (*fn_t)(void);

static uint32_t call_page(void)
{
	asm volatile("" ::: "memory");
	return ((fn_t)(void *)code_page)();
}

static void patch_imm(uint32_t v)
{
	memcpy(code_page + 1, &v, 4);
	asm volatile("" ::: "memory");
}

static void rep_movsb(void *dst, const void *src, uint32_t n)
{
	asm volatile("cld\n\trep movsb" : "+D"(dst), "+S"(src), "+c"(n) :: "memory");
}

void st_group_smc(void)
{
	memset(code_page, 0xCC, sizeof(code_page));
	memcpy(code_page, tmpl_a, sizeof(tmpl_a));
	patch_imm(0x11111111);
	uint32_t r1 = call_page();
	patch_imm(0x22222222);
	uint32_t r2 = call_page();
	st_check(r1 == 0x11111111 && r2 == 0x22222222,
		 "(a) code in a data page: a patched immediate is seen", "0x%x 0x%x", r1, r2);
	uint32_t sum = 0;
	for (int i = 0; i < 10000; i++)
		sum += call_page();
	patch_imm(0x33333333);
	r1 = call_page();
	st_check(sum == 0x22222222u * 10000u && r1 == 0x33333333,
		 "(a) a patch after 10000 calls is seen", "0x%x", r1);

	r1 = st_smc_next(0x1111);
	r2 = st_smc_next(0x2222);
	uint32_t r3 = st_smc_next(0x3333);
	st_check(r1 == 0x1111 && r2 == 0x2222 && r3 == 0x3333,
		 "(b) a store into the next instruction is seen", "0x%x 0x%x 0x%x", r1, r2, r3);
	r1 = st_smc_ahead(0xA1);
	r2 = st_smc_ahead(0xA2);
	st_check(r1 == 0xA1 && r2 == 0xA2, "(b) a store three instructions ahead is seen",
		 "0x%x 0x%x", r1, r2);
	r1 = st_smc_opcode(0x48);                       /* dec eax */
	r2 = st_smc_opcode(0x40);                       /* inc eax */
	st_check(r1 == 0xFF && r2 == 0x101, "(b) a store over the next opcode is seen", "0x%x 0x%x", r1, r2);

	r1 = st_smc_target();
	rep_movsb(st_smc_target_bytes, tmpl_a, sizeof(tmpl_a));
	r2 = st_smc_target();
	rep_movsb(st_smc_target_bytes, tmpl_b, sizeof(tmpl_b));
	r3 = st_smc_target();
	st_check(r1 == 1 && r2 == 10 && r3 == 12, "(c) rep movsb of new code over a function",
		 "%u %u %u", r1, r2, r3);

	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)st_smc_target_bytes - 0x100, 0xFFFFF, 0x93, 0xC);
	asm volatile("movw %w0, %%fs\n\tmovl $42, %%fs:0x101\n\tmovw %w1, %%fs"
		     :: "r"(SEL_TBASE), "r"(SEL_KDATA) : "memory");
	r1 = st_smc_target();
	st_eq("(d) a patch stored through fs: with a non-zero base is seen", r1, 43);
}
