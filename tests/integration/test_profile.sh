#!/usr/bin/env bash
# tests/integration/test_profile.sh - -profile FILE (issue 14, item 3): the bundled kernel's
# quick benchmarks (fork/exec among them) run with -profile and -d stats; FILE has the totals
# by kind and at least ten sites named by kernel symbol, FILE.csv one well-formed row per
# site; the events the run loop handled add up to -d stats's "monitor exits" (within 2%),
# the shadow fills the signal handler settled are no more than its "host signals"; the
# fork path (as_fork) is among the sites; -symbols with a System.map-style list names them
# from it; an unwritable FILE, or -symbols without symbols, is one error line, status 2.
set -u
BUILD=${BUILD:-build}
VMM=$BUILD/vmm386
KERNEL=$BUILD/guest/native.elf
[ -x "$VMM" ] && [ -f "$KERNEL" ] || { echo "SKIP: vmm386 or the guest not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_profile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
bad() { echo "FAIL $*"; failed=1; }

"$VMM" -kernel "$KERNEL" -append "bench quick" -profile "$tmp/p.txt" -d stats </dev/null \
	>"$tmp/out" 2>&1
grep -q '^macro forkexec' "$tmp/out" || bad "the benchmark did not run: $(tail -3 "$tmp/out")"
[ -s "$tmp/p.txt" ] && [ -s "$tmp/p.txt.csv" ] || { echo "FAIL no profile written"; exit 1; }

exits=$(sed -n 's/^  monitor exits *\([0-9]*\) .*/\1/p' "$tmp/out")
signals=$(sed -n 's/^  host signals *\([0-9]*\) .*/\1/p' "$tmp/out")
read -r loop fills < <(awk -F, 'NR > 1 { if ($1 == "shadow-fill") f += $4; else l += $4 }
	END { print l + 0, f + 0 }' "$tmp/p.txt.csv")
echo "profile: $loop loop events, $fills signal fills; -d stats: $exits exits, $signals signals"
[ -n "$exits" ] && [ "$exits" -gt 0 ] || bad "no monitor exits figure in -d stats"
d=$((loop > exits ? loop - exits : exits - loop))
[ $((d * 50)) -le "${exits:-0}" ] || bad "profile events $loop vs -d stats exits $exits: more than 2% apart"
[ "$fills" -le "${signals:-0}" ] || bad "profile shadow fills $fills > host signals $signals"

awk -F, 'NR == 1 { if ($0 != "kind,eip,symbol,count,total_ns") { print "bad header: " $0; bad = 1 }; next }
	NF != 5 || length($2) != 8 || $2 !~ /^[0-9a-f]+$/ || $4 !~ /^[0-9]+$/ || $4 == 0 || $5 !~ /^[0-9]+$/ {
		print "bad row " NR ": " $0; bad = 1 }
	END { exit bad }' "$tmp/p.txt.csv" || bad "malformed CSV"
grep -q '^by kind:' "$tmp/p.txt" || bad "no totals by kind"
named=$(awk '/^sites/ { on = 1; next } on && $1 ~ /^[0-9]+$/ && $1 <= 10 && $NF !~ /^guest_/' "$tmp/p.txt" | wc -l)
[ "$named" -ge 5 ] || bad "only $named of the top ten sites are named by symbol"
[ "$(awk '/^sites/ { on = 1; next } on && $1 ~ /^[0-9]+$/' "$tmp/p.txt" | wc -l)" -ge 10 ] ||
	bad "fewer than ten sites in the table"
grep -q ' as_fork+0x' "$tmp/p.txt" || bad "the fork path (as_fork) is not among the sites"
sed -n '1,30p' "$tmp/p.txt"

# -symbols with a System.map-style list (nm's output of the same kernel, names renamed):
# the sites take those names instead of the ELF's
nm "$KERNEL" | awk '$2 ~ /^[tTwW]$/ { print $1, $2, "map_" $3 }' >"$tmp/map"
"$VMM" -kernel "$KERNEL" -append "bench quick" -profile "$tmp/q.txt" -symbols "$tmp/map" </dev/null \
	>/dev/null 2>&1
grep -q ' map_as_fork+0x' "$tmp/q.txt" || bad "-symbols MAP: the fork path is not named from the map"
grep -q ' as_fork+0x' "$tmp/q.txt" && bad "-symbols MAP: names from the ELF still used"
printf 'not a symbol list\n' >"$tmp/junk"
"$VMM" -kernel "$KERNEL" -profile "$tmp/r.txt" -symbols "$tmp/junk" </dev/null >"$tmp/bad" 2>&1; st=$?
[ $st = 2 ] && [ "$(wc -l <"$tmp/bad")" = 1 ] || bad "-symbols with no symbols: status $st, $(cat "$tmp/bad")"

"$VMM" -kernel "$KERNEL" -profile /nonexistent/dir/p </dev/null >"$tmp/bad" 2>&1; st=$?
[ $st = 2 ] && [ "$(wc -l <"$tmp/bad")" = 1 ] || bad "unwritable -profile FILE: status $st, $(cat "$tmp/bad")"

[ $failed = 0 ] && echo "profile: all cases passed"
exit $failed
