/*
 * pv.c - the monitor side of the paravirtual interface (ABI: pv/abi.h).
 *
 * A PV guest runs on the same execution core as a native one (translated, CPL 0 kernel,
 * CPL 3 user), but contains no privileged instruction: it asks through `int $0x82`, which
 * the emulator hands to pv_hypercall() (emulation/insn_flow.c) instead of the IDT.
 *
 * The virtual interrupt flag and the pending-event bits live in a guest page (struct
 * pv_shared_info) the guest registers.  The real EFLAGS.IF of the vcpu plays no part for a
 * PV guest: pv_take_event() looks at the shared page only, and the emulator's delivery path
 * calls pv_event_flags()/pv_event_commit() so that an interrupt gate clears vif and the
 * pushed EFLAGS.IF is vif (exceptions.c).
 *
 * Page-table updates (PV_HC_MMU_UPDATE) are checked entry by entry as they are applied:
 * the pointer must be a 4-byte aligned guest-physical address inside RAM, a present entry
 * must name guest RAM (the 4 KiB frame, or the whole 4 MiB range when PS is set).  Writes go
 * through emu_phys_write, which tells the monitor (emu_mon->ram_written: the shadow MMU and
 * the code cache); the shadow MMU applies a whole list at its end (smmu_defer), eagerly
 * (shadow-mmu/smmu.c).  At the first invalid entry every entry already written gets its old
 * value back (newest first) and the call fails with the entry's index.  A PV_MMU_RELEASE
 * entry tells the shadow MMU that a directory is dead (smmu_release_dir).
 *
 * The emulator reaches this file only through emu_pv (emulation/emu.h), set by pv_init for
 * a PV guest, so emulation/ does not depend on pv/.  This file reaches the run loop only
 * through the pv_mon_ops handed to pv_init (stop, re-poll, TLB flush).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pv.h"
#include "abi.h"
#include "../loader/loader.h"
#include "../emulation/emu.h"
#include "../devices/devices.h"
#include "../shadow-mmu/smmu.h"
#include "../monitor/param.h"

static struct {
	bool on;
	struct vm *vm;
	const struct pv_mon_ops *mon;  /* the run loop's side (pv_init) */
	uint32_t shared_gpa;      /* 0: not registered yet */
	uint64_t boot_ns;
	uint64_t timer_deadline;  /* monotonic ns, 0 = none */
	uint64_t hypercalls[PV_HC_COUNT];
	uint64_t upcalls, multicalls, multicall_entries, mmu_entries;
	uint32_t cons_gpa;        /* the console ring page, 0: none (PV_HC_CONSOLE_IO only) */
	uint64_t cons_polled;     /* host time of the last look at the input descriptor */
	uint64_t cons_out, cons_notifies, cons_in, cons_in_events;
} pv;

bool pv_enabled(void) { return pv.on; }

static struct pv_shared_info *shared(void);

/* Events wait for delivery (whatever vif says): the run loop's cue to make translated
 * code leave when it sets the virtual IF again (vcpu->irq_ptr). */
bool pv_events_pending(void)
{
	struct pv_shared_info *si = pv.on ? shared() : NULL;
	return si && __atomic_load_n(&si->pending, __ATOMIC_RELAXED) != 0;
}

static const struct emu_pv_ops pv_ops = { pv_hypercall, pv_event_flags, pv_event_commit };

int pv_init(struct vm *vm, const struct ld_boot *boot, const struct pv_mon_ops *mon,
	    char *err, size_t errlen)
{
	(void)err; (void)errlen;
	memset(&pv, 0, sizeof(pv));
	pv.vm = vm;
	pv.mon = mon;
	pv.on = boot && boot->is_pv;
	emu_pv = pv.on ? &pv_ops : NULL;
	pv.boot_ns = host_now_ns();
	if (pv.on)          /* console input is the ring's (waiting in stdin until it exists) */
		dev_uart_divert_input();
	return 0;
}

/* Test hook: a PV-enabled state on `vm` without a loaded image (tests/unit/test_pv.c). */
void pv_init_for_test(struct vm *vm, const struct pv_mon_ops *mon)
{
	memset(&pv, 0, sizeof(pv));
	pv.vm = vm;
	pv.mon = mon;
	pv.on = true;
	emu_pv = &pv_ops;
}

static struct pv_shared_info *shared(void)
{
	if (!pv.shared_gpa)
		return NULL;
	return vm_gpa_ptr(pv.vm, pv.shared_gpa, sizeof(struct pv_shared_info));
}

