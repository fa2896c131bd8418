/*
 * run.c - the run loop, exits from translated code, and the host signals.
 *
 * vm_run() is the only loop that runs the guest: take pending events (devices, external
 * interrupts), find or translate the block at EIP, enter it, and handle the reason it came
 * back for (handle_exit).  Blocks chain to each other directly, so the loop only sees
 * exits that need the monitor.
 *
 * Host signals while translated code runs are guest events:
 *  - SIGSEGV on the request page at a block head: an exit was requested (timer, device);
 *  - SIGSEGV in the window: a store to a page holding translated code (self-modifying
 *    code), or an access to a physical address that is not RAM (device memory);
 *  - SIGFPE: #DE; SIGILL: #UD.
 * The handler rebuilds the guest state of the faulting instruction from the signal
 * context and the block's instruction map, then resumes at xl_leave.  A signal anywhere
 * else is a monitor crash: backtrace and abort.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "vmm.h"
#include "memory.h"
#include "param.h"
#include "run.h"
#include "../translator/xl.h"
#include "../translator/xl_asm.h"
#include "../codecache/cc.h"
#include "../emulation/emu.h"
#include "../devices/devices.h"
#include "../shadow-mmu/smmu.h"
#include "../pv/pv.h"


static struct vm *the_vm;
static uint8_t req_ok_page[4096] __attribute__((aligned(4096)));
static void *req_fault_page;
static timer_t host_timer;
static volatile uint64_t timer_armed_ns;   /* 0: not armed */
static int console_in = -1;
struct run_stats run_stats;
uint8_t xl_host_fpu[512] __attribute__((aligned(64)));

void vmm_backtrace(void);

void vm_request_exit(struct vm *vm)
{
	vm->cpu.req_ptr = (uint64_t)(uintptr_t)req_fault_page;
}

void vmm_ram_written(struct vm *vm, gpa_t gpa, uint32_t len)
{
	(void)vm;
	if (len == 0)
		return;
	smmu_ram_written(gpa, len);
	for (gpa_t p = gpa & ~(GUEST_PAGE - 1); p <= ((gpa + len - 1) & ~(GUEST_PAGE - 1)); p += GUEST_PAGE) {
		if (cc_page_has_code(p))
			cc_invalidate_page(p);
		if (p + GUEST_PAGE == 0)
			break;
	}
}

/* Lookup tables are tagged with the (mode, CS base) they were filled under and checked on
 * every entry (smmu_lookup), so a mode change needs no work here. */
void vmm_mode_changed(struct vcpu *c)
{
	(void)c;
}

void vmm_tlb_flush(struct vcpu *c, gla_t la, bool all)
{
	smmu_tlb_flush(c, la, all);
}

/* ---- signals ------------------------------------------------------------------------ */

static void crash(int sig, siginfo_t *si, ucontext_t *uc)
{
	static const char msg[] = "vmm386: monitor crashed\n";
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
		c->exit_info = 1;      /* device memory: the monitor performs the instruction */
		return EXIT_EMULATE;
	default:
		return EXIT_NONE;
	}
}

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
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
	uint32_t info = 0;
	if ((sig == SIGSEGV || sig == SIGBUS) && si->si_addr != req_fault_page && si->si_code != SI_KERNEL) {
		sf = smmu_fault(c, (uintptr_t)si->si_addr, write, &info);
		if (sf == SMF_RETRY)
			return;         /* a shadow fill: the instruction runs again */
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
		} else if ((b->imap[i].fix & XI_FASTRING) && (sig == SIGSEGV || sig == SIGBUS))
			reason = EXIT_EMULATE;    /* exit_info set by the site: the monitor runs it */
		else if (sig == SIGSEGV || sig == SIGBUS)
			reason = window_exit(c, sf, info);
	}
	if (reason == EXIT_NONE)
		crash(sig, si, uc);
	c->exit_reason = reason;
	gr[REG_R13] = (greg_t)(uintptr_t)c;
	gr[REG_RIP] = (greg_t)(uintptr_t)xl_leave;
}

static volatile sig_atomic_t alarm_seen;

