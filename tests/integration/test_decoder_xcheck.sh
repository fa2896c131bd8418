#!/usr/bin/env bash
# test_decoder_xcheck.sh - Zydis (vmm386's decoder) against Capstone: 1,000,000 random
# 15-byte strings and every instruction of real 32-bit binaries: the bundled guest, the
# multilib libc (/usr/lib32, from gcc-multilib) and busybox from Debian's i386
# busybox-static package.  Passes only if every disagreement is a known one (the table in
# tests/decoder/xcheck.c gives the SDM's answer for each).
#
# The i386 package is fetched once with apt-get download against a private package list
# for i386 (APT_CONFIG in $BUILD/decoder/apt: the system's dpkg architectures and lists are
# not touched) and kept in $BUILD/decoder/i386/.  Without network or apt it is skipped with
# a message and the other inputs are still checked.  The check itself takes a few seconds.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
XCHECK=$BUILD/tests/xcheck
[ -x "$XCHECK" ] || { echo "FAIL: $XCHECK not built"; exit 1; }
files=()
[ -f "$BUILD/guest/bare.elf" ] && files+=("$BUILD/guest/bare.elf")
for f in /usr/lib32/libc.so.6 /usr/lib32/libm.so.6; do [ -f "$f" ] && files+=("$f"); done

fetch_busybox() { # -> $BUILD/decoder/i386/bin/busybox, or a message on why not
	local d=$BUILD/decoder apt=$BUILD/decoder/apt
	[ -x "$d/i386/bin/busybox" ] && return 0
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || { echo "no apt-get/dpkg-deb"; return 1; }
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$d/i386"
	apt=$(cd "$apt" && pwd)
	cat >"$apt/apt.conf" <<CONF
APT::Architecture "i386";
APT::Architectures { "i386"; };
Dir::State::Lists "$apt/lists";
Dir::Cache "$apt/cache";
Dir::State::status "/dev/null";
CONF
	export APT_CONFIG=$apt/apt.conf
	timeout 90 apt-get -qq update >"$apt/update.log" 2>&1
	( cd "$apt" && timeout 60 apt-get -qq download busybox-static:i386 ) >"$apt/download.log" 2>&1
	local deb; deb=$(ls "$apt"/busybox-static_*_i386.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || { echo "apt-get download busybox-static:i386 failed: $(tail -1 "$apt/download.log")"; return 1; }
	dpkg-deb -x "$deb" "$d/i386" && [ -x "$d/i386/bin/busybox" ]
}
if why=$(fetch_busybox); then
	files+=("$BUILD/decoder/i386/bin/busybox")
else
	echo "NOTE: skipping the Debian i386 package binary: $why"
fi
echo "inputs: ${files[*]}"
timeout 120 "$XCHECK" -n 1000000 "${files[@]}"; st=$?
[ $st = 0 ] && echo PASS || echo "FAIL: unknown disagreements (status $st)"
exit $st
