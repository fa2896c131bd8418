#!/usr/bin/env bash
# test_shadow_budget.sh - the shadow MMU's host-mapping budget (issue 3).
#
# A guest process touches every other 4 KiB page of a region big enough that mapping each
# page separately would need more host mappings than vm.max_map_count allows (each
# isolated page costs two VMAs).  vmm386 must evict (empty windows) instead of failing:
# the guest verifies every page and prints "bigmem ok", and the statistics show at least
# one budget eviction.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
vmm=$BUILD/vmm386
kernel=$BUILD/guest/native.elf
[ -x "$vmm" ] && [ -f "$kernel" ] || { echo "missing $vmm or $kernel"; exit 1; }
max=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 65530)
pages=$((max / 2 + 4096))                 # isolated pages that overflow the limit
mib=$(( (pages * 8 + 1023) / 1024 ))      # one touched page per 8 KiB
ram=$((mib + 96))
if [ $ram -gt 3000 ]; then echo "vm.max_map_count=$max needs $ram MiB of guest RAM: skipped"; exit 77; fi
out=$(timeout 300 "$vmm" -m $ram -kernel "$kernel" -append "bigmem $mib" -d stats 2>&1)
st=$?
echo "$out" | grep -v "^  interpreted" | tail -16
fail=0
[ $st = 1 ] || { echo "FAIL: exit status $st (expected 1: debug exit 0)"; fail=1; }
echo "$out" | grep -q "^bigmem ok" || { echo "FAIL: no 'bigmem ok'"; fail=1; }
ev=$(echo "$out" | sed -n 's/.*recounts, \([0-9]*\) windows emptied.*/\1/p')
[ "${ev:-0}" -ge 1 ] || { echo "FAIL: no budget eviction reported (max_map_count $max, $mib MiB touched)"; fail=1; }
[ $fail = 0 ] && echo "ok: $mib MiB touched sparsely with vm.max_map_count=$max, $ev budget evictions"
exit $fail
