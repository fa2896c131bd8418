/*
 * testsuite - the kernel's user-level test suite (`-append test`).
 *
 * One line per test, "PASS name" or "FAIL name: reason", then "N passed, N failed"; the exit
 * status (pid 1's, which becomes the isa-debug-exit value) is 0 when everything passed.
 * Tests that expect a process to die run it as a child and check its wait status; the
 * kernel prints a "pid N killed: ..." line for each of those, which is expected output.
 */
#include "ulib.h"

static char reason[160];
static int npass, nfail;

#define CHECK(cond, ...)                                                           \
	do {                                                                       \
		if (!(cond)) {                                                     \
			snprintf(reason, sizeof(reason), __VA_ARGS__);             \
			return -1;                                                 \
		}                                                                  \
	} while (0)

static void run(const char *name, int (*fn)(void))
{
	reason[0] = 0;
	if (fn() == 0) {
		printf("PASS %s\n", name);
		npass++;
	} else {
		printf("FAIL %s: %s\n", name, reason);
		nfail++;
	}
}

/* Run fn in a child; return its wait status (or -1). */
static int child_status(int (*fn)(void))
{
	int pid = fork();
	if (pid == 0)
		exit(fn());
	if (pid < 0)
		return -1;
	int st;
	if (wait(pid, &st, 0) != pid)
		return -1;
	return st;
}

static int killed_by(int st, int sig)
{
	return st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

/* --- copy-on-write -------------------------------------------------------------------- */
static volatile int cow_global = 1;
#define COW_PAGES 16

static void fill(uint8_t *b, uint8_t v)
{
	for (int i = 0; i < COW_PAGES * 4096; i += 512)
		b[i] = (uint8_t)(v + i / 4096);
}

static int check_fill(const uint8_t *b, uint8_t v)
{
	for (int i = 0; i < COW_PAGES * 4096; i += 512)
		if (b[i] != (uint8_t)(v + i / 4096))
			return 0;
	return 1;
}

static int t_cow(void)
{
	uint8_t *heap = malloc(COW_PAGES * 4096);
	CHECK(heap, "malloc failed");
	volatile int stackvar = 10;
	fill(heap, 0xA0);
	cow_global = 1;
	int up[2], down[2];
	CHECK(pipe(up) == 0 && pipe(down) == 0, "pipe failed");
	int pid = fork();
	CHECK(pid >= 0, "fork failed");
	if (pid == 0) {
		char c;
		int bad = 0;
		if (cow_global != 1 || !check_fill(heap, 0xA0) || stackvar != 10)
			bad |= 1;
		cow_global = 2;
		stackvar = 20;
		fill(heap, 0xB0);
		if (cow_global != 2 || !check_fill(heap, 0xB0) || stackvar != 20)
			bad |= 2;
		write(up[1], "x", 1);
		read(down[0], &c, 1);                /* the parent has written its values */
		if (cow_global != 2 || !check_fill(heap, 0xB0) || stackvar != 20)
			bad |= 4;
		exit(bad);
	}
	char c;
	CHECK(read(up[0], &c, 1) == 1, "sync read failed");
	CHECK(cow_global == 1 && stackvar == 10, "parent sees the child's writes (global %d)", cow_global);
	CHECK(check_fill(heap, 0xA0), "parent heap changed by the child");
	cow_global = 3;
	stackvar = 30;
	fill(heap, 0xC0);
	write(down[1], "y", 1);
	int st;
	CHECK(wait(pid, &st, 0) == pid, "wait failed");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child saw wrong values (status 0x%x)", st);
	CHECK(cow_global == 3 && stackvar == 30 && check_fill(heap, 0xC0), "parent lost its own writes");
	close(up[0]), close(up[1]), close(down[0]), close(down[1]);
	return 0;
}

/* --- many processes ------------------------------------------------------------------- */
static int t_many(void)
{
	enum { N = 32 };
	int pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0, "fork %d failed", i);
		if (pids[i] == 0) {
			volatile uint32_t sum = 0;
			for (uint32_t k = 0; k < (uint32_t)(i + 1) * 2000; k++) {
				sum += k;
				if (k % 1000 == 0)
					yield();
			}
			sleep(1);
			exit(i + 1);
		}
	}
	int seen[N] = { 0 };
	for (int i = 0; i < N; i++) {
		int st, pid = wait(-1, &st, 0);
		CHECK(pid > 0, "wait returned %d after %d children", pid, i);
		CHECK(WIFEXITED(st), "child %d killed", pid);
		int k = WEXITSTATUS(st) - 1;
		CHECK(k >= 0 && k < N && !seen[k] && pids[k] == pid, "bad status %d from pid %d", st, pid);
		seen[k] = 1;
	}
	CHECK(wait(-1, NULL, 0) == -1, "wait with no children did not fail");
	return 0;
}

