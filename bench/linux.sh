#!/usr/bin/env bash
# bench/linux.sh - Linux in the head-to-head (`make bench`, after bench/run.sh): Debian's
# i386 Linux 6.1 booted from its bzImage with the test initramfs (tests/linux/) and
# `lxmode=bench`, whose /init times each workload with the kernel's clock and prints
# "B: name ms" (tests/linux/init.sh):
#
#   init      host wall time from the monitor's start to /init's first line (ms)
#   forkexec  300 fork+exec+wait of a small static program, from busybox sh
#   pipeline  seq | grep | sed | wc over 200,000 lines
#   ddmd5     64 MiB from /dev/zero through md5sum
#   alloc     128 MiB of fresh anonymous memory touched page by page (32,768 faults)
#   syscall   200,000 getppid()
#   pingpong  20,000 one-byte round trips between two processes over two pipes
#   cpu       the CPU workload (bench/native_cpu, the same program as the host column)
#
# Columns: BT (vmm386), qemu (qemu-system-i386, TCG), host (the same static i386 programs
# run natively, for forkexec, alloc, syscall, pingpong, cpu).  RUNS boots or runs each,
# medians.  The BT column's last run is also made with -d stats (vmm-stats-linux.txt; its
# "counters" lines give the table of counts per operation, bench/counts.sh), and
# one more untimed BT boot writes the per-site profile (profile-linux.txt and .csv).
# Appends its table to $RESULTS/latest.md and writes $RESULTS/linux.csv.  Prints n/a and
# exits 0 when the kernel cannot be fetched, so the rest of the benchmark stands.
set -u
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
[ "${QUICK:-0}" = 1 ] && RUNS=1
TIMEOUT=${TIMEOUT:-300}
resdir=${RESULTS:-bench/results}
cd "$(dirname "$0")/.."
dir=$BUILD/linux
md=$resdir/latest.md
csv=$resdir/linux.csv
mkdir -p "$resdir"
rows="init forkexec pipeline ddmd5 alloc syscall pingpong cpu"
host_rows="forkexec alloc syscall pingpong cpu"

na() { echo "linux: $*; the Linux table is n/a"; printf '\n## Linux (n/a: %s)\n' "$*" >>"$md"; exit 0; }
bash tests/linux/fetch.sh "$dir" || na "the kernel could not be fetched"
[ -x "$dir/lxcheck" ] && [ -x "$BUILD/bench/native_cpu" ] || na "lxcheck or native_cpu missing"
bash tests/linux/mkinitrd.sh "$dir/initrd.gz" "$dir/busybox" "$dir/lxcheck" "$BUILD/bench/native_cpu" ||
	na "the initramfs could not be built"
append="console=ttyS0 quiet lxmode=bench"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
declare -A V

# boot <col> <cmd...>: one boot; adds its B: figures to V[col,name] (space-separated runs)
boot() {
	local col=$1; shift
	local t0 line name val
	t0=$(now_ms)
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"B: init "*) V[$col,init]+="$(( $(now_ms) - t0 )) " ;;
		"B: "*) read -r _ name val <<<"$line"; V[$col,$name]+="$val " ;;
		esac
	done < <(timeout "$TIMEOUT" "$@" </dev/null 2>/dev/null)
}

for r in $(seq "$RUNS"); do
	stats=()
	[ "$r" = "$RUNS" ] && stats=(-d stats -D "$resdir/vmm-stats-linux.txt")
	boot BT "$BUILD/vmm386" -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -m 512 \
		-append "$append" "${stats[@]}"
	if command -v qemu-system-i386 >/dev/null; then
		boot qemu qemu-system-i386 -display none -serial stdio -monitor none -no-reboot \
			-kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -m 512 -append "$append"
	fi
done

# the BT run's per-site profile: one more boot, untimed (profiling reads the clock per exit),
# with the kernel's symbols from a boot that prints /proc/kallsyms (Debian's System.map is a
# placeholder); both with nokaslr, so that the addresses agree
timeout "$TIMEOUT" "$BUILD/vmm386" -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -m 512 \
	-append "console=ttyS0 quiet nokaslr lxmode=kallsyms" </dev/null 2>/dev/null |
	tr -d '\r' | grep -E '^[0-9a-f]{8} [tTwW] ' >"$dir/kallsyms"
