/*
 * bcd_native.c - reference table for the decimal-adjust instructions, from the host CPU.
 *
 * Built with gcc -m32 (the instructions do not exist in 64-bit mode) and run by
 * tests/unit/test_emu.c, which feeds the same inputs to emu_step() and compares.  For each
 * case it executes the real instruction (DAA DAS AAA AAS AAM imm8 AAD imm8) on EAX and the
 * six arithmetic flags, and prints one line:
 *     <opcode> <imm8> <eax in> <flags in> <eax out> <flags out>      (hex)
 * or  <opcode> <imm8> <eax in> <flags in> DE                          (#DE: AAM 0)
 * Only the arithmetic flags (0x8D5) are given and compared; EAX bits 16..31 are 0x1234 on
 * input so that a change to them shows.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ARITH 0x8D5u

static unsigned char *code;
static sigjmp_buf on_fault;

static void fpe_handler(int sig)
{
	(void)sig;
	siglongjmp(on_fault, 1);
}

/* Run the instruction in `code` with EAX/flags; 0, or -1 if it raised #DE. */
static int run(unsigned eax, unsigned fl, unsigned *eax_out, unsigned *fl_out)
{
	volatile unsigned a = eax, f = fl | 2u;

	if (sigsetjmp(on_fault, 1))
		return -1;
	__asm__ volatile("pushl %1\n\tpopfl\n\tcall *%2\n\tpushfl\n\tpopl %1"
			 : "+a"(a), "+r"(f) : "r"(code) : "memory", "cc");
	*eax_out = a;
	*fl_out = f & ARITH;
	return 0;
}

static void one(unsigned op, unsigned imm, unsigned ax, unsigned fl)
{
	unsigned eax = 0x12340000u | (ax & 0xFFFF), eo, fo;

	if (run(eax, fl, &eo, &fo))
		printf("%02x %02x %08x %03x DE\n", op, imm, eax, fl);
	else
		printf("%02x %02x %08x %03x %08x %03x\n", op, imm, eax, fl, eo, fo);
}

static void set_code(unsigned op, int imm)
{
	code[0] = (unsigned char)op;
	if (imm >= 0) {
		code[1] = (unsigned char)imm;
		code[2] = 0xC3;
	} else {
		code[1] = 0xC3;
	}
}

/* The 64 combinations of CF PF AF ZF SF OF. */
static unsigned flag_combo(unsigned i)
{
	static const unsigned bit[6] = { 0x1, 0x4, 0x10, 0x40, 0x80, 0x800 };
	unsigned f = 0;

	for (unsigned b = 0; b < 6; b++)
		if (i & (1u << b))
			f |= bit[b];
	return f;
}

static void decimal_adjust(unsigned op)
{
	set_code(op, -1);
	for (unsigned ah = 0; ah < 2; ah++)
		for (unsigned al = 0; al < 256; al++)
			for (unsigned i = 0; i < 64; i++)
				one(op, 0, (ah ? 0xFF00u : 0) | al, flag_combo(i));
}

static void ascii_adjust(unsigned op)
{
	static const unsigned ahs[] = { 0x00, 0x01, 0x7E, 0x7F, 0x80, 0x81, 0xFE, 0xFF };
	static const unsigned fls[] = { 0, 0x10, ARITH & ~0x10u, ARITH };

	set_code(op, -1);
	for (unsigned h = 0; h < sizeof(ahs) / sizeof(ahs[0]); h++)
		for (unsigned al = 0; al < 256; al++)
			for (unsigned f = 0; f < 4; f++)
				one(op, 0, ahs[h] << 8 | al, fls[f]);
}

static void aam(void)
{
	for (unsigned imm = 0; imm < 256; imm++) {
		set_code(0xD4, (int)imm);
		for (unsigned al = 0; al < 256; al++) {
			one(0xD4, imm, 0x5A00u | al, 0);
			one(0xD4, imm, 0x5A00u | al, ARITH);
		}
	}
}

static void aad(void)
{
	static const unsigned imms[] = { 0, 1, 2, 3, 7, 10, 16, 0x55, 0x7F, 0x80, 0xAA, 0xFF };
	static const unsigned ahs[] = { 0x00, 0x01, 0x02, 0x09, 0x10, 0x11, 0x19, 0x7F, 0x80,
					0x99, 0xAA, 0xFE, 0xFF };

	for (unsigned i = 0; i < sizeof(imms) / sizeof(imms[0]); i++) {
		set_code(0xD5, (int)imms[i]);
		for (unsigned h = 0; h < sizeof(ahs) / sizeof(ahs[0]); h++)
			for (unsigned al = 0; al < 256; al++) {
				one(0xD5, imms[i], ahs[h] << 8 | al, 0);
				one(0xD5, imms[i], ahs[h] << 8 | al, ARITH);
			}
	}
}

int main(void)
{
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (code == MAP_FAILED) {
		perror("bcd_native: mmap");
		return 1;
	}
	signal(SIGFPE, fpe_handler);
	decimal_adjust(0x27);
	decimal_adjust(0x2F);
	ascii_adjust(0x37);
	ascii_adjust(0x3F);
	aam();
	aad();
	return 0;
}
