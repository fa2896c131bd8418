/*
 * klibc.h - the freestanding C routines every guest image shares (guest/common/klibc.c):
 * memory and string functions, decimal/hex parsing and a small snprintf.
 */
#ifndef GUEST_KLIBC_H
#define GUEST_KLIBC_H
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
/* Decimal or 0x-prefixed hexadecimal; *ok is 0 on a malformed number. */
uint32_t parse_u32(const char *s, int *ok);
/* %c %s %d %u %x %X %p, width and zero padding, l and ll; returns the full length. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
