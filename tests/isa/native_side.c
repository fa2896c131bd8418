/*
 * native_side.c - isa-diff's end of the native runner: spawn it with two pipes, send
 * cases, read results.  The harness sends a case, runs it through vmm386 while the runner
 * works on the other core, then reads the runner's answer, so the pipes never hold more
 * than one message in each direction.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "native_side.h"

#define NR_READY 0x5244594eu
#define READY_TIMEOUT_MS 10000

static int to_fd = -1, from_fd = -1;
static pid_t child = -1;

static int io_full(int fd, void *buf, size_t n, int wr)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = wr ? write(fd, p, n) : read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int spawn(const char *path, char *err, size_t errlen)
{
	int in[2], out[2];
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)path, NULL };
	extern char **environ;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	int r = posix_spawn(&child, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (r != 0) {
		snprintf(err, errlen, "cannot run %s: %s", path, strerror(r));
		return -1;
	}
	to_fd = in[1];
	from_fd = out[0];
	return 0;
}

int native_start(const char *path, char *err, size_t errlen)
{
	uint32_t ready = 0;
	struct pollfd p;
	signal(SIGPIPE, SIG_IGN);
	if (spawn(path, err, errlen) < 0)
		return -1;
	p.fd = from_fd;
	p.events = POLLIN;
	if (poll(&p, 1, READY_TIMEOUT_MS) != 1 || io_full(from_fd, &ready, 4, 0) < 0 ||
	    ready != NR_READY) {
		snprintf(err, errlen, "%s did not start (see its message above)", path);
		native_stop();
		return -1;
	}
	return 0;
}

int native_send(const struct isa_in *in)
{
	return io_full(to_fd, (void *)in, isa_in_size(in), 1);
}

int native_recv(struct isa_out *out)
{
	if (io_full(from_fd, out, offsetof(struct isa_out, mem), 0) < 0 || out->memlen > ISA_MEMMAX)
		return -1;
	return io_full(from_fd, out->mem, out->memlen, 0);
}

void native_stop(void)
{
	if (to_fd >= 0)
		close(to_fd);
	if (from_fd >= 0)
		close(from_fd);
	to_fd = from_fd = -1;
	if (child > 0)
		waitpid(child, NULL, 0);
	child = -1;
}
