#!/usr/bin/env bash
# test_scan.sh - vmm386-scan on the bundled guest: per-mnemonic rows and totals, the
# guest's privileged instructions reported as monitor calls, and bad input rejected with
# one line on stderr and exit status 2.
set -u
BUILD=${BUILD:-build}
SCAN=$BUILD/vmm386-scan
ELF=$BUILD/guest/bare.elf
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$SCAN" ] || fail "$SCAN not built"
[ -f "$ELF" ] || fail "$ELF not built"

"$SCAN" "$ELF" >"$tmp/out" 2>"$tmp/err" || fail "scan of the guest exited $?: $(cat "$tmp/err")"
cat "$tmp/out"
grep -q '^totals:' "$tmp/out" || fail "no totals"
grep -Eq '^IDENT path: [0-9]+\.[0-9]+% of code bytes$' "$tmp/out" || fail "no IDENT percentage"
grep -Eq '^  code: [1-9][0-9]* instructions' "$tmp/out" || fail "no instruction count"

# column 6 of a mnemonic row is MONITOR (mnemonic total IDENT REENC LOWER MONITOR ...)
monitor_count() { awk -v m="$1" '$1 == m { print $6 }' "$tmp/out"; }
for m in lgdt lidt out in mov; do
	n=$(monitor_count "$m")
	[ -n "$n" ] || fail "mnemonic $m not reported"
	[ "$n" -gt 0 ] || fail "$m has no monitor-call instances (row: $(grep "^$m " "$tmp/out"))"
done
# CPUID is a call from translated code (translator/moncall.c): lowered, never the monitor
n=$(awk '$1 == "cpuid" { print $5 "/" $6 }' "$tmp/out")
[ "${n%/*}" -gt 0 ] && [ "${n#*/}" = 0 ] 2>/dev/null || fail "cpuid is not lowered (row: $(grep "^cpuid " "$tmp/out"))"
# ...and ordinary arithmetic is on the IDENT path
n=$(awk '$1 == "add" { print $3 }' "$tmp/out"); [ "${n:-0}" -gt 0 ] || fail "add not IDENT"

"$SCAN" --quiet "$ELF" >"$tmp/q" || fail "--quiet failed"
grep -q '^mnemonic' "$tmp/q" && fail "--quiet printed the mnemonic table"
grep -q '^IDENT path:' "$tmp/q" || fail "--quiet printed no totals"

# bad input: exactly one line on stderr starting with "vmm386-scan: ", status 2
bad() { # description, args...
	local what=$1; shift
	"$SCAN" "$@" >/dev/null 2>"$tmp/e"; local st=$?
	[ $st = 2 ] || fail "$what: status $st, expected 2"
	[ "$(wc -l <"$tmp/e")" = 1 ] || fail "$what: stderr is not one line: $(cat "$tmp/e")"
	grep -q '^vmm386-scan: ' "$tmp/e" || fail "$what: stderr: $(cat "$tmp/e")"
	echo "ok: $what -> $(cat "$tmp/e")"
}
bad "missing file" "$tmp/nonexistent"
bad "no argument"
printf 'hello, world\n' >"$tmp/text"; bad "not ELF" "$tmp/text"
head -c 30 "$ELF" >"$tmp/short"; bad "truncated header" "$tmp/short"
head -c 20000 "$ELF" >"$tmp/trunc"; bad "truncated file" "$tmp/trunc"
cp /bin/true "$tmp/x64"; bad "ELF64 x86-64" "$tmp/x64"
# a bzImage, when the Linux test has fetched one: its xz payload is unpacked and scanned
if [ -s "$BUILD/linux/vmlinuz" ]; then
	"$SCAN" --quiet "$BUILD/linux/vmlinuz" >"$tmp/lx" 2>"$tmp/e" || fail "bzImage scan: $(cat "$tmp/e")"
	grep -q 'Linux bzImage, [0-9]* bytes of vmlinux unpacked' "$tmp/lx" || fail "bzImage not unpacked"
	grep -Eq '^IDENT path: [0-9]+\.[0-9]+% of code bytes$' "$tmp/lx" || fail "bzImage: no totals"
	head -c 600 "$BUILD/linux/vmlinuz" >"$tmp/bzshort"; bad "truncated bzImage" "$tmp/bzshort"
fi
echo "PASS"
