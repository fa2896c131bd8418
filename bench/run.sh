#!/usr/bin/env bash
# bench/run.sh - the CPU benchmark side by side: the host running the workload natively
# ($BUILD/bench/native_cpu), the guest kernel under vmm386 and the same image under
# qemu-system-i386 (TCG), each RUNS times (default 3).
#
# The figure is the median wall-clock time of the whole process, measured here.  For the two
# guest columns that includes starting the monitor and booting the guest; the "startup"
# column measures that cost separately (the guest run with 1 iteration) - it is small next
# to the run, and it is not subtracted.  Checksums must agree across all columns.
#
# Environment: BUILD (build), RUNS (3), ITERS (empty: the workload's default),
#              TIMEOUT per run in seconds (600).
# Results: a table on stdout, appended to bench/results/latest.md and latest.csv.
# A column whose program is missing or fails is reported and skipped; the others go on.
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
} | tee -a "$md"

[ -f "$csv" ] || echo "date,commit,workload,target,iterations,runs_ns,median_ns,ns_per_iteration,ratio_to_native,startup_ns,guest_cycles,checksum,status" >"$csv"
for t in "${targets[@]}"; do
	read -r s nsi ratio st <<<"$(row "$t")"
	echo "$date,$commit,cpu,$t,${NIT[$t]:-},${RUNS_NS[$t]:-},${MED[$t]:-},$nsi,$ratio,${STARTUP[$t]:-},${CYCLES[$t]:-},${CHK[$t]:-},\"${STATUS[$t]}\"" >>"$csv"
done

# Non-zero only when the reference columns fail; a failing vmm386 is reported above.
[ "${STATUS[native]}" = ok ]
