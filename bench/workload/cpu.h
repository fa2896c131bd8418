/*
 * cpu.h - the CPU-bound integer workload shared by the guest kernel (-append bench) and the
 * native host program (bench/native_cpu.c).  Both link the very same object file, built
 * with the guest's compiler flags, so the two run identical instructions.
 */
#ifndef BENCH_WORKLOAD_CPU_H
#define BENCH_WORKLOAD_CPU_H

#include <stdint.h>

/* About 1-2 s on one core of the development machine (native). */
#define CPU_BENCH_DEFAULT_ITERS 25000u

/* Run the workload `iterations` times; the checksum depends only on `iterations`. */
uint32_t cpu_workload(uint32_t iterations);

/* n calls of a non-inlined function (one CALL + RET each); the result depends only on n. */
uint32_t callret_loop(uint32_t n);

#endif
