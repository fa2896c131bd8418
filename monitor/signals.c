/*
 * signals.c - how the guest gets out of translated code: exit requests, host signals, and
 * the host timer.
 *
 * Exit requests.  Every block head loads through vcpu->req_ptr, and translated code that
 * sets the virtual IF probes vcpu->irq_ptr.  Both point at a readable page while nothing
 * is wanted; vm_request_exit (async-signal-safe) points req_ptr at an inaccessible page,
 * so the next block head faults and the guest leaves at an instruction boundary.
 *
 * Host signals while translated code runs are guest events:
 *  - SIGSEGV on the request page at a block head: an exit was requested (timer, device);
 *  - SIGSEGV in the window: a shadow fill (handled by the shadow MMU, the instruction runs
 *    again), a guest #PF, a store to a page holding translated code (self-modifying code)
 *    or to a traced page table, or an access to device memory;
 *  - SIGFPE: #DE, #MF or #XM; SIGILL: #UD; a host #GP (SIGSEGV, SI_KERNEL): #GP(0).
 * The handler rebuilds the guest state of the faulting instruction from the signal
 * context and the block's instruction map (save_guest_regs, fixup), records the exit in
 * the vCPU and resumes at xl_leave, which returns to the run loop as if the block had
 * exited.  A signal anywhere else is a monitor crash: backtrace and abort.
 *
 * Exceptions from user mode (#PF the shadow MMU judged a guest fault, #DE, #UD, #GP) are
 * delivered here, without the run loop (deliver_in_handler): the emulator's own delivery
 * (emu_deliver_exception: every IDT/TSS/descriptor check, the frame pushed with supervisor
 * access and its A/D bits, #DF and shutdown as the SDM orders them, the PV hooks) runs in
 * the handler - safe, since the monitor was not running when translated code faulted - and
 * if the vCPU is then at CPL 0 in flat paged mode and the current directory's supervisor
 * window and its lookup table (vcpu->win_view[0], lk_view[0], tagged with the new mode)
 * exist, the handler resumes translated code there: the guest registers go back into the
 * signal context, RSP to the block level (vcpu->host_rsp, dropping a lowering's pushed
 * flags), GS base and R15 to the window, and RIP to the handler's block from that table or
 * to the lookup-miss stub (an EXIT_LOOKUP at the handler's EIP).  Not for single-step
 * blocks, TF, virtual-8086 mode or while instructions are logged.  A shutdown leaves with
 * EXIT_SHUTDOWN.  Saved per exception: the exit and entry (XSAVEOPT/XRSTOR) and the loop.
 *
 * A #PF from user mode delivered here or by the run loop (an instruction fetch, a fault in
 * an emulated instruction) is noted (vm_pf_note; vcpu->pf_retry: linear address, EIP, CR3).  The guest's
 * handler fixes the entry and IRETs back to the instruction, which would fault on the host
 * a second time only to be filled; instead the inline IRET to CPL 3 calls vmm_pf_retry
 * (translator/ring_cache.c), which asks the shadow MMU to map the page (smmu_prefault) when
 * the IRET goes back to that EIP in that address space.  One host signal per demand fault
 * instead of two.  The note is only a hint: whatever the prefault maps, the guest tables
 * allow now.
 *
 * The host timer (SIGALRM) is armed for the next device or PV deadline; it requests an
 * exit and tells the loop to poll (vm_alarm_take).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "vmm.h"
#include "mon_int.h"
#include "param.h"
#include "run.h"
#include "console.h"
#include "profile.h"
#include "../emulation/emu.h"
#include "../translator/xl.h"
#include "../translator/xl_asm.h"
#include "../codecache/cc.h"
#include "../shadow-mmu/smmu.h"

static struct vm *the_vm;
static uint8_t req_ok_page[4096] __attribute__((aligned(4096)));
static void *req_fault_page;
static timer_t host_timer;
static volatile uint64_t timer_armed_ns;   /* 0: not armed */
static volatile sig_atomic_t alarm_seen;

/* ---- exit requests ------------------------------------------------------------------ */

void vm_request_exit(struct vm *vm)
{
	vm->cpu.req_ptr = (uint64_t)(uintptr_t)req_fault_page;
}

