/*
 * profile.c - where does translation cost host time?  The per-site overhead profile
 * (-profile FILE).
 *
 * A site is a guest instruction (linear address CS base + EIP) together with the kind of
 * event it caused.  Two places feed it:
 *  - every exit from translated code that the run loop handles (run.c wraps handle_exit in
 *    profile_exit when profile_on is set): monitor calls (split into port I/O, device memory,
 *    adaptive calls, inline segment-load and INT/IRET cache misses, other calls), exceptions
 *    and guest page faults, self-modifying stores, traced page-table writes, and the
 *    block exits that only need the loop (lookup misses and unchained jumps, at the target
 *    EIP; exit requests at the block head);
 *  - host signals that the handler settles itself without leaving translated code: shadow
 *    fills (signals.c calls profile_fill).
 * For each site: how often, and the host time from the start to the end of its handling
 * (rdtsc, converted to ns against CLOCK_MONOTONIC over the whole run).  Not included: the
 * kernel's signal delivery before the handler runs, and the loop's own work around an exit
 * (device polling, block lookup) - the figures are the handling of each event.
 *
 * The loop's events are counted at the same place as run_stats.exits, so their total is
 * the "monitor exits" figure of -d stats; the shadow-fill rows are the signal-driven part
 * of "shadow fills".  Sites live in an open-addressed table of PROFILE_SLOTS entries; when
 * it is 3/4 full, further new sites are summed in one "(other sites)" row.
 *
 * At the end (profile_write): FILE, a table sorted by total host time (totals by kind
 * first), and FILE.csv with every site.  Symbols come from symbols.c.
 * Cost when off: the run loop and the signal handler each test profile_on once.
 * Called on the vCPU thread; profile_fill from its signal handler, which interrupts
 * translated code only, never the monitor's use of the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "profile.h"
#include "symbols.h"
#include "mon_int.h"
#include "../translator/xl.h"
#include "../devices/devices.h"

#define PROFILE_SLOTS (1u << 18)
#define PROFILE_TEXT_ROWS 200
#define OTHER_KEY (~0ull)

enum pk {
	PK_BLOCK_EXIT, PK_REQUEST, PK_CALL, PK_PORT, PK_MMIO, PK_ADAPTIVE, PK_SREG_MISS,
	PK_RING_MISS, PK_EXCEPTION, PK_PF, PK_FETCH_PF, PK_SMC, PK_PTWRITE, PK_FILL, PK_NR
};
static const char *const pk_name[PK_NR] = {
	"block-exit", "exit-request", "monitor-call", "port-io", "mmio", "adaptive-call",
	"sreg-cache-miss", "ring-cache-miss", "exception", "guest-pf", "fetch-pf", "smc-store",
	"pt-write", "shadow-fill",
};

struct site { uint64_t key, count, ticks; };   /* key: la << 8 | kind, 0 = empty slot */

bool profile_on;
static struct site *slots;
static unsigned used;
static struct site other = { OTHER_KEY, 0, 0 };
static char *out_path;
static uint64_t tsc0, ns0;

int profile_open(const char *path)
{
	FILE *f = fopen(path, "w");               /* fail now, not after the run */
	if (!f)
		return -1;
	fclose(f);
	slots = calloc(PROFILE_SLOTS, sizeof(*slots));
	out_path = strdup(path);
	if (!slots || !out_path)
		return -1;
	ns0 = host_now_ns();
	tsc0 = profile_tsc();
	profile_on = true;
	return 0;
}

static struct site *site_of(gla_t la, enum pk k)
{
	uint64_t key = (uint64_t)la << 8 | (uint64_t)k | 1u << 7;   /* never 0 */
	unsigned h = (unsigned)((key * 0x9E3779B97F4A7C15ull) >> 48) & (PROFILE_SLOTS - 1);
	for (;; h = (h + 1) & (PROFILE_SLOTS - 1)) {
		if (slots[h].key == key)
			return &slots[h];
		if (slots[h].key)
			continue;
		if (used >= PROFILE_SLOTS / 4 * 3)
			return &other;
		used++;
		slots[h].key = key;
		return &slots[h];
	}
}

