/* compare.h - comparing a case's two results and printing a divergence (compare.c). */
#ifndef COMPARE_H
#define COMPARE_H

#include <stdbool.h>
#include <stdio.h>
#include "forms.h"
#include "gen.h"

/* True if the results agree; otherwise `what` lists the differing items. */
bool cmp_results(const struct tcase *t, const struct isa_out *nat, const struct isa_out *vmm,
		 char *what, size_t n);
void print_divergence(FILE *out, const struct form *f, const struct tcase *t, unsigned index,
		      uint64_t seed, const struct isa_out *nat, const struct isa_out *vmm,
		      const char *what);
/* One line: case number, bytes, the native outcome. */
void print_trace(FILE *out, unsigned index, const struct tcase *t, const struct isa_out *nat);
/* The bytes with their disassembly, the registers and the memory windows of a case. */
void print_input(FILE *out, const struct tcase *t);
/* The generator's ModRM operand address agrees with Capstone's decoding (--selfcheck). */
bool selfcheck_ea(const struct tcase *t, char *why, size_t n);
void compare_init(void);
void compare_fini(void);

#endif
