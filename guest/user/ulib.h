/*
 * ulib.h - the tiny user C library: system-call wrappers (INT 0x80, abi.h), strings,
 * printf to a file descriptor, and a bump allocator on sbrk.
 */
#ifndef GUEST_ULIB_H
#define GUEST_ULIB_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include "abi.h"
#include "klibc.h"   /* memcpy, memset, strlen, strcmp, kvsnprintf... (guest/common) */

int main(int argc, char **argv);

/* system calls */
void exit(int status) __attribute__((noreturn));
int fork(void);
int exec(const char *name, char *const argv[]);
int wait(int pid, int *status, int options);
int getpid(void);
int getppid(void);
int yield(void);
int sleep(uint32_t ticks);
void *sbrk(int32_t incr);
int read(int fd, void *buf, uint32_t n);
int write(int fd, const void *buf, uint32_t n);
int pipe(int fds[2]);
int close(int fd);
int dup(int fd);
int dup2(int fd, int newfd);
uint32_t uptime(void);
int progname(int i, char *buf, uint32_t n);
int ptebench(void *va, uint32_t n);
uint32_t tsc_khz(void);
void halt(int code) __attribute__((noreturn));
uint32_t meminfo(void);
int iobench(uint32_t n);
int apicbench(uint32_t kind, uint32_t n);
int divskip(uint32_t len);

/* library */
char *strchr(const char *s, int c);
int atoi(const char *s);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int puts(const char *s);
void *malloc(size_t n);  /* never freed */

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#endif
