/*
 * smmu_map.c - host mappings of the windows and the bookkeeping that names them.
 *
 * The only file that calls mmap/mprotect on a window's pages (win_empty resets a whole
 * window in smmu.c).  Every host call is charged to the budget (2 VMAs per call, an upper
 * bound).  Page entries (pm) and 4 MiB regions (lg) change only here, together with the
 * rmap (frame -> window pages) and lr (4 MiB of RAM -> window regions) lists, so that
 * "an entry is present exactly when the host maps the page and the rmap lists it" holds
 * after every function.  entry_set/entry_clear change the books only: the caller makes
 * or drops the host mapping.  pu_add/pu_drop keep the tracing uses (frame -> window,
 * region); the first use of a frame write-protects every mapping of it (not for a PV
 * guest, nor while it is out of sync), the last use releases it lazily (a later store
 * refills writable) and forgets an out-of-sync snapshot; a frame out of sync becoming a
 * page directory is resynced and traced again first.
 *
 * Callers: the other shadow-mmu files only.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "smmu_int.h"

/* ---- node pools: list nodes for the per-frame lists ----------------------------------- */

static uint32_t node_get(struct pool *p)
{
	if (!p->free) {
		uint32_t old = p->cap, cap = old ? old * 2 : 65536;
		struct node *n = realloc(p->n, (size_t)cap * sizeof(*n));
		if (!n)
			vmm_panic("shadow MMU: out of memory for %u list nodes", cap);
		p->n = n;
		for (uint32_t i = cap - 1; i >= (old ? old : 1); i--) {
			n[i].next = p->free;
			p->free = i;
		}
		p->cap = cap;
	}
	uint32_t i = p->free;
	p->free = p->n[i].next;
	return i;
}

void pool_add(struct pool *p, uint32_t *head, uint16_t w, uint32_t val)
{
	uint32_t i = node_get(p);
	p->n[i] = (struct node){ *head, w, val };
	*head = i;
}

bool pool_del(struct pool *p, uint32_t *head, uint16_t w, uint32_t val)
{
	for (uint32_t *pp = head; *pp; pp = &p->n[*pp].next) {
		uint32_t i = *pp;
		if (p->n[i].win == w && p->n[i].val == val) {
			*pp = p->n[i].next;
			p->n[i].next = p->free;
			p->free = i;
			return true;
		}
	}
	return false;
}

/* ---- host mappings ------------------------------------------------------------------- */

static void charge(struct window *w, uint64_t *kind)
{
	sm.vma_est += 2;
	w->vmas += 2;
	smmu_stats.map_calls++;
	(*kind)++;
}

void host_map(struct window *w, uint32_t lpn, uint32_t npg, gpa_t frame, bool rw)
{
	void *p = mmap(w->base + (uint64_t)lpn * GUEST_PAGE, (size_t)npg * GUEST_PAGE,
		       rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED | MAP_FIXED, sm.vm->ram_fd, frame);
	if (p == MAP_FAILED)
		vmm_panic("shadow MMU: mmap of %u pages failed: %s", npg, strerror(errno));
	charge(w, &smmu_stats.map_maps);
}

