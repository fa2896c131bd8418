/*
 * pvops.h - every privileged operation the guest kernel performs, in one place.
 *
 * The native build (this file) turns each operation into the raw instruction, so the image
 * runs on bare metal, under qemu-system-i386 and under vmm386's translator.  A paravirtual
 * build replaces this header with one whose functions issue hypercalls instead (DESIGN.md
 * §6); nothing else in the kernel should contain a privileged instruction.  The exception is
 * the self test (selftest*.c), whose whole point is to execute the raw instructions.
 *
 * Assembly files get the few operations they need (the interrupt return path) as macros.
 */
#ifndef GUEST_PVOPS_H
#define GUEST_PVOPS_H

#ifdef __ASSEMBLER__

#define PV_IRET iret
#define PV_CLI  cli
#define PV_HLT  hlt

#else

#include <stdint.h>
#include "pvops_native.h" /* port I/O, LGDT/LIDT/LTR, stopping, RDTSC (guest/common) */

/* Interrupt flag and halting (CLI, STI, PUSHF: pv_irq_disable, pv_irq_enable, pv_save_flags
 * in pvops_native.h). */
static inline void pv_hlt(void) { asm volatile("hlt" ::: "memory"); }
/* Enable interrupts and wait for one without losing a wake-up (STI's one-instruction shadow). */
static inline void pv_sti_hlt(void) { asm volatile("sti; hlt" ::: "memory"); }

static inline void pv_restore_flags(uint32_t f)
{
	asm volatile("pushl %0; popfl" :: "r"(f) : "memory", "cc");
}

/* Port I/O: the byte forms and OUTL are in pvops_native.h. */
static inline uint16_t pv_inw(uint16_t port)
{
	uint16_t v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t pv_inl(uint16_t port)
{
	uint32_t v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void pv_outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }

/* Descriptor tables (LGDT, LIDT and LTR: pvops_native.h). */
static inline void pv_sgdt(struct pv_dtr *d) { asm volatile("sgdt %0" : "=m"(*d)); }
static inline void pv_sidt(struct pv_dtr *d) { asm volatile("sidt %0" : "=m"(*d)); }
static inline void pv_lldt(uint16_t sel) { asm volatile("lldt %0" :: "r"(sel) : "memory"); }

/* Control registers. */
#define PV_CR(n)                                                                         \
	static inline uint32_t pv_read_cr##n(void)                                       \
	{                                                                                \
		uint32_t v;                                                              \
		asm volatile("mov %%cr" #n ", %0" : "=r"(v));                            \
		return v;                                                                \
	}                                                                                \
	static inline void pv_write_cr##n(uint32_t v)                                    \
	{                                                                                \
		asm volatile("mov %0, %%cr" #n :: "r"(v) : "memory");                    \
	}
PV_CR(0)
PV_CR(2)
PV_CR(3)
PV_CR(4)
#undef PV_CR

static inline void pv_clts(void) { asm volatile("clts" ::: "memory"); }
static inline void pv_invlpg(uint32_t addr) { asm volatile("invlpg (%0)" :: "r"(addr) : "memory"); }
static inline void pv_wbinvd(void) { asm volatile("wbinvd" ::: "memory"); }

/* Model-specific registers and CPUID (RDTSC: pvops_common.h). */
static inline uint64_t pv_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void pv_wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void pv_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

#endif /* __ASSEMBLER__ */
#endif
