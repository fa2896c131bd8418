/* memory.h - guest RAM and the guest window (see memory.c). */
#ifndef MEMORY_H
#define MEMORY_H
#include <stddef.h>
#include "vmm.h"

int vm_mem_init(struct vm *vm, uint32_t bytes, char *err, size_t errlen);
uint8_t *vm_window(void);
void vm_protect_page(gpa_t page, bool protect);
/* After vmm_fetch_code: frame of the next page if the bytes ran into it (~1u: unmapped). */
extern gpa_t vmm_fetch_next;
#endif
