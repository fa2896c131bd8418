/* run.h - the run loop (run.c). */
#ifndef RUN_H
#define RUN_H
#include <stdio.h>
#include "vmm.h"

struct run_stats {
	uint64_t exits, emulated, exceptions, interrupts, halts, signals, smc_faults, mmio_exits;
	uint64_t adapt_on, adapt_reverts;
};
extern struct run_stats run_stats;
extern FILE *vmm_log_file;

int vm_run_init(struct vm *vm, int console_in_fd);
/* Run until the guest stops; returns the process exit status. */
int vm_run(struct vm *vm);
#endif
