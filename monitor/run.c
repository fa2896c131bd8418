/*
 * run.c - the run loop and the exit switch.
 *
 * vm_run() is the only loop that runs the guest: take pending events (devices, external
 * interrupts), find or translate the block at EIP, enter it, and handle the reason it came
 * back for (handle_exit).  Blocks chain to each other directly, so the loop only sees
 * exits that need the monitor.  How translated code gets out (exit requests, host
 * signals, the host timer) is signals.c; which instructions become monitor calls is
 * adaptive.c.
 *
 * vm_run_init() also wires the parts together: the parts below the monitor get what they
 * need from it at init (emulation/ its hooks from memory.c, pv/ vm_pv_mon, devices/
 * vm_dev_stop) and never call up into monitor/.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include "vmm.h"
#include "mon_int.h"
#include "memory.h"
#include "param.h"
#include "run.h"
#include "perfmap.h"
#include "profile.h"
#include "../translator/xl.h"
#include "../translator/xl_asm.h"
#include "../codecache/cc.h"
#include "../emulation/emu.h"
#include "../devices/devices.h"
#include "../shadow-mmu/smmu.h"
#include "../pv/pv.h"
#include "../gdbstub/gdb.h"

static int console_in = -1;
struct run_stats run_stats;
uint8_t xl_host_fpu[512] __attribute__((aligned(64)));

/* ---- what the parts below get at init ------------------------------------------------ */

void vm_stop(struct vm *vm, int status)
{
	vm->reset = status == DEV_STOP_RESET;
	if (vm->reset)
		status = EXIT_STATUS_OK;
	vm->exit_status = status;
	vm->stop = 1;
	vm_request_exit(vm);
}

static void dev_stop_vm(void *vm, int status)
{
	vm_stop(vm, status);
}

struct dev_stop vm_dev_stop(struct vm *vm)
{
	return (struct dev_stop){ dev_stop_vm, vm };
}

