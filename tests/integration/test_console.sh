#!/usr/bin/env bash
# tests/integration/test_console.sh - the console as under `qemu -nographic` (issue 14, item 4):
#   in a pseudo-terminal (util-linux `script`) with the bundled kernel's shell: a typed
#   command and its output appear once, Ctrl-C reaches the guest (vmm386 lives on), Ctrl-A h
#   lists the keys, Ctrl-A x quits with status 0, and `stty -g` of the terminal is the same
#   afterwards; the same after SIGTERM, SIGHUP and a monitor abort (the crash handler);
#   -serial file:PATH captures the guest's output (the PV kernel's console ring too);
#   -serial null drops it; -serial tcp serves one client; bad -serial values give one error
#   line and status 2.
set -u
BUILD=${BUILD:-build}
VMM=$(realpath "$BUILD/vmm386" 2>/dev/null)
KERNEL=$(realpath "$BUILD/guest/native.elf" 2>/dev/null)
BARE=$(realpath "$BUILD/guest/bare.elf" 2>/dev/null)
[ -x "$VMM" ] && [ -f "$KERNEL" ] && [ -f "$BARE" ] || { echo "SKIP: vmm386 or guests not built"; exit 77; }
command -v script >/dev/null || { echo "SKIP: no script(1) (util-linux)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_console.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
bad() { echo "FAIL $*"; failed=1; }

# in_pty NAME 'feeder commands' 'vmm386 arguments': run vmm386 in a pty between two
# `stty -g`; the feeder's output is typed into the terminal.  Leaves $tmp/NAME.{out,before,after}.
in_pty() {
	local name=$1 feed=$2 args=$3
	( eval "$feed" ) | timeout 60 script -qfec \
		"stty -g >$tmp/$name.before; $VMM $args; echo status=\$?; stty -g >$tmp/$name.after" \
		/dev/null >"$tmp/$name.out" 2>&1
	tr -d '\r' <"$tmp/$name.out" >"$tmp/$name.txt"
	cmp -s "$tmp/$name.before" "$tmp/$name.after" || bad "$name: terminal mode changed: $(cat "$tmp/$name.before") -> $(cat "$tmp/$name.after")"
}
status_is() { # NAME STATUS
	grep -qx "status=$2" "$tmp/$1.txt" || { bad "$1: want status $2, got: $(grep status= "$tmp/$1.txt")"; cat "$tmp/$1.txt"; }
}

# --- 1. typing, Ctrl-C, Ctrl-A h, Ctrl-A x ---------------------------------------------------
wait_prompt='for i in $(seq 100); do grep -q "type help" '"$tmp"'/keys.out 2>/dev/null && break; sleep 0.1; done'
in_pty keys "$wait_prompt; sleep 0.3; printf 'echo hello-from-pty\r'; sleep 1; printf '\003'; sleep 0.5;
	printf 'echo after-ctrl-c\r'; sleep 1; printf '\001h'; sleep 0.5; printf '\001x'; sleep 1" \
	"-kernel $KERNEL"
status_is keys 0
n=$(grep -c 'echo hello-from-pty' "$tmp/keys.txt")
[ "$n" = 1 ] || bad "keys: the typed command appears $n times, want 1"
grep -qx 'hello-from-pty' "$tmp/keys.txt" || bad "keys: no output of the command"
grep -qx 'after-ctrl-c' "$tmp/keys.txt" || bad "keys: vmm386 did not survive Ctrl-C"
grep -q 'C-a x' "$tmp/keys.txt" || bad "keys: Ctrl-A h printed no key list"
grep -q 'terminated (Ctrl-A x)' "$tmp/keys.txt" || bad "keys: no Ctrl-A x message"

# --- 2. signals and the crash handler put the terminal back ------------------------------------
for sig in TERM HUP ABRT; do
	in_pty "sig$sig" "for i in \$(seq 100); do p=\$(pgrep -n -f '^$VMM -kernel $KERNEL -append sig$sig'); [ -n \"\$p\" ] && break; sleep 0.1; done; sleep 1; kill -$sig \$p; sleep 1" \
		"-kernel $KERNEL -append sig$sig"
	grep -q 'status=0' "$tmp/sig$sig.txt" && bad "sig$sig: vmm386 was not stopped by SIG$sig"
done
grep -q 'monitor backtrace' "$tmp/sigABRT.txt" || bad "sigABRT: no backtrace from the abort handler"

# --- 3. -serial backends -----------------------------------------------------------------------
"$VMM" -kernel "$BARE" -serial file:"$tmp/com1.txt" </dev/null >"$tmp/file.stdout" 2>&1; st=$?
[ $st = 1 ] || bad "file: status $st, want 1"
grep -q 'vmm386 guest kernel' "$tmp/com1.txt" || bad "file: guest output not in the file"
[ -s "$tmp/file.stdout" ] && bad "file: output on stdout too: $(head -2 "$tmp/file.stdout")"
# the PV kernel's console ring (and PV_HC_CONSOLE_IO) go where -serial says, as COM1 does
PVK=$(realpath "$BUILD/guest/pv.elf" 2>/dev/null)
if [ -f "$PVK" ]; then
	"$VMM" -kernel "$PVK" -append "bench quick" -serial file:"$tmp/pv.txt" </dev/null >"$tmp/pv.stdout" 2>&1; st=$?
	[ $st = 1 ] || bad "pv file: status $st, want 1"
	grep -q 'vmm386 PV kernel' "$tmp/pv.txt" && grep -q '^macro forkexec' "$tmp/pv.txt" ||
		bad "pv file: the PV console's output is not in the file: $(head -2 "$tmp/pv.txt")"
	[ -s "$tmp/pv.stdout" ] && bad "pv file: output on stdout too: $(head -2 "$tmp/pv.stdout")"
fi
"$VMM" -kernel "$BARE" -serial null -nographic -display none </dev/null >"$tmp/null.stdout" 2>&1; st=$?
[ $st = 1 ] || bad "null: status $st, want 1"
[ -s "$tmp/null.stdout" ] && bad "null: output on stdout: $(head -2 "$tmp/null.stdout")"

# tcp: the guest runs before anyone connects (nowait); a client then gets the shell
port=$((20000 + RANDOM % 20000))
"$VMM" -kernel "$KERNEL" -serial tcp::$port,server,nowait </dev/null >"$tmp/tcp.stdout" 2>&1 &
vpid=$!
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
sleep 0.5
exec 3<>/dev/tcp/127.0.0.1/$port
printf 'echo over-tcp\r' >&3
timeout 5 grep -m1 -q '^over-tcp' <&3 || bad "tcp: no reply from the guest's shell"
printf 'exit\r' >&3
exec 3<&-
wait $vpid; st=$?
[ $st = 1 ] || bad "tcp: status $st, want 1 (the shell exited)"

for v in bogus file: tcp::0,server tcp::1234 tcp::1234,server,bogus; do
	"$VMM" -kernel "$BARE" -serial "$v" </dev/null >"$tmp/badv.out" 2>&1; st=$?
	[ $st = 2 ] || bad "-serial $v: status $st, want 2"
	[ "$(wc -l <"$tmp/badv.out")" = 1 ] || bad "-serial $v: want one line, got: $(cat "$tmp/badv.out")"
done
"$VMM" -kernel "$BARE" -serial file:/nonexistent/dir/x </dev/null >"$tmp/badf.out" 2>&1; st=$?
[ $st = 2 ] && [ "$(wc -l <"$tmp/badf.out")" = 1 ] || bad "-serial file: unopenable: status $st, $(cat "$tmp/badf.out")"

[ $failed = 0 ] && echo "console: all cases passed"
exit $failed
