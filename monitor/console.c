/*
 * console.c - COM1's host side (-serial) and the terminal, as under `qemu -nographic`.
 *
 *   -serial stdio        (default) stdin/stdout; a terminal on stdin goes into raw mode
 *   -serial null         output dropped, no input ("none" is taken as the same)
 *   -serial file:PATH    output to PATH (created or truncated), no input
 *   -serial tcp:[HOST]:PORT,server[,nowait]
 *                        listen; one client at a time is COM1 (input and output), output
 *                        with no client is dropped; without nowait the guest starts only
 *                        once the first client is there
 *
 * The UART and the PV console read and write plain fds (devices/uart.c, pv/pv.c), so the
 * console hands them fds.  Where bytes must be looked at or moved (a terminal, for the
 * Ctrl-A keys; a socket that comes and goes) a relay thread sits between: it owns the
 * outside end, the guest side is a pipe.  The relay thread blocks every signal, so the host
 * timer and the fault handlers only ever run on the vCPU thread; it never touches the
 * machine except through con_ops.quit.  Its pipe writes do not block: input the guest does
 * not read within 64 KiB is dropped rather than stalling the Ctrl-A keys.
 *
 * Terminal rule: raw mode (no echo, no line editing, no signals from keys, so Ctrl-C is a
 * byte for the guest) is set only when stdin is a terminal and -serial is stdio, and the
 * saved mode is put back on every way out: exit() and return from main (atexit), the
 * reboot path before exec (main.c), SIGTERM/SIGHUP/SIGINT/SIGQUIT/SIGPIPE (handlers here,
 * which then die of the same signal), and a monitor crash or panic (signals.c calls
 * con_restore before aborting).
 *
 * Keys (terminal only):  Ctrl-A x quit (status 0), Ctrl-A h this list, Ctrl-A Ctrl-A one
 * Ctrl-A to the guest; any other key after Ctrl-A is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include "console.h"

#define CON_ESC 0x01            /* Ctrl-A */

static struct termios saved_tty;
static volatile sig_atomic_t tty_raw;   /* saved_tty holds the mode to put back */

struct relay {
	struct con_ops ops;
	int guest_in;      /* write end of the pipe COM1 reads, -1 once closed */
	int guest_out;     /* read end of the pipe COM1 writes (tcp), else -1 */
	int listen_fd, client;
	bool esc;          /* terminal: the last key was Ctrl-A */
};
static struct relay relay = { .guest_in = -1, .guest_out = -1, .listen_fd = -1, .client = -1 };

/* ---- -serial ------------------------------------------------------------------------ */

static int parse_tcp(const char *v, struct con_spec *o, char *err, size_t errlen)
{
	static char host[256];
	const char *colon = strchr(v, ':');
	bool server = false;
	o->wait = true;
	if (!colon || (size_t)(colon - v) >= sizeof(host))
		goto bad;
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = 0;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || port < 1 || port > 65535)
		goto bad;
	for (char *t = end; *t == ','; t = end) {
		end = strchrnul(t + 1, ',');
		size_t n = (size_t)(end - t - 1);
		if ((n == 6 && !strncmp(t + 1, "server", 6)) || (n == 9 && !strncmp(t + 1, "server=on", 9)))
			server = true;
		else if ((n == 6 && !strncmp(t + 1, "nowait", 6)) || (n == 8 && !strncmp(t + 1, "wait=off", 8)))
			o->wait = false;
		else
			goto bad;
	}
	if (*end || !server)
		goto bad;
	o->kind = CON_TCP;
	o->host = host;
	o->port = (int)port;
	return 0;
bad:
	snprintf(err, errlen, "-serial: bad tcp backend 'tcp:%s' (vmm386 offers "
		 "tcp:[HOST]:PORT,server[,nowait])", v);
	return -1;
}

int con_parse(const char *spec, struct con_spec *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	if (!strcmp(spec, "stdio") || !strcmp(spec, "mon:stdio"))
		o->kind = CON_STDIO;
	else if (!strcmp(spec, "null") || !strcmp(spec, "none"))
		o->kind = CON_NULL;
	else if (!strncmp(spec, "file:", 5) && spec[5]) {
		o->kind = CON_FILE;
		o->path = spec + 5;
	} else if (!strncmp(spec, "tcp:", 4))
		return parse_tcp(spec + 4, o, err, errlen);
	else {
		snprintf(err, errlen, "-serial: unsupported backend '%s' (stdio, null, file:PATH, "
			 "tcp:[HOST]:PORT,server[,nowait])", spec);
		return -1;
	}
	return 0;
}

/* ---- the terminal ------------------------------------------------------------------- */

void con_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
		tty_raw = 0;
	}
}

static void restore_at_exit(void)
{
	con_restore();
}

static void on_fatal(int sig)
{
	con_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* QEMU's raw stdio: no echo, no canonical mode, no keyboard signals, no CR/LF or flow
 * control on input; output processing stays (the guest's "\n" still starts a line). */
static int tty_make_raw(void)
{
	struct termios t;
	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return -1;
	t = saved_tty;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	static const int fatal[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE };
	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], on_fatal);
	atexit(restore_at_exit);
	tty_raw = 1;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0) {
		tty_raw = 0;
		return -1;
	}
	return 0;
}

/* ---- the relay thread --------------------------------------------------------------- */

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0) { /* the terminal is gone: nothing to do */ }
}

static void to_guest(const uint8_t *p, size_t n)
{
	if (relay.guest_in >= 0 && n && write(relay.guest_in, p, n) < 0) { /* full: dropped */ }
}

static void quit(void)
{
	say("\r\nvmm386: terminated (Ctrl-A x)\r\n");
	relay.ops.quit(relay.ops.opaque);
	close(relay.guest_in);           /* wakes a halted guest's poll at once */
	relay.guest_in = -1;
}

