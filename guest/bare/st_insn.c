/*
 * st_insn.c - self test: instructions that do not exist in 64-bit mode or have hidden
 * operands, which a translator to x86-64 must lower by hand: PUSHA/POPA, ARPL, SALC, XLAT,
 * ENTER/LEAVE, CMPXCHG8B, PUSH/POP with ESP-relative memory operands.
 */
#include "selftest.h"

uint32_t st_pusha_frame[8], st_pusha_regs[8], st_pusha_esp;

/* Load known values, PUSHA, copy the frame, clobber, overwrite the saved ESP, POPA, record. */
asm(".text\n"
    "st_pusha_probe:\n\t"
    "pushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n\t"
    "movl %esp, st_pusha_esp\n\t"
    "movl $0x11111111, %eax\n\tmovl $0x22222222, %ecx\n\tmovl $0x33333333, %edx\n\t"
    "movl $0x44444444, %ebx\n\tmovl $0x55555555, %ebp\n\tmovl $0x66666666, %esi\n\t"
    "movl $0x77777777, %edi\n\t"
    "pushal\n\t"
    "movl %esp, %esi\n\tmovl $st_pusha_frame, %edi\n\tmovl $8, %ecx\n\tcld\n\trep movsl\n\t"
    "movl $0, 12(%esp)\n\t"
    "xorl %eax, %eax\n\txorl %ecx, %ecx\n\txorl %edx, %edx\n\txorl %ebx, %ebx\n\t"
    "xorl %ebp, %ebp\n\txorl %esi, %esi\n\txorl %edi, %edi\n\t"
    "popal\n\t"
    "movl %eax, st_pusha_regs\n\tmovl %ecx, st_pusha_regs+4\n\tmovl %edx, st_pusha_regs+8\n\t"
    "movl %ebx, st_pusha_regs+12\n\tmovl %esp, st_pusha_regs+16\n\tmovl %ebp, st_pusha_regs+20\n\t"
    "movl %esi, st_pusha_regs+24\n\tmovl %edi, st_pusha_regs+28\n\t"
    "popl %edi\n\tpopl %esi\n\tpopl %ebx\n\tpopl %ebp\n\tret\n");
void st_pusha_probe(void);

static void pusha_tests(void)
{
	st_pusha_probe();
	const uint32_t *f = st_pusha_frame, *r = st_pusha_regs;
	uint32_t esp = st_pusha_esp;
	st_check(f[0] == 0x77777777 && f[1] == 0x66666666 && f[2] == 0x55555555 && f[3] == esp &&
		 f[4] == 0x44444444 && f[5] == 0x33333333 && f[6] == 0x22222222 && f[7] == 0x11111111,
		 "pusha stores EDI ESI EBP ESP(original) EBX EDX ECX EAX", "frame %x %x %x %x %x %x %x %x",
		 f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
	st_check(r[0] == 0x11111111 && r[1] == 0x22222222 && r[2] == 0x33333333 && r[3] == 0x44444444 &&
		 r[5] == 0x55555555 && r[6] == 0x66666666 && r[7] == 0x77777777,
		 "popa restores the general registers", NULL);
	st_eq("popa ignores the saved ESP", r[4], esp);
}

static void arpl_salc_xlat(void)
{
	uint16_t d = 0x0010;
	uint8_t z;
	asm volatile("arpl %w2, %w0\n\tsetz %1" : "+r"(d), "=q"(z) : "r"(0x0003) : "cc");
	st_check(d == 0x0013 && z, "arpl raises RPL and sets ZF", "0x%x ZF %d", d, z);
	d = 0x0013;
	asm volatile("arpl %w2, %w0\n\tsetz %1" : "+r"(d), "=q"(z) : "r"(0x0001) : "cc");
	st_check(d == 0x0013 && !z, "arpl leaves a higher RPL and clears ZF", "0x%x ZF %d", d, z);
	static uint16_t m = 0x0028;
	asm volatile("arpl %w2, %0\n\tsetz %1" : "+m"(m), "=q"(z) : "r"(0x0002) : "cc");
	st_check(m == 0x002A && z, "arpl with a memory destination", "0x%x ZF %d", m, z);

	uint32_t a = 0x12345678, fl;
	asm volatile("stc\n\t.byte 0xD6\n\tpushfl\n\tpopl %1" : "+a"(a), "=r"(fl) :: "cc");
	st_check(a == 0x123456FF && (fl & EFLAGS_CF), "salc with CF=1 sets AL to 0xFF, keeps flags",
		 "eax 0x%x", a);
	asm volatile("clc\n\t.byte 0xD6" : "+a"(a) :: "cc");
	st_eq("salc with CF=0 sets AL to 0", a, 0x12345600);

	static uint8_t table[256];
	for (int i = 0; i < 256; i++)
		table[i] = (uint8_t)(255 - i * 3);
	a = 0xABCD0005;
	asm volatile("xlatb" : "+a"(a) : "b"(table) : "memory");
	st_eq("xlat reads [ebx+al] and keeps the upper bits", a, 0xABCD0000u | table[5]);
	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)table, 0xFF, 0x93, 0x4);
	a = 0x00000020;
	asm volatile("movw %w2, %%fs\n\tfs xlatb\n\tmovw %w3, %%fs"
		     : "+a"(a) : "b"(8), "r"(SEL_TBASE), "r"(SEL_KDATA) : "memory");
	st_eq("xlat with an fs: override and a non-zero base", a, table[0x20 + 8]);
}

