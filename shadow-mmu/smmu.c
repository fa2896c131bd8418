/*
 * smmu.c - shadow page tables on the host MMU (DESIGN.md §3).
 *
 * Windows.  Translated code reaches guest-linear address A at GS base + A.  Each window is
 * a 4 GiB PROT_NONE reservation (4 GiB-aligned, with at least one unmapped guard page on
 * each side, because windows are 8 GiB apart) whose host page-table entries are the
 * shadow page table.  Window 0 is the flat window of memory.c (CR0.PG = 0: all RAM at its
 * physical address).  With paging, a window belongs to one (guest page directory frame,
 * view): the supervisor view maps what CPL 0-2 may touch, the user view only what CPL 3
 * may touch, with CPL-3 write rules, so user/supervisor protection is the host MMU's.
 * Windows are kept across CR3 switches (SMMU_WINDOWS of them, least recently used
 * recycled), which is only correct because the page tables they were filled from are
 * traced or resynced at the CR3 write, and each region's directory entry is checked then
 * (below): a context switch back to a process finds its window still filled.
 *
 * Fills.  A host fault at window + A walks the guest tables (emulation/paging.c
 * emu_walk, which sets accessed/dirty bits as the CPU does).  A refused access becomes a
 * guest #PF with CR2 and the architecture's error code.  Otherwise the frame is mapped
 * with mmap(MAP_FIXED|MAP_SHARED) of the RAM memfd: writable only when the guest entry is
 * writable for the view AND already dirty (so the first store faults and sets D), and the
 * frame is not protected.  A 4 KiB fill also maps the present, accessed neighbours in an
 * aligned group of SMMU_PREFETCH entries of the same page table (entries with A clear are
 * left alone: mapping them would let the guest touch a page without A being set), one
 * mmap per physically contiguous run.  A 4 MiB page is mapped whole in one call and kept
 * as one region entry (lg[]: base and guest-writable bit, no per-page entries), listed
 * per 4 MiB of RAM (lr lists) instead of page by page in the rmap; a page of it is
 * read-only exactly when it is protected (holes punched with mprotect, runs in one call).
 *
 * Protection.  A frame is protected when translations live on it (code, cc.c calls
 * smmu_protect_code) or when it is a traced page table.  Every mapping of a protected
 * frame, in every window, is read-only; the reverse map (rmap: frame -> (window, linear
 * page) list) finds them.  A guest store to a code frame exits as SMF_SMC (run.c
 * invalidates the translations, the frame is released, the store re-runs alone).  A guest
 * store to a traced frame exits as SMF_TRACED: run.c snapshots the frame, lets this one
 * mapping write, single-steps the instruction, and smmu_trace_end() applies the
 * difference: a changed page-table entry drops the one page (setting A or D needs nothing).
 * Writes by the monitor itself (emulated instructions) arrive through smmu_ram_written()
 * and are handled the same way, conservatively (every written entry counts as changed).
 *
 * Tracing uses: a frame is traced while it is the page table a window region was filled
 * through (pu lists: frame -> (window, region)).  A frame written SMMU_FLOOD times in a
 * row with no fill through it in between is unshadowed: its uses are dropped (the regions
 * invalidated) and it becomes ordinary memory again until a fill walks through it (KVM's
 * write-flooding rule).
 *
 * Page directories are never traced (not PV).  Each region of a window records the
 * directory entry it was made from (pde[r], A included), and the regions follow the
 * directory at the flushes instead of at each store: a CR3 write compares every region of
 * the new directory's windows with its entry, an INVLPG the region of its address, and a
 * fill the region it fills (smmu_trace.c region_check); an entry that differs beyond A/D
 * being set moves the region to the entry's new table where most pages stay
 * (region_retarget) and drops it otherwise.  This is the out-of-sync rule below applied to
 * the directory: a TLB may keep what a changed directory entry mapped until the flush,
 * and a region not yet filled reads the entry as it is.  Tracing directories cost a hole
 * in every live 4 MiB kernel mapping for each new directory, a signal when the kernel
 * freed it and one single-stepped exit per entry Linux changes in a live one (own kernel
 * fork+exec: 13 -> 7 mprotects and 8 -> 6 host signals per operation).  What tracing gave
 * for free, knowing that an address space is gone, comes from two cheaper signs: a table
 * compared whole (a resync) first drops the uses whose directory entry no longer names it
 * and retires those windows (smmu_sync.c uses_check), and a directory that wants a window
 * first retires the windows whose first region's entry changed (win_get, dir_gone).
 *
 * Budget.  Each mapping call can split a host VMA, and Linux allows vm.max_map_count
 * VMAs per process.  vma_est counts 2 per call (an upper bound); when it passes the
 * budget, the real count is read from /proc/self/maps, and if that is still too high the
 * least recently used windows are emptied (even the current one, which then refills).
 *
 * Out-of-sync page tables (smmu_sync.c; KVM's unsync shadow pages are the same idea).
 * Tracing every store costs a monitor exit each, and a fork or an exit stores thousands
 * of entries.  The architecture does not ask for that: a TLB may keep a translation the
 * tables no longer hold until the OS flushes it (INVLPG of the address, MOV CR3, CR0.PG/
 * WP or CR4.PSE/PGE changes; this CPU has no PCID and no task switch that loads CR3), and
 * OSes flush after they take rights away.  So a level-1 table goes out of sync at its
 * first store: a snapshot of its entries is taken, the frame is released (writable in
 * every window) and the store re-runs with no exit; later stores run at full speed.  A
 * table that no window used before starts out of sync at the fill that first maps
 * through it (nothing was derived from it yet, so the snapshot is exact): a new process's
 * tables are written right after, and protecting them first cost a hole in every live
 * 4 MiB kernel mapping, a signal and the release (own kernel fork+exec: 14 -> 10 host
 * signals, 53 -> 35 mapping calls).  The windows are made coherent at the flushes:
 *  - INVLPG of A, in each window of the current directory that maps A's region through
 *    a table: that table's entry for A is synced (if it differs from the snapshot, the
 *    pages derived from it are dropped in every window and the snapshot takes the new
 *    value), and the page is dropped in those windows as before;
 *  - a CR3 write to pd: every out-of-sync table that some window of pd maps through is
 *    resynced (compared with its snapshot; each changed entry dropped in every window).
 *    The tables only other directories use wait: those windows are not used before a CR3
 *    write selects them, which resyncs them then.  An INVLPG of linear page 0 reaches
 *    here as (la 0, not all), the same as a CR3 write, and is done as one (more than it
 *    needs, never less);
 *  - CR0/CR4 changes empty every window, which forgets every snapshot.
 * Why this is exact.  Invariant: every shadow page derived from entry i of an
 * out-of-sync table was made from the value snap[i] holds, or that value with A or D
 * clear (the walks of fills set A/D in RAM, never clearing them).  It holds when the
 * snapshot is taken (the table was traced until then, or no window used it, so the
 * windows equal RAM); a fill
 * through an out-of-sync table first syncs the entries of its prefetch group (dropping
 * what every window derived from an entry that differs) before it maps from them, so a
 * value that comes and goes (X, Y, X) between two flushes cannot leave a window with Y
 * while the snapshot says X; a resync drops the derived pages of each entry that
 * differs.  Hence right after the flush events above, each window the CPU can use maps
 * only what the current tables allow (or a subset), which is what a TLB holds right after
 * that flush.  Between flushes a window may hold translations the tables have lost -
 * ones the guest had after its last flush, which a TLB may keep too.  Raising rights or
 * making an entry present needs no flush: the page was not mapped with them, so its
 * access faults and the fill reads the current entry.  A/D stay exact: a fill maps a
 * page writable only when the current entry has D set (and sets A/D in the entry as a
 * walk does); a guest that clears D (or A) keeps the stale writable page until its flush
 * - as a TLB entry with D set may be written without setting D again - and the resync
 * then sees D cleared (old & ~new) and drops the page, so the next store faults and sets
 * D.  Setting A or D alone drops nothing.
 * What stays traced: frames holding translations
 * (self-modifying code is detected by the protection of code frames, which an out-of-sync
 * table would lift: a table that becomes code is resynced and traced again), PV guests
 * (eager windows, no tracing at all), and a table that SMMU_UNSYNC_IDLE resyncs in a row
 * found unchanged (traced again, so that quiet tables cost no comparisons; its next store
 * takes it out of sync again).  Monitor writes to an out-of-sync table need nothing now:
 * its next resync compares it.
 *
 * TLB semantics, then: windows are coherent with guest memory except for what
 * out-of-sync tables changed since the last flush that covers it, which is a legal TLB.
 * INVLPG drops the page; CR0.PG/WP and CR4.PSE/PGE changes empty every paging window.
 * Device memory (physical addresses beyond RAM) is never mapped.
 *
 * PV guests (smmu_init(vm, flat, true); pv/abi.h).  A paravirtual guest changes page
 * tables only with mmu_update, which writes them through emu_phys_write, so every change reaches
 * smmu_ram_written: nothing is traced, no frame is protected for being a table, and the
 * windows are kept by pushing each change into them (eager mapping) instead of dropping
 * what it affected.  A new window is built from its whole directory (pv_build: 4 MiB
 * pages in one call per run of contiguous ones, each present 4 KiB entry mapped, runs of
 * neighbours with contiguous frames in one call).  A written entry of a directory
 * re-makes the region (resync_region), a written entry of a table re-makes those pages
 * (resync_pages) in every window that uses the frame (the pu lists, as for tracing).  One
 * mmu_update is applied as a whole at its end (smmu_defer), so a rebuilt table costs one
 * host call per run, not per entry.  Write permission that an update adds to a page
 * already mapped read-only is left to the first write (one fault, counted as a dirty
 * upgrade): a mapping is never more permissive than the guest's entry, only sometimes
 * less, and a permission that is granted and never used (a PTE toggled back and forth, a
 * copy-on-write page) costs no host call.  Accessed and dirty bits are not maintained for
 * a PV guest (pv/abi.h): an entry is mapped as soon as it is present, writable as soon
 * as the guest allows writes.  INVLPG reads the page's entries again instead of dropping
 * it; a CR3 switch compares the directory with the entries each region was built from
 * (pv_check_views: one memcmp when nothing changed), because a guest may free a
 * directory, reuse and zero the frame with plain stores and link it again - allowed for a
 * frame no directory uses (pvops.h).  A plain store to a live table is the guest's own
 * bug, like a missing TLB flush: the windows may keep the old mapping until the next
 * update of that entry, INVLPG or directory check, and since everything a window maps was
 * read from guest tables and checked against RAM here, such a store can never reach
 * outside guest RAM.  Budget: a window build stops at 3/4 of the budget and leaves the
 * rest to fills; a window emptied for the budget fills on demand from then on (not
 * eager), so the eviction rules hold for PV guests too.
 *
 * Everything here runs either in the monitor or in the SIGSEGV handler while translated
 * code was interrupted (never while the monitor itself is inside these structures), so no
 * locking; allocation in the handler is safe because the interrupted code is never libc.
 *
 * Files (smmu_int.h holds the state they share and the invariants they keep together):
 * this one keeps the windows - selection, emptying, lookup tables, set-up; smmu_map.c the
 * host mappings, page entries and frame lists (rmap, tracing uses, 4 MiB regions);
 * smmu_fill.c the fills; smmu_trace.c coherence (tracing, code protection, unshadowing,
 * INVLPG and CR3 writes); smmu_sync.c out-of-sync tables; smmu_budget.c the budget;
 * smmu_eager.c the PV mirror.
 *
 * Who calls this file: the run loop (smmu_select at every exit that may change CR0.PG,
 * CR3 or CPL, smmu_lookup / smmu_base for the translator), and, for win_empty and
 * window_at, the other shadow-mmu files.  A window is handed out (win_get) only with its
 * regions checked against its directory (or, PV, built eagerly); win_empty clears the vCPU's view slots at
 * once, so translated code never switches into a window that was emptied.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "smmu_int.h"

struct smmu_stats smmu_stats;
struct smmu_state sm = { .last_pd = ~0u, .live_pd = ~0u };
static uint64_t lru_clock;

/* ---- windows -------------------------------------------------------------------------- */

