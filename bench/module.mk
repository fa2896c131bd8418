# bench/ - benchmarks, side by side: host (native i386 program), vmm386, qemu-system-i386.
#
#   make bench      build the guests, the native program and (if it builds) vmm386, then run
#                   bench/run.sh: the CPU workload on bare.elf (each 3 times, medians) and the
#                   nanobenchmarks of native.elf (-append bench) under vmm386 and qemu, tables
#                   in bench/results/latest.{md,csv}, vmm386's -d stats in vmm-stats.txt
#
# The native program links the very object the guest links ($(GUEST_WL), guest/module.mk),
# so both columns run identical workload code.

BENCH_NATIVE := $(BUILD)/bench/native_cpu

$(BENCH_NATIVE): bench/native_cpu.c bench/workload/cpu.h $(GUEST_WL)
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 -O2 -Wall -Wextra -Ibench/workload -static -no-pie -o $@ bench/native_cpu.c $(GUEST_WL)

bench: guest $(BENCH_NATIVE)
	@$(MAKE) --no-print-directory $(BUILD)/vmm386 || \
	  echo "bench: building $(BUILD)/vmm386 failed; its column will be skipped" >&2
	BUILD=$(BUILD) bash bench/run.sh