/* --- bad pointers, privileged instructions ----------------------------------------------- */
/* Through a volatile pointer, so the compiler cannot see (and reject) the bad address. */
static volatile int *volatile bad_addr[] = {
	(int *)0, (int *)8, (int *)0xC0100000, (int *)0xC0000100,
};
static int c_null(void) { return *bad_addr[0]; }
static int c_null_write(void) { *bad_addr[1] = 1; return 0; }
static int c_kernel_read(void) { return *bad_addr[2]; }
static int c_kernel_write(void) { *bad_addr[3] = 1; return 0; }
static int c_cli(void) { asm volatile("cli"); return 0; }
static int c_hlt(void) { asm volatile("hlt"); return 0; }
static int c_inb(void) { uint8_t v; asm volatile("inb $0x60, %0" : "=a"(v)); return v; }
static int c_ud2(void) { asm volatile("ud2"); return 0; }
static int c_div0(void) { volatile int z = 0; return 10 / z; }

static int t_badptr(void)
{
	int st;
	CHECK(killed_by(st = child_status(c_null), SIGSEGV), "null read: status 0x%x", st);
	CHECK(killed_by(st = child_status(c_null_write), SIGSEGV), "null write: status 0x%x", st);
	CHECK(killed_by(st = child_status(c_kernel_read), SIGSEGV), "kernel read: status 0x%x", st);
	CHECK(killed_by(st = child_status(c_kernel_write), SIGSEGV), "kernel write: status 0x%x", st);
	/* bad pointers given to the kernel fail the call, not the process */
	CHECK(write(1, (void *)0xC0000000, 16) == -1, "write from a kernel address succeeded");
	CHECK(read(0, NULL, 16) == -1, "read into NULL succeeded");
	CHECK(pipe((int *)0xFFFFFFF0) == -1, "pipe into a kernel address succeeded");
	return 0;
}

static int t_privileged(void)
{
	int st;
	CHECK(killed_by(st = child_status(c_cli), SIGSEGV), "cli: status 0x%x", st);
	CHECK(killed_by(st = child_status(c_hlt), SIGSEGV), "hlt: status 0x%x", st);
	CHECK(killed_by(st = child_status(c_inb), SIGSEGV), "inb: status 0x%x", st);
	CHECK(killed_by(st = child_status(c_ud2), SIGILL), "ud2: status 0x%x", st);
	CHECK(killed_by(st = child_status(c_div0), SIGFPE), "div0: status 0x%x", st);
	return 0;
}

/* --- read-only pages ------------------------------------------------------------------- */
static const char ro_string[] = "read-only";
static int c_write_code(void) { *(volatile uint8_t *)(void *)c_write_code = 0xC3; return 0; }
static int c_write_rodata(void) { *(volatile char *)ro_string = 'X'; return 0; }

