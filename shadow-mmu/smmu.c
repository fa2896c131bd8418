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
 * traced (below): a context switch back to a process finds its window still filled.
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
 * difference: a changed page-directory entry drops the shadow region it covered in that
 * window, a changed page-table entry drops the one page (setting A or D needs nothing).
 * Writes by the monitor itself (emulated instructions) arrive through smmu_ram_written()
 * and are handled the same way, conservatively (every written entry counts as changed).
 *
 * Tracing uses: a frame is traced while it is the page directory of a window or the page
 * table a window region was filled through (pu lists: frame -> (window, region)).  A frame
 * written SMMU_FLOOD times in a row with no fill through it in between (a page table
 * being torn down or a reused frame) is unshadowed: its uses are dropped (the regions
 * invalidated, or the whole window for a page directory) and it becomes ordinary memory
 * again until a fill walks through it (KVM's write-flooding rule).
 *
 * Budget.  Each mapping call can split a host VMA, and Linux allows vm.max_map_count
 * VMAs per process.  vma_est counts 2 per call (an upper bound); when it passes the
 * budget, the real count is read from /proc/self/maps, and if that is still too high the
 * least recently used windows are emptied (even the current one, which then refills).
 *
 * TLB semantics: since every page-table frame a window depends on is traced, windows are
 * always coherent with guest memory, which is a legal TLB (one that never holds a stale
 * entry).  INVLPG still drops the page; CR0.PG/WP and CR4.PSE/PGE changes empty every
 * paging window.  Device memory (physical addresses beyond RAM) is never mapped.
 *
 * PV guests (pv_enabled(), pv/abi.h).  A paravirtual guest changes page tables only with
 * mmu_update, which writes them through emu_phys_write, so every change reaches
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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "smmu.h"
#include "../monitor/memory.h"
#include "../monitor/param.h"
#include "../codecache/cc.h"
#include "../emulation/emu.h"
#include "../pv/pv.h"

#define WIN_SPAN    (1ull << 32)
#define WIN_STRIDE  (2ull << 32)
#define NREG        1024u            /* 4 MiB regions per window */
#define PD_USE      NREG             /* pu region value: the frame is the window's PD */
#define NOPT        0xFFFFFFFFu
#define SM_P   1u                    /* pm entry: mapped */
#define SM_RW  2u                    /* mapped writable now */
#define SM_GW  4u                    /* the guest allows writes and the entry is dirty */

enum { W_FREE, W_FLAT, W_PAGED };

struct window {
	uint8_t *base;
	int kind;
	gpa_t pd;                 /* guest page-directory frame */
	bool user;                /* user view */
	uint64_t last_use;
	uint64_t vmas;            /* mapping calls charged to this window (x2) */
	uint32_t *pm[NREG];       /* per region: per page (frame | SM_*), or NULL */
	uint16_t pm_count[NREG];
	gpa_t ptf[NREG];          /* page table the region was filled through, or NOPT */
	uint32_t lg[NREG];        /* a 4 MiB region: guest base | SM_P | SM_GW, else 0 */
	uint32_t pde[NREG];       /* PV: the directory entry each region was made to match */
	bool eager;               /* PV: built from its whole directory (not cut by the budget) */
	bool released;            /* PV: the guest released its directory (PV_MMU_RELEASE) */
	struct cc_lookup *lk;
	uint32_t lk_mode, lk_cs;
	bool lk_valid, lk_stale;
};

/* A pool of list nodes: (window, value) pairs hanging off a frame. */
struct node { uint32_t next; uint16_t win; uint32_t val; };
struct pool { struct node *n; uint32_t cap, free; };

struct smmu_stats smmu_stats;
static struct vm *vm;
static uint32_t nframes;
static struct window win[SMMU_WINDOWS + 1];
static struct window *cur;
static uint64_t views_gen;       /* bumped when a window is created or emptied */
static uint64_t lru_clock;
static struct pool rmap_pool, pu_pool;
static uint32_t *rmap_head, *pu_head;     /* per frame: first node, 0 = none */
static uint8_t *is_code, *flood;
static bool pvm;                          /* a PV guest: eager windows, no tracing */
static struct pool lr_pool;               /* 4 MiB regions mapped per 4 MiB of RAM */
static uint32_t *lr_head;
static uint16_t *ncode;                   /* code frames per 4 MiB of RAM */
static gpa_t last_pd = ~0u;               /* PV: the directory of the last smmu_select */
static unsigned nreleased;                /* PV: windows with `released` set */
static uint64_t vma_est, budget;
static gla_t last_fault;

/* ---- node pools ---------------------------------------------------------------------- */

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

static void list_add(struct pool *p, uint32_t *head, uint16_t w, uint32_t val)
{
	uint32_t i = node_get(p);
	p->n[i] = (struct node){ *head, w, val };
	*head = i;
}

static bool list_del(struct pool *p, uint32_t *head, uint16_t w, uint32_t val)
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

static uint16_t widx(const struct window *w) { return (uint16_t)(w - win); }
static bool frame_protected(uint32_t fn) { return is_code[fn] || (!pvm && pu_head[fn]); }

static void charge(struct window *w)
{
	vma_est += 2;
	w->vmas += 2;
	smmu_stats.map_calls++;
}

static void host_map(struct window *w, uint32_t lpn, uint32_t npg, gpa_t frame, bool rw)
{
	void *p = mmap(w->base + (uint64_t)lpn * GUEST_PAGE, (size_t)npg * GUEST_PAGE,
		       rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED | MAP_FIXED, vm->ram_fd, frame);
	if (p == MAP_FAILED)
		vmm_panic("shadow MMU: mmap of %u pages failed: %s", npg, strerror(errno));
	charge(w);
}

static void host_unmap(struct window *w, uint32_t lpn, uint32_t npg)
{
	void *p = mmap(w->base + (uint64_t)lpn * GUEST_PAGE, (size_t)npg * GUEST_PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		vmm_panic("shadow MMU: unmap failed: %s", strerror(errno));
	charge(w);
}

static void host_protect(struct window *w, uint32_t lpn, uint32_t npg, bool rw)
{
	if (mprotect(w->base + (uint64_t)lpn * GUEST_PAGE, (size_t)npg * GUEST_PAGE,
		     rw ? PROT_READ | PROT_WRITE : PROT_READ) < 0)
		vmm_panic("shadow MMU: mprotect failed: %s", strerror(errno));
	charge(w);
}

/* ---- per-window page entries ---------------------------------------------------------- */

static uint32_t *pm_slot(struct window *w, uint32_t lpn, bool alloc)
{
	uint32_t r = lpn / 1024;
	if (!w->pm[r]) {
		if (!alloc)
			return NULL;
		w->pm[r] = calloc(1024, sizeof(uint32_t));
		if (!w->pm[r])
			vmm_panic("shadow MMU: out of memory");
	}
	return &w->pm[r][lpn % 1024];
}

static void entry_set(struct window *w, uint32_t lpn, gpa_t frame, uint32_t flags)
{
	uint32_t *e = pm_slot(w, lpn, true);
	if (*e & SM_P)
		vmm_panic("shadow MMU: page %05x mapped twice", lpn);
	*e = frame | flags | SM_P;
	w->pm_count[lpn / 1024]++;
	list_add(&rmap_pool, &rmap_head[frame / GUEST_PAGE], widx(w), lpn);
}

/* Forget one entry (the host mapping is the caller's business). */
static void entry_clear(struct window *w, uint32_t lpn, uint32_t *e)
{
	uint32_t fn = *e / GUEST_PAGE;
	list_del(&rmap_pool, &rmap_head[fn], widx(w), lpn);
	if (is_code[fn]) {
		w->lk_stale = true;
		w->lk->tag = CC_LK_NOTAG;     /* inline ring switches check the tag */
	}
	*e = 0;
	w->pm_count[lpn / 1024]--;
}

static void pu_drop(struct window *w, uint32_t region);

static void invalidate_region(struct window *w, uint32_t r);

static void invalidate_page(struct window *w, uint32_t lpn)
{
	if (w->lg[lpn / 1024] & SM_P) {           /* a 4 MiB page goes as a whole */
		invalidate_region(w, lpn / 1024);
		return;
	}
	uint32_t *e = pm_slot(w, lpn, false);
	if (!e || !(*e & SM_P))
		return;
	entry_clear(w, lpn, e);
	host_unmap(w, lpn, 1);
}

/* The window's lookup table may hold blocks of a page whose mapping went away. */
static void lookup_stale(struct window *w)
{
	w->lk_stale = true;
	w->lk->tag = CC_LK_NOTAG;
}

/* Region r becomes the 4 MiB page at `base` (the caller made the host mapping of its
 * n pages): read-only holes for the protected frames in it when it is writable. */
static void large_set(struct window *w, uint32_t r, gpa_t base, bool gw, uint32_t n)
{
	w->lg[r] = base | SM_P | (gw ? SM_GW : 0);
	list_add(&lr_pool, &lr_head[base >> 22], widx(w), r);
	if (!gw || (pvm && !ncode[base >> 22]))
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
		i = j;
	}
}

/* Pages of the 4 MiB page at base that are RAM (the rest is device memory, never mapped). */
static uint32_t large_pages(gpa_t base)
{
	if (base >= vm->ram_size)
		return 0;
	uint64_t end = (uint64_t)base + 0x400000u;
	return (uint32_t)(((end < vm->ram_size ? end : vm->ram_size) - base) / GUEST_PAGE);
}

static void map_large(struct window *w, uint32_t r, gpa_t base, bool gw)
{
	uint32_t n = large_pages(base);
	if (!n)
		return;
	host_map(w, r * 1024, n, base, gw);
	large_set(w, r, base, gw, n);
}

static void invalidate_region(struct window *w, uint32_t r)
{
	if (w->lg[r] & SM_P) {
		uint32_t g = w->lg[r] >> 22;
		list_del(&lr_pool, &lr_head[g], widx(w), r);
		if (ncode[g])
			lookup_stale(w);
		w->lg[r] = 0;
		host_unmap(w, r * 1024, 1024);
	}
	if (w->pm[r] && w->pm_count[r]) {
		for (uint32_t i = 0; i < 1024; i++)
			if (w->pm[r][i] & SM_P)
				entry_clear(w, r * 1024 + i, &w->pm[r][i]);
		host_unmap(w, r * 1024, 1024);
	}
	if (w->ptf[r] != NOPT)
		pu_drop(w, r);
}

/* ---- protection of frames ------------------------------------------------------------ */

static void frame_protect(uint32_t fn)
{
	for (uint32_t i = rmap_head[fn]; i; i = rmap_pool.n[i].next) {
		struct window *w = &win[rmap_pool.n[i].win];
		uint32_t lpn = rmap_pool.n[i].val, *e = pm_slot(w, lpn, false);
		if (e && (*e & SM_RW)) {
			host_protect(w, lpn, 1, false);
			*e &= ~SM_RW;
		}
	}
	for (uint32_t i = lr_head[fn >> 10]; i; i = lr_pool.n[i].next) {
		struct window *w = &win[lr_pool.n[i].win];
		uint32_t r = lr_pool.n[i].val;
		if (w->lg[r] & SM_GW)
			host_protect(w, r * 1024 + fn % 1024, 1, false);
	}
}

static void frame_release(uint32_t fn)
{
	if (frame_protected(fn))
		return;
	for (uint32_t i = rmap_head[fn]; i; i = rmap_pool.n[i].next) {
		struct window *w = &win[rmap_pool.n[i].win];
		uint32_t lpn = rmap_pool.n[i].val, *e = pm_slot(w, lpn, false);
		if (e && (*e & SM_GW) && !(*e & SM_RW)) {
			host_protect(w, lpn, 1, true);
			*e |= SM_RW;
		}
	}
	for (uint32_t i = lr_head[fn >> 10]; i; i = lr_pool.n[i].next) {
		struct window *w = &win[lr_pool.n[i].win];
		uint32_t r = lr_pool.n[i].val;
		if (w->lg[r] & SM_GW)
			host_protect(w, r * 1024 + fn % 1024, 1, true);
	}
}

/* Start tracing a frame for (w, region). */
static void pu_add(gpa_t frame, struct window *w, uint32_t region)
{
	uint32_t fn = frame / GUEST_PAGE;
	if (fn >= nframes)
		return;
	bool was = frame_protected(fn);
	list_add(&pu_pool, &pu_head[fn], widx(w), region);
	flood[fn] = 0;
	if (!was && frame_protected(fn))      /* never for a PV guest */
		frame_protect(fn);
}

static void pu_drop(struct window *w, uint32_t region)
{
	gpa_t frame = region == PD_USE ? w->pd : w->ptf[region];
	if (region != PD_USE)
		w->ptf[region] = NOPT;
	uint32_t fn = frame / GUEST_PAGE;
	if (fn >= nframes)
		return;
	list_del(&pu_pool, &pu_head[fn], widx(w), region);
	/* released lazily: a store to a read-only mapping of it refills writable */
}

/* ---- windows -------------------------------------------------------------------------- */

/* The frame mapped at lpn in w, or NOPT; *rw (if asked): mapped writable now. */
static gpa_t mapped_frame(struct window *w, uint32_t lpn, bool *rw)
{
	uint32_t r = lpn / 1024;
	if (w->lg[r] & SM_P) {
		gpa_t f = (w->lg[r] & 0xFFC00000u) + (lpn % 1024) * GUEST_PAGE;
		if (f >= vm->ram_size)
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

static void win_empty(struct window *w)
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
			list_del(&lr_pool, &lr_head[w->lg[r] >> 22], widx(w), r);
			w->lg[r] = 0;
		}
		w->pde[r] = 0;
		if (w->ptf[r] != NOPT)
			pu_drop(w, r);
	}
	w->eager = false;
	if (w->released) {
		w->released = false;
		nreleased--;
	} else if (w->kind == W_PAGED)
		pu_drop(w, PD_USE);
	/* one call replaces every mapping of the window with the reservation again */
	if (mmap(w->base, WIN_SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		vmm_panic("shadow MMU: cannot reset a window: %s", strerror(errno));
	vma_est = vma_est > w->vmas ? vma_est - w->vmas : 0;
	w->vmas = 0;
	w->lk_valid = false;
	w->lk->tag = CC_LK_NOTAG;
	w->kind = W_FREE;
	views_gen++;
	vm->cpu.win_view[0] = vm->cpu.win_view[1] = 0;   /* recomputed by smmu_select */
	vm->cpu.lk_view[0] = vm->cpu.lk_view[1] = 0;
}

static void pv_build(struct window *w);
static void pv_check_views(gpa_t pd);
static void pv_resync_page(struct window *w, uint32_t lpn);
static void pv_written(gpa_t gpa, uint32_t len);
static void enforce_budget(void);
static void rq_run(void);
#define RQ_MAX 256
struct wrec { gpa_t frame; uint16_t lo, hi; };
static struct wrec rq[RQ_MAX];            /* PV: recorded table writes (pv_written) */
static unsigned rq_n, defer_depth;
static struct node *ubuf;                 /* rq_run's copy of one frame's uses */
static uint32_t ubuf_cap;

static struct window *win_get(gpa_t pd, bool user)
{
	struct window *free_w = NULL, *lru = NULL;
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
		struct window *w = &win[i];
		if (w->kind == W_PAGED && w->pd == pd && w->user == user) {
			smmu_stats.window_hits++;
			return w;
		}
		if (w->kind == W_FREE) {
			if (!free_w)
				free_w = w;
		} else if (w != cur && (!lru || w->last_use < lru->last_use))
			lru = w;
	}
	struct window *w = free_w;
	if (!w) {
		w = lru;
		win_empty(w);
		smmu_stats.window_evictions++;
	}
	smmu_stats.window_creates++;
	w->kind = W_PAGED;
	w->pd = pd;
	w->user = user;
	w->lk_valid = false;
	w->lk->tag = CC_LK_NOTAG;
	pu_add(pd, w, PD_USE);
	views_gen++;
	if (pvm)
		pv_build(w);
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
	if (w == w_seen && gen_seen == views_gen)
		return;
	w_seen = w;
	gen_seen = views_gen;
	c->win_view[0] = c->win_view[1] = 0;
	c->lk_view[0] = c->lk_view[1] = 0;
	if (w->kind != W_PAGED)
		return;
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
		if (win[i].kind == W_PAGED && win[i].pd == w->pd) {
			c->win_view[win[i].user] = (uint64_t)(uintptr_t)win[i].base;
			c->lk_view[win[i].user] = (uint64_t)(uintptr_t)win[i].lk;
		}
}

/* The window whose span (with its guard pages) holds host address addr, or NULL. */
static struct window *window_at(uintptr_t addr)
{
	uintptr_t b0 = (uintptr_t)win[0].base;       /* the flat window lies elsewhere */
	if (addr >= b0 - GUEST_PAGE && addr < b0 + WIN_SPAN + GUEST_PAGE)
		return &win[0];
	uintptr_t first = (uintptr_t)win[1].base - GUEST_PAGE;
	if (addr < first)
		return NULL;
	uintptr_t i = (addr - first) / WIN_STRIDE + 1;
	if (i > SMMU_WINDOWS)
		return NULL;
	uintptr_t base = (uintptr_t)win[i].base;
	return addr < base + WIN_SPAN + GUEST_PAGE ? &win[i] : NULL;
}

uint8_t *smmu_select(struct vcpu *c)
{
	struct window *w;
	if (!(c->cr0 & CR0_PG))
		w = &win[0];
	else {
		gpa_t pd = c->cr3 & ~(GUEST_PAGE - 1);
		bool user = c->cpl == 3;
		if (pvm && pd != last_pd) {
			last_pd = pd;
			if (nreleased)
				pv_check_views(pd);
		}
		if (cur && cur->kind == W_PAGED && cur->pd == pd && cur->user == user)
			w = cur;
		else
			w = win_get(pd, user);
	}
	if (w != cur) {
		smmu_stats.window_switches++;
		cur = w;
	}
	w->last_use = ++lru_clock;
	views_update(c, w);
	return w->base;
}

uint8_t *smmu_base(void)
{
	return cur ? cur->base : win[0].base;
}

struct cc_lookup *smmu_lookup(uint32_t mode, uint32_t cs_base)
{
	struct window *w = cur ? cur : &win[0];
	if (!w->lk_valid || w->lk_stale || w->lk_mode != mode || w->lk_cs != cs_base) {
		cc_lookup_clear(w->lk);
		w->lk_valid = true;
		w->lk_stale = false;
		w->lk_mode = mode;
		w->lk_cs = cs_base;
		w->lk->tag = CC_LK_TAG(mode, cs_base);
		smmu_stats.lookup_clears++;
	}
	return w->lk;
}

/* ---- the budget ------------------------------------------------------------------------ */

static uint64_t count_vmas(void)
{
	static char buf[65536];
	uint64_t n = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vma_est;
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k <= 0)
			break;
		for (ssize_t i = 0; i < k; i++)
			n += buf[i] == '\n';
	}
	close(fd);
	return n;
}

