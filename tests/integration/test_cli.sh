#!/usr/bin/env bash
# tests/integration/test_cli.sh - bad command lines and bad kernel images get one clear
# error line and exit status 2; -h prints the usage on stdout and exits 0.
#
# Run from the repository root; BUILD (default build) is the build directory holding
# $BUILD/vmm386.  Exit 0 when every case passes, 1 otherwise, 77 (skip) when vmm386 has not
# been built or no test kernel can be had.  Each failing case is named on stdout.
set -u
BUILD=${BUILD:-build}
VMM=$BUILD/vmm386
if [ ! -x "$VMM" ]; then
	echo "SKIP: $VMM not built"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

# --- test kernels ----------------------------------------------------------------------
# good.elf: a multiboot kernel that writes 0x10 to the isa-debug-exit port (so a command line
# wrongly accepted ends quickly, with status 33), then halts with interrupts off.
# nohdr.elf: the same code without the multiboot header.
make_kernel() { # name with_header
	{
		echo '	.text'
		echo '	.globl _start'
		echo '	.align 4'
		if [ "$2" = 1 ]; then
			echo '	.long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)'
		fi
		echo '_start:	movw $0xf4, %dx'
		echo '	movb $0x10, %al'
		echo '	outb %al, %dx'
		echo '1:	cli'
		echo '	hlt'
		echo '	jmp 1b'
	} >"$tmp/$1.S"
	gcc -m32 -nostdlib -static -no-pie -Wl,-Ttext=0x100000 -Wl,--build-id=none \
		-o "$tmp/$1.elf" "$tmp/$1.S" 2>"$tmp/$1.log"
}
if ! make_kernel good 1 || ! make_kernel nohdr 0; then
	echo "SKIP: cannot build a test kernel with gcc -m32 (is gcc-multilib installed?)"
	cat "$tmp"/*.log
	exit 77
fi
GOOD=$tmp/good.elf

# Truncated ELF: keep the multiboot header (first 8 KiB, 4-byte aligned) and 4 bytes past it,
# so the loader finds the header and then runs out of segment data.
src=$GOOD
[ -f "$BUILD/guest/bare.elf" ] && src=$BUILD/guest/bare.elf
hdr=$(od -A d -t x4 -v -N 8192 "$src" | awk '
	{ for (i = 2; i <= NF; i++) if ($i == "1badb002") { print $1 + 4 * (i - 2); exit } }')
if [ -z "$hdr" ]; then
	echo "FAIL setup: no multiboot header found in $src"
	exit 1
fi
head -c $((hdr + 16)) "$src" >"$tmp/trunc.elf"
: >"$tmp/empty.elf"
printf 'this is a text file, not a kernel\n' >"$tmp/text.bin"

# --- checks ----------------------------------------------------------------------------
run() { # args...: run vmm386 with a time limit, stdout/stderr to $tmp/out, $tmp/err
	timeout 20 "$VMM" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
}

# Exit status 2 and exactly one non-empty line "vmm386: ..." on stderr.
expect_error() { # name args...
	local name=$1
	shift
	run "$@"
	local st=$? lines
	mapfile -t lines <"$tmp/err"
	if [ $st -ne 2 ]; then
		echo "FAIL $name: exit status $st, want 2 (vmm386 $*)"
	elif [ ${#lines[@]} -ne 1 ]; then
		echo "FAIL $name: ${#lines[@]} lines on stderr, want 1 (vmm386 $*)"
	elif [[ ! ${lines[0]} =~ ^vmm386:\ .*[^[:space:]] ]]; then
		echo "FAIL $name: stderr line does not start with 'vmm386: ' (vmm386 $*)"
	else
		echo "PASS $name: ${lines[0]}"
		return 0
	fi
	sed 's/^/    stderr: /' "$tmp/err" | head -n 10
	failed=1
}

# Sanity: the good kernel itself is accepted, or every option case below would pass for the
# wrong reason.
run -kernel "$GOOD"
st=$?
if [ $st -eq 2 ]; then
	echo "FAIL good kernel: rejected with status 2"
	sed 's/^/    stderr: /' "$tmp/err" | head -n 10
	failed=1
else
	echo "PASS good kernel: not rejected (status $st)"
fi

expect_error "unknown option"      -kernel "$GOOD" -nosuchoption
expect_error "missing -kernel"     -m 64
expect_error "missing kernel file" -kernel "$tmp/does-not-exist.elf"
expect_error "empty kernel"        -kernel "$tmp/empty.elf"
expect_error "truncated ELF"       -kernel "$tmp/trunc.elf"
expect_error "non-ELF kernel"      -kernel "$tmp/text.bin"
expect_error "no multiboot header" -kernel "$tmp/nohdr.elf"
expect_error "-m 0"                -kernel "$GOOD" -m 0
expect_error "-m 99999"            -kernel "$GOOD" -m 99999
expect_error "-m abc"              -kernel "$GOOD" -m abc
expect_error "-d bad category"     -kernel "$GOOD" -d nosuchcategory
expect_error "-append no argument" -kernel "$GOOD" -append
expect_error "missing -initrd"     -kernel "$GOOD" -initrd "$tmp/no-such-module"
expect_error "unknown -device"     -kernel "$GOOD" -device nosuchdevice
expect_error "-device bad iobase"  -kernel "$GOOD" -device isa-debug-exit,iobase=0x501
expect_error "-device property"    -kernel "$GOOD" -device pc-testdev,iobase=0xe0
expect_error "-device no argument" -kernel "$GOOD" -device

# The kvm-unit-tests' device options are accepted: the kernel runs to its debug-exit write.
run -kernel "$GOOD" -device pc-testdev -device isa-debug-exit,iobase=0xf4,iosize=0x4 \
	-device pci-testdev
st=$?
if [ $st -ne 33 ]; then
	echo "FAIL test devices: exit status $st, want 33"
	sed 's/^/    stderr: /' "$tmp/err" | head -n 10
	failed=1
else
	echo "PASS test devices accepted"
fi

run -h
st=$?
if [ $st -ne 0 ]; then
	echo "FAIL -h: exit status $st, want 0"
	failed=1
elif ! grep -q -- '-kernel' "$tmp/out"; then
	echo "FAIL -h: no usage (mentioning -kernel) on stdout"
	failed=1
else
	echo "PASS -h"
fi

if [ $failed -ne 0 ]; then
	echo "test_cli: some cases failed"
	exit 1
fi
echo "test_cli: all cases passed"
exit 0
