/*
 * fuzz_translate.c - libFuzzer target: random 32-bit guest code through vmm386's real
 * translator, code cache, emulation layer and devices, in-process (issue 4, item 5).
 *
 * One input = one small guest run:
 *   byte 0      flags (FZ_*): start at CPL 3, deliver exceptions through the guest IDT,
 *               CR0.TS/EM/MP, EFLAGS.TF/IF, DS/ES on a non-flat segment;
 *   bytes 1-32  initial EAX..EDI (little-endian; missing bytes keep the defaults);
 *   bytes 33-65 the paging header (fz.h, fz_paging.c): paging on or off, CR0.WP, CR4.PSE
 *               and PGE, which directory, tracing instead of out-of-sync tables, chaining,
 *               and up to 8 page-table entries rewritten; all zero: no paging, no chaining;
 *   the rest    guest code (up to 16 KiB), copied to CODE and run from there.
 * The sandbox guest has 1 MiB of RAM, filled with HLT so that code running off the input
 * stops, holding an IDT (every vector -> a HLT at HANDLER), a GDT with flat ring-0 and
 * ring-3 segments, a TSS and a few odd segments (based, expand-down, 16-bit, read-only,
 * conforming) for the code to load, and with paging two page directories and their tables
 * (fz_paging.c), all identity-mapped so the code can store to them, switch CR3 and INVLPG.
 * The run loop mirrors monitor/run.c's vm_run() without its host timer: the window of the
 * shadow MMU for the current mode (smmu_select), the block lookup with the fetch walked
 * through the guest's tables, and every exit reason: LOOKUP/REQUEST go on, EMULATE runs
 * emu_step(), EXCEPTION and the shadow's guest #PF are delivered through the IDT or end
 * the case, FETCH_PF walks again, the self-modifying-code exit invalidates and
 * single-steps, a traced page-table store is single-stepped between smmu_trace_begin and
 * _end, HLT/SHUTDOWN/debug-exit/reset end the case.  Without chaining every block returns
 * to the loop, so a budget of FZ_STEPS block entries bounds each case deterministically;
 * with it (FZP_CHAIN) blocks are linked and entered in the windows' lookup tables as in
 * run.c, and loops of chained blocks never come back: a watchdog on the main thread
 * requests an exit after WATCHDOG_MS and ends the case there (the one place where timing
 * decides how far a case runs).  The devices (re-created per case) see a clock that
 * advances a fixed step per iteration.  Each case starts with empty shadow windows.
 *
 * What is checked, besides the monitor not crashing (ASan, UBSan, run.c's crash handler):
 *  1. Translated code touches no host memory outside the guest window:
 *     - a host fault in the code cache must hit the window the block was entered with (or
 *       its guard pages) or the exit-request page; run.c would take any other address for
 *       device memory;
 *     - the host stack below translated code's one legal slot is canaried (fz_enter.S);
 *     - the vCPU fields translated code only reads (lookup table, segment copies, all
 *       monitor-only state) are compared across every entry (but CR2, which the signal
 *       handler sets for a guest #PF exit, and the segment registers and CPL, which inline
 *       segment loads and ring transitions write; and not at all across an entry during
 *       which the signal handler delivered a guest exception with the emulator's code,
 *       monitor/signals.c, as an exit and a re-entry would);
 *     - the code cache is read-only while translated code runs (arena_guard), so a store
 *       into it is a fault outside the window; its stubs are checksummed per case;
 *     - the monitor's RAM mapping is moved between guard pages, and ASan's low shadow (the
 *       only host mapping below 4 GiB, where a 32-bit address used without the GS window
 *       would land) is made PROT_NONE.
 *  2. No host system call on the guest's behalf: a seccomp filter on the worker thread and
 *     a supervisor thread (fz_seccomp.c tells how, and which calls the monitor may make).
 *  3. With paging, the shadow MMU agrees with the guest's tables after a flush
 *     (fz_paging.c).
 *  Crashes: every crash path (ASan/UBSan report, run.c's crash handler, a BUG below) ends
 *  in abort() or ASan's exit, and libFuzzer's handlers save the input.
 * Self tests (FUZZ_SELFTEST=syscall|stack|fault|cache|monitor|asan) plant one fault of
 * each kind and must be caught; FUZZ_NO_SECCOMP=1 runs without the filter; FUZZ_STATS=1
 * prints translation and shadow-MMU counts at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "monitor/vmm.h"
#include "monitor/memory.h"
#include "monitor/param.h"
#include "monitor/run.h"
#include "translator/xl.h"
#include "translator/xl_asm.h"
#include "codecache/cc.h"
#include "emulation/emu.h"
#include "devices/devices.h"
#include "shadow-mmu/smmu.h"
#include "monitor/mon_int.h"
#include "fz.h"

/* ---- the sandbox guest ------------------------------------------------------------ */

