/*
 * gen.h - test-case generation: one form + (seed, case number) -> one reproducible case.
 *
 * A case is the struct isa_in both executors receive, plus what the comparison needs to
 * know about it: which EFLAGS bits are defined for these inputs, and which bytes of memory
 * hold values that legitimately differ (instruction pointers in FPU environment images).
 */
#ifndef GEN_H
#define GEN_H

#include <stdint.h>
#include "forms.h"
#include "isa.h"

struct tcase {
	struct isa_in in;
	uint32_t flag_mask;      /* EFLAGS bits compared */
	uint32_t ign_lo, ign_hi; /* linear addresses [lo, hi) not compared (empty if equal) */
	uint32_t mem_lin;        /* linear address of the ModRM operand, 0 if none */
};

/* Deterministic: the same (form name, seed, index) always gives the same case. */
void gen_case(const struct form *f, uint64_t seed, unsigned index, struct tcase *t);

#endif
