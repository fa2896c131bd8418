/*
 * fz_seccomp.c - the fuzz target's system-call detector (fuzz_translate.c runs the cases).
 *
 * No host system call on the guest's behalf.  Cases run on a worker thread, the only one
 * under a seccomp-bpf filter (bpf_build).  A system call from the code cache, or through
 * the 32-bit ABI (int 0x80, sysenter), is the guest reaching the host: abort at once.
 * Every other call except rt_sigreturn and futex also goes to a supervisor thread as a
 * seccomp user notification; during a case it must be one the monitor legitimately makes
 * while running a guest (fz_monitor_may), else it is reported and fails the case at its
 * end; then it proceeds unchanged (USER_NOTIF_FLAG_CONTINUE).  A trapping filter
 * (SECCOMP_RET_TRAP, SIGSYS) was tried first and does not work here: abort(), libFuzzer's
 * crash handler and ASan's reports make system calls with every signal blocked, and a
 * seccomp SIGSYS that is blocked kills the process before the input is saved.  What
 * actually happens (FUZZ_SYSCALL_TRACE=1 prints every call): during cases the monitor
 * calls mprotect inside the windows (code pages write-protected and released again, shadow
 * pages), mmap in the windows (shadow fills) and of the code cache around each entry
 * (arena_guard), mmap/munmap from ASan's allocator and write(2) for its diagnostics
 * (emu_stop, "guest requested reset") or to the UART's /dev/null; nothing else.  One
 * surprise, at the first RTC read of the process: glibc's gmtime_r() opens and stats
 * /etc/localtime on its first call; the harness makes that call before the filter goes on.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fz.h"
#include "codecache/cc.h"
#include "monitor/param.h"

volatile int fz_in_case;
volatile int fz_violations;
bool fz_seccomp_on;
static const uint8_t *arena, *window;
static int devnull = -1;
static const uint32_t *guest_eip;


/* Output that does not depend on stdio's state (used from signal handlers too). */
void fz_raw_print(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (n > 0 && write(2, buf, (size_t)n) < 0)
		return;
}

static bool in_window(uint64_t a, uint64_t len)
{
	uint64_t w = (uint64_t)(uintptr_t)window;
	return a >= w && a + len <= w + (1ull << 32);
}

/* May the monitor make this system call while it runs a guest? */
static bool fz_monitor_may(long nr, const uint64_t *a)
{
	switch (nr) {
	case SYS_write:          /* diagnostics, and the UART's output */
		return a[0] == 2 || (long)a[0] == devnull;
	case SYS_mprotect:       /* code pages in the window; never anything executable but
				  * the code cache, write-protected around each entry (arena_guard) */
		return in_window(a[0], a[1]) || !(a[2] & PROT_EXEC) ||
		       (a[0] == (uint64_t)(uintptr_t)arena && a[1] == CC_SIZE);
	case SYS_mmap:           /* the allocator */
		return !(a[2] & PROT_EXEC);
	case SYS_munmap: case SYS_mremap: case SYS_madvise: case SYS_brk: case SYS_clock_gettime:
	case SYS_gettid: case SYS_getpid: case SYS_sched_yield: case SYS_sigaltstack:
		return true;
	default:
		return false;
	}
}

/*
 * The supervisor thread: every system call the worker's filter does not allow outright
 * arrives here as a seccomp user notification, with the worker blocked in the kernel.
 * A call from the code cache or through the 32-bit ABI is the guest reaching the host:
 * report and abort (libFuzzer's SIGABRT handler saves the input; the worker never
 * resumes).  Anything else is checked against fz_monitor_may() during a case and then
 * let through unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE).  No signal is involved, so
 * this also works while the worker has every signal blocked (abort(), ASan's reports).
 */
static int notify_fd = -1;
static bool trace_syscalls;
static sem_t supervisor_ready;

static void supervise(const struct seccomp_notif *req)
{
	const struct seccomp_data *d = &req->data;
	if (d->arch != AUDIT_ARCH_X86_64 || cc_is_code((uintptr_t)d->instruction_pointer)) {
		fz_in_case = 0;
		fz_raw_print("\nfuzz_translate: BUG: guest code made a host system call: nr %d "
			  "(%s ABI) at %#llx in the code cache, guest EIP near %08x\n", d->nr,
			  d->arch == AUDIT_ARCH_X86_64 ? "x86-64" : "i386",
			  (unsigned long long)d->instruction_pointer, *guest_eip);
		abort();
	}
	if (trace_syscalls)
		fz_raw_print("fuzz_translate: syscall %d from %#llx%s\n", d->nr,
			  (unsigned long long)d->instruction_pointer, fz_in_case ? " (during a case)" : "");
	if (fz_in_case && !fz_monitor_may(d->nr, (const uint64_t *)d->args) && fz_violations++ < 3)
		fz_raw_print("\nfuzz_translate: BUG: host system call %d (args %llx %llx %llx) from "
			  "%#llx while running the guest\n", d->nr, (unsigned long long)d->args[0],
			  (unsigned long long)d->args[1], (unsigned long long)d->args[2],
			  (unsigned long long)d->instruction_pointer);
}

