/*
 * smmu_fill.c - filling a window on demand.
 *
 * A host fault at window + A is the guest touching linear A: walk the guest tables
 * (emu_walk, which sets accessed/dirty as the CPU would), inject a guest #PF when the
 * walk refuses, exit for a store to code (SMF_SMC) or to a traced table that is also code
 * (SMF_TRACED; a store to another traced table takes it out of sync and re-runs), bring
 * the region up to its directory entry first (region_check), leave device memory to the emulator (SMF_MMIO), and otherwise map the frame with its
 * present, accessed neighbours (SMMU_PREFETCH of them, one host call per contiguous run).
 * A page is mapped writable only when the guest entry allows the store for the view, is
 * already dirty (not checked for PV: no dirty bits) and the frame is not protected, so the
 * first store to a clean page faults here and becomes a dirty upgrade.  A fill through an
 * out-of-sync table syncs the entries of its prefetch group first (smmu_sync.c).
 *
 * Callers: the run loop - smmu_fault from its SIGSEGV handler of translated code,
 * smmu_note_code before it translates code at a linear address.
 */
#include "smmu_int.h"
#include "../emulation/emu.h"

static gla_t last_fault;            /* linear address of the last SMF_TRACED */

bool guest_writable(const struct vcpu *c, const struct window *w, uint32_t perm)
{
	/* PV: no dirty bits (pv/abi.h), so writable as soon as the guest allows writes */
	return (sm.pv || (perm & PTE_D)) && emu_gpte_allows(c, perm, w->user, true);
}

/* Map (lpn, frame) runs from a sorted list, coalescing contiguous ones. */
void map_list(struct window *w, const struct fillent *f, unsigned n)
{
	unsigned i = 0;
	while (i < n) {
		uint32_t fn = f[i].frame / GUEST_PAGE;
		bool rw = f[i].gw && !frame_protected(fn);
		unsigned j = i + 1;
		while (j < n && f[j].lpn == f[j - 1].lpn + 1 && f[j].frame == f[j - 1].frame + GUEST_PAGE &&
		       (f[j].gw && !frame_protected(f[j].frame / GUEST_PAGE)) == rw)
			j++;
		host_map(w, f[i].lpn, j - i, f[i].frame, rw);
		for (unsigned k = i; k < j; k++) {
			entry_set(w, f[k].lpn, f[k].frame, (rw ? SM_RW : 0) | (f[k].gw ? SM_GW : 0));
			/* translated code of the page may enter the window's lookup table now
			 * (a process starting a binary others ran finds its text translated) */
			if (sm.is_code[f[k].frame / GUEST_PAGE])
				cc_lookup_map_page(w->lk, f[k].frame, f[k].lpn);
		}
		i = j;
	}
}

static void fill_large(struct vcpu *c, struct window *w, gla_t la, const struct emu_walk *wk)
{
	uint32_t r = la >> 22;
	gpa_t base = wk->gpa & 0xFFC00000u;
	bool gw = guest_writable(c, w, wk->perm);
	if (w->lg[r] == (base | SM_P | (gw ? SM_GW : 0))) {
		/* mapped already: a page left read-only for a protection since lifted (unless
		 * the store's own fault lifted it just now: a table going out of sync) */
		if (gw && !frame_protected(wk->gpa / GUEST_PAGE) && large_page_ro(w, la >> 12)) {
			host_protect(w, la >> 12, 1, true);
			large_note_rw(w, la >> 12, true);
		}
		w->pde[r] = pde_now(w, r);    /* the walk may have set D */
		smmu_stats.dirty_upgrades++;
		return;
	}
	if (!region_empty(w, r))
		invalidate_region(w, r);
	/* one call for the whole 4 MiB (read-only holes for protected frames) */
	map_large(w, r, base, gw);
	w->pde[r] = pde_now(w, r);
	smmu_stats.large_fills++;
}

