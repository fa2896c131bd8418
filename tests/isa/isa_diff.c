/*
 * isa_diff.c - the differential instruction-coverage harness (issue 4, items 1 and 6).
 *
 * For every selected form of the table (forms*.c) it generates N cases (gen*.c) from a
 * seed, runs each on the host CPU in 32-bit mode (native_runner, through native_side.c)
 * and through vmm386's translator in this process (vmm_side.c), and compares the results
 * (compare.c).  After each form both sides check that nothing outside the case windows
 * changed in the data area.  A form passes when all of its cases agree.
 *
 *   isa-diff [--seed S] [--cases N] [--case K] [--form PAT]... [--group G]...
 *            [--exclude NAME]... [--runner PATH] [--report FILE] [--max-print N] [--list]
 *            [--trace] [--selfcheck]
 *
 * PAT is a glob (fnmatch) or a substring of the form name, or =NAME for exactly that form;
 * --exclude takes a glob that must match the whole name.  --trace prints one line per
 * case (bytes and the host CPU's outcome), to see what a form's cases exercise;
 * --selfcheck checks the generator's memory-operand address against Capstone's decoding.  The last line on stdout is
 * "N passed, N failed" (forms).  Exit status: 0 all passed, 1 divergences, 2 usage or
 * harness error, 77 when the native runner cannot run on this machine.
 */
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "compare.h"
#include "forms.h"
#include "gen.h"
#include "native_side.h"
#include "report.h"
#include "vmm_side.h"

#define MAX_PATTERNS 256

static struct opts {
	uint64_t seed;
	unsigned cases, max_print;
	long one_case;
	const char *runner, *report;
	const char *form[MAX_PATTERNS], *group[MAX_PATTERNS], *exclude[MAX_PATTERNS];
	unsigned nform, ngroup, nexclude;
	bool list, trace, selfcheck;
} o = { .seed = 0x1234ABCDull, .cases = 100, .max_print = 2, .one_case = -1,
	.runner = "build/isa/native_runner" };

static void usage(void)
{
	fprintf(stderr, "usage: isa-diff [--seed S] [--cases N] [--case K] [--form PAT]... "
		"[--group G]... [--exclude NAME]... [--runner PATH] [--report FILE] "
		"[--max-print N] [--list] [--trace] [--selfcheck]\n");
	exit(2);
}

static void add_pat(const char **list, unsigned *n, const char *s)
{
	if (*n == MAX_PATTERNS)
		usage();
	list[(*n)++] = s;
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", 1, 0, 's' }, { "cases", 1, 0, 'n' }, { "case", 1, 0, 'k' },
		{ "form", 1, 0, 'f' }, { "group", 1, 0, 'g' }, { "exclude", 1, 0, 'x' },
		{ "runner", 1, 0, 'r' }, { "report", 1, 0, 'o' }, { "max-print", 1, 0, 'm' },
		{ "list", 0, 0, 'l' }, { "trace", 0, 0, 't' },
		{ "selfcheck", 0, 0, 'c' }, { 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'n': o.cases = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'k': o.one_case = strtol(optarg, NULL, 0); break;
		case 'f': add_pat(o.form, &o.nform, optarg); break;
		case 'g': add_pat(o.group, &o.ngroup, optarg); break;
		case 'x': add_pat(o.exclude, &o.nexclude, optarg); break;
		case 'r': o.runner = optarg; break;
		case 'o': o.report = optarg; break;
		case 'm': o.max_print = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': o.list = true; break;
		case 't': o.trace = true; break;
		case 'c': o.selfcheck = true; break;
		default: usage();
		}
	}
	if (optind != argc || o.cases == 0)
		usage();
}

static bool listed(const char *const *list, unsigned n, const char *s, bool pattern)
{
	for (unsigned i = 0; i < n; i++)
		if (pattern && list[i][0] == '=' ? !strcmp(list[i] + 1, s) :
		    pattern ? fnmatch(list[i], s, 0) == 0 || strstr(s, list[i]) : !strcmp(list[i], s))
			return true;
	return false;
}

static bool selected(const struct form *f)
{
	if (o.nform && !listed(o.form, o.nform, f->name, true))
		return false;
	if (o.ngroup && !listed(o.group, o.ngroup, f->group, false))
		return false;
	for (unsigned i = 0; i < o.nexclude; i++)
		if (fnmatch(o.exclude[i], f->name, 0) == 0)
			return false;
	return true;
}

