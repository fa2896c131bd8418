#!/usr/bin/env bash
# bench/run.sh - the benchmarks side by side, in one run:
#  1. the CPU benchmark: the host running the workload natively ($BUILD/bench/native_cpu),
#     the bare guest ($BUILD/guest/bare.elf) under vmm386 and the same image under
#     qemu-system-i386 (TCG), each RUNS times (default 3);
#  2. the nanobenchmarks of the multi-process kernel ($BUILD/guest/native.elf -append bench:
#     null syscall, demand-zero fault, PTE modify + INVLPG, context switch, fork+exit+wait,
#     the CPU workload as a user process), once under vmm386 (with -d stats, saved to
#     bench/results/vmm-stats.txt) and once under qemu-system-i386.  The guest measures
#     these itself with RDTSC against a PIT-calibrated TSC; the table gives ns/op per system
#     and the ratio vmm386/qemu.
#
# The figure is the median wall-clock time of the whole process, measured here.  For the two
# guest columns that includes starting the monitor and booting the guest; the "startup"
# column measures that cost separately (the guest run with 1 iteration) - it is small next
# to the run, and it is not subtracted.  Checksums must agree across all columns.
#
# Environment: BUILD (build), RUNS (3), ITERS (empty: the workload's default),
#              TIMEOUT per run in seconds (600), NANO_APPEND (bench; "bench quick" for a
#              short run).
# Results: the tables on stdout, appended to bench/results/latest.md and latest.csv (the
# nanobenchmarks as rows with workload "nano:NAME").  A column whose program is missing or
# fails is reported ("n/a") and skipped; the others go on.
set -u
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
ITERS=${ITERS:-}
TIMEOUT=${TIMEOUT:-600}
cd "$(dirname "$0")/.."

kernel=$BUILD/guest/bare.elf
native=$BUILD/bench/native_cpu
vmm=$BUILD/vmm386
resdir=bench/results
mkdir -p "$resdir"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

qemu_base=(qemu-system-i386 -kernel "$kernel" -m 128 -display none -serial stdio -monitor none
	   -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)

# run_once <want-status> <cmd...>: run, check status and output line.
# Sets WALL_NS, SUM, NITER, CYC; returns non-zero with REASON set on failure.
run_once() {
	local want=$1; shift
	local t0 t1 st line
	t0=$(date +%s%N)
	timeout "$TIMEOUT" "$@" </dev/null >"$tmp" 2>&1
	st=$?
	t1=$(date +%s%N)
	WALL_NS=$((t1 - t0))
	line=$(tr -d '\r' <"$tmp" | grep -m1 '^bench cpu: ')
	if [ "$st" != "$want" ]; then
		REASON="exit status $st (want $want)"
		[ "$st" = 124 ] && REASON="timed out after ${TIMEOUT}s"
		return 1
	fi
	if [ -z "$line" ]; then
		REASON="no 'bench cpu:' line"
		return 1
	fi
	NITER=$(sed -E 's/^bench cpu: ([0-9]+) iterations.*/\1/' <<<"$line")
	SUM=$(sed -E 's/.*checksum ([0-9a-f]+).*/\1/' <<<"$line")
	CYC=$(sed -E 's/.*, ([0-9]+) cycles.*/\1/' <<<"$line")
	return 0
}

median() { sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'; }

declare -A MED STATUS CHK NIT RUNS_NS STARTUP CYCLES
targets=(native vmm386 qemu)

measure() { # measure <target> <want-status> <cmd...>
	local t=$1 want=$2; shift 2
	local times=() i
	STATUS[$t]=ok
	STARTUP[$t]=-
	for ((i = 1; i <= RUNS; i++)); do
		if ! run_once "$want" "$@"; then
			STATUS[$t]="failed: $REASON"
			echo "bench: $t run $i $REASON" >&2
			tail -n 5 "$tmp" | sed 's/^/    /' >&2
			return
		fi
		times+=("$WALL_NS")
		CHK[$t]=$SUM
		NIT[$t]=$NITER
		CYCLES[$t]=$CYC
		echo "  $t run $i: $(awk -v n="$WALL_NS" 'BEGIN {printf "%.3f", n / 1e9}') s, checksum $SUM" >&2
	done
	RUNS_NS[$t]="${times[*]}"
	MED[$t]=$(printf '%s\n' "${times[@]}" | median)
}

startup() { # startup <target> <want-status> <cmd...>: the same program with 1 iteration
	local t=$1 want=$2; shift 2
	[ "${STATUS[$t]}" = ok ] && run_once "$want" "$@" && STARTUP[$t]=$WALL_NS
}

append="bench${ITERS:+ $ITERS}"
echo "bench: cpu workload, $RUNS runs each${ITERS:+, $ITERS iterations}" >&2

if [ -x "$native" ]; then
	measure native 0 "$native" ${ITERS:+"$ITERS"}
else
	STATUS[native]="failed: missing $native"
fi
if [ -x "$vmm" ] && [ -f "$kernel" ]; then
	measure vmm386 1 "$vmm" -kernel "$kernel" -append "$append"
	startup vmm386 1 "$vmm" -kernel "$kernel" -append "bench 1"
else
	STATUS[vmm386]="failed: missing $vmm"
fi
if command -v qemu-system-i386 >/dev/null && [ -f "$kernel" ]; then
	measure qemu 1 "${qemu_base[@]}" -append "$append"
	startup qemu 1 "${qemu_base[@]}" -append "bench 1"
else
	STATUS[qemu]="failed: qemu-system-i386 or $kernel missing"
fi

# --- nanobenchmarks of the multi-process kernel -------------------------------------------------
nano_kernel=$BUILD/guest/native.elf
NANO_APPEND=${NANO_APPEND:-bench}
nano_names=(getpid pgfault ptemod ctxsw forkexit cpu)
declare -A NANO NANO_IT NANO_STATUS NANO_SUM

nano_run() { # nano_run <target> <cmd...>: parse "bench NAME ITERS ns_per_op=X" lines
	local t=$1; shift
	local st line name it ns
	echo "bench: nanobenchmarks under $t ($NANO_APPEND)" >&2
	timeout "$TIMEOUT" "$@" </dev/null >"$tmp" 2>&1
	st=$?
	NANO_STATUS[$t]=ok
	if [ "$st" != 1 ]; then
		NANO_STATUS[$t]="failed: exit status $st (want 1)"
		[ "$st" = 124 ] && NANO_STATUS[$t]="failed: timed out after ${TIMEOUT}s"
		echo "bench: $t ${NANO_STATUS[$t]}" >&2
		tail -n 5 "$tmp" | sed 's/^/    /' >&2
	fi
	while read -r line; do
		read -r _ name it ns <<<"$line"
		NANO[$t,$name]=${ns#ns_per_op=}
		NANO_IT[$t,$name]=$it
		echo "  $t $name: ${NANO[$t,$name]} ns/op ($it)" >&2
	done < <(tr -d '\r' <"$tmp" | grep -E '^bench [a-z]+ [0-9]+ ns_per_op=[0-9.]+$')
	NANO_SUM[$t]=$(tr -d '\r' <"$tmp" | sed -nE 's/^cpu checksum ([0-9a-f]+)$/\1/p' | head -n 1)
	local missing=0
	for name in "${nano_names[@]}"; do
		[ -n "${NANO[$t,$name]:-}" ] || missing=$((missing + 1))
	done
	if [ "${NANO_STATUS[$t]}" = ok ] && [ $missing -gt 0 ]; then
		NANO_STATUS[$t]="failed: $missing benchmark lines missing"
	fi
	return 0
}

if [ -x "$vmm" ] && [ -f "$nano_kernel" ]; then
	nano_run vmm386 "$vmm" -kernel "$nano_kernel" -m 128 -append "$NANO_APPEND" \
		-d stats -D "$resdir/vmm-stats.txt"
else
	NANO_STATUS[vmm386]="failed: missing $vmm or $nano_kernel"
fi
if command -v qemu-system-i386 >/dev/null && [ -f "$nano_kernel" ]; then
	nano_run qemu qemu-system-i386 -kernel "$nano_kernel" -m 128 -display none -serial stdio \
		-monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-append "$NANO_APPEND"
else
	NANO_STATUS[qemu]="failed: qemu-system-i386 or $nano_kernel missing"
fi
if [ -n "${NANO_SUM[vmm386]:-}" ] && [ -n "${NANO_SUM[qemu]:-}" ] &&
   [ "${NANO_SUM[vmm386]}" != "${NANO_SUM[qemu]}" ]; then
	NANO_STATUS[vmm386]="failed: cpu checksum ${NANO_SUM[vmm386]} differs from qemu's ${NANO_SUM[qemu]}"
fi

# Checksums must agree.
ref=""
for t in "${targets[@]}"; do
	[ "${STATUS[$t]}" = ok ] || continue
	if [ -z "$ref" ]; then
		ref=${CHK[$t]}
	elif [ "${CHK[$t]}" != "$ref" ]; then
		STATUS[$t]="failed: checksum ${CHK[$t]} differs from $ref"
	fi
done

date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
nat=${MED[native]:-}
[ "${STATUS[native]}" = ok ] || nat=""

fmt_s() { [ "$1" = - ] && { echo -; return; }; awk -v n="$1" 'BEGIN {printf "%.3f", n / 1e9}'; }
row() { # row <target>: "median_s ns_per_iter ratio startup_s"
	local t=$1
	if [ "${STATUS[$t]}" != ok ]; then
		echo "- - - -"
		return
	fi
	local m=${MED[$t]} n=${NIT[$t]}
	local nsi ratio
	nsi=$(awk -v m="$m" -v n="$n" 'BEGIN {printf "%.0f", m / n}')
	ratio=-
	[ -n "$nat" ] && ratio=$(awk -v m="$m" -v b="$nat" 'BEGIN {printf "%.2f", m / b}')
	echo "$(fmt_s "$m") $nsi $ratio $(fmt_s "${STARTUP[$t]}")"
}

md=$resdir/latest.md
csv=$resdir/latest.csv
{
	echo
	echo "## cpu workload - $date (commit $commit)"
	echo
	echo "Host: $cpu. Median of $RUNS runs, wall clock of the whole process (guest columns"
	echo "include monitor start-up and guest boot; 'startup' is that cost alone, not subtracted)."
	echo
	echo "| target | median wall (s) | ns / iteration | ratio to native | startup (s) | checksum | status |"
	echo "|---|---:|---:|---:|---:|---|---|"
	for t in "${targets[@]}"; do
		read -r s nsi ratio st <<<"$(row "$t")"
		echo "| $t | $s | $nsi | $ratio | $st | ${CHK[$t]:--} | ${STATUS[$t]} |"
	done
	echo
	echo "### nanobenchmarks (native.elf -append $NANO_APPEND)"
	echo
	echo "Measured inside the guest with RDTSC (TSC calibrated against the PIT at boot), one run"
	echo "each; ctxsw is per one-way switch of a pipe ping-pong; cpu is per workload iteration."
	echo "vmm386 statistics of the run: bench/results/vmm-stats.txt."
	echo
	echo "| benchmark | iterations | vmm386 ns/op | qemu ns/op | ratio vmm/qemu |"
	echo "|---|---:|---:|---:|---:|"
	for n in "${nano_names[@]}"; do
		v=${NANO[vmm386,$n]:-n/a}
		q=${NANO[qemu,$n]:-n/a}
		r=n/a
		[ "$v" != n/a ] && [ "$q" != n/a ] && r=$(awk -v a="$v" -v b="$q" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}')
		echo "| $n | ${NANO_IT[qemu,$n]:-${NANO_IT[vmm386,$n]:--}} | $v | $q | $r |"
	done
	echo
	echo "vmm386: ${NANO_STATUS[vmm386]}; qemu: ${NANO_STATUS[qemu]}; cpu checksum vmm386 ${NANO_SUM[vmm386]:--}, qemu ${NANO_SUM[qemu]:--}"
} | tee -a "$md"

[ -f "$csv" ] || echo "date,commit,workload,target,iterations,runs_ns,median_ns,ns_per_iteration,ratio_to_native,startup_ns,guest_cycles,checksum,status" >"$csv"
for t in "${targets[@]}"; do
	read -r s nsi ratio st <<<"$(row "$t")"
	echo "$date,$commit,cpu,$t,${NIT[$t]:-},${RUNS_NS[$t]:-},${MED[$t]:-},$nsi,$ratio,${STARTUP[$t]:-},${CYCLES[$t]:-},${CHK[$t]:-},\"${STATUS[$t]}\"" >>"$csv"
done

for t in vmm386 qemu; do
	for n in "${nano_names[@]}"; do
		[ -n "${NANO[$t,$n]:-}" ] || continue
		echo "$date,$commit,nano:$n,$t,${NANO_IT[$t,$n]},,,${NANO[$t,$n]},,,,$([ "$n" = cpu ] && echo "${NANO_SUM[$t]:-}"),\"${NANO_STATUS[$t]}\"" >>"$csv"
	done
done

# Non-zero only when the reference columns fail; a failing vmm386 is reported above.
[ "${STATUS[native]}" = ok ]
