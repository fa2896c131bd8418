/*
 * emu.h - architectural semantics the translator hands over to the monitor.
 *
 * The translator exits for sensitive and privileged instructions and for rare forms it
 * does not translate; this layer runs them (emu_step), delivers exceptions and interrupts
 * through the guest IDT, and lends the run loop, the shadow MMU and pv/ the guest's own
 * page walk (emu_translate, emu_walk).
 *
 * Everything here works on struct vcpu while the guest is stopped (registers in the
 * struct, vcpu->eip at the instruction concerned).  Guest memory is reached by linear
 * address through emu_lin_read/emu_lin_write, which walk the guest page tables when CR0.PG
 * is set (linear == physical otherwise); physical addresses that are not RAM are device
 * memory.  What the rest of the monitor must learn (RAM written, mode changed, TLB
 * flushed) leaves through emu_mon, PV hypercalls and event delivery through emu_pv: the
 * layer calls nothing in monitor/ but the log (vmm_log, vmm_panic).
 *
 * Errors the guest causes are never host errors: a function that detects one records the
 * exception with emu_raise() and returns -1; the run loop then delivers it through the
 * guest IDT with emu_deliver_exception().
 */
#ifndef EMU_H
#define EMU_H

#include <stdio.h>
#include "../monitor/vmm.h"

/* Put the vCPU in the state multiboot promises (protected mode, flat segments, IF=0). */
void emu_reset_protected(struct vcpu *c, uint32_t gdt_base, uint16_t gdt_limit);
/* The same flat segments under other selectors (the Linux boot protocol's 0x10 / 0x18). */
void emu_boot_selectors(struct vcpu *c, uint16_t cs, uint16_t ds);

/* Linear-address access (data).  Non-RAM physical addresses go to device memory (reads of
 * nothing give all ones, writes are dropped).  Return 0, or -1 with a fault raised. */
int emu_lin_read(struct vcpu *c, gla_t la, void *buf, unsigned len);
int emu_lin_write(struct vcpu *c, gla_t la, const void *buf, unsigned len);
/* Segment-relative access with the architecture's limit/type checks
 * (#GP(0), or #SS(0) for SS).  Return 0, or -1 with a fault raised. */
int emu_seg_read(struct vcpu *c, int sreg, uint32_t off, void *buf, unsigned len);
int emu_seg_write(struct vcpu *c, int sreg, uint32_t off, const void *buf, unsigned len);

/*
 * The guest's own address translation for one access to the page holding la (what the
 * CPU's page walk does: U/S and R/W checks, CR0.WP, 4 MiB pages, accessed/dirty bits set in
 * the guest tables).  Returns 0 with *gpa, or -1 with #PF raised and CR2 set.  With
 * CR0.PG = 0, *gpa = la.  acc: EMU_ACC_* bits; EMU_ACC_SUPERVISOR marks an implicit
 * supervisor access (descriptor tables, TSS) that is never a user access at CPL 3.
 */
enum { EMU_ACC_READ = 0, EMU_ACC_WRITE = 1, EMU_ACC_FETCH = 2, EMU_ACC_SUPERVISOR = 4 };
int emu_translate(struct vcpu *c, gla_t la, int acc, gpa_t *gpa);

/* One walk of the guest's tables for the shadow MMU (no exception raised, no monitor
 * notification of the accessed/dirty updates it makes).  Returns 0, or the #PF error code
 * with bit 31 set.  perm: the final entry with U/S and R/W combined over both levels. */
struct emu_walk {
	gpa_t gpa;      /* physical address of la */
	uint32_t perm;  /* final entry, U and W bits ANDed with the PDE's */
	bool large;     /* a 4 MiB page */
	gpa_t pt;       /* page-table frame used (not for 4 MiB pages: ~0) */
};
uint32_t emu_walk(struct vcpu *c, gla_t la, bool write, bool user, struct emu_walk *w);
/* Does a final entry's combined permission allow this access (CR0.WP for supervisor)? */
bool emu_gpte_allows(const struct vcpu *c, uint32_t perm, bool user, bool write);

/* Record exception `vector` (error code used only for vectors that push one). Returns -1. */
int emu_raise(struct vcpu *c, int vector, uint32_t error);

/* Deliver the recorded exception (vcpu->exc_*) through the IDT; the saved EIP is
 * vcpu->eip (faults: the faulting instruction; traps: the caller set eip past it).
 * Handles #DF on a fault during delivery, and triple fault: then returns EXIT_SHUTDOWN.
 * Otherwise returns EXIT_NONE. */
int emu_deliver_exception(struct vcpu *c);
/* Deliver external interrupt `vector` (IF already checked by the caller). */
int emu_deliver_interrupt(struct vcpu *c, int vector);

/* Used by the PV hypercalls (pv/) as well as the emulator: a RAM write that tells the
 * monitor (emu_mon->ram_written, below); LTR; MOV CRn at CPL 0.  The last two
 * return 0, or -1 with an exception recorded (or EXIT_SHUTDOWN). */
void emu_phys_write(struct vm *vm, gpa_t gpa, const void *buf, unsigned len);
int emu_ltr(struct vcpu *c, uint16_t sel);
int emu_write_cr(struct vcpu *c, int n, uint32_t v);

/* The paravirtual interface's hooks (pv/pv.c sets emu_pv for a PV guest; NULL otherwise,
 * so the emulator does not depend on pv/): INT 0x82 at CPL 0 is a hypercall, and events
 * delivered through the IDT use and clear the virtual IF (pv/abi.h). */
