/*
 * smmu_trace.c - coherence of the windows with guest memory.
 *
 * A window stays correct across CR3 switches only because every page-table frame it was
 * filled through is traced (mapped read-only everywhere) or out of sync and resynced at
 * the CR3 write, and every region is checked against its directory entry then
 * (region_check; directories are never traced).  A guest store to a traced table exits as
 * SMF_TRACED; the run loop single-steps it between smmu_trace_begin and smmu_trace_end,
 * and the difference drops exactly the shadow entries it changed (entry_changed: a
 * table entry drops its page; setting A or D drops nothing).  Monitor writes to RAM arrive through smmu_ram_written and count every
 * written entry as changed.  A frame written SMMU_FLOOD times with no fill through it is
 * unshadowed (its uses dropped, the frame ordinary memory again).  Code frames
 * (smmu_protect_code, from the code cache) are read-only in every window and in the flat
 * window.  INVLPG and full flushes (smmu_tlb_flush) bring out-of-sync tables back in sync
 * (smmu_sync.c), which drops what changed: an INVLPG the entry of the page, a CR3 write
 * every table the new directory's windows use; a page whose entry did not change stays
 * mapped (it is exactly what a refill would map), and one whose entry names another
 * present, accessed frame maps that frame at once (remap_page).  A store to a traced
 * level-1 table never reaches the single step: smmu_fault takes the table out of sync instead,
 * so what is traced here is tables that are also code (and every table while out-of-sync
 * tables are switched off).  For a PV
 * guest nothing is traced: written entries go to the eager mirror instead.
 *
 * Callers: the run loop (traced stores, INVLPG, CR3/CR0/CR4 changes, and
 * smmu_ram_written for every monitor write to guest RAM); the code cache through
 * monitor/memory.c's page-protection hook (smmu_protect_code).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "smmu_int.h"

/*
 * A page-table entry that maps window page lpn changed from old to new: keep the page if
 * the new entry still gives what the mapping gives - the same frame, present, accessed,
 * reachable from the view - lowering the mapping to read-only when the entry no longer
 * lets the view write (or is no longer dirty), and drop it otherwise.  What stays is then
 * exactly what a fill from the new entry would map, or less (a write upgrade is left to
 * the first store, as for a clean page), so the lookup entries of the page stay valid too.
 * A fork write-protecting its parent's pages thus costs one mprotect per page instead of
 * an unmap now and a fault and a mapping at the next read.  With remap (a window of the
 * current directory), an entry that names another present, accessed frame maps it at
 * once (a copy-on-write break: the process is about to touch the page again); in other
 * windows the page goes (a table reused by another process, whose own windows map it).
 */
static void page_changed(struct window *w, uint32_t lpn, uint32_t old, uint32_t new, bool remap)
{
	uint32_t *e = pm_slot(w, lpn, false);
	if (!e || !(*e & SM_P))
		return;
	gpa_t frame = *e & ~(GUEST_PAGE - 1);
	uint32_t pde = w->pde[lpn / 1024];      /* the entry the region was made from */
	uint32_t perm = (pde & new & (PTE_U | PTE_W)) | (new & ~(uint32_t)(PTE_U | PTE_W));
	if (old == ~new || (new & (PTE_P | PTE_A)) != (PTE_P | PTE_A) || (w->user && !(perm & PTE_U)) ||
	    !(pde & PTE_P)) {
		invalidate_page(w, lpn);
		return;
	}
	bool gw = guest_writable(&sm.vm->cpu, w, perm);
	if ((new & ~0xFFFu) != frame) {
		if (remap && (uint64_t)(new & ~0xFFFu) + GUEST_PAGE <= sm.vm->ram_size)
			remap_page(w, lpn, new & ~0xFFFu, gw);
		else
			invalidate_page(w, lpn);
		return;
	}
	if ((*e & SM_RW) && !gw) {
		lower_page(w, lpn);
		*e &= ~SM_RW;
		smmu_stats.pages_lowered++;
	} else
		smmu_stats.pages_kept++;
	*e = (*e & ~SM_GW) | (gw ? SM_GW : 0);
}