/* Device or PV timer state changed outside port I/O: poll before the next entry. */
void vm_request_poll(void)
{
	alarm_seen = 1;
}

bool vm_alarm_take(void)
{
	if (!alarm_seen)
		return false;
	alarm_seen = 0;
	return true;
}

void vm_requests_clear(struct vcpu *c)
{
	c->req_ptr = (uint64_t)(uintptr_t)req_ok_page;
}

void vm_irq_probe(struct vcpu *c, bool irq_waiting)
{
	c->irq_ptr = (uint64_t)(uintptr_t)(irq_waiting ? req_fault_page : req_ok_page);
}

int vm_requests_init(struct vm *vm)
{
	the_vm = vm;
	req_fault_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (req_fault_page == MAP_FAILED)
		return -1;
	vm->cpu.req_ptr = (uint64_t)(uintptr_t)req_ok_page;
	vm->cpu.irq_ptr = (uint64_t)(uintptr_t)req_ok_page;
	return 0;
}

/* ---- signals ------------------------------------------------------------------------ */

static void crash(int sig, siginfo_t *si, ucontext_t *uc)
{
	static const char msg[] = "vmm386: monitor crashed\n";
	con_restore();
	if (write(2, msg, sizeof(msg) - 1) < 0) { /* nothing to do */ }
	fprintf(stderr, "vmm386: signal %d (%s) at rip=%#llx, address %p\n", sig, strsignal(sig),
		(unsigned long long)uc->uc_mcontext.gregs[REG_RIP], si->si_addr);
	vmm_backtrace();
	signal(SIGABRT, SIG_DFL);
	abort();
}

/* Undo what a lowering had in flight when instruction m faulted (see translate.c). */
static void fixup(struct vcpu *c, const struct cc_block *b, const struct xl_imap *m, greg_t *gr)
{
	uint64_t win = (uint64_t)gr[REG_R15];       /* the window the block ran in */
	if (m->fix & XI_STR_SRC) {
		uint64_t v = (uint64_t)gr[REG_RSI] - win;
		if (m->fix & XI_SRC_SEG)
			v -= c->seg_base[XI_SEG(m->fix)];
		c->regs[R_ESI] = (uint32_t)v;
	}
	if (m->fix & XI_STR_DST) {
		uint64_t v = (uint64_t)gr[REG_RDI] - win;
		if (b->mode & XM_NONFLAT)
			v -= c->seg_base[S_ES];
		c->regs[R_EDI] = (uint32_t)v;
	}
	if (m->spill >= 0)
		c->regs[m->spill] = (uint32_t)c->spill[1];
	if (m->fix & XI_PUSHF) {
		uint64_t fl;
		memcpy(&fl, (const void *)(uintptr_t)gr[REG_RSP], sizeof(fl));
		c->eflags = (c->eflags & ~FL_HOST) | ((uint32_t)fl & FL_HOST);
	}
}

static void save_guest_regs(struct vcpu *c, greg_t *gr)
{
	static const int map[8] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_R12, REG_RBP, REG_RSI, REG_RDI};
	for (int i = 0; i < 8; i++)
		c->regs[i] = (uint32_t)gr[map[i]];
	c->eflags = (c->eflags & ~FL_HOST) | ((uint32_t)gr[REG_EFL] & FL_HOST);
}

/* Which exit does a fault in the window stand for (smmu_fault's verdict)? */
static unsigned window_exit(struct vcpu *c, enum smf sf, uint32_t info)
{
	switch (sf) {
	case SMF_PF:
		c->exit_info = info;
		return EXIT_PF;
	case SMF_SMC:
		c->exit_info = info;
		run_stats.smc_faults++;
		return EXIT_SMC;
	case SMF_TRACED:
		c->exit_info = info;
		return EXIT_PTWRITE;
	case SMF_MMIO:
		run_stats.mmio_exits++;
		c->exit_info = EMULATE_MMIO;    /* device memory: the monitor performs the instruction */
		return EXIT_EMULATE;
	default:
		return EXIT_NONE;
	}
}

