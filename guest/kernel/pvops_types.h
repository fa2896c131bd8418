/* pvops_types.h - the types shared by both pv-ops backends (pvops.h, pvops_pv.h). */
#ifndef KERNEL_PVOPS_TYPES_H
#define KERNEL_PVOPS_TYPES_H
#include <stdint.h>

/* Operand of LGDT/LIDT. */
struct pv_dtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

/* The hardware task-state segment; only ss0/esp0 and iomap are used. */
struct tss {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
} __attribute__((packed));
extern struct tss tss;
#endif
