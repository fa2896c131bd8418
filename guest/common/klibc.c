/*
 * klibc.c - the freestanding C routines shared by every guest image (the bare self test,
 * the kernel in both builds and the user programs): memory and string functions the
 * compiler may also call, parse_u32, and kvsnprintf.  See klibc.h.
 */
#include "klibc.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	uint32_t *d4 = dst;
	const uint32_t *s4 = src;
	if ((((uint32_t)dst | (uint32_t)src | n) & 3) == 0) {
		for (n /= 4; n; n--)
			*d4++ = *s4++;
		return dst;
	}
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
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

/* Decimal or 0x-prefixed hexadecimal; *ok is 0 on a malformed number. */
uint32_t parse_u32(const char *s, int *ok)
{
	uint32_t v = 0, base = 10;
	*ok = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	for (; *s; s++) {
		uint32_t d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return *ok = 0;
		v = v * base + d;
		*ok = 1;
	}
	return v;
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

static void put_num(struct outbuf *o, uint64_t v, unsigned base, int upper, int width, char pad, int neg)
{
	char tmp[24];
	int n = 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int i = n; i < width; i++)
		put(o, pad);
	while (n)
		put(o, tmp[--n]);
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
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
		uint64_t v;
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
			int64_t sv = lng >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
			put_num(&o, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, 0, width, pad, sv < 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			v = lng >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
			put_num(&o, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, pad, 0);
			break;
		case 'p':
			put(&o, '0'), put(&o, 'x');
			put_num(&o, (uint32_t)va_arg(ap, void *), 16, 0, 8, '0', 0);
			break;
		case '%':
			put(&o, '%');
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

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
