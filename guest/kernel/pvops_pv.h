/*
 * pvops_pv.h - the paravirtual backend of pvops.h (built with -DPV_GUEST: build/guest/pv.elf).
 *
 * No privileged or IOPL-sensitive instruction: every operation is a hypercall (`int $0x82`,
 * pv/abi.h) or a write to the page shared with the monitor (pv_shared, pv_guest.c):
 *   - interrupt flag: pv_shared.vif; enabling looks at pv_shared.pending and asks for
 *     delivery (PV_HC_EVENT_CHECK); idling is PV_SCHED_BLOCK
 *   - page-table entries: PV_HC_MMU_UPDATE, one validated entry per call (the callers read
 *     entries back right after writing them, so nothing is deferred; batching is a later
 *     step); CR3: PV_HC_NEW_BASEPTR; INVLPG: PV_HC_INVLPG; CR2: pv_shared.cr2
 *   - GDT/TR/IDT: PV_HC_SET_GDT / PV_HC_SET_TRAP_TABLE; TSS.esp0: PV_HC_STACK_SWITCH
 *   - the timer is PV_HC_SET_TIMER, the console PV_HC_CONSOLE_IO (pic.c, console.c)
 *   - port 0xF4 (isa-debug-exit) is PV_SCHED_SHUTDOWN
 * Included by pvops.h only; the shared types come from pvops_types.h.
 */
#ifndef KERNEL_PVOPS_PV_H
#define KERNEL_PVOPS_PV_H
#include "../../pv/abi.h"

#define PV_KBASE 0xC0000000u

#ifdef __ASSEMBLER__

/* Events cannot arrive before the shared page is registered (kmain): nothing to do. */
#define PV_BOOT_CLI
#define PV_CLI movl $0, pv_shared + PV_SI_VIF
/* Only ever used with events off (after kmain returns): stop the machine. */
#define PV_HLT movl $PV_HC_SCHED_OP, %eax; movl $PV_SCHED_SHUTDOWN, %ebx; \
	       movl $0x7F, %ecx; int $PV_HYPERCALL_VEC

/* IRET with the virtual IF restored from the frame's EFLAGS.IF (the monitor pushes vif
 * there).  IRET itself exits to the monitor, which delivers pending events right after. */
.macro PV_IRET
	testl $0x200, 8(%esp)
	jz 9f
	movl $1, pv_shared + PV_SI_VIF
9:	iret
.endm

/* Boot: CR3 = \pd (physical), CR4.PSE, CR0.PG|WP through PV_HC_PAGING_ENABLE.
 * Clobbers EAX, ECX, EDX (EBX, the multiboot info, is preserved). */
.macro PV_BOOT_PAGING pd
	movl %ebx, %edx
	movl \pd, %ebx
	movl $PV_CR4_PSE, %ecx
	movl $PV_HC_PAGING_ENABLE, %eax
	int $PV_HYPERCALL_VEC
	movl %edx, %ebx
.endm

#else

#include <stdint.h>
#include "pvops_types.h"

extern volatile struct pv_shared_info pv_shared;
extern struct pv_dtr pv_gdt_loaded;
void pv_mmu_failed(uint32_t ptr, uint32_t val, int32_t err) __attribute__((noreturn));

static inline int32_t pv_hypercall3(uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3)
{
	int32_t r;
	asm volatile("int $0x82" : "=a"(r) : "a"(nr), "b"(a1), "c"(a2), "d"(a3) : "memory");
	return r;
}

/* --- interrupt flag and halting --------------------------------------------------------- */
static inline void pv_irq_disable(void)
{
	pv_shared.vif = 0;
	asm volatile("" ::: "memory");
}

static inline void pv_irq_enable(void)
{
	asm volatile("" ::: "memory");
	pv_shared.vif = 1;
	asm volatile("" ::: "memory");
	if (pv_shared.pending)
		pv_hypercall3(PV_HC_EVENT_CHECK, 0, 0, 0);
}

/* Enable events, wait for one, disable again: PV_SCHED_BLOCK sets vif and sleeps only
 * when nothing is pending, so no wake-up is lost. */
static inline void pv_idle(void)
{
	pv_hypercall3(PV_HC_SCHED_OP, PV_SCHED_BLOCK, 0, 0);
	pv_irq_disable();
}

static inline __attribute__((noreturn)) void pv_halt_forever(void)
{
	pv_irq_disable();
	for (;;)
		pv_hypercall3(PV_HC_SCHED_OP, PV_SCHED_SHUTDOWN, 0x7F, 0);
}

static inline uint32_t pv_irq_save(void)
{
	uint32_t f = pv_shared.vif ? 0x200 : 0;
	pv_irq_disable();
	return f;
}

static inline void pv_irq_restore(uint32_t f)
{
	if (f & 0x200)
		pv_irq_enable();
}

/* --- "port I/O": only the exit port exists ------------------------------------------------ */
static inline void pv_outl(uint16_t port, uint32_t v)
{
	if (port == 0xF4)
		pv_hypercall3(PV_HC_SCHED_OP, PV_SCHED_SHUTDOWN, v, 0);
}

/* --- descriptor tables and the kernel stack for ring transitions -------------------------- */
static inline void pv_lgdt(const struct pv_dtr *d)
{
	pv_gdt_loaded = *d;
	pv_hypercall3(PV_HC_SET_GDT, d->base, d->limit, 0);
}

static inline void pv_ltr(uint16_t sel)
{
	pv_hypercall3(PV_HC_SET_GDT, pv_gdt_loaded.base, pv_gdt_loaded.limit, sel);
}

static inline void pv_lidt(const struct pv_dtr *d)
{
	pv_hypercall3(PV_HC_SET_TRAP_TABLE, d->base, d->limit, 0);
}

static inline void pv_set_kernel_stack(uint32_t esp0)
{
	pv_hypercall3(PV_HC_STACK_SWITCH, tss.ss0, esp0, 0);
}

/* --- MMU ----------------------------------------------------------------------------------- */
static inline void pv_mmu_write(uint32_t *entry, uint32_t val)
{
	struct pv_mmu_update u = { (uint32_t)entry - PV_KBASE, val };
	int32_t r = pv_hypercall3(PV_HC_MMU_UPDATE, (uint32_t)&u, 1, 0);
	if (r < 0)
		pv_mmu_failed(u.ptr, val, r);
}

static inline void pv_set_pte(uint32_t *pte, uint32_t val) { pv_mmu_write(pte, val); }
static inline void pv_set_pde(uint32_t *pde, uint32_t val) { pv_mmu_write(pde, val); }
static inline void pv_mmu_batch_begin(void) {}
static inline void pv_mmu_batch_end(void) {}

static inline void pv_load_cr3(uint32_t phys) { pv_hypercall3(PV_HC_NEW_BASEPTR, phys, 0, 0); }
static inline void pv_invlpg(uint32_t va) { pv_hypercall3(PV_HC_INVLPG, va, 0, 0); }
static inline uint32_t pv_read_cr2(void) { return pv_shared.cr2; }

static inline void pv_enable_global_pages(void)
{
	pv_hypercall3(PV_HC_PAGING_ENABLE, PV_CR3_KEEP, PV_CR4_PGE, 0);
}

/* --- time stamp counter: RDTSC is not privileged (CR4.TSD is clear) ----------------------- */
static inline uint64_t pv_rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#endif /* __ASSEMBLER__ */
#endif
