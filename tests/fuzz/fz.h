/* fz.h - what the fuzz target's files share (fuzz_translate.c, fz_paging.c). */
#ifndef FZ_H
#define FZ_H
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include "monitor/vmm.h"

/* A broken invariant: report with the vCPU state and abort (libFuzzer saves the input). */
void fz_bug(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* fz_seccomp.c: the system-call detector.  fz_in_case: the worker is running a guest
 * case (its calls are checked); fz_violations: unexpected calls during the case. */
extern volatile int fz_in_case;
extern volatile int fz_violations;
extern bool fz_seccomp_on;
/* Output that does not depend on stdio's state (used from signal handlers too). */
void fz_raw_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* On the worker: filter its system calls (the code cache, the flat window, /dev/null and
 * the guest EIP for reports are what the checks need). */
void fz_seccomp_install(const uint8_t *code_cache, const uint8_t *flat_window, int null_fd,
			const uint32_t *eip);
/* On the main thread, after the filter is on: serve its notifications.  0 or -1. */
int fz_supervisor_start(void);

/* The paging header of an input (fz_paging.c): byte 0 flags, then FZP_MUTATIONS words. */
enum {
	FZP_PG = 0x01,      /* paging on, CR3 = the first directory (FZP_PD1: the second) */
	FZP_WP = 0x02,      /* CR0.WP */
	FZP_PSE = 0x04,     /* CR4.PSE */
	FZP_PGE = 0x08,     /* CR4.PGE */
	FZP_CHAIN = 0x10,   /* chain blocks and fill the windows' lookup tables (any mode) */
	FZP_TRACE = 0x20,   /* trace every page-table store (smmu_set_unsync(false)) */
	FZP_PD1 = 0x40,     /* start on the second directory */
};
#define FZP_MUTATIONS 8
#define FZP_HDR (1 + 4 * FZP_MUTATIONS)

/* Build the page tables in RAM (which holds the sandbox's tables already) and turn paging
 * on in c as hdr[0..n) says; n may be short (missing bytes are 0).  Returns the flags. */
unsigned fz_paging_setup(struct vm *vm, struct vcpu *c, const uint8_t *hdr, size_t n);
/* After a case with paging: flush as a CR3 write does, then every page the current
 * window maps must agree with a walk of the guest's tables. */
void fz_paging_check(struct vm *vm, struct vcpu *c);
#endif
