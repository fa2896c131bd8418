/*
 * smmu_eager.c - PV guests: windows that mirror their page directory (essay in smmu.c).
 *
 * A PV guest writes its tables only through mmu_update, which lands in
 * smmu_ram_written -> eager_written.  Instead of dropping what a write affects, the change
 * is pushed into every window that uses the frame: written entries are queued as (frame,
 * entry range) and applied at once, or at the end of one mmu_update (smmu_defer), one
 * host call per run of neighbouring pages.  Invariant: an eager window maps exactly what
 * its directory maps, never more permissively (added write permission is left to the
 * first store); a window cut short by the budget (not `eager`) only forgets and refills
 * on demand.  Released directories (smmu_release_dir) are checked against RAM before
 * their windows serve CR3 again (eager_check_views).
 *
 * Callers: pv/ (smmu_defer around one mmu_update, smmu_release_dir for PV_MMU_RELEASE);
 * the eager_* functions from smmu.c and smmu_trace.c, only for a PV guest.
 */
#include <string.h>
#include "smmu_int.h"
#include "../emulation/emu.h"

static void rq_run(void);
#define RQ_MAX 256
struct wrec { gpa_t frame; uint16_t lo, hi; };
static struct wrec rq[RQ_MAX];            /* recorded table writes (eager_written) */
static unsigned rq_n, defer_depth;
static struct node *ubuf;                 /* rq_run's copy of one frame's uses */
static uint32_t ubuf_cap;

/* What a directory entry asks of its region in window w: nothing, a 4 MiB page at *frame
 * (writable for the view: *gw), or the page table at *frame. */
enum rkind { R_EMPTY, R_LARGE, R_SMALL };

static enum rkind region_kind(const struct window *w, uint32_t pde, gpa_t *frame, bool *gw)
{
	const struct vcpu *c = &sm.vm->cpu;
	*gw = false;
	if (!(pde & PTE_P) || (w->user && !(pde & PTE_U)))
		return R_EMPTY;
	if ((pde & PTE_PS) && (c->cr4 & CR4_PSE)) {
		*frame = pde & 0xFFC00000u;
		*gw = emu_gpte_allows(c, pde, w->user, true);
		return large_pages(*frame) ? R_LARGE : R_EMPTY;
	}
	*frame = pde & ~(GUEST_PAGE - 1);
	return (uint64_t)*frame + GUEST_PAGE <= sm.vm->ram_size ? R_SMALL : R_EMPTY;
}

/* Did a directory entry change in a way that matters (accessed/dirty bits do not)? */
static bool pde_changed(uint32_t a, uint32_t b) { return ((a ^ b) & ~(PTE_A | PTE_D)) != 0; }

/* A run of neighbouring pages that take the same host call. */
enum { RUN_NONE, RUN_UNMAP, RUN_MAP, RUN_PROT };
struct run { int kind; uint32_t lpn, n; gpa_t frame; bool rw; };

static void run_flush(struct window *w, struct run *u)
{
	if (u->kind == RUN_UNMAP)
		host_unmap(w, u->lpn, u->n);
	else if (u->kind == RUN_MAP) {
		host_map(w, u->lpn, u->n, u->frame, u->rw);
		smmu_stats.eager_pages += u->n;
	} else if (u->kind == RUN_PROT) {
		host_protect(w, u->lpn, u->n, u->rw);
		for (uint32_t k = 0; k < u->n; k++)
			large_note_rw(w, u->lpn + k, u->rw);
	}
	u->kind = RUN_NONE;
}

static void run_add(struct window *w, struct run *u, int kind, uint32_t lpn, gpa_t frame, bool rw)
{
	if (u->kind == kind && lpn == u->lpn + u->n && (kind == RUN_UNMAP || u->rw == rw) &&
	    (kind != RUN_MAP || frame == u->frame + u->n * GUEST_PAGE)) {
		u->n++;
		return;
	}
	run_flush(w, u);
	*u = (struct run){ kind, lpn, 1, frame, rw };
}

/* Make pages lo..hi of the 4 KiB region r (its table is w->ptf[r], under directory entry
 * pde) match the guest's entries: each run of neighbours that needs the same change is
 * one host call (unmap, map of contiguous frames, or protection change). */