static void enforce_budget(void)
{
	if (vma_est < budget)
		return;
	smmu_stats.budget_recounts++;
	vma_est = count_vmas();
	while (vma_est >= budget * 7 / 8) {
		struct window *lru = NULL;
		for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
			if (win[i].kind == W_PAGED && win[i].vmas && (!lru || win[i].last_use < lru->last_use))
				lru = &win[i];
		if (!lru)
			break;
		/* the current window goes last, and keeps its identity (it refills) */
		if (lru == cur) {
			for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
				if (&win[i] != cur && win[i].kind == W_PAGED && win[i].vmas) {
					lru = &win[i];
					break;
				}
		}
		gpa_t pd = lru->pd;
		bool user = lru->user, was_cur = lru == cur && !lru->released;
		if (lru == cur && !was_cur)
			cur = NULL;                 /* a released directory: let it go */
		win_empty(lru);
		smmu_stats.budget_evictions++;
		if (was_cur) {
			lru->kind = W_PAGED;
			lru->pd = pd;
			lru->user = user;
			pu_add(pd, lru, PD_USE);
		}
		vma_est = count_vmas();
	}
}

uint64_t smmu_budget(void) { return budget; }
void smmu_set_budget(uint64_t vmas) { budget = vmas; }

/* ---- fills ---------------------------------------------------------------------------- */