static void enter_leave_cx8(void)
{
	uint32_t e0, ebp_in, esp_in, ebp_out, esp_out, saved;
	asm volatile("movl %%esp, %0\n\tpushl %%ebp\n\tmovl $0x12345678, %%ebp\n\t"
		     "enter $16, $0\n\tmovl %%ebp, %1\n\tmovl %%esp, %2\n\tmovl (%%ebp), %5\n\t"
		     "leave\n\tmovl %%ebp, %3\n\tmovl %%esp, %4\n\tpopl %%ebp"
		     : "=&r"(e0), "=&r"(ebp_in), "=&r"(esp_in), "=&r"(ebp_out), "=&r"(esp_out), "=&r"(saved)
		     :: "ebp", "memory");
	st_check(ebp_in == e0 - 8 && esp_in == e0 - 24 && saved == 0x12345678,
		 "enter 16, 0 builds the frame", "ebp %x esp %x (esp0 %x)", ebp_in, esp_in, e0);
	st_check(ebp_out == 0x12345678 && esp_out == e0 - 4, "leave tears it down",
		 "ebp %x esp %x", ebp_out, esp_out);
	uint32_t frame1;
	asm volatile("movl %%esp, %0\n\tpushl %%ebp\n\tmovl %%esp, %%ebp\n\tsubl $8, %%esp\n\t"
		     "enter $4, $1\n\tmovl %%ebp, %1\n\tmovl %%esp, %2\n\tmovl -4(%%ebp), %3\n\t"
		     "leave\n\tleave"
		     : "=&r"(e0), "=&r"(ebp_in), "=&r"(esp_in), "=&r"(frame1) :: "ebp", "memory");
	/* after push ebp: e0-4 = old frame; sub 8: e0-12; enter pushes ebp (e0-16), the frame
	 * pointer (e0-20), ebp = e0-16, esp = e0-20-4 */
	st_check(ebp_in == e0 - 16 && esp_in == e0 - 24 && frame1 == e0 - 16,
		 "enter 4, 1 pushes the frame pointer (nesting level 1)", "ebp %x esp %x fp %x (esp0 %x)",
		 ebp_in, esp_in, frame1, e0);

	if (!(st_cpuid1_edx() & CPUID_CX8)) {
		st_note("CPUID lacks CX8: cmpxchg8b checks skipped");
		st_check(1, "cmpxchg8b equal: stores ECX:EBX, ZF=1", NULL);
		st_check(1, "cmpxchg8b not equal: loads EDX:EAX, ZF=0", NULL);
		return;
	}
	static uint64_t q = 0x1122334455667788ull;
	uint32_t lo = 0x55667788, hi = 0x11223344;
	uint8_t z;
	asm volatile("lock cmpxchg8b %0\n\tsetz %1" : "+m"(q), "=q"(z), "+a"(lo), "+d"(hi)
		     : "b"(0xAAAAAAAAu), "c"(0xBBBBBBBBu) : "memory", "cc");
	st_check(z && q == 0xBBBBBBBBAAAAAAAAull, "cmpxchg8b equal: stores ECX:EBX, ZF=1", NULL);
	lo = 0, hi = 0;
	asm volatile("cmpxchg8b %0\n\tsetz %1" : "+m"(q), "=q"(z), "+a"(lo), "+d"(hi)
		     : "b"(1), "c"(2) : "memory", "cc");
	st_check(!z && lo == 0xAAAAAAAA && hi == 0xBBBBBBBB, "cmpxchg8b not equal: loads EDX:EAX, ZF=0",
		 "edx:eax %x:%x", hi, lo);
}

static void push_pop_mem(void)
{
	uint32_t a, b, e0, e1;
	asm volatile("movl %%esp, %2\n\tpushl $0xAAAA\n\tpushl $0xBBBB\n\tpopl (%%esp)\n\tpopl %0\n\t"
		     "movl %%esp, %3\n\tpushl $0xCCCC\n\tpushl (%%esp)\n\tpopl %1\n\taddl $4, %%esp"
		     : "=&r"(a), "=&r"(b), "=&r"(e0), "=&r"(e1) :: "memory");
	st_check(a == 0xBBBB && e0 == e1, "pop [esp] addresses with the incremented ESP", "0x%x", a);
	st_eq("push [esp] reads before ESP moves", b, 0xCCCC);
	asm volatile("pushl $0x1111\n\tpushl $0x2222\n\tpushl $0x3333\n\tpopl 4(%%esp)\n\tpopl %0\n\tpopl %1"
		     : "=&r"(a), "=&r"(b) :: "memory");
	st_check(a == 0x2222 && b == 0x3333, "pop [esp+4] writes above the popped slot",
		 "0x%x 0x%x", a, b);
}

void st_group_insn(void)
{
	pusha_tests();
	arpl_salc_xlat();
	enter_leave_cx8();
	push_pop_mem();
}
