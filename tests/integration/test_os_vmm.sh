#!/usr/bin/env bash
# test_os_vmm.sh - the multi-process kernel (build/guest/native.elf) under vmm386: the same
# checks as test_os_qemu.sh (os_checks.sh), with vmm386's statuses (2v+1 for a debug exit,
# as in QEMU).
#
# The guest runs with paging, ring 3 and many address spaces: this is the shadow MMU's
# end-to-end test (shadow-mmu/).
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
[ -x "$BUILD/vmm386" ] || { echo "missing $BUILD/vmm386"; exit 1; }
run_guest() { # run_guest <mem MiB> [options...]: stdin passed through
	local mem=$1; shift
	"$BUILD/vmm386" -kernel "$BUILD/guest/native.elf" -m "$mem" "$@"
}
OS_TAG=vmm
BENCH_STATS=$BUILD/guest/os.vmm.bench.stats    # the counters port's lines (os_checks.sh)
. tests/integration/os_checks.sh
