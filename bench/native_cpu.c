/*
 * native_cpu.c - the CPU benchmark on the host, as an i386 Linux program: the same workload
 * object the guest kernel links (bench/workload/cpu.c, built with the guest's flags), the
 * same iteration count, and a line in the guest's format plus the wall time:
 *   bench cpu: <iterations> iterations, checksum <hex>, <tsc cycles> cycles, <ns> ns
 * Usage: native_cpu [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	uint32_t iters = CPU_BENCH_DEFAULT_ITERS;
	if (argc > 1) {
		char *end;
		unsigned long v = strtoul(argv[1], &end, 0);
		if (*end || v == 0 || v > 0xFFFFFFFFul) {
			fprintf(stderr, "native_cpu: bad iteration count '%s'\n", argv[1]);
			return 2;
		}
		iters = (uint32_t)v;
	}
	uint64_t t0 = now_ns(), c0 = rdtsc();
	uint32_t sum = cpu_workload(iters);
	uint64_t c1 = rdtsc(), t1 = now_ns();
	printf("bench cpu: %u iterations, checksum %08x, %llu cycles, %llu ns\n", iters, sum,
	       (unsigned long long)(c1 - c0), (unsigned long long)(t1 - t0));
	return 0;
}
