/*
 * mbench [quick] - the macro workloads of the head-to-head (bench/run.sh).  nbench execs it
 * after the nanobenchmarks, so `-append bench` produces both sets in one boot.
 * `mbench NAME [UNITS]` runs the one workload NAME (forkexec, pipe, alloc; UNITS as below,
 * alloc's rounded up to whole rounds of 1,024 pages), for profiling it alone.
 *
 * Each workload prints one line "macro NAME UNITS ms=X.YYY": the elapsed time of the whole
 * workload in milliseconds (RDTSC against the kernel's PIT-calibrated TSC, as nbench), and
 * UNITS, how much work that was:
 *   forkexec  UNITS processes: fork, the child execs `true`, the parent waits for it
 *   pipe      UNITS KiB streamed from a writer to a reader process through one pipe, in 4 KiB
 *             writes; the reader checks every byte (a position-dependent pattern) and the
 *             line is printed only if the stream arrived intact
 *   alloc     UNITS page faults: rounds of sbrk(+4 MiB), a write to every new page (each a
 *             demand-zero fault), sbrk(-4 MiB) which unmaps it all again
 * Each workload is bracketed by counters_begin/counters_end, as in nbench.c.
 * The CPU-bound macro workload is nbench's `cpu` line (bench/workload/cpu.c as a user
 * process); it is not run a second time here.
 *
 * Decisions: elapsed time rather than ns/op, because these are meant to be read as "how long
 * does this job take" side by side (run.sh also derives a per-unit figure).  Sizes are
 * chosen so the three guest columns of `make bench` together take well under a minute on
 * the slowest system (see bench/run.sh); "quick" shrinks them for the tests.  A workload
 * that goes wrong prints "mbench: ..." instead of its line, which run.sh and the tests
 * report as missing.
 */
#include "ulib.h"

#define CHUNK 4096u

static uint32_t khz;

static void report(const char *name, uint32_t units, uint64_t cycles)
{
	uint64_t us = cycles * 1000ull / khz;
	printf("macro %s %u ms=%u.%03u\n", name, units, (uint32_t)(us / 1000), (uint32_t)(us % 1000));
}

static void m_forkexec(uint32_t n)
{
	uint32_t bad = 0;
	counters_begin();
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		int pid = fork();
		if (pid == 0) {
			char *argv[] = { "true", NULL };
			exec("true", argv);
			exit(127);
		}
		int st = -1;
		if (pid < 0 || wait(pid, &st, 0) != pid || st != 0)
			bad++;
	}
	uint64_t dt = rdtsc() - t0;
	counters_end("forkexec", n);
	if (bad) {
		printf("mbench: forkexec: %u of %u children failed\n", bad, n);
		return;
	}
	report("forkexec", n, dt);
}

/* Byte at stream offset o: varies within and across chunks, so a lost, repeated or
 * reordered chunk shows. */
static inline uint8_t pattern(uint32_t o)
{
	return (uint8_t)(o * 131u + (o >> 12) * 7u);
}

static void m_pipe(uint32_t kib)
{
	static uint8_t buf[CHUNK];
	uint32_t total = kib * 1024u;
	int fds[2];
	if (pipe(fds) < 0) {
		printf("mbench: pipe failed\n");
		return;
	}
	counters_begin();
	uint64_t t0 = rdtsc();
	int pid = fork();
	if (pid == 0) {                              /* reader */
		close(fds[1]);
		uint32_t got = 0, errors = 0;
		int k;
		while ((k = read(fds[0], buf, CHUNK)) > 0) {
			for (int i = 0; i < k; i++)
				errors += buf[i] != pattern(got + (uint32_t)i);
			got += (uint32_t)k;
		}
		exit(got == total && !errors ? 0 : 1);
	}
	close(fds[0]);
	uint32_t sent = 0;
	while (pid > 0 && sent < total) {
		for (uint32_t i = 0; i < CHUNK; i++)
			buf[i] = pattern(sent + i);
		int w = write(fds[1], buf, CHUNK);
		if (w <= 0)
			break;
		sent += (uint32_t)w;
		if (w != (int)CHUNK)                 /* keep the pattern aligned to chunks */
			break;
	}
	close(fds[1]);
	int st = -1;
	if (pid > 0)
		wait(pid, &st, 0);
	uint64_t dt = rdtsc() - t0;
	counters_end("pipe", kib);
	if (pid < 0 || sent != total || st != 0) {
		printf("mbench: pipe: sent %u of %u bytes, reader status %d\n", sent, total, st);
		return;
	}
	report("pipe", kib, dt);
}

static void m_alloc(uint32_t rounds, uint32_t pages)
{
	counters_begin();
	uint64_t t0 = rdtsc();
	for (uint32_t r = 0; r < rounds; r++) {
		volatile uint8_t *p = sbrk((int32_t)(pages * 4096u));
		if (p == (void *)-1) {
			printf("mbench: alloc: sbrk failed in round %u\n", r);
			return;
		}
		for (uint32_t i = 0; i < pages; i++)
			p[i * 4096u + (i & 0xFFFu)] = (uint8_t)(i + r);
		for (uint32_t i = 0; i < pages; i += 97)
			if (p[i * 4096u + (i & 0xFFFu)] != (uint8_t)(i + r)) {
				printf("mbench: alloc: page %u lost its value\n", i);
				return;
			}
		sbrk(-(int32_t)(pages * 4096u));
	}
	uint64_t dt = rdtsc() - t0;
	counters_end("alloc", rounds * pages);
	report("alloc", rounds * pages, dt);
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && !strcmp(argv[1], "quick");
	khz = tsc_khz();
	if (!khz)
		khz = 1;
	if (argc > 1 && !quick) {
		/* one workload, for profiling it alone: mbench forkexec|pipe|alloc [UNITS] */
		uint32_t n = argc > 2 ? (uint32_t)atoi(argv[2]) : 0;
		if (!strcmp(argv[1], "forkexec"))
			m_forkexec(n ? n : 300);
		else if (!strcmp(argv[1], "pipe"))
			m_pipe(n ? n : 16384);
		else if (!strcmp(argv[1], "alloc"))
			m_alloc(n ? (n + 1023) / 1024 : 32, 1024);
		else {
			printf("usage: mbench [quick | forkexec|pipe|alloc [UNITS]]\n");
			return 1;
		}
		return 0;
	}
	m_forkexec(quick ? 10 : 300);
	m_pipe(quick ? 512 : 16384);
	m_alloc(quick ? 2 : 32, quick ? 256 : 1024);
	return 0;
}