#define RAM_SIZE   (1u << 20)
#define IDT_BASE   0x0000u
#define GDT_BASE   0x0800u
#define TSS_BASE   0x1000u
#define HANDLER    0x2000u
#define STACK_TOP  0x8000u
#define RING0_SP   0x9000u
#define CODE       0x10000u
#define CODE_MAX   0x4000u        /* 16 KiB */
#define FZ_STEPS   400           /* block entries + emulated instructions per case */
#define FZ_HDR     (33 + FZP_HDR) /* flags, registers, the paging header (fz_paging.c) */
#define WATCHDOG_MS 50           /* a case running longer is asked to end (chained loops) */
#define CLOCK_STEP 20000u        /* ns of device time per loop iteration */
#define EXIT_SMC   100           /* run.c's internal exit: store to a page with code */

enum {
	FZ_CPL3 = 0x01, FZ_DELIVER = 0x02, FZ_TS = 0x04, FZ_EM = 0x08, FZ_MP = 0x10,
	FZ_TF = 0x20, FZ_IF = 0x40, FZ_NONFLAT = 0x80,
};

enum { SEL_CODE0 = 0x08, SEL_DATA0 = 0x10, SEL_CODE3 = 0x1B, SEL_DATA3 = 0x23, SEL_TSS = 0x28,
       SEL_BASED = 0x30 };

/* GDT: base, limit (20 bits), access byte, flags nibble (G D/B L AVL). */
static const struct { uint32_t base, limit; uint8_t access, flags; } gdt[] = {
	{0, 0, 0, 0},
	{0, 0xFFFFF, 0x9A, 0xC},         /* 0x08 ring-0 code, flat */
	{0, 0xFFFFF, 0x92, 0xC},         /* 0x10 ring-0 data, flat */
	{0, 0xFFFFF, 0xFA, 0xC},         /* 0x18 ring-3 code, flat */
	{0, 0xFFFFF, 0xF2, 0xC},         /* 0x20 ring-3 data, flat */
	{TSS_BASE, 0x67, 0x8B, 0x0},     /* 0x28 32-bit TSS, busy */
	{0x1000, 0xFFFF, 0x92, 0x4},     /* 0x30 data, base 0x1000, 64 KiB */
	{0, 0xFFF, 0x96, 0x4},           /* 0x38 expand-down data */
	{0, 0xFFFF, 0x92, 0x0},          /* 0x40 16-bit data */
	{0, 0xFFFFF, 0x90, 0xC},         /* 0x48 read-only data */
	{0, 0xFFFF, 0x9A, 0x0},          /* 0x50 16-bit code */
	{0, 0xFFFFF, 0x9E, 0xC},         /* 0x58 conforming code */
	{0x1000, 0xFFFF, 0xF2, 0x4},     /* 0x60 ring-3 data, base 0x1000 */
};
#define NGDT (sizeof(gdt) / sizeof(gdt[0]))

static uint64_t desc_of(unsigned i)
{
	uint32_t b = gdt[i].base, l = gdt[i].limit;
	return (uint64_t)(l & 0xFFFF) | (uint64_t)(b & 0xFFFFFF) << 16 |
	       (uint64_t)gdt[i].access << 40 | (uint64_t)((l >> 16) & 0xF) << 48 |
	       (uint64_t)gdt[i].flags << 52 | (uint64_t)(b >> 24) << 56;
}

/* The hidden part the CPU would load for GDT entry sel. */
static struct seg seg_of(uint16_t sel)
{
	unsigned i = sel >> 3;
	uint16_t attr = (uint16_t)(gdt[i].access | gdt[i].flags << 12);
	uint32_t lim = gdt[i].limit;
	if (gdt[i].flags & 0x8)
		lim = lim << 12 | 0xFFF;
	return (struct seg){ sel, attr, gdt[i].base, lim };
}

