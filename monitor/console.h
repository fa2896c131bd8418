/* console.h - where COM1 goes (-serial), and the host terminal while the guest runs. */
#ifndef CONSOLE_H
#define CONSOLE_H
#include <stdbool.h>
#include <stddef.h>

enum con_kind { CON_STDIO, CON_NULL, CON_FILE, CON_TCP };

struct con_spec {
	enum con_kind kind;
	const char *path;      /* CON_FILE */
	const char *host;      /* CON_TCP: "" = every interface */
	int port;              /* CON_TCP */
	bool wait;             /* CON_TCP: wait for the first client before the guest starts */
};

/* What the console may ask of the monitor: end the run (Ctrl-A x).  Called on the
 * console's own thread, so it must be safe there (vm_stop is: a flag and a request). */
struct con_ops {
	void (*quit)(void *opaque);
	void *opaque;
};

/* Parse a -serial value; -1 with a message in err when it is not one vmm386 offers. */
int con_parse(const char *spec, struct con_spec *out, char *err, size_t errlen);
/* Open the backend: the fds COM1 reads (-1: no input) and writes.  A terminal on stdin
 * goes into raw mode until con_restore() (registered with atexit, and on fatal signals). */
int con_open(const struct con_spec *s, const struct con_ops *ops, int *in_fd, int *out_fd,
	     char *err, size_t errlen);
/* Put the terminal back as it was; async-signal-safe, harmless when nothing changed. */
void con_restore(void);
#endif
