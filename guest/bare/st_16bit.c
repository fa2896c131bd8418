/*
 * st_16bit.c - self test: 16-bit operand size (0x66: arithmetic, shifts, PUSHW/POPW,
 * segment moves) and 16-bit addressing in 32-bit code (0x67: [bx+si+disp] forms, 64 KiB
 * wrap-around, LEA, the SS default of [bp+...], disp16 only, stores).
 */
#include "selftest.h"

static void opsize16(void)
{
	uint32_t a = 0x1234FFFF, fl;
	asm volatile("addw $1, %%ax\n\tpushfl\n\tpopl %1" : "+a"(a), "=r"(fl) :: "cc");
	st_check(a == 0x12340000 && (fl & EFLAGS_CF) && (fl & EFLAGS_ZF),
		 "16-bit add wraps, sets CF ZF, keeps the upper half", "eax 0x%x fl 0x%x", a, fl);
	a = 0xABCD0000;
	asm volatile("subw $1, %%ax\n\tpushfl\n\tpopl %1" : "+a"(a), "=r"(fl) :: "cc");
	st_check(a == 0xABCDFFFF && (fl & EFLAGS_CF) && (fl & EFLAGS_SF), "16-bit sub borrows",
		 "eax 0x%x fl 0x%x", a, fl);
	a = 0x99990000;
	asm volatile("imulw $3, %%cx, %%ax\n\tpushfl\n\tpopl %1" : "+a"(a), "=r"(fl) : "c"(0x6000) : "cc");
	st_check(a == 0x99992000 && (fl & EFLAGS_OF) && (fl & EFLAGS_CF), "16-bit imul truncates, sets OF CF",
		 "eax 0x%x fl 0x%x", a, fl);
	uint32_t d = 0x77770000;
	a = 0x88888000;
	asm volatile("mulw %w2" : "+a"(a), "+d"(d) : "r"(4) : "cc");
	st_check(a == 0x88880000 && d == 0x77770002, "16-bit mul writes DX:AX only", "dx 0x%x ax 0x%x", d, a);
	a = 0xFFFF1234;
	asm volatile("rolw $4, %%ax" : "+a"(a) :: "cc");
	st_eq("16-bit rol", a, 0xFFFF2341);
	a = 0x5555FFFF;
	asm volatile("stc\n\tincw %%ax\n\tpushfl\n\tpopl %1" : "+a"(a), "=r"(fl) :: "cc");
	st_check(a == 0x55550000 && (fl & EFLAGS_ZF) && (fl & EFLAGS_CF), "16-bit inc wraps, keeps CF",
		 "eax 0x%x fl 0x%x", a, fl);
	a = 0x12345680;
	asm volatile("cbtw" : "+a"(a));
	st_eq("cbw", a, 0x1234FF80);
	a = 0x00008000, d = 0x12345678;
	asm volatile("cwtd" : "+a"(a), "+d"(d));
	st_eq("cwd writes DX only", d, 0x1234FFFF);
	asm volatile("cwtl" : "+a"(a));
	st_eq("cwde", a, 0xFFFF8000);

	static uint32_t m = 0xFFFFFFFF;
	asm volatile("movw %%ds, %0" : "=m"(*(uint16_t *)&m));
	st_eq("mov m16, ds writes two bytes", m, 0xFFFF0000u | SEL_KDATA);
	uint32_t e0, e1;
	uint16_t w;
	asm volatile("movl %%esp, %0\n\tpushw $0x1234\n\tmovl %%esp, %1\n\tpopw %2"
		     : "=&r"(e0), "=&r"(e1), "=r"(w) :: "memory");
	st_check(e0 - e1 == 2 && w == 0x1234, "pushw and popw move ESP by 2", "esp -%u w 0x%x", e0 - e1, w);
	asm volatile("movl %%esp, %0\n\tpushw %%ds\n\tmovl %%esp, %1\n\tpopw %%es"
		     : "=&r"(e0), "=&r"(e1) :: "memory");
	st_eq("pushw ds moves ESP by 2", e0 - e1, 2);

	static uint16_t src[5] = { 1, 2, 3, 4, 5 }, dst[6];
	uint32_t si = (uint32_t)src, di = (uint32_t)dst, cx = 5;
	asm volatile("cld\n\trep movsw" : "+S"(si), "+D"(di), "+c"(cx) :: "memory");
	st_check(dst[0] == 1 && dst[4] == 5 && dst[5] == 0 && di == (uint32_t)(dst + 5),
		 "rep movsw", "edi +%d", (int)(di - (uint32_t)dst));
}