syms=()
[ -s "$dir/kallsyms" ] && syms=(-symbols "$dir/kallsyms")
timeout "$TIMEOUT" "$BUILD/vmm386" -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -m 512 \
	-append "$append nokaslr" -profile "$resdir/profile-linux.txt" "${syms[@]}" </dev/null >/dev/null 2>&1 ||
	echo "linux: the profiled BT run failed; no profile-linux.txt" >&2

# host: the same programs natively
host_run() { # host_run <name> <cmd...>
	local name=$1; shift
	local t0; t0=$(now_ms); "$@" >/dev/null 2>&1 || return; V[host,$name]+="$(( $(now_ms) - t0 )) "
}
for r in $(seq "$RUNS"); do
	host_run forkexec sh -c 'i=0; while [ $i -lt 300 ]; do "$0" true; i=$((i+1)); done' "$dir/lxcheck"
	host_run alloc "$dir/lxcheck" alloc 128
	host_run syscall "$dir/lxcheck" syscall 200000
	host_run pingpong "$dir/lxcheck" pingpong 20000
	host_run cpu "$BUILD/bench/native_cpu"
done

med() { tr ' ' '\n' <<<"${V[$1,$2]:-}" | grep . | median; }
{
	echo
	echo "## Linux 6.1 ($(cat "$dir/version" 2>/dev/null)), ms, medians of $RUNS"
	echo
	echo "| workload | BT | qemu | host | BT/qemu | BT/host |"
	echo "|---|---:|---:|---:|---:|---:|"
} >>"$md"
echo "benchmark,column,value_ms" >"$csv"
printf '%-10s %10s %10s %10s %8s %8s\n' workload BT qemu host BT/qemu BT/host
for n in $rows; do
	bt=$(med BT "$n"); q=$(med qemu "$n"); h=$(med host "$n")
	printf '%-10s %10s %10s %10s %8s %8s\n' "$n" "${bt:-n/a}" "${q:-n/a}" "${h:-n/a}" \
		"$(ratio "$bt" "$q")" "$(ratio "$bt" "$h")"
	echo "| $n | ${bt:-n/a} | ${q:-n/a} | ${h:-n/a} | $(ratio "$bt" "$q") | $(ratio "$bt" "$h") |" >>"$md"
	for c in BT qemu host; do v=$(med $c "$n"); [ -z "$v" ] || echo "$n,$c,$v" >>"$csv"; done
done
# counts per operation of the BT column's last run (the counters port, bench/counts.sh):
# init.sh brackets each workload with `lxcheck counters begin/end`, so each row also holds
# the exit of one lxcheck and the fork+exec of the next (the BEGIN and END programs)
source bench/counts.sh
load_counts BT "$resdir/vmm-stats-linux.txt"
{
	echo
	echo "Linux, counts per operation (BT, last run; ops: the workload's units - processes,"
	echo "lines, MiB, page faults, calls, round trips, runs - each row includes one exit and one"
	echo "fork+exec of the lxcheck that brackets it): host signals, shadow-MMU host mapping"
	echo "calls, monitor exits, out-of-sync tables resynced, the main exit kinds."
	echo
	echo "| workload | ops | signals | maps | exits | resyncs | exits by kind |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	for n in $rows; do
		[ -n "${CNT[BT,$n,ops]:-}" ] || continue
		echo "| $n | ${CNT[BT,$n,ops]} | $(counts_cell BT "$n" signals) | $(counts_cell BT "$n" maps) |" \
		     "$(counts_cell BT "$n" exits) | $(counts_cell BT "$n" resyncs) | $(kinds_cell BT "$n") |"
	done
} | tee -a "$md"
echo >>"$md"
echo "BT's -d stats of the last run: vmm-stats-linux.txt; its per-site profile (an extra, untimed run): profile-linux.txt (.csv)" >>"$md"
