#!/usr/bin/env bash
# bench/run.sh - the head-to-head (`make bench`): one run, four columns side by side.
#
#   BT    build/vmm386 -kernel build/guest/native.elf   the unmodified kernel, translated
#   PV    build/vmm386 -kernel build/guest/pv.elf       the same source built with hypercalls
#   qemu  qemu-system-i386 -kernel build/guest/native.elf (TCG software emulation)
#   host  the same i386 user code run natively ($BUILD/bench/native_cpu), for the CPU-bound
#         rows only (callret, cpu): nothing else has a meaningful host equivalent here
#
# Each guest column boots its kernel with `-append bench`: nbench prints the nanobenchmarks
# ("bench NAME ITERS ns_per_op=X", measured inside the guest with RDTSC against the TSC the
# kernel calibrated on the PIT), then execs mbench, which prints the macro workloads
# ("macro NAME UNITS ms=X", the elapsed time of the whole workload); see guest/user/nbench.c
# and mbench.c.  The cpu row of the macro table is nbench's cpu line (the CPU workload as a
# user process) times its iteration count.  Every guest column is booted RUNS times and each
# figure is the median of its runs; the host figures are medians of RUNS runs too.  The cpu
# and callret checksums must agree across all columns, or the column is marked failed.
#
# vmm386 columns also run with `-d stats`; the statistics of their last run are saved in
# bench/results/vmm-stats-bt.txt and vmm-stats-pv.txt, to explain the differences, and
# their "counters" lines (one per benchmark: the guest asks vmm386's counters port for the
# deltas around each timed part, monitor/counters.c) give the table of counts per operation
# (host signals, host mapping calls, monitor exits by kind, resyncs) in latest.md; one more
# untimed BT boot with -profile writes profile-bt.txt (and .csv): which guest sites cost what.
#
# Before that, the older bare-metal section is kept (cheap): the CPU workload on
# build/guest/bare.elf under vmm386 and qemu, and natively, RUNS times each, median wall
# clock of the whole process (guest columns include monitor start-up and guest boot; the
# 'startup' column is that cost alone, not subtracted).
#
# Output: the tables on stdout and in bench/results/latest.md (replaced by each run), one
# CSV row per benchmark and column in latest.csv (replaced too), and latest.png, grouped
# bars of every benchmark's time relative to PV on a log scale (gnuplot).  A column whose
# program is missing or fails, and the chart without gnuplot, are reported as n/a; the
# other columns go on.
#
# Environment: BUILD (build), RUNS (3), TIMEOUT per guest run in seconds (300),
#   NANO_APPEND (bench; "bench quick" for a short run), BARE (1; 0 skips the bare.elf
#   section), ITERS (bare.elf iterations, empty: the workload's default),
#   RESULTS (bench/results), QUICK=1 (= RUNS=1 NANO_APPEND="bench quick" ITERS=200: a
#   smoke test of this script in a few seconds).
set -u
if [ "${QUICK:-0}" = 1 ]; then
	RUNS=${RUNS:-1}
	NANO_APPEND=${NANO_APPEND:-bench quick}
	ITERS=${ITERS:-200}
fi
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
ITERS=${ITERS:-}
TIMEOUT=${TIMEOUT:-300}
NANO_APPEND=${NANO_APPEND:-bench}
BARE=${BARE:-1}
cd "$(dirname "$0")/.."
resdir=${RESULTS:-bench/results}

kernel=$BUILD/guest/bare.elf
native=$BUILD/bench/native_cpu
vmm=$BUILD/vmm386
mkdir -p "$resdir"
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp".*' EXIT

QEMU_OPTS=(-m 128 -display none -serial stdio -monitor none -no-reboot
	   -device isa-debug-exit,iobase=0xf4,iosize=0x04)
have_qemu=0
command -v qemu-system-i386 >/dev/null && have_qemu=1

median() { sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'; }
# ratio a b: a/b with 2 decimals (3 significant figures below 1), or n/a
ratio() {
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
		if (a == "" || b == "" || a == "n/a" || b == "n/a" || b + 0 <= 0) { print "n/a"; exit }
		r = a / b; if (r < 0.1) printf "%.3f\n", r; else printf "%.2f\n", r }'
}