uint32_t st_a16_out[8];
static uint32_t ds_buf[64] __attribute__((aligned(64)));
static uint32_t ss_buf[64] __attribute__((aligned(64)));

/* 16-bit addressing probes with DS = SEL_TBASE (base ds_buf), SS = SEL_TLIM (base ss_buf),
 * FS = SEL_TBASE.  No stack use while SS is based. */
asm(".text\n"
    "st_addr16_probe:\n\t"
    "pushl %ebx\n\tpushl %esi\n\tpushl %edi\n\tpushl %ebp\n\t"
    "movw $0x40, %ax\n\tmovw %ax, %fs\n\t"
    "movl $0xFFFF, %ebx\n\tmovl $5, %esi\n\t"
    ".byte 0x64, 0x67, 0x8B, 0x40, 0x04\n\t"           /* mov eax, fs:[bx+si+4] -> 8 */
    "movl %eax, st_a16_out\n\t"
    "movl $0xFFFFFFFF, %eax\n\t"
    ".byte 0x67, 0x8D, 0x40, 0x04\n\t"                 /* lea eax, [bx+si+4] */
    "movl %eax, st_a16_out+4\n\t"
    "movl $0x10, %ebx\n\tmovl $0x4, %esi\n\tmovl $0x20, %ebp\n\tmovl $0x8, %edi\n\t"
    "movw $0x40, %ax\n\tmovw %ax, %ds\n\tmovw $0x48, %ax\n\tmovw %ax, %ss\n\t"
    ".byte 0x67, 0x8B, 0x00\n\t"                       /* mov eax, [bx+si] -> DS:0x14 */
    "movl %eax, %ecx\n\t"
    ".byte 0x67, 0x89, 0x59, 0x08\n\t"                 /* mov [bx+di+8], ebx -> DS:0x20 */
    ".byte 0x67, 0x8B, 0x13\n\t"                       /* mov edx, [bp+di] -> SS:0x28 */
    ".byte 0x67, 0x8B, 0x76, 0x04\n\t"                 /* mov esi, [bp+4] -> SS:0x24 */
    ".byte 0x67, 0x8B, 0x3E, 0x0C, 0x00\n\t"           /* mov edi, [0x000C] -> DS:0x0C */
    "movw $0x10, %ax\n\tmovw %ax, %ss\n\tmovw %ax, %ds\n\tmovw %ax, %fs\n\t"
    "movl %ecx, st_a16_out+8\n\tmovl %edx, st_a16_out+12\n\t"
    "movl %esi, st_a16_out+16\n\tmovl %edi, st_a16_out+20\n\t"
    "popl %ebp\n\tpopl %edi\n\tpopl %esi\n\tpopl %ebx\n\tret\n");
void st_addr16_probe(void);

static void addr16(void)
{
	for (int i = 0; i < 64; i++) {
		ds_buf[i] = 0xD0000000u + (uint32_t)i * 0x01010101u;
		ss_buf[i] = 0x50000000u + (uint32_t)i * 0x00110011u;
	}
	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)ds_buf, 0xFFFF, 0x93, 0x4);
	gdt[SEL_TLIM / 8] = seg_desc((uint32_t)ss_buf, 0xFFFF, 0x93, 0x4);
	st_addr16_probe();
	const uint32_t *o = st_a16_out;
	st_eq("addr16 fs:[bx+si+4] wraps at 64 KiB", o[0], ds_buf[2]);
	st_eq("addr16 lea [bx+si+4] wraps and zero-extends", o[1], 8);
	st_eq("addr16 [bx+si] uses DS and its base", o[2], ds_buf[5]);
	st_eq("addr16 [bp+di] defaults to SS", o[3], ss_buf[10]);
	st_eq("addr16 [bp+disp8] defaults to SS", o[4], ss_buf[9]);
	st_eq("addr16 [disp16] uses DS", o[5], ds_buf[3]);
	st_eq("addr16 store [bx+di+8]", ds_buf[8], 0x10);
}

void st_group_16bit(void)
{
	opsize16();
	addr16();
}
