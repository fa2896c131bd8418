#!/bin/busybox sh
# /init of the Linux test's initramfs (tests/linux/mkinitrd.sh puts it there).  Every
# result line starts with "T: " and must be the same under vmm386 and qemu-system-i386;
# lines starting with "I: " are information that may differ (timings, CPU flags).  With
# "lxmode=bench" on the command line it runs the benchmark loops instead and prints
# "B: name milliseconds" lines (only the rows listed by "lxonly=a,b" if given); with "lxmode=reboot" it reboots at once; with
# "lxmode=shell" it gives an interactive shell (make run-linux); with "lxmode=kallsyms" it
# prints the text symbols of /proc/kallsyms (a System.map for -symbols; boot with nokaslr).  It always ends with a
# power-off (or the reboot).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
arg() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
ms() { cut -d' ' -f1 /proc/uptime | awk '{printf "%d", $1 * 1000}'; }

if [ "$(arg lxmode)" = reboot ]; then
	echo "T: booted"
	reboot -f
fi

if [ "$(arg lxmode)" = kallsyms ]; then   # the kernel's symbols (boot with nokaslr)
	grep -i ' [tw] ' /proc/kallsyms
	poweroff -f
fi

if [ "$(arg lxmode)" = shell ]; then
	echo "busybox shell on the console; 'poweroff -f' (or exit) ends vmm386"
	setsid cttyhack sh -l
	poweroff -f
fi

if [ "$(arg lxmode)" = bench ]; then
	echo "B: init $(ms)"
	# timed name ops command...: the time, and vmm386's counters around it (a no-op on qemu)
	only=$(arg lxonly)    # lxonly=forkexec,alloc runs just those rows ("none": no row)
	timed() {
		local name=$1 ops=$2; shift 2
		case ",${only:-$name}," in *",$name,"*) ;; *) return ;; esac
		/bin/lxcheck counters begin
		local t0=$(ms); "$@" >/dev/null; local t1=$(ms)
		/bin/lxcheck counters end "$name" "$ops"
		echo "B: $name $((t1 - t0))"
	}
	forkexec() { i=0; while [ $i -lt 300 ]; do /bin/lxcheck true; i=$((i+1)); done; }
	pipeline() { seq 1 200000 | grep 7 | sed 's/1/x/' | wc -l; }
	ddmd5() { dd if=/dev/zero bs=1M count=64 2>/dev/null | md5sum; }
	timed forkexec 300 forkexec
	timed pipeline 200000 pipeline
	timed ddmd5 64 ddmd5
	timed alloc 32768 /bin/lxcheck alloc 128
	timed syscall 200000 /bin/lxcheck syscall 200000
	timed pingpong 20000 /bin/lxcheck pingpong 20000
	timed cpu 1 /bin/cpu
	poweroff -f
fi

echo "T: kernel $(uname -r) $(uname -m)"
flags=$(grep -m1 '^flags' /proc/cpuinfo)
echo "I: $flags"
need="fpu tsc cx8 cmov mmx fxsr sse sse2"
missing=""
for f in $need; do echo " $flags " | grep -q " $f " || missing="$missing $f"; done
echo "T: cpu flags needed by the test: ${missing:-all present}"
i=0
while [ $i -lt 200 ]; do /bin/lxcheck true || break; i=$((i+1)); done
echo "T: fork+exec $i times"
echo "T: pipeline $(seq 1 20000 | grep 7 | sed 's/1/x/' | wc -l)"
echo "T: dd $(dd if=/dev/zero bs=1M count=64 2>/dev/null | md5sum | cut -d' ' -f1)"
echo "T: sort $(awk 'BEGIN { x = 12345; for (i = 0; i < 20000; i++) { x = (x * 1103515245 + 12345) % 2147483648; print x % 100000 } }' | sort -n | md5sum | cut -d' ' -f1)"
host=$(arg hosttime)
now=$(date +%s)
d=$((now - ${host:-0}))
if [ $d -ge -5 ] && [ $d -le 300 ]; then echo "T: date within 5 minutes of the host"
else echo "T: date off by $d s (guest $now, host ${host:-unknown})"; fi
/bin/lxcheck
echo "T: lxcheck status $?"
bad=$(dmesg | grep -i -E 'clocksource.*unstable|i8042.*(timeout|time out|can.t read)')
echo "T: kernel log ${bad:-has no unstable clocksource and no i8042 time-out}"
[ -n "$bad" ] && dmesg | grep -i -A3 'clocksource.*unstable' | sed 's/^/I: /'   # the watchdog's figures
echo "I: uptime $(cut -d' ' -f1 /proc/uptime)"
echo "T: done"
poweroff -f