struct emu_pv_ops {
	int (*hypercall)(struct vcpu *c);
	uint32_t (*event_flags)(uint32_t eflags);
	void (*event_commit)(struct vcpu *c, int vector, bool int_gate, bool soft);
};
extern const struct emu_pv_ops *emu_pv;

/*
 * Execute the one instruction at vcpu->eip in the monitor: every sensitive/privileged
 * instruction in the project's table, the instructions that are invalid in 64-bit mode
 * (BCD, BOUND, INTO, ARPL, PUSHA/POPA, LES/LDS, SALC, PUSH/POP seg) and simple memory
 * forms (MOV, MOVZX, MOVSX, ALU ops) for device memory.
 * Returns EXIT_NONE (done, eip advanced), EXIT_EXCEPTION (raised; caller delivers),
 * EXIT_HALT (HLT: eip advanced), EXIT_SHUTDOWN.  Unknown instructions raise #UD.
 */
int emu_step(struct vcpu *c);

/* Load a segment register with the architecture's checks (MOV/POP Sreg semantics).
 * Returns 0 or -1 with #GP/#NP/#SS raised. */
int emu_load_seg(struct vcpu *c, int sreg, uint16_t sel);
/* The descriptor of sel (GDT or LDT): 0, 1 if outside the table, -1 on a fault (raised). */
int emu_desc_fetch(struct vcpu *c, uint16_t sel, uint64_t *d);
/* The hidden part a descriptor gives (byte-granular limit, attr = bits 40..55). */
void emu_desc_to_seg(uint64_t d, uint16_t sel, struct seg *s);

/* Print registers in the layout of QEMU's "info registers". */
void emu_dump_state(struct vcpu *c, FILE *f);

/* Instructions the interpreter ran, by Zydis mnemonic (for -d stats). */
extern uint64_t emu_mnemonic_count[];
#define EMU_MNEMONIC_COUNT 2048    /* upper bound of Zydis mnemonics, checked in insn.c */
const char *emu_mnemonic_name(unsigned m);
/* Accesses the interpreter made to physical addresses that are not RAM. */
extern uint64_t emu_mmio_count;
/* The last linear read and write that landed whole in device memory: linear and physical
 * address and size (len 0 until one happens; the monitor clears them to watch one
 * instruction). */
struct emu_mmio_access { gla_t la; gpa_t gpa; unsigned len; };
extern struct emu_mmio_access emu_last_mmio_read, emu_last_mmio_write;
/* Does the interpreter implement this Zydis mnemonic? */
bool emu_can_step(unsigned mnemonic);

/*
 * The guest's breakpoints, DR0-DR3 as DR7 enables them (debugreg.c).  Bit n of a result
 * stands for DRn.  emu_dr_enabled: the enabled instruction (data = false) or data write and
 * read/write (data = true) breakpoints.  emu_dr_exec_hits: the instruction breakpoints at
 * linear address la, enabled or not (DR6 reports both).  emu_dr_data_hits: the enabled data
 * breakpoints the instruction at CS:EIP will touch, computed before it runs (0 if it cannot
 * be fetched).  emu_dr_report: DR6 after a #DB: B0-B3 replaced by bits (if any), status
 * (EMU_DR6_BS) added; the caller raises the exception.  A write to DR0-DR3 or DR7 is
 * reported as a mode change (emu_mon->mode_changed).
 */
#define EMU_DR6_BS 0x4000u
unsigned emu_dr_enabled(const struct vcpu *c, bool data);
unsigned emu_dr_exec_hits(const struct vcpu *c, gla_t la);
unsigned emu_dr_data_hits(struct vcpu *c);
void emu_dr_report(struct vcpu *c, unsigned bits, uint32_t status);
/* The memory accesses of the instruction at CS:EIP, worked out before it runs: fn gets
 * each operand's linear range (a REP string instruction's remaining elements as one) and
 * whether it is written.  False (nothing reported) if the instruction cannot be fetched.
 * emu_dr_data_match: the enabled data breakpoints one such access meets. */
typedef void (*emu_access_fn)(void *opaque, gla_t la, uint64_t len, bool write);
bool emu_insn_accesses(struct vcpu *c, emu_access_fn fn, void *opaque);
unsigned emu_dr_data_match(const struct vcpu *c, gla_t la, uint64_t len, bool write);

/* Guest-visible CPUID (a coherent i686 set: only what the translator supports). */
void emu_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4]);


/*
 * What the emulator tells the rest of the monitor: the memory and TLB side effects of what
 * it did.  The monitor installs its table at init (monitor/memory.c, vm_mem_init), the way
 * pv/ installs emu_pv, so emulation/ never calls up into monitor/, the shadow MMU or the
 * code cache.  Until then emu_mon points at hooks that do nothing (unit tests put their own).
 */
struct emu_mon_ops {
	/* guest RAM [gpa, gpa+len) was written by the monitor: translations on it are stale */
	void (*ram_written)(struct vm *vm, gpa_t gpa, uint32_t len);
	/* an access of len bytes reached device memory at gpa (not RAM) */
	void (*mmio)(struct vm *vm, gpa_t gpa, unsigned len);
	/* control-register, segment or descriptor-table state that translations depend on
	 * changed */
	void (*mode_changed)(struct vcpu *c);
	/* INVLPG (la, all = false), a CR3 write (la = 0, all = false, c->cr3 already updated),
	 * a paging-mode change (all = true): what the shadow TLB must forget */
	void (*tlb_flush)(struct vcpu *c, gla_t la, bool all);
};
extern const struct emu_mon_ops *emu_mon;
#endif