static void fatal(const char *what, const struct form *f, unsigned k, const struct tcase *t)
{
	fprintf(stderr, "isa-diff: %s (form %s, case %u)\n", what, f->name, k);
	if (t)
		print_input(stderr, t);
	native_stop();
	exit(2);
}

/* A divergence of the data area outside the windows after a form: stray writes.
 * Each side reports the extent of what changed outside the windows (the protocol carries no
 * contents there); equal extents on both sides, e.g. a 16-bit address that wrapped past
 * the window on the CPU and in vmm386 alike, are agreement, anything else a divergence. */
static void check_stray(const struct form *f, struct form_result *r)
{
	static struct isa_in in;
	static struct isa_out out;
	uint32_t first = 0, n;
	memset(&in, 0, offsetof(struct isa_in, mem));
	in.cmd = ISA_CMD_CHECK;
	if (native_send(&in) < 0 || native_recv(&out) < 0)
		fatal("native runner died", f, 0, NULL);
	n = vmm_side_check(&first);
	if ((out.status || n) && (out.status != n || out.addr != first)) {
		printf("DIVERGENCE %s: writes outside the case windows (native %u bytes from %#x, "
		       "vmm386 %u bytes from %#x)\n", f->name, out.status, out.addr, n, first);
		r->diverged++;
	}
}

static void run_case(const struct form *f, unsigned k, struct form_result *r)
{
	static struct tcase t;
	static struct isa_out nat, vmm;
	char what[512];
	const char *why = NULL;
	gen_case(f, o.seed, k, &t);
	if (o.selfcheck && !selfcheck_ea(&t, what, sizeof(what))) {
		printf("SELFCHECK %s, case %u: %s\n", f->name, k, what);
		print_input(stdout, &t);
	}
	if (r->cases == 0)
		r->xclass = vmm_side_classify(&t.in);
	if (native_send(&t.in) < 0)
		fatal("native runner died", f, k, &t);
	int bad = vmm_side_run(&t.in, &vmm, &why);
	if (native_recv(&nat) < 0)
		fatal("native runner died", f, k, &t);
	r->cases++;
	r->faulted += nat.exc != ISA_NO_EXC;
	bool same = cmp_results(&t, &nat, &vmm, what, sizeof(what));
	if (o.trace)
		print_trace(stdout, k, &t, &nat);
	if (bad)
		snprintf(what, sizeof(what), "vmm386: %s", why);
	if (same && !bad)
		return;
	if (r->diverged++ < o.max_print)
		print_divergence(stdout, f, &t, k, o.seed, &nat, &vmm, what);
	if (r->diverged == 1) {
		r->first_case = k;
		snprintf(r->first_what, sizeof(r->first_what), "%.120s", what);
	}
}

static void run_form(const struct form *f, struct form_result *r)
{
	vmm_side_flush();
	r->tested = true;
	if (o.one_case >= 0)
		run_case(f, (unsigned)o.one_case, r);
	else
		for (unsigned k = 0; k < o.cases; k++)
			run_case(f, k, r);
	check_stray(f, r);
	if (r->diverged)
		printf("FAIL %s: %u of %u cases diverge\n", f->name, r->diverged, r->cases);
	fflush(stdout);
}

static int start(void)
{
	char err[256];
	if (vmm_side_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "isa-diff: %s\n", err);
		return 2;
	}
	if (native_start(o.runner, err, sizeof(err)) < 0) {
		fprintf(stderr, "isa-diff: %s\n", err);
		return 77;
	}
	compare_init();
	return 0;
}

static void list_forms(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		printf("%-6s %s\n", forms_get(i)->group, forms_get(i)->name);
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	unsigned n = forms_build();
	if (o.list)
		return list_forms(n), 0;
	int st = start();
	if (st)
		return st;
	struct form_result *res = calloc(n, sizeof(*res));
	if (!res)
		return perror("isa-diff"), 2;
	time_t t0 = time(NULL);
	for (unsigned i = 0; i < n; i++)
		if (selected(forms_get(i)))
			run_form(forms_get(i), &res[i]);
	native_stop();
	compare_fini();
	struct summary s = report_summary(res, n);
	long secs = (long)(time(NULL) - t0);
	st = o.report && report_write(o.report, res, n, &s, o.seed, o.cases, secs) < 0 ? 2 : 0;
	free(res);
	if (st)
		return st;
	printf("forms in the table %u, tested %u, cases %" PRIu64 ", divergences %" PRIu64 "\n",
	       n, s.tested, s.cases, s.divergences);
	printf("%u passed, %u failed\n", s.passed, s.failed);
	return s.failed ? 1 : 0;
}