static void cons_input(uint64_t now);

uint64_t pv_poll(uint64_t now)
{
	struct pv_shared_info *si = shared();
	if (!pv.on || !si)
		return UINT64_MAX;
	cons_input(now);
	if (pv.timer_deadline && now >= pv.timer_deadline) {
		pv.timer_deadline = 0;
		__atomic_or_fetch(&si->pending, 1u << PV_EVENT_TIMER, __ATOMIC_RELAXED);
	}
	return pv.timer_deadline ? pv.timer_deadline : UINT64_MAX;
}

/* emu_deliver's EFLAGS image for a PV guest: IF is the virtual IF. */
uint32_t pv_event_flags(uint32_t eflags)
{
	struct pv_shared_info *si = shared();
	if (!pv.on || !si)
		return eflags;
	return si->vif ? eflags | FL_IF : eflags & ~FL_IF;
}

/* emu_deliver committed an event through an interrupt gate (int_gate) or a trap gate. */
void pv_event_commit(struct vcpu *c, int vector, bool int_gate, bool soft)
{
	struct pv_shared_info *si = shared();
	if (!pv.on || !si)
		return;
	if (int_gate)
		si->vif = 0;
	if (vector == 14 && !soft)
		si->cr2 = c->cr2;
}

int pv_take_event(struct vcpu *c)
{
	struct pv_shared_info *si = shared();
	if (!si || !si->vif)
		return 0;
	uint32_t pend = __atomic_load_n(&si->pending, __ATOMIC_RELAXED);
	if (!pend)
		return 0;
	int ev = __builtin_ctz(pend);
	__atomic_and_fetch(&si->pending, ~(1u << ev), __ATOMIC_RELAXED);
	si->time_ns = host_now_ns() - pv.boot_ns;
	pv.upcalls++;
	c->halted = false;
	c->eflags |= FL_IF;
	return emu_deliver_interrupt(c, PV_EVENT_VECTOR(ev)) == EXIT_SHUTDOWN ? -1 : 0;
}

/* --- the console ring ------------------------------------------------------------------- */
/*
 * The guest owns out_prod and in_cons, the monitor out_cons and in_prod (pv/abi.h).  The
 * guest can write anything into the page at any time, so each index is read once and the
 * amount it implies is checked against the ring size before a byte is copied: a guest
 * that breaks the rules loses its output or input, the monitor never reads or writes
 * outside the page.  Output is drained on PV_CONSRING_NOTIFY to COM1's host side, wherever
 * -serial puts it (dev_console_write; flushed behind the monitor's own stdio, as
 * PV_HC_CONSOLE_IO does).  Input: the UART never reads
 * stdin for a PV guest (dev_uart_divert_input at pv_init, so nothing typed before the ring
 * exists is lost); once the guest has set the ring up, pv_poll and each notify
 * read what stdin has, as much as fits, at most once per TIMER_MIN_NS, and raise
 * PV_EVENT_CONSOLE once per batch read.  End of file stops input for good.
 */
static struct pv_console_ring *cons_ring(void)
{
	if (!pv.cons_gpa)
		return NULL;
	return vm_gpa_ptr(pv.vm, pv.cons_gpa, sizeof(struct pv_console_ring));
}

static int32_t cons_drain(void)
{
	struct pv_console_ring *cr = cons_ring();
	if (!cr)
		return -PV_EINVAL;
	uint32_t prod = __atomic_load_n(&cr->out_prod, __ATOMIC_ACQUIRE), cons = cr->out_cons;
	uint32_t n = prod - cons;
	if (n > PV_CONS_OUT_SIZE) {         /* out_prod is not a count we handed out: resync */
		__atomic_store_n(&cr->out_cons, prod, __ATOMIC_RELEASE);
		return -PV_EINVAL;
	}
	uint8_t buf[PV_CONS_OUT_SIZE];
	for (uint32_t i = 0; i < n; i++)
		buf[i] = cr->out[(cons + i) % PV_CONS_OUT_SIZE];
	__atomic_store_n(&cr->out_cons, prod, __ATOMIC_RELEASE);
	fflush(stdout);
	dev_console_write(buf, n);
	pv.cons_out += n;
	return (int32_t)n;
}

