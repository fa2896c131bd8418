/* profile.h - per-site overhead profile (-profile FILE): see profile.c. */
#ifndef PROFILE_H
#define PROFILE_H
#include <stdbool.h>
#include "vmm.h"
#include "../codecache/cc.h"

/* True while profiling: the only thing the run loop and the signal handler test. */
extern bool profile_on;

/* Start profiling into FILE (and FILE.csv at exit); -1 with errno if FILE cannot be made. */
int profile_open(const char *path);
/* Handle one exit from translated code with handler(c, reason), timed and counted against
 * the guest instruction it left at.  Returns what the handler returns. */
int profile_exit(struct vcpu *c, unsigned reason, int (*handler)(struct vcpu *, unsigned));
/* A host signal that the handler settled without leaving translated code (a shadow fill):
 * block b, host offset off of the faulting instruction, rdtsc at handler entry. */
void profile_fill(struct vcpu *c, const struct cc_block *b, uint32_t off, uint64_t t0);
/* Write FILE and FILE.csv (at the end of the run). */
void profile_write(void);

static inline uint64_t profile_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
#endif