/* Deliver the exception of `reason` (EXIT_PF or EXIT_EXCEPTION) from CPL 3 now and go on in
 * translated code at the handler, or leave for the run loop; false: not here, exit as usual. */
static bool deliver_in_handler(struct vcpu *c, const struct cc_block *b, unsigned reason, greg_t *gr)
{
	int vec = reason == EXIT_PF ? EXC_PF : (int)c->exit_info;
	if (c->cpl != 3 || (b->mode & (XM_SINGLE | XM_PROT | XM_PG | XM_NONFLAT)) != (XM_PROT | XM_PG) ||
	    (c->eflags & (FL_TF | FL_VM)) || (vmm_log_mask & (LOG_EXEC | LOG_CPU | LOG_INT)) ||
	    (vec != EXC_PF && vec != EXC_DE && vec != EXC_UD && vec != EXC_GP))
		return false;
	emu_raise(c, vec, reason == EXIT_PF ? c->exit_info : 0);
	vm_pf_note(c);
	run_stats.handler_exceptions++;
	if (emu_deliver_exception(c) == EXIT_SHUTDOWN) {
		c->exit_reason = EXIT_SHUTDOWN;
		gr[REG_RIP] = (greg_t)(uintptr_t)xl_leave;
		return true;
	}
	xl_sync_segments(c);
	uint32_t mode = xl_mode(c);
	const struct cc_lookup *lk = (const struct cc_lookup *)(uintptr_t)c->lk_view[0];
	uint64_t win = c->win_view[0];
	gr[REG_R13] = (greg_t)(uintptr_t)c;
	if (c->cpl != 0 || (mode & (XM_PROT | XM_PG | XM_NONFLAT)) != (XM_PROT | XM_PG) || !win || !lk ||
	    lk->tag != CC_LK_TAG(mode, 0)) {
		c->exit_reason = EXIT_LOOKUP;   /* delivered: the loop goes on at the handler */
		c->spill[0] = 0;
		gr[REG_RIP] = (greg_t)(uintptr_t)xl_leave;
		return true;
	}
	static const int map[8] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_R12, REG_RBP, REG_RSI, REG_RDI};
	for (int i = 0; i < 8; i++)
		gr[map[i]] = (greg_t)c->regs[i];
	gr[REG_EFL] = (gr[REG_EFL] & ~(greg_t)FL_HOST) | (c->eflags & FL_HOST);
	gr[REG_RSP] = (greg_t)c->host_rsp;
	gr[REG_R15] = (greg_t)win;
	__asm__ volatile("wrgsbase %0" : : "r"(win));
	c->lookup_table = (uint64_t)(uintptr_t)lk;
	unsigned i = cc_lk_index(c->eip);
	gr[REG_RIP] = (greg_t)(lk->key[i] == c->eip ? lk->host[i] : (uint64_t)(uintptr_t)cc_miss_stub());
	return true;
}

void vm_pf_note(struct vcpu *c)
{
	if (c->exc_vector != EXC_PF || c->cpl != 3)
		return;
	c->pf_retry = 1;
	c->pf_retry_la = c->cr2;
	c->pf_retry_eip = c->eip;
	c->pf_retry_cr3 = c->cr3;
}

