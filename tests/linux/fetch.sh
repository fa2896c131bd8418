#!/usr/bin/env bash
# fetch.sh DIR - put Debian's i386 Linux 6.1 kernel (linux-image-6.1.0-*-686, the newest in
# the archive) and busybox-static:i386 into DIR as DIR/vmlinuz and DIR/busybox, with
# `apt-get download` (adding the i386 architecture to dpkg if needed, as root).  Cached:
# nothing is downloaded when both files are there.  Exit 77 with the reason when the
# package archive cannot be reached, 1 on any other failure.
set -u
dir=$1
mkdir -p "$dir"
[ -s "$dir/vmlinuz" ] && [ -s "$dir/busybox" ] && exit 0
skip() { echo "SKIP: $*" >&2; exit 77; }
command -v apt-get >/dev/null || skip "no apt-get on this machine"
if ! dpkg --print-foreign-architectures | grep -qx i386; then
	[ "$(id -u)" = 0 ] || skip "i386 packages are not enabled and we are not root"
	dpkg --add-architecture i386 || exit 1
	apt-get update -qq || skip "apt-get update failed: the archive cannot be reached"
fi
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-686$' | awk '{print $1}' | sort -V | tail -1)
if [ -z "$pkg" ]; then
	[ "$(id -u)" = 0 ] && apt-get update -qq
	pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-686$' | awk '{print $1}' | sort -V | tail -1)
fi
[ -n "$pkg" ] || skip "no linux-image-6.1.0-*-686 package in the archive"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "$pkg:i386" busybox-static:i386) >"$tmp/log" 2>&1 ||
	{ cat "$tmp/log" >&2; skip "apt-get download failed: the archive cannot be reached"; }
for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$tmp/root" || exit 1; done
cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz" && cp "$tmp/root/bin/busybox" "$dir/busybox" || exit 1
cp "$tmp"/root/boot/System.map-* "$dir/System.map" 2>/dev/null
echo "$pkg" > "$dir/version"