# --- 1. bare.elf: the CPU workload, wall clock ----------------------------------------------
# run_once <want-status> <cmd...>: sets WALL_NS, SUM, NITER, CYC, INNER_NS (the program's
# own ns figure, native only); non-zero with REASON on failure.
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
	INNER_NS=$(sed -nE 's/.* cycles, ([0-9]+) ns$/\1/p' <<<"$line")
	return 0
}

declare -A MED STATUS CHK NIT RUNS_NS STARTUP
bare_targets=(native vmm386 qemu)

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
		echo "  $t run $i: $(awk -v n="$WALL_NS" 'BEGIN {printf "%.3f", n / 1e9}') s, checksum $SUM" >&2
	done
	RUNS_NS[$t]="${times[*]}"
	MED[$t]=$(printf '%s\n' "${times[@]}" | median)
}

startup() { # startup <target> <want-status> <cmd...>: the same program with 1 iteration
	local t=$1 want=$2; shift 2
	[ "${STATUS[$t]}" = ok ] && run_once "$want" "$@" && STARTUP[$t]=$WALL_NS
}

for t in "${bare_targets[@]}"; do STATUS[$t]="n/a (BARE=0)"; done
if [ "$BARE" = 1 ]; then
	append="bench${ITERS:+ $ITERS}"
	echo "bench: bare.elf cpu workload, $RUNS runs each${ITERS:+, $ITERS iterations}" >&2
	if [ -x "$native" ]; then
		measure native 0 "$native" ${ITERS:+"$ITERS"}
	else
		STATUS[native]="n/a: missing $native"
	fi
	if [ -x "$vmm" ] && [ -f "$kernel" ]; then
		measure vmm386 1 "$vmm" -kernel "$kernel" -append "$append"
		startup vmm386 1 "$vmm" -kernel "$kernel" -append "bench 1"
	else
		STATUS[vmm386]="n/a: missing $vmm or $kernel"
	fi
	if [ $have_qemu = 1 ] && [ -f "$kernel" ]; then
		measure qemu 1 qemu-system-i386 -kernel "$kernel" "${QEMU_OPTS[@]}" -append "$append"
		startup qemu 1 qemu-system-i386 -kernel "$kernel" "${QEMU_OPTS[@]}" -append "bench 1"
	else
		STATUS[qemu]="n/a: qemu-system-i386 or $kernel missing"
	fi
	ref=""
	for t in "${bare_targets[@]}"; do
		[ "${STATUS[$t]}" = ok ] || continue
		if [ -z "$ref" ]; then
			ref=${CHK[$t]}
		elif [ "${CHK[$t]}" != "$ref" ]; then
			STATUS[$t]="failed: checksum ${CHK[$t]} differs from $ref"
		fi
	done
fi

# --- 2. the head-to-head --------------------------------------------------------------------
cols=(bt pv qemu host)
declare -A COLNAME=([bt]=BT [pv]=PV [qemu]=qemu [host]=host)
nano_names=(getpid pgfault ptemod ctxsw forkexit portio apiceoi apictimer apicread callret divzero)
macro_names=(forkexec pipe alloc cpu)
declare -A VALS IT CSTATUS CSUM RSUM V   # VALS: one figure per run; V: their median