static void wr32(struct vm *vm, uint32_t a, uint32_t v) { memcpy(vm->ram + a, &v, 4); }

static void write_tables(struct vm *vm)
{
	memset(vm->ram + TSS_BASE, 0, 0x68);
	for (unsigned v = 0; v < 256; v++) {           /* interrupt gates, DPL 3 */
		wr32(vm, IDT_BASE + 8 * v, (SEL_CODE0 << 16) | (HANDLER & 0xFFFF));
		wr32(vm, IDT_BASE + 8 * v + 4, (HANDLER & 0xFFFF0000u) | 0xEE00u);
	}
	for (unsigned i = 0; i < NGDT; i++) {
		uint64_t d = desc_of(i);
		memcpy(vm->ram + GDT_BASE + 8 * i, &d, 8);
	}
	wr32(vm, TSS_BASE + 4, RING0_SP);                /* esp0 */
	wr32(vm, TSS_BASE + 8, SEL_DATA0);               /* ss0 */
	wr32(vm, TSS_BASE + 0x64, 0xFFFF0000u);         /* no I/O bitmap */
	vm->ram[HANDLER] = 0xF4;                         /* hlt */
}

/* vCPU state for one case from the flags byte and the register bytes. */
static void reset_cpu(struct vcpu *c, uint8_t flags, const uint8_t *regs, size_t nregs)
{
	emu_reset_protected(c, GDT_BASE, (uint16_t)(8 * NGDT - 1));
	c->idtr = (struct dtr){ IDT_BASE, 0x7FF };
	c->tr = seg_of(SEL_TSS);
	c->regs[R_ESP] = STACK_TOP;
	memcpy(c->regs, regs, nregs);
	if (flags & FZ_CPL3) {
		c->cpl = 3;
		c->seg[S_CS] = seg_of(SEL_CODE3);
		for (int s = 0; s < S_NR; s++)
			if (s != S_CS)
				c->seg[s] = seg_of(SEL_DATA3);
	}
	if (flags & FZ_NONFLAT)
		c->seg[S_DS] = c->seg[S_ES] = seg_of((flags & FZ_CPL3) ? 0x63 : SEL_BASED);
	c->cr0 |= (flags & FZ_TS ? CR0_TS : 0) | (flags & FZ_EM ? CR0_EM : 0) |
		  (flags & FZ_MP ? CR0_MP : 0);
	c->eflags |= (flags & FZ_TF ? FL_TF : 0) | (flags & FZ_IF ? FL_IF : 0);
	for (int s = 0; s < S_NR; s++)
		c->seg_base[s] = c->seg[s].base;
	c->eip = CODE;
}

/* ---- process state ----------------------------------------------------------------- */

static struct vm vm;
static uint64_t req_ok, req_fault;       /* vcpu->req_ptr values: run / exit requested */
static uint8_t *window, *arena;
static uint8_t *cur_window;              /* the window the running block was entered with */
static int devnull = -1;
static uint64_t fake_ns = 1000000000ull;
static struct sigaction monitor_sa;      /* run.c's handler for SIGSEGV etc. */
unsigned fz_canary_damage;               /* set by fz_enter.S */
unsigned fz_enter(struct vcpu *c, const void *code, void *window);

static uint64_t stubs_sum;

static uint64_t fz_clock(void) { return fake_ns; }

/* A broken invariant: report and abort (libFuzzer saves the input).  fz_in_case is cleared
 * before the call, because ASan's instrumentation of a noreturn call makes system calls. */
