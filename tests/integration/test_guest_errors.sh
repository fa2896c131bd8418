#!/usr/bin/env bash
# test_guest_errors.sh - what vmm386 does when a guest goes wrong or does unusual things,
# with tiny multiboot kernels assembled here:
#   - a triple fault stops the guest: exit status 4 and an "info registers" dump on stderr;
#   - cli; hlt can never wake up: exit status 3;
#   - reads of physical addresses that are not RAM return all ones, writes are dropped;
#   - a store into the next instruction of the running block is seen (x86 SMC coherence);
#   - a divide error is delivered through the guest IDT with the faulting EIP.
set -u
BUILD=${BUILD:-build}
VMM=$BUILD/vmm386
[ -x "$VMM" ] || { echo "no $VMM"; exit 77; }
command -v nasm >/dev/null || { echo "nasm missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0

# mkbin NAME BODY: a flat multiboot kernel (a.out kludge, loaded at 1 MiB) whose entry
# runs BODY in 32-bit protected mode with flat segments and IF=0.
mkbin() {
	cat > "$tmp/$1.asm" <<ASM
org 0x100000
bits 32
align 4
dd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003)
dd 0x100000, 0x100000, 0, 0, start
start:
  mov esp, 0x90000
$2
ASM
	nasm -f bin -o "$tmp/$1.bin" "$tmp/$1.asm" || { echo "nasm failed for $1"; exit 1; }
}

expect() { # NAME STATUS [stderr-pattern]
	timeout 20 "$VMM" -kernel "$tmp/$1.bin" >"$tmp/$1.out" 2>"$tmp/$1.err"; st=$?
	if [ "$st" != "$2" ]; then echo "FAIL $1: status $st, want $2"; cat "$tmp/$1.err"; fail=1; return; fi
	if [ -n "${3:-}" ] && ! grep -q "$3" "$tmp/$1.err"; then
		echo "FAIL $1: stderr lacks '$3'"; cat "$tmp/$1.err"; fail=1; return; fi
	echo "ok $1"
}

# IDT limit 0: int3 -> #GP -> #DF -> triple fault
mkbin triple '  lidt [idtr]
  int3
idtr: dw 0
  dd 0'
expect triple 4 "EAX="

mkbin hangs '  cli
  hlt'
expect hangs 3 "interrupts disabled"

# 0xF0000000 is not RAM: reads give all ones, writes vanish; exit 0 (status 1) if so.
mkbin mmio '  mov dword [0xF0000000], 0x12345678
  mov eax, [0xF0000000]
  cmp eax, 0xFFFFFFFF
  jne bad
  mov al, 0
  out 0xf4, al
bad:
  mov al, 1
  out 0xf4, al'
expect mmio 1

# The store patches the immediate of the very next instruction (same block).
mkbin smc '  mov byte [patch + 1], 42
patch:
  mov al, 7
  cmp al, 42
  jne bad
  mov al, 0
  out 0xf4, al
bad:
  mov al, 1
  out 0xf4, al'
expect smc 1

# #DE through an IDT gate: the handler checks the saved EIP, then exits 0.
mkbin divide '  lidt [idtr]
  xor ecx, ecx
fault:
  div ecx
  mov al, 1
  out 0xf4, al
handler:
  cmp dword [esp], fault
  jne bad
  mov al, 0
  out 0xf4, al
bad:
  mov al, 1
  out 0xf4, al
align 8
idt: dw handler - 0x100000 + 0x0000, 0x08, 0x8E00, 0x0010
idtr: dw 7
  dd idt'
expect divide 1

exit $fail
