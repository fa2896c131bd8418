/* run.h - the run loop (run.c) and what it hands the parts below it at init. */
#ifndef RUN_H
#define RUN_H
#include <stdio.h>
#include "vmm.h"
#include "../devices/devices.h"

struct pv_mon_ops;

/* Why translated code came back, one step finer than enum exit_reason (counters.c). */
enum exit_kind {
	EK_BLOCK_EXIT, EK_REQUEST, EK_CALL, EK_MMIO, EK_ADAPTIVE, EK_SREG_MISS, EK_RING_MISS,
	EK_EXCEPTION, EK_PF, EK_FETCH_PF, EK_SMC, EK_PTWRITE, EK_HALT, EK_NR
};
extern const char *const exit_kind_name[EK_NR];
unsigned exit_kind_of(const struct vcpu *c, unsigned reason);

struct run_stats {
	uint64_t exits, emulated, exceptions, interrupts, halts, signals, smc_faults, mmio_exits;
	uint64_t by_kind[EK_NR];      /* exits by kind; they add up to exits */
	uint64_t handler_exceptions;   /* of exceptions: delivered in the signal handler (signals.c) */
};
extern struct run_stats run_stats;
extern FILE *vmm_log_file;

int vm_run_init(struct vm *vm, int console_in_fd);
/* Run until the guest stops; returns the process exit status. */
int vm_run(struct vm *vm);

/* The loop's pieces, shared with the fuzz target's copy of the loop (tests/fuzz/):
 * the block at CS:EIP for mode, translated if needed (NULL: the fetch raised #PF;
 * *noted: every page it came from is mapped in the current window), and whether the
 * direct exit e may jump straight to b from now on. */
struct cc_block;
struct cc_exit;
struct cc_block *vm_find_block(struct vcpu *c, uint32_t mode, bool *noted);
bool vm_may_chain(const struct cc_exit *e, const struct cc_block *b, uint32_t mode);

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