#define bug(...) (fz_in_case = 0, fz_bug(__VA_ARGS__))
void fz_bug(const char *fmt, ...)
{
	va_list ap;
	fz_in_case = 0;
	fprintf(stderr, "\nfuzz_translate: BUG: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	emu_dump_state(&vm.cpu, stderr);
	abort();
}

static uint64_t checksum(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* ---- host faults from translated code ----------------------------------------------- */

/* A fault in the code cache must be an access to the window the block was entered with
 * (RAM, device memory above it, the guard pages around it) or the exit-request page; anything else is translated code
 * reaching host memory, which run.c would silently treat as device memory. */
static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	greg_t *gr = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	uint64_t a = (uint64_t)(uintptr_t)si->si_addr, w = (uint64_t)(uintptr_t)cur_window;
	if (cc_is_code((uintptr_t)gr[REG_RIP]) && si->si_code != SI_KERNEL &&
	    !(a >= w - GUEST_PAGE && a < w + (1ull << 32) + GUEST_PAGE) &&
	    (a & ~(uint64_t)(GUEST_PAGE - 1)) != req_fault) {
		fz_in_case = 0;
		fz_raw_print("\nfuzz_translate: BUG: translated code at %#llx touched host address "
			  "%#llx outside the guest window [%#llx, +4 GiB) (signal %d)\n",
			  (unsigned long long)gr[REG_RIP], (unsigned long long)a,
			  (unsigned long long)w, sig);
		abort();
	}
	monitor_sa.sa_sigaction(sig, si, ctx);
}

/* Every handler on the alternate stack (the canary below translated code's stack must
 * only change through translated code), and ours in front of run.c's for SEGV/BUS. */
static void fix_signal_handlers(void)
{
	struct sigaction sa;
	for (int s = 1; s < 32; s++) {
		if (s == SIGKILL || s == SIGSTOP || sigaction(s, NULL, &sa) < 0)
			continue;
		if (s == SIGSEGV || s == SIGBUS) {
			sa = monitor_sa;
			sa.sa_sigaction = on_fault;
		} else if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) {
			continue;
		}
		sa.sa_flags |= SA_ONSTACK;
		sigaction(s, &sa, NULL);
	}
}

/* ---- guards ------------------------------------------------------------------------- */

/* The monitor's RAM mapping (vm->ram) lands wherever mmap put it, usually between other
 * read-write mappings, where a monitor write just past RAM would go unnoticed.  Before
 * anything else uses vm->ram, move it into the middle of a PROT_NONE reservation so both
 * neighbours are guard pages.  Returns 0, or -1 if it stays where it was. */
static int guard_ram(void)
{
	size_t span = RAM_SIZE + 2 * GUEST_PAGE;
	uint8_t *res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	if (res == MAP_FAILED)
		return -1;
	void *to = mremap(vm.ram, RAM_SIZE, RAM_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
			  res + GUEST_PAGE);
	if (to == MAP_FAILED) {
		munmap(res, span);
		return -1;
	}
	vm.ram = to;
	return 0;
}

/* ASan's low shadow [0x7fff8000, 0x10007fff8000) starts below 4 GiB: a guest address used
 * without the GS window would land there silently.  Nothing lives in low memory for it to
 * shadow, so the part below 4 GiB is made inaccessible. */
static const char *guard_low_shadow(void)
{
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= 0x7fff8000ul && hi > 0x7fff8000ul)
			found = strstr(line, " rw-p ") != NULL;
	}
	if (f)
		fclose(f);
	if (found && mprotect((void *)0x7fff7000ul, (1ul << 32) - 0x7fff7000ul, PROT_NONE) == 0)
		return "ASan low shadow below 4 GiB made PROT_NONE";
	return "ASan low shadow not found below 4 GiB";
#endif
#endif
	return "no ASan";
}

/* Nothing of the host may be mapped below 4 GiB (a window-less 32-bit address). */
static void report_low_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < (1ul << 32) && !strstr(line, " ---p "))
			fprintf(stderr, "fuzz_translate: WARNING: accessible host mapping below "
				"4 GiB: %s", line);
	}
	if (f)
		fclose(f);
}

/* ---- the run loop ------------------------------------------------------------------- */

/* The code cache is read-only while translated code runs (arena_guard): a store into it
 * faults outside the window, which on_fault reports; the monitor patches it (chaining,
 * invalidation) only between entries, with write access back. */
static void arena_guard(bool ro)
{
	if (mprotect(arena, CC_SIZE, ro ? PROT_READ | PROT_EXEC : PROT_READ | PROT_WRITE | PROT_EXEC) < 0)
		bug("cannot change the code cache's protection: %s", strerror(errno));
}

/* run.c's link_block() under FZP_CHAIN: chain the exit that led here, and enter b in the
 * window's lookup table; without it the table is selected but never filled. */
static void link_block(struct vcpu *c, struct cc_exit *link, struct cc_block *b, uint32_t mode,
		       uint64_t flushes, bool noted, bool chain)
{
	struct cc_lookup *lk = smmu_lookup(mode & ~XM_SINGLE, c->seg[S_CS].base);
	c->lookup_table = (uint64_t)(uintptr_t)lk;
	if (!chain)
		return;
	if (link && vm_may_chain(link, b, mode) && cc_stats.flushes == flushes)
		cc_link(link, b);
	if (!(mode & XM_SINGLE) && noted && !(b->page[1] == ~1u && (mode & XM_PG)))
		cc_lookup_insert_page(lk, b);
}

