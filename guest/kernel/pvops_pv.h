/*
 * pvops_pv.h - the paravirtual backend of pvops.h (built with -DPV_GUEST: build/guest/pv.elf).
 *
 * No privileged or IOPL-sensitive instruction: every operation is a hypercall (`int $0x82`,
 * pv/abi.h) or a write to the page shared with the monitor (pv_shared, pv_guest.c):
 *   - interrupt flag: pv_shared.vif; enabling looks at pv_shared.pending and asks for
 *     delivery (PV_HC_EVENT_CHECK); idling is PV_SCHED_BLOCK
 *   - page-table entries: queued PV_HC_MMU_UPDATE lists, batched between
 *     pv_mmu_batch_begin/end together with CR3 switches (PV_HC_NEW_BASEPTR) and kernel
 *     stack switches in one PV_HC_MULTICALL (see "MMU" below); INVLPG: PV_HC_INVLPG
 *     (outside a batch only); CR2: pv_shared.cr2
 *   - GDT/TR/IDT: PV_HC_SET_GDT / PV_HC_SET_TRAP_TABLE; TSS.esp0: a plain store (the
 *     monitor reads the guest's TSS, pv/abi.h; PV_HC_STACK_SWITCH is not needed)
 *   - the timer is PV_HC_SET_TIMER, the console PV_HC_CONSOLE_IO (pic.c, console.c)
 *   - port 0xF4 (isa-debug-exit) is PV_SCHED_SHUTDOWN; other byte ports go through
 *     PV_HC_PORT_IO (pv_inb/pv_outb: only the port I/O nanobenchmark uses them)
 * Included by pvops.h only; the shared types and RDTSC come from pvops_common.h.
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
#include "pvops_common.h" /* struct pv_dtr, struct tss, pv_rdtsc (guest/common) */

extern volatile struct pv_shared_info pv_shared;
extern struct pv_dtr pv_gdt_loaded;

/* The MMU queue (pv_guest.c; see "MMU" below). */
#define PV_MMU_QUEUE 512          /* = PV_MMU_BATCH_MAX: one mmu_update call per flush */
#define PV_MC_QUEUE  32           /* multicall entries per flush */

extern unsigned pv_batch_depth;
void pv_mmu_queue(uint32_t *entry, uint32_t val);
void pv_mmu_queue_op(uint32_t ptr, uint32_t val);
uint32_t pv_mmu_pending_read(const uint32_t *entry);
void pv_mc_queue(uint32_t op, uint32_t a1, uint32_t a2);
void pv_mmu_flush(void);
extern unsigned pv_mmu_queued;

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

/* --- port I/O: byte accesses through PV_HC_PORT_IO; port 0xF4 (exit) is a sched_op -------- */
static inline uint8_t pv_inb(uint16_t port)
{
	return (uint8_t)pv_hypercall3(PV_HC_PORT_IO, port, 1, 0);
}

static inline void pv_outb(uint16_t port, uint8_t v)
{
	pv_hypercall3(PV_HC_PORT_IO, port, 1 | PV_PORTIO_WRITE, v);
}

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

/* The TSS registered with PV_HC_SET_GDT stays in guest memory and the monitor reads
 * SS0:ESP0 from it at every event from CPL 3 (pv/abi.h), so a plain store is enough, as
 * on hardware; PV_HC_STACK_SWITCH would store the same two fields. */
static inline void pv_set_kernel_stack(uint32_t esp0) { tss.esp0 = esp0; }

/* --- MMU ----------------------------------------------------------------------------------- */
/* Page-table writes are queued (pv_guest.c) and go to the monitor as PV_HC_MMU_UPDATE lists.
 * Outside a batch a write is sent at once; inside pv_mmu_batch_begin/end it waits for the
 * outermost pv_mmu_batch_end, or until the queue is full.  Inside a batch the other MMU
 * operations are queued too, behind the updates before them, and everything leaves as one
 * PV_HC_MULTICALL: pv_load_cr3 (new_baseptr).
 * pv_invlpg inside a batch needs nothing: an mmu_update takes effect at once, for every
 * linear address that used the entry (pv/abi.h), so the batch that changed an entry also
 * flushed it; outside a batch it is the PV_HC_INVLPG hypercall.
 * Reading an entry (pv_get_pte) sees the newest queued value: the queue keeps a hash of
 * the entries it holds. */

static inline void pv_set_pte(uint32_t *pte, uint32_t val)
{
	pv_mmu_queue(pte, val);
	if (!pv_batch_depth)
		pv_mmu_flush();
}

static inline void pv_set_pde(uint32_t *pde, uint32_t val) { pv_set_pte(pde, val); }

/* A dead directory: PV_MMU_RELEASE in the same queue, so after its teardown (pv/abi.h). */
static inline void pv_release_pd(uint32_t pd_pa)
{
	pv_mmu_queue_op(pd_pa | PV_MMU_RELEASE, 0);
	if (!pv_batch_depth)
		pv_mmu_flush();
}

static inline uint32_t pv_get_pte(const uint32_t *pte)
{
	return pv_mmu_queued ? pv_mmu_pending_read(pte) : *(volatile const uint32_t *)pte;
}

static inline void pv_mmu_batch_begin(void) { pv_batch_depth++; }

static inline void pv_mmu_batch_end(void)
{
	if (--pv_batch_depth == 0)
		pv_mmu_flush();
}

static inline void pv_load_cr3(uint32_t phys)
{
	if (pv_batch_depth)
		pv_mc_queue(PV_HC_NEW_BASEPTR, phys, 0);
	else
		pv_hypercall3(PV_HC_NEW_BASEPTR, phys, 0, 0);
}

static inline void pv_invlpg(uint32_t va)
{
	if (!pv_batch_depth)
		pv_hypercall3(PV_HC_INVLPG, va, 0, 0);
}
static inline uint32_t pv_read_cr2(void) { return pv_shared.cr2; }

static inline void pv_enable_global_pages(void)
{
	pv_hypercall3(PV_HC_PAGING_ENABLE, PV_CR3_KEEP, PV_CR4_PGE, 0);
}

#endif /* __ASSEMBLER__ */
#endif
