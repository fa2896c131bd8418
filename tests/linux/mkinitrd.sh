#!/usr/bin/env bash
# mkinitrd.sh OUT BUSYBOX LXCHECK [CPU] - build the Linux test's initramfs (newc cpio, gzip):
# busybox (static i386), tests/linux/init.sh as /init, the static lxcheck program and,
# if given, the CPU workload (bench).
set -eu
out=$1 busybox=$2 lxcheck=$3 cpu=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
cp "$lxcheck" "$root/bin/lxcheck"
[ -z "$cpu" ] || cp "$cpu" "$root/bin/cpu"
cp "$here/init.sh" "$root/init"
chmod +x "$root/init" "$root/bin/"*
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