static void fill_small(struct vcpu *c, struct window *w, gla_t la, const struct emu_walk *wk)
{
	uint32_t r = la >> 22, lpn = la >> 12;
	if (w->ptf[r] != wk->pt) {
		if (!region_empty(w, r))
			invalidate_region(w, r);
		region_set_table(w, r, wk->pt);
		w->pde[r] = pde_now(w, r);
	}
	sm.flood[wk->pt / GUEST_PAGE] = 0;
	uint32_t first = lpn & ~(SMMU_PREFETCH - 1u);
	/* out of sync: the snapshot takes the entries this fill may use (smmu_sync.c) */
	sync_entries(wk->pt / GUEST_PAGE, first % 1024, SMMU_PREFETCH);
	uint32_t *e = pm_slot(w, lpn, true);
	gpa_t frame = wk->gpa & ~(GUEST_PAGE - 1);
	bool gw = guest_writable(c, w, wk->perm);
	if (*e & SM_P) {
		/* present already: a dirty-bit upgrade, or a different frame after a lazy release */
		if ((*e & ~(GUEST_PAGE - 1)) == frame) {
			bool rw = gw && !frame_protected(frame / GUEST_PAGE);
			if (rw != !!(*e & SM_RW))
				host_protect(w, lpn, 1, rw);
			*e = frame | SM_P | (rw ? SM_RW : 0) | (gw ? SM_GW : 0);
			smmu_stats.dirty_upgrades++;
			return;
		}
		/* another frame: the entry goes, and the mapping below replaces the host page
		 * (MAP_FIXED), so no unmap first */
		entry_clear(w, lpn, e);
	}
	/* prefetch: present, accessed neighbours in the aligned group, same rules */
	struct fillent f[SMMU_PREFETCH];
	unsigned n = 0;
	uint32_t pde;
	memcpy(&pde, sm.vm->ram + (w->pd + r * 4), 4);
	const uint32_t *pt = (const uint32_t *)(sm.vm->ram + wk->pt);
	for (uint32_t l = first; l < first + SMMU_PREFETCH; l++) {
		if (l == lpn) {
			f[n++] = (struct fillent){ l, frame, gw };
			continue;
		}
		uint32_t pte = pt[l % 1024], need = sm.pv ? PTE_P : PTE_P | PTE_A;
		if ((pte & need) != need || (pte & ~0xFFFu) >= sm.vm->ram_size)
			continue;
		uint32_t perm = (pde & pte & (PTE_U | PTE_W)) | (pte & ~(uint32_t)(PTE_U | PTE_W));
		if (w->user && !(perm & PTE_U))
			continue;
		uint32_t *pe = pm_slot(w, l, false);
		if (pe && (*pe & SM_P))
			continue;
		f[n++] = (struct fillent){ l, pte & ~0xFFFu, guest_writable(c, w, perm) };
		smmu_stats.prefetched++;
	}
	map_list(w, f, n);
}

/* Page tables outside RAM cannot be traced: such pages are never mapped (emulated). */
static bool tables_in_ram(const struct window *w, const struct emu_walk *wk)
{
	return (uint64_t)w->pd + GUEST_PAGE <= sm.vm->ram_size &&
	       (wk->large || (uint64_t)wk->pt + GUEST_PAGE <= sm.vm->ram_size);
}

static void fill(struct vcpu *c, struct window *w, gla_t la, const struct emu_walk *wk)
{
	/* the walk read the directory entry as it is now: a region made from another value
	 * (directories are not traced) is brought up to it before anything is added */
	region_check(w, la >> 22);
	if (wk->large)
		fill_large(c, w, la, wk);
	else
		fill_small(c, w, la, wk);
}

