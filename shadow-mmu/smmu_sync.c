/*
 * smmu_sync.c - page tables out of sync: written at full speed, made coherent at flushes.
 *
 * The rules (the essay in smmu.c tells why they are exact):
 *  - only a level-1 table goes out of sync: a frame some window filled a region through
 *    (pu list), used by no window as its page directory, holding no translations, and
 *    never for a PV guest.  Its first store (a write fault on a read-only mapping of it)
 *    takes a snapshot of its 1,024 entries (sm.snap[fn]), releases the frame (every
 *    mapping of it writable where the guest allows the store) and re-runs the store.  A
 *    table that becomes one at a fill, no window having used it before (pu_add), starts
 *    out of sync at once (unsync_start): no window derived anything from it yet, so the
 *    snapshot is exact, and no protection is put on it only to be lifted at its first
 *    store (a new process's tables: two host calls and a signal each, per window that
 *    maps the frame writable);
 *  - the snapshot holds, per entry, a value from which every shadow entry derived from
 *    that entry (in any window) was made, with A and D possibly clear where RAM has them
 *    set.  A fill through an out-of-sync table first syncs the entries of its prefetch
 *    group (sync_entries: a changed entry drops what every window derived from it, then
 *    the snapshot takes the value the fill is about to use);
 *  - INVLPG of A syncs the one entry that maps A (sync_entries) in the table each window of
 *    the current directory maps A's region through; a CR3 write to pd resyncs every
 *    out-of-sync table that a window of pd maps through (resync_dir, from the list of
 *    out-of-sync frames: the tables of other directories wait for their own CR3 write);
 *  - resync(fn) compares the table with its snapshot and drops, for each changed entry,
 *    the page it maps in every window that maps through the table (entry_changed: setting
 *    A or D drops nothing, clearing them or any other change does); then the snapshot is
 *    the table again.  After SMMU_UNSYNC_IDLE resyncs in a row that found no change the
 *    table is traced again (write-protected), so that quiet tables cost no comparisons;
 *  - when a table becomes a page directory or code, it is resynced and traced again
 *    (unsync_end); when its last use goes (pu_drop), its snapshot is simply forgotten.
 *
 * Callers: smmu_fill.c (unsync_begin on a store to a traced table, sync_entries before a
 * fill), smmu_trace.c (resync at INVLPG and CR3 writes), smmu_map.c (pu_add: unsync_start;
 * pu_drop).
 */
#include <string.h>
#include "smmu_int.h"

bool unsync_ok(uint32_t fn)
{
	return sm.unsync_on && !sm.pv && !sm.is_code[fn] && sm.pu_head[fn];
}

/* The snapshot, and fn on the list of frames out of sync. */
void unsync_start(uint32_t fn)
{
	uint32_t *s = malloc(GUEST_PAGE);
	if (!s)
		vmm_panic("shadow MMU: out of memory for a page-table snapshot");
	memcpy(s, sm.vm->ram + (gpa_t)fn * GUEST_PAGE, GUEST_PAGE);
	sm.snap[fn] = s;
	sm.idle[fn] = 0;
	sm.flood[fn] = 0;
	sm.unsync_list[sm.nunsync++] = fn;
	smmu_stats.unsyncs++;
}

void unsync_begin(uint32_t fn)
{
	unsync_start(fn);
	frame_release(fn);                /* not protected any more: writable where allowed */
}

/* Entries [first, first + n) of out-of-sync table fn: make the snapshot equal RAM,
 * dropping whatever the windows derived from an entry that changed.  Returns the number
 * of entries that differed. */
static uint32_t sync_range(uint32_t fn, uint32_t first, uint32_t n)
{
	const uint32_t *now = (const uint32_t *)(sm.vm->ram + (gpa_t)fn * GUEST_PAGE);
	uint32_t changed = 0;
	unmap_batch_begin();
	for (uint32_t i = first; i < first + n; i++) {
		const uint32_t *s = sm.snap[fn];
		if (!s)
			break;                    /* forgotten meanwhile (its last use went) */
		/* skip equal entries eight at a time (32 aligned bytes) */
		while (!(i & 7) && i + 8 <= first + n && !memcmp(s + i, now + i, 32))
			i += 8;
		if (i >= first + n)
			break;
		if (s[i] == now[i])
			continue;
		uint32_t old = s[i], v = now[i];
		sm.snap[fn][i] = v;
		changed++;
		entry_changed(fn, i, old, v);
	}
	unmap_batch_end();
	smmu_stats.resync_entries += changed;
	return changed;
}

void sync_entries(uint32_t fn, uint32_t first, uint32_t n)
{
	if (fn < sm.nframes && sm.snap[fn])
		sync_range(fn, first, n);
}

