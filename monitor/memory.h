/* memory.h - guest RAM and the guest window (see memory.c). */
#ifndef MEMORY_H
#define MEMORY_H
#include <stddef.h>
#include "vmm.h"

int vm_mem_init(struct vm *vm, uint32_t bytes, char *err, size_t errlen);
uint8_t *vm_window(void);
void vm_protect_page(gpa_t page, bool protect);
/* What a monitor write to guest RAM [gpa, gpa+len) means: the shadow MMU forgets entries
 * derived from it and translations on it are dropped (the emulator's hook, emu_mon). */
void vmm_ram_written(struct vm *vm, gpa_t gpa, uint32_t len);
/* A TLB flush: the shadow MMU's and the device-memory read cache's (adaptive.c). */
void vmm_tlb_flush(struct vcpu *c, gla_t la, bool all);
/* Translation-relevant vCPU state changed (the emulator's hook; nothing to do today). */
void vmm_mode_changed(struct vcpu *c);
#endif
