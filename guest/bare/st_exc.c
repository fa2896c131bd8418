/*
 * st_exc.c - self test: software interrupts (INT n through interrupt and trap gates, INT3,
 * INTO), gate checks, IRET, and the exceptions a CPL-0 guest can cause: #DE (divide by zero,
 * quotient overflow, AAM 0), #UD, #BR, #OF, #BP, #NP/#GP on gates.  Faults save the EIP of
 * the faulting instruction, traps the EIP of the next one.
 */
#include "selftest.h"

static void int_gates(void)
{
	uint32_t fl, after;
	trap_reset();
	asm volatile("sti\n\tpushfl\n\tpopl %0\n\tint %2\n1:\tcli\n\tmovl $1b, %1"
		     : "=&r"(fl), "=r"(after) : "i"(VEC_TEST_INT) : "memory");
	st_check(trap_last.count == 1 && trap_last.vector == VEC_TEST_INT && trap_last.eip == after &&
		 trap_last.cs == SEL_KCODE, "int n saves CS and the EIP after the instruction",
		 "count %u eip 0x%x cs 0x%x", trap_last.count, trap_last.eip, trap_last.cs);
	st_eq("int n saves EFLAGS", trap_last.eflags, fl);
	st_check(!(trap_last.handler_eflags & EFLAGS_IF), "interrupt gate clears IF", "eflags 0x%x",
		 trap_last.handler_eflags);

	trap_reset();
	asm volatile("sti\n\tint %0\n\tcli" :: "i"(VEC_TEST_TRAP) : "memory");
	st_check(trap_last.count == 1 && (trap_last.handler_eflags & EFLAGS_IF), "trap gate keeps IF",
		 "count %u eflags 0x%x", trap_last.count, trap_last.handler_eflags);

	trap_reset();
	asm volatile("ljmp %1, $1f\n1:\tint %0\n\tljmp %2, $2f\n2:"
		     :: "i"(VEC_TEST_INT), "i"(SEL_KCODE2), "i"(SEL_KCODE) : "memory");
	st_eq("int n from a second code selector saves that CS", trap_last.cs, SEL_KCODE2);

	uint32_t at;
	trap_reset();
	asm volatile(ST_ARM "8: int %1" ST_DISARM "movl $8b, %0" : "=r"(at) : "i"(VEC_TEST_NP) : "memory");
	st_fault("int n to a not-present gate raises #NP(vector*8+2)", 11, VEC_TEST_NP * 8 + 2, at);
}

static void traps(void)
{
	uint32_t after;
	trap_reset();
	asm volatile(ST_ARM "int3" ST_DISARM "movl $9b, %0" : "=r"(after) :: "memory");
	st_fault("int3 (CC) is a trap: #BP with the EIP after it", 3, NO_ERR, after);
	trap_reset();
	asm volatile(ST_ARM ".byte 0xCD, 0x03" ST_DISARM "movl $9b, %0" : "=r"(after) :: "memory");
	st_fault("int 3 (CD 03) is a trap: #BP with the EIP after it", 3, NO_ERR, after);
	trap_reset();
	asm volatile("movb $0x7F, %%al\n\taddb $1, %%al\n\t" ST_ARM "into" ST_DISARM "movl $9b, %0"
		     : "=r"(after) :: "eax", "memory", "cc");
	st_fault("into with OF=1 raises #OF with the EIP after it", 4, NO_ERR, after);
	trap_reset();
	asm volatile("movb $0x10, %%al\n\taddb $1, %%al\n\t" ST_ARM "into" ST_DISARM ::: "eax", "memory", "cc");
	st_nofault("into with OF=0 does not trap");
}

static void iret_tests(void)
{
	uint32_t fl, cs;
	asm volatile("pushl %2\n\tpushl %%cs\n\tpushl $1f\n\tiret\n1:\tpushfl\n\tpopl %0\n\tcld\n\tmovw %%cs, %w1"
		     : "=r"(fl), "=r"(cs) : "r"(0x2u | EFLAGS_CF | EFLAGS_ZF | EFLAGS_DF | EFLAGS_OF) : "memory", "cc");
	st_eq("iret to the same privilege restores EFLAGS", fl,
	      0x2u | EFLAGS_CF | EFLAGS_ZF | EFLAGS_DF | EFLAGS_OF);
	asm volatile("pushl %1\n\tpushl %%cs\n\tpushl $1f\n\tiret\n1:\tpushfl\n\tpopl %0\n\tcli"
		     : "=r"(fl) : "r"(0x2u | EFLAGS_IF) : "memory", "cc");
	st_check(fl & EFLAGS_IF, "iret sets IF from the saved EFLAGS", "eflags 0x%x", fl);
	asm volatile("pushfl\n\tpushl %1\n\tpushl $1f\n\tiret\n1:\tmovl %%cs, %0\n\tljmp %2, $2f\n2:"
		     : "=r"(cs) : "i"(SEL_KCODE2), "i"(SEL_KCODE) : "memory");
	st_eq("iret to a second code selector", cs, SEL_KCODE2);
	uint32_t e0, e1;
	asm volatile("movl %%esp, %0\n\tpushfl\n\tpushl %%cs\n\tpushl $1f\n\tiret\n1:\tmovl %%esp, %1"
		     : "=&r"(e0), "=&r"(e1) :: "memory");
	st_eq("iret to the same privilege pops 12 bytes", e0, e1);
}