static void cons_input(uint64_t now)
{
	struct pv_console_ring *cr = cons_ring();
	struct pv_shared_info *si = shared();
	int fd = dev_uart_input_fd();
	if (!cr || !si || fd < 0 || now - pv.cons_polled < TIMER_MIN_NS)
		return;
	pv.cons_polled = now;
	uint32_t prod = cr->in_prod, used = prod - __atomic_load_n(&cr->in_cons, __ATOMIC_ACQUIRE);
	if (used >= PV_CONS_IN_SIZE)
		return;                            /* full (or in_cons is garbage): wait */
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 0) <= 0)
		return;
	uint8_t buf[PV_CONS_IN_SIZE];
	ssize_t k = read(fd, buf, PV_CONS_IN_SIZE - used);
	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (k <= 0) {
		dev_uart_input_end();              /* end of file: nothing more to wait for */
		return;
	}
	for (ssize_t i = 0; i < k; i++)
		cr->in[(prod + (uint32_t)i) % PV_CONS_IN_SIZE] = buf[i];
	__atomic_store_n(&cr->in_prod, prod + (uint32_t)k, __ATOMIC_RELEASE);
	__atomic_or_fetch(&si->pending, 1u << PV_EVENT_CONSOLE, __ATOMIC_RELEASE);
	pv.cons_in += (uint64_t)k;
	pv.cons_in_events++;
}

static int32_t hc_console_ring(uint32_t op, uint32_t gpa)
{
	if (op == PV_CONSRING_SETUP) {
		if ((gpa & 0xFFF) || !gpa || !vm_gpa_ptr(pv.vm, gpa, GUEST_PAGE))
			return -PV_EINVAL;
		pv.cons_gpa = gpa;
		return 0;
	}
	if (op != PV_CONSRING_NOTIFY)
		return -PV_EINVAL;
	pv.cons_notifies++;
	int32_t r = cons_drain();
	cons_input(host_now_ns());
	return r;
}

/* -stats: hypercalls by kind, multicalls, upcalls. */
void pv_log_stats(void)
{
	static const char *const names[PV_HC_COUNT] = {
		"version", "console_io", "set_shared", "set_trap_table", "set_gdt", "stack_switch",
		"mmu_update", "new_baseptr", "invlpg", "set_timer", "sched_op", "paging_enable",
		"read_cr2", "event_check", "port_io", "multicall", "console_ring",
	};
	if (!pv.on)
		return;
	uint64_t total = 0;
	for (unsigned i = 0; i < PV_HC_COUNT; i++)
		total += pv.hypercalls[i];
	vmm_log("  pv hypercalls          %llu (in multicalls %llu); upcalls %llu; mmu_update entries %llu\n"
		"  pv by kind            ", (unsigned long long)total,
		(unsigned long long)pv.multicall_entries, (unsigned long long)pv.upcalls,
		(unsigned long long)pv.mmu_entries);
	for (unsigned i = 0; i < PV_HC_COUNT; i++)
		if (pv.hypercalls[i])
			vmm_log(" %s %llu", names[i] ? names[i] : "?", (unsigned long long)pv.hypercalls[i]);
	const struct smmu_stats *m = &smmu_stats;
	vmm_log("\n  pv console ring        %llu bytes out in %llu notifies, %llu bytes in with %llu events",
		(unsigned long long)pv.cons_out, (unsigned long long)pv.cons_notifies,
		(unsigned long long)pv.cons_in, (unsigned long long)pv.cons_in_events);
	vmm_log("\n  pv shadow windows      %llu built eagerly, %llu pages mapped eagerly, %llu table "
		"entries applied; %llu released, %llu regions redone when loaded again\n",
		(unsigned long long)m->eager_builds, (unsigned long long)m->eager_pages,
		(unsigned long long)m->pv_entry_writes, (unsigned long long)m->pv_releases,
		(unsigned long long)m->pv_rechecks);
}

/* --- guest buffers -------------------------------------------------------------------- */
/*
 * Hypercall arguments that point into guest memory must be mapped for the kernel (with
 * write permission for what the monitor writes back) and must be RAM: the emulator would
 * treat other physical addresses as device memory, and a hypercall has no business with
 * devices.  The check walks without side effects (no #PF raised, CR2 untouched); then the
 * copy goes through the emulator as any kernel access would.
 */
