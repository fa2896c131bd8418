/*
 * pv.h - the monitor side of the paravirtual guest interface (ABI: abi.h; see pv.c).
 *
 * main() calls pv_init for every guest; it turns the interface on only if the loaded
 * kernel declared itself paravirtual (pv_enabled), and the run loop asks pv_enabled before
 * it polls the PV timer or delivers PV events.  The emulator reaches the hypercalls and
 * the event hooks only through emu_pv (emulation/emu.h), which pv_init sets for a PV guest;
 * pv/ reaches the run loop only through the pv_mon_ops handed to pv_init.
 */
#ifndef PV_H
#define PV_H
#include <stdbool.h>
#include <stdint.h>
#include "../monitor/vmm.h"

struct ld_boot;

/* What pv/ needs from the run loop, handed in at init (pv_init), so pv/ never calls up
 * into monitor/.  All are called on the vCPU thread from a hypercall. */
struct pv_mon_ops {
	/* end the run with process exit status `status` before another guest block runs */
	void (*stop)(struct vm *vm, int status);
	/* a PV deadline changed: re-read them (pv_poll) before the next entry */
	void (*request_poll)(void);
	/* PV_HC_INVLPG: what the shadow TLB must forget (as emu_mon->tlb_flush) */
	void (*tlb_flush)(struct vcpu *c, gla_t la, bool all);
};

/* Is the guest a PV guest (its image carried the vmm386 PV ELF note)? */
bool pv_enabled(void);
/* Are PV events pending (not yet delivered, because the virtual IF is clear)? */
bool pv_events_pending(void);
/* After loading: set up the PV interface if the image asked for it. 0 or -1 with err. */
int pv_init(struct vm *vm, const struct ld_boot *boot, const struct pv_mon_ops *mon,
	    char *err, size_t errlen);
/* Time-driven PV events (the PV timer): raise what is due at `now` (monotonic ns), return
 * the next deadline or UINT64_MAX. */
uint64_t pv_poll(uint64_t now);
/* -stats: the PV interface's counters (nothing for a native guest). */
void pv_log_stats(void);
/* Hypercalls made so far (nested multicall entries included; 0 for a native guest). */
uint64_t pv_hypercall_count(void);
/* Deliver one pending event upcall if the guest can take it now.  0, or -1 if the guest
 * cannot continue (triple fault). */
int pv_take_event(struct vcpu *c);
/* Host address of the virtual IF in the shared page, or NULL (not PV, none registered). */
uint32_t *pv_vif_ptr(void);

/* --- the emulator's hooks (emulation/ calls them through emu_pv) ----------------------- */
struct pv_mmu_update;
/* INT 0x82 at CPL 0 from a PV guest: run hypercall EAX, result in EAX.  Returns 0 (the
 * guest continues after the INT). */
int pv_hypercall(struct vcpu *c);
/* The EFLAGS image emu_deliver pushes: for a PV guest, IF = the virtual IF. */
uint32_t pv_event_flags(uint32_t eflags);
/* emu_deliver committed `vector` through an interrupt gate (int_gate) or a trap gate;
 * soft: INT n.  Clears the virtual IF for an interrupt gate, records CR2 for #PF. */
void pv_event_commit(struct vcpu *c, int vector, bool int_gate, bool soft);

/* --- mmu_update, exposed for tests ------------------------------------------------------ */
/* Validate and apply u[0..n) to vm's RAM; on the first invalid entry, undo the entries
 * already written, set *fail_idx and return -PV_EINVAL.  0 on success. */
int pv_mmu_update_apply(struct vm *vm, const struct pv_mmu_update *u, uint32_t n,
			uint32_t *fail_idx);
/* Put the PV interface in its enabled state for `vm` without a loaded image (unit tests). */
void pv_init_for_test(struct vm *vm, const struct pv_mon_ops *mon);
#endif
