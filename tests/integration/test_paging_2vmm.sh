#!/usr/bin/env bash
# test_paging_2vmm.sh - the guest self test with its paging group (`-append "selftest paging"`,
# guest/bare/st_paging.c) under qemu-system-i386 and then vmm386: both must finish with
# "N passed, 0 failed", vmm386 must report no "# deviation:", and the check lines must be
# identical.
#
# Skips without qemu-system-i386.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
command -v qemu-system-i386 >/dev/null || { echo "qemu-system-i386 not installed"; exit 77; }
vmm=$BUILD/vmm386
kernel=$BUILD/guest/bare.elf
[ -x "$vmm" ] || { echo "missing $vmm"; exit 1; }
[ -f "$kernel" ] || { echo "missing $kernel (make guest)"; exit 1; }

checks() { grep -E '^(ok|not ok) [0-9]+ - |^[0-9]+ passed, [0-9]+ failed$' "$1"; }
fail=0

qlog=$BUILD/guest/paging.qemu.log
timeout 60 qemu-system-i386 -kernel "$kernel" -append "selftest paging" -m 128 \
	-display none -serial stdio -monitor none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null | tr -d '\r' >"$qlog"
qst=${PIPESTATUS[0]}
checks "$qlog" >"$BUILD/guest/paging.qemu.txt"
if [ "$qst" != 1 ] || ! grep -qE '^[0-9]+ passed, 0 failed$' "$qlog"; then
	cat "$qlog"
	echo "FAIL: qemu-system-i386 status $qst or failed checks: the reference run is broken"
	exit 1
fi

vlog=$BUILD/guest/paging.vmm.log
timeout 60 "$vmm" -kernel "$kernel" -append "selftest paging" </dev/null | tr -d '\r' >"$vlog"
vst=${PIPESTATUS[0]}
cat "$vlog"
checks "$vlog" >"$BUILD/guest/paging.vmm.txt"
if [ "$vst" != 1 ]; then
	echo "FAIL: vmm386 exit status $vst, want 1 (guest wrote 0 to port 0xF4)"
	fail=1
fi
if ! grep -qE '^[0-9]+ passed, 0 failed$' "$vlog"; then
	echo "FAIL: the self test did not report 0 failed"
	fail=1
fi
if grep -q '^# deviation:' "$vlog"; then
	echo "FAIL: vmm386 departs from the manual (lines '# deviation:' above)"
	fail=1
fi
if ! diff -u "$BUILD/guest/paging.qemu.txt" "$BUILD/guest/paging.vmm.txt"; then
	echo "FAIL: check lines differ from qemu-system-i386"
	fail=1
fi
exit $fail
