/*
 * bench.c - `-append bench [N]`: run the CPU-bound workload (bench/workload/cpu.c) with
 * interrupts off and report iterations, checksum and elapsed TSC cycles on one line.
 * bench/run.sh times the whole run from the host and checks the checksum against the
 * native program's.
 */
#include "kernel.h"
#include "pvops.h"
#include "cpu.h"

void bench_run(uint32_t iterations)
{
	if (!iterations)
		iterations = CPU_BENCH_DEFAULT_ITERS;
	uint64_t t0 = pv_rdtsc();
	uint32_t sum = cpu_workload(iterations);
	uint64_t t1 = pv_rdtsc();
	kprintf("bench cpu: %u iterations, checksum %08x, %llu cycles\n", iterations, sum,
		(unsigned long long)(t1 - t0));
}
