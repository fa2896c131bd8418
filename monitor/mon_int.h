/*
 * mon_int.h - what the files of monitor/ share with each other (nothing outside includes it).
 *
 *   run.c       the run loop and the exit switch; wires the parts together at init
 *   signals.c   exit requests, host signals (guest state rebuilt from a fault), host timer
 *   adaptive.c  adaptive translation: which instructions become monitor calls
 *   memory.c    guest RAM, the flat window, and the emulator's memory/TLB hooks
 *   debug.c     the guest's DR0-DR7 breakpoints, TF and RF in the run loop
 *   main.c      options, loading, statistics; log.c the log, host time and panics
 *   counters.c  exits by kind, and the counters port (per-benchmark deltas, -d stats)
 *
 * All of it runs on the vCPU thread, except the signal handlers in signals.c, which touch
 * only what is marked async-signal-safe below.
 */
#ifndef MON_INT_H
#define MON_INT_H
#include "vmm.h"

/* log.c: the monitor's call chain on stderr. */
void vmm_backtrace(void);

/* --- signals.c ------------------------------------------------------------------------- */
/* The request pages and the host timer; call before anything may request an exit. */
int vm_requests_init(struct vm *vm);
/* SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGTRAP, SIGALRM and SIGABRT handlers. */
int vm_signals_install(void);
/* Before an entry: no exit requested yet; with irq_waiting, an inline IF=0 -> 1 change
 * (STI, POPF, IRET) in translated code leaves for the loop. */
void vm_requests_clear(struct vcpu *c);
void vm_irq_probe(struct vcpu *c, bool irq_waiting);
/* Did the host timer fire (or a deadline change) since the last call? */
bool vm_alarm_take(void);
/* Make sure the host timer fires no later than `when` (monotonic ns); UINT64_MAX: no
 * deadline, but console input is polled every POLL_NS. */
void vm_timer_arm(uint64_t when);
/* The exception about to be delivered is a #PF from user mode: note it, so that the IRET
 * back to the instruction maps the page first (vmm_pf_retry). */
void vm_pf_note(struct vcpu *c);

/* --- adaptive.c ------------------------------------------------------------------------ */
/* The instruction at CS:EIP took a fault that running it in the monitor would avoid. */
void adapt_note(struct vcpu *c);
/* Around emu_step of an EMULATE_ADAPTIVE monitor call: adapt_begin returns the
 * instruction's guest-physical address, adapt_end(pa) judges whether the call touched
 * what it was made for (adapt_touched, from memory.c's hooks, in between). */
gpa_t adapt_begin(struct vcpu *c);
void adapt_end(gpa_t pa);
/* The device-memory cache (adaptive.c): after an emulated instruction that read or wrote a
 * mirrored device page (emu_last_mmio_read/write), remember where; forget it at every TLB
 * flush (memory.c) and whenever a window is emptied (shadow-mmu/ clears mmio_fast_page and
 * mmio_fast_wpage).  The stores translated code makes through it: vmm_mmio_store
 * (translator/xl.h). */
void adapt_mmio_learn(struct vcpu *c);
void adapt_mmio_forget(struct vcpu *c);
/* The emulator wrote a traced page table or reached device memory. */
void adapt_touched(void);
/* -d stats output; never read by the decisions above. */
struct adapt_stats { uint64_t on, reverts, mmio_learnt, mmio_stores; };
extern struct adapt_stats adapt_stats;
/* --- debug.c --------------------------------------------------------------------------- */
/* DR0-DR3/DR7 may have changed (memory.c's mode-change hook): flushes translations when
 * the enabled instruction breakpoints differ. */
void vm_debug_changed(struct vcpu *c);
/* Must the loop run the guest an instruction at a time (TF, RF, a data breakpoint of the
 * guest, a gdb watchpoint)? */
bool dbg_stepping(const struct vcpu *c);
/* Around one stepped instruction: dbg_before notes what it will touch; dbg_after, once it
 * completed, clears RF, reports a gdb watchpoint hit, and returns true if it raised #DB as
 * a trap (single step, data breakpoint). */
struct dbg_step {
	uint32_t tf;
	unsigned data;           /* the guest's data breakpoints it meets */
	bool gdb_hit;            /* a gdb watchpoint it writes, at gdb_addr */
	gla_t gdb_addr;
	uint64_t exceptions;     /* run_stats.exceptions before it */
};
void dbg_before(struct vcpu *c, struct dbg_step *s);
bool dbg_after(struct vcpu *c, const struct dbg_step *s, unsigned reason);

/* --- counters.c ------------------------------------------------------------------------ */
/* The counters port (3 byte ports; guest/kernel/syscall.c has the same number): with
 * -d stats, main() registers it after the devices.  0, or -1 if the ports are taken. */
#define COUNTERS_PORT 0xFE0
int counters_init(void);
#endif
