/*
 * pvops_common.h - what every pv-ops backend shares: the operand of LGDT/LIDT, the
 * hardware TSS, and RDTSC.
 *
 * Included by guest/bare/pvops.h and by both backends of guest/kernel/pvops.h (native and
 * pvops_pv.h).  RDTSC is not privileged (CR4.TSD stays clear in every image), so it is the
 * same instruction in every backend; it lives here so that no backend repeats it.
 */
#ifndef GUEST_PVOPS_COMMON_H
#define GUEST_PVOPS_COMMON_H
#include <stdint.h>

/* Operand of LGDT/LIDT/SGDT/SIDT. */
struct pv_dtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

/* The hardware task-state segment.  The kernels use ss0/esp0 and iomap; the bare self
 * test also builds TSSes with an I/O permission bitmap (guest/bare/kernel.h). */
struct tss {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
} __attribute__((packed));
extern struct tss tss;           /* the TSS of every image (guest/common/desc.c) */

static inline uint64_t pv_rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#endif
