/*
 * pvops.h - every privileged operation of the multi-process kernel, in one place.
 *
 * This is the native backend: each operation is the plain privileged instruction (or, for
 * page-table entries and the TSS, the plain memory write the hardware reads).  The kernel
 * runs unchanged on bare metal, under qemu-system-i386 and under vmm386's translator.
 *
 * The paravirtual backend (pvops_pv.h, DESIGN.md §6) replaces this header:
 *   - interrupt flag ops   -> a virtual IF in a page shared with the monitor, events as upcalls
 *   - pv_set_pte/pv_set_pde -> queued mmu_update hypercalls, flushed by pv_mmu_batch_end()
 *   - pv_load_cr3          -> new_baseptr (inside a batch: in the same multicall)
 *   - pv_invlpg            -> nothing inside a batch (mmu_update takes effect at once),
 *                             the invlpg hypercall outside one
 *   - pv_release_pd        -> an mmu_update release of the dead directory
 *   - pv_set_kernel_stack  -> a plain store into the TSS, which the monitor reads
 *   - pv_lidt              -> set_trap_table
 * so the hooks are deliberately narrow, and NOTHING else in guest/kernel/ may contain a
 * privileged instruction or write a live page-table entry directly.  In particular every
 * write of a PDE or PTE that may be reachable from a loaded CR3 goes through pv_set_pte /
 * pv_set_pde, and bulk updates (fork, exec, exit, sbrk shrink) are bracketed by
 * pv_mmu_batch_begin/end so a PV backend can batch them into one hypercall; inside a batch
 * an entry written earlier in the batch must be read with pv_get_pte (the write may still
 * be queued), and CR3 loads and kernel-stack changes may be queued behind the updates.
 * Page-table frames that are not yet linked into any directory are zeroed with plain
 * memory writes (a PV backend pins a table when it is linked, through pv_set_pde).
 *
 * Assembly (boot.S) gets the few operations it needs as macros: the boot-time paging
 * switch, IRET, CLI and HLT.
 */
#ifndef KERNEL_PVOPS_H
#define KERNEL_PVOPS_H

#define PV_CR0_PG  0x80000000
#define PV_CR0_WP  0x00010000
#define PV_CR4_PSE 0x00000010
#define PV_CR4_PGE 0x00000080

#ifdef PV_GUEST
#include "pvops_pv.h"    /* the paravirtual backend (hypercalls, pv/abi.h) */
#elif defined(__ASSEMBLER__)

#define PV_IRET iret
#define PV_BOOT_CLI cli
#define PV_CLI  cli
#define PV_HLT  hlt

/* Boot: CR3 = \pd (physical), CR4.PSE, then CR0.PG|WP.  Clobbers EAX. */
.macro PV_BOOT_PAGING pd
	movl \pd, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $PV_CR4_PSE, %eax
	movl %eax, %cr4
	movl %cr0, %eax
	orl $(PV_CR0_PG | PV_CR0_WP), %eax
	movl %eax, %cr0
.endm

#else

#include <stdint.h>
#include "pvops_native.h" /* port I/O, LGDT/LIDT/LTR, CLI/STI, pv_halt_forever, RDTSC */

/* --- interrupt flag and halting --------------------------------------------------------- */

/* Enable interrupts, wait for one, disable again; no lost wake-up (STI's shadow). */
static inline void pv_idle(void) { asm volatile("sti; hlt; cli" ::: "memory"); }

static inline uint32_t pv_irq_save(void)
{
	uint32_t f = pv_save_flags();
	pv_irq_disable();
	return f;
}

static inline void pv_irq_restore(uint32_t f)
{
	if (f & 0x200)
		pv_irq_enable();
}

/* --- the kernel stack for ring transitions ----------------------------------------------- */
/* The stack the CPU switches to on an interrupt or exception from CPL 3. */
static inline void pv_set_kernel_stack(uint32_t esp0) { tss.esp0 = esp0; }

/* --- MMU ----------------------------------------------------------------------------------- */
static inline void pv_set_pte(uint32_t *pte, uint32_t val) { *(volatile uint32_t *)pte = val; }
static inline void pv_set_pde(uint32_t *pde, uint32_t val) { *(volatile uint32_t *)pde = val; }
/* Read an entry written with pv_set_pte/pv_set_pde (a PV backend may still hold it queued). */
static inline uint32_t pv_get_pte(const uint32_t *pte) { return *(volatile const uint32_t *)pte; }
static inline void pv_mmu_batch_begin(void) {}
static inline void pv_mmu_batch_end(void) {}
/* A page directory is dead and its frame may be reused (a PV backend says so). */
static inline void pv_release_pd(uint32_t pd_pa) { (void)pd_pa; }

static inline void pv_load_cr3(uint32_t phys) { asm volatile("mov %0, %%cr3" :: "r"(phys) : "memory"); }
static inline void pv_invlpg(uint32_t va) { asm volatile("invlpg (%0)" :: "r"(va) : "memory"); }

static inline uint32_t pv_read_cr2(void)
{
	uint32_t v;
	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* Global pages for the kernel's mappings (CR4.PGE). */
static inline void pv_enable_global_pages(void)
{
	uint32_t v;
	asm volatile("mov %%cr4, %0" : "=r"(v));
	v |= PV_CR4_PGE;
	asm volatile("mov %0, %%cr4" :: "r"(v) : "memory");
}

#endif /* __ASSEMBLER__ */
#endif