void win_empty(struct window *w)
{
	for (uint32_t r = 0; r < NREG; r++) {
		if (w->pm[r]) {
			if (w->pm_count[r])
				for (uint32_t i = 0; i < 1024; i++)
					if (w->pm[r][i] & SM_P)
						entry_clear(w, r * 1024 + i, &w->pm[r][i]);
			free(w->pm[r]);
			w->pm[r] = NULL;
		}
		if (w->lg[r] & SM_P) {
			pool_del(&sm.lr_pool, &sm.lr_head[w->lg[r] >> 22], widx(w), r);
			w->lg[r] = 0;
		}
		w->pde[r] = 0;
		if (w->ptf[r] != NOPT)
			pu_drop(w, r);
	}
	memset(w->marked, 0, sizeof(w->marked));
	w->eager = false;
	large_forget(w);
	if (w->released) {
		w->released = false;
		sm.nreleased--;
	} else if (w->kind == W_PAGED && sm.pv)
		pu_drop(w, PD_USE);
	/* one call replaces every mapping of the window with the reservation again */
	if (mmap(w->base, WIN_SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		vmm_panic("shadow MMU: cannot reset a window: %s", strerror(errno));
	smmu_stats.map_calls++;
	smmu_stats.map_unmaps++;
	sm.vma_est = sm.vma_est > w->vmas ? sm.vma_est - w->vmas : 0;
	w->vmas = 0;
	w->lk_valid = false;
	w->lk->tag = CC_LK_NOTAG;
	w->kind = W_FREE;
	sm.views_gen++;
	sm.vm->cpu.win_view[0] = sm.vm->cpu.win_view[1] = 0;   /* recomputed by smmu_select */
	sm.vm->cpu.lk_view[0] = sm.vm->cpu.lk_view[1] = 0;
	sm.vm->cpu.mmio_fast_page = 0;     /* a translation cached for this window's base */
	sm.vm->cpu.mmio_fast_wpage = 0;
}
/*
 * Retired windows (not PV).  A window whose directory no longer holds what its regions
 * were made from while another directory is current is most likely an address space that
 * has gone (a process that exited, or an mm that exec replaced: the kernel clears or
 * reuses the directory frame).  Such a window is retired when that is seen (a table of
 * it compared whole, smmu_sync.c uses_check; a new directory wanting a window, dir_gone
 * below): its mappings and lookup table stay, regions whose table went are kept as
 * orphans (pages, no table), and it is not selected for any directory until win_get
 * revalidates it.
 *
 * Revalidation.  Every region of a window was derived from one directory entry: w->pde[r],
 * the entry's value (accessed bit included) when the region was filled - a 4 MiB page, or
 * a page table frame whose own changes the tracing or out-of-sync rules keep following
 * for as long as the region uses it, whatever the window's state.  A region derived from
 * value v in a view is exactly what a window of any directory whose entry r is v would
 * derive in that view, so when a retired window is handed to directory pd, a region stays
 * if pd's entry r is v now (one comparison per filled region).  The tables a kept region
 * maps through that are out of sync are resynced then, as the CR3 write that selects pd
 * resyncs the tables of pd's windows.  A region whose entry names another table moves to
 * it page by page where it can (smmu_trace.c region_retarget: a page stays where the new
 * table maps the same frame, accessed, and is lowered, remapped or dropped as for a
 * changed entry otherwise); it goes as a whole when no page would stay.  Which retired
 * window a new directory gets: its own if it has one, else the one that would keep the
 * most pages (win_score: whole regions with the same entry, and the pages that would
 * stay in the others) - a fork's child finds its parent's text and data in the window
 * of the previous child, an exec'd binary its own in the window of its previous run -
 * and a free window rather than one that would keep nothing.  This is what makes an
 * address space cheap to create: Linux copies the kernel's directory entries into every
 * new directory, so a new process starts with the kernel half of a dead one already
 * mapped (and its lookup table filled), and an exec of the same binary finds its text.
 * Windows retire only when their directory is seen gone while it is not the current one
 * (never the windows translated code may be running in), and when the least recently
 * used window is taken for a new directory.  An orphan region always moves or goes at
 * revalidation: no entry can vouch for its pages.
 * CR0/CR4 changes and the budget empty retired windows like the others.
 */
void win_retire(struct window *w)
{
	if (w->kind != W_PAGED || sm.pv)
		return;
	w->kind = W_RETIRED;
	smmu_stats.window_retires++;
	sm.views_gen++;
	sm.vm->cpu.win_view[0] = sm.vm->cpu.win_view[1] = 0;   /* recomputed by smmu_select */
	sm.vm->cpu.lk_view[0] = sm.vm->cpu.lk_view[1] = 0;
	sm.vm->cpu.mmio_fast_page = 0;     /* the window may serve another directory next */
	sm.vm->cpu.mmio_fast_wpage = 0;
}

/* Hand retired window w to directory pd: keep the regions whose entry is the same. */
static void win_revalidate(struct window *w, gpa_t pd)
{
	uint32_t kept = 0;
	w->pd = pd;
	unmap_batch_begin();
	uint32_t r;
	for_marked(w, r) {
		if (!region_check(w, r))
			continue;
		kept++;
		if (w->ptf[r] != NOPT && sm.snap[w->ptf[r] / GUEST_PAGE])
			resync(w->ptf[r] / GUEST_PAGE);
	}
	unmap_batch_end();
	smmu_stats.window_reuses++;
	smmu_stats.regions_kept += kept;
}

/* How many pages of retired window w would stay if it served directory pd: all of a region
 * whose directory entry is the same, else those whose new entry maps the same frame. */
static uint32_t win_score(const struct window *w, gpa_t pd)
{
	if ((uint64_t)pd + GUEST_PAGE > sm.vm->ram_size)
		return 0;
	const uint32_t *dir = (const uint32_t *)(sm.vm->ram + pd);
	uint32_t n = 0, r;
	for_marked(w, r) {
		if (w->lg[r] & SM_P) {
			n += dir[r] == w->pde[r] ? 1024 : 0;
			continue;
		}
		if (!w->pm[r] || !w->pm_count[r])
			continue;
		if (dir[r] == w->pde[r])
			n += w->pm_count[r];
		else if ((dir[r] & PTE_P) && !(dir[r] & PTE_PS))
			n += region_matches(w, r, dir[r] & ~(GUEST_PAGE - 1));
	}
	return n;
}

/* The first region w holds was made from an entry its directory no longer has. */
static bool dir_gone(const struct window *w)
{
	if ((uint64_t)w->pd + GUEST_PAGE > sm.vm->ram_size)
		return true;
	for (uint32_t k = 0; k < NREG / 64; k++)
		if (w->marked[k]) {
			uint32_t r = k * 64 + (uint32_t)__builtin_ctzll(w->marked[k]);
			uint32_t now = pde_now(w, r), was = w->pde[r];
			return ((now ^ was) & ~(PTE_A | PTE_D)) || (was & ~now);
		}
	return false;
}

static struct window *win_get(gpa_t pd, bool user)
{
	struct window *free_w = NULL, *lru = NULL, *old = NULL;
	uint32_t old_score = 0;
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
		struct window *w = &sm.win[i];
		if (w->kind == W_PAGED && w->pd == pd && w->user == user) {
			smmu_stats.window_hits++;
			return w;
		}
		if (w->kind == W_FREE) {
			if (!free_w)
				free_w = w;
		} else if (w->kind == W_RETIRED) {
			continue;
		} else if (w != sm.cur && (!lru || w->last_use < lru->last_use))
			lru = w;
	}
	/* windows of directories that are gone retire now (their first region's entry
	 * changed: a freed directory is cleared or reused), so that they can serve this one */
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
		struct window *w = &sm.win[i];
		if (w->kind == W_PAGED && w != sm.cur && w->user == user && dir_gone(w))
			win_retire(w);
	}
	/* a retired window of the same view: this directory's own, else of the
	 * WIN_CANDIDATES most recently used the one that would keep the most pages (an
	 * address space like the new one: a fork of the same parent, an exec of the same
	 * binary), else the newest */
	enum { WIN_CANDIDATES = 8 };
	struct window *cand[WIN_CANDIDATES];
	unsigned nc = 0;
	for (unsigned i = 1; i <= SMMU_WINDOWS && (!old || old->pd != pd); i++) {
		struct window *w = &sm.win[i];
		if (w->kind != W_RETIRED || w->user != user)
			continue;
		if (w->pd == pd) {
			old = w;
			old_score = ~0u;
			continue;
		}
		unsigned k = nc < WIN_CANDIDATES ? nc++ : WIN_CANDIDATES;   /* insertion, newest first */
		while (k > 0 && cand[k - 1]->last_use < w->last_use) {
			if (k < WIN_CANDIDATES)
				cand[k] = cand[k - 1];
			k--;
		}
		if (k < WIN_CANDIDATES)
			cand[k] = w;
	}
	for (unsigned k = 0; k < nc && (!old || old->pd != pd); k++) {
		uint32_t sc = win_score(cand[k], pd);
		if (!old || sc > old_score) {
			old = cand[k];
			old_score = sc;
		}
	}
	/* a fresh window rather than one that would keep nothing (whose own address space
	 * may be back, or a like one come, while this one lives) */
	struct window *w = old && (old_score || !free_w) ? old : free_w;
	if (!w && !sm.pv && lru && lru->user == user) {
		win_retire(lru);              /* its mappings may serve the new directory */
		w = lru;
		smmu_stats.window_evictions++;
	}
	if (!w) {
		w = lru;
		win_empty(w);
		smmu_stats.window_evictions++;
	}
	smmu_stats.window_creates++;
	if (w->kind == W_RETIRED)
		win_revalidate(w, pd);
	else {
		w->lk_valid = false;
		w->lk->tag = CC_LK_NOTAG;
	}
	w->kind = W_PAGED;
	w->pd = pd;
	w->user = user;
	if (sm.pv)
		pu_add(pd, w, PD_USE);        /* the eager mirror follows its updates */
	sm.views_gen++;
	if (sm.pv)
		eager_build(w);
	return w;
}