/* The pages region r of w maps that table nt maps to the same frames, accessed. */
uint32_t region_matches(const struct window *w, uint32_t r, gpa_t nt)
{
	uint32_t n = 0;
	if (!w->pm[r] || !w->pm_count[r] || (uint64_t)nt + GUEST_PAGE > sm.vm->ram_size)
		return 0;
	const uint32_t *now = (const uint32_t *)(sm.vm->ram + nt);
	const uint32_t *pm = w->pm[r];
	uint32_t seen = 0;
	for (uint32_t i = pm_next(pm, 0); i < 1024 && seen < w->pm_count[r]; i = pm_next(pm, i + 1)) {
		if (!(pm[i] & SM_P))
			continue;
		seen++;
		if ((now[i] & (PTE_P | PTE_A)) == (PTE_P | PTE_A) &&
		    (now[i] & ~0xFFFu) == (pm[i] & ~(GUEST_PAGE - 1)))
			n++;
	}
	return n;
}

/*
 * Region r of window w (being handed to another directory, smmu.c win_revalidate) was made
 * through table w->ptf[r] and the new directory's entry names another table: a process
 * made by fork, or a binary exec'd again, has new tables whose entries are mostly the
 * same frames as those of the address space the window served (its text, its data, often
 * its stack, as the frame allocator hands out the frames just freed).  Instead of dropping
 * the region, it moves to the new table: each page it maps is compared as a changed entry
 * would be (page_changed: kept where the new entry maps the same frame with the rights the
 * mapping has, lowered or dropped otherwise: not remapped, as another address space
 * touched it), from the value it was made from (the old table's snapshot when that is out
 * of sync, else the table itself, which tracing kept equal to the window) to the new
 * table's entry.  Then every page of the region is
 * what a fill through the new entry would map, which is the rule for a window.  False
 * when the region cannot move (a 4 MiB page on either side, the new entry not present,
 * a table outside RAM or holding code) or fewer than half its pages would stay (their
 * drops would cost more host calls than the region's one): the caller drops it.
 */
bool region_retarget(struct window *w, uint32_t r, uint32_t npde)
{
	gpa_t nt = npde & ~(GUEST_PAGE - 1), ot = w->ptf[r];
	if (!(npde & PTE_P) || (npde & PTE_PS) || (w->lg[r] & SM_P) || nt == ot ||
	    (uint64_t)nt + GUEST_PAGE > sm.vm->ram_size || sm.is_code[nt / GUEST_PAGE])
		return false;
	uint32_t nfn = nt / GUEST_PAGE;
	if (region_matches(w, r, nt) * 2 < w->pm_count[r])
		return false;                 /* most would go: one call drops it all */
	if (sm.snap[nfn])
		resync(nfn);                  /* its snapshot is what other windows derive from */
	static uint32_t was[1024];
	if (ot == NOPT)                   /* an orphan (smmu_sync.c uses_check): values unknown */
		memset(was, 0, sizeof(was));
	else {
		uint32_t ofn = ot / GUEST_PAGE;
		memcpy(was, sm.snap[ofn] ? sm.snap[ofn] : (const uint32_t *)(sm.vm->ram + ot), GUEST_PAGE);
		pu_drop(w, r);
	}
	w->pde[r] = npde;
	region_set_table(w, r, nt);
	sm.flood[nfn] = 0;
	const uint32_t *now = (const uint32_t *)(sm.vm->ram + nt);
	if (w->pm[r] && w->pm_count[r])
		for (uint32_t i = pm_next(w->pm[r], 0); i < 1024; i = pm_next(w->pm[r], i + 1))
			if (w->pm[r][i] & SM_P)
				page_changed(w, r * 1024 + i, was[i], now[i], false);
	smmu_stats.regions_retargeted++;
	return true;
}

/*
 * Region r of w against its directory entry as it is now (directories are never traced:
 * this runs at the flushes, at fills and when a retired window is handed out).  The
 * region stays when the entry is the value it was made from, or that value with A or D
 * set since (what was derived from it is still all a walk would give, or less); it moves
 * to the entry's new table where it can (region_retarget) and goes otherwise.  True when
 * it stayed as it was.
 */
