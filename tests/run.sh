#!/usr/bin/env bash
# tests/run.sh [unit|integration|all] - run the test programs and print one closing line
# "N passed, N failed" (plus skipped).  Exit status 1 if anything failed.
# Unit tests are the Check binaries in $BUILD/tests; integration tests are
# tests/integration/test_*.sh (exit 0 pass, 77 skip, anything else fail).
set -u
BUILD=${BUILD:-build}
what=${1:-all}
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0 failed=()
run() { # name command...
	local name=$1; shift
	local log="$BUILD/test-logs/$name.log"
	mkdir -p "$(dirname "$log")"
	if "$@" >"$log" 2>&1; then st=0; else st=$?; fi
	if [ $st = 0 ]; then pass=$((pass+1)); echo "PASS $name";
	elif [ $st = 77 ]; then skip=$((skip+1)); echo "SKIP $name";
	else fail=$((fail+1)); failed+=("$name"); echo "FAIL $name (status $st, log $log)"; tail -n 30 "$log" | sed 's/^/    /'; fi
}
if [ "$what" = unit ] || [ "$what" = all ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		run "unit/$(basename "$t")" env CK_FORK=yes "$t"
	done
fi
if [ "$what" = integration ] || [ "$what" = all ]; then
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		run "integration/$(basename "$t" .sh)" env BUILD="$BUILD" bash "$t"
	done
fi
echo
if [ $skip -gt 0 ]; then echo "$pass passed, $fail failed, $skip skipped"; else echo "$pass passed, $fail failed"; fi
[ $fail = 0 ]
