/* forktest [N] - fork N children (default 20) that each exit with their index; check all. */
#include "ulib.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20;
	if (n < 1 || n > 60)
		n = 20;
	int pids[64];
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			exit(i);
		if (pids[i] < 0) {
			printf("forktest: fork %d failed\n", i);
			return 1;
		}
	}
	int bad = 0;
	for (int i = 0; i < n; i++) {
		int st;
		if (wait(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != i)
			bad++;
	}
	printf("forktest: %d children, %s\n", n, bad ? "FAILED" : "ok");
	return bad != 0;
}