/* Device or PV timer state changed outside port I/O: poll before the next entry. */
void vm_request_poll(void)
{
	alarm_seen = 1;
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
	vmm_backtrace();
	signal(SIGABRT, SIG_DFL);
	raise(SIGABRT);
}

static int install_signals(void)
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

/* Make sure the host timer fires no later than `when` (monotonic ns). */
static void arm_timer(uint64_t when)
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

/* ---- events ------------------------------------------------------------------------- */

static uint64_t poll_devices(void)
{
	uint64_t next = dev_poll(dev_now_ns());
	if (pv_enabled()) {
		uint64_t pv = pv_poll(host_now_ns());
		if (pv < next)
			next = pv;
	}
	uint64_t cap = host_now_ns() + POLL_NS;
	return next < cap ? next : cap;
}

/* Deliver one external interrupt if the guest can take it.  Returns -1 on shutdown. */
static int take_interrupt(struct vcpu *c)
{
	if (pv_enabled())
		return pv_take_event(c);
	if (!(c->eflags & FL_IF) || c->intr_inhibit || dev_intr_pending() < 0)
		return 0;
	int vec = dev_intr_ack();     /* the LAPIC's vector, else the 8259's */
	if (LOG_ON(LOG_INT))
		vmm_log("interrupt: vector %#x at %04x:%08x\n", vec, c->seg[S_CS].sel, c->eip);
	c->halted = false;
	run_stats.interrupts++;
	return emu_deliver_interrupt(c, vec) == EXIT_SHUTDOWN ? -1 : 0;
}

/* HLT: sleep until the next device event or console input.  Returns -1 if it never ends. */
static int wait_halted(struct vcpu *c, uint64_t next)
{
	if (!(c->eflags & FL_IF))
		return -1;
	uint64_t now = host_now_ns();
	int ms = next > now ? (int)((next - now + 999999) / 1000000) : 0;
	int fd = console_in >= 0 ? dev_uart_input_fd() : -1;   /* none after end of file */
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	poll(&pfd, fd >= 0 ? 1 : 0, ms);
	run_stats.halts++;
	return 0;
}

/* ---- the loop ----------------------------------------------------------------------- */

/*
 * The block at CS:EIP for `mode`, translated if needed.  With paging the code's linear
 * address is walked first: a fetch from an unmapped page raises #PF (NULL is returned and
 * the caller delivers it).  Near the end of a page the next page's frame is part of the
 * key, since a block whose first instruction straddles depends on both mappings.
 */
static struct cc_block *find_block(struct vcpu *c, uint32_t mode, bool *noted)
{
	gla_t la = c->seg[S_CS].base + c->eip;
	gpa_t pa = la, pa2 = ~0u;
	*noted = true;
	if (c->cr0 & CR0_PG) {
		if (emu_translate(c, la, EMU_ACC_FETCH, &pa) < 0)
			return NULL;
		*noted = smmu_note_code(c, la);
		if ((la & (GUEST_PAGE - 1)) > GUEST_PAGE - 16) {
			struct emu_walk w;
			gla_t next = (la | (GUEST_PAGE - 1)) + 1;
			pa2 = emu_walk(c, next, false, c->cpl == 3, &w) ? ~1u : w.gpa & ~(GUEST_PAGE - 1);
			if (pa2 != ~1u)
				*noted &= smmu_note_code(c, next);
		}
	}
	struct cc_block *b = (mode & XM_SINGLE) ? NULL : cc_find(pa, pa2, c->eip, mode, c->seg[S_CS].base);
	if (!b) {
		b = xl_translate(c, mode);
		if (!b) {
			cc_flush();
			b = xl_translate(c, mode);
			if (!b)
				vmm_panic("translation cache too small for one block");
		}
		xl_log_block(c, b);
	}
	return b;
}

static bool chaining_allowed(void)
{
	return !(vmm_log_mask & (LOG_EXEC | LOG_CPU));
}

/*
 * May the direct exit `e` jump straight to block b from now on?  Only if b is what the
 * exit's target means (no interrupt or exception was delivered in between), under the
 * same mode, and - with paging - only inside one linear page, into a block that does not
 * straddle: blocks are shared by every window, and only the source page's own mapping is
 * known to be the same wherever the source block runs.
 */
