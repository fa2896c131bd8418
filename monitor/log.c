/*
 * log.c - debug output (-d categories, -D file), host time, and monitor panics.
 * The log goes to stderr unless -D names a file.  vmm_panic is for broken monitor
 * invariants only: it prints a backtrace through libunwind and aborts.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "vmm.h"

unsigned vmm_log_mask;
FILE *vmm_log_file;

void vmm_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(vmm_log_file ? vmm_log_file : stderr, fmt, ap);
	va_end(ap);
}

uint64_t host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Print the monitor's call chain to stderr (also used by the crash handler). */
void vmm_backtrace(void)
{
	unw_cursor_t cur;
	unw_context_t ctx;
	char name[128];
	unw_word_t ip, off;

	unw_getcontext(&ctx);
	unw_init_local(&cur, &ctx);
	fprintf(stderr, "monitor backtrace:\n");
	for (int depth = 0; depth < 64 && unw_step(&cur) > 0; depth++) {
		unw_get_reg(&cur, UNW_REG_IP, &ip);
		if (unw_get_proc_name(&cur, name, sizeof(name), &off) == 0)
			fprintf(stderr, "  #%d 0x%016lx %s+0x%lx\n", depth, (unsigned long)ip, name,
				(unsigned long)off);
		else
			fprintf(stderr, "  #%d 0x%016lx ?\n", depth, (unsigned long)ip);
	}
}

void vmm_panic(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vmm386: internal error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	vmm_backtrace();
	abort();
}
