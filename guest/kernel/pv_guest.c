/*
 * pv_guest.c - the PV build's own state (pvops_pv.h): the page shared with the monitor,
 * the GDT operand remembered for PV_HC_SET_GDT, and the queue of MMU operations.
 *
 * The queue.  pv_set_pte/pv_set_pde append {guest-physical address, value} to mmu_q
 * (pv_release_pd a PV_MMU_RELEASE command); a second write to an entry already in the
 * current (not yet closed) segment replaces the value in place, so a batch sends each
 * entry once.  The other MMU operation made inside a batch (new_baseptr) goes to mc_q as
 * a multicall entry: queuing one first
 * closes the open segment of mmu_q as an mmu_update entry, so the monitor sees every
 * operation in program order.  pv_mmu_flush sends everything: a lone operation as its
 * plain hypercall, anything more as one PV_HC_MULTICALL.  A refused update (a frame outside
 * RAM: a kernel bug) panics with the entry the monitor named.
 *
 * Reading back: pv_get_pte must see queued values (fork, exec and as_pte read entries they
 * wrote earlier in the same batch).  q_hash maps an entry's address to its newest queue
 * slot, open addressing over PV_MMU_QUEUE * 2 slots; each slot carries the generation of
 * the queue that wrote it, so a flush empties the table by bumping the generation.
 * q_frames is a 256-bit filter of the frames written since the last flush (bit frame %
 * 256): a read from a frame whose bit is clear - a table the batch has not touched, as in
 * as_destroy of the old directory while the new one is queued - is a plain load.
 */
#include "kernel.h"

#ifdef PV_GUEST
volatile struct pv_shared_info pv_shared __attribute__((aligned(4096)));
struct pv_dtr pv_gdt_loaded;

#define QHASH (2 * PV_MMU_QUEUE)

static struct pv_mmu_update mmu_q[PV_MMU_QUEUE];
static struct pv_multicall mc_q[PV_MC_QUEUE];
static uint32_t q_hash[QHASH];        /* generation << 16 | (queue index + 1) */
static uint32_t q_gen = 1;
static uint32_t q_frames[8];          /* bit (frame % 256): a queued entry may be in it */
static unsigned seg_start;            /* first mmu_q entry not yet in an mc_q entry */
static unsigned mc_n;
static uint32_t fail_idx[PV_MC_QUEUE];   /* per mmu_update entry: the refused index */
unsigned pv_mmu_queued;               /* entries in mmu_q */
unsigned pv_batch_depth;

static unsigned qhash(uint32_t ptr) { return (((ptr >> 2) * 2654435761u) >> 20) % QHASH; }

/* The slot holding ptr, or the empty slot where it would go. */
static uint32_t *qslot(uint32_t ptr)
{
	for (unsigned h = qhash(ptr);; h = (h + 1) % QHASH) {
		uint32_t s = q_hash[h];
		if (s >> 16 != q_gen || mmu_q[(s & 0xFFFF) - 1].ptr == ptr)
			return &q_hash[h];
	}
}

static void close_segment(void)
{
	if (seg_start == pv_mmu_queued)
		return;
	struct pv_multicall *m = &mc_q[mc_n];
	m->op = PV_HC_MMU_UPDATE;
	m->args[0] = (uint32_t)&mmu_q[seg_start];
	m->args[1] = pv_mmu_queued - seg_start;
	m->args[2] = (uint32_t)&fail_idx[mc_n];
	m->args[3] = 0;
	m->result = 0;
	mc_n++;
	seg_start = pv_mmu_queued;
}

static __attribute__((noreturn)) void refused(const struct pv_multicall *m, int32_t err)
{
	if (m->op == PV_HC_MMU_UPDATE) {
		uint32_t i = fail_idx[m - mc_q];
		const struct pv_mmu_update *u = (const struct pv_mmu_update *)m->args[0];
		if (i < m->args[1])
			panic("mmu_update of entry 0x%08x to 0x%08x refused (%d)", u[i].ptr, u[i].val, err);
	}
	panic("hypercall %u (0x%x, 0x%x) refused (%d)", m->op, m->args[0], m->args[1], err);
}

void pv_mmu_flush(void)
{
	close_segment();
	if (mc_n == 1) {                      /* one operation: no multicall around it */
		int32_t r = pv_hypercall3(mc_q[0].op, mc_q[0].args[0], mc_q[0].args[1], mc_q[0].args[2]);
		if (r < 0)
			refused(&mc_q[0], r);
	} else if (mc_n) {
		int32_t r = pv_hypercall3(PV_HC_MULTICALL, (uint32_t)mc_q, mc_n, 0);
		if (r < 0)
			panic("multicall of %u entries refused (%d)", mc_n, r);
		if ((unsigned)r < mc_n)
			refused(&mc_q[r], mc_q[r].result);
	}
	mc_n = 0;
	seg_start = pv_mmu_queued = 0;
	memset(q_frames, 0, sizeof(q_frames));
	if (++q_gen == 0x10000) {             /* generations wrap: empty the table for real */
		memset(q_hash, 0, sizeof(q_hash));
		q_gen = 1;
	}
}

void pv_mmu_queue(uint32_t *entry, uint32_t val)
{
	pv_mmu_queue_op(V2P(entry), val);
}

/* Queue {ptr, val}: an entry's guest-physical address, or a command (pv/abi.h). */
void pv_mmu_queue_op(uint32_t ptr, uint32_t val)
{
	uint32_t *s = qslot(ptr);
	if (*s >> 16 == q_gen && (*s & 0xFFFF) - 1 >= seg_start) {
		mmu_q[(*s & 0xFFFF) - 1].val = val;      /* not sent yet: replace */
		return;
	}
	if (pv_mmu_queued == PV_MMU_QUEUE || mc_n == PV_MC_QUEUE) {
		pv_mmu_flush();
		s = qslot(ptr);
	}
	mmu_q[pv_mmu_queued] = (struct pv_mmu_update){ ptr, val };
	*s = q_gen << 16 | ++pv_mmu_queued;
	q_frames[(ptr >> 17) % 8] |= 1u << ((ptr >> 12) % 32);
}

uint32_t pv_mmu_pending_read(const uint32_t *entry)
{
	uint32_t ptr = V2P(entry);
	if (!(q_frames[(ptr >> 17) % 8] & 1u << ((ptr >> 12) % 32)))
		return *(volatile const uint32_t *)entry;   /* nothing queued in this frame */
	uint32_t s = *qslot(ptr);
	if (s >> 16 == q_gen)
		return mmu_q[(s & 0xFFFF) - 1].val;
	return *(volatile const uint32_t *)entry;
}

void pv_mc_queue(uint32_t op, uint32_t a1, uint32_t a2)
{
	if (mc_n >= PV_MC_QUEUE - 1)          /* room for the open segment too */
		pv_mmu_flush();
	close_segment();
	mc_q[mc_n++] = (struct pv_multicall){ op, { a1, a2, 0, 0 }, 0 };
}

/* Register the shared page: events (vif starts at 0) can be delivered from now on. */
void pv_guest_init(void)
{
	pv_shared.vif = 0;
	pv_hypercall3(PV_HC_SET_SHARED, V2P((uint32_t)&pv_shared), 0, 0);
}
#else
typedef int pv_guest_unused;   /* the native build has nothing here */
#endif