static bool may_chain(const struct cc_exit *e, const struct cc_block *b, uint32_t mode)
{
	const struct cc_block *a = e->blk;
	if (!a->valid || !b->valid || (mode & XM_SINGLE) || a->mode != mode || e->target != b->eip ||
	    a->cs_base != b->cs_base)
		return false;
	if (mode & XM_PG)
		return ((a->cs_base + a->eip) >> 12) == ((b->cs_base + b->eip) >> 12) && b->page[1] == ~0u &&
		       a->page[1] == ~0u;
	return true;
}

/* Handle an exception recorded with emu_raise or reported by translated code. */
static int deliver(struct vcpu *c)
{
	if (LOG_ON(LOG_INT))
		vmm_log("exception %d (error %#x) at %04x:%08x\n", c->exc_vector, c->exc_error,
			c->seg[S_CS].sel, c->eip);
	run_stats.exceptions++;
	return emu_deliver_exception(c) == EXIT_SHUTDOWN ? -1 : 0;
}

static int after_emulation(struct vcpu *c, int r)
{
	switch (r) {
	case EXIT_NONE: return 0;
	case EXIT_EXCEPTION: return deliver(c);
	case EXIT_HALT: c->halted = true; return 0;
	case EXIT_SHUTDOWN: return -1;
	default: return 0;
	}
}

static int handle_exit(struct vcpu *c, unsigned reason);

/*
 * Adaptive translation.  An instruction whose memory access faults again and again (a
 * store into a traced page table, an access to device memory) costs a host signal, and for
 * traced stores a single-step translation, every time.  After ADAPT_FAULTS such faults its
 * page's translations are dropped and the translator emits a direct monitor call for it
 * (EXIT_EMULATE): the interpreter performs the access, and its writes reach the shadow MMU
 * through vmm_ram_written.  Keyed by the instruction's guest-physical address.
 */
#define ADAPT_SLOTS  1024u
#define ADAPT_FAULTS 4u
#define ADAPT_MISSES 16u
static struct { gpa_t pa; uint32_t faults, misses, limit; bool on; } adapt[ADAPT_SLOTS];

static unsigned adapt_slot(gpa_t pa) { return (pa * 0x9E3779B1u) >> 22; }

bool vmm_adaptive_emulate(gpa_t pa)
{
	unsigned i = adapt_slot(pa);
	return adapt[i].pa == pa && adapt[i].on;
}

/* The page's translations are rebuilt, natively or as monitor calls. */
static void adapt_retranslate(gpa_t pa)
{
	cc_invalidate_page(pa & ~(GUEST_PAGE - 1));
}

/* A monitor call made for adaptive translation ran: did it hit what it was made for?  An
 * instruction that mostly touches ordinary memory (a memcpy that once copied page tables)
 * goes back to native code, and needs twice as many faults to come back. */
static void adapt_result(struct vcpu *c, gpa_t pa, bool hit)
{
	(void)c;
	unsigned i = adapt_slot(pa);
	if (adapt[i].pa != pa || !adapt[i].on)
		return;
	if (hit) {
		adapt[i].misses = 0;
		return;
	}
	if (++adapt[i].misses >= ADAPT_MISSES) {
		adapt[i].on = false;
		adapt[i].faults = 0;
		adapt[i].misses = 0;
		adapt[i].limit = adapt[i].limit < (1u << 20) ? adapt[i].limit * 2 : adapt[i].limit;
		run_stats.adapt_reverts++;
		adapt_retranslate(pa);
	}
}

static gpa_t insn_pa(struct vcpu *c)
{
	gpa_t pa = c->seg[S_CS].base + c->eip;
	if (c->cr0 & CR0_PG) {
		struct emu_walk w;
		if (emu_walk(c, pa, false, c->cpl == 3, &w))
			return ~0u;
		pa = w.gpa;
	}
	return pa;
}