void host_unmap(struct window *w, uint32_t lpn, uint32_t npg)
{
	void *p = mmap(w->base + (uint64_t)lpn * GUEST_PAGE, (size_t)npg * GUEST_PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		vmm_panic("shadow MMU: unmap failed: %s", strerror(errno));
	charge(w, &smmu_stats.map_unmaps);
}

void host_protect(struct window *w, uint32_t lpn, uint32_t npg, bool rw)
{
	if (mprotect(w->base + (uint64_t)lpn * GUEST_PAGE, (size_t)npg * GUEST_PAGE,
		     rw ? PROT_READ | PROT_WRITE : PROT_READ) < 0)
		vmm_panic("shadow MMU: mprotect failed: %s", strerror(errno));
	charge(w, &smmu_stats.map_protects);
}

/* ---- per-window page entries ---------------------------------------------------------- */
void entry_set(struct window *w, uint32_t lpn, gpa_t frame, uint32_t flags)
{
	uint32_t *e = pm_slot(w, lpn, true);
	if (*e & SM_P)
		vmm_panic("shadow MMU: page %05x mapped twice", lpn);
	*e = frame | flags | SM_P;
	w->pm_count[lpn / 1024]++;
	region_mark(w, lpn / 1024);
	pool_add(&sm.rmap_pool, &sm.rmap_head[frame / GUEST_PAGE], widx(w), lpn);
}

/* Forget one entry (the host mapping is the caller's business). */
void entry_clear(struct window *w, uint32_t lpn, uint32_t *e)
{
	uint32_t fn = *e / GUEST_PAGE;
	pool_del(&sm.rmap_pool, &sm.rmap_head[fn], widx(w), lpn);
	if (sm.is_code[fn])
		lookup_drop(w, lpn, 1);
	*e = 0;
	w->pm_count[lpn / 1024]--;
}

/*
 * Unmap batching.  A resync or a traced store that changed many entries of a table (a
 * process's pages torn down at exit or exec, or write-protected by a fork) drops or lowers
 * them page by page; between unmap_batch_begin and unmap_batch_end the host unmaps of
 * dropped pages and the mprotects of lowered ones are deferred, and each window's run of
 * consecutive ones goes in one call.  Only pages whose entries were just cleared (or made
 * read-only) are ever in a run, and nothing maps or raises a page while a batch is open
 * (the callers only compare entries, drop and lower) except remap_page, which makes its
 * window's deferred calls first, so the host mappings and the page entries agree again
 * when the batch ends.  Nests.
 */
static struct {
	unsigned depth;
	uint32_t start[SMMU_WINDOWS + 1], n[SMMU_WINDOWS + 1];     /* pages to unmap */
	uint32_t pstart[SMMU_WINDOWS + 1], pn[SMMU_WINDOWS + 1];   /* pages to make read-only */
} ub;

static void ub_flush(unsigned wi)
{
	if (ub.n[wi]) {
		host_unmap(&sm.win[wi], ub.start[wi], ub.n[wi]);
		ub.n[wi] = 0;
	}
	if (ub.pn[wi]) {
		host_protect(&sm.win[wi], ub.pstart[wi], ub.pn[wi], false);
		ub.pn[wi] = 0;
	}
}

/* Does lpn continue the run (start, n)?  Then it joins it. */
static bool run_join(uint32_t start, uint32_t *n, uint32_t lpn)
{
	if (!*n || start + *n != lpn)
		return false;
	(*n)++;
	smmu_stats.unmaps_batched++;
	return true;
}

/* Page lpn of w, mapped writable, becomes read-only (its entry already says so); in a
 * batch, runs of consecutive pages go in one call. */
void lower_page(struct window *w, uint32_t lpn)
{
	if (!ub.depth) {
		host_protect(w, lpn, 1, false);
		return;
	}
	unsigned wi = widx(w);
	if (run_join(ub.pstart[wi], &ub.pn[wi], lpn))
		return;
	if (ub.pn[wi])
		host_protect(w, ub.pstart[wi], ub.pn[wi], false);
	ub.pstart[wi] = lpn;
	ub.pn[wi] = 1;
}

void unmap_batch_begin(void) { ub.depth++; }

void unmap_batch_end(void)
{
	if (--ub.depth)
		return;
	for (unsigned wi = 0; wi <= SMMU_WINDOWS; wi++)
		ub_flush(wi);
}

void invalidate_page(struct window *w, uint32_t lpn)
{
	if (w->lg[lpn / 1024] & SM_P) {           /* a 4 MiB page goes as a whole */
		invalidate_region(w, lpn / 1024);
		return;
	}
	uint32_t *e = pm_slot(w, lpn, false);
	if (!e || !(*e & SM_P))
		return;
	entry_clear(w, lpn, e);
	if (!ub.depth) {
		host_unmap(w, lpn, 1);
		return;
	}
	unsigned wi = widx(w);
	if (run_join(ub.start[wi], &ub.n[wi], lpn))
		return;
	ub_flush(wi);
	ub.start[wi] = lpn;
	ub.n[wi] = 1;
}

/*
 * Page lpn of w, mapped to some frame, is to map `frame` instead (its entry changed to
 * another present, accessed frame: a copy-on-write break, or a reused window's page that
 * another process maps elsewhere).  One MAP_FIXED call replaces the host page, where
 * dropping it would cost an unmap now and a host fault and a mapping at the next touch.
 * What is mapped is what a fill from the new entry would map (writable only where gw says
 * the guest allows the store and is dirty, and the frame is not protected).  In a batch, the
 * window's deferred calls are made first, so that none of them (a lowering run) can take
 * the new mapping's rights away behind its entry's back: the one mapping made while a
 * batch is open.
 */
void remap_page(struct window *w, uint32_t lpn, gpa_t frame, bool gw)
{
	uint32_t *e = pm_slot(w, lpn, false);
	if (!e || !(*e & SM_P) || (w->lg[lpn / 1024] & SM_P)) {
		invalidate_page(w, lpn);
		return;
	}
	unsigned wi = widx(w);
	if (ub.depth)
		ub_flush(wi);
	entry_clear(w, lpn, e);
	map_list(w, &(struct fillent){ lpn, frame, gw }, 1);   /* a fill's rules */
	smmu_stats.pages_remapped++;
}

/*
 * The window's lookup table may hold blocks of pages whose mapping went away: note them,
 * and drop their entries in one pass at the next smmu_lookup (lookup_drops_apply), which
 * the run loop makes before translated code uses the table.  Until then the tag says no
 * mode, so translated code never switches into the table inline (ring_cache.c checks the
 * tag).  Only those pages' entries go: the kernel's stay when a process's pages go.
 */
void lookup_drop(struct window *w, uint32_t lpn, uint32_t npg)
{
	if (!w->lk_valid)
		return;
	w->lk_drop_any = true;
	w->lk->tag = CC_LK_NOTAG;
	struct cc_lk_drop *d = &w->lk_drop;
	if (npg == 1 && d->npages < CC_DROP_PAGES) {
		d->page[d->npages++] = lpn;
		return;
	}
	for (uint32_t r = lpn / 1024; r <= (lpn + npg - 1) / 1024 && r < NREG; r++)
		d->reg[r / 32] |= 1u << (r % 32);
}

void lookup_drops_apply(struct window *w)
{
	if (!w->lk_drop_any)
		return;
	cc_lookup_drop(w->lk, w->lk_cs, &w->lk_drop);
	w->lk_drop_any = false;
	memset(&w->lk_drop, 0, sizeof(w->lk_drop));
}

/* Region r becomes the 4 MiB page at `base` (the caller made the host mapping of its
 * n pages): read-only holes for the protected frames in it when it is writable. */
/*
 * Read-only holes in writable 4 MiB regions.  Every supervisor window of a kernel that maps
 * its RAM with 4 MiB pages holds the same regions, so a frame that becomes a traced table
 * or code (or stops being one) would cost an mprotect in each of them.  Only the windows
 * of the current directory (and the current window) can be run in, so the others are
 * brought up to date later: the frame goes on their pend list, and when their directory
 * becomes current (smmu_select) each pending frame's hole is made what frame_protected
 * says then - nothing at all for a frame that was protected and released meanwhile.  The
 * ro bits (a bit per linear page) say where the host has a hole now, so that no call is
 * made to reach the state a page is already in.
 */
static bool window_live(const struct window *w)
{
	/* during a CR3 write, cur is still the window of the directory being left */
	if (w->kind == W_PAGED)
		return sm.pv || w->pd == (sm.vm->cpu.cr3 & ~(GUEST_PAGE - 1));
	return sm.pv || w == sm.cur;
}

static bool ro_get(const struct window *w, uint32_t lpn)
{
	return w->ro && (w->ro[lpn / 64] >> (lpn % 64) & 1);
}

static void ro_put(struct window *w, uint32_t lpn, bool ro)
{
	if (!w->ro) {
		if (!ro)
			return;
		w->ro = calloc((1u << 20) / 64, sizeof(uint64_t));
		if (!w->ro)
			vmm_panic("shadow MMU: out of memory");
	}
	if (ro)
		w->ro[lpn / 64] |= 1ull << (lpn % 64);
	else
		w->ro[lpn / 64] &= ~(1ull << (lpn % 64));
}

bool large_page_ro(const struct window *w, uint32_t lpn)
{
	return ro_get(w, lpn);
}

/* The host state of page lpn (of a 4 MiB region of w) was just set to rw. */
void large_note_rw(struct window *w, uint32_t lpn, bool rw)
{
	if (w->lg[lpn / 1024] & SM_P)
		ro_put(w, lpn, !rw);
}

/* Make the hole of frame fn in region r of w what its protection says now. */
static void hole_update(struct window *w, uint32_t r, uint32_t fn)
{
	if (!(w->lg[r] & SM_GW))
		return;
	uint32_t lpn = r * 1024 + fn % 1024;
	bool ro = frame_protected(fn);
	if (ro_get(w, lpn) == ro)
		return;
	host_protect(w, lpn, 1, !ro);
	ro_put(w, lpn, ro);
}

void large_pending_apply(struct window *w)
{
	for (uint32_t k = 0; k < w->npend; k++) {
		uint32_t fn = w->pend[k];
		for (uint32_t i = sm.lr_head[fn >> 10]; i; i = sm.lr_pool.n[i].next)
			if (&sm.win[sm.lr_pool.n[i].win] == w)
				hole_update(w, sm.lr_pool.n[i].val, fn);
	}
	w->npend = 0;
}

/* The window lost its mappings (win_empty). */
void large_forget(struct window *w)
{
	if (w->ro)
		memset(w->ro, 0, (1u << 20) / 8);
	w->npend = 0;
}

static void pend_add(struct window *w, uint32_t fn)
{
	if (w->npend && w->pend[w->npend - 1] == fn)
		return;
	if (w->npend == w->cappend) {
		w->cappend = w->cappend ? w->cappend * 2 : 256;
		w->pend = realloc(w->pend, w->cappend * sizeof(uint32_t));
		if (!w->pend)
			vmm_panic("shadow MMU: out of memory");
	}
	w->pend[w->npend++] = fn;
	smmu_stats.holes_deferred++;
}

void large_set(struct window *w, uint32_t r, gpa_t base, bool gw, uint32_t n)
{
	w->lg[r] = base | SM_P | (gw ? SM_GW : 0);
	region_mark(w, r);
	pool_add(&sm.lr_pool, &sm.lr_head[base >> 22], widx(w), r);
	if (w->ro)
		memset(&w->ro[r * 1024 / 64], 0, 1024 / 8);   /* mapped whole: no hole yet */
	if (!gw || (sm.pv && !sm.ncode[base >> 22]))
		return;
	uint32_t fn0 = base / GUEST_PAGE;
	for (uint32_t i = 0; i < n;) {
		if (!frame_protected(fn0 + i)) {
			i++;
			continue;
		}
		uint32_t j = i + 1;
		while (j < n && frame_protected(fn0 + j))
			j++;
		host_protect(w, r * 1024 + i, j - i, false);
		for (uint32_t k = i; k < j; k++)
			ro_put(w, r * 1024 + k, true);
		i = j;
	}
}

/* Pages of the 4 MiB page at base that are RAM (the rest is device memory, never mapped). */
void map_large(struct window *w, uint32_t r, gpa_t base, bool gw)
{
	uint32_t n = large_pages(base);
	if (!n)
		return;
	host_map(w, r * 1024, n, base, gw);
	large_set(w, r, base, gw, n);
}

void invalidate_region(struct window *w, uint32_t r)
{
	if (w->lg[r] & SM_P) {
		uint32_t g = w->lg[r] >> 22;
		pool_del(&sm.lr_pool, &sm.lr_head[g], widx(w), r);
		if (sm.ncode[g])
			lookup_drop(w, r * 1024, 1024);
		w->lg[r] = 0;
		host_unmap(w, r * 1024, 1024);
	}
	if (w->pm[r] && w->pm_count[r]) {
		for (uint32_t i = pm_next(w->pm[r], 0); i < 1024; i = pm_next(w->pm[r], i + 1))
			if (w->pm[r][i] & SM_P)
				entry_clear(w, r * 1024 + i, &w->pm[r][i]);
		host_unmap(w, r * 1024, 1024);
	}
	if (w->ptf[r] != NOPT)
		pu_drop(w, r);
	w->marked[r / 64] &= ~(1ull << (r % 64));
}

/* ---- protection of frames ------------------------------------------------------------ */

/* Every mapping of frame fn becomes read-only (rw false), or writable again where the
 * guest allows the store (rw true); 4 MiB regions get or lose a one-page hole. */
static void frame_set_rw(uint32_t fn, bool rw)
{
	for (uint32_t i = sm.rmap_head[fn]; i; i = sm.rmap_pool.n[i].next) {
		struct window *w = &sm.win[sm.rmap_pool.n[i].win];
		uint32_t lpn = sm.rmap_pool.n[i].val, *e = pm_slot(w, lpn, false);
		if (!e || !!(*e & SM_RW) == rw || (rw && !(*e & SM_GW)))
			continue;
		host_protect(w, lpn, 1, rw);
		*e = rw ? *e | SM_RW : *e & ~SM_RW;
	}
	for (uint32_t i = sm.lr_head[fn >> 10]; i; i = sm.lr_pool.n[i].next) {
		struct window *w = &sm.win[sm.lr_pool.n[i].win];
		uint32_t r = sm.lr_pool.n[i].val;
		if (!(w->lg[r] & SM_GW))
			continue;
		if (window_live(w))
			hole_update(w, r, fn);
		else
			pend_add(w, fn);
	}
}

void frame_protect(uint32_t fn) { frame_set_rw(fn, false); }

void frame_release(uint32_t fn)
{
	if (!frame_protected(fn))
		frame_set_rw(fn, true);
}

/* Region r of w is made through page table pt from now on (its mark, its use). */
void region_set_table(struct window *w, uint32_t r, gpa_t pt)
{
	w->ptf[r] = pt;
	region_mark(w, r);
	pu_add(pt, w, r);
}

/* Start tracing a frame for (w, region). */
void pu_add(gpa_t frame, struct window *w, uint32_t region)
{
	uint32_t fn = frame / GUEST_PAGE;
	if (fn >= sm.nframes)
		return;
	bool was = frame_protected(fn);
	pool_add(&sm.pu_pool, &sm.pu_head[fn], widx(w), region);
	sm.flood[fn] = 0;
	if (!was && frame_protected(fn)) {    /* never for a PV guest */
		if (region != PD_USE && unsync_ok(fn))
			unsync_start(fn);     /* a new table: out of sync from the start */
		else
			frame_protect(fn);
	}
}

void pu_drop(struct window *w, uint32_t region)
{
	gpa_t frame = region == PD_USE ? w->pd : w->ptf[region];
	if (region != PD_USE)
		w->ptf[region] = NOPT;
	uint32_t fn = frame / GUEST_PAGE;
	if (fn >= sm.nframes)
		return;
	pool_del(&sm.pu_pool, &sm.pu_head[fn], widx(w), region);
	/* out of sync with no use left: no window derives anything from it any more */
	if (!sm.pu_head[fn] && sm.snap[fn])
		unsync_forget(fn);
	/* released lazily: a store to a read-only mapping of it refills writable */
}

/* The frame mapped at lpn in w, or NOPT; *rw (if asked): mapped writable now. */
gpa_t mapped_frame(struct window *w, uint32_t lpn, bool *rw)
{
	uint32_t r = lpn / 1024;
	if (w->lg[r] & SM_P) {
		gpa_t f = (w->lg[r] & 0xFFC00000u) + (lpn % 1024) * GUEST_PAGE;
		if (f >= sm.vm->ram_size)
			return NOPT;
		if (rw)
			*rw = (w->lg[r] & SM_GW) && !frame_protected(f / GUEST_PAGE);
		return f;
	}
	uint32_t *e = pm_slot(w, lpn, false);
	if (!e || !(*e & SM_P))
		return NOPT;
	if (rw)
		*rw = (*e & SM_RW) != 0;
	return *e & ~(GUEST_PAGE - 1);
}