static bool guest_writable(const struct vcpu *c, const struct window *w, uint32_t perm)
{
	/* PV: no dirty bits (pv/abi.h), so writable as soon as the guest allows writes */
	return (pvm || (perm & PTE_D)) && emu_gpte_allows(c, perm, w->user, true);
}

static uint32_t pde_now(const struct window *w, uint32_t r)
{
	uint32_t v;
	memcpy(&v, vm->ram + w->pd + r * 4, 4);
	return v;
}

static bool region_empty(const struct window *w, uint32_t r)
{
	return !(w->lg[r] & SM_P) && w->ptf[r] == NOPT && !(w->pm[r] && w->pm_count[r]);
}

/* Map (lpn, frame) runs from a sorted list, coalescing contiguous ones. */
struct fillent { uint32_t lpn; gpa_t frame; bool gw; };

static void map_list(struct window *w, const struct fillent *f, unsigned n)
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
		for (unsigned k = i; k < j; k++)
			entry_set(w, f[k].lpn, f[k].frame, (rw ? SM_RW : 0) | (f[k].gw ? SM_GW : 0));
		i = j;
	}
}

static void fill_large(struct vcpu *c, struct window *w, gla_t la, const struct emu_walk *wk)
{
	uint32_t r = la >> 22;
	gpa_t base = wk->gpa & 0xFFC00000u;
	bool gw = guest_writable(c, w, wk->perm);
	if (w->lg[r] == (base | SM_P | (gw ? SM_GW : 0))) {
		/* mapped already: a page left read-only for a protection since lifted */
		if (gw && !frame_protected(wk->gpa / GUEST_PAGE))
			host_protect(w, la >> 12, 1, true);
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
		w->ptf[r] = wk->pt;
		pu_add(wk->pt, w, r);
		w->pde[r] = pde_now(w, r);
	}
	flood[wk->pt / GUEST_PAGE] = 0;
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
		invalidate_page(w, lpn);
	}
	/* prefetch: present, accessed neighbours in the aligned group, same rules */
	struct fillent f[SMMU_PREFETCH];
	unsigned n = 0;
	uint32_t first = lpn & ~(SMMU_PREFETCH - 1u);
	uint32_t pde;
	memcpy(&pde, vm->ram + (w->pd + r * 4), 4);
	const uint32_t *pt = (const uint32_t *)(vm->ram + wk->pt);
	for (uint32_t l = first; l < first + SMMU_PREFETCH; l++) {
		if (l == lpn) {
			f[n++] = (struct fillent){ l, frame, gw };
			continue;
		}
		uint32_t pte = pt[l % 1024], need = pvm ? PTE_P : PTE_P | PTE_A;
		if ((pte & need) != need || (pte & ~0xFFFu) >= vm->ram_size)
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
	return (uint64_t)w->pd + GUEST_PAGE <= vm->ram_size &&
	       (wk->large || (uint64_t)wk->pt + GUEST_PAGE <= vm->ram_size);
}

