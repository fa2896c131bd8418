/*
 * sh - the interactive shell: reads lines, runs built-in programs by name with arguments,
 * with "|" pipelines (cmd1 | cmd2 | ...).  Built-in commands: help/ls (list the programs),
 * exit [code] (leave this shell; as pid 1 that powers the machine off), halt (power off now).
 * End of input (^D on the console) ends the shell with status 0.
 */
#include "ulib.h"

#define MAXW 32

static char inbuf[512];
static int inlen;

/* One line from fd 0 into line (without the newline); -1 at end of input. */
static int get_line(char *line, int max)
{
	for (;;) {
		for (int i = 0; i < inlen; i++) {
			if (inbuf[i] == '\n') {
				int n = i < max - 1 ? i : max - 1;
				memcpy(line, inbuf, (size_t)n);
				line[n] = 0;
				memcpy(inbuf, inbuf + i + 1, (size_t)(inlen - i - 1));
				inlen -= i + 1;
				return n;
			}
		}
		if (inlen == (int)sizeof(inbuf))
			inlen = 0;                  /* overlong line: drop it */
		int k = read(0, inbuf + inlen, sizeof(inbuf) - (uint32_t)inlen);
		if (k <= 0) {
			if (inlen) {                /* last line without newline */
				inbuf[inlen++] = '\n';
				continue;
			}
			return -1;
		}
		inlen += k;
	}
}

static void list_programs(void)
{
	char name[32];
	for (int i = 0; progname(i, name, sizeof(name)) >= 0; i++)
		printf("%s%s", i ? " " : "", name);
	printf("\nbuilt-in: help ls exit halt\n");
}

static int run_pipeline(char **w, int n)
{
	int pids[8], np = 0, in = -1;
	int start = 0;
	for (int i = 0; i <= n; i++) {
		if (i < n && strcmp(w[i], "|"))
			continue;
		w[i] = NULL;
		if (i == start) {
			printf("sh: syntax error\n");
			return -1;
		}
		int fds[2] = { -1, -1 };
		if (i < n && pipe(fds) < 0) {
			printf("sh: pipe failed\n");
			return -1;
		}
		int pid = fork();
		if (pid == 0) {
			if (in >= 0) {
				dup2(in, 0);
				close(in);
			}
			if (fds[1] >= 0) {
				dup2(fds[1], 1);
				close(fds[0]);
				close(fds[1]);
			}
			exec(w[start], &w[start]);
			fprintf(2, "sh: %s: not found\n", w[start]);
			exit(127);
		}
		if (in >= 0)
			close(in);
		if (fds[1] >= 0)
			close(fds[1]);
		in = fds[0];
		if (pid > 0 && np < 8)
			pids[np++] = pid;
		start = i + 1;
	}
	int st = 0;
	for (int i = 0; i < np; i++) {
		if (wait(pids[i], &st, 0) == pids[i] && WIFSIGNALED(st))
			printf("sh: pid %d killed by signal %d\n", pids[i], WTERMSIG(st));
	}
	return st;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char line[256];
	char *w[MAXW + 1];
	if (getpid() == 1)
		printf("vmm386 guest shell; type help for the programs\n");
	for (;;) {
		printf("$ ");
		if (get_line(line, sizeof(line)) < 0) {
			printf("\n");
			return 0;
		}
		int n = 0;
		char *s = line;
		while (*s && n < MAXW) {
			while (*s == ' ' || *s == '\t')
				*s++ = 0;
			if (!*s)
				break;
			w[n++] = s;
			while (*s && *s != ' ' && *s != '\t')
				s++;
		}
		w[n] = NULL;
		if (!n)
			continue;
		if (!strcmp(w[0], "exit"))
			return n > 1 ? atoi(w[1]) : 0;
		if (!strcmp(w[0], "halt"))
			halt(0);
		if (!strcmp(w[0], "help") || !strcmp(w[0], "ls")) {
			list_programs();
			continue;
		}
		run_pipeline(w, n);
	}
}