/*
 * Before a whole table is compared: the uses of it whose directory entry no longer names
 * it.  Directories are not traced, so a window whose address space is gone still lists the
 * tables it was made through, and the kernel soon hands those frames out again (as a new
 * directory, a table of another process, a page of data); comparing them with their
 * snapshots would drop, entry by entry, pages of windows that will never run again.
 * Such a region goes at once, and a window of a directory that is not current retires
 * (smmu.c win_retire): its directory is most likely gone, and if it is not, the window
 * comes back to it revalidated.
 */
static void uses_check(uint32_t fn)
{
	struct { uint16_t w; uint32_t r; } use[2 * SMMU_WINDOWS + 8];
	unsigned n = 0;
	for (uint32_t i = sm.pu_head[fn]; i && n < sizeof(use) / sizeof(use[0]); i = sm.pu_pool.n[i].next)
		use[n].w = sm.pu_pool.n[i].win, use[n++].r = sm.pu_pool.n[i].val;
	gpa_t cur_pd = sm.vm->cpu.cr3 & ~(GUEST_PAGE - 1);
	for (unsigned k = 0; k < n; k++) {
		struct window *w = &sm.win[use[k].w];
		uint32_t r = use[k].r;
		if (r == PD_USE || w->ptf[r] != (gpa_t)fn * GUEST_PAGE)
			continue;
		if ((uint64_t)w->pd + GUEST_PAGE <= sm.vm->ram_size) {
			uint32_t now = pde_now(w, r);
			if ((now & PTE_P) && !(now & PTE_PS) && (now & ~0xFFFu) == w->ptf[r])
				continue;             /* still its table */
		}
		smmu_stats.pde_changes++;
		if (w->kind == W_PAGED && (w->pd == cur_pd || w == sm.cur)) {
			invalidate_region(w, r);
			continue;
		}
		/* a window that does not run now: the region is orphaned - its pages stay,
		 * with no table, until the window is handed to a directory again, which moves
		 * them to that directory's table or drops them (smmu_trace.c region_check) */
		pu_drop(w, r);
		win_retire(w);
	}
}

void resync(uint32_t fn)
{
	if (!sm.snap[fn])
		return;
	uses_check(fn);
	if (!sm.snap[fn])
		return;                       /* its last use went */
	smmu_stats.resyncs++;
	if (!memcmp(sm.snap[fn], sm.vm->ram + (gpa_t)fn * GUEST_PAGE, GUEST_PAGE)) {
		if (++sm.idle[fn] >= SMMU_UNSYNC_IDLE) {
			smmu_stats.resync_protects++;
			unsync_end(fn);
		}
		return;
	}
	sm.idle[fn] = 0;
	sync_range(fn, 0, 1024);
}

void unsync_end(uint32_t fn)
{
	if (!sm.snap[fn])
		return;
	uses_check(fn);
	if (!sm.snap[fn])
		return;                       /* its last use went */
	sync_range(fn, 0, 1024);
	unsync_forget(fn);
	if (frame_protected(fn))
		frame_protect(fn);            /* traced again: every mapping read-only */
}

void unsync_forget(uint32_t fn)
{
	free(sm.snap[fn]);
	sm.snap[fn] = NULL;
	sm.idle[fn] = 0;
	for (uint32_t k = 0; k < sm.nunsync; k++)
		if (sm.unsync_list[k] == fn) {
			sm.unsync_list[k] = sm.unsync_list[--sm.nunsync];
			break;
		}
}

/* Does a window of page directory pd map through frame fn?  A retired window's pd is the
 * directory it had before it retired, whatever that frame is now: its tables are resynced
 * when it is handed to a directory again (smmu.c, win_revalidate), not here. */
static bool used_by_dir(uint32_t fn, gpa_t pd)
{
	for (uint32_t i = sm.pu_head[fn]; i; i = sm.pu_pool.n[i].next)
		if (sm.win[sm.pu_pool.n[i].win].pd == pd && sm.win[sm.pu_pool.n[i].win].kind == W_PAGED)
			return true;
	return false;
}

/* Every out-of-sync table a window of directory pd maps through (a CR3 write to pd). */
void resync_dir(gpa_t pd)
{
	unmap_batch_begin();
	/* backwards: a resync may take its own frame out of the list (moving the last
	 * one, already seen, into its place) */
	for (uint32_t k = sm.nunsync; k-- > 0;) {
		if (k >= sm.nunsync)
			continue;
		uint32_t fn = sm.unsync_list[k];
		if (used_by_dir(fn, pd))
			resync(fn);
	}
	unmap_batch_end();
}
