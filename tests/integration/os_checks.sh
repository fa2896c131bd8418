# os_checks.sh - sourced by test_os_qemu.sh and test_os_vmm.sh (not a test on its own: the
# runner only picks up test_*.sh).  Expects run_guest <mem> [-append ...] and OS_TAG; exits
# with the result.
kernel=$BUILD/guest/native.elf
[ -f "$kernel" ] || { echo "missing $kernel (make guest)"; exit 1; }
TIMEOUT=${TIMEOUT:-120}
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# boot <name> <mem> <stdin file> [-append STR]: output (CR stripped) to $log, status to $st
boot() {
	local name=$1 mem=$2 input=$3; shift 3
	log=$BUILD/guest/os.$OS_TAG.$name.log
	mkdir -p "$(dirname "$log")"
	timeout "$TIMEOUT" bash -c 'run_guest "$@"' _ "$mem" "$@" <"$input" | tr -d '\r' >"$log"
	st=${PIPESTATUS[0]}
	echo "--- $name (status $st)"
	cat "$log"
}
export -f run_guest
export BUILD

# 1. the test suite
boot test 128 /dev/null -append test
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
if [ "$st" != 1 ]; then
	bad "test suite: exit status $st, want 1 (the guest wrote 0 to port 0xF4)"
fi
if ! [[ $last =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] || [ "${BASH_REMATCH[1]}" -lt 10 ]; then
	bad "test suite: last line '${last:-none}', want 'N passed, 0 failed' with N >= 10"
fi
grep '^FAIL ' "$log" | sed 's/^/    /'

# 2. the nanobenchmarks and macro workloads, small iteration counts (bench_lines.sh)
boot bench 128 /dev/null -append "bench quick"
[ "$st" = 1 ] || bad "bench: exit status $st, want 1"
. tests/integration/bench_lines.sh
check_bench_lines "$log" bench native

# 3. the shell, with input on stdin
input=$(mktemp)
trap 'rm -f "$input"' EXIT
printf 'echo hello\nforktest 8\necho piped | cat\nexit\n' >"$input"
boot shell 128 "$input"
[ "$st" = 1 ] || bad "shell: exit status $st, want 1 (exit powers off with 0)"
grep -qx 'hello' "$log" || bad "shell: no 'hello' line"
grep -qx 'forktest: 8 children, ok' "$log" || bad "shell: forktest failed"
grep -qx 'piped' "$log" || bad "shell: pipeline 'echo piped | cat' failed"

# 4. a big sparse heap (every other page of 64 MiB)
boot bigmem 512 /dev/null -append "bigmem 64"
[ "$st" = 1 ] || bad "bigmem: exit status $st, want 1"
grep -qx 'bigmem ok 8192 pages' "$log" || bad "bigmem: no 'bigmem ok 8192 pages'"

if grep -q 'kernel panic' "$BUILD"/guest/os.$OS_TAG.*.log; then
	bad "a kernel panic was reported"
fi
[ $fail = 0 ] && echo "all checks passed ($OS_TAG)"
exit $fail
