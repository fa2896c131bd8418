#!/usr/bin/env bash
# tests/integration/test_isa_diff.sh - the differential instruction-coverage harness
# (tests/isa) in its reduced form: every form of the table, 20 cases each, fixed seed, each
# case run on the host CPU in 32-bit mode and through vmm386's translator and compared.
# `make coverage` is the full run (100 cases per form) with the report.
#
# Run from the repository root; BUILD (default build) holds $BUILD/isa/isa-diff and
# $BUILD/isa/native_runner (`make check` builds both).  Exit 0 when no form diverges
# except the known divergences below, 1 otherwise, 77 (skip) when the 32-bit native runner
# cannot be built or run here (no gcc -m32, no modify_ldt).
set -u
BUILD=${BUILD:-build}
DIFF=$BUILD/isa/isa-diff
RUNNER=$BUILD/isa/native_runner
if [ ! -x "$DIFF" ] || [ ! -x "$RUNNER" ]; then
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s BUILD="$BUILD" "$DIFF" "$RUNNER" >&2
fi
if [ ! -x "$RUNNER" ]; then
	echo "SKIP: cannot build the 32-bit native runner (is gcc-multilib installed?)"
	exit 77
fi
if [ ! -x "$DIFF" ]; then
	echo "FAIL: $DIFF could not be built"
	exit 1
fi

# Known divergences: translator/monitor bugs this harness found, reported to the lead with
# bytes, inputs and diagnosis (issue 4 notes, "isa-diff findings" K1-K13).  Each entry is a
# glob over form names (isa-diff --list); delete the entries of a bug when it is fixed, so
# that the forms are checked again.  `make coverage` still runs and counts them.
# All divergences the harness found (K1-K13 in the issue-4 notes) are fixed; a form that
# turns out to diverge for a known, reported reason may be listed here as a glob over form
# names (isa-diff --list) with that reason, so that the rest stays checked.
KNOWN=()
args=()
for k in "${KNOWN[@]+"${KNOWN[@]}"}"; do
	args+=(--exclude "$k")
done
"$DIFF" --runner "$RUNNER" --seed 0x1234abcd --cases 20 --max-print 2 "${args[@]}"
st=$?
case $st in
0) echo "test_isa_diff: no divergence (${#KNOWN[@]} known-divergence patterns excluded)"; exit 0 ;;
77) echo "SKIP: the native runner cannot run here"; exit 77 ;;
*) echo "test_isa_diff: divergences (status $st)"; exit 1 ;;
esac