# guest_col <col> <stats file or -> <cmd...>: RUNS boots; collects VALS[col,name] (one value
# per run), IT[col,name], the checksums, CSTATUS[col].
guest_col() {
	local col=$1 stats=$2; shift 2
	local run st line kind name it val missing n
	CSTATUS[$col]=ok
	for ((run = 1; run <= RUNS; run++)); do
		echo "bench: ${COLNAME[$col]} run $run/$RUNS ($NANO_APPEND)" >&2
		if [ "$stats" != - ]; then
			timeout "$TIMEOUT" "$@" -d stats -D "$stats" </dev/null >"$tmp" 2>&1
		else
			timeout "$TIMEOUT" "$@" </dev/null >"$tmp" 2>&1
		fi
		st=$?
		tr -d '\r' <"$tmp" >"$tmp.out"
		if [ "$st" != 1 ]; then
			CSTATUS[$col]="failed: exit status $st (want 1)"
			[ "$st" = 124 ] && CSTATUS[$col]="failed: timed out after ${TIMEOUT}s"
			echo "bench: ${COLNAME[$col]} ${CSTATUS[$col]}" >&2
			tail -n 5 "$tmp.out" | sed 's/^/    /' >&2
		fi
		while read -r kind name it val; do
			val=${val#*=}
			VALS[$col,$name]="${VALS[$col,$name]:-} $val"
			IT[$col,$name]=$it
		done < <(grep -E '^(bench [a-z]+ [0-9]+ ns_per_op|macro [a-z]+ [0-9]+ ms)=[0-9.]+$' "$tmp.out")
		grep '^mbench: \|^nbench: ' "$tmp.out" | sed "s/^/  ${COLNAME[$col]}: /" >&2
		for n in cpu callret; do
			line=$(sed -nE "s/^$n checksum ([0-9a-f]+)$/\\1/p" "$tmp.out" | head -n 1)
			[ -z "$line" ] && continue
			if [ -n "${CSUM[$col,$n]:-}" ] && [ "${CSUM[$col,$n]}" != "$line" ]; then
				CSTATUS[$col]="failed: $n checksum changed between runs"
			fi
			CSUM[$col,$n]=$line
		done
		[ "${CSTATUS[$col]}" = ok ] || break
	done
	missing=0
	for n in "${nano_names[@]}" "${macro_names[@]}"; do
		# the PV kernel has no LAPIC: its apic rows are n/a by design, not missing
		[ "$col" = pv ] && [[ $n == apic* ]] && continue
		[ -n "${VALS[$col,$n]:-}" ] || missing=$((missing + 1))
	done
	if [ "${CSTATUS[$col]}" = ok ] && [ $missing -gt 0 ]; then
		CSTATUS[$col]="failed: $missing benchmark lines missing"
	fi
	return 0
}

for c in "${cols[@]}"; do CSTATUS[$c]="n/a"; done
if [ -x "$vmm" ] && [ -f "$BUILD/guest/native.elf" ]; then
	guest_col bt "$resdir/vmm-stats-bt.txt" "$vmm" -kernel "$BUILD/guest/native.elf" -m 128 -append "$NANO_APPEND"
	# the per-site overhead profile of the BT column: one more boot, not timed (profiling
	# reads the clock at every exit); README "Per-site overhead profile" explains it
	# (the kernel ends a benchmark boot through isa-debug-exit with 0: status 1)
	timeout "$TIMEOUT" "$vmm" -kernel "$BUILD/guest/native.elf" -m 128 -append "$NANO_APPEND" \
		-profile "$resdir/profile-bt.txt" </dev/null >/dev/null 2>&1
	st=$?
	[ $st -le 1 ] && [ -s "$resdir/profile-bt.txt" ] ||
		echo "bench: the profiled BT run failed (status $st); no profile-bt.txt" >&2
else
	CSTATUS[bt]="n/a: missing $vmm or $BUILD/guest/native.elf"
fi
if [ -x "$vmm" ] && [ -f "$BUILD/guest/pv.elf" ]; then
	guest_col pv "$resdir/vmm-stats-pv.txt" "$vmm" -kernel "$BUILD/guest/pv.elf" -m 128 -append "$NANO_APPEND"
else
	CSTATUS[pv]="n/a: missing $vmm or $BUILD/guest/pv.elf"
fi
if [ $have_qemu = 1 ] && [ -f "$BUILD/guest/native.elf" ]; then
	guest_col qemu - qemu-system-i386 -kernel "$BUILD/guest/native.elf" "${QEMU_OPTS[@]}" -append "$NANO_APPEND"
else
	CSTATUS[qemu]="n/a: qemu-system-i386 not installed"
fi

# iterations of a row: the first guest column that reported it
iters_of() {
	local c
	for c in bt pv qemu; do
		[ -n "${IT[$c,$1]:-}" ] && { echo "${IT[$c,$1]}"; return; }
	done
	echo ""
}

# host: callret and the cpu workload with the guests' iteration counts, RUNS runs each
if [ -x "$native" ]; then
	CSTATUS[host]=ok
	cr_it=$(iters_of callret); cr_it=${cr_it:-20000000}
	cpu_it=$(iters_of cpu); cpu_it=${cpu_it:-25000}
	echo "bench: host, callret $cr_it and cpu $cpu_it iterations, $RUNS runs" >&2
	for ((run = 1; run <= RUNS; run++)); do
		if "$native" callret "$cr_it" >"$tmp.out" 2>&1; then
			line=$(grep -E '^bench callret [0-9]+ ns_per_op=[0-9.]+$' "$tmp.out")
			[ -n "$line" ] && VALS[host,callret]="${VALS[host,callret]:-} ${line##*=}"
			IT[host,callret]=$cr_it
			CSUM[host,callret]=$(sed -nE 's/^callret checksum ([0-9a-f]+)$/\1/p' "$tmp.out")
		fi
		if run_once 0 "$native" "$cpu_it"; then
			VALS[host,cpu]="${VALS[host,cpu]:-} $(awk -v n="$INNER_NS" -v i="$cpu_it" 'BEGIN {printf "%.1f", n / i}')"
			IT[host,cpu]=$cpu_it
			CSUM[host,cpu]=$SUM
		fi
	done
	[ -n "${VALS[host,callret]:-}" ] && [ -n "${VALS[host,cpu]:-}" ] ||
		CSTATUS[host]="failed: native_cpu gave no result"
else
	CSTATUS[host]="n/a: missing $native"
fi

# checksums: every column that has one must agree with the first
for n in cpu callret; do
	ref=""
	for c in "${cols[@]}"; do
		s=${CSUM[$c,$n]:-}
		[ -n "$s" ] || continue
		if [ -z "$ref" ]; then
			ref=$s
		elif [ "$s" != "$ref" ] && [ "${IT[$c,$n]:-}" = "$(iters_of "$n")" ]; then
			CSTATUS[$c]="failed: $n checksum $s differs from $ref"
		fi
	done
	RSUM[$n]=${ref:--}
done

# medians; the macro cpu row is in ms (ns per iteration x iterations).  A column that
# computed a wrong checksum shows no figures; one that failed otherwise (a missing line, a
# bad exit) keeps the figures it did measure, and its status says what went wrong.
for c in "${cols[@]}"; do
	for n in "${nano_names[@]}" "${macro_names[@]}"; do
		[ -n "${VALS[$c,$n]:-}" ] || continue
		[[ "${CSTATUS[$c]}" == *checksum* ]] && continue
		if [ "$n" = cpu ]; then                  # ns/iteration -> ms for the whole run
			VALS[$c,$n]=$(printf '%s\n' ${VALS[$c,$n]} |
				awk -v i="${IT[$c,cpu]}" '{printf " %.3f", $1 * i / 1e6}')
		fi
		V[$c,$n]=$(printf '%s\n' ${VALS[$c,$n]} | median)
	done
done

unit_of() {
	case $1 in
	forkexec) echo "ms ($(iters_of forkexec) fork+exec+wait)" ;;
	pipe) awk -v k="$(iters_of pipe)" 'BEGIN {if (k >= 1024) printf "ms (%g MiB)\n", k / 1024; else printf "ms (%d KiB)\n", k}' ;;
	alloc) echo "ms ($(iters_of alloc) page faults)" ;;
	cpu) echo "ms ($(iters_of cpu) iterations)" ;;
	*) echo "ns/op" ;;
	esac
}
fmt() { # fmt <value>: one decimal (ns/op as the guest prints it; ms)
	[ -n "${1:-}" ] || { echo "n/a"; return; }
	awk -v v="$1" 'BEGIN {printf "%.1f", v}'
}