static void record(gla_t la, enum pk k, uint64_t ticks)
{
	struct site *s = site_of(la, k);
	s->count++;
	s->ticks += ticks;
}

static enum pk kind_of(const struct vcpu *c, unsigned reason)
{
	uint32_t info = c->exit_info;
	switch (reason) {
	case EXIT_LOOKUP: return PK_BLOCK_EXIT;
	case EXIT_REQUEST: return PK_REQUEST;
	case EXIT_EXCEPTION: return PK_EXCEPTION;
	case EXIT_PF: return PK_PF;
	case EXIT_FETCH_PF: return PK_FETCH_PF;
	case EXIT_SMC: return PK_SMC;
	case EXIT_PTWRITE: return PK_PTWRITE;
	case EXIT_EMULATE:
		if (info >= XL_INFO_RING) return PK_RING_MISS;
		if (info >= XL_INFO_SREG) return PK_SREG_MISS;
		if (info == EMULATE_MMIO) return PK_MMIO;
		if (info == EMULATE_ADAPTIVE) return PK_ADAPTIVE;
		return PK_CALL;
	default: return PK_CALL;
	}
}

int profile_exit(struct vcpu *c, unsigned reason, int (*handler)(struct vcpu *, unsigned))
{
	gla_t la = c->seg[S_CS].base + c->eip;
	enum pk k = kind_of(c, reason);
	uint64_t pio = dev_pio_count, t0 = profile_tsc();
	int r = handler(c, reason);
	uint64_t t = profile_tsc() - t0;
	if (k == PK_CALL && dev_pio_count != pio)
		k = PK_PORT;
	record(la, k, t);
	return r;
}

void profile_fill(struct vcpu *c, const struct cc_block *b, uint32_t off, uint64_t t0)
{
	unsigned i = 0;
	while (i + 1 < b->ninsn && b->imap[i + 1].host_off <= off)
		i++;
	record(b->cs_base + b->imap[i].eip, PK_FILL, profile_tsc() - t0);
	(void)c;
}

/* ---- the report (integers only: the monitor is built without SSE) ------------------- */

static uint64_t run_ticks, run_ns;

static uint64_t to_ns(uint64_t ticks)
{
	return run_ticks ? (uint64_t)((unsigned __int128)ticks * run_ns / run_ticks) : ticks;
}

/* "12.345" milliseconds of ns, and "12.3" per cent of part/all */
static const char *ms(uint64_t ns, char *buf)
{
	sprintf(buf, "%llu.%03llu", (unsigned long long)(ns / 1000000), (unsigned long long)(ns / 1000 % 1000));
	return buf;
}

static const char *pct(uint64_t part, uint64_t all, char *buf)
{
	uint64_t pm = all ? (uint64_t)((unsigned __int128)part * 1000 / all) : 0;
	sprintf(buf, "%llu.%llu%%", (unsigned long long)(pm / 10), (unsigned long long)(pm % 10));
	return buf;
}

static int by_ticks(const void *a, const void *b)
{
	const struct site *x = a, *y = b;
	return x->ticks < y->ticks ? 1 : x->ticks > y->ticks ? -1 : 0;
}