static bool guest_ram(struct vcpu *c, uint32_t la, uint32_t len, bool write)
{
	if (!len)
		return true;
	if ((uint64_t)la + len > (1ull << 32))
		return false;
	for (uint64_t a = la & ~0xFFFu; a < (uint64_t)la + len; a += 0x1000) {
		gpa_t pa = (gpa_t)a;
		struct emu_walk w;
		if (c->cr0 & CR0_PG) {
			if (emu_walk(c, (gla_t)a, write, false, &w))
				return false;
			pa = w.gpa;
		}
		if (!vm_gpa_ptr(c->vm, pa & ~0xFFFu, 0x1000))
			return false;
	}
	return true;
}

static int guest_read(struct vcpu *c, uint32_t la, void *buf, uint32_t len)
{
	return guest_ram(c, la, len, false) && !emu_lin_read(c, la, buf, len) ? 0 : -1;
}

static int guest_write(struct vcpu *c, uint32_t la, const void *buf, uint32_t len)
{
	return guest_ram(c, la, len, true) && !emu_lin_write(c, la, buf, len) ? 0 : -1;
}

/* --- mmu_update ---------------------------------------------------------------------- */

static bool frame_ok(struct vm *vm, uint32_t val)
{
	if (!(val & PV_PTE_P))
		return true;
	if (val & PV_PTE_PS) {
		uint32_t base = val & 0xFFC00000u;
		return (uint64_t)base + 0x400000u <= vm->ram_size;
	}
	return (uint64_t)(val & ~0xFFFu) + 0x1000u <= vm->ram_size;
}

/* PV_MMU_RELEASE: a page directory in RAM (ptr = frame | 1, val = 0), not the loaded one. */
static bool release_ok(struct vm *vm, const struct pv_mmu_update *e)
{
	gpa_t pd = e->ptr & ~0xFFFu;
	return (e->ptr & 0xFFFu) == PV_MMU_RELEASE && !e->val && vm_gpa_ptr(vm, pd, 0x1000) &&
	       pd != (vm->cpu.cr3 & ~0xFFFu);
}

int pv_mmu_update_apply(struct vm *vm, const struct pv_mmu_update *u, uint32_t n, uint32_t *fail_idx)
{
	static uint32_t old[PV_MMU_BATCH_MAX];
	if (n > PV_MMU_BATCH_MAX) {
		*fail_idx = PV_MMU_BATCH_MAX;
		return -PV_EINVAL;
	}
	uint32_t i;
	for (i = 0; i < n; i++) {
		if ((u[i].ptr & 3) == PV_MMU_RELEASE) {
			if (!release_ok(vm, &u[i]))
				break;
			smmu_release_dir(u[i].ptr & ~0xFFFu);
			continue;
		}
		bool bad = (u[i].ptr & 3) || !vm_gpa_ptr(vm, u[i].ptr, 4) || !frame_ok(vm, u[i].val);
		if (bad)
			break;
		memcpy(&old[i], vm_gpa_ptr(vm, u[i].ptr, 4), 4);
		emu_phys_write(vm, u[i].ptr, &u[i].val, 4);
	}
	if (i == n)
		return 0;
	*fail_idx = i;
	while (i-- > 0)                       /* roll back, newest first (releases stay) */
		if ((u[i].ptr & 3) == PV_MMU_NORMAL)
			emu_phys_write(vm, u[i].ptr, &old[i], 4);
	return -PV_EINVAL;
}

/* --- hypercalls ---------------------------------------------------------------------- */

static int32_t hc_console(struct vcpu *c, uint32_t op, uint32_t n, uint32_t buf)
{
	if (op != PV_CONSOLEIO_WRITE)
		return -PV_EINVAL;
	char tmp[256];
	uint32_t done = 0;
	while (done < n) {
		uint32_t k = n - done < sizeof(tmp) ? n - done : sizeof(tmp);
		if (guest_read(c, buf + done, tmp, k))
			return -PV_EFAULT;
		fflush(stdout);
		dev_console_write(tmp, k);
		done += k;
	}
	return (int32_t)done;
}

static int32_t hc_mmu_update(struct vcpu *c, uint32_t list, uint32_t n, uint32_t idx_out)
{
	static struct pv_mmu_update u[PV_MMU_BATCH_MAX];
	if (n > PV_MMU_BATCH_MAX)
		return -PV_EINVAL;
	if (n && guest_read(c, list, u, n * (uint32_t)sizeof(u[0])))
		return -PV_EFAULT;
	uint32_t fail = 0;
	pv.mmu_entries += n;
	/* the shadow MMU applies the whole list to its windows at the end, in runs */
	smmu_defer(true);
	int r = pv_mmu_update_apply(c->vm, u, n, &fail);
	smmu_defer(false);
	if (r < 0 && idx_out && guest_write(c, idx_out, &fail, 4))
		return -PV_EFAULT;
	return r;
}

