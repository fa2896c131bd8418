/*
 * isa.h - what the differential harness (isa-diff, 64-bit, linked with libvmm.a) and the
 * native runner (native_runner, built with gcc -m32) share: the fixed address layout in
 * which a test instruction runs, and the wire format of one test case and its result.
 *
 * Both sides run the same instruction bytes at the same address with the same data at the
 * same addresses, so every address an instruction computes or stores is comparable:
 *
 *   ISA_CODE      one code page; the instruction under test starts at its first byte.
 *                 Landing offsets (fall-through, branch target) hold HLT in the guest and
 *                 a small exit pad natively; the rest of the page is HLT on both sides.
 *   ISA_DATA      the data area.  Flat DS/ES/SS operands land in its first 64 KiB; FS and
 *                 GS have non-zero bases inside it; in the non-flat environment DS, ES and
 *                 SS share a third base.  16-bit addressing reaches base + [0, 0x10000),
 *                 so every region is 64 KiB plus a margin.  Bytes outside the windows of a
 *                 case hold a fixed background pattern (isa_bg) which both sides restore
 *                 after each case and verify after each form (stray writes).
 *   ISA_ALTSTACK  the native runner's signal stack (guest ESP values are random).
 *
 * Wire format: only uint32_t and uint8_t fields, so the layout is the same in the i386 and
 * x86-64 ABIs (checked below).  A message is sent up to its mem[] array plus the bytes the
 * windows use, so cases stay small.
 */
#ifndef ISA_H
#define ISA_H

#include <stddef.h>
#include <stdint.h>

#define ISA_CODE        0x01000000u
#define ISA_CODE_SIZE   0x1000u
#define ISA_DATA        0x01100000u
#define ISA_DATA_SIZE   0x00048000u
#define ISA_FS_BASE     (ISA_DATA + 0x10000u)
#define ISA_GS_BASE     (ISA_DATA + 0x20000u)
#define ISA_NF_BASE     (ISA_DATA + 0x30000u)   /* DS = ES = SS base in ISA_ENV_NONFLAT */
#define ISA_ALTSTACK    0x01200000u
#define ISA_ALTSTACK_SIZE 0x10000u
#define ISA_GUEST_RAM   (32u << 20)             /* guest RAM that holds code and data */

#define ISA_BRANCH_REL  32u     /* branch targets lie this far after the fall-through */
#define ISA_PAD_MAX     32u     /* bytes of one native exit pad (fits between landings) */
#define ISA_CODE_DIRTY  128u    /* bytes of the code page a case may change */

/* Segment environments: which segments have non-zero bases (FS/GS always do).  In
 * ISA_ENV_LIMIT, FS has the byte-granular limit ISA_FS_LIMIT and GS is read-only, so
 * segment limit and type checks (#GP) can be compared too. */
enum isa_env { ISA_ENV_FLAT = 0, ISA_ENV_NONFLAT = 1, ISA_ENV_LIMIT = 2 };
#define ISA_FS_LIMIT 0xFFFu

enum isa_cmd {
	ISA_CMD_RUN = 1,    /* run one case, answer with struct isa_out */
	ISA_CMD_CHECK = 2,  /* count data-area bytes that differ from isa_bg, restore them */
};

#define ISA_MAXWIN  4
#define ISA_MEMMAX  1536u
#define ISA_NO_EXC  0xFFFFFFFFu
#define ISA_EXC_LEFT 0xFEu      /* pseudo-vector: execution left the code page */

/* EFLAGS bits an instruction can change in user mode, and their union. */
#define ISA_FL_CF 0x001u
#define ISA_FL_PF 0x004u
#define ISA_FL_AF 0x010u
#define ISA_FL_ZF 0x040u
#define ISA_FL_SF 0x080u
#define ISA_FL_DF 0x400u
#define ISA_FL_OF 0x800u
#define ISA_FL_ARITH 0x8D5u
#define ISA_FL_USER  (ISA_FL_ARITH | ISA_FL_DF)

/* Offsets in an FXSAVE image (the legacy area both modes share). */
#define FX_FCW   0
#define FX_FSW   2
#define FX_FTW   4
#define FX_MXCSR 24
#define FX_ST(i)  (32 + 16 * (i))
#define FX_XMM(i) (160 + 16 * (i))

struct isa_win {
	uint32_t addr;      /* linear address */
	uint32_t len;
};

struct isa_in {
	uint32_t cmd;
	uint32_t env;       /* enum isa_env */
	uint32_t code_len;  /* bytes of the instruction under test */
	uint32_t npad;      /* landing offsets in pad[] */
	uint32_t pad[2];
	uint8_t code[16];
	uint32_t regs[8];   /* EAX ECX EDX EBX ESP EBP ESI EDI */
	uint32_t eflags;    /* only ISA_FL_USER bits are used */
	uint32_t nwin;
	struct isa_win win[ISA_MAXWIN];
	uint8_t fpu[512];   /* FXSAVE image loaded before the instruction */
	uint8_t mem[ISA_MEMMAX];  /* window contents, concatenated in window order */
};

struct isa_out {
	uint32_t status;    /* RUN: 0; CHECK: number of bytes that differed */
	uint32_t regs[8];
	uint32_t eflags;
	uint32_t eip;       /* where execution stopped, relative to ISA_CODE */
	uint32_t exc;       /* exception vector, or ISA_NO_EXC */
	uint32_t err;       /* native only: error code */
	uint32_t addr;      /* native only: fault address (CHECK: first differing byte) */
	uint32_t memlen;
	uint8_t fpu[512];   /* FXSAVE image after the instruction (or at the fault) */
	uint8_t mem[ISA_MEMMAX];
};

_Static_assert(sizeof(struct isa_in) == 4 * 6 + 16 + 4 * 10 + 8 * ISA_MAXWIN + 512 + ISA_MEMMAX,
	       "isa_in layout must not depend on the ABI");
_Static_assert(sizeof(struct isa_out) == 4 * 15 + 512 + ISA_MEMMAX,
	       "isa_out layout must not depend on the ABI");

static inline uint32_t isa_memlen(const struct isa_in *in)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < in->nwin && i < ISA_MAXWIN; i++)
		n += in->win[i].len;
	return n;
}

static inline size_t isa_in_size(const struct isa_in *in)
{
	return offsetof(struct isa_in, mem) + isa_memlen(in);
}

static inline size_t isa_out_size(const struct isa_out *out)
{
	return offsetof(struct isa_out, mem) + out->memlen;
}

/* Background byte of the data area at linear address a (not a constant, so that a wrong
 * effective address reads a value that differs from the right one). */
static inline uint8_t isa_bg(uint32_t a)
{
	uint32_t x = a * 0x9E3779B1u;
	return (uint8_t)((x ^ (x >> 15)) >> 13);
}

/* Native exit pad at a landing offset: set DS flat, record the landing, jump to the exit.
 * Built by the runner; declared here so its size stays below ISA_PAD_MAX. */
#define ISA_PAD_BYTES 22u
_Static_assert(ISA_PAD_BYTES <= ISA_PAD_MAX && ISA_PAD_MAX <= ISA_BRANCH_REL, "pad size");

#endif
