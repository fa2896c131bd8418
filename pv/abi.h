/*
 * abi.h - the vmm386 paravirtual hypercall ABI, version 1.  This header is public: the
 * guest kernel (guest/kernel/pvops_pv.h) includes it, as does the monitor (pv/pv.c).  It
 * must stay freestanding (stdint only) and assembly-safe (#ifndef __ASSEMBLER__ below).
 *
 * Declaring PV: the image carries an ELF note (SHT_NOTE section or PT_NOTE segment) with
 * name "vmm386" and type PV_NOTE_TYPE; its descriptor is one 32-bit word, the ABI version
 * the guest was built for (PV_ABI_VERSION).  Such an image is booted exactly like a
 * multiboot kernel (EAX = 0x2BADB002, EBX = multiboot info, CPL 0, flat segments, paging
 * off); it must not execute any privileged or IOPL-sensitive instruction (CLI, STI, HLT,
 * IN, OUT, LGDT, LIDT, LTR, MOV CRn, INVLPG...): it asks the monitor instead.
 *
 * Hypercall: `int $0x82` at CPL 0 with the number in EAX and arguments in EBX, ECX, EDX,
 * ESI, EDI.  The result comes back in EAX (0 or a positive value on success, -PV_Exxx on
 * failure); every other register is preserved.  From CPL 3 the vector is an ordinary IDT
 * vector (the kernel leaves it absent, so user mode gets #GP/#NP).
 *
 * Events: the monitor raises an event by setting its bit in shared_info.pending.  It
 * delivers the event only while shared_info.vif is 1, as an interrupt through the
 * registered trap table at the vector PV_EVENT_VECTOR(event) (the same frame the CPU builds
 * for an external interrupt), and then clears vif, exactly as an interrupt gate clears IF.
 * Every event, exception or INT n the monitor delivers through an interrupt gate clears
 * vif, and the EFLAGS image it pushes carries IF = the vif at that moment, so the guest's
 * IRET path knows whether to set vif again (PV_IRET: vif = saved IF, then a plain IRET).
 * A guest that sets vif to 1 must then look at `pending` and, if it is non-zero, make the
 * PV_HC_EVENT_CHECK hypercall so that the events are delivered at once.
 *
 * Page tables.  A PV guest changes an entry that a page directory may reach only with
 * PV_HC_MMU_UPDATE (directly or inside a multicall), up to PV_MMU_BATCH_MAX entries per
 * call, applied in order.  Each entry is checked: the pointer must be a 4-byte aligned
 * guest-physical address in RAM, and a present entry must name guest RAM (its 4 KiB frame,
 * or the whole 4 MiB range when PS is set), so a PV guest can map only its own frames.  At
 * the first bad entry the entries already written get their old values back (newest
 * first), the call returns -PV_EINVAL and stores the entry's index at EDX (when EDX is not
 * 0).  An update takes effect at once, for every linear address that used the entry in
 * any address space: the monitor changes its shadow mappings inside the call, so no INVLPG
 * or CR3 reload is needed after it.  The monitor keeps the shadow of every directory it
 * has seen until the guest releases it (PV_MMU_RELEASE, like Xen's unpin), and compares
 * a released directory with memory only if it is loaded again; frames no directory uses
 * (a table before it is linked, a released directory, a freed table) are ordinary memory.
 * The monitor does not watch guest memory: a plain store to a live table entry, or the
 * reuse of a directory's frame without releasing it first, is the guest's own bug, like a
 * missing TLB flush - it may take effect late (PV_HC_INVLPG re-reads the entries of its
 * page) or not at all - and it can never reach outside guest RAM, since the monitor
 * checks whatever it maps itself.  Accessed and dirty bits: ABI v1 does not maintain them
 * for a PV guest (an entry is usable as soon as it is present, writable as soon as W
 * allows; the monitor may still set A/D as a side effect of its own accesses), so a guest
 * must not rely on them.
 *
 * Multicall.  PV_HC_MULTICALL runs a list of hypercalls in order, each as if made on its
 * own: mmu_update, new_baseptr, invlpg, stack_switch, set_timer, console_io, console_ring,
 * set_trap_table, set_gdt, event_check and version (anything else, multicall itself
 * included, fails with -PV_EINVAL).  It stops at the first entry whose result is negative:
 * EAX = the number of entries that succeeded, so EAX < count means entry[EAX] failed (its
 * result field holds the error; a failed mmu_update was rolled back as above) and no later
 * entry ran.  EAX < 0: the list itself was refused (-PV_EINVAL: too long; -PV_EFAULT: not
 * readable, or a result could not be written back).  The list must stay mapped while it
 * runs.
 *
 * Console.  PV_HC_CONSOLE_IO writes one buffer synchronously.  The console ring is the
 * batched path: the guest registers one page (PV_CONSRING_SETUP, struct pv_console_ring),
 * queues output bytes in out[] and notifies once per batch (PV_CONSRING_NOTIFY); the
 * monitor writes every queued byte to its stdout before the notify returns, so a guest
 * whose ring is full notifies and goes on.  For a PV guest the monitor's stdin goes only
 * to in[] (never to the UART), from the moment the ring is set up; each batch raises
 * PV_EVENT_CONSOLE once (at vector PV_EVENT_VECTOR(PV_EVENT_CONSOLE) = IRQ 4's, 0x24).
 * Input is also topped up at each notify.  End of file on the host side is not signalled
 * (as with a UART).  Indices the guest corrupts cost it its own output or input only.
 */