static void bound_tests(void)
{
	static const int32_t b[2] = { -5, 20 };
	uint32_t at;
	trap_reset();
	asm volatile(ST_ARM "8: boundl %0, %1" ST_DISARM :: "r"(15), "m"(b) : "memory");
	asm volatile(ST_ARM "8: boundl %0, %1" ST_DISARM :: "r"(-5), "m"(b) : "memory");
	asm volatile(ST_ARM "8: boundl %0, %1" ST_DISARM :: "r"(20), "m"(b) : "memory");
	st_nofault("bound inside the range (signed, inclusive) does not fault");
	trap_reset();
	asm volatile(ST_ARM "8: boundl %1, %2" ST_DISARM "movl $8b, %0" : "=r"(at) : "r"(21), "m"(b) : "memory");
	st_fault("bound above the range raises #BR", 5, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: boundl %1, %2" ST_DISARM "movl $8b, %0" : "=r"(at) : "r"(-6), "m"(b) : "memory");
	st_fault("bound below the range raises #BR", 5, NO_ERR, at);
}

static void fault_tests(void)
{
	uint32_t at;
	trap_reset();
	asm volatile("xorl %%ecx, %%ecx\n\t" ST_ARM "8: divl %%ecx" ST_DISARM "movl $8b, %0"
		     : "=r"(at) : "a"(1), "d"(0) : "ecx", "memory", "cc");
	st_fault("div by zero raises #DE at the div", 0, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: idivl %1" ST_DISARM "movl $8b, %0"
		     : "=r"(at) : "r"(-1), "a"(0x80000000u), "d"(0xFFFFFFFFu) : "memory", "cc");
	st_fault("idiv INT_MIN / -1 raises #DE at the idiv", 0, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: divl %1" ST_DISARM "movl $8b, %0"
		     : "=r"(at) : "r"(1), "a"(0), "d"(1) : "memory", "cc");
	st_fault("div with a quotient over 32 bits raises #DE", 0, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: divb %b1" ST_DISARM "movl $8b, %0"
		     : "=r"(at) : "q"(2), "a"(0x0200) : "memory", "cc");
	st_fault("8-bit div with a quotient over 8 bits raises #DE", 0, NO_ERR, at);
	uint32_t q, r;
	asm volatile("divl %2" : "=a"(q), "=d"(r) : "r"(7), "a"(100), "d"(0) : "cc");
	st_check(q == 14 && r == 2, "div 100 / 7", "q %u r %u", q, r);
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0xD4, 0x00" ST_DISARM "movl $8b, %0" : "=r"(at) :: "eax", "memory", "cc");
	st_fault("aam 0 raises #DE", 0, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: ud2" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory");
	st_fault("ud2 raises #UD at the ud2", 6, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0xF0, 0x01, 0xC3" ST_DISARM "movl $8b, %0" : "=r"(at) :: "ebx", "memory", "cc");
	st_fault("lock add with a register destination raises #UD", 6, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: ljmp $0, $1f\n1:" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory");
	st_fault("far jmp to the null selector raises #GP(0)", 13, 0, at);
	trap_reset();
	asm volatile(ST_ARM "8: ljmp %1, $1f\n1:" ST_DISARM "movl $8b, %0" : "=r"(at) : "i"(SEL_KDATA) : "memory");
	st_fault("far jmp to a data segment raises #GP(selector)", 13, SEL_KDATA, at);
	uint32_t fl;
	trap_reset();
	asm volatile("stc\n\t" ST_ARM "8: ud2" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory", "cc");
	fl = trap_last.eflags;
	st_check((fl & EFLAGS_CF) && (fl & 2), "an exception saves the current EFLAGS", "eflags 0x%x", fl);
}

void st_group_exc(void)
{
	int_gates();
	traps();
	iret_tests();
	bound_tests();
	fault_tests();
}