date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " + uncommitted changes")
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
machine="$cpu, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
qemu_ver=$( [ $have_qemu = 1 ] && qemu-system-i386 --version | head -n 1 | sed 's/QEMU emulator version //' || echo "not installed")

# the host's floor: what a signal, a mapping, an unmap and an mprotect cost here
declare -A FLOOR
if [ -x "$BUILD/bench/hostfloor" ]; then
	while read -r _ k _ v; do FLOOR[$k]=${v#ns_per_op=}; done < <("$BUILD/bench/hostfloor" 2>/dev/null)
fi
md=$resdir/latest.md
csv=$resdir/latest.csv
png=$resdir/latest.png

table_rows() { # table_rows <names...>
	local n c
	for n in "$@"; do
		printf '| %s | %s | %s |' "$n" "$(unit_of "$n")" "$(iters_of "$n")"
		for c in "${cols[@]}"; do printf ' %s |' "$(fmt "${V[$c,$n]:-}")"; done
		printf ' %s | %s | %s | %s |\n' "$(ratio "${V[bt,$n]:-}" "${V[pv,$n]:-}")" \
			"$(ratio "${V[bt,$n]:-}" "${V[qemu,$n]:-}")" \
			"$(ratio "${V[pv,$n]:-}" "${V[host,$n]:-}")" \
			"$(ratio "${V[bt,$n]:-}" "${V[host,$n]:-}")"
	done
}

bare_row() { # bare_row <target>: "median_s ns_per_iter ratio startup_s"
	local t=$1 nat=${MED[native]:-}
	[ "${STATUS[native]}" = ok ] || nat=""
	if [ "${STATUS[$t]}" != ok ]; then
		echo "- - - -"
		return
	fi
	local m=${MED[$t]} n=${NIT[$t]} r=-
	[ -n "$nat" ] && r=$(awk -v m="$m" -v b="$nat" 'BEGIN {printf "%.2f", m / b}')
	awk -v m="$m" -v n="$n" -v r="$r" -v s="${STARTUP[$t]}" \
		'BEGIN {printf "%.3f %.0f %s %s\n", m / 1e9, m / n, r, s == "-" ? "-" : sprintf("%.3f", s / 1e9)}'
}

# --- counts per operation (the counters port, monitor/counters.c) ---------------------------
# The last run of each vmm386 column logged one "counters NAME OPS key=N ..." line per
# benchmark in its -d stats file (the guest brackets each timed part with SYS_COUNTERS).
# counts_cell <col> <name> <key>: that count per operation (2-3 significant figures), or n/a;
# kinds_cell <col> <name>: the exit kinds that make at least 5% of the row's exits, per op.
source bench/counts.sh
for c in bt pv; do load_counts $c "$resdir/vmm-stats-$c.txt"; done
counts_rows() {
	local n c
	for n in "${nano_names[@]}" "${macro_names[@]}"; do
		printf '| %s | %s |' "$n" "${CNT[bt,$n,ops]:-${CNT[pv,$n,ops]:-n/a}}"
		for c in bt pv; do
			printf ' %s | %s | %s | %s | %s |' "$(counts_cell $c "$n" signals)" \
				"$(counts_cell $c "$n" maps)" "$(counts_cell $c "$n" exits)" \
				"$(counts_cell $c "$n" resyncs)" "$(kinds_cell $c "$n")"
		done
		echo
	done
}

# --- chart -----------------------------------------------------------------------------------
chart="n/a (gnuplot not installed)"
rm -f "$png"                                   # never leave an older run's chart behind
if command -v gnuplot >/dev/null; then
	dat=$tmp.dat
	i=0
	for n in "${nano_names[@]}" "${macro_names[@]}"; do
		printf '%d %s' $i "$n" >>"$dat"
		for c in "${cols[@]}"; do
			r=$(ratio "${V[$c,$n]:-}" "${V[pv,$n]:-}")
			[ "$r" = n/a ] && r="?"
			printf ' %s' "$r" >>"$dat"
		done
		echo >>"$dat"
		i=$((i + 1))
	done
	# y range: the powers of ten around every ratio, at least 0.1 .. 10
	read -r ylo yhi < <(awk '{for (f = 3; f <= 6; f++) if ($f != "?") {
			if (!lo || $f < lo) lo = $f; if ($f > hi) hi = $f } }
		END {l = 0.1; h = 10; while (lo && l > lo) l /= 10; while (h < hi) h *= 10; print l, h}' "$dat")
	if gnuplot 2>"$tmp.gp" <<EOF
