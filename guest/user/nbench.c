/*
 * nbench [quick] - the nanobenchmarks (`-append bench`), after Adams & Agesen.
 *
 * Each result is one line "bench NAME ITERS ns_per_op=X.Y", computed from RDTSC cycles and
 * the TSC frequency the kernel calibrated against the PIT at boot (printed once as
 * tsc_khz=K).  bench/run.sh parses exactly these lines.
 *   getpid      null system call
 *   pgfault     demand-zero page fault: sbrk, then touch each new page once
 *   ptemod      the kernel toggles the W bit of a user PTE and INVLPGs it (per toggle)
 *   ctxsw       pipe ping-pong between two processes, per one-way switch (each a CR3 write)
 *   forkexit    fork + child exit + wait
 *   portio      one port read (IN of COM1's scratch register, or PV_HC_PORT_IO in the PV
 *               kernel), N of them inside a single system call (SYS_IOBENCH)
 *   apiceoi, apictimer, apicread   one LAPIC EOI write, timer reprogram (initial-count
 *               write) or ID read, N of them inside a single system call (SYS_APICBENCH;
 *               the native kernel only, the PV kernel has no LAPIC)
 *   callret     a user-mode call of a non-inlined function and its return
 *               (callret_loop, bench/workload/cpu.c, the same code the host runs)
 *   divzero     a divide error taken and survived: SYS_DIVSKIP makes the kernel resume the
 *               process past the 2-byte DIV ECX instead of killing it (per exception)
 *   cpu         the CPU-bound workload (bench/workload/cpu.c), per iteration; checksum too
 * Each timed part is bracketed by counters_begin/counters_end (SYS_COUNTERS): under vmm386
 * with -d stats the monitor logs what the part cost in exits, host signals, mappings and
 * resyncs (monitor/counters.c), per benchmark; elsewhere the calls do nothing.
 * "quick" divides the iteration counts (tests use it).  Then nbench execs mbench (same
 * argument), the macro workloads, so one boot gives every line bench/run.sh reads.
 * `nbench NAME [ITERS]` (from the shell) runs only that benchmark, ITERS times (default: its
 * full count), and does not exec mbench: for profiling one row (`-d stats`, perf).
 */
#include "ulib.h"
#include "cpu.h"

static uint32_t khz;

static void report(const char *name, uint32_t iters, uint64_t cycles)
{
	/* tenths of a nanosecond per operation */
	uint64_t t = cycles * 10000000ull / khz / iters;
	printf("bench %s %u ns_per_op=%u.%u\n", name, iters, (uint32_t)(t / 10), (uint32_t)(t % 10));
}

static void b_getpid(uint32_t n)
{
	counters_begin();
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++)
		getpid();
	uint64_t dt = rdtsc() - t0;
	counters_end("getpid", n);
	report("getpid", n, dt);
}

static void b_pgfault(uint32_t n)
{
	volatile uint8_t *p = sbrk((int32_t)(n * 4096));
	if (p == (void *)-1) {
		printf("nbench: sbrk failed\n");
		return;
	}
	counters_begin();
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++)
		p[i * 4096] = 1;
	uint64_t dt = rdtsc() - t0;
	counters_end("pgfault", n);
	report("pgfault", n, dt);
	sbrk(-(int32_t)(n * 4096));
}

static void b_ptemod(uint32_t n)
{
	uint8_t *p = malloc(8192);
	uint8_t *page = (uint8_t *)(((uint32_t)p + 4095) & ~4095u);
	page[0] = 1;
	counters_begin();
	uint64_t t0 = rdtsc();
	ptebench(page, n);
	uint64_t dt = rdtsc() - t0;
	counters_end("ptemod", n);
	report("ptemod", n, dt);
	page[0] = 2;                                 /* still writable */
}

static void b_ctxsw(uint32_t n)
{
	int a[2], b[2];
	pipe(a);
	pipe(b);
	int pid = fork();
	if (pid == 0) {
		char c;
		close(a[1]);
		close(b[0]);
		while (read(a[0], &c, 1) == 1)
			write(b[1], &c, 1);
		exit(0);
	}
	close(a[0]);
	close(b[1]);
	char c = 'x';
	write(a[1], &c, 1);                          /* warm up both sides */
	read(b[0], &c, 1);
	counters_begin();
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		write(a[1], &c, 1);
		read(b[0], &c, 1);
	}
	uint64_t dt = rdtsc() - t0;
	counters_end("ctxsw", 2 * n);
	close(a[1]);
	wait(pid, NULL, 0);
	close(b[0]);
	report("ctxsw", 2 * n, dt);
}