#ifndef VMM386_PV_ABI_H
#define VMM386_PV_ABI_H

#define PV_ABI_VERSION   1u
#define PV_NOTE_NAME     "vmm386"
#define PV_NOTE_TYPE     0x564Du
#define PV_HYPERCALL_VEC 0x82

/* Hypercall numbers (EAX). */
#define PV_HC_VERSION        0  /* -> PV_ABI_VERSION */
#define PV_HC_CONSOLE_IO     1  /* EBX=PV_CONSOLEIO_WRITE, ECX=count, EDX=guest linear buffer
				 * -> count written */
#define PV_HC_SET_SHARED     2  /* EBX=guest-physical page (4 KiB aligned) for shared_info */
#define PV_HC_SET_TRAP_TABLE 3  /* EBX=linear base, ECX=limit of an IDT in i386 gate format */
#define PV_HC_SET_GDT        4  /* EBX=linear base, ECX=limit, EDX=TSS selector (or 0): the
				 * monitor loads GDTR and TR from them */
#define PV_HC_STACK_SWITCH   5  /* EBX=SS, ECX=ESP: the ring-0 stack for events from CPL 3
				 * (stored into the TSS of PV_HC_SET_GDT, which stays in guest
				 * memory and is read at each event: a plain store works too) */
#define PV_HC_MMU_UPDATE     6  /* EBX=linear address of struct pv_mmu_update[ECX] -> 0, or
				 * -PV_EINVAL and *EDX (linear, if EDX != 0) = failing index */
#define PV_HC_NEW_BASEPTR    7  /* EBX=guest-physical page directory (the CR3 switch) */
#define PV_HC_INVLPG         8  /* EBX=linear address: its entries are read again (never
				 * needed after mmu_update, see "Page tables") */
#define PV_HC_SET_TIMER      9  /* EBX:ECX = low:high of a one-shot deadline in ns from now;
				 * 0 cancels.  Raises PV_EVENT_TIMER when due. */
#define PV_HC_SCHED_OP      10  /* EBX=PV_SCHED_xxx, ECX=shutdown status */
#define PV_HC_PAGING_ENABLE 11  /* EBX=CR3 (or PV_CR3_KEEP), ECX=CR4 bits to set (PSE, PGE
				 * only), then CR0.PG|WP: the boot-time switch to paging */
#define PV_HC_READ_CR2      12  /* -> the faulting address of the last #PF */
#define PV_HC_EVENT_CHECK   13  /* deliver pending events now (after vif was set) */
#define PV_HC_PORT_IO       14  /* EBX=port, ECX=size (1 or 2) | PV_PORTIO_WRITE, EDX=value:
				 * one access through the monitor's port bus -> the value read
				 * (0 for a write); -PV_EINVAL for a bad size, flag or a range
				 * past port 0xFFFF */
#define PV_HC_MULTICALL     15  /* EBX=linear address of struct pv_multicall[ECX] (ECX <=
				 * PV_MULTICALL_MAX): run the entries in order -> the number that
				 * succeeded (see "Multicall" below), or -PV_Exxx for a bad list */
#define PV_HC_CONSOLE_RING  16  /* EBX=PV_CONSRING_SETUP, ECX=guest-physical page of a struct
				 * pv_console_ring; or EBX=PV_CONSRING_NOTIFY: drain the output
				 * ring now (and refill the input ring) -> bytes drained */
