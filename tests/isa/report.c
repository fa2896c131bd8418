/*
 * report.c - the coverage report (build/coverage/report.md, issue 4 item 6): the counts
 * (forms in the table, forms tested, cases run, divergences), a table per instruction
 * group, how the translator handles the tested forms (xl_classify of each form's first
 * case: IDENT, re-encoded, lowered, monitor), the failed forms, what the report does not
 * cover yet, and a last line "N passed, N failed" counting forms.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "forms.h"
#include "report.h"
#include "translator/xl.h"

static const char *const groups[] = { "int", "bcd", "string", "x87", "mmx", "sse", "sse2" };
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

struct summary report_summary(const struct form_result *r, unsigned n)
{
	struct summary s = { 0, 0, 0, 0, 0 };
	for (unsigned i = 0; i < n; i++) {
		if (!r[i].tested)
			continue;
		s.tested++;
		s.cases += r[i].cases;
		s.divergences += r[i].diverged;
		if (r[i].diverged)
			s.failed++;
		else
			s.passed++;
	}
	return s;
}

static void group_table(FILE *f, const struct form_result *r, unsigned n)
{
	fprintf(f, "| group | forms | tested | cases | cases with an exception | failed forms |\n"
		"|---|---:|---:|---:|---:|---:|\n");
	for (unsigned g = 0; g < NGROUPS; g++) {
		unsigned forms = 0, tested = 0, failed = 0;
		uint64_t cases = 0, faulted = 0;
		for (unsigned i = 0; i < n; i++) {
			if (strcmp(forms_get(i)->group, groups[g]))
				continue;
			forms++;
			tested += r[i].tested;
			cases += r[i].cases;
			faulted += r[i].faulted;
			failed += r[i].diverged != 0;
		}
		fprintf(f, "| %s | %u | %u | %" PRIu64 " | %" PRIu64 " | %u |\n", groups[g], forms, tested,
			cases, faulted, failed);
	}
}

static void class_table(FILE *f, const struct form_result *r, unsigned n)
{
	static const char *const name[] = { "IDENT (bytes copied)", "re-encoded", "lowered",
					    "monitor (emu_step)", "unsupported (#UD)", "invalid" };
	unsigned count[6] = { 0 };
	for (unsigned i = 0; i < n; i++)
		if (r[i].tested && r[i].xclass >= 0 && r[i].xclass < 6)
			count[r[i].xclass]++;
	fprintf(f, "\n## How vmm386 translates the tested forms\n\n");
	fprintf(f, "xl_classify() of each form's first case:\n\n| class | forms |\n|---|---:|\n");
	for (unsigned i = 0; i < 6; i++)
		fprintf(f, "| %s | %u |\n", name[i], count[i]);
}

static void failed_list(FILE *f, const struct form_result *r, unsigned n)
{
	unsigned k = 0;
	fprintf(f, "\n## Failed forms\n\n");
	for (unsigned i = 0; i < n; i++) {
		if (!r[i].diverged)
			continue;
		fprintf(f, "- `%s`: %u of %u cases diverge (first: case %u, %s)\n", forms_get(i)->name,
			r[i].diverged, r[i].cases, r[i].first_case, r[i].first_what);
		k++;
	}
	if (!k)
		fprintf(f, "None.\n");
}

static int make_parent(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = 0;
	return mkdir(dir, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

int report_write(const char *path, const struct form_result *r, unsigned n,
		 const struct summary *s, uint64_t seed, unsigned cases, long seconds)
{
	FILE *f = make_parent(path) == 0 ? fopen(path, "w") : NULL;
	if (!f) {
		fprintf(stderr, "isa-diff: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# vmm386 instruction coverage\n\n");
	fprintf(f, "Differential test of vmm386's translator against the host CPU in 32-bit mode "
		"(tests/isa, `isa-diff --seed %#" PRIx64 " --cases %u`, %ld s).\n\n", seed, cases, seconds);
	fprintf(f, "| | |\n|---|---:|\n| forms in the table | %u |\n| forms tested | %u |\n", n, s->tested);
	fprintf(f, "| cases run | %" PRIu64 " |\n| divergences | %" PRIu64 " |\n\n", s->cases, s->divergences);
	group_table(f, r, n);
	class_table(f, r, n);
	failed_list(f, r, n);
	fprintf(f, "\n## Not in the table\n\n");
	fprintf(f, "- ISA extensions the guest's CPUID does not advertise (SSE3 and later, CLFLUSH, "
		"TZCNT/LZCNT encodings): vmm386 raises #UD for them by design\n");
	fprintf(f, "- the monitor's sensitive and privileged instructions other than BCD, PUSHA/POPA, "
		"BOUND and SALC (issue 4 item 2 tests them at CPL 0 and 3)\n");
	fprintf(f, "- near branches with 0x66 (they truncate EIP to 16 bits), #PF (the guest has no "
		"paging yet), #AC (CPL 3 only)\n");
	/* `make coverage` inserts the scanner and decoder cross-check sections here */
	fprintf(f, "\n%u passed, %u failed\n", s->passed, s->failed);
	return fclose(f) == 0 ? 0 : -1;
}