/* One port access for a guest that may not execute IN/OUT.  Only byte and word accesses:
 * a 32-bit value read could not be told apart from an error code in EAX. */
static int32_t hc_port_io(uint32_t port, uint32_t op, uint32_t val)
{
	uint32_t size = op & 0xFF;
	if ((op & ~(PV_PORTIO_WRITE | 0xFFu)) || (size != 1 && size != 2) ||
	    port > 0xFFFFu || port + size > 0x10000u)
		return -PV_EINVAL;
	if (op & PV_PORTIO_WRITE) {
		val &= size == 1 ? 0xFFu : 0xFFFFu;
		if (LOG_ON(LOG_IOPORT))
			vmm_log("ioport: pv out%c %#06x <- %#x\n", "bw"[size - 1], port, val);
		dev_pio_out((uint16_t)port, (int)size, val);
		return 0;
	}
	val = dev_pio_in((uint16_t)port, (int)size);
	if (LOG_ON(LOG_IOPORT))
		vmm_log("ioport: pv in%c  %#06x -> %#x\n", "bw"[size - 1], port, val);
	return (int32_t)val;
}

static void stop_vm(struct vcpu *c, int status)
{
	pv.mon->stop(c->vm, status);
}

/* Write ss0:esp0 into the TSS the guest registered through PV_HC_SET_GDT. */
static int32_t hc_stack_switch(struct vcpu *c, uint32_t ss, uint32_t esp)
{
	if (!(c->tr.attr & 0x80) || c->tr.limit < 11)
		return -PV_EINVAL;
	uint16_t s = (uint16_t)ss;
	if (guest_write(c, c->tr.base + 4, &esp, 4) || guest_write(c, c->tr.base + 8, &s, 2))
		return -PV_EFAULT;
	return 0;
}

static int32_t hc_paging_enable(struct vcpu *c, uint32_t cr3, uint32_t cr4_bits)
{
	if (cr4_bits & ~(CR4_PSE | CR4_PGE))
		return -PV_EINVAL;
	if (cr3 == PV_CR3_KEEP)
		cr3 = c->cr3;
	if (!vm_gpa_ptr(c->vm, cr3 & ~0xFFFu, 4096))
		return -PV_EINVAL;
	if (emu_write_cr(c, 3, cr3) || emu_write_cr(c, 4, c->cr4 | cr4_bits) ||
	    emu_write_cr(c, 0, c->cr0 | CR0_PG | CR0_WP))
		return -PV_EINVAL;
	return 0;
}

/* May hypercall `nr` be an entry of a multicall?  Only calls that finish in the monitor
 * and leave nothing to the run loop's next iteration but the new state (not sched_op,
 * which halts or stops, and not multicall itself). */
static bool multicall_ok(uint32_t nr)
{
	switch (nr) {
	case PV_HC_VERSION: case PV_HC_CONSOLE_IO: case PV_HC_SET_TRAP_TABLE: case PV_HC_SET_GDT:
	case PV_HC_STACK_SWITCH: case PV_HC_MMU_UPDATE: case PV_HC_NEW_BASEPTR: case PV_HC_INVLPG:
	case PV_HC_SET_TIMER: case PV_HC_EVENT_CHECK: case PV_HC_CONSOLE_RING:
		return true;
	default:
		return false;
	}
}

static int32_t dispatch(struct vcpu *c, uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3,
			bool nested);

/* Run list[0..n) in order; stop at the first negative result.  -> entries that succeeded. */
static int32_t hc_multicall(struct vcpu *c, uint32_t list, uint32_t n)
{
	static struct pv_multicall mc[PV_MULTICALL_MAX];
	if (n > PV_MULTICALL_MAX)
		return -PV_EINVAL;
	if (n && guest_read(c, list, mc, n * (uint32_t)sizeof(mc[0])))
		return -PV_EFAULT;
	pv.multicalls++;
	uint32_t i;
	for (i = 0; i < n; i++) {
		uint32_t op = mc[i].op;
		int32_t r = multicall_ok(op) ? dispatch(c, op, mc[i].args[0], mc[i].args[1], mc[i].args[2], true)
					     : -PV_EINVAL;
		pv.multicall_entries++;
		mc[i].result = r;
		if (guest_write(c, list + i * (uint32_t)sizeof(mc[0]) + offsetof(struct pv_multicall, result),
				  &r, 4))
			return -PV_EFAULT;
		if (r < 0)
			break;
	}
	return (int32_t)i;
}