/* The instruction at CS:EIP took a fault that emulation would have avoided. */
static void adapt_note(struct vcpu *c)
{
	gpa_t pa = insn_pa(c);
	if (pa == ~0u)
		return;
	unsigned i = adapt_slot(pa);
	if (adapt[i].pa != pa)
		adapt[i].pa = pa, adapt[i].faults = 0, adapt[i].misses = 0, adapt[i].limit = ADAPT_FAULTS,
		adapt[i].on = false;
	if (!adapt[i].on && ++adapt[i].faults >= adapt[i].limit) {
		adapt[i].on = true;
		run_stats.adapt_on++;
		adapt_retranslate(pa);
	}
}

/* Run the instruction at EIP alone, from an uncached translation. */
static int single_step(struct vcpu *c)
{
	bool noted;
	struct cc_block *b = find_block(c, xl_mode(c) | XM_SINGLE, &noted);
	if (!b)
		return deliver(c);
	return handle_exit(c, xl_enter(c, b->host, smmu_base()));
}

/* Returns -1 when the guest cannot continue (triple fault, hang with IF=0). */
static int handle_exit(struct vcpu *c, unsigned reason)
{
	switch (reason) {
	case EXIT_LOOKUP:
	case EXIT_REQUEST:
		return 0;
	case EXIT_EMULATE:
		run_stats.emulated++;
		if (c->exit_info == 1)          /* from a device-memory fault */
			adapt_note(c);
		if (c->exit_info == 2) {        /* an adaptive monitor call */
			gpa_t pa = insn_pa(c);
			uint64_t t = smmu_stats.traced_monitor_writes, m = emu_mmio_count;
			int r = after_emulation(c, emu_step(c));
			adapt_result(c, pa, smmu_stats.traced_monitor_writes != t || emu_mmio_count != m);
			return r;
		}
		if (c->exit_info >= XL_INFO_RING) {   /* inline INT/IRET missed its cache */
			uint32_t info = c->exit_info, eip = c->eip;
			int cpl = c->cpl;
			int e = emu_step(c);
			if (e == 0 && c->cpl != cpl)
				xl_ring_fill(c, info, cpl, eip);
			return after_emulation(c, e);
		}
		if (c->exit_info >= XL_INFO_SREG) {   /* inline segment load missed its cache */
			uint32_t info = c->exit_info, eip = c->eip;
			int e = emu_step(c);
			if (e == 0 && c->eip != eip)
				xl_sreg_fill(c, info);
			return after_emulation(c, e);
		}
		return after_emulation(c, emu_step(c));
	case EXIT_EXCEPTION:
		emu_raise(c, (int)c->exit_info, 0);
		return deliver(c);
	case EXIT_PF:
		emu_raise(c, EXC_PF, c->exit_info);
		return deliver(c);
	case EXIT_FETCH_PF: {
		gpa_t pa;
		if (emu_translate(c, c->exit_info, EMU_ACC_FETCH, &pa) < 0)
			return deliver(c);
		return 0;               /* mapped meanwhile: look the block up again */
	}
	case EXIT_SMC: {
		cc_invalidate_page(c->exit_info);
		return single_step(c);
	}
	case EXIT_PTWRITE: {
		/* a store to a traced page table: let it through alone, then see what changed */
		gpa_t frame = c->exit_info;
		gla_t la = smmu_last_fault();
		uint32_t before[GUEST_PAGE / 4];
		memcpy(before, c->vm->ram + frame, GUEST_PAGE);
		adapt_note(c);
		smmu_trace_begin(la);
		int r = single_step(c);
		smmu_trace_end(la, frame, before);
		return r;
	}
	default:
		vmm_panic("unknown exit reason %u", reason);
	}
}

static void stopped(struct vm *vm, const char *why, int status)
{
	fprintf(stderr, "vmm386: %s\n", why);
	emu_dump_state(&vm->cpu, stderr);
	vm->exit_status = status;
}

