#!/usr/bin/env bash
# test_fuzz.sh - the translator/monitor fuzz target (tests/fuzz/): first each detector of
# the harness must fire on a planted fault (a system call from the code cache, a write to
# the host stack, a host access outside the window, a store into the code cache, an odd
# system call from the monitor, a heap overflow in monitor code) and the crash input must
# be saved,
# then about 60 s of fuzzing must find nothing.  Exit 77 (skip) without clang/libFuzzer.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
BIN=$BUILD/fuzz/fuzz_translate
if [ ! -x "$BIN" ]; then
	echo "SKIP: $BIN not built (needs clang with libFuzzer: clang-14, libclang-rt-14-dev)"
	exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for t in syscall stack fault cache monitor asan; do
	out=$(cd "$tmp" && FUZZ_SELFTEST=$t timeout 120 "$OLDPWD/$BIN" -runs=1 -error_exitcode=1 2>&1); st=$?
	pat='fuzz_translate: BUG'; [ $t = asan ] && pat='ERROR: AddressSanitizer'
	if [ $st = 0 ] || [ $st = 3 ] || [ $st = 124 ] || ! grep -q "$pat" <<<"$out" ||
	   ! grep -q 'Test unit written' <<<"$out"; then
		echo "FAIL: detector '$t' did not fire or saved no input (status $st)"
		echo "$out" | tail -20; exit 1
	fi
	echo "ok: detector '$t': $(grep -m1 "$pat" <<<"$out" | cut -c1-140)"
done
FUZZ_TIME=${FUZZ_TIME:-55} BUILD=$BUILD bash tests/fuzz/run.sh