#define PV_HC_COUNT         17

#define PV_PORTIO_WRITE 0x100u  /* PV_HC_PORT_IO: write EDX instead of reading */

#define PV_CR3_KEEP 0xFFFFFFFFu

#define PV_CONSOLEIO_WRITE 0

#define PV_SCHED_YIELD    0
#define PV_SCHED_BLOCK    1     /* sets vif and waits for the next event */
#define PV_SCHED_SHUTDOWN 2     /* ECX=status: exits like isa-debug-exit ((v << 1) | 1) */

/* Error codes (returned negated). */
#define PV_EPERM  1
#define PV_EFAULT 14
#define PV_EINVAL 22
#define PV_ENOSYS 38

/* Events: bit numbers in shared_info.pending, delivered at PV_EVENT_VECTOR(event). */
#define PV_EVENT_TIMER   0
#define PV_EVENT_CONSOLE 1
#define PV_EVENT_VECTOR(ev) ((ev) == PV_EVENT_TIMER ? 0x20 : 0x24)

/* shared_info offsets (for assembly). */
#define PV_SI_VIF     0
#define PV_SI_PENDING 4

#define PV_MMU_BATCH_MAX 512    /* entries per PV_HC_MMU_UPDATE call */
#define PV_MULTICALL_MAX 64     /* entries per PV_HC_MULTICALL call */

#define PV_CONSRING_SETUP  0
#define PV_CONSRING_NOTIFY 1
#define PV_CONS_OUT_SIZE 2048u  /* bytes of pv_console_ring.out (a power of two) */
#define PV_CONS_IN_SIZE  1024u  /* bytes of pv_console_ring.in (a power of two) */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct pv_shared_info {
	uint32_t vif;           /* 0: the virtual interrupt flag (1 = events may be delivered) */
	uint32_t pending;       /* 4: pending events, bit PV_EVENT_xxx (set by the monitor) */
	uint32_t cr2;           /* 8: faulting linear address of the last #PF delivered */
	uint32_t version;       /* 12: PV_ABI_VERSION */
	uint64_t time_ns;       /* 16: monitor time in ns since boot, updated at each event */
	uint32_t reserved[1018];
};

/* One page-table operation, by the low two bits of ptr:
 * PV_MMU_NORMAL: ptr = guest-physical address of a PDE or PTE (4-byte aligned, inside RAM),
 *   val = the new entry.  If the entry is present, its frame (the 4 KiB frame, or the
 *   whole 4 MiB range for a PDE with PS set) must be guest RAM.
 * PV_MMU_RELEASE: ptr = a page directory's frame | 1, val = 0: the guest no longer uses
 *   that directory (it must not be the loaded one) and may reuse the frame as anything;
 *   the monitor stops keeping its shadow in step (see "Page tables").  Not undone when
 *   a later entry of the batch fails. */
struct pv_mmu_update {
	uint32_t ptr;
	uint32_t val;
};
#define PV_MMU_NORMAL  0u
#define PV_MMU_RELEASE 1u

/* One entry of PV_HC_MULTICALL: hypercall `op` with args[0..3] in EBX, ECX, EDX, ESI;
 * the monitor stores its EAX in `result`. */
struct pv_multicall {
	uint32_t op;
	uint32_t args[4];
	int32_t result;
};

/* The console ring page (PV_HC_CONSOLE_RING).  Indices are free-running byte counts; each
 * side writes only its own two.  out[]: the guest puts bytes at out[out_prod % SIZE] and
 * then advances out_prod, the monitor takes them on PV_CONSRING_NOTIFY and advances
 * out_cons.  in[]: the monitor puts host input at in[in_prod % SIZE], advances in_prod and
 * raises PV_EVENT_CONSOLE; the guest takes bytes and advances in_cons. */
struct pv_console_ring {
	uint32_t out_prod;      /* 0: guest */
	uint32_t out_cons;      /* 4: monitor */
	uint32_t in_prod;       /* 8: monitor */
	uint32_t in_cons;       /* 12: guest */
	uint32_t reserved[12];
	uint8_t out[PV_CONS_OUT_SIZE];  /* 64 */
	uint8_t in[PV_CONS_IN_SIZE];
};

#define PV_PTE_P  0x001u
#define PV_PTE_PS 0x080u
#endif

#endif
