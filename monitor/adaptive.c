/*
 * adaptive.c - adaptive translation: which instructions become monitor calls.
 *
 * An instruction whose memory access faults again and again (a store into a traced page
 * table, an access to device memory) costs a host signal, and for traced stores a
 * single-step translation, every time.  After ADAPT_FAULTS such faults its page's
 * translations are dropped and the translator emits a direct monitor call for it
 * (EXIT_EMULATE with EMULATE_ADAPTIVE; translator/ asks vmm_adaptive_emulate): the
 * interpreter performs the access, and its writes reach the shadow MMU through the
 * emulator's hooks (memory.c).
 *
 * A monitor call that mostly touches ordinary memory (a memcpy that once copied page
 * tables) is a loss, so each call is judged: between adapt_begin and adapt_end, memory.c
 * reports (adapt_touched) whether the emulator wrote a traced page table or reached device
 * memory.  ADAPT_MISSES misses in a row send the instruction back to native code, and it
 * then needs twice as many faults to come back.
 *
 * State is keyed by the instruction's guest-physical address in a small direct-mapped
 * table; a collision simply forgets the older instruction.  The decisions read only this
 * file's own state; adapt_stats is output for -d stats.
 *
 * Device-memory reads without an exit.  A device may keep a read mirror of a register page
 * (devices/mmio.c; the local APIC does).  An adaptive site that is a plain 32-bit load
 * (translator/mmio_fast.c) checks inline whether its host address (window base + linear
 * address) lies in vcpu->mmio_fast_page, the offset is 4-byte aligned and not the one
 * register the mirror does not follow, and then loads from the mirror; otherwise it makes
 * its monitor call as before.  mmio_fast_page is one cached translation, learnt here
 * after the interpreter performed such a read for the vCPU (linear page la -> a mirrored
 * device page, in the window of the CPL it ran at) and dropped like a TLB entry: at every
 * INVLPG, CR3/CR0/CR4 write the emulator reports (memory.c: all of them, not only the ones
 * that name la) and whenever the shadow MMU empties a window (which may then serve another
 * page directory at the same base).  Why this is exact: between two such events the
 * architecture lets the CPU keep using the translation it cached (a TLB entry for a read
 * the guest already made with these rights in this view), and the mirror equals the
 * device's registers at every instant (devices/lapic.c).  Only reads of the same size at
 * the same page in the same window hit; any other access falls back to the monitor call.
 *
 * Stores (MOV m32, r32 / imm32) through the same kind of cached translation call
 * vmm_mmio_store from translated code instead of exiting, once a store has gone through
 * the page by the interpreter (mmio_fast_wpage: the guest entry allowed the store in this
 * view, and its dirty bit is set, so the CPU would write through its TLB entry without a
 * walk as well).
 */
#include "vmm.h"
#include "mon_int.h"
#include "param.h"
#include "../translator/xl.h"
#include "../codecache/cc.h"
#include "../emulation/emu.h"
#include "../shadow-mmu/smmu.h"
#include "../devices/devices.h"

static struct {
	gpa_t pa;
	uint32_t faults, misses, limit;
	bool on;
} adapt[ADAPT_SLOTS];
static bool touched;     /* the running monitor call hit its target (adapt_begin..end) */
struct adapt_stats adapt_stats;

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

/* The guest-physical address of the instruction at CS:EIP, or ~0u if it is not mapped. */
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

void adapt_note(struct vcpu *c)
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
		adapt_stats.on++;
		adapt_retranslate(pa);
	}
}

gpa_t adapt_begin(struct vcpu *c)
{
	touched = false;
	emu_last_mmio_read.len = emu_last_mmio_write.len = 0;
	return insn_pa(c);
}

/* A 4-byte access the interpreter made through linear page la to a mirrored device page:
 * cache the translation (a store also proves the page writable, and set its dirty bit). */
static void learn(struct vcpu *c, const struct emu_mmio_access *a, bool store)
{
	uint32_t skip;
	const uint32_t *mirror;

	if (a->len != 4 || !(mirror = dev_mmio_mirror(a->gpa, &skip)))
		return;
	uint64_t page = (uint64_t)(uintptr_t)smmu_select(c) + (a->la & ~(GUEST_PAGE - 1));
	adapt_stats.mmio_learnt += page != (store ? c->mmio_fast_wpage : c->mmio_fast_page);
	if (page != c->mmio_fast_page || store)
		c->mmio_fast_wpage = store ? page : 0;
	c->mmio_fast_page = page;
	c->mmio_fast_la = a->la & ~(GUEST_PAGE - 1);
	c->mmio_fast_gpa = a->gpa & ~(GUEST_PAGE - 1);
	c->mmio_fast_mirror = (uint64_t)(uintptr_t)mirror;
	c->mmio_fast_skip = skip;
}

void adapt_mmio_learn(struct vcpu *c)
{
	learn(c, &emu_last_mmio_read, false);
	learn(c, &emu_last_mmio_write, true);
}

void adapt_mmio_forget(struct vcpu *c)
{
	c->mmio_fast_page = c->mmio_fast_wpage = 0;
}

/*
 * The device sees the store as it would from the interpreter.  What the run loop would
 * have done after that exit is done here, or asked for: a store that moved a device
 * deadline (dev_pio_count: the LAPIC timer) polls the memory-mapped devices and re-arms
 * the host timer for their next deadline now (the loop polls the rest at its next exit,
 * dev_pio_count having moved), and when an interrupt is then waiting - an EOI uncovering a lower vector, a
 * self-IPI, a lower TPR, a level line still high - translated code leaves if the guest's
 * IF (vcpu->eflags, kept there by translated code) lets it in, so the loop delivers it
 * before the next instruction, exactly where the monitor call would have; with IF=0 the
 * interrupt probe is armed instead, as the loop arms it at every entry, so the inline
 * STI, POPF or IRET that sets IF leaves for it.
 */
uint32_t vmm_mmio_store(uint32_t off, uint32_t val, struct vcpu *c)
{
	uint64_t pio = dev_pio_count;

	adapt_stats.mmio_stores++;
	dev_mmio_write(c->mmio_fast_gpa + off, &val, 4);
	if (dev_pio_count != pio)
		vm_timer_arm(dev_mmio_poll(dev_now_ns()));
	if (dev_intr_pending() < 0)
		return c->vm->stop;
	vm_irq_probe(c, true);          /* IF=0 now: the inline STI, POPF or IRET that sets it leaves */
	return c->vm->stop || (c->eflags & FL_IF);
}

void adapt_touched(void)
{
	touched = true;
}

void adapt_end(gpa_t pa)
{
	unsigned i = adapt_slot(pa);
	if (adapt[i].pa != pa || !adapt[i].on)
		return;
	if (touched) {
		adapt[i].misses = 0;
		return;
	}
	if (++adapt[i].misses >= ADAPT_MISSES) {
		adapt[i].on = false;
		adapt[i].faults = 0;
		adapt[i].misses = 0;
		adapt[i].limit = adapt[i].limit < (1u << 20) ? adapt[i].limit * 2 : adapt[i].limit;
		adapt_stats.reverts++;
		adapt_retranslate(pa);
	}
}
