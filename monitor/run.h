/* run.h - the run loop (run.c) and what it hands the parts below it at init. */
#ifndef RUN_H
#define RUN_H
#include <stdio.h>
#include "vmm.h"
#include "../devices/devices.h"

struct pv_mon_ops;

struct run_stats {
	uint64_t exits, emulated, exceptions, interrupts, halts, signals, smc_faults, mmio_exits;
	uint64_t handler_exceptions;   /* of exceptions: delivered in the signal handler (signals.c) */
};
extern struct run_stats run_stats;
extern FILE *vmm_log_file;

int vm_run_init(struct vm *vm, int console_in_fd);
/* Run until the guest stops; returns the process exit status. */
int vm_run(struct vm *vm);

/* Leave translated code at the next block head (async-signal-safe; signals.c). */
void vm_request_exit(struct vm *vm);
/* Re-read device and PV deadlines before the next entry (a timer was reprogrammed). */
void vm_request_poll(void);
/* End the run with process exit status `status` before another guest block runs. */
void vm_stop(struct vm *vm, int status);
/* The same, for devices (dev_init_all) and for pv/ (pv_init). */
struct dev_stop vm_dev_stop(struct vm *vm);
extern const struct pv_mon_ops vm_pv_mon;
/* The translator's xl_debug_break while a debugger (gdbstub/) or the guest's DR7 has
 * breakpoints: gdb's, or an enabled instruction breakpoint of the guest (debug.c). */
bool vm_debug_break(gla_t la);
/* EXIT_DEBUG that is not gdb's: #DB raised (true) if an enabled instruction breakpoint of
 * the guest is at CS:EIP and RF is clear (the caller delivers it). */
bool dbg_exec_fault(struct vcpu *c);
#endif