static void b_forkexit(uint32_t n)
{
	counters_begin();
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		int pid = fork();
		if (pid == 0)
			exit(0);
		wait(pid, NULL, 0);
	}
	uint64_t dt = rdtsc() - t0;
	counters_end("forkexit", n);
	report("forkexit", n, dt);
}

static void b_portio(uint32_t n)
{
	counters_begin();
	uint64_t t0 = rdtsc();
	int v = iobench(n);
	uint64_t dt = rdtsc() - t0;
	counters_end("portio", n);
	if (v != 0x5A) {                             /* the scratch register must hold it */
		printf("nbench: port read gave 0x%x, want 0x5a\n", v);
		return;
	}
	report("portio", n, dt);
}

static void b_apic(uint32_t n)
{
	static const char *const name[3] = { "apiceoi", "apictimer", "apicread" };
	for (uint32_t kind = 0; kind < 3; kind++) {
		if (apicbench(kind, 1) < 0)              /* the PV kernel: no LAPIC, no row */
			return;
		counters_begin();
		uint64_t t0 = rdtsc();
		apicbench(kind, n);
		uint64_t dt = rdtsc() - t0;
		counters_end(name[kind], n);
		report(name[kind], n, dt);
	}
}

static void b_callret(uint32_t n)
{
	counters_begin();
	uint64_t t0 = rdtsc();
	uint32_t s = callret_loop(n);
	uint64_t dt = rdtsc() - t0;
	counters_end("callret", n);
	report("callret", n, dt);
	printf("callret checksum %08x\n", s);
}

static void b_divzero(uint32_t n)
{
	if (divskip(2) < 0) {
		printf("nbench: divskip failed\n");
		return;
	}
	uint32_t survived = 0;
	counters_begin();
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = 1, d = 0;
		/* DIV ECX is F7 F1, two bytes: the kernel resumes right after it, EAX untouched */
		asm volatile("divl %%ecx" : "+a"(a), "+d"(d) : "c"(0u) : "cc");
		survived += a;
	}
	uint64_t dt = rdtsc() - t0;
	counters_end("divzero", n);
	divskip(0);
	if (survived != n) {
		printf("nbench: divzero: %u of %u divisions resumed untouched\n", survived, n);
		return;
	}
	report("divzero", n, dt);
}

static void b_cpu(uint32_t n)
{
	counters_begin();
	uint64_t t0 = rdtsc();
	uint32_t sum = cpu_workload(n);
	uint64_t dt = rdtsc() - t0;
	counters_end("cpu", n);
	report("cpu", n, dt);
	printf("cpu checksum %08x\n", sum);
}

static const struct { const char *name; void (*run)(uint32_t); uint32_t iters; } benches[] = {
	{ "getpid", b_getpid, 200000 }, { "pgfault", b_pgfault, 4000 }, { "ptemod", b_ptemod, 200000 },
	{ "ctxsw", b_ctxsw, 20000 }, { "forkexit", b_forkexit, 1000 }, { "portio", b_portio, 100000 },
	{ "callret", b_callret, 20000000 }, { "divzero", b_divzero, 20000 },
	{ "cpu", b_cpu, CPU_BENCH_DEFAULT_ITERS },
};

int main(int argc, char **argv)
{
	uint32_t div = argc > 1 && !strcmp(argv[1], "quick") ? 20 : 1;
	khz = tsc_khz();
	if (!khz)
		khz = 1;
	printf("tsc_khz=%u\n", khz);
	for (unsigned i = 0; argc > 1 && i < sizeof(benches) / sizeof(benches[0]); i++)
		if (!strcmp(argv[1], benches[i].name)) {
			int n = argc > 2 ? atoi(argv[2]) : 0;
			benches[i].run(n > 0 ? (uint32_t)n : benches[i].iters);
			return 0;
		}
	b_getpid(200000 / div);
	b_pgfault(4000 / div);
	b_ptemod(200000 / div);
	b_ctxsw(20000 / div);
	b_forkexit(1000 / div);
	b_portio(100000 / div);
	b_apic(100000 / div);
	b_callret(20000000 / div);
	b_divzero(20000 / div);
	b_cpu(div > 1 ? 200 : CPU_BENCH_DEFAULT_ITERS);
	char *margv[] = { "mbench", div > 1 ? "quick" : NULL, NULL };
	exec("mbench", margv);
	printf("nbench: exec mbench failed\n");
	return 1;
}