/* Keys typed on the terminal: pass them on, except Ctrl-A and what follows it. */
static void tty_keys(const uint8_t *in, size_t n)
{
	uint8_t out[256];
	size_t k = 0;
	for (size_t i = 0; i < n && relay.guest_in >= 0; i++) {
		uint8_t b = in[i];
		if (!relay.esc && b == CON_ESC) { relay.esc = true; continue; }
		if (!relay.esc) { out[k++] = b; continue; }
		relay.esc = false;
		if (b == CON_ESC) out[k++] = b;
		else if (b == 'h' || b == 'H' || b == '?')
			say("\r\nC-a h    print this help\r\nC-a x    exit vmm386\r\n"
			    "C-a C-a  send C-a to the guest\r\n");
		else if (b == 'x' || b == 'X') { to_guest(out, k); k = 0; quit(); }
	}
	to_guest(out, k);
}

/* The socket's side: accept a client, pass bytes both ways, drop output without one. */
static void tcp_accept(void)
{
	int fd = accept4(relay.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0 && relay.client < 0)
		relay.client = fd;
	else if (fd >= 0)
		close(fd);
}

static void tcp_output(void)
{
	uint8_t buf[4096];
	ssize_t n = read(relay.guest_out, buf, sizeof(buf));
	for (ssize_t w = 0, r; relay.client >= 0 && w < n; w += r)
		if ((r = send(relay.client, buf + w, (size_t)(n - w), MSG_NOSIGNAL)) <= 0) {
			close(relay.client);
			relay.client = -1;
			break;
		}
}

static void *relay_main(void *unused)
{
	(void)unused;
	uint8_t buf[256];
	for (;;) {
		int in = relay.listen_fd < 0 ? STDIN_FILENO : relay.client;
		struct pollfd p[3] = {
			{ .fd = relay.guest_in >= 0 ? in : -1, .events = POLLIN },
			{ .fd = relay.guest_out, .events = POLLIN },
			{ .fd = relay.client < 0 ? relay.listen_fd : -1, .events = POLLIN },
		};
		if (p[0].fd < 0 && p[1].fd < 0 && p[2].fd < 0)
			return NULL;
		if (poll(p, 3, -1) < 0)
			continue;
		if (p[2].revents)
			tcp_accept();
		if (p[1].revents)
			tcp_output();
		if (!p[0].revents)
			continue;
		ssize_t n = read(in, buf, sizeof(buf));
		if (n > 0 && relay.listen_fd < 0)
			tty_keys(buf, (size_t)n);
		else if (n > 0)
			to_guest(buf, (size_t)n);
		else if (n < 0 && errno == EINTR)
			continue;
		else if (relay.listen_fd >= 0) {
			close(relay.client);     /* the client left: wait for the next one */
			relay.client = -1;
		} else {
			close(relay.guest_in);   /* the terminal is gone: end of input */
			relay.guest_in = -1;
		}
	}
}

static int start_relay(void)
{
	pthread_t t;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);   /* the thread starts with all blocked */
	int r = pthread_create(&t, NULL, relay_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		errno = r;
		return -1;
	}
	pthread_detach(t);
	return 0;
}

/* A pipe whose end `mine` is the relay's (close-on-exec both; the relay's end does not
 * block). Returns the other end, -1 on failure. */
static int relay_pipe(int *mine, bool relay_writes)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	*mine = p[relay_writes ? 1 : 0];
	fcntl(*mine, F_SETFL, O_NONBLOCK);
	return p[relay_writes ? 0 : 1];
}

/* ---- backends ----------------------------------------------------------------------- */

static int tcp_listen(const struct con_spec *s, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai;
	char port[8];
	snprintf(port, sizeof(port), "%d", s->port);
	int e = getaddrinfo(*s->host ? s->host : NULL, port, &hints, &ai);
	if (e) {
		snprintf(err, errlen, "-serial tcp: %s: %s", s->host, gai_strerror(e));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
		snprintf(err, errlen, "-serial tcp: cannot listen on port %d: %s", s->port, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	relay.listen_fd = fd;
	if (s->wait) {
		fprintf(stderr, "vmm386: waiting for a connection on tcp:%s:%d\n", s->host, s->port);
		relay.client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	}
	return 0;
}

static int open_stdio(int *in_fd, int *out_fd)
{
	*in_fd = STDIN_FILENO;
	*out_fd = STDOUT_FILENO;
	if (!isatty(STDIN_FILENO) || tty_make_raw() < 0)
		return 0;                /* a pipe or file: bytes go through untouched */
	*in_fd = relay_pipe(&relay.guest_in, true);
	return *in_fd < 0 ? -1 : start_relay();
}

int con_open(const struct con_spec *s, const struct con_ops *ops, int *in_fd, int *out_fd,
	     char *err, size_t errlen)
{
	relay.ops = *ops;
	*in_fd = -1;
	switch (s->kind) {
	case CON_STDIO:
		if (open_stdio(in_fd, out_fd) == 0)
			return 0;
		break;
	case CON_NULL:
		if ((*out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0)
			return 0;
		break;
	case CON_FILE:
		if ((*out_fd = open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0)
			return 0;
		snprintf(err, errlen, "-serial file: cannot open '%s': %s", s->path, strerror(errno));
		return -1;
	case CON_TCP:
		if (tcp_listen(s, err, errlen) < 0)
			return -1;
		if ((*in_fd = relay_pipe(&relay.guest_in, true)) >= 0 &&
		    (*out_fd = relay_pipe(&relay.guest_out, false)) >= 0 && start_relay() == 0)
			return 0;
		break;
	}
	snprintf(err, errlen, "cannot set up the console: %s", strerror(errno));
	return -1;
}