bool region_check(struct window *w, uint32_t r)
{
	if (region_empty(w, r))
		return false;
	if ((uint64_t)w->pd + GUEST_PAGE > sm.vm->ram_size) {
		invalidate_region(w, r);
		return false;
	}
	uint32_t now = pde_now(w, r), was = w->pde[r];
	bool orphan = !(w->lg[r] & SM_P) && w->ptf[r] == NOPT;   /* its table went (uses_check) */
	if (now == was && !orphan)
		return true;
	if (!orphan && !((now ^ was) & ~(PTE_A | PTE_D)) && !(was & ~now)) {
		w->pde[r] = now;              /* only accessed/dirty were set */
		return true;
	}
	smmu_stats.pde_changes++;
	if (!region_retarget(w, r, now))
		invalidate_region(w, r);
	return false;
}

/* Entry idx of table frame fn changed from old to new (old = ~new: unknown). */
void entry_changed(uint32_t fn, uint32_t idx, uint32_t old, uint32_t new)
{
	if (!((old ^ new) & ~(PTE_A | PTE_D)) && !(old & ~new))
		return;                       /* only accessed/dirty bits were set */
	struct { uint16_t w; uint32_t r; } use[2 * SMMU_WINDOWS + 8];
	unsigned n = 0;
	for (uint32_t i = sm.pu_head[fn]; i && n < sizeof(use) / sizeof(use[0]); i = sm.pu_pool.n[i].next)
		use[n].w = sm.pu_pool.n[i].win, use[n++].r = sm.pu_pool.n[i].val;
	for (unsigned k = 0; k < n; k++) {
		struct window *w = &sm.win[use[k].w];
		bool cur_dir = w->kind == W_PAGED && w->pd == (sm.vm->cpu.cr3 & ~(GUEST_PAGE - 1));
		page_changed(w, use[k].r * 1024 + idx, old, new, cur_dir);
	}
	smmu_stats.trace_invalidations++;
}

/* Too many writes with no fill through it: stop tracing the frame. */
static void unshadow(uint32_t fn)
{
	smmu_stats.unshadowed++;
	while (sm.pu_head[fn]) {
		struct node *nd = &sm.pu_pool.n[sm.pu_head[fn]];
		invalidate_region(&sm.win[nd->win], nd->val);
	}
	sm.flood[fn] = 0;
	frame_release(fn);
}

bool smmu_ram_written(gpa_t gpa, uint32_t len)
{
	bool traced = false;
	if (!len || !sm.nframes)
		return false;
	if (sm.pv) {
		eager_written(gpa, len);
		return false;
	}
	for (uint64_t a = gpa & ~3u; a < (uint64_t)gpa + len; a += 4) {
		uint32_t fn = (uint32_t)(a / GUEST_PAGE);
		if (fn >= sm.nframes)
			break;
		if (!sm.pu_head[fn] || sm.snap[fn]) {
			/* skip the rest of an untraced frame, or of one out of sync (whose next
			 * resync compares it with its snapshot) */
			a |= GUEST_PAGE - 4;
			continue;
		}
		smmu_stats.traced_monitor_writes++;
		traced = true;
		entry_changed(fn, (uint32_t)(a % GUEST_PAGE) / 4, 0, 0xFFFFFFFFu);
	}
	return traced;
}

static struct window *trace_win;

void smmu_trace_begin(gla_t la)
{
	trace_win = sm.cur;
	if (mapped_frame(sm.cur, la >> 12, NULL) != NOPT) {
		host_protect(sm.cur, la >> 12, 1, true);
		large_note_rw(sm.cur, la >> 12, true);
	}
}

void smmu_trace_end(gla_t la, gpa_t frame, const uint32_t *before)
{
	struct window *w = trace_win;
	uint32_t fn = frame / GUEST_PAGE;
	bool rw;
	/* put the read-only mapping back unless the step itself dropped it */
	if (mapped_frame(w, la >> 12, &rw) == frame) {
		host_protect(w, la >> 12, 1, rw);
		large_note_rw(w, la >> 12, rw);
	}
	const uint32_t *now = (const uint32_t *)(sm.vm->ram + frame);
	unmap_batch_begin();
	for (uint32_t i = 0; i < 1024; i++)
		if (before[i] != now[i] && sm.pu_head[fn])
			entry_changed(fn, i, before[i], now[i]);
	unmap_batch_end();
	if (sm.pu_head[fn] && ++sm.flood[fn] >= SMMU_FLOOD)
		unshadow(fn);
}

