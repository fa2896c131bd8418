/* cpubench [N] - the CPU-bound workload (bench/workload/cpu.c) as a user program. */
#include "ulib.h"
#include "cpu.h"

int main(int argc, char **argv)
{
	uint32_t iters = argc > 1 ? (uint32_t)atoi(argv[1]) : CPU_BENCH_DEFAULT_ITERS;
	uint64_t t0 = rdtsc();
	uint32_t sum = cpu_workload(iters);
	uint64_t t1 = rdtsc();
	printf("bench cpu: %u iterations, checksum %08x, %llu cycles\n", iters, sum,
	       (unsigned long long)(t1 - t0));
	return 0;
}
