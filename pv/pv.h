/*
 * pv.h - the monitor side of the paravirtual guest interface (issue 5; see pv.c).
 *
 * The run loop and main() call these hooks unconditionally; they do nothing unless the
 * loaded kernel declared itself paravirtual (pv_enabled).
 */
#ifndef PV_H
#define PV_H
#include <stdbool.h>
#include <stdint.h>
#include "../monitor/vmm.h"

struct ld_boot;

/* Is the guest a PV guest (its image carried the vmm386 PV ELF note)? */
bool pv_enabled(void);
/* After loading: set up the PV interface if the image asked for it. 0 or -1 with err. */
int pv_init(struct vm *vm, const struct ld_boot *boot, char *err, size_t errlen);
/* Time-driven PV events (the PV timer): raise what is due at `now` (monotonic ns), return
 * the next deadline or UINT64_MAX. */
uint64_t pv_poll(uint64_t now);
/* Deliver one pending event upcall if the guest can take it now.  0, or -1 if the guest
 * cannot continue (triple fault). */
int pv_take_event(struct vcpu *c);
#endif
