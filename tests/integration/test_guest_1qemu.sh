#!/usr/bin/env bash
# test_guest_1qemu.sh - the guest kernel's self test under qemu-system-i386 (TCG), the
# reference the vmm386 run is compared with (test_guest_2vmm.sh runs after this one).
#
# Passes when the guest exits through isa-debug-exit with 0 (process status 1) and prints
# "N passed, 0 failed".  Saves the check lines ("ok"/"not ok" and the summary) to
# $BUILD/guest/selftest.qemu.txt.  Skips (77) without qemu-system-i386.
# "# deviation:" lines are QEMU's known departures from the manual; they are listed, not failed.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
command -v qemu-system-i386 >/dev/null || { echo "qemu-system-i386 not installed"; exit 77; }
kernel=$BUILD/guest/bare.elf
[ -f "$kernel" ] || { echo "missing $kernel (make guest)"; exit 1; }

out=$BUILD/guest/selftest.qemu.log
# -nographic would claim stdio for the monitor too; serial alone goes to stdout this way.
# The IDE group's disk (guest/bare/st_ide.c): 128 sectors, the signature at the start.
disk=$BUILD/guest/selftest-disk.qemu.img
dd if=/dev/zero of="$disk" bs=512 count=128 status=none
printf 'vmm386 selftest disk' | dd of="$disk" conv=notrunc status=none
timeout 60 qemu-system-i386 -kernel "$kernel" -append selftest -m 128 \
	-drive file="$disk",format=raw,index=0,media=disk \
	-display none -serial stdio -monitor none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null | tr -d '\r' >"$out"
st=${PIPESTATUS[0]}
cat "$out"
grep -E '^(ok|not ok) [0-9]+ - |^[0-9]+ passed, [0-9]+ failed$' "$out" >"$BUILD/guest/selftest.qemu.txt"
if [ "$st" != 1 ]; then
	echo "FAIL: qemu exit status $st, want 1 (guest wrote 0 to port 0xF4)"
	exit 1
fi
if ! grep -qE '^[0-9]+ passed, 0 failed$' "$out"; then
	echo "FAIL: the self test reported failures"
	exit 1
fi
grep '^# deviation:' "$out" | sed 's/^/note: qemu /'
exit 0