void vmm_pf_retry(struct vcpu *c, uint32_t eip)
{
	c->pf_retry = 0;
	if (eip == c->pf_retry_eip && c->cr3 == c->pf_retry_cr3)
		smmu_prefault(c, c->pf_retry_la);
}

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	uint64_t t0 = __builtin_expect(profile_on, 0) ? profile_tsc() : 0;
	ucontext_t *uc = ctx;
	greg_t *gr = uc->uc_mcontext.gregs;
	uintptr_t rip = (uintptr_t)gr[REG_RIP];
	struct vcpu *c = &the_vm->cpu;
	struct cc_block *b = cc_is_code(rip) ? cc_find_host(rip) : NULL;
	if (!b && cc_is_code(rip))
		b = xl_single_block(rip);
	if (!b)
		crash(sig, si, uc);
	run_stats.signals++;
	bool write = (gr[REG_ERR] & 2) != 0;
	enum smf sf = SMF_BAD;
	uint32_t info = 0, cr2 = c->cr2;
	if ((sig == SIGSEGV || sig == SIGBUS) && si->si_addr != req_fault_page && si->si_code != SI_KERNEL) {
		sf = smmu_fault(c, (uintptr_t)si->si_addr, write, &info);
		if (sf == SMF_RETRY) {  /* a shadow fill: the instruction runs again */
			if (__builtin_expect(profile_on, 0))
				profile_fill(c, b, (uint32_t)(rip - (uintptr_t)b->host), t0);
			return;
		}
	}
	save_guest_regs(c, gr);
	unsigned reason = EXIT_NONE;
	uint32_t off = (uint32_t)(rip - (uintptr_t)b->host);
	unsigned i = 0;
	while (i + 1 < b->ninsn && b->imap[i + 1].host_off <= off)
		i++;
	c->eip = b->imap[i].eip;
	if (sig == SIGSEGV && si->si_addr == req_fault_page) {
		/* a block-head request or an interrupt probe after STI/POPF */
		reason = EXIT_REQUEST;
		if (b->imap[i].fix & XI_INHIBIT)
			c->intr_inhibit = true;
	} else {
		fixup(c, b, &b->imap[i], gr);
		if (sig == SIGFPE) {          /* #DE, x87 #MF or SIMD #XM, by the host trap */
			long trap = (long)gr[REG_TRAPNO];
			reason = EXIT_EXCEPTION;
			c->exit_info = trap == EXC_MF ? EXC_MF : trap == EXC_XM ? EXC_XM : EXC_DE;
		}
		else if (sig == SIGILL) { reason = EXIT_EXCEPTION; c->exit_info = EXC_UD; }
		else if (sig == SIGSEGV && si->si_code == SI_KERNEL) {
			/* a host #GP: the guest instruction itself is at fault (e.g. reserved
			 * MXCSR bits in LDMXCSR/FXRSTOR); give the guest the same #GP(0) */
			reason = EXIT_EXCEPTION;
			c->exit_info = EXC_GP;
		} else if ((b->imap[i].fix & XI_FASTRING) && (sig == SIGSEGV || sig == SIGBUS)) {
			reason = EXIT_EMULATE;    /* exit_info set by the site: the monitor runs it */
			c->cr2 = cr2;             /* and raises the #PF itself, CR2 with it, if any */
		}
		else if (sig == SIGSEGV || sig == SIGBUS)
			reason = window_exit(c, sf, info);
	}
	if (reason == EXIT_NONE)
		crash(sig, si, uc);
	if ((reason == EXIT_PF || reason == EXIT_EXCEPTION) && deliver_in_handler(c, b, reason, gr))
		return;
	c->exit_reason = reason;
	gr[REG_R13] = (greg_t)(uintptr_t)c;
	gr[REG_RIP] = (greg_t)(uintptr_t)xl_leave;
}

static void on_alarm(int sig)
{
	(void)sig;
	timer_armed_ns = 0;
	alarm_seen = 1;
	if (the_vm)
		vm_request_exit(the_vm);
}

static void on_abort(int sig)
{
	(void)sig;
	con_restore();
	vmm_backtrace();
	signal(SIGABRT, SIG_DFL);
	raise(SIGABRT);
}

int vm_signals_install(void)
{
	static uint8_t altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	if (sigaltstack(&ss, NULL) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_abort;
	sa.sa_flags = 0;
	sigaction(SIGABRT, &sa, NULL);
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	return timer_create(CLOCK_MONOTONIC, &sev, &host_timer);
}

/* ---- the host timer ----------------------------------------------------------------- */

void vm_timer_arm(uint64_t when)
{
	uint64_t now = host_now_ns();
	if (when == UINT64_MAX)
		when = now + POLL_NS;
	if (when < now + TIMER_MIN_NS)
		when = now + TIMER_MIN_NS;
	if (timer_armed_ns && timer_armed_ns <= when)
		return;
	struct itimerspec its = { .it_value = { (time_t)(when / 1000000000ull), (long)(when % 1000000000ull) } };
	timer_armed_ns = when;
	timer_settime(host_timer, TIMER_ABSTIME, &its, NULL);
}