int pv_hypercall(struct vcpu *c)
{
	int32_t r = dispatch(c, c->regs[R_EAX], c->regs[R_EBX], c->regs[R_ECX], c->regs[R_EDX], false);
	c->regs[R_EAX] = (uint32_t)r;
	return 0;
}

/* One hypercall; `nested`: an entry of a multicall. */
static int32_t dispatch(struct vcpu *c, uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3,
			bool nested)
{
	int32_t r;
	if (nr < PV_HC_COUNT)
		pv.hypercalls[nr]++;
	switch (nr) {
	case PV_HC_VERSION:
		r = PV_ABI_VERSION;
		break;
	case PV_HC_CONSOLE_IO:
		r = hc_console(c, a1, a2, a3);
		break;
	case PV_HC_SET_SHARED:
		if ((a1 & 0xFFF) || !vm_gpa_ptr(c->vm, a1, 4096)) {
			r = -PV_EINVAL;
			break;
		}
		pv.shared_gpa = a1;
		shared()->version = PV_ABI_VERSION;
		r = 0;
		break;
	case PV_HC_SET_TRAP_TABLE:
		c->idtr.base = a1;
		c->idtr.limit = a2 & 0xFFFF;
		r = 0;
		break;
	case PV_HC_SET_GDT:
		c->gdtr.base = a1;
		c->gdtr.limit = a2 & 0xFFFF;
		r = a3 ? (emu_ltr(c, (uint16_t)a3) ? -PV_EINVAL : 0) : 0;
		break;
	case PV_HC_STACK_SWITCH:
		r = hc_stack_switch(c, a1, a2);
		break;
	case PV_HC_MMU_UPDATE:
		r = hc_mmu_update(c, a1, a2, a3);
		break;
	case PV_HC_NEW_BASEPTR:
		if (!vm_gpa_ptr(c->vm, a1 & ~0xFFFu, 4096)) {
			r = -PV_EINVAL;
			break;
		}
		c->cr3 = a1;        /* smmu_select picks (or builds) the directory's windows */
		r = 0;
		break;
	case PV_HC_INVLPG:
		pv.mon->tlb_flush(c, a1, false);
		r = 0;
		break;
	case PV_HC_SET_TIMER: {
		uint64_t ns = (uint64_t)a2 << 32 | a1;
		pv.timer_deadline = ns ? host_now_ns() + ns : 0;
		/* the run loop re-polls (pv_poll) and re-arms its host timer */
		pv.mon->request_poll();
		r = 0;
		break;
	}
	case PV_HC_SCHED_OP:
		r = 0;
		if (a1 == PV_SCHED_BLOCK) {
			struct pv_shared_info *si = shared();
			if (!si) {
				r = -PV_EINVAL;
				break;
			}
			si->vif = 1;
			c->eflags |= FL_IF;  /* the run loop's idle wait requires IF */
			if (!si->pending)
				c->halted = true;
		} else if (a1 == PV_SCHED_SHUTDOWN) {
			stop_vm(c, (int)((a2 << 1) | 1));
		} else if (a1 != PV_SCHED_YIELD) {
			r = -PV_EINVAL;
		}
		break;
	case PV_HC_PAGING_ENABLE:
		r = hc_paging_enable(c, a1, a2);
		break;
	case PV_HC_READ_CR2:
		r = (int32_t)c->cr2;
		break;
	case PV_HC_EVENT_CHECK:
		r = 0;                       /* pv_take_event runs before the next block */
		break;
	case PV_HC_PORT_IO:
		r = hc_port_io(a1, a2, a3);
		break;
	case PV_HC_MULTICALL:
		r = nested ? -PV_EINVAL : hc_multicall(c, a1, a2);
		break;
	case PV_HC_CONSOLE_RING:
		r = hc_console_ring(a1, a2);
		break;
	default:
		r = -PV_ENOSYS;
		break;
	}
	return r;
}

/* Host address of the virtual IF in the registered shared page, or NULL: translated code
 * that delivers INT n from user mode inline (translator: INT/IRET sites) reads and clears it
 * there as pv_event_flags/pv_event_commit do. */
uint32_t *pv_vif_ptr(void)
{
	struct pv_shared_info *si = pv.on ? shared() : NULL;
	return si ? &si->vif : NULL;
}
