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
#define PV_HC_NEW_BASEPTR    7  /* EBX=guest-physical page directory (CR3 switch, TLB flush) */
#define PV_HC_INVLPG         8  /* EBX=linear address */
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

/* One page-table entry write: ptr = guest-physical address of a PDE or PTE (4-byte
 * aligned, inside RAM), val = the new entry.  If the entry is present, its frame (the
 * 4 KiB frame, or the whole 4 MiB range for a PDE with PS set) must be guest RAM. */
struct pv_mmu_update {
	uint32_t ptr;
	uint32_t val;
};

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
