#!/usr/bin/env bash
# test_gdb.sh - the gdb stub (gdbstub/): Debian's gdb in batch mode debugs the bundled
# kernel (build/guest/native.elf, with symbols) under `vmm386 -gdb tcp::PORT -S`, and the
# same script runs against `qemu-system-i386 -gdb tcp::PORT -S` with the same image.
#
# The session: target remote, break on proc_exec (the first user process), continue,
# backtrace, print arguments and globals, next/step/stepi, finish, a memory write and read
# back, a breakpoint on the syscall handler (reached from ring 3 in another address
# space), a write watchpoint on the tick count (written by the timer interrupt), registers,
# detach.  Both transcripts are filtered of what legitimately differs (where the machine
# starts: QEMU in its BIOS, vmm386 at the multiboot entry; the tick count; the trap frame
# the timer interrupted, which depends on host speed; gdb's name for the inferior) and
# must then be equal.
# Skips (77) without gdb; without qemu-system-i386 only the vmm386 half runs.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
command -v gdb >/dev/null || { echo "gdb not installed"; exit 77; }
kernel=$BUILD/guest/native.elf
[ -x "$BUILD/vmm386" ] && [ -f "$kernel" ] || { echo "missing $BUILD/vmm386 or $kernel"; exit 1; }
out=$BUILD/test-gdb
mkdir -p "$out"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

script() { # script <port>
	cat <<EOS
set pagination off
set confirm off
set width 0
target remote 127.0.0.1:$1
break proc_exec
continue
bt
print name
print argc
print cur->pid
print/x kernel_pd_pa
next
next
step
stepi
info registers eip
print \$pc == proc_exec + 52
print/x \$cs
print/x \$cr0
finish
print \$eax
set var ticks = 0x12345678
print/x ticks
x/4xb &ticks
delete
break syscall_dispatch
continue
print f->eax
print/x f->cs
bt 2
print cur->pid
delete
set var ticks = 100
watch ticks
continue
print ticks == 101
delete
detach
EOS
}

# filter <transcript>: drop what differs between machines
filter() {
	grep -v -e '^0x[0-9a-f]* in ?? ()' -e '^\[Inferior 1 ' -e '^Remote debugging using' "$1" |
		sed -E -e 's/^(Old value = |New value = ).*$/\1.../' \
		    -e 's/\(f=0x[0-9a-f]+( <[^>]*>)?\)/(f=...)/'
}

session() { # session <name> <command...>: run the machine, then gdb against it
	local name=$1; shift
	local port; port=$(free_port)
	"$@" -gdb "tcp::$port" -S </dev/null >"$out/$name.guest" 2>&1 &
	local pid=$!
	local hexport; hexport=$(printf ':%04X ' "$port")
	for _ in $(seq 50); do      # until it listens (state 0A in /proc/net/tcp)
		grep -q "$hexport.* 0A " /proc/net/tcp && break
		sleep 0.1
	done
	script "$port" >"$out/$name.gdb"
	timeout 120 gdb -batch -nx -x "$out/$name.gdb" "$kernel" >"$out/$name.txt" 2>&1
	local st=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "--- $name (gdb status $st)"
	cat "$out/$name.txt"
	return $st
}

session vmm "$BUILD/vmm386" -kernel "$kernel" -m 128 || { echo "FAIL: gdb against vmm386"; exit 1; }
fail=0
check() { # check <pattern>: must appear in the vmm386 transcript
	grep -qE -- "$1" "$out/vmm.txt" || { echo "FAIL: no line matching '$1'"; fail=1; }
}
check '^Breakpoint 1, proc_exec \(.*name=.*"sh"'
check '^#1  0x[0-9a-f]+ in proc_start_init '
check '^\$1 = 0x[0-9a-f]+ "sh"'
check '^\$4 = 0x[0-9a-f]+$'
check '^eip +0x[0-9a-f]+ +0x[0-9a-f]+ <proc_exec\+52>'
check '^\$10 = 0x12345678'
check '^0x[0-9a-f]+ <ticks>:	0x78	0x56	0x34	0x12'
check '^Breakpoint [0-9]+, syscall_dispatch '
check '^Hardware watchpoint [0-9]+: ticks'
check '^\$14 = 1$'
check '^\[Inferior 1 .* detached\]'
if grep -qE 'Remote connection closed|Remote communication error|Ignoring packet error' "$out/vmm.txt"; then
	echo "FAIL: protocol errors"; fail=1
fi

# Ctrl-C: gdb's interrupt byte stops a running guest (T02); raw packets, since gdb's
# batch mode cannot send one.  Also an unmapped address is E14, not a crash.
if command -v python3 >/dev/null; then
	port=$(free_port)
	"$BUILD/vmm386" -kernel "$kernel" -m 128 -gdb "tcp::$port" -S </dev/null >"$out/brk.guest" 2>&1 &
	pid=$!
	sleep 0.5
	got=$(timeout 20 python3 - "$port" <<'EOP'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def ask(p, reply=True):
    s.sendall(b"$%s#%02x" % (p, sum(p) & 255))
    d = b""
    while reply and not (b"#" in d and len(d.split(b"#")[-1]) >= 2):
        d += s.recv(4096)
    if reply:
        s.sendall(b"+")
    return d.decode().lstrip("+").split("#")[0]
print(ask(b"?"))
ask(b"c", False); time.sleep(1); s.recv(1)
s.sendall(b"\x03")
d = b""
while not (b"#" in d and len(d.split(b"#")[-1]) >= 2):
    d += s.recv(4096)
s.sendall(b"+")
print(d.decode().split("#")[0])
print(ask(b"m0,4"))
print(ask(b"D"))
EOP
)
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	echo "--- Ctrl-C:" $got
	[ "$(echo $got)" = "\$T05thread:01; \$T02thread:01; \$E14 \$OK" ] || { echo "FAIL: Ctrl-C / E14 answers"; fail=1; }
fi

if command -v qemu-system-i386 >/dev/null; then
	session qemu qemu-system-i386 -kernel "$kernel" -m 128 -display none -serial stdio \
		-monitor none -no-reboot || { echo "FAIL: gdb against qemu (reference)"; exit 1; }
	if ! diff -u <(filter "$out/qemu.txt") <(filter "$out/vmm.txt"); then
		echo "FAIL: vmm386 and qemu answer differently (above: - qemu, + vmm386)"
		fail=1
	else
		echo "vmm386 and qemu-system-i386 answer the same"
	fi
else
	echo "note: qemu-system-i386 not installed; no comparison"
fi
exit $fail