set terminal pngcairo size 1200,660 font "sans,10"
set output "$png"
set datafile missing "?"
set title "vmm386 head-to-head, $date: time relative to PV = 1 (log scale; bars grow from 1: up is slower than PV, down is faster)\n$machine; $RUNS run(s), medians"
set logscale y
set yrange [$ylo:$yhi]
set ylabel "time / PV time"
set xrange [-0.6:$((i - 1)).6]
set xtics rotate by -30 nomirror
set grid ytics
set key outside bottom center horizontal
set style fill solid 0.85 border -1
set arrow from -0.6,1 to $((i - 1)).6,1 nohead lc rgb "#1f77b4" lw 2
set label "nanobenchmarks (ns/op)" at first -0.4, graph 0.03
set label "macro workloads (ms)" at first ${#nano_names[@]}-0.4, graph 0.03
set arrow from first ${#nano_names[@]}-0.5, graph 0 to first ${#nano_names[@]}-0.5, graph 1 nohead lt 0
w = 0.26
plot "$dat" using (\$1-w):3:(\$1-1.5*w):(\$1-0.5*w):(1):3:xtic(2) with boxxyerror lc rgb "#d62728" title "BT (native.elf, translated)", \
     "" using (\$1):5:(\$1-0.5*w):(\$1+0.5*w):(1):5 with boxxyerror lc rgb "#7f7f7f" title "qemu TCG (native.elf)", \
     "" using (\$1+w):6:(\$1+0.5*w):(\$1+1.5*w):(1):6 with boxxyerror lc rgb "#2ca02c" title "host (native i386 process)", \
     1 with lines lc rgb "#1f77b4" lw 2 title "PV (pv.elf) = 1"
EOF
	then
		chart=$png
	else
		chart="n/a (gnuplot failed: $(head -n 3 "$tmp.gp" | tr '\n' ' '))"
	fi
fi

# --- tables ----------------------------------------------------------------------------------
{
	echo "# vmm386 head-to-head - $date"
	echo
	echo "Machine: $machine. qemu-system-i386 $qemu_ver."
	echo "Commit $commit$dirty. $RUNS run(s) per column, medians; guests booted with \`-append $NANO_APPEND\`."
	echo
	echo "## BT vs PV vs qemu vs host"
	echo
	echo "BT: vmm386 running build/guest/native.elf (binary translation of the unmodified kernel)."
	echo "PV: vmm386 running build/guest/pv.elf (the same kernel source, hypercalls instead of"
	echo "privileged instructions).  qemu: qemu-system-i386 (TCG) running native.elf.  host: the"
	echo "same i386 user code (bench/workload/cpu.c) as a native Linux process; CPU-bound rows only."
	echo "Nanobenchmarks in ns per operation, measured by the guest with RDTSC; ctxsw is one"
	echo "one-way switch of a pipe ping-pong; portio one IN (PV: one PV_HC_PORT_IO) of a batch"
	echo "inside one system call; apiceoi, apictimer, apicread one LAPIC EOI write, timer reprogram"
	echo "or ID read of a batch inside one system call (native kernel only: PV has no LAPIC);"
	echo "divzero one #DE taken and resumed.  Macro workloads in ms for"
	echo "the whole job.  Ratios are time/time: above 1, the left-hand system is slower."
	echo
	echo "| benchmark | unit | iterations | BT | PV | qemu | host | BT/PV | BT/qemu | PV/host | BT/host |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	table_rows "${nano_names[@]}"
	table_rows "${macro_names[@]}"
	echo
	for c in "${cols[@]}"; do echo "- ${COLNAME[$c]}: ${CSTATUS[$c]}"; done
	echo "- checksums: cpu ${RSUM[cpu]}, callret ${RSUM[callret]} (every column that ran agrees unless marked failed)"
	echo "- vmm386 statistics (-d stats, last run): $resdir/vmm-stats-bt.txt, $resdir/vmm-stats-pv.txt"
	echo "- BT per-site profile (an extra, untimed run with -profile): $resdir/profile-bt.txt (.csv)"
	echo "- chart: $chart"
	echo
	echo "## Counts per operation, BT and PV"
	echo
	echo "What each row cost the monitor, divided by the row's operations (ops: the iterations of a"
	echo "nanobenchmark, the units of a macro workload), from the last run of each vmm386 column:"
	echo "the guest brackets each timed part with SYS_COUNTERS, and vmm386's counters port (-d stats,"
	echo "monitor/counters.c) logs the deltas (the 'counters' lines of vmm-stats-bt.txt and"
	echo "vmm-stats-pv.txt, which also have fills, traced page-table stores, injected page faults,"
	echo "port accesses and PV hypercalls).  signals: host signals taken in translated code; maps:"
	echo "host mmap/munmap/mprotect calls of the shadow MMU; exits: monitor exits; resyncs:"
	echo "out-of-sync page tables brought back in sync; kinds: the exit kinds that make up at least"
	echo "5% of the row's exits, per operation (none when the row makes under 0.01 exits per op)."
	echo
	echo "| benchmark | ops | BT signals | BT maps | BT exits | BT resyncs | BT exits by kind | PV signals | PV maps | PV exits | PV resyncs | PV exits by kind |"
	echo "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|"
	counts_rows
	echo
	echo "## Host floor"
	echo
	if [ -n "${FLOOR[fault]:-}" ]; then
		echo "What this host charges for the operations the shadow MMU is made of (bench/hostfloor.c,"
		echo "ns per operation, median of 5 rounds of 4000): a SIGSEGV taken and returned from; one"
		echo "memfd page mapped into a PROT_NONE reservation and stored to; that page made PROT_NONE"
		echo "again; an mprotect of one page; and a demand fault's least cost, the signal plus the"
		echo "mapping plus the store.  A guest demand page fault under BT needs one host fault and one"
		echo "new host mapping at the least (pgfault and alloc rows: 1 signal, 1 map each), so"
		echo "pgfault cannot go below the 'fault' figure here, whatever qemu's soft MMU costs."
		echo
		echo "| signal | map | unmap | protect | fault | BT pgfault | BT pgfault / fault | qemu pgfault |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
		echo "| ${FLOOR[signal]:-} | ${FLOOR[map]:-} | ${FLOOR[unmap]:-} | ${FLOOR[protect]:-} | ${FLOOR[fault]} | ${V[bt,pgfault]:-n/a} | $(ratio "${V[bt,pgfault]:-}" "${FLOOR[fault]}") | ${V[qemu,pgfault]:-n/a} |"
	else
		echo "n/a: $BUILD/bench/hostfloor did not run."
	fi
	echo
	echo "## CPU workload on bare.elf (wall clock of the whole process)"
	echo
	if [ "$BARE" = 1 ]; then
		echo "Median of $RUNS runs; guest columns include monitor start-up and guest boot"
		echo "('startup' is that cost alone, not subtracted)."
		echo
		echo "| target | median wall (s) | ns / iteration | ratio to native | startup (s) | checksum | status |"
		echo "|---|---:|---:|---:|---:|---|---|"
		for t in "${bare_targets[@]}"; do
			read -r s nsi r st <<<"$(bare_row "$t")"
			echo "| $t | $s | $nsi | $r | $st | ${CHK[$t]:--} | ${STATUS[$t]} |"
		done
	else
		echo "Skipped (BARE=0)."
	fi
} >"$tmp.md"
cat "$tmp.md"
cp "$tmp.md" "$md"

{
	echo "date,commit,section,benchmark,column,unit,iterations,value,runs,status"
	for n in "${nano_names[@]}" "${macro_names[@]}"; do
		case $n in forkexec|pipe|alloc|cpu) sec=macro u=ms ;; *) sec=nano u=ns_per_op ;; esac
		for c in "${cols[@]}"; do
			[ -n "${V[$c,$n]:-}" ] || [ "$c" != host ] || continue
			runs=${VALS[$c,$n]:-}
			echo "$date,$commit,$sec,$n,${COLNAME[$c]},$u,${IT[$c,$n]:-},${V[$c,$n]:-},${runs# },\"${CSTATUS[$c]}\""
		done
	done
	if [ "$BARE" = 1 ]; then
		for t in "${bare_targets[@]}"; do
			echo "$date,$commit,bare,cpu,$t,wall_ns,${NIT[$t]:-},${MED[$t]:-},${RUNS_NS[$t]:-},\"${STATUS[$t]}\""
		done
	fi
} >"$csv"
echo "bench: results in $md, $csv${chart:+, chart $chart}" >&2

# Non-zero only when no guest column ran at all.
[ "${CSTATUS[bt]}" = ok ] || [ "${CSTATUS[pv]}" = ok ] || [ "${CSTATUS[qemu]}" = ok ]