/*
 * Both views of the current page directory, for translated code that switches CPL inline
 * (translator: INT from CPL 3, IRET to CPL 3): vcpu->win_view[v] / lk_view[v] with v = 1
 * for the user view, 0 when that window does not exist.  Recomputed when the current
 * window or the set of windows changed; win_empty clears them at once, so translated code
 * never switches into a window that was emptied or handed to another page directory.
 */
static void views_update(struct vcpu *c, struct window *w)
{
	static uint64_t gen_seen = ~0ull;
	static struct window *w_seen;
	if (w == w_seen && gen_seen == sm.views_gen)
		return;
	w_seen = w;
	gen_seen = sm.views_gen;
	c->win_view[0] = c->win_view[1] = 0;
	c->lk_view[0] = c->lk_view[1] = 0;
	if (w->kind != W_PAGED)
		return;
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
		if (sm.win[i].kind == W_PAGED && sm.win[i].pd == w->pd) {
			c->win_view[sm.win[i].user] = (uint64_t)(uintptr_t)sm.win[i].base;
			c->lk_view[sm.win[i].user] = (uint64_t)(uintptr_t)sm.win[i].lk;
		}
}

/* The window whose span (with its guard pages) holds host address addr, or NULL. */
struct window *window_at(uintptr_t addr)
{
	uintptr_t b0 = (uintptr_t)sm.win[0].base;       /* the flat window lies elsewhere */
	if (addr >= b0 - GUEST_PAGE && addr < b0 + WIN_SPAN + GUEST_PAGE)
		return &sm.win[0];
	uintptr_t first = (uintptr_t)sm.win[1].base - GUEST_PAGE;
	if (addr < first)
		return NULL;
	uintptr_t i = (addr - first) / WIN_STRIDE + 1;
	if (i > SMMU_WINDOWS)
		return NULL;
	uintptr_t base = (uintptr_t)sm.win[i].base;
	return addr < base + WIN_SPAN + GUEST_PAGE ? &sm.win[i] : NULL;
}