void smmu_protect_code(gpa_t frame, bool protect)
{
	uint32_t fn = frame / GUEST_PAGE;
	if (fn >= sm.nframes)
		return;
	if (protect == !!sm.is_code[fn])
		return;
	if (protect && sm.snap[fn])
		unsync_end(fn);               /* a table that is also code is traced */
	sm.is_code[fn] = protect;
	if (protect)
		sm.ncode[fn >> 10]++;
	else
		sm.ncode[fn >> 10]--;
	if (sm.cur && sm.cur->kind != W_FLAT)
		sm.flat_stale = true;         /* brought up to date if paging goes off (below) */
	else {
		if (mprotect(sm.win[0].base + frame, GUEST_PAGE,
			     protect ? PROT_READ : PROT_READ | PROT_WRITE) < 0)
			vmm_panic("mprotect of guest page %08x failed: %s", frame, strerror(errno));
		smmu_stats.map_calls++;
		smmu_stats.map_protects++;
	}
	if (protect) {
		smmu_stats.code_protects++;
		frame_protect(fn);
	} else
		frame_release(fn);
}

/*
 * The flat window (CR0.PG = 0) runs no code while paging is on - translated code runs in
 * the current paging window, the monitor reaches RAM through its own mapping - so a code
 * frame's protection is not put on it then (two host calls per program a fork+exec loads
 * and frees), only noted (flat_stale); when paging goes off, smmu_select makes the whole
 * flat window what is_code says before anything runs in it: writable, then code frames
 * read-only, a call per run of them.
 */
void flat_sync(void)
{
	if (!sm.flat_stale)
		return;
	sm.flat_stale = false;
	if (mprotect(sm.win[0].base, sm.vm->ram_size, PROT_READ | PROT_WRITE) < 0)
		vmm_panic("mprotect of the flat window failed: %s", strerror(errno));
	smmu_stats.map_calls++;
	smmu_stats.map_protects++;
	for (uint32_t fn = 0; fn < sm.nframes;) {
		if (!sm.is_code[fn]) {
			fn++;
			continue;
		}
		uint32_t end = fn + 1;
		while (end < sm.nframes && sm.is_code[end])
			end++;
		if (mprotect(sm.win[0].base + (uint64_t)fn * GUEST_PAGE, (size_t)(end - fn) * GUEST_PAGE,
			     PROT_READ) < 0)
			vmm_panic("mprotect of guest pages %08x failed: %s", fn * GUEST_PAGE, strerror(errno));
		smmu_stats.map_calls++;
		smmu_stats.map_protects++;
		fn = end;
	}
}

void smmu_tlb_flush(struct vcpu *c, gla_t la, bool all)
{
	if (all) {
		for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
			if (sm.win[i].kind == W_PAGED || sm.win[i].kind == W_RETIRED)
				win_empty(&sm.win[i]);
		if (sm.cur && sm.cur->kind == W_FREE)
			sm.cur = NULL;
		return;
	}
	gpa_t pd = c->cr3 & ~(GUEST_PAGE - 1);
	if (!sm.pv) {
		/* the directory's entries first: a CR3 write checks every region of the new
		 * directory's windows, an INVLPG the region of la (the others may keep what
		 * they hold, as a TLB may; a fill in one checks it first) */
		unmap_batch_begin();
		for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
			struct window *w = &sm.win[i];
			if (w->kind != W_PAGED || w->pd != pd)
				continue;
			uint32_t r;
			if (la)
				region_check(w, la >> 22);
			else
				for_marked(w, r)
					region_check(w, r);
		}
		unmap_batch_end();
	}
	if (!la && sm.nunsync)
		resync_dir(pd);                           /* a CR3 write: the whole new TLB */
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
		struct window *w = &sm.win[i];
		if (w->kind != W_PAGED || w->pd != pd)
			continue;
		if (sm.pv) {
			eager_resync_page(w, la >> 12);   /* re-read, not dropped */
			continue;
		}
		/* Bring the entry that maps la in sync (if its table is out of sync): that drops
		 * the page if the entry changed since it was mapped.  Nothing else needs to go -
		 * every mapping a window holds was derived from a directory entry that is traced
		 * and a table entry that is traced or was just synced, so it is what a walk of
		 * the tables would give now (rights, frame, A/D: a cleared A or D counts as a
		 * change), which is all that a TLB refill after INVLPG could give. */
		if (w->ptf[la >> 22] != NOPT)
			sync_entries(w->ptf[la >> 22] / GUEST_PAGE, (la >> 12) % 1024, 1);
	}
}