static int t_readonly(void)
{
	int st;
	CHECK(killed_by(st = child_status(c_write_code), SIGSEGV), "code write: status 0x%x", st);
	CHECK(killed_by(st = child_status(c_write_rodata), SIGSEGV), "rodata write: status 0x%x", st);
	CHECK(ro_string[0] == 'r', "rodata changed");
	return 0;
}

/* --- sbrk ------------------------------------------------------------------------------ */
static volatile uint8_t *shrunk;
static int c_touch_shrunk(void) { return shrunk[0]; }

static int t_sbrk(void)
{
	enum { SZ = 64 * 1024 };
	uint8_t *p = sbrk(SZ);
	CHECK(p != (void *)-1, "sbrk grow failed");
	CHECK((uint8_t *)sbrk(0) == p + SZ, "break not moved");
	for (int i = 0; i < SZ; i += 1024)
		CHECK(p[i] == 0, "new heap not zero at %d", i);
	for (int i = 0; i < SZ; i += 1024)
		p[i] = (uint8_t)i | 1;
	for (int i = 0; i < SZ; i += 1024)
		CHECK(p[i] == ((uint8_t)i | 1), "heap readback at %d", i);
	uint32_t before = meminfo();
	CHECK(sbrk(-SZ) == p + SZ, "sbrk shrink failed");
	CHECK((uint8_t *)sbrk(0) == p, "break not lowered");
	CHECK(meminfo() >= before + SZ / 4096, "shrink freed %d pages, want %d",
	      (int)(meminfo() - before), SZ / 4096);
	shrunk = p + 4096;
	int st;
	CHECK(killed_by(st = child_status(c_touch_shrunk), SIGSEGV), "access after shrink: status 0x%x", st);
	uint8_t *q = sbrk(SZ);
	CHECK(q == p, "regrow at %p, want %p", q, p);
	for (int i = 0; i < SZ; i += 1024)
		CHECK(q[i] == 0, "regrown heap not zero at %d", i);
	sbrk(-SZ);
	CHECK(sbrk(0x7FFFFFFF) == (void *)-1, "huge sbrk succeeded");
	return 0;
}

/* --- stack growth ---------------------------------------------------------------------- */
static uint32_t deep(uint32_t n)
{
	volatile uint8_t pad[1024];
	pad[0] = (uint8_t)n;
	pad[1023] = (uint8_t)(n >> 8);
	if (n == 0)
		return 0;
	return deep(n - 1) + pad[0] + pad[1023];
}

static int c_deep(void)
{
	uint32_t want = 0;
	for (uint32_t n = 1; n <= 256; n++)
		want += (uint8_t)n + (uint8_t)(n >> 8);
	return deep(256) == want ? 0 : 1;           /* ~280 KiB of stack */
}

static int t_stack(void)
{
	int st = child_status(c_deep);
	CHECK(st == 0, "deep recursion: status 0x%x", st);
	return 0;
}

/* --- pipes ----------------------------------------------------------------------------- */
static int t_pingpong(void)
{
	enum { N = 5000 };
	int a[2], b[2];
	CHECK(pipe(a) == 0 && pipe(b) == 0, "pipe failed");
	int pid = fork();
	CHECK(pid >= 0, "fork failed");
	if (pid == 0) {
		uint32_t v;
		close(a[1]);
		close(b[0]);
		while (read(a[0], &v, 4) == 4) {
			v++;
			write(b[1], &v, 4);
		}
		exit(0);
	}
	close(a[0]);
	close(b[1]);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t v = i * 3, r = 0;
		CHECK(write(a[1], &v, 4) == 4, "write %u failed", i);
		CHECK(read(b[0], &r, 4) == 4, "read %u failed", i);
		CHECK(r == v + 1, "message %u: got %u want %u", i, r, v + 1);
	}
	close(a[1]);                                 /* child sees EOF */
	int st;
	CHECK(wait(pid, &st, 0) == pid && st == 0, "child status 0x%x", st);
	close(b[0]);
	return 0;
}