static void fill(struct vcpu *c, struct window *w, gla_t la, const struct emu_walk *wk)
{
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
	cur = w;
	uintptr_t base = (uintptr_t)w->base;
	if (addr < base - GUEST_PAGE || addr >= base + WIN_SPAN + GUEST_PAGE)
		return SMF_BAD;
	if (addr < base || addr >= base + WIN_SPAN)
		return SMF_MMIO;           /* wrapped past 4 GiB: the emulator does it right */
	gla_t la = (gla_t)(addr - base);
	if (w->kind == W_FLAT) {
		if (la >= vm->ram_size)
			return SMF_MMIO;
		if (write && is_code[la / GUEST_PAGE]) {
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
	if (frame >= vm->ram_size || !tables_in_ram(w, &wk)) {
		smmu_stats.mmio++;
		return SMF_MMIO;
	}
	uint32_t fn = frame / GUEST_PAGE;
	if (write && is_code[fn]) {
		*info = frame;
		return SMF_SMC;
	}
	if (write && !pvm && pu_head[fn]) {
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

bool smmu_note_code(struct vcpu *c, gla_t la)
{
	struct window *w = cur;
	if (!w || w->kind != W_PAGED)
		return true;
	if (mapped_frame(w, la >> 12, NULL) != NOPT)
		return true;
	struct emu_walk wk;
	if (emu_walk(c, la, false, w->user, &wk) || (wk.gpa & ~(GUEST_PAGE - 1)) >= vm->ram_size ||
	    !tables_in_ram(w, &wk))
		return false;
	enforce_budget();
	smmu_stats.fills++;
	fill(c, w, la, &wk);
	return mapped_frame(w, la >> 12, NULL) != NOPT;
}

gla_t smmu_last_fault(void) { return last_fault; }

/* ---- coherence -------------------------------------------------------------------------- */

/* Entry idx of traced frame fn changed from old to new (old = ~new: unknown). */
static void entry_changed(uint32_t fn, uint32_t idx, uint32_t old, uint32_t new)
{
	if (!((old ^ new) & ~(PTE_A | PTE_D)) && !(old & ~new))
		return;                       /* only accessed/dirty bits were set */
	struct { uint16_t w; uint32_t r; } use[2 * SMMU_WINDOWS + 8];
	unsigned n = 0;
	for (uint32_t i = pu_head[fn]; i && n < sizeof(use) / sizeof(use[0]); i = pu_pool.n[i].next)
		use[n].w = pu_pool.n[i].win, use[n++].r = pu_pool.n[i].val;
	for (unsigned k = 0; k < n; k++) {
		struct window *w = &win[use[k].w];
		if (use[k].r == PD_USE)
			invalidate_region(w, idx);
		else
			invalidate_page(w, use[k].r * 1024 + idx);
	}
	smmu_stats.trace_invalidations++;
}

/* Too many writes with no fill through it: stop tracing the frame. */
static void unshadow(uint32_t fn)
{
	smmu_stats.unshadowed++;
	while (pu_head[fn]) {
		struct node *nd = &pu_pool.n[pu_head[fn]];
		struct window *w = &win[nd->win];
		if (nd->val == PD_USE)
			win_empty(w);       /* its page directory is gone or being rebuilt */
		else
			invalidate_region(w, nd->val);
	}
	flood[fn] = 0;
	frame_release(fn);
}

bool smmu_ram_written(gpa_t gpa, uint32_t len)
{
	bool traced = false;
	if (!len || !nframes)
		return false;
	if (pvm) {
		pv_written(gpa, len);
		return false;
	}
	for (uint64_t a = gpa & ~3u; a < (uint64_t)gpa + len; a += 4) {
		uint32_t fn = (uint32_t)(a / GUEST_PAGE);
		if (fn >= nframes)
			break;
		if (!pu_head[fn]) {
			a |= GUEST_PAGE - 4;      /* skip the rest of an untraced frame */
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
	trace_win = cur;
	if (mapped_frame(cur, la >> 12, NULL) != NOPT)
		host_protect(cur, la >> 12, 1, true);
}

void smmu_trace_end(gla_t la, gpa_t frame, const uint32_t *before)
{
	struct window *w = trace_win;
	uint32_t fn = frame / GUEST_PAGE;
	bool rw;
	/* put the read-only mapping back unless the step itself dropped it */
	if (mapped_frame(w, la >> 12, &rw) == frame)
		host_protect(w, la >> 12, 1, rw);
	const uint32_t *now = (const uint32_t *)(vm->ram + frame);
	for (uint32_t i = 0; i < 1024; i++)
		if (before[i] != now[i] && pu_head[fn])
			entry_changed(fn, i, before[i], now[i]);
	if (pu_head[fn] && ++flood[fn] >= SMMU_FLOOD)
		unshadow(fn);
}

void smmu_protect_code(gpa_t frame, bool protect)
{
	uint32_t fn = frame / GUEST_PAGE;
	if (fn >= nframes)
		return;
	if (protect == !!is_code[fn])
		return;
	is_code[fn] = protect;
	if (protect)
		ncode[fn >> 10]++;
	else
		ncode[fn >> 10]--;
	if (mprotect(win[0].base + frame, GUEST_PAGE, protect ? PROT_READ : PROT_READ | PROT_WRITE) < 0)
		vmm_panic("mprotect of guest page %08x failed: %s", frame, strerror(errno));
	if (protect) {
		smmu_stats.code_protects++;
		frame_protect(fn);
	} else
		frame_release(fn);
}

void smmu_tlb_flush(struct vcpu *c, gla_t la, bool all)
{
	if (all) {
		for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
			if (win[i].kind == W_PAGED)
				win_empty(&win[i]);
		if (cur && cur->kind == W_FREE)
			cur = NULL;
		return;
	}
	gpa_t pd = c->cr3 & ~(GUEST_PAGE - 1);
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
		if (win[i].kind == W_PAGED && win[i].pd == pd) {
			if (pvm)
				pv_resync_page(&win[i], la >> 12);   /* re-read, not dropped */
			else
				invalidate_page(&win[i], la >> 12);
		}
}

/* ---- PV: windows that mirror their page directory ---------------------------------------- */

/* What a directory entry asks of its region in window w: nothing, a 4 MiB page at *frame
 * (writable for the view: *gw), or the page table at *frame. */
enum rkind { R_EMPTY, R_LARGE, R_SMALL };

static enum rkind region_kind(const struct window *w, uint32_t pde, gpa_t *frame, bool *gw)
{
	const struct vcpu *c = &vm->cpu;
	*gw = false;
	if (!(pde & PTE_P) || (w->user && !(pde & PTE_U)))
		return R_EMPTY;
	if ((pde & PTE_PS) && (c->cr4 & CR4_PSE)) {
		*frame = pde & 0xFFC00000u;
		*gw = emu_gpte_allows(c, pde, w->user, true);
		return large_pages(*frame) ? R_LARGE : R_EMPTY;
	}
	*frame = pde & ~(GUEST_PAGE - 1);
	return (uint64_t)*frame + GUEST_PAGE <= vm->ram_size ? R_SMALL : R_EMPTY;
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
	} else if (u->kind == RUN_PROT)
		host_protect(w, u->lpn, u->n, u->rw);
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
	const struct vcpu *c = &vm->cpu;
	const uint32_t *pt = (const uint32_t *)(vm->ram + w->ptf[r]);
	struct run u = { RUN_NONE, 0, 0, 0, false };
	for (uint32_t i = lo; i <= hi; i++) {
		uint32_t lpn = r * 1024 + i, pte = pt[i];
		uint32_t *e = pm_slot(w, lpn, false), now = e ? *e : 0;
		gpa_t frame = pte & ~(GUEST_PAGE - 1);
		uint32_t perm = (pde & pte & (PTE_U | PTE_W)) | (pte & ~(uint32_t)(PTE_U | PTE_W));
		if (!(pte & PTE_P) || frame >= vm->ram_size || (w->user && !(perm & PTE_U))) {
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
			w->ptf[r] = frame;
			pu_add(frame, w, r);
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
static void pv_build(struct window *w)
{
	if ((uint64_t)w->pd + GUEST_PAGE > vm->ram_size)
		return;                         /* not RAM: every access is emulated */
	enforce_budget();
	smmu_stats.eager_builds++;
	w->eager = true;
	for (uint32_t r = 0; r < NREG; r++) {
		uint32_t pde = pde_now(w, r);
		gpa_t frame = 0, f2 = 0;
		bool gw, g2;
		w->pde[r] = pde;
		if (vma_est >= budget / 4 * 3) {
			w->eager = false;
			continue;
		}
		enum rkind k = region_kind(w, pde, &frame, &gw);
		if (k == R_SMALL) {
			w->ptf[r] = frame;
			pu_add(frame, w, r);
			resync_pages(w, r, 0, 1023, pde);
			continue;
		}
		if (k != R_LARGE)
			continue;
		uint32_t n = 1;
		while (large_pages(frame) == 1024 && r + n < NREG) {
			uint64_t next = (uint64_t)frame + (uint64_t)n * 0x400000u;
			uint32_t p2 = pde_now(w, r + n);
			if (next + 0x400000u > vm->ram_size || region_kind(w, p2, &f2, &g2) != R_LARGE ||
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
	if (!pvm)
		return;
	rq_run();
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
		struct window *w = &win[i];
		if (w->kind != W_PAGED || w->pd != pd || w->released)
			continue;
		pu_drop(w, PD_USE);
		w->released = true;
		nreleased++;
		smmu_stats.pv_releases++;
	}
	last_pd = ~0u;                  /* the next smmu_select looks at released windows */
}

/* CR3 now names pd: released windows of it become its shadows again, after a check of
 * each region's entry against the one it was made from. */
static void pv_check_views(gpa_t pd)
{
	if ((uint64_t)pd + GUEST_PAGE > vm->ram_size)
		return;
	const uint32_t *d = (const uint32_t *)(vm->ram + pd);
	for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
		struct window *w = &win[i];
		if (w->kind != W_PAGED || w->pd != pd || !w->released)
			continue;
		w->released = false;
		nreleased--;
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
static void pv_resync_page(struct window *w, uint32_t lpn)
{
	if ((uint64_t)w->pd + GUEST_PAGE > vm->ram_size)
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
		for (uint32_t i = pu_head[q->frame / GUEST_PAGE]; i; i = pu_pool.n[i].next) {
			if (n == ubuf_cap) {
				ubuf_cap = ubuf_cap ? 2 * ubuf_cap : 64;
				ubuf = realloc(ubuf, ubuf_cap * sizeof(*ubuf));
				if (!ubuf)
					vmm_panic("shadow MMU: out of memory");
			}
			ubuf[n++] = pu_pool.n[i];
		}
		for (uint32_t u = 0; u < n; u++) {
			struct window *w = &win[ubuf[u].win];
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

static void pv_written(gpa_t gpa, uint32_t len)
{
	for (uint64_t a = gpa & ~3u; a < (uint64_t)gpa + len; a += 4) {
		uint32_t fn = (uint32_t)(a / GUEST_PAGE);
		if (fn >= nframes)
			break;
		if (!pu_head[fn]) {
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

/* ---- set-up ------------------------------------------------------------------------------ */

static uint64_t read_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	unsigned long long v = 65530;
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 65530;
		fclose(f);
	}
	return v;
}

int smmu_init(struct vm *m)
{
	vm = m;
	nframes = m->ram_size / GUEST_PAGE;
	rmap_head = calloc(nframes, sizeof(uint32_t));
	pu_head = calloc(nframes, sizeof(uint32_t));
	is_code = calloc(nframes, 1);
	flood = calloc(nframes, 1);
	if (!rmap_head || !pu_head || !is_code || !flood)
		return -1;
	pvm = pv_enabled();
	lr_head = calloc((nframes + 1023) / 1024 + 1, sizeof(uint32_t));
	ncode = calloc((nframes + 1023) / 1024 + 1, sizeof(uint16_t));
	if (!lr_head || !ncode)
		return -1;
	uint64_t max = read_max_map_count();
	budget = max > 16384 ? max - 8192 : max / 2;
	/* the paging windows: 8 GiB apart, 4 GiB aligned, reserved without backing */
	uint8_t *res = mmap(NULL, (SMMU_WINDOWS + 1) * WIN_STRIDE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return -1;
	uint8_t *b = (uint8_t *)(((uintptr_t)res + WIN_STRIDE / 2) & ~(uintptr_t)(WIN_SPAN - 1));
	win[0] = (struct window){ .base = vm_window(), .kind = W_FLAT };
	for (unsigned i = 0; i <= SMMU_WINDOWS; i++) {
		if (i)
			win[i] = (struct window){ .base = b + (i - 1) * WIN_STRIDE, .kind = W_FREE };
		for (uint32_t r = 0; r < NREG; r++)
			win[i].ptf[r] = NOPT;
		win[i].lk = cc_lookup_new();
		if (!win[i].lk)
			return -1;
	}
	cur = &win[0];
	return 0;
}