uint8_t *smmu_select(struct vcpu *c)
{
	struct window *w;
	if (!(c->cr0 & CR0_PG)) {
		w = &sm.win[0];
		flat_sync();
	}
	else {
		gpa_t pd = c->cr3 & ~(GUEST_PAGE - 1);
		bool user = c->cpl == 3;
		if (sm.pv && pd != sm.last_pd) {
			sm.last_pd = pd;
			if (sm.nreleased)
				eager_check_views(pd);
		}
		if (sm.cur && sm.cur->kind == W_PAGED && sm.cur->pd == pd && sm.cur->user == user)
			w = sm.cur;
		else
			w = win_get(pd, user);
	}
	if (w != sm.cur) {
		smmu_stats.window_switches++;
		sm.cur = w;
	}
	if (w->kind == W_PAGED && (w->pd != sm.live_pd || w->npend)) {
		/* the directory's windows can run now: their holes catch up (smmu_map.c) */
		sm.live_pd = w->pd;
		for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
			if (sm.win[i].kind == W_PAGED && sm.win[i].pd == w->pd && sm.win[i].npend)
				large_pending_apply(&sm.win[i]);
	}
	w->last_use = ++lru_clock;
	views_update(c, w);
	return w->base;
}

void smmu_set_unsync(bool on)
{
	if (!on)
		while (sm.nunsync)
			unsync_end(sm.unsync_list[sm.nunsync - 1]);
	sm.unsync_on = on && !sm.pv;
}

