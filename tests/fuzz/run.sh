#!/usr/bin/env bash
# tests/fuzz/run.sh - run the libFuzzer target for FUZZ_TIME seconds (default 600).
#
# Corpus: $BUILD/fuzz/corpus (kept between runs), seeded with 512-byte slices of the
# bundled guest's .text behind the 66-byte header (flags 0, ESP = 0x8000, no paging) and
# the inputs in tests/fuzz/seeds/ (the paging-* and chain-loop ones exercise page-table
# stores, CR3 switches, INVLPG, WP/PSE/PGE and chained blocks).  Crashes, timeouts and slow units go to $BUILD/fuzz/artifacts/;
# copy a crash to tests/fuzz/crashes/ to keep it.  Exit status 0 when nothing was found,
# 1 when the fuzzer found a crash (libFuzzer's 77 is avoided: it means "skip" in
# tests/run.sh).  The last line is a summary with executions, coverage and corpus size.
set -u
BUILD=${BUILD:-build}
FUZZ_TIME=${FUZZ_TIME:-600}
cd "$(dirname "$0")/../.."
BIN=$BUILD/fuzz/fuzz_translate
ELF=$BUILD/guest/bare.elf
CORPUS=$BUILD/fuzz/corpus
SEEDS=$BUILD/fuzz/seeds
ART=$BUILD/fuzz/artifacts
[ -x "$BIN" ] || { echo "fuzz: $BIN not built (make fuzz-build)" >&2; exit 2; }
mkdir -p "$CORPUS" "$SEEDS" "$ART"

# seeds from the guest's own code: header + slices of .text (file offset 0x1000)
if [ -f "$ELF" ] && [ -z "$(ls -A "$SEEDS")" ]; then
	for i in $(seq 0 15); do
		{ printf '\000'; head -c 16 /dev/zero; printf '\000\200\000\000'; head -c 12 /dev/zero
		  head -c 33 /dev/zero       # the paging header (fz.h): no paging
		  dd if="$ELF" bs=512 skip=$((8 + i * 4)) count=1 status=none; } >"$SEEDS/guest-$i"
	done
fi
extra=()
[ -d tests/fuzz/seeds ] && extra+=(tests/fuzz/seeds)

log=$BUILD/fuzz/last-run.log
"$BIN" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 \
	-close_fd_mask=1 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
	-artifact_prefix="$ART/" "$CORPUS" "$SEEDS" "${extra[@]}" 2>&1 | tee "$log" |
	grep -v -E '^#[0-9]+.*(NEW|REDUCE|pulse)|^vmm386: guest stopped' ; st=${PIPESTATUS[0]}
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
echo "fuzz summary: ${FUZZ_TIME}s, ${execs:-?} executions, ${cov:-no coverage line}, status $st"
exit $st
