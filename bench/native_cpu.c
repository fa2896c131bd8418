/*
 * native_cpu.c - the CPU benchmark on the host, as an i386 Linux program: the same workload
 * object the guest kernel links (bench/workload/cpu.c, built with the guest's flags), the
 * same iteration count, and a line in the guest's format plus the wall time:
 *   bench cpu: <iterations> iterations, checksum <hex>, <tsc cycles> cycles, <ns> ns
 * Usage: native_cpu [iterations]
 *
 * `native_cpu callret N` runs the call/ret microbenchmark (callret_loop, the same object)
 * and prints it in nbench's format, timed with CLOCK_MONOTONIC:
 *   bench callret <N> ns_per_op=<X.Y>
 *   callret checksum <hex>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include "cpu.h"

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_count(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);
	if (*end || v == 0 || v > 0xFFFFFFFFul) {
		fprintf(stderr, "native_cpu: bad iteration count '%s'\n", s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t iters = CPU_BENCH_DEFAULT_ITERS;
	if (argc > 1 && !strcmp(argv[1], "callret")) {
		if (argc != 3 || parse_count(argv[2], &iters) < 0)
			return 2;
		uint64_t t0 = now_ns();
		uint32_t s = callret_loop(iters);
		uint64_t dt = now_ns() - t0;
		uint64_t tenths = dt * 10 / iters;       /* tenths of a ns, like nbench */
		printf("bench callret %u ns_per_op=%llu.%llu\ncallret checksum %08x\n", iters,
		       (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10), s);
		return 0;
	}
	if (argc > 1 && parse_count(argv[1], &iters) < 0)
		return 2;
	uint64_t t0 = now_ns(), c0 = rdtsc();
	uint32_t sum = cpu_workload(iters);
	uint64_t c1 = rdtsc(), t1 = now_ns();
	printf("bench cpu: %u iterations, checksum %08x, %llu cycles, %llu ns\n", iters, sum,
	       (unsigned long long)(c1 - c0), (unsigned long long)(t1 - t0));
	return 0;
}