enum smf smmu_fault(struct vcpu *c, uintptr_t addr, bool write, uint32_t *info)
{
	/* translated code may have switched windows inline since the run loop chose cur */
	struct window *w = window_at(addr);
	if (!w || w->kind == W_FREE)
		return SMF_BAD;
	sm.cur = w;
	uintptr_t base = (uintptr_t)w->base;
	if (addr < base - GUEST_PAGE || addr >= base + WIN_SPAN + GUEST_PAGE)
		return SMF_BAD;
	if (addr < base || addr >= base + WIN_SPAN)
		return SMF_MMIO;           /* wrapped past 4 GiB: the emulator does it right */
	gla_t la = (gla_t)(addr - base);
	if (w->kind == W_FLAT) {
		if (la >= sm.vm->ram_size)
			return SMF_MMIO;
		if (write && sm.is_code[la / GUEST_PAGE]) {
			*info = la & ~(GUEST_PAGE - 1);
			return SMF_SMC;
		}
		return SMF_BAD;
	}
	enforce_budget();
	struct emu_walk wk;
	uint32_t pfec = emu_walk(c, la, write, w->user, &wk);
	if (pfec) {
		c->cr2 = la;
		*info = pfec & 0xFFFF;
		smmu_stats.pf_injected++;
		return SMF_PF;
	}
	gpa_t frame = wk.gpa & ~(GUEST_PAGE - 1);
	if (frame >= sm.vm->ram_size || !tables_in_ram(w, &wk)) {
		smmu_stats.mmio++;
		return SMF_MMIO;
	}
	uint32_t fn = frame / GUEST_PAGE;
	if (write && sm.is_code[fn]) {
		*info = frame;
		return SMF_SMC;
	}
	if (write && !sm.pv && sm.pu_head[fn] && !sm.snap[fn] && unsync_ok(fn)) {
		/* the first store to a level-1 table: out of sync, writable, store re-run */
		unsync_begin(fn);
		smmu_stats.fills++;
		fill(c, w, la, &wk);
		return SMF_RETRY;
	}
	if (write && !sm.pv && sm.pu_head[fn] && !sm.snap[fn]) {
		/* mapped read-only first, so that the single step only has to unprotect it */
		if (mapped_frame(w, la >> 12, NULL) != frame)
			fill(c, w, la, &wk);
		last_fault = la;
		*info = frame;
		smmu_stats.traced_writes++;
		return SMF_TRACED;
	}
	smmu_stats.fills++;
	fill(c, w, la, &wk);
	return SMF_RETRY;
}

/*
 * Prefault: the guest handled a #PF from user mode at la and its IRET goes back to the
 * faulting instruction (monitor/signals.c, vmm_pf_retry), so the retry would fault on the
 * host only to be filled: map la now, in the user view's window, and the retry runs.  What
 * the fill may map is what any fill may (every shadow entry derives from the guest tables
 * as they are now), and the walk is a read: it sets A, which a CPU may set for a
 * translation it only prefetched, never D, so a page is writable only if the guest's entry
 * is dirty already (the kernel set D itself, as Linux does for a write fault); otherwise
 * the retried store takes the dirty upgrade as it would have.  Nothing for a page that is
 * still not allowed (the handler sent a signal, or the fault was for another reason), a
 * large page mapped already, or device memory.
 */
void smmu_prefault(struct vcpu *c, gla_t la)
{
	enforce_budget();
	struct window *w = c->win_view[1] ? window_at((uintptr_t)c->win_view[1]) : NULL;
	if (!w || w->kind != W_PAGED || !w->user)
		return;
	struct emu_walk wk;
	if (emu_walk(c, la, false, true, &wk) || (wk.gpa & ~(GUEST_PAGE - 1)) >= sm.vm->ram_size ||
	    !tables_in_ram(w, &wk) || (wk.large && mapped_frame(w, la >> 12, NULL) != NOPT))
		return;
	smmu_stats.prefaults++;
	fill(c, w, la, &wk);
}

bool smmu_note_code(struct vcpu *c, gla_t la)
{
	struct window *w = sm.cur;
	if (!w || w->kind != W_PAGED)
		return true;
	/* The translator looked la up in the current tables, and a lookup entry for la must
	 * only live while the window maps that frame (a change of the mapping drops it): an
	 * out-of-sync entry for la is synced first, dropping a stale mapping of la. */
	region_check(w, la >> 22);
	if (w->ptf[la >> 22] != NOPT)
		sync_entries(w->ptf[la >> 22] / GUEST_PAGE, (la >> 12) % 1024, 1);
	if (mapped_frame(w, la >> 12, NULL) != NOPT)
		return true;
	struct emu_walk wk;
	if (emu_walk(c, la, false, w->user, &wk) || (wk.gpa & ~(GUEST_PAGE - 1)) >= sm.vm->ram_size ||
	    !tables_in_ram(w, &wk))
		return false;
	enforce_budget();
	smmu_stats.fills++;
	fill(c, w, la, &wk);
	return mapped_frame(w, la >> 12, NULL) != NOPT;
}

gla_t smmu_last_fault(void) { return last_fault; }
