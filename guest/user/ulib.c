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

void halt(int code)
{
	sc(SYS_HALT, (uint32_t)code, 0, 0);
	for (;;)
		;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
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

struct outbuf {
	char *p;
	size_t left, total;
};

static void put(struct outbuf *o, char c)
{
	if (o->left > 1) {
		*o->p++ = c;
		o->left--;
	}
	o->total++;
}

static void put_num(struct outbuf *o, uint64_t v, unsigned base, int width, char pad, int neg)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int i = n; i < width; i++)
		put(o, pad);
	while (n)
		put(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct outbuf o = { buf, size, 0 };
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		char pad = ' ';
		int width = 0, lng = 0;
		if (*++fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			lng++, fmt++;
		switch (*fmt) {
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			for (int i = (int)strlen(s); i < width; i++)
				put(&o, ' ');
			while (*s)
				put(&o, *s++);
			break;
		}
		case 'd': {
			int64_t v = lng >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
			put_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
			put_num(&o, v, *fmt == 'u' ? 10 : 16, width, pad, 0);
			break;
		}
		case 'p':
			put(&o, '0'), put(&o, 'x');
			put_num(&o, (uint32_t)va_arg(ap, void *), 16, 8, '0', 0);
			break;
		default:
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
		}
	}
	if (size)
		*o.p = 0;
	return (int)o.total;
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
