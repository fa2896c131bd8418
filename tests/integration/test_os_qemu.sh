#!/usr/bin/env bash
# test_os_qemu.sh - the multi-process kernel (build/guest/native.elf) under qemu-system-i386:
#   -append test          the user-level suite: last line "N passed, 0 failed" with N >= 10,
#                         exit status 1 (the guest wrote 0 to port 0xF4)
#   -append "bench quick" every nanobenchmark line "bench NAME ITERS ns_per_op=X.Y" and
#                         macro line "macro NAME UNITS ms=X.YYY", values plausible
#                         (bench_lines.sh)
#   (no -append)          the shell, fed "echo hello" and "exit" on stdin: a line "hello"
#   -m 512 bigmem 64      "bigmem ok 8192 pages"
# Logs go to $BUILD/guest/os.qemu.*.log.  Skips (77) without qemu-system-i386.
# test_os_vmm.sh runs the same checks under vmm386 (os_checks.sh holds them).
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
command -v qemu-system-i386 >/dev/null || { echo "qemu-system-i386 not installed"; exit 77; }
run_guest() { # run_guest <mem MiB> [qemu options...]: stdin passed through
	local mem=$1; shift
	qemu-system-i386 -kernel "$BUILD/guest/native.elf" -m "$mem" -display none -serial stdio \
		-monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@"
}
OS_TAG=qemu
. tests/integration/os_checks.sh
