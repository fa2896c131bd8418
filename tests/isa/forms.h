/*
 * forms.h - the table of instruction forms the differential harness tests.
 *
 * A form is one encoding shape: prefixes, opcode bytes, whether there is a ModRM byte and
 * whether its r/m names a register or memory, the immediate size, the segment environment
 * and a "kind" that tells the case generator (gen.c) what the instruction needs beyond
 * random inputs (a divisor that does not always overflow, a stack pointer in the data
 * area, string pointers and counts, a branch target, ...).  The table is generated at
 * start-up from compact templates (forms_int.c, forms_x87.c, forms_simd.c): each template
 * expands into its operand sizes, register and memory forms, LOCK, segment-override and
 * 16-bit-addressing variants.
 *
 * The EFLAGS bits the SDM leaves undefined are kept per form (undef); for shifts and
 * rotates they depend on the count and are worked out per case by the generator.
 */
#ifndef FORMS_H
#define FORMS_H

#include <stdbool.h>
#include <stdint.h>

enum rm_kind { RM_NONE, RM_REG, RM_MEM };

/* What the case generator must arrange besides random registers, flags and memory. */
enum form_kind {
	K_PLAIN,
	K_LEA,        /* address only: registers fully random, no memory window */
	K_DIV,        /* sub: 0 unsigned, 1 signed; divisor and dividend biased */
	K_SHIFT,      /* sub: SH_*; count biased, undefined flags per count */
	K_BT,         /* BT/BTS/BTR/BTC with a register bit offset into memory: bounded */
	K_STRING,     /* sub: STR_*; ESI/EDI/ECX set up, DF from the form */
	K_XLAT,
	K_STACK,      /* sub: STK_*; ESP (and EBP) in the data area */
	K_BRANCH,     /* sub: BR_*; target = fall-through + ISA_BRANCH_REL */
	K_MOFFS,      /* A0-A3: the moffs immediate is the target offset */
	K_CMPXCHG,    /* accumulator equals the destination half of the time */
	K_CMPXCHG8B,
	K_BOUND,
	K_MASKMOV,    /* implicit DS:EDI destination */
	K_BCD,        /* AL/AH biased to BCD digits; AAM/AAD immediate biased (0 raises #DE) */
	K_LDMXCSR,    /* memory holds a valid MXCSR most of the time */
	K_FXRSTOR,    /* memory holds a loadable FXSAVE image most of the time */
	K_SETFPU,     /* x87 environment / state loads: memory biased to sane control words */
};

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR, SH_SHLD, SH_SHRD };
enum { STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS };
enum { REP_NONE, REP_E, REP_NE };   /* F3 (REP/REPE) and F2 (REPNE) */
enum {
	STK_PUSH, STK_POP, STK_PUSHA, STK_POPA, STK_ENTER, STK_LEAVE, STK_CALL, STK_CALL_IND,
	STK_RET, STK_RET_IMM,
};
enum { BR_REL, BR_IND, BR_LOOP };

/* Segment of a memory operand when there is no override. */
#define SEG_NONE 0xFF

struct form {
	char name[80];
	const char *group;     /* "int", "bcd", "string", "x87", "mmx", "sse", "sse2" */
	uint8_t pfx[6], npfx;  /* legacy prefixes, in order */
	uint8_t op[3], nop;    /* opcode bytes (a fixed ModRM byte may be the last one) */
	int8_t ext;            /* ModRM.reg = ext (/digit), or -1 for a random register */
	int8_t rmfix;          /* RM_REG: r/m register fixed, or -1 for random */
	uint8_t rm;            /* enum rm_kind */
	uint8_t imm;           /* immediate bytes (ENTER: 3 = imm16 + imm8) */
	uint16_t msize;        /* bytes the memory operand spans */
	uint8_t align;         /* alignment the operand wants (0: msize) */
	uint8_t env;           /* enum isa_env */
	uint8_t seg;           /* segment override S_* (vmm.h numbering) or SEG_NONE */
	bool a16;              /* 0x67: 16-bit addressing */
	uint8_t osize;         /* operand size in bytes (1, 2, 4) where it matters */
	uint8_t kind, sub, rep;
	uint8_t avoid;         /* registers (bit mask) never used as address registers */
	uint16_t undef;        /* EFLAGS bits the SDM leaves undefined */
	bool fpu_unmasked;     /* x87/SSE exceptions unmasked in the input state */
	bool fpu_pending;      /* input x87 state has an unmasked exception pending */
	uint16_t mask_off, mask_len;   /* bytes of the memory operand not compared */
	bool opreg;            /* register number in the low 3 bits of the last opcode byte */
	int8_t df;             /* DF on input: 0, 1, or -1 for random */
	uint8_t fp;            /* FP_*: how to fill the memory operand */
	bool esp_rel;          /* K_STACK: operand is [esp+disp8], relative to the ESP in use */
};

enum { FP_RAW, FP_F32, FP_F64, FP_F80, FP_BCD };

/* Addressing variants of a form (forms.c). */
enum {
	V_PLAIN = 1 << 0, V_LOCK = 1 << 1, V_FS = 1 << 2, V_GS = 1 << 3, V_ES = 1 << 4,
	V_SS = 1 << 5, V_DS = 1 << 6, V_CS = 1 << 7, V_A16 = 1 << 8, V_NONFLAT = 1 << 9,
	V_ROT = 1 << 10, V_FSLIM = 1 << 11, V_GSRO = 1 << 12,
};
#define V_LIM (V_FSLIM | V_GSRO)
#define V_STD (V_PLAIN | V_FS | V_A16 | V_ROT)

/* Build the table (idempotent).  Returns the number of forms. */
unsigned forms_build(void);
const struct form *forms_get(unsigned i);

/* Used by the template files. */
struct form *form_new(const char *group);
void form_prefix(struct form *f, uint8_t p);
/* One form per variant in vars; name gets the variant's tag appended. */
void forms_variants(const struct form *base, unsigned vars, const char *name);
void form_finish(struct form *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void forms_int(void);
void forms_x87(void);
void forms_simd(void);

#endif