/* Enter a block with the canary and the vCPU invariants checked around it. */
static unsigned enter(struct vcpu *c, struct cc_block *b, uint8_t *win)
{
	static uint8_t before[offsetof(struct vcpu, fpu) - VC_LOOKUP];
	const uint8_t *inv = (const uint8_t *)c + VC_LOOKUP;
	memcpy(before, inv, sizeof(before));
	c->spill[0] = 0;
	cur_window = win;
	uint64_t delivered = run_stats.handler_exceptions;
	arena_guard(true);
	unsigned r = fz_enter(c, b->host, win);
	arena_guard(false);
	if (run_stats.handler_exceptions != delivered)  /* the monitor's delivery ran meanwhile */
		memcpy(before, inv, sizeof(before));
	if (fz_canary_damage)
		bug("%u words of the host stack below translated code changed (block at guest "
		    "%08x, host %p)", fz_canary_damage, b->eip, (void *)b->host);
	if (r == EXIT_PF)                      /* the signal handler set CR2 for it */
		memcpy(before + offsetof(struct vcpu, cr2) - VC_LOOKUP, &c->cr2, sizeof(c->cr2));
	for (size_t i = 0; i < sizeof(before); i++) {
		size_t off = VC_LOOKUP + i;
		/* the segment registers and the CPL: written by the inline segment loads and
		 * ring transitions (sreg_cache.c, ring_cache.c, exc_fast.c), by design */
		if ((off >= offsetof(struct vcpu, seg) && off < offsetof(struct vcpu, seg) + sizeof(c->seg)) ||
		    (off >= offsetof(struct vcpu, cpl) && off < offsetof(struct vcpu, cpl) + sizeof(c->cpl)))
			continue;
		if (before[i] != inv[i])
			bug("translated code changed monitor-only vCPU state at offset %#zx (block at "
			    "guest %08x, exit %u info %#x)", off, b->eip, r, c->exit_info);
	}
	return r;
}

/* Exception exit: deliver through the guest IDT, or end the case.  false = stop. */
static bool exception(struct vcpu *c, bool deliver)
{
	return deliver && emu_deliver_exception(c) != EXIT_SHUTDOWN;
}

static bool handle(struct vcpu *c, unsigned reason, bool deliver);

/* The instruction at EIP alone, from an uncached translation (run.c's single_step). */
static bool single_step(struct vcpu *c, bool deliver)
{
	bool noted;
	struct cc_block *b = vm_find_block(c, xl_mode(c) | XM_SINGLE, &noted);
	if (!b)
		return exception(c, deliver);
	return handle(c, enter(c, b, smmu_base()), deliver);
}

/* One exit reason; returns false when the case is over. */
static bool handle(struct vcpu *c, unsigned reason, bool deliver)
{
	switch (reason) {
	case EXIT_LOOKUP:
	case EXIT_REQUEST:
		return true;
	case EXIT_EMULATE:
		switch (emu_step(c)) {
		case EXIT_NONE: return true;
		case EXIT_EXCEPTION: return exception(c, deliver);
		default: return false;         /* HLT, shutdown */
		}
	case EXIT_EXCEPTION:
		emu_raise(c, (int)c->exit_info, 0);
		return exception(c, deliver);
	case EXIT_PF:
		emu_raise(c, EXC_PF, c->exit_info);
		return exception(c, deliver);
	case EXIT_FETCH_PF: {
		gpa_t pa;
		return emu_translate(c, c->exit_info, EMU_ACC_FETCH, &pa) < 0 ? exception(c, deliver) : true;
	}
	case EXIT_SMC:
		cc_invalidate_page(c->exit_info);
		return single_step(c, deliver);
	case EXIT_PTWRITE: {                   /* run.c's traced_store() */
		static uint32_t before[GUEST_PAGE / 4];
		gpa_t frame = c->exit_info;
		gla_t la = smmu_last_fault();
		memcpy(before, vm.ram + frame, GUEST_PAGE);
		adapt_note(c);
		smmu_trace_begin(la);
		bool r = single_step(c, deliver);
		smmu_trace_end(la, frame, before);
		return r;
	}
	case EXIT_DEBUG:               /* the guest's own instruction breakpoint, as run.c */
		return dbg_exec_fault(c) ? exception(c, deliver) : true;
	case EXIT_HALT: case EXIT_SHUTDOWN: case EXIT_POWEROFF:
		return false;
	default:
		bug("unknown exit reason %u", reason);
	}
}

