/* vmm_side.h - test cases through vmm386's translator, in this process (vmm_side.c). */
#ifndef VMM_SIDE_H
#define VMM_SIDE_H

#include <stddef.h>
#include "isa.h"

int vmm_side_init(char *err, size_t errlen);
void vmm_side_flush(void);
/* 0, or -1 if the guest stopped in a way no instruction can (why says how). */
int vmm_side_run(const struct isa_in *in, struct isa_out *out, const char **why);
uint32_t vmm_side_check(uint32_t *first);
int vmm_side_classify(const struct isa_in *in);   /* enum xl_class */

#endif