static void resync_pages(struct window *w, uint32_t r, uint32_t lo, uint32_t hi, uint32_t pde)
{
	const struct vcpu *c = &sm.vm->cpu;
	const uint32_t *pt = (const uint32_t *)(sm.vm->ram + w->ptf[r]);
	struct run u = { RUN_NONE, 0, 0, 0, false };
	for (uint32_t i = lo; i <= hi; i++) {
		uint32_t lpn = r * 1024 + i, pte = pt[i];
		uint32_t *e = pm_slot(w, lpn, false), now = e ? *e : 0;
		gpa_t frame = pte & ~(GUEST_PAGE - 1);
		uint32_t perm = (pde & pte & (PTE_U | PTE_W)) | (pte & ~(uint32_t)(PTE_U | PTE_W));
		if (!(pte & PTE_P) || frame >= sm.vm->ram_size || (w->user && !(perm & PTE_U))) {
			if (now & SM_P) {
				entry_clear(w, lpn, e);
				run_add(w, &u, RUN_UNMAP, lpn, 0, false);
			}
			continue;
		}
		bool gw = emu_gpte_allows(c, perm, w->user, true);
		bool rw = gw && !frame_protected(frame / GUEST_PAGE);
		if ((now & SM_P) && (now & ~(GUEST_PAGE - 1)) == frame) {
			/* write permission added to a mapped page: left to the first write */
			if (rw && !(now & SM_RW))
				rw = false;
			*e = frame | SM_P | (rw ? SM_RW : 0) | (gw ? SM_GW : 0);
			if (rw != !!(now & SM_RW))
				run_add(w, &u, RUN_PROT, lpn, 0, rw);
			continue;
		}
		if (now & SM_P)
			entry_clear(w, lpn, e);          /* the new mapping replaces the old one */
		entry_set(w, lpn, frame, (rw ? SM_RW : 0) | (gw ? SM_GW : 0));
		run_add(w, &u, RUN_MAP, lpn, frame, rw);
	}
	run_flush(w, &u);
}

/* Make region r match its directory entry now. */
static void resync_region(struct window *w, uint32_t r)
{
	uint32_t pde = pde_now(w, r);
	gpa_t frame = 0;
	bool gw;
	enum rkind k = region_kind(w, pde, &frame, &gw);
	w->pde[r] = pde;
	if (k == R_EMPTY) {
		if (!region_empty(w, r))
			invalidate_region(w, r);
	} else if (k == R_LARGE) {
		if (w->lg[r] == (frame | SM_P | (gw ? SM_GW : 0)))
			return;
		if (!region_empty(w, r))
			invalidate_region(w, r);
		map_large(w, r, frame, gw);
		smmu_stats.eager_pages += large_pages(frame);
	} else {
		if (w->ptf[r] != frame) {
			if (!region_empty(w, r))
				invalidate_region(w, r);
			region_set_table(w, r, frame);
		}
		resync_pages(w, r, 0, 1023, pde);
	}
}

/* Directory entry r of w changed: an eager window follows it, a window that fills on
 * demand (cut short by the budget) only forgets what it had. */
static void region_changed(struct window *w, uint32_t r)
{
	if (w->eager) {
		resync_region(w, r);
		return;
	}
	if (!region_empty(w, r))
		invalidate_region(w, r);
	w->pde[r] = pde_now(w, r);
}

/* A new window: map everything its directory maps, a run of 4 MiB pages that are
 * contiguous in both spaces in one host call.  Past 3/4 of the mapping budget the rest is
 * left to fills (the window is then not `eager`). */
void eager_build(struct window *w)
{
	if ((uint64_t)w->pd + GUEST_PAGE > sm.vm->ram_size)
		return;                         /* not RAM: every access is emulated */
	enforce_budget();
	smmu_stats.eager_builds++;
	w->eager = true;
	for (uint32_t r = 0; r < NREG; r++) {
		uint32_t pde = pde_now(w, r);
		gpa_t frame = 0, f2 = 0;
		bool gw, g2;
		w->pde[r] = pde;
		if (sm.vma_est >= sm.budget / 4 * 3) {
			w->eager = false;
			continue;
		}
		enum rkind k = region_kind(w, pde, &frame, &gw);
		if (k == R_SMALL) {
			region_set_table(w, r, frame);
			resync_pages(w, r, 0, 1023, pde);
			continue;
		}
		if (k != R_LARGE)
			continue;
		uint32_t n = 1;
		while (large_pages(frame) == 1024 && r + n < NREG) {
			uint64_t next = (uint64_t)frame + (uint64_t)n * 0x400000u;
			uint32_t p2 = pde_now(w, r + n);
			if (next + 0x400000u > sm.vm->ram_size || region_kind(w, p2, &f2, &g2) != R_LARGE ||
			    f2 != next || g2 != gw)
				break;
			w->pde[r + n] = p2;
			n++;
		}
		if (n == 1) {
			map_large(w, r, frame, gw);
			smmu_stats.eager_pages += large_pages(frame);
			continue;
		}
		host_map(w, r * 1024, n * 1024, frame, gw);
		for (uint32_t k2 = 0; k2 < n; k2++)
			large_set(w, r + k2, frame + k2 * 0x400000u, gw, 1024);
		smmu_stats.eager_pages += n * 1024;
		r += n - 1;
	}
}

/*
 * PV_MMU_RELEASE: the guest no longer uses directory pd and may reuse the frame as
 * anything, written with plain stores.  Its windows are kept (a directory frame is often
 * reused as a directory at once: the next fork), but they stop following the frame (no
 * directory use: updates to it as a page table do not reach them) and are checked against
 * the frame, region by region, if it is ever loaded as CR3 again (pv_check_views).  The
 * updates queued before the release (the teardown of its tables) are applied first, so
 * the windows keep no user mappings.
 */