static void take_interrupt(struct vcpu *c)
{
	if ((c->eflags & FL_IF) && !c->intr_inhibit && dev_pic_pending() >= 0)
		emu_deliver_interrupt(c, dev_pic_ack());
}

static volatile int expired;             /* the watchdog asked the case to end */

static void run_case(struct vcpu *c, bool deliver, bool chain)
{
	struct cc_exit *link = NULL;
	for (int step = 0; step < FZ_STEPS && !vm.stop && !expired; step++) {
		c->req_ptr = req_ok;
		fake_ns += CLOCK_STEP;
		dev_poll(dev_now_ns());
		take_interrupt(c);
		xl_sync_segments(c);
		uint32_t mode = xl_mode(c) | (c->intr_inhibit ? XM_SINGLE : 0);
		uint64_t flushes = cc_stats.flushes;
		uint8_t *win = smmu_select(c);
		bool noted;
		struct cc_block *b = vm_find_block(c, mode, &noted);
		if (!b) {                      /* #PF on the instruction fetch */
			link = NULL;
			if (!exception(c, deliver))
				break;
			continue;
		}
		link_block(c, link, b, mode, flushes, noted, chain);
		c->intr_inhibit = false;
		unsigned reason = enter(c, b, win);
		/* as run.c: the one-instruction block is reused by the next one, never chained from */
		link = chain && reason == EXIT_LOOKUP && !(mode & XM_SINGLE) ?
		       (struct cc_exit *)(uintptr_t)c->spill[0] : NULL;
		if (!handle(c, reason, deliver))
			break;
	}
}

/* End-of-case checks of the code cache. */
static void check_code(void)
{
	if (checksum(arena, 256) != stubs_sum)
		bug("the code cache's shared stubs changed");
	if (fz_violations)
		bug("%d unexpected host system call(s) during the case (see above)", fz_violations);
}

/* ---- self tests of the detectors (FUZZ_SELFTEST=syscall|stack|fault|cache|monitor|asan) */

/* Run hand-made host code from the code cache's scratch area as if it were a block: each
 * must be caught by the matching detector, which aborts; returning means it was missed. */
static void selftest(const char *what)
{
	static const uint8_t sys[] = { 0xB8, 0x27, 0, 0, 0, 0x0F, 0x05 };      /* getpid */
	static const uint8_t stack[] = { 0x48, 0x81, 0xEC, 0, 2, 0, 0,          /* sub rsp,512 */
		0x48, 0xC7, 0x04, 0x24, 0, 0, 0, 0,                             /* mov [rsp],0 */
		0x48, 0x81, 0xC4, 0, 2, 0, 0 };                                 /* add rsp,512 */
	static const uint8_t fault[] = { 0x48, 0xC7, 0xC0, 0, 0x10, 0, 0,      /* mov rax,4096 */
		0x8B, 0x00 };                                                   /* mov eax,[rax] */
	static const uint8_t cache[] = { 0x48, 0x8D, 0x05, 0xF9, 0xFF, 0xFF, 0xFF,  /* lea rax,[rip-7] */
		0xC6, 0x00, 0x90 };                                             /* mov byte [rax],0x90 */
	size_t room, n;
	uint8_t *code = cc_scratch(&room);
	const uint8_t *body = !strcmp(what, "syscall") ? sys : !strcmp(what, "stack") ? stack :
			      !strcmp(what, "cache") ? cache : fault;
	n = body == sys ? sizeof(sys) : body == stack ? sizeof(stack) : body == cache ? sizeof(cache) :
	    sizeof(fault);
	if (!strcmp(what, "asan")) {                /* a monitor memory error: ASan's report */
		volatile char *p = malloc(8);
		fz_in_case = 1;
		p[8] = 1;
		free((void *)p);
		return;
	}
	if (!strcmp(what, "monitor")) {             /* the monitor doing something odd */
		fz_in_case = 1;
		(void)getppid();
		fz_in_case = 0;
		check_code();
		return;
	}
	memcpy(code, body, n);
	static const uint8_t jmp[] = { 0xFF, 0x25, 0, 0, 0, 0 };                /* jmp [rip] */
	memcpy(code + n, jmp, sizeof(jmp));
	uint64_t thunk = (uint64_t)(uintptr_t)cc_exit_thunk();
	memcpy(code + n + sizeof(jmp), &thunk, 8);
	struct cc_block b = { .eip = CODE, .host = code, .host_len = (uint32_t)(n + 14), .mode = 0 };
	emu_reset_protected(&vm.cpu, GDT_BASE, 0);
	vm.cpu.exit_reason = EXIT_HALT;
	fz_in_case = 1;
	enter(&vm.cpu, &b, window);
	fz_in_case = 0;
}

