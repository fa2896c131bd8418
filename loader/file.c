/*
 * file.c - the loader's input files and its one error line.
 *
 * Both halves of the loader read their input through here: multiboot.c (the header, the
 * image, the modules) and elf32.c (program headers and notes).  Neither calls the other for
 * file access, so the loader's call graph runs one way: multiboot.c -> elf32.c -> file.c.
 *
 * ld_fail formats the single line the user sees and always returns -1, so a check can end
 * with `return ld_fail(...)`.  With no err buffer in the context it is silent (elf32.c's
 * best-effort note scan).  ld_pread reads exactly len bytes or fails with that line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loader/ld_local.h"

int ld_fail(struct ld_ctx *c, const struct ld_file *f, const char *fmt, ...)
{
	if (!c->err || c->errlen == 0)
		return -1;
	int n = 0;
	if (f)
		n = snprintf(c->err, c->errlen, "%s %s: ", f->what, f->path);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
		va_end(ap);
	}
	for (char *s = c->err; *s; s++)    /* one line, whatever the path holds */
		if (*s == '\n' || *s == '\r')
			*s = ' ';
	return -1;
}

int ld_pread(struct ld_ctx *c, const struct ld_file *f, void *dst, uint64_t off,
	     uint64_t len)
{
	uint8_t *p = dst;
	while (len > 0) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t r = pread(f->fd, p, chunk, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ld_fail(c, f, "read error: %s", strerror(errno));
		if (r == 0)
			return ld_fail(c, f, "unexpected end of file at offset 0x%llx",
				       (unsigned long long)off);
		p += r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

int ld_open(struct ld_ctx *c, struct ld_file *f)
{
	struct stat st;
	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return ld_fail(c, f, "cannot open: %s", strerror(errno));
	if (fstat(f->fd, &st) < 0)
		return ld_fail(c, f, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ld_fail(c, f, "not a regular file");
	f->size = (uint64_t)st.st_size;
	return 0;
}

void ld_close(struct ld_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