bool smmu_lookup_pending(void)
{
	return sm.cur && sm.cur->lk_drop_any;
}

uint8_t *smmu_base(void)
{
	return sm.cur ? sm.cur->base : sm.win[0].base;
}

struct cc_lookup *smmu_lookup(uint32_t mode, uint32_t cs_base)
{
	struct window *w = sm.cur ? sm.cur : &sm.win[0];
	if (w->lk_valid && w->lk_mode == mode && w->lk_cs == cs_base) {
		if (w->lk_drop_any) {
			lookup_drops_apply(w);
			w->lk->tag = CC_LK_TAG(mode, cs_base);
		}
	} else {
		cc_lookup_clear(w->lk);
		w->lk_valid = true;
		w->lk_drop_any = false;
		memset(&w->lk_drop, 0, sizeof(w->lk_drop));
		w->lk_mode = mode;
		w->lk_cs = cs_base;
		w->lk->tag = CC_LK_TAG(mode, cs_base);
		smmu_stats.lookup_clears++;
	}
	return w->lk;
}

/* ---- set-up ------------------------------------------------------------------------------ */

int smmu_init(struct vm *m, uint8_t *flat, bool pv)
{
	sm.vm = m;
	sm.pv = pv;
	sm.nframes = m->ram_size / GUEST_PAGE;
	sm.rmap_head = calloc(sm.nframes, sizeof(uint32_t));
	sm.pu_head = calloc(sm.nframes, sizeof(uint32_t));
	sm.is_code = calloc(sm.nframes, 1);
	sm.flood = calloc(sm.nframes, 1);
	sm.snap = calloc(sm.nframes, sizeof(uint32_t *));
	sm.idle = calloc(sm.nframes, 1);
	sm.unsync_list = calloc(sm.nframes + 1, sizeof(uint32_t));
	if (!sm.rmap_head || !sm.pu_head || !sm.is_code || !sm.flood || !sm.snap || !sm.idle ||
	    !sm.unsync_list)
		return -1;
	sm.unsync_on = !pv;
	sm.lr_head = calloc((sm.nframes + 1023) / 1024 + 1, sizeof(uint32_t));
	sm.ncode = calloc((sm.nframes + 1023) / 1024 + 1, sizeof(uint16_t));
	if (!sm.lr_head || !sm.ncode)
		return -1;
	budget_init();
	/* the paging windows: 8 GiB apart, 4 GiB aligned, reserved without backing */
	uint8_t *res = mmap(NULL, (SMMU_WINDOWS + 1) * WIN_STRIDE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return -1;
	uint8_t *b = (uint8_t *)(((uintptr_t)res + WIN_STRIDE / 2) & ~(uintptr_t)(WIN_SPAN - 1));
	sm.win[0] = (struct window){ .base = flat, .kind = W_FLAT };
	for (unsigned i = 0; i <= SMMU_WINDOWS; i++) {
		if (i)
			sm.win[i] = (struct window){ .base = b + (i - 1) * WIN_STRIDE, .kind = W_FREE };
		for (uint32_t r = 0; r < NREG; r++)
			sm.win[i].ptf[r] = NOPT;
		sm.win[i].lk = cc_lookup_new();
		if (!sm.win[i].lk)
			return -1;
	}
	sm.cur = &sm.win[0];
	return 0;
}

bool smmu_probe(gla_t la, gpa_t *frame, bool *rw)
{
	struct window *w = sm.cur;
	if (!w || w->kind != W_PAGED)
		return false;
	gpa_t f = mapped_frame(w, la >> 12, rw);
	if (f == NOPT)
		return false;
	*frame = f;
	return true;
}
