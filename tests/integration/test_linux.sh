#!/usr/bin/env bash
# test_linux.sh - Debian's i386 Linux 6.1 (linux-image-6.1.0-*-686), booted straight from
# its bzImage with a busybox initramfs, under vmm386 and under qemu-system-i386: the /init
# script (tests/linux/init.sh) prints its results as "T: " lines, which must be identical
# under both, and vmm386 must end with status 0 through the guest's ACPI power-off.  Then
# `reboot -f`: with -no-reboot vmm386 ends (status 0), without it the machine restarts.
# Skips (77) when the package archive cannot be reached or gcc -m32 -static is missing.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
dir=$BUILD/linux
[ -x "$BUILD/vmm386" ] || { echo "missing $BUILD/vmm386"; exit 1; }
[ -x "$dir/lxcheck" ] || { echo "SKIP: $dir/lxcheck was not built (gcc -m32 -static)"; exit 77; }
bash tests/linux/fetch.sh "$dir"; st=$?
[ $st = 0 ] || exit $st
[ -x "$BUILD/bench/native_cpu" ] || make -s BUILD="$BUILD" "$BUILD/bench/native_cpu" >/dev/null || exit 1
bash tests/linux/mkinitrd.sh "$dir/initrd.gz" "$dir/busybox" "$dir/lxcheck" "$BUILD/bench/native_cpu" || exit 1
append="console=ttyS0 quiet hosttime=$(date +%s)"
echo "kernel: $(cat "$dir/version" 2>/dev/null)"

t0=$(date +%s%N)
timeout 600 "$BUILD/vmm386" -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -m 256 \
	-append "$append" </dev/null >"$dir/vmm.out" 2>"$dir/vmm.err"
vst=$?
t1=$(date +%s%N)
echo "vmm386: status $vst, $(( (t1 - t0) / 1000000 )) ms"
fail=0
[ $vst = 0 ] || { echo "FAIL: vmm386 exited with status $vst (0 expected: ACPI power-off)"; fail=1; }
tr -d '\r' <"$dir/vmm.out" | grep -a '^T: ' >"$dir/vmm.t"
cat "$dir/vmm.t"
for want in "T: done" "T: lxcheck status 0" "T: fork+exec 200 times" \
	    "T: kernel log has no unstable clocksource and no i8042 time-out" \
	    "T: date within 5 minutes of the host" "T: cpu flags needed by the test: all present"; do
	grep -qxF "$want" "$dir/vmm.t" || { echo "FAIL: vmm386 output lacks '$want'"; fail=1; }
done

if command -v qemu-system-i386 >/dev/null; then
	t0=$(date +%s%N)
	timeout 600 qemu-system-i386 -display none -serial stdio -monitor none -no-reboot \
		-kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -m 256 -append "$append" \
		</dev/null >"$dir/qemu.out" 2>"$dir/qemu.err"
	qst=$?
	t1=$(date +%s%N)
	echo "qemu: status $qst, $(( (t1 - t0) / 1000000 )) ms"
	tr -d '\r' <"$dir/qemu.out" | grep -a '^T: ' >"$dir/qemu.t"
	if ! diff -u "$dir/qemu.t" "$dir/vmm.t"; then
		echo "FAIL: the result lines differ between qemu (-) and vmm386 (+)"; fail=1
	fi
else
	echo "qemu-system-i386 missing: vmm386's output checked alone"
fi
# reboot: under -no-reboot the run ends with status 0; without it the machine restarts
timeout 120 "$BUILD/vmm386" -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -m 256 -no-reboot \
	-append "console=ttyS0 quiet lxmode=reboot" </dev/null >"$dir/reboot1.out" 2>&1
rst=$?
n=$(tr -d '\r' <"$dir/reboot1.out" | grep -c '^T: booted')
echo "reboot with -no-reboot: status $rst, $n boot(s)"
[ $rst = 0 ] && [ "$n" = 1 ] || { echo "FAIL: -no-reboot: status $rst and $n boots (0 and 1 expected)"; fail=1; }
"$BUILD/vmm386" -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -m 256 \
	-append "console=ttyS0 quiet lxmode=reboot" </dev/null >"$dir/reboot2.out" 2>&1 &
pid=$!
for _ in $(seq 240); do
	[ "$(tr -d '\r' <"$dir/reboot2.out" | grep -c '^T: booted')" -ge 2 ] && break
	sleep 0.5
done
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
n=$(tr -d '\r' <"$dir/reboot2.out" | grep -c '^T: booted')
echo "reboot without -no-reboot: $n boots before it was stopped"
[ "$n" -ge 2 ] || { echo "FAIL: the machine did not restart after a guest reset"; fail=1; }

if [ $fail != 0 ]; then
	echo "--- vmm386 console (last 40 lines)"; tail -n 40 "$dir/vmm.out"; cat "$dir/vmm.err"
fi
exit $fail
