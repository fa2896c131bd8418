/*
 * ulib.c - the tiny user C library (ulib.h) and the program entry point.
 *
 * exec leaves ESP pointing at (return address 0, argc, argv), so _start is an ordinary C
 * function taking argc and argv.
 */
#include "ulib.h"

__attribute__((section(".text.start"), used, noreturn)) void _start(int argc, char **argv);
void _start(int argc, char **argv)
{
	exit(main(argc, argv));
}

static inline int sc(int n, uint32_t a, uint32_t b, uint32_t c)
{
	int r;
	asm volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

void exit(int status)
{
	sc(SYS_EXIT, (uint32_t)status, 0, 0);
	for (;;)
		;
}

int fork(void) { return sc(SYS_FORK, 0, 0, 0); }
int exec(const char *name, char *const argv[]) { return sc(SYS_EXEC, (uint32_t)name, (uint32_t)argv, 0); }
int wait(int pid, int *status, int options) { return sc(SYS_WAIT, (uint32_t)pid, (uint32_t)status, (uint32_t)options); }
int getpid(void) { return sc(SYS_GETPID, 0, 0, 0); }
int getppid(void) { return sc(SYS_GETPPID, 0, 0, 0); }
int yield(void) { return sc(SYS_YIELD, 0, 0, 0); }
int sleep(uint32_t ticks) { return sc(SYS_SLEEP, ticks, 0, 0); }
void *sbrk(int32_t incr) { return (void *)sc(SYS_SBRK, (uint32_t)incr, 0, 0); }
int read(int fd, void *buf, uint32_t n) { return sc(SYS_READ, (uint32_t)fd, (uint32_t)buf, n); }
int write(int fd, const void *buf, uint32_t n) { return sc(SYS_WRITE, (uint32_t)fd, (uint32_t)buf, n); }
int pipe(int fds[2]) { return sc(SYS_PIPE, (uint32_t)fds, 0, 0); }
int close(int fd) { return sc(SYS_CLOSE, (uint32_t)fd, 0, 0); }
int dup(int fd) { return sc(SYS_DUP, (uint32_t)fd, 0, 0); }
int dup2(int fd, int newfd) { return sc(SYS_DUP2, (uint32_t)fd, (uint32_t)newfd, 0); }
uint32_t uptime(void) { return (uint32_t)sc(SYS_UPTIME, 0, 0, 0); }
int progname(int i, char *buf, uint32_t n) { return sc(SYS_PROGNAME, (uint32_t)i, (uint32_t)buf, n); }
int ptebench(void *va, uint32_t n) { return sc(SYS_PTEBENCH, (uint32_t)va, n, 0); }
uint32_t tsc_khz(void) { return (uint32_t)sc(SYS_TSCKHZ, 0, 0, 0); }
uint32_t meminfo(void) { return (uint32_t)sc(SYS_MEMINFO, 0, 0, 0); }
int iobench(uint32_t n) { return sc(SYS_IOBENCH, n, 0, 0); }
int apicbench(uint32_t kind, uint32_t n) { return sc(SYS_APICBENCH, kind, n, 0); }
int divskip(uint32_t len) { return sc(SYS_DIVSKIP, len, 0, 0); }

void halt(int code)
{
	sc(SYS_HALT, (uint32_t)code, 0, 0);
	for (;;)
		;
}

char *strchr(const char *s, int c)
{
	for (; *s; s++)
		if (*s == (char)c)
			return (char *)s;
	return c ? NULL : (char *)s;
}

int atoi(const char *s)
{
	int v = 0, neg = 0;
	if (*s == '-')
		neg = 1, s++;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return neg ? -v : v;
}

/* The formatting is the kernel's (guest/common/klibc.c). */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return kvsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static int vfprintf(int fd, const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	return write(fd, buf, (uint32_t)n);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vfprintf(1, fmt, ap);
	va_end(ap);
	return n;
}

int fprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vfprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	write(1, s, strlen(s));
	return write(1, "\n", 1);
}

void *malloc(size_t n)
{
	void *p = sbrk((int32_t)((n + 15) & ~15u));
	return p == (void *)-1 ? NULL : p;
}