/* ---- libFuzzer entry points ------------------------------------------------------- */

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	/* run.c installs its own SEGV/BUS/FPE/ILL handlers; leaks are not checked (LSan's
	 * ptrace-based tracer does not run under the seccomp filter). */
	return "allow_user_segv_handler=1:detect_leaks=0";
}

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1";
}

/* ---- the worker thread ---------------------------------------------------------- */

/* Cases run on a worker thread, the only one under the seccomp filter (installed by the
 * worker on itself): libFuzzer's own work (corpus files, its RSS thread) stays unfiltered,
 * and the supervisor thread serving the filter's notifications must not be filtered.
 * The main thread hands each input over and waits.  A crash on the worker ends in abort()
 * there, and libFuzzer's SIGABRT handler saves the input from that thread. */
static pthread_t worker;
static sem_t go, done;
static const uint8_t *job_data;
static size_t job_size;

static void sem_wait_all(sem_t *s)
{
	while (sem_wait(s) < 0 && errno == EINTR)
		;
}

static void run_one(const uint8_t *data, size_t size)
{
	uint8_t flags = size ? data[0] : 0;
	size_t nregs = size > 1 ? (size - 1 < 32 ? size - 1 : 32) : 0;
	size_t npg = size > 33 ? (size - 33 < FZP_HDR ? size - 33 : FZP_HDR) : 0;
	size_t ncode = size > FZ_HDR ? size - FZ_HDR : 0;
	if (ncode > CODE_MAX)
		ncode = CODE_MAX;
	cc_flush();
	smmu_tlb_flush(&vm.cpu, 0, true);  /* no window of an earlier case survives */
	memset(vm.ram, 0xF4, RAM_SIZE);    /* HLT everywhere: running off the input stops */
	write_tables(&vm);
	if (ncode)
		memcpy(vm.ram + CODE, data + FZ_HDR, ncode);
	dev_pio_reset();
	dev_init_all(vm.ram, vm.ram_size, -1, devnull, vm_dev_stop(&vm));
	vm.stop = 0;
	reset_cpu(&vm.cpu, flags, data + 1, nregs);
	unsigned pg = fz_paging_setup(&vm, &vm.cpu, data + 33, npg);
	fz_violations = 0;
	fz_in_case = 1;
	run_case(&vm.cpu, (flags & FZ_DELIVER) != 0, (pg & FZP_CHAIN) != 0);
	if (pg & FZP_PG)
		fz_paging_check(&vm, &vm.cpu);
	fz_in_case = 0;
	check_code();
}

static void *worker_main(void *arg)
{
	static uint8_t altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	sigset_t async;
	(void)arg;
	sigaltstack(&ss, NULL);
	sigemptyset(&async);                       /* timers and the like go to the main thread */
	for (int s = 1; s < 32; s++)
		if (s != SIGSEGV && s != SIGBUS && s != SIGFPE && s != SIGILL && s != SIGTRAP &&
		    s != SIGSYS && s != SIGABRT)
			sigaddset(&async, s);
	pthread_sigmask(SIG_BLOCK, &async, NULL);
	if (!getenv("FUZZ_NO_SECCOMP"))
		fz_seccomp_install(arena, window, devnull, &vm.cpu.eip);
	sem_post(&done);
	for (;;) {
		sem_wait_all(&go);
		if (getenv("FUZZ_SELFTEST")) {
			selftest(getenv("FUZZ_SELFTEST"));
			fz_raw_print("fuzz_translate: self test '%s' NOT detected\n", getenv("FUZZ_SELFTEST"));
			exit(3);
		}
		run_one(job_data, job_size);
		sem_post(&done);
	}
	return NULL;
}

