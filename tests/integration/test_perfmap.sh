#!/usr/bin/env bash
# tests/integration/test_perfmap.sh - -perfmap (issue 14, item 2): the bundled kernel's shell
# runs with -perfmap; /tmp/perf-PID.map then exists, every line is "START SIZE name" in hex,
# every range lies inside the code cache (the process's anonymous rwx mapping, read from
# /proc/PID/maps while the shell waits), and kernel functions appear by name (kmain,
# console_write).  -d perfmap does the same.  When perf can sample this process (a software
# clock event is enough), `perf report` of the bare kernel's CPU benchmark must attribute
# most samples to guest function names.
set -u
BUILD=${BUILD:-build}
VMM=$BUILD/vmm386
KERNEL=$BUILD/guest/native.elf
BARE=$BUILD/guest/bare.elf
[ -x "$VMM" ] && [ -f "$KERNEL" ] && [ -f "$BARE" ] || { echo "SKIP: vmm386 or guests not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_perfmap.XXXXXX") || exit 1
pids=()
trap 'rm -rf "$tmp"; for p in "${pids[@]}"; do rm -f /tmp/perf-$p.map; done' EXIT
failed=0
bad() { echo "FAIL $*"; failed=1; }

# run_shell OPTION...: boot the shell, copy /proc/PID/maps at the prompt, type exit.
run_shell() {
	mkfifo "$tmp/in"
	"$VMM" -kernel "$KERNEL" "$@" <"$tmp/in" >"$tmp/out" 2>&1 &
	pid=$!
	pids+=("$pid")
	exec 3>"$tmp/in"
	for i in $(seq 100); do grep -q 'type help' "$tmp/out" && break; sleep 0.1; done
	cp "/proc/$pid/maps" "$tmp/maps"
	printf 'exit\n' >&3
	exec 3>&-
	wait "$pid"
	rm -f "$tmp/in"
}

check_map() { # NAME
	local map=/tmp/perf-$pid.map
	[ -s "$map" ] || { bad "$1: $map missing or empty"; return; }
	local cache
	cache=$(awk '$2 ~ /^rwx/ && NF == 5 { print $1 }' "$tmp/maps" | head -1)
	[ -n "$cache" ] || { bad "$1: no rwx mapping (code cache) in /proc/$pid/maps"; return; }
	awk -v range="$cache" '
		function hex(h,   v, i) { v = 0; for (i = 1; i <= length(h); i++)
			v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
		BEGIN { split(range, r, "-"); lo = hex(r[1]); hi = hex(r[2]) }
		!/^[0-9a-f]+ [0-9a-f]+ [^ ]+$/ { print "malformed line " NR ": " $0; bad = 1; next }
		{ s = hex($1); n = hex($2)
		  if (n == 0 || s < lo || s + n > hi) { print "outside the code cache: " $0; bad = 1 } }
		END { exit bad }' "$map" || bad "$1: bad lines in $map"
	for f in kmain console_write; do
		grep -Eq " $f(\+0x[0-9a-f]+)?$" "$map" || bad "$1: no block named after $f"
	done
	echo "$1: $(wc -l <"$map") blocks, $(grep -vc ' guest_' "$map") named by symbol"
}

run_shell -perfmap
check_map -perfmap
run_shell -d perfmap
check_map "-d perfmap"

# perf, when it works here: the share of samples in guest-named code
if command -v perf >/dev/null && perf record -q -e cpu-clock -o "$tmp/probe.data" true >/dev/null 2>&1; then
	perf record -q -e cpu-clock -F 2000 -o "$tmp/perf.data" "$VMM" -kernel "$BARE" \
		-append "bench 5000" -perfmap </dev/null >"$tmp/bench.out" 2>&1
	share=$(perf report -i "$tmp/perf.data" --stdio --sort dso,sym 2>/dev/null |
		awk '/%/ && !/^#/ { p = $1; sub("%", "", p); if ($2 == "[JIT]" && $6 !~ /^(guest_|0x)/) n += p }
		     END { printf "%d", n }')
	echo "perf: ${share}% of samples in guest functions"
	[ "${share:-0}" -ge 50 ] || bad "perf attributes only ${share}% of samples to guest functions"
	rm -f /tmp/perf-"$(perf report -i "$tmp/perf.data" --stdio --sort pid 2>/dev/null | awk '/vmm386/ { split($2, a, ":"); print a[1]; exit }')".map
else
	echo "perf cannot sample here: attribution not measured"
fi
[ $failed = 0 ] && echo "perfmap: all cases passed"
exit $failed
