/*
 * rsp.c - gdb's remote serial protocol over one TCP connection.
 *
 * A packet is "$payload#cc" with cc the payload's byte sum mod 256 in hex; the receiver
 * answers '+' (good) or '-' (send again) until gdb turns acknowledgements off with
 * QStartNoAckMode.  A lone 0x03 byte outside a packet is gdb's Ctrl-C.
 *
 * Both sockets are non-blocking and owned by this process with O_ASYNC, so input (a new
 * connection, a Ctrl-C, gdb closing) raises SIGIO; its handler requests an exit from
 * translated code and sets gdb_pending, and the run loop calls the stub at the next block
 * boundary.  Blocking waits (the stub is stopped) poll() and retry on EINTR, since the
 * host timer keeps firing.  One connection at a time; the listening socket stays open so
 * gdb can attach again after it detached.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "gdb_int.h"

static int listen_fd = -1, conn_fd = -1;
static bool noack;
static uint8_t in[GDB_PKT_MAX * 2];
static size_t in_pos, in_len;
volatile sig_atomic_t rsp_io_seen;

/* Non-blocking, and SIGIO to this process when readable. */
static int set_async(int fd)
{
	if (fcntl(fd, F_SETOWN, getpid()) < 0)
		return -1;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK | O_ASYNC);
}

/* "tcp::1234", "tcp:HOST:1234", "1234".  An empty host is the loopback address. */
static int parse_spec(const char *spec, struct sockaddr_in *sa, char *err, size_t errlen)
{
	char host[64] = "127.0.0.1";
	const char *port = spec;
	if (!strncmp(spec, "tcp:", 4)) {
		const char *colon = strrchr(spec + 4, ':');
		if (!colon || (size_t)(colon - spec - 4) >= sizeof(host))
			goto bad;
		if (colon > spec + 4)
			snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 4), spec + 4);
		port = colon + 1;
	}
	char *end;
	long p = strtol(port, &end, 10);
	if (end == port || (*end && *end != ',') || p <= 0 || p > 65535)
		goto bad;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)p);
	if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
		return 0;
bad:
	snprintf(err, errlen, "-gdb: cannot use '%s' (want tcp::PORT or tcp:ADDRESS:PORT)", spec);
	return -1;
}

int rsp_listen(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	int one = 1;
	if (parse_spec(spec, &sa, err, errlen) < 0)
		return -1;
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 1) < 0 ||
	    set_async(listen_fd) < 0) {
		snprintf(err, errlen, "-gdb %s: %s", spec, strerror(errno));
		return -1;
	}
	return 0;
}

bool rsp_accept(bool block)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			set_async(fd);
			conn_fd = fd;
			noack = false;
			in_pos = in_len = 0;
			return true;
		}
		if (!block || (errno != EAGAIN && errno != EINTR))
			return false;
		struct pollfd p = { .fd = listen_fd, .events = POLLIN };
		poll(&p, 1, -1);
	}
}

bool rsp_connected(void) { return conn_fd >= 0; }

void rsp_close(void)
{
	if (conn_fd >= 0)
		close(conn_fd);
	conn_fd = -1;
}

/* Refill the input buffer.  Returns 1 (bytes), 0 (none yet, !block), -1 (gone). */
static int fill(bool block)
{
	if (in_pos < in_len)
		return 1;
	for (;;) {
		ssize_t n = read(conn_fd, in, sizeof(in));
		if (n > 0) {
			in_pos = 0;
			in_len = (size_t)n;
			return 1;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (!block)
			return 0;
		struct pollfd p = { .fd = conn_fd, .events = POLLIN };
		poll(&p, 1, -1);
	}
}

static int get_byte(void)
{
	if (fill(true) < 0)
		return -1;
	return in[in_pos++];
}

static void send_all(const char *s, size_t n)
{
	while (n > 0 && conn_fd >= 0) {
		ssize_t w = write(conn_fd, s, n);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = conn_fd, .events = POLLOUT };
			poll(&p, 1, 1000);
		} else
			return;
	}
}

int rsp_get(char *buf, size_t cap)
{
	for (;;) {
		int ch;
		while ((ch = get_byte()) != '$')
			if (ch < 0)
				return -1;        /* '+', '-', 0x03 and noise are skipped */
		size_t n = 0;
		uint8_t sum = 0;
		while ((ch = get_byte()) != '#') {
			if (ch < 0)
				return -1;
			sum += (uint8_t)ch;
			if (n + 1 < cap)
				buf[n++] = (char)ch;
		}
		int h = get_byte(), l = get_byte();
		if (h < 0 || l < 0)
			return -1;
		buf[n] = 0;
		if (noack)
			return (int)n;
		bool good = hex_val((char)h) >= 0 && hex_val((char)l) >= 0 &&
			    (uint8_t)(hex_val((char)h) * 16 + hex_val((char)l)) == sum && n + 1 < cap;
		send_all(good ? "+" : "-", 1);
		if (good)
			return (int)n;
	}
}

int rsp_poll_break(void)
{
	for (;;) {
		int r = fill(false);
		if (r <= 0)
			return r;
		if (in[in_pos++] == 0x03)
			return 1;
	}
}

void rsp_put(const char *payload)
{
	static char out[GDB_PKT_MAX + 8];
	size_t n = strlen(payload);
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (uint8_t)payload[i];
	int len = snprintf(out, sizeof(out), "$%s#%02x", payload, sum);
	for (int tries = 0; tries < 10 && conn_fd >= 0; tries++) {
		send_all(out, (size_t)len);
		if (noack)
			return;
		int ack = get_byte();
		while (ack >= 0 && ack != '+' && ack != '-' && ack != '$')
			ack = get_byte();
		if (ack == '$')
			in_pos--;        /* the next packet came first: taken as the ack */
		if (ack != '-')
			return;
	}
}

void rsp_set_noack(void) { noack = true; }