static void kind_totals(FILE *f, const struct site *s, unsigned n, uint64_t all)
{
	uint64_t cnt[PK_NR + 1] = {0}, tk[PK_NR + 1] = {0};
	char b1[32], b2[32];
	for (unsigned i = 0; i < n; i++) {
		unsigned k = s[i].key == OTHER_KEY ? PK_NR : (unsigned)(s[i].key & 0x7f);
		cnt[k] += s[i].count;
		tk[k] += s[i].ticks;
	}
	fprintf(f, "by kind:\n  %-16s %12s %12s %7s %10s\n", "kind", "count", "ms", "share", "ns/each");
	for (unsigned k = 0; k <= PK_NR; k++)
		if (cnt[k])
			fprintf(f, "  %-16s %12llu %12s %7s %10llu\n",
				k == PK_NR ? "(other sites)" : pk_name[k], (unsigned long long)cnt[k],
				ms(to_ns(tk[k]), b1), pct(tk[k], all, b2),
				(unsigned long long)(to_ns(tk[k]) / cnt[k]));
}

static void write_rows(FILE *txt, FILE *csv, const struct site *s, unsigned n, uint64_t all)
{
	char name[160], b1[32], b2[32];
	fprintf(txt, "\nsites, most host time first (all %u in the .csv):\n"
		"  %4s %10s %7s %10s %9s  %-16s %-8s %s\n", n, "rank", "ms", "share", "count",
		"ns/each", "kind", "eip", "guest symbol");
	fprintf(csv, "kind,eip,symbol,count,total_ns\n");
	for (unsigned i = 0; i < n; i++) {
		bool oth = s[i].key == OTHER_KEY;
		gla_t la = oth ? 0 : (gla_t)(s[i].key >> 8);
		const char *kind = oth ? "(other sites)" : pk_name[s[i].key & 0x7f];
		const char *sym = oth ? "-" : sym_describe(la, name, sizeof(name));
		uint64_t ns = to_ns(s[i].ticks);
		if (i < PROFILE_TEXT_ROWS)
			fprintf(txt, "  %4u %10s %7s %10llu %9llu  %-16s %08x %s\n", i + 1, ms(ns, b1),
				pct(s[i].ticks, all, b2), (unsigned long long)s[i].count,
				(unsigned long long)(ns / s[i].count), kind, la, sym);
		fprintf(csv, "%s,%08x,%s,%llu,%llu\n", kind, la, sym, (unsigned long long)s[i].count,
			(unsigned long long)ns);
	}
}

/* The sites in use (and the overflow row), sorted by host time; *n of them. */
static struct site *sorted_sites(unsigned *n, uint64_t *all, uint64_t *events)
{
	struct site *s = malloc((used + 1) * sizeof(*s));
	*n = 0;
	*all = *events = 0;
	for (unsigned i = 0; s && i < PROFILE_SLOTS; i++)
		if (slots[i].key)
			s[(*n)++] = slots[i];
	if (s && other.count)
		s[(*n)++] = other;
	for (unsigned i = 0; s && i < *n; i++) {
		*all += s[i].ticks;
		*events += s[i].count;
	}
	if (s)
		qsort(s, *n, sizeof(*s), by_ticks);
	return s;
}

void profile_write(void)
{
	if (!profile_on)
		return;
	profile_on = false;
	run_ticks = profile_tsc() - tsc0;
	run_ns = host_now_ns() - ns0;
	unsigned n;
	uint64_t all, events;
	char csv_path[4096], b1[32], b2[32];
	struct site *s = sorted_sites(&n, &all, &events);
	snprintf(csv_path, sizeof(csv_path), "%s.csv", out_path);
	FILE *txt = fopen(out_path, "w"), *csv = fopen(csv_path, "w");
	if (!s || !txt || !csv)
		fprintf(stderr, "vmm386: -profile: cannot write %s: %s\n", out_path, strerror(errno));
	else {
		fprintf(txt, "vmm386 per-site overhead profile: %u sites, %llu events, %s ms of host "
			"time handling them in a run of %s ms\n\n", n, (unsigned long long)events,
			ms(to_ns(all), b1), ms(run_ns, b2));
		kind_totals(txt, s, n, all);
		write_rows(txt, csv, s, n, all);
	}
	if (txt) fclose(txt);
	if (csv) fclose(csv);
	free(s);
}
