/* report.h - per-form results and the coverage report (report.c). */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdint.h>

struct form_result {
	bool tested;
	unsigned cases, diverged, first_case;
	unsigned faulted;           /* cases where the host CPU raised an exception */
	int xclass;                 /* enum xl_class of the form's first case */
	char first_what[128];
};

struct summary {
	unsigned tested, passed, failed;
	uint64_t cases, divergences;
};

struct summary report_summary(const struct form_result *r, unsigned n);
/* Write the Markdown report; its last line is "N passed, N failed".  0, or -1. */
int report_write(const char *path, const struct form_result *r, unsigned n,
		 const struct summary *s, uint64_t seed, unsigned cases, long seconds);

#endif