static int t_pipe_bulk(void)
{
	enum { TOTAL = 256 * 1024 };
	int p[2];
	CHECK(pipe(p) == 0, "pipe failed");
	int pid = fork();
	CHECK(pid >= 0, "fork failed");
	if (pid == 0) {
		close(p[0]);
		uint8_t buf[1000];
		for (uint32_t sent = 0; sent < TOTAL;) {
			uint32_t n = TOTAL - sent < sizeof(buf) ? TOTAL - sent : sizeof(buf);
			for (uint32_t i = 0; i < n; i++)
				buf[i] = (uint8_t)((sent + i) * 7);
			if (write(p[1], buf, n) != (int)n)
				exit(1);
			sent += n;
		}
		exit(0);
	}
	close(p[1]);
	uint8_t buf[777];
	uint32_t got = 0;
	int n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0) {
		for (int i = 0; i < n; i++)
			CHECK(buf[i] == (uint8_t)((got + (uint32_t)i) * 7), "byte %u wrong", got + i);
		got += (uint32_t)n;
	}
	CHECK(n == 0, "read error %d", n);
	CHECK(got == TOTAL, "got %u bytes, want %u (EOF early?)", got, TOTAL);
	int st;
	CHECK(wait(pid, &st, 0) == pid && st == 0, "writer status 0x%x", st);
	close(p[0]);
	/* writing into a pipe without readers fails */
	CHECK(pipe(p) == 0, "pipe failed");
	close(p[0]);
	CHECK(write(p[1], "x", 1) == -1, "write without reader succeeded");
	close(p[1]);
	return 0;
}

/* --- self-modifying code --------------------------------------------------------------- */
static uint8_t smc_data[64] __attribute__((aligned(16)));

static void emit_ret_imm(uint8_t *p, uint32_t imm)
{
	p[0] = 0xB8;                                  /* mov eax, imm32 */
	memcpy(p + 1, &imm, 4);
	p[5] = 0xC3;                                  /* ret */
}

static int t_smc(void)
{
	uint8_t *page = malloc(8192);
	CHECK(page, "malloc failed");
	uint8_t *code = (uint8_t *)(((uint32_t)page + 4095) & ~4095u);
	typedef uint32_t (*fn_t)(void);
	for (uint32_t i = 0; i < 200; i++) {
		emit_ret_imm(code, 0x1000 + i);
		emit_ret_imm(code + 32, 0x2000 + i);
		uint32_t r1 = ((fn_t)code)(), r2 = ((fn_t)(code + 32))();
		CHECK(r1 == 0x1000 + i && r2 == 0x2000 + i, "iteration %u: got 0x%x 0x%x", i, r1, r2);
	}
	/* patch only the immediate of a running-hot function, in .bss */
	emit_ret_imm(smc_data, 7);
	uint32_t sum = 0;
	for (uint32_t i = 0; i < 100; i++) {
		smc_data[1] = (uint8_t)i;
		sum += ((fn_t)smc_data)();
	}
	CHECK(sum == 99 * 100 / 2, "patched immediate sum %u", sum);
	/* code on the stack */
	uint8_t stackcode[16];
	emit_ret_imm(stackcode, 0xABCD);
	CHECK(((fn_t)stackcode)() == 0xABCD, "stack code");
	emit_ret_imm(stackcode, 0xDCBA);
	CHECK(((fn_t)stackcode)() == 0xDCBA, "stack code after rewrite");
	/* copy-on-write + code: the child's rewrite must not change the parent's code */
	emit_ret_imm(code, 111);
	CHECK(((fn_t)code)() == 111, "before fork");
	int pid = fork();
	if (pid == 0) {
		emit_ret_imm(code, 222);
		exit(((fn_t)code)() == 222 ? 0 : 1);
	}
	int st;
	CHECK(wait(pid, &st, 0) == pid && st == 0, "child smc status 0x%x", st);
	CHECK(((fn_t)code)() == 111, "parent code changed by the child");
	return 0;
}