int vm_run(struct vm *vm)
{
	struct vcpu *c = &vm->cpu;
	struct cc_exit *link = NULL;
	uint64_t next = 0, pio_seen = ~0ull;
	bool poll = true;
	for (;;) {
		c->req_ptr = (uint64_t)(uintptr_t)req_ok_page;
		/* devices only change state with time (the host timer says when) or when the
		 * guest touches them: other exits skip the clock reads */
		if (poll || alarm_seen || dev_pio_count != pio_seen) {
			alarm_seen = 0;
			pio_seen = dev_pio_count;
			next = poll_devices();
			arm_timer(next);
		}
		poll = false;
		if (vm->stop)
			return vm->exit_status;
		if (take_interrupt(c) < 0)
			return stopped(vm, "triple fault: guest shut down", EXIT_STATUS_GUESTDEAD), vm->exit_status;
		if (c->halted) {
			if (wait_halted(c, next) < 0)
				return stopped(vm, "guest halted with interrupts disabled", EXIT_STATUS_HALTED), vm->exit_status;
			poll = true;
			continue;
		}
		xl_sync_segments(c);
		uint32_t mode = xl_mode(c) | (c->intr_inhibit ? XM_SINGLE : 0);
		uint64_t flushes = cc_stats.flushes;
		uint8_t *window = smmu_select(c);
		bool noted;
		struct cc_block *b = find_block(c, mode, &noted);
		if (!b) {               /* #PF on the instruction fetch */
			link = NULL;
			if (deliver(c) < 0)
				return stopped(vm, "triple fault: guest shut down", EXIT_STATUS_GUESTDEAD), vm->exit_status;
			continue;
		}
		struct cc_lookup *lk = smmu_lookup(mode & ~XM_SINGLE, c->seg[S_CS].base);
		c->lookup_table = (uint64_t)(uintptr_t)lk;
		if (link && may_chain(link, b, mode) && cc_stats.flushes == flushes && chaining_allowed())
			cc_link(link, b);
		/* the window's table goes stale when a code page of the window changes mapping,
		 * so a block may enter it once every page it was translated from is mapped in
		 * the window (a straddling block's second page included) */
		if (!(mode & XM_SINGLE) && chaining_allowed() && noted &&
		    !(b->page[1] == ~1u && (mode & XM_PG)))
			cc_lookup_insert(lk, b);
		if (LOG_ON(LOG_EXEC))
			vmm_log("exec: %08x [%p]\n", c->eip, (void *)b->host);
		if (LOG_ON(LOG_CPU))
			emu_dump_state(c, vmm_log_file ? vmm_log_file : stderr);
		c->intr_inhibit = false;
		c->spill[0] = 0;
		/* an inline IF=0 -> 1 change (STI, POPF, IRET) leaves when something is waiting */
		bool waiting = dev_intr_pending() >= 0 || pv_events_pending();
		c->irq_ptr = (uint64_t)(uintptr_t)(waiting ? req_fault_page : req_ok_page);
		unsigned reason = xl_enter(c, b->host, window);
		run_stats.exits++;
		poll = reason == EXIT_REQUEST || reason == EXIT_HALT;
		link = reason == EXIT_LOOKUP ? (struct cc_exit *)(uintptr_t)c->spill[0] : NULL;
		if (handle_exit(c, reason) < 0)
			return stopped(vm, "triple fault: guest shut down", EXIT_STATUS_GUESTDEAD), vm->exit_status;
		if (reason == EXIT_EMULATE && pv_enabled())   /* a hypercall may have moved it */
			c->pv_vif = (uint64_t)(uintptr_t)pv_vif_ptr();
	}
}

int vm_run_init(struct vm *vm, int in_fd)
{
	the_vm = vm;
	console_in = in_fd;
	req_fault_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (req_fault_page == MAP_FAILED)
		return -1;
	vm->cpu.req_ptr = (uint64_t)(uintptr_t)req_ok_page;
	vm->cpu.irq_ptr = (uint64_t)(uintptr_t)req_ok_page;
	if (smmu_init(vm, pv_enabled()) < 0)
		return -1;
	vm->cpu.lookup_table = (uint64_t)(uintptr_t)smmu_lookup(0, 0);
	/* clean FPU images: the host's for the monitor, and the guest's power-on state */
	__asm__ volatile("fninit; fxsave64 %0" : "=m"(xl_host_fpu));
	memcpy(vm->cpu.fpu, xl_host_fpu, 512);
	return install_signals();
}