static void *supervisor_main(void *arg)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	(void)arg;
	/* from here on this thread needs no lock another thread could hold while it waits for
	 * us (ASan's thread registry is taken while a new thread starts, and ASan's error
	 * report holds it across system calls) */
	sem_post(&supervisor_ready);
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			fz_raw_print("fuzz_translate: seccomp notification: %s\n", strerror(errno));
			abort();
		}
		supervise(&req);
		resp = (struct seccomp_notif_resp){ .id = req.id,
						    .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
		ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);   /* ENOENT: caller gone */
	}
	return NULL;
}

/* A small BPF assembler: jumps name labels, resolved when the program is complete. */
#define L_NEXT (-1)
struct bpf_prog {
	struct sock_filter f[96];
	int jt[96], jf[96];
	unsigned n;
	int at[16];          /* label -> instruction index */
	int nlabels;
};

static int bpf_new_label(struct bpf_prog *p) { return p->nlabels++; }
static void bpf_place(struct bpf_prog *p, int l) { p->at[l] = (int)p->n; }

static void bpf_ins(struct bpf_prog *p, uint16_t code, uint32_t k, int jt, int jf)
{
	p->f[p->n] = (struct sock_filter)BPF_STMT(code, k);
	p->jt[p->n] = jt;
	p->jf[p->n] = jf;
	p->n++;
}

static void bpf_resolve(struct bpf_prog *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		if (BPF_CLASS(p->f[i].code) != BPF_JMP)
			continue;
		p->f[i].jt = (uint8_t)(p->jt[i] < 0 ? 0 : p->at[p->jt[i]] - (int)i - 1);
		p->f[i].jf = (uint8_t)(p->jf[i] < 0 ? 0 : p->at[p->jf[i]] - (int)i - 1);
	}
}

#define LD(off) bpf_ins(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(off), L_NEXT, L_NEXT)
#define JEQ(k, t, f) bpf_ins(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(k), t, f)
#define JGE(k, t, f) bpf_ins(p, BPF_JMP | BPF_JGE | BPF_K, (uint32_t)(k), t, f)
#define JGT(k, t, f) bpf_ins(p, BPF_JMP | BPF_JGT | BPF_K, (uint32_t)(k), t, f)
#define IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define IP_HI (IP_LO + 4)

/* Jump to `hit` when the instruction pointer lies in [lo, hi). */
static void bpf_ip_range(struct bpf_prog *p, uint64_t lo, uint64_t hi, int hit)
{
	for (uint64_t a = lo; a < hi;) {
		uint64_t end = ((a >> 32) + 1) << 32;          /* pieces within one 4 GiB */
		if (end > hi)
			end = hi;
		int out = bpf_new_label(p);
		LD(IP_HI);
		JEQ(a >> 32, L_NEXT, out);
		LD(IP_LO);
		JGE((uint32_t)a, L_NEXT, out);
		JGT((uint32_t)(end - 1), out, hit);
		bpf_place(p, out);
		a = end;
	}
}

/*
 * The worker's filter:
 *   arch != x86-64 (int 0x80, sysenter from the code cache)  -> USER_NOTIF (guest: abort)
 *   instruction pointer in the code cache                     -> USER_NOTIF (guest: abort)
 *   rt_sigreturn, futex (the hand-over semaphores)            -> ALLOW
 *   anything else                                             -> USER_NOTIF (checked)
 */
static void bpf_build(struct bpf_prog *p)
{
	memset(p, 0, sizeof(*p));
	int allow = bpf_new_label(p), notify = bpf_new_label(p);
	LD(offsetof(struct seccomp_data, arch));
	JEQ(AUDIT_ARCH_X86_64, L_NEXT, notify);
	bpf_ip_range(p, (uint64_t)(uintptr_t)arena, (uint64_t)(uintptr_t)arena + CC_SIZE, notify);
	LD(offsetof(struct seccomp_data, nr));
	JEQ(SYS_rt_sigreturn, allow, L_NEXT);
	JEQ(SYS_futex, allow, L_NEXT);
	bpf_place(p, notify);
	bpf_ins(p, BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF, L_NEXT, L_NEXT);
	bpf_place(p, allow);
	bpf_ins(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, L_NEXT, L_NEXT);
	bpf_resolve(p);
}

/* On the calling thread (the worker) only: no TSYNC.  The supervisor, started by the
 * main thread so that it is not filtered itself, serves the listener fd. */
void fz_seccomp_install(const uint8_t *code_cache, const uint8_t *flat_window, int null_fd,
			const uint32_t *eip)
{
	static struct bpf_prog p;
	arena = code_cache;
	window = flat_window;
	devnull = null_fd;
	guest_eip = eip;
	bpf_build(&p);
	struct sock_fprog prog = { (unsigned short)p.n, p.f };
	trace_syscalls = getenv("FUZZ_SYSCALL_TRACE") != NULL;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    (notify_fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				      SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)) < 0) {
		fprintf(stderr, "fuzz_translate: cannot install the seccomp filter: %s\n",
			strerror(errno));
		exit(1);
	}
	fz_seccomp_on = true;
}

int fz_supervisor_start(void)
{
	static pthread_t supervisor;
	sem_init(&supervisor_ready, 0, 0);
	if (pthread_create(&supervisor, NULL, supervisor_main, NULL) != 0)
		return -1;
	while (sem_wait(&supervisor_ready) < 0 && errno == EINTR)
		;
	return 0;
}