/* --- preemption ------------------------------------------------------------------------ */
static int t_preempt(void)
{
	uint32_t t0 = uptime();
	int pid = fork();
	CHECK(pid >= 0, "fork failed");
	if (pid == 0) {
		volatile uint32_t spins = 0;
		while (uptime() - t0 < 30)           /* ~300 ms of pure CPU, no blocking */
			spins++;
		exit(0);
	}
	volatile uint32_t mine = 0;
	while (uptime() - t0 < 10)
		mine++;
	int st;
	int r = wait(pid, &st, WNOHANG);
	CHECK(r == 0, "spinner not running concurrently (wait WNOHANG returned %d)", r);
	CHECK(wait(pid, &st, 0) == pid && st == 0, "spinner status 0x%x", st);
	CHECK(uptime() - t0 >= 30, "spinner finished early");
	return 0;
}

/* --- exec, wait, sleep ------------------------------------------------------------------ */
static int t_exec(void)
{
	char *bad[] = { "no-such-program", NULL };
	CHECK(exec("no-such-program", bad) == -1, "exec of a missing program did not fail");
	int pid = fork();
	if (pid == 0) {
		char *argv[] = { "exectest", "alpha", "beta", NULL };
		exec("exectest", argv);
		exit(99);
	}
	int st;
	CHECK(wait(pid, &st, 0) == pid, "wait failed");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42, "exectest status 0x%x", st);
	return 0;
}

static int t_wait(void)
{
	int codes[] = { 0, 7, 255 };
	int pids[3];
	for (int i = 0; i < 3; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			sleep((uint32_t)(3 - i));
			exit(codes[i]);
		}
	}
	int killed = child_status(c_null);
	CHECK(killed_by(killed, SIGSEGV), "killed child status 0x%x", killed);
	for (int i = 2; i >= 0; i--) {                 /* in reverse order of creation */
		int st;
		CHECK(wait(pids[i], &st, 0) == pids[i], "wait(%d) failed", pids[i]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == codes[i], "child %d status 0x%x", i, st);
	}
	CHECK(wait(-1, NULL, WNOHANG) == -1, "no children left, but wait did not fail");
	CHECK(wait(1, NULL, 0) == -1, "wait for a non-child succeeded");
	return 0;
}

static int t_sleep(void)
{
	uint32_t t0 = uptime();
	sleep(10);
	uint32_t dt = uptime() - t0;
	CHECK(dt >= 10 && dt < 60, "slept %u ticks for 10", dt);
	return 0;
}

/* --- leaks ----------------------------------------------------------------------------- */
static int c_touch(void)
{
	uint8_t *p = sbrk(16 * 4096);
	for (int i = 0; i < 16; i++)
		p[i * 4096] = 1;
	cow_global++;
	return 0;
}

static int t_noleak(void)
{
	int p[2];
	uint32_t before = meminfo();
	for (int i = 0; i < 50; i++) {
		CHECK(child_status(c_touch) == 0, "child failed");
		CHECK(pipe(p) == 0, "pipe failed");
		close(p[0]);
		close(p[1]);
	}
	uint32_t after = meminfo();
	CHECK(after == before, "free pages %u before, %u after", before, after);
	return 0;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("testsuite: pid %d, %u free pages\n", getpid(), meminfo());
	run("cow_fork", t_cow);
	run("many_processes", t_many);
	run("bad_pointer", t_badptr);
	run("privileged_insn", t_privileged);
	run("readonly_pages", t_readonly);
	run("sbrk_grow_shrink", t_sbrk);
	run("stack_growth", t_stack);
	run("pipe_pingpong", t_pingpong);
	run("pipe_bulk_eof", t_pipe_bulk);
	run("self_modifying_code", t_smc);
	run("preemption", t_preempt);
	run("exec", t_exec);
	run("wait_status", t_wait);
	run("sleep", t_sleep);
	run("no_leak", t_noleak);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