static void start_worker(void)
{
	sem_init(&go, 0, 0);
	sem_init(&done, 0, 0);
	if (pthread_create(&worker, NULL, worker_main, NULL) != 0) {
		fprintf(stderr, "fuzz_translate: cannot start the worker thread\n");
		exit(1);
	}
	sem_wait_all(&done);
	if (fz_seccomp_on && fz_supervisor_start() < 0) {
		fprintf(stderr, "fuzz_translate: cannot start the supervisor thread\n");
		exit(1);
	}
	fprintf(stderr, "fuzz_translate: seccomp filter on the worker thread: %s\n",
		fz_seccomp_on ? "on" : "off (FUZZ_NO_SECCOMP)");
}

/* ASan calls this before it reports: its report's own system calls are not the guest's. */
void __asan_on_error(void);
void __asan_on_error(void)
{
	fz_in_case = 0;
}

static uint64_t ncases;

static void print_stats(void)
{
	fprintf(stderr, "fuzz_translate: %llu cases: %llu blocks translated (%llu guest "
		"instructions), %llu ident, %llu lowered, %llu code invalidations, %llu chained; "
		"shadow: %llu fills, %llu traced stores, %llu tables out of sync, %llu resyncs, "
		"%llu guest page faults\n",
		(unsigned long long)ncases, (unsigned long long)cc_stats.blocks,
		(unsigned long long)cc_stats.insns, (unsigned long long)xl_stats.ident,
		(unsigned long long)xl_stats.lowered, (unsigned long long)cc_stats.invalidations,
		(unsigned long long)cc_stats.chained, (unsigned long long)smmu_stats.fills,
		(unsigned long long)(smmu_stats.traced_writes + smmu_stats.traced_monitor_writes),
		(unsigned long long)smmu_stats.unsyncs, (unsigned long long)smmu_stats.resyncs,
		(unsigned long long)smmu_stats.pf_injected);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	(void)argc; (void)argv;
	if (vm_mem_init(&vm, RAM_SIZE, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_translate: %s\n", err);
		exit(1);
	}
	int guarded = guard_ram();
	vm.cpu.vm = &vm;
	window = vm_window();
	xl_init();
	if (cc_init(vm_protect_page, vm.ram_size) < 0 || vm_run_init(&vm, -1) < 0) {
		fprintf(stderr, "fuzz_translate: cannot set up the monitor\n");
		exit(1);
	}
	arena = cc_exit_thunk();
	stubs_sum = checksum(arena, 256);
	req_ok = vm.cpu.req_ptr;
	vm_request_exit(&vm);
	req_fault = vm.cpu.req_ptr;
	vm.cpu.req_ptr = req_ok;
	sigaction(SIGSEGV, NULL, &monitor_sa);
	/* let libFuzzer install its own SIGALRM (timeouts) and SIGABRT (crash files) */
	signal(SIGALRM, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	dev_set_clock(fz_clock);
	/* glibc reads /etc/localtime on the first gmtime_r() of the process (the RTC's first
	 * read): do that lazy initialisation now, not inside a guest case */
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	if (getenv("FUZZ_STATS"))
		atexit(print_stats);
	const char *shadow = guard_low_shadow();
	report_low_mappings();
	fprintf(stderr, "fuzz_translate: window %p, code cache %p, RAM %u KiB at %p (%s), %s\n",
		(void *)window, (void *)arena, RAM_SIZE >> 10, (void *)vm.ram,
		guarded == 0 ? "between guard pages" : "NOT guarded", shadow);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool first = true;
	if (first) {                    /* libFuzzer has installed its handlers by now */
		fix_signal_handlers();
		start_worker();
		first = false;
	}
	job_data = data;
	job_size = size;
	ncases++;
	expired = 0;
	sem_post(&go);
	/* the watchdog: chained blocks loop without coming back to the run loop, so a case
	 * that runs too long is asked to leave (an exit request at the next block head, as
	 * the host timer does in run.c) and to end there; asked again until it has */
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += WATCHDOG_MS * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		if (sem_timedwait(&done, &t) == 0)
			break;
		if (errno == ETIMEDOUT) {
			expired = 1;
			vm_request_exit(&vm);
		}
	}
	return 0;
}
