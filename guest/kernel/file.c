/*
 * file.c - open files (the console and the two ends of pipes) and pipes.
 *
 * A struct file is shared by every descriptor that refers to it (dup, fork) and counted.
 * A pipe lives in one frame: a ring buffer with free-running read/write counters and the
 * number of open read and write ends.  read blocks while the pipe is empty and a writer
 * exists (0 = end of file once the last writer closed); write blocks while it is full and a
 * reader exists (-1 once the last reader closed).  Both sleep on the pipe and wake it after
 * every transfer.  The kernel is not preemptible, so no locking is needed.
 */
#include "kernel.h"

#define NFILE    256
#define PIPE_BUF (PAGE_SIZE - 16)

struct pipe {
	uint32_t rpos, wpos;     /* free-running; count = wpos - rpos */
	int readers, writers;
	uint8_t buf[PIPE_BUF];
};

static struct file files[NFILE];

void file_init(void)
{
	memset(files, 0, sizeof(files));
}

static struct file *file_alloc(enum ftype type)
{
	for (int i = 0; i < NFILE; i++) {
		if (files[i].refs == 0) {
			files[i].type = type;
			files[i].refs = 1;
			files[i].pipe = NULL;
			return &files[i];
		}
	}
	return NULL;
}

struct file *file_console(void)
{
	return file_alloc(F_CONSOLE);
}

struct file *file_dup(struct file *f)
{
	f->refs++;
	return f;
}

void file_close(struct file *f)
{
	if (--f->refs > 0)
		return;
	struct pipe *p = f->pipe;
	if (f->type == F_PIPE_R)
		p->readers--;
	else if (f->type == F_PIPE_W)
		p->writers--;
	if (p) {
		wakeup(p);
		if (p->readers == 0 && p->writers == 0)
			frame_decref(V2P(p));
	}
}

int pipe_create(struct file **r, struct file **w)
{
	uint32_t pa = frame_alloc();
	if (!pa)
		return -1;
	*r = file_alloc(F_PIPE_R);
	*w = *r ? file_alloc(F_PIPE_W) : NULL;
	if (!*w) {
		if (*r)
			(*r)->refs = 0;
		frame_decref(pa);
		return -1;
	}
	struct pipe *p = P2V(pa);
	p->readers = p->writers = 1;
	(*r)->pipe = (*w)->pipe = p;
	return 0;
}

static int pipe_read(struct pipe *p, uint32_t ubuf, uint32_t n)
{
	while (p->wpos == p->rpos) {
		if (p->writers == 0)
			return 0;
		sleep_on(p);
	}
	uint32_t got = 0;
	while (got < n && p->rpos != p->wpos) {
		uint32_t at = p->rpos % PIPE_BUF;
		uint32_t k = p->wpos - p->rpos;
		if (k > PIPE_BUF - at)
			k = PIPE_BUF - at;
		if (k > n - got)
			k = n - got;
		memcpy((uint8_t *)(ubuf + got), p->buf + at, k);
		p->rpos += k;
		got += k;
	}
	wakeup(p);
	return (int)got;
}

static int pipe_write(struct pipe *p, uint32_t ubuf, uint32_t n)
{
	uint32_t put = 0;
	while (put < n) {
		if (p->readers == 0)
			return put ? (int)put : -1;
		if (p->wpos - p->rpos == PIPE_BUF) {
			wakeup(p);
			sleep_on(p);
			continue;
		}
		uint32_t at = p->wpos % PIPE_BUF;
		uint32_t k = PIPE_BUF - (p->wpos - p->rpos);
		if (k > PIPE_BUF - at)
			k = PIPE_BUF - at;
		if (k > n - put)
			k = n - put;
		memcpy(p->buf + at, (const uint8_t *)(ubuf + put), k);
		p->wpos += k;
		put += k;
	}
	wakeup(p);
	return (int)put;
}

int file_read(struct file *f, uint32_t ubuf, uint32_t n)
{
	if (user_range_ok(ubuf, n, 1) < 0)
		return -1;
	if (!n)
		return 0;
	switch (f->type) {
	case F_CONSOLE: {
		char buf[256];
		int k = console_read(buf, n < sizeof(buf) ? n : sizeof(buf));
		if (k > 0)
			memcpy((void *)ubuf, buf, (size_t)k);
		return k;
	}
	case F_PIPE_R:
		return pipe_read(f->pipe, ubuf, n);
	default:
		return -1;
	}
}

int file_write(struct file *f, uint32_t ubuf, uint32_t n)
{
	if (user_range_ok(ubuf, n, 0) < 0)
		return -1;
	switch (f->type) {
	case F_CONSOLE:
		console_write_n((const char *)ubuf, n);
		return (int)n;
	case F_PIPE_W:
		return pipe_write(f->pipe, ubuf, n);
	default:
		return -1;
	}
}
