# bench_lines.sh - sourced by os_checks.sh and test_pv_vmm.sh (not a test on its own: the
# runner only picks up test_*.sh).  check_bench_lines <log> <tag> checks the output of
# `-append "bench quick"` (guest/user/nbench.c, then mbench.c): every nanobenchmark line
# "bench NAME ITERS ns_per_op=X.Y" and every macro line "macro NAME UNITS ms=X.YYY" is there
# with a plausible value (above zero, below one second per operation or one minute per
# workload), plus the checksum lines.  Only presence and sanity: benchmark figures are never
# timed assertions.  Calls bad() (the caller's) for each problem.  A third argument "native"
# also asks for the LAPIC rows, which only the native kernel has.
BENCH_NANO="getpid pgfault ptemod ctxsw forkexit portio callret divzero cpu"
BENCH_NANO_NATIVE="apiceoi apictimer apicread"
BENCH_MACRO="forkexec pipe alloc"

check_bench_lines() {
	local log=$1 tag=$2 b line names=$BENCH_NANO
	[ "${3:-}" = native ] && names="$names $BENCH_NANO_NATIVE"
	grep -qE '^tsc_khz=[0-9]+$' "$log" || bad "$tag: no tsc_khz= line"
	for b in $names; do
		line=$(grep -E "^bench $b [1-9][0-9]* ns_per_op=[0-9]+\.[0-9]$" "$log" | head -n 1)
		if [ -z "$line" ]; then
			bad "$tag: no line for $b"
		elif ! awk -v v="${line##*=}" 'BEGIN { exit !(v > 0 && v < 1e9) }'; then
			bad "$tag: implausible $b: $line"
		fi
	done
	for b in $BENCH_MACRO; do
		line=$(grep -E "^macro $b [1-9][0-9]* ms=[0-9]+\.[0-9]{3}$" "$log" | head -n 1)
		if [ -z "$line" ]; then
			bad "$tag: no macro line for $b"
		elif ! awk -v v="${line##*=}" 'BEGIN { exit !(v > 0 && v < 60000) }'; then
			bad "$tag: implausible macro $b: $line"
		fi
	done
	grep -qE '^cpu checksum [0-9a-f]{8}$' "$log" || bad "$tag: no cpu checksum"
	grep -qE '^callret checksum [0-9a-f]{8}$' "$log" || bad "$tag: no callret checksum"
	grep -E '^(nbench|mbench): ' "$log" | while read -r line; do echo "    $line"; done
	if grep -qE '^(nbench|mbench): ' "$log"; then
		bad "$tag: a benchmark reported an error"
	fi
}
