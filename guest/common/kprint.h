/*
 * kprint.h - console printing, panic and the way out of the machine, for every kernel
 * image (guest/common/kprint.c).
 *
 * The image's kernel.h declares console_write() and defines PANIC_PREFIX (what a panic
 * message starts with) and PANIC_EXIT (the isa-debug-exit value a panic leaves with).
 */
#ifndef GUEST_KPRINT_H
#define GUEST_KPRINT_H
#include <stdint.h>
#include <stdarg.h>

/* Format to the console (at most 255 bytes), after an optional prefix (NULL for none). */
void kvprintf(const char *prefix, const char *fmt, va_list ap);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Leave the machine through the isa-debug-exit port 0xF4: qemu's and vmm386's process
 * status is (code << 1) | 1.  Without the device, stop with interrupts off. */
void machine_exit(uint32_t code) __attribute__((noreturn));
/* Interrupts off, PANIC_PREFIX and the message on the console, machine_exit(PANIC_EXIT). */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
