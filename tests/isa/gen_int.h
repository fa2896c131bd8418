/*
 * gen_int.h - state shared by the case generator's files (gen.c: encoding, addressing,
 * windows; gen_kinds.c: what each form kind arranges; gen_fpu.c: x87/SSE state and
 * floating-point memory contents).  Private to the generator.
 */
#ifndef GEN_INT_H
#define GEN_INT_H

#include <stdbool.h>
#include "gen.h"

#define GEN_MAXWIN 8

struct gwin {
	uint32_t addr, len;
	uint8_t buf[ISA_MEMMAX];
};

struct gen {
	const struct form *f;
	struct tcase *t;
	uint64_t rng;
	unsigned len;            /* bytes of the instruction so far */
	unsigned imm_off;        /* offset of the immediate in the code */
	int reg, rm;             /* ModRM.reg, and ModRM.rm when mod = 3 (else -1) */
	int opreg;               /* register in the opcode byte, or -1 */
	uint32_t fixed;          /* registers whose values the addressing decided */
	bool has_mem;
	uint32_t lin;            /* linear address of the ModRM/moffs memory operand */
	uint32_t dyn_undef;      /* undefined EFLAGS bits that depend on this case */
	uint32_t esp_disp;       /* disp8 of an [esp+disp8] stack operand */
	unsigned nwin;
	struct gwin win[GEN_MAXWIN];
};

/* Random numbers (gen.c). */
uint32_t g_r32(struct gen *g);
uint32_t g_rn(struct gen *g, uint32_t n);         /* 0 .. n-1 */
bool g_pct(struct gen *g, unsigned p);            /* true with probability p % */
uint32_t g_val(struct gen *g);                    /* biased: special, small or random */
void g_bytes(struct gen *g, uint8_t *p, unsigned n);

/* Segments, targets, memory (gen.c). */
uint32_t g_segbase(const struct gen *g, int seg);
uint32_t g_pick_off(struct gen *g, uint32_t base, unsigned size, unsigned align, bool a16);
uint8_t *g_win(struct gen *g, uint32_t addr, uint32_t len);   /* add (merge) a window */
uint8_t *g_mem(struct gen *g, uint32_t addr);                  /* byte in a window */
uint32_t g_get(struct gen *g, uint32_t addr, unsigned size);
void g_put(struct gen *g, uint32_t addr, unsigned size, uint32_t v);

/* The ModRM r/m operand (register or memory) of osize bytes. */
uint32_t g_rm_get(struct gen *g, unsigned size);
void g_rm_put(struct gen *g, unsigned size, uint32_t v);
bool g_rm_settable(struct gen *g);
/* A GPR's low `size` bytes (size 1: AL..BL for 0-3, AH..BH for 4-7). */
uint32_t g_reg_get(struct gen *g, int r, unsigned size);
void g_reg_put(struct gen *g, int r, unsigned size, uint32_t v);

/* Kind-specific arrangements (gen_kinds.c). */
uint32_t g_kind_avoid(struct gen *g);          /* before addressing */
void g_kind_adjust(struct gen *g);             /* after windows exist */

/* x87/SSE (gen_fpu.c). */
void g_fpu_state(struct gen *g, uint8_t *fx);
void g_fp_fill(struct gen *g, uint8_t *p, unsigned n, unsigned fp);

#endif