const struct pv_mon_ops vm_pv_mon = { vm_stop, vm_request_poll, vmm_tlb_flush };

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
	/* NMI: taken whatever IF says, then blocked until an IRET.  The monitor sees every IRET
	 * that stays at CPL 0; the translator's inline IRET to CPL 3 it does not, so being at
	 * CPL 3 counts as having left the handler. */
	if (c->nmi_blocked && c->cpl == 3)
		c->nmi_blocked = false;
	if (!c->nmi_blocked && !c->intr_inhibit && dev_nmi_take()) {
		if (LOG_ON(LOG_INT))
			vmm_log("interrupt: NMI at %04x:%08x\n", c->seg[S_CS].sel, c->eip);
		c->nmi_blocked = true;
		c->halted = false;
		run_stats.interrupts++;
		return emu_deliver_interrupt(c, EXC_NMI) == EXIT_SHUTDOWN ? -1 : 0;
	}
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
struct cc_block *vm_find_block(struct vcpu *c, uint32_t mode, bool *noted)
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
	gpa_t page = pa & ~(GUEST_PAGE - 1);
	if (!b && !(mode & XM_SINGLE) && (uint64_t)page + GUEST_PAGE <= c->vm->ram_size &&
	    cc_revive(page, c->vm->ram + page))
		b = cc_find(pa, pa2, c->eip, mode, c->seg[S_CS].base);
	if (!b) {
		b = xl_translate(c, mode);
		if (!b) {
			cc_flush();
			b = xl_translate(c, mode);
			if (!b)
				vmm_panic("translation cache too small for one block");
		}
		xl_log_block(c, b);
		if (LOG_ON(LOG_PERFMAP) && !(mode & XM_SINGLE))
			perfmap_block(b);
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
bool vm_may_chain(const struct cc_exit *e, const struct cc_block *b, uint32_t mode)
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
	vm_pf_note(c);
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


/* What the loop carries from one exit to the next. */
struct loop {
	struct cc_exit *link;   /* the direct exit the last block left through, to chain */
	uint64_t next;          /* host time of the next device or PV deadline */
	uint64_t pio_seen;      /* dev_pio_count at the last poll */
	bool poll;              /* poll devices before the next entry */
};

/* Devices only change state with time (the host timer says when) or when the guest
 * touches them: other exits skip the clock reads. */
static void poll_if_due(struct loop *l)
{
	if (vm_alarm_take() || l->poll || dev_pio_count != l->pio_seen) {
		l->pio_seen = dev_pio_count;
		l->next = poll_devices();
		vm_timer_arm(l->next);
	}
	l->poll = false;
}


/* Make b reachable without the loop next time: chain the exit that led here to it, and
 * enter it in the window's lookup table (set for the entry). */
static void link_block(struct vcpu *c, struct loop *l, struct cc_block *b, uint32_t mode,
		       uint64_t flushes, bool noted)
{
	struct cc_lookup *lk = smmu_lookup(mode & ~XM_SINGLE, c->seg[S_CS].base);
	c->lookup_table = (uint64_t)(uintptr_t)lk;
	if (l->link && vm_may_chain(l->link, b, mode) && cc_stats.flushes == flushes && chaining_allowed())
		cc_link(l->link, b);
	else
		cc_block_wanted(b);     /* reached through a lookup: worth an entry */
	/* the window's table goes stale when a code page of the window changes mapping,
	 * so a block may enter it once every page it was translated from is mapped in
	 * the window (a straddling block's second page included) */
	if (!(mode & XM_SINGLE) && chaining_allowed() && noted &&
	    !(b->page[1] == ~1u && (mode & XM_PG)))
		cc_lookup_insert_page(lk, b);
}

static void log_entry(struct vcpu *c, const struct cc_block *b)
{
	if (LOG_ON(LOG_EXEC))
		vmm_log("exec: %08x [%p]\n", c->eip, (void *)b->host);
	if (LOG_ON(LOG_CPU))
		emu_dump_state(c, vmm_log_file ? vmm_log_file : stderr);
}

static int handle_exit(struct vcpu *c, unsigned reason);

/* Run the instruction at EIP alone, from an uncached translation. */
static int single_step(struct vcpu *c)
{
	bool noted;
	struct cc_block *b = vm_find_block(c, xl_mode(c) | XM_SINGLE, &noted);
	if (!b)
		return deliver(c);
	return handle_exit(c, xl_enter(c, b->host, smmu_base()));
}


/*
 * EXIT_EMULATE: the monitor runs the instruction at EIP.  exit_info says why: enum
 * emulate_info, or an inline cache site (XL_INFO_RING / XL_INFO_SREG) that missed and is
 * refilled once the monitor has run the instruction.  An inline exception site (#DE for a
 * zero divisor, #UD) is not run: the monitor raises its vector there and delivers it.
 */
static int emulate(struct vcpu *c)
{
	uint32_t info = c->exit_info, eip = c->eip;
	int cpl = c->cpl;
	run_stats.emulated++;
	if (info == EMULATE_MMIO)
		adapt_note(c);
	if (info == EMULATE_ADAPTIVE) {
		gpa_t pa = adapt_begin(c);
		int e = emu_step(c);
		if (e == EXIT_NONE && c->cpl == cpl)
			adapt_mmio_learn(c);
		int r = after_emulation(c, e);
		adapt_end(pa);
		return r;
	}
	int vec = xl_ring_exc_vector(info);
	if (vec >= 0) {                       /* inline exception (#DE, #UD) from CPL 3 */
		emu_raise(c, vec, 0);
		int r = deliver(c);
		if (r == 0 && c->cpl != cpl)
			xl_ring_fill(c, info, cpl, eip);
		return r;
	}
	int e = emu_step(c);
	if (info >= XL_INFO_RING) {           /* inline INT/IRET (IRET to CPL 0: no change) */
		if (e == 0)
			xl_ring_fill(c, info, cpl, eip);
	} else if (info >= XL_INFO_SREG) {    /* inline segment load */
		if (e == 0 && c->eip != eip)
			xl_sreg_fill(c, info);
	}
	return after_emulation(c, e);
}

/* EXIT_PTWRITE: a store to a traced page table.  Let it through alone, then see what
 * changed. */
static int traced_store(struct vcpu *c)
{
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

/* Returns -1 when the guest cannot continue (triple fault, hang with IF=0). */
static int handle_exit(struct vcpu *c, unsigned reason)
{
	switch (reason) {
	case EXIT_LOOKUP:
	case EXIT_REQUEST:
		return 0;
	case EXIT_EMULATE:
		return emulate(c);
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
	case EXIT_SMC:
		/* the store has not happened yet: the page still holds the translated bytes */
		if (c->exit_info + GUEST_PAGE <= c->vm->ram_size)
			cc_invalidate_smc(c->exit_info, c->vm->ram + c->exit_info);
		else
			cc_invalidate_page(c->exit_info);
		return single_step(c);
	case EXIT_PTWRITE:
		return traced_store(c);
	case EXIT_DEBUG:             /* gdb's breakpoint, or the guest's own (debug.c) */
		if (gdb_break_at(c->seg[S_CS].base + c->eip)) {
			gdb_break_hit(c);
			return 0;
		}
		return dbg_exec_fault(c) ? deliver(c) : 0;
	case EXIT_SHUTDOWN:         /* a delivery in the signal handler shut the guest down */
		return -1;
	default:
		vmm_panic("unknown exit reason %u", reason);
	}
}

static int stopped(struct vm *vm, const char *why, int status)
{
	fprintf(stderr, "vmm386: %s\n", why);
	emu_dump_state(&vm->cpu, stderr);
	vm->exit_status = status;
	return status;
}

int vm_run(struct vm *vm)
{
	struct vcpu *c = &vm->cpu;
	struct loop l = { .pio_seen = ~0ull, .poll = true };
	for (;;) {
		vm_requests_clear(c);
		poll_if_due(&l);
		if (__builtin_expect(gdb_pending, 0) && gdb_service(c))
			l.link = NULL;          /* stopped: registers or translations may differ */
		if (vm->stop)
			return vm->exit_status;
		if (take_interrupt(c) < 0)
			return stopped(vm, "triple fault: guest shut down", EXIT_STATUS_GUESTDEAD);
		if (c->halted) {
			if (wait_halted(c, l.next) < 0)
				return stopped(vm, "guest halted with interrupts disabled", EXIT_STATUS_HALTED);
			l.poll = true;
			continue;
		}
		xl_sync_segments(c);
		/* RF after an IRET: cleared here when that is exact, instead of one step */
		bool rf_cleared = xl_rf_clear(c);
		if (rf_cleared && dbg_stepping(c)) {
			c->eflags |= FL_RF;     /* stepping anyway (data breakpoints, gdb) */
			rf_cleared = false;
		}
		uint32_t mode = xl_mode(c) | (c->intr_inhibit || dbg_stepping(c) ? XM_SINGLE : 0);
		uint64_t flushes = cc_stats.flushes;
		uint8_t *window = smmu_select(c);
		bool noted, dbg = (mode & XM_SINGLE) && dbg_stepping(c);
		struct dbg_step ds;
		if (dbg)
			dbg_before(c, &ds);
		struct cc_block *b = vm_find_block(c, mode, &noted);
		if (!b) {               /* #PF on the instruction fetch */
			l.link = NULL;
			if (deliver(c) < 0)
				return stopped(vm, "triple fault: guest shut down", EXIT_STATUS_GUESTDEAD);
			continue;
		}
		link_block(c, &l, b, mode, flushes, noted);
		log_entry(c, b);
		c->intr_inhibit = false;
		c->spill[0] = 0;
		/* an inline IF=0 -> 1 change (STI, POPF, IRET) leaves when something is waiting */
		vm_irq_probe(c, dev_intr_pending() >= 0 || pv_events_pending());
		unsigned reason = xl_enter(c, b->host + (rf_cleared ? XL_HEAD_LEN : 0), window);
		run_stats.exits++;
		run_stats.by_kind[exit_kind_of(c, reason)]++;
		l.poll = reason == EXIT_REQUEST || reason == EXIT_HALT;
		/* the one-instruction block is reused by the next translation: never chained from */
		l.link = reason == EXIT_LOOKUP && !(mode & XM_SINGLE) ? (struct cc_exit *)(uintptr_t)c->spill[0]
								      : NULL;
		int r = __builtin_expect(profile_on, 0) ? profile_exit(c, reason, handle_exit)
							  : handle_exit(c, reason);
		if (dbg && r >= 0 && dbg_after(c, &ds, reason))
			r = deliver(c);         /* the single-step or data breakpoint trap */
		if (r < 0)
			return stopped(vm, "triple fault: guest shut down", EXIT_STATUS_GUESTDEAD);
		if (reason == EXIT_EMULATE && pv_enabled())   /* a hypercall may have moved it */
			c->pv_vif = (uint64_t)(uintptr_t)pv_vif_ptr();
	}
}

int vm_run_init(struct vm *vm, int in_fd)
{
	console_in = in_fd;
	if (vm_requests_init(vm) < 0)
		return -1;
	if (smmu_init(vm, vm_window(), pv_enabled()) < 0)
		return -1;
	vm->cpu.lookup_table = (uint64_t)(uintptr_t)smmu_lookup(0, 0);
	xl_pio_in_hook = dev_pio_in;        /* IN at CPL 0 without an exit (translator/pio.c) */
	/* clean FPU images: the host's for the monitor, and the guest's power-on state */
	__asm__ volatile("fninit; fxsave64 %0" : "=m"(xl_host_fpu));
	memcpy(vm->cpu.fpu, xl_host_fpu, 512);
	return vm_signals_install();
}