void smmu_release_dir(gpa_t pd)
{
	if (!sm.pv)
		return;
	rq_run();
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
		struct window *w = &sm.win[i];
		if (w->kind != W_PAGED || w->pd != pd || w->released)
			continue;
		pu_drop(w, PD_USE);
		w->released = true;
		sm.nreleased++;
		smmu_stats.pv_releases++;
	}
	sm.last_pd = ~0u;                  /* the next smmu_select looks at released windows */
}

/* CR3 now names pd: released windows of it become its shadows again, after a check of
 * each region's entry against the one it was made from. */
void eager_check_views(gpa_t pd)
{
	if ((uint64_t)pd + GUEST_PAGE > sm.vm->ram_size)
		return;
	const uint32_t *d = (const uint32_t *)(sm.vm->ram + pd);
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
		struct window *w = &sm.win[i];
		if (w->kind != W_PAGED || w->pd != pd || !w->released)
			continue;
		w->released = false;
		sm.nreleased--;
		pu_add(pd, w, PD_USE);
		if (!memcmp(d, w->pde, sizeof(w->pde)))
			continue;
		for (uint32_t r = 0; r < NREG; r++) {
			if (pde_changed(d[r], w->pde[r])) {
				smmu_stats.pv_rechecks++;
				region_changed(w, r);
			}
			w->pde[r] = d[r];         /* accessed/dirty bits: the next memcmp passes */
		}
	}
}

/* INVLPG: the page is read again from the guest's tables. */
void eager_resync_page(struct window *w, uint32_t lpn)
{
	if ((uint64_t)w->pd + GUEST_PAGE > sm.vm->ram_size)
		return;
	uint32_t r = lpn / 1024, pde = pde_now(w, r);
	gpa_t frame = 0;
	bool gw;
	if (pde_changed(pde, w->pde[r]))
		region_changed(w, r);
	else if (region_kind(w, pde, &frame, &gw) == R_SMALL && w->ptf[r] == frame)
		resync_pages(w, r, lpn % 1024, lpn % 1024, pde);
}

/*
 * Monitor writes to frames that windows use as directory or page table (for a PV guest
 * that is mmu_update; emulated accesses setting accessed bits come the same way).  Each
 * write is recorded as (frame, first..last entry) and applied by rq_run: right away, or at
 * the end of a batch (smmu_defer), when whole runs of entries are known, so that a table
 * rebuilt by one mmu_update is mapped in as few host calls as possible.  rq_run looks the
 * frame's uses up only then, and drops a use that no longer holds (the region was moved to
 * another table meanwhile: its own resync covered it).
 */
static void rq_run(void)
{
	for (unsigned k = 0; k < rq_n; k++) {
		const struct wrec *q = &rq[k];
		uint32_t n = 0;
		for (uint32_t i = sm.pu_head[q->frame / GUEST_PAGE]; i; i = sm.pu_pool.n[i].next) {
			if (n == ubuf_cap) {
				ubuf_cap = ubuf_cap ? 2 * ubuf_cap : 64;
				ubuf = realloc(ubuf, ubuf_cap * sizeof(*ubuf));
				if (!ubuf)
					vmm_panic("shadow MMU: out of memory");
			}
			ubuf[n++] = sm.pu_pool.n[i];
		}
		for (uint32_t u = 0; u < n; u++) {
			struct window *w = &sm.win[ubuf[u].win];
			uint32_t r = ubuf[u].val;
			if (w->kind != W_PAGED)
				continue;
			if (r == PD_USE) {
				if (w->pd == q->frame)
					for (uint32_t e = q->lo; e <= q->hi; e++)
						region_changed(w, e);
			} else if (w->ptf[r] == q->frame) {
				uint32_t pde = pde_now(w, r);
				if (pde_changed(pde, w->pde[r]))
					region_changed(w, r);
				else
					resync_pages(w, r, q->lo, q->hi, pde);
			}
		}
	}
	rq_n = 0;
}

void eager_written(gpa_t gpa, uint32_t len)
{
	for (uint64_t a = gpa & ~3u; a < (uint64_t)gpa + len; a += 4) {
		uint32_t fn = (uint32_t)(a / GUEST_PAGE);
		if (fn >= sm.nframes)
			break;
		if (!sm.pu_head[fn]) {
			a |= GUEST_PAGE - 4;      /* skip the rest of a frame no window uses */
			continue;
		}
		uint16_t idx = (uint16_t)((a % GUEST_PAGE) / 4);
		gpa_t frame = fn * GUEST_PAGE;
		smmu_stats.pv_entry_writes++;
		struct wrec *q = rq_n ? &rq[rq_n - 1] : NULL;
		if (q && q->frame == frame && idx + 1u >= q->lo && idx <= q->hi + 1u) {
			q->lo = idx < q->lo ? idx : q->lo;
			q->hi = idx > q->hi ? idx : q->hi;
			continue;
		}
		if (rq_n == RQ_MAX)
			rq_run();
		rq[rq_n++] = (struct wrec){ frame, idx, idx };
	}
	if (!defer_depth)
		rq_run();
}

void smmu_defer(bool on)
{
	if (on) {
		defer_depth++;
		return;
	}
	if (defer_depth && --defer_depth == 0) {
		rq_run();
		enforce_budget();
	}
}
