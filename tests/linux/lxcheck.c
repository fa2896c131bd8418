/*
 * lxcheck.c - a static i386 Linux program that checks the parts of a guest kernel's work
 * that lean hardest on the monitor: thread-local storage (a GDT TLS slot loaded into %gs,
 * for the main thread and a second thread), signal delivery and return, anonymous and
 * shared mappings across fork, fork/wait, a SIGSEGV raised by a write to a read-only page
 * (the kernel's page-fault path, the fault address reported in si_addr), and RDTSC never
 * going backwards.  Built with gcc -m32 -static into the Linux test's initramfs.
 *
 *   lxcheck          run every check; one "T: lxcheck <name> ok" line each, exit 0 if all pass
 *   lxcheck true     exit 0 at once (the fork+exec loop's command)
 *   lxcheck syscall N   N getppid() calls (benchmark)
 *   lxcheck pingpong N  N one-byte round trips over two pipes between two processes (benchmark)
 *   lxcheck alloc MiB   touch MiB of fresh anonymous memory page by page (benchmark)
 *   lxcheck counters begin | end NAME OPS   vmm386's counters port around a benchmark
 *                    (monitor/counters.c has the protocol; bench/linux.sh): ioperm for its
 *                    three ports, then BEGIN, or END with the name and the operation count.
 *                    Does nothing where the probe fails (QEMU, vmm386 without -d stats).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void report(const char *name, int ok, const char *detail)
{
	if (ok)
		printf("T: lxcheck %s ok\n", name);
	else {
		printf("T: lxcheck %s FAILED (%s)\n", name, detail);
		failures++;
	}
	fflush(stdout);
}

/* --- TLS --------------------------------------------------------------------------- */

static __thread int tls_value = 7;

static void *tls_thread(void *arg)
{
	(void)arg;
	int first = tls_value;          /* the initial image, not main's value */
	tls_value = 1000;
	return (void *)(intptr_t)(first == 7 && tls_value == 1000);
}

static void check_tls(void)
{
	tls_value = 42;
	pthread_t t;
	void *r = NULL;
	int ok = pthread_create(&t, NULL, tls_thread, NULL) == 0 && pthread_join(t, &r) == 0;
	report("tls", ok && r && tls_value == 42, "per-thread copies of a __thread variable");
}

/* --- signals ----------------------------------------------------------------------- */

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig) { got_usr1 = sig; }

static void check_signal(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	report("signal", got_usr1 == SIGUSR1, "SIGUSR1 handler did not run");
}

/* --- SIGSEGV ----------------------------------------------------------------------- */

static sigjmp_buf segv_jmp;
static void *volatile segv_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	segv_addr = si->si_addr;
	siglongjmp(segv_jmp, 1);
}

static void check_segv(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	char *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile char *target = p + 4096 + 123;
	int faulted = 0;
	if (p != MAP_FAILED && sigsetjmp(segv_jmp, 1) == 0)
		*target = 1;
	else
		faulted = 1;
	report("sigsegv", faulted && segv_addr == (void *)target, "no fault, or a wrong si_addr");
	munmap(p, 8192);
}

/* --- mmap and fork ----------------------------------------------------------------- */

static void check_mmap_fork(void)
{
	size_t len = 16u << 20;
	uint32_t *priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (priv == MAP_FAILED || shared == MAP_FAILED) {
		report("mmap", 0, "mmap failed");
		return;
	}
	for (size_t i = 0; i < len / 4; i += 1024)
		priv[i] = (uint32_t)i;
	pid_t pid = fork();
	if (pid == 0) {                           /* child: copy-on-write and shared pages */
		uint32_t sum = 0;
		for (size_t i = 0; i < len / 4; i += 1024) {
			sum += priv[i];
			priv[i] = 0;
		}
		shared[0] = sum;
		_exit(42);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	uint32_t want = 0;
	int intact = 1;
	for (size_t i = 0; i < len / 4; i += 1024) {
		want += (uint32_t)i;
		intact &= priv[i] == (uint32_t)i;
	}
	report("fork", pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 42, "exit status");
	report("mmap", intact && shared[0] == want, "copy-on-write or shared page wrong");
	munmap(priv, len);
	munmap(shared, 4096);
}

/* --- RDTSC ------------------------------------------------------------------------- */

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void check_rdtsc(void)
{
	uint64_t prev = rdtsc(), first = prev;
	int ok = 1;
	for (int i = 0; i < 1000000; i++) {
		uint64_t t = rdtsc();
		ok &= t >= prev;
		prev = t;
		if ((i & 0xFFFF) == 0)
			getppid();                    /* cross into the kernel now and then */
	}
	report("rdtsc", ok && prev > first, "time stamp counter went backwards");
}

/* --- benchmarks -------------------------------------------------------------------- */

static void pingpong(long n)
{
	int a[2], b[2];
	char c = 0;
	if (pipe(a) < 0 || pipe(b) < 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		for (long i = 0; i < n; i++)
			if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	for (long i = 0; i < n; i++)
		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			exit(1);
	waitpid(pid, NULL, 0);
}

static void alloc(long mib)
{
	size_t len = (size_t)mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		exit(1);
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	munmap(p, len);
}

#define COUNTERS_PORT 0xFE0

static int counters(int argc, char **argv)
{
	if (ioperm(COUNTERS_PORT, 3, 1) < 0 || inb(COUNTERS_PORT) != 'V' ||
	    inb(COUNTERS_PORT + 1) != 'C')
		return 0;
	if (argc > 2 && !strcmp(argv[2], "begin")) {
		outb(1, COUNTERS_PORT);
		return 0;
	}
	if (argc < 5 || strcmp(argv[2], "end"))
		return 2;
	outb(2, COUNTERS_PORT);
	for (const char *p = argv[3]; *p; p++)
		outb((unsigned char)*p, COUNTERS_PORT + 1);
	unsigned long ops = strtoul(argv[4], NULL, 10);
	for (int sh = 24; sh >= 0; sh -= 8)
		outb((unsigned char)(ops >> sh), COUNTERS_PORT + 2);
	outb(3, COUNTERS_PORT);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;
	if (argc > 1 && !strcmp(argv[1], "true"))
		return 0;
	if (argc > 1 && !strcmp(argv[1], "syscall")) {
		for (long i = 0; i < n; i++)
			getppid();
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "pingpong")) {
		pingpong(n);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "counters"))
		return counters(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "alloc")) {
		alloc(n);
		return 0;
	}
	check_tls();
	check_signal();
	check_segv();
	check_mmap_fork();
	check_rdtsc();
	return failures ? 1 : 0;
}
