#!/usr/bin/env bash
# test_guest_2vmm.sh - the guest kernel's self test under vmm386.
#
# Passes when the guest exits with 0 through port 0xF4 (process status 1), prints
# "N passed, 0 failed", reports no "# deviation:" (vmm386 must follow the manual where QEMU's
# TCG does not), and - when test_guest_1qemu.sh left $BUILD/guest/selftest.qemu.txt - prints
# exactly the same check lines as qemu-system-i386.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
vmm=$BUILD/vmm386
kernel=$BUILD/guest/bare.elf
[ -x "$vmm" ] || { echo "missing $vmm"; exit 1; }
[ -f "$kernel" ] || { echo "missing $kernel (make guest)"; exit 1; }

out=$BUILD/guest/selftest.vmm.log
# The IDE group's disk (guest/bare/st_ide.c): 128 sectors, the signature at the start.
disk=$BUILD/guest/selftest-disk.vmm.img
dd if=/dev/zero of="$disk" bs=512 count=128 status=none
printf 'vmm386 selftest disk' | dd of="$disk" conv=notrunc status=none
timeout 60 "$vmm" -kernel "$kernel" -append selftest \
	-drive file="$disk",format=raw,index=0,media=disk </dev/null | tr -d '\r' >"$out"
st=${PIPESTATUS[0]}
cat "$out"
grep -E '^(ok|not ok) [0-9]+ - |^[0-9]+ passed, [0-9]+ failed$' "$out" >"$BUILD/guest/selftest.vmm.txt"
fail=0
if [ "$st" != 1 ]; then
	echo "FAIL: vmm386 exit status $st, want 1 (guest wrote 0 to port 0xF4)"
	fail=1
fi
if ! grep -qE '^[0-9]+ passed, 0 failed$' "$out"; then
	echo "FAIL: the self test did not report 0 failed"
	fail=1
fi
if grep -q '^# deviation:' "$out"; then
	echo "FAIL: vmm386 departs from the manual (lines '# deviation:' above)"
	fail=1
fi
ref=$BUILD/guest/selftest.qemu.txt
if [ -f "$ref" ]; then
	if ! diff -u "$ref" "$BUILD/guest/selftest.vmm.txt"; then
		echo "FAIL: check lines differ from qemu-system-i386 ($ref)"
		fail=1
	fi
else
	echo "note: no $ref (qemu run missing), lines not compared"
fi
exit $fail
