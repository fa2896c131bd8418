# bench/ - the head-to-head benchmark (bench/run.sh has the details).
#
#   make bench      build the guests, the native host program and (if it builds) vmm386,
#                   then run bench/run.sh: the nanobenchmarks and macro workloads of the
#                   multi-process kernel in four columns - BT (native.elf under vmm386), PV
#                   (pv.elf under vmm386), qemu (native.elf under qemu-system-i386, TCG) and
#                   host (the same i386 user code natively, CPU-bound rows) - plus the older
#                   bare.elf CPU section.  Tables on stdout and in bench/results/latest.md,
#                   latest.csv, the chart latest.png (gnuplot), vmm386's -d stats of each
#                   vmm386 column in vmm-stats-bt.txt / vmm-stats-pv.txt, and the host's
#                   floor (bench/hostfloor.c: a signal, a page mapping).  About 1.5 minutes.
#                   make bench BENCH_ENV='QUICK=1 RESULTS=/tmp/b' is a few-second smoke run.
#                   Then bench/linux.sh: Debian's Linux 6.1 under vmm386 and qemu (and the
#                   same user programs on the host), a table appended to latest.md, linux.csv
#                   and vmm-stats-linux.txt; about 3 minutes (1 with QUICK=1).
#
# The native program links the very object the guest links ($(GUEST_WL), guest/module.mk),
# so both columns run identical workload code.
#
# qemu-system-x86 and gnuplot-nox are optional for the benchmark: as root, bench-deps installs
# whichever is missing (the Makefile's apt-get logic, limited to these two); otherwise, or if
# the install fails, the column or the chart is reported as n/a and the rest still runs.

BENCH_NATIVE := $(BUILD)/bench/native_cpu
BENCH_FLOOR  := $(BUILD)/bench/hostfloor
BENCH_PKGS   := qemu-system-x86 gnuplot-nox
BENCH_ENV    ?=

$(BENCH_NATIVE): bench/native_cpu.c bench/workload/cpu.h $(GUEST_WL)
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 -O2 -Wall -Wextra -Ibench/workload -static -no-pie -o $@ bench/native_cpu.c $(GUEST_WL)

# the host's own cost of a signal, a page mapping, an unmap, an mprotect (bench/hostfloor.c)
$(BENCH_FLOOR): bench/hostfloor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

.PHONY: bench-deps
bench-deps:
	@m=""; for p in $(BENCH_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || m="$$m $$p"; done; \
	if [ -n "$$m" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "bench: installing:$$m"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$m; } || \
	    echo "bench: could not install$$m; reported as n/a" >&2; \
	  else echo "bench: missing$$m (sudo apt-get install -y$$m); reported as n/a" >&2; fi; fi

bench: bench-deps guest $(BENCH_NATIVE) $(BENCH_FLOOR) $(LX_CHECK)
	@$(MAKE) --no-print-directory $(BUILD)/vmm386 || \
	  echo "bench: building $(BUILD)/vmm386 failed; its columns will be skipped" >&2
	BUILD=$(BUILD) $(BENCH_ENV) bash bench/run.sh
	BUILD=$(BUILD) $(BENCH_ENV) bash bench/linux.sh
