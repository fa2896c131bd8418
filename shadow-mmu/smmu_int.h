/*
 * smmu_int.h - what the files of shadow-mmu/ share, and nothing else includes.
 *
 * The design is told in the essay at the top of smmu.c; this header names its pieces:
 *
 *   smmu.c         windows: selection by (CR0.PG, CR3, CPL), emptying, lookup tables, set-up
 *   smmu_map.c     host mappings (mmap/mprotect of a window), the per-window page entries,
 *                  the node pools, and the frame lists: rmap, pu (tracing uses), lr (4 MiB)
 *   smmu_fill.c    fills on a host fault, with prefetch of the neighbours
 *   smmu_trace.c   coherence: traced page-table stores, code protection, unshadowing, INVLPG
 *                  and CR3 writes (which resync what is out of sync)
 *   smmu_sync.c    page tables out of sync: snapshots, resync, back to traced
 *   smmu_budget.c  the mapping budget and the eviction of least recently used windows
 *   smmu_eager.c   PV guests: windows that mirror their page directory eagerly
 *
 * All the state the files share is the one `sm` below; a file keeps what only it uses
 * static.  Nothing here is reentrant: every function runs in the monitor or in its SIGSEGV
 * handler while translated code (never these structures) was interrupted.  Only the
 * shadow-mmu files call what is declared here; everyone else goes through smmu.h.
 *
 * Invariants the files keep together:
 *  - a window's page entry (pm) is SM_P exactly when its page is mapped in the host, and
 *    exactly then the rmap of its frame holds (window, page); likewise a 4 MiB region (lg)
 *    and the lr list of its 4 MiB of RAM;
 *  - SM_RW (mapped writable) implies SM_GW (the guest allows the store now) and that the
 *    frame is not protected (frame_protected); pages of a writable 4 MiB region that are
 *    protected have read-only holes;
 *  - a frame is in use as a table (pu list) exactly for the windows whose ptf[region] is it
 *    and, PV only, whose pd is it (region PD_USE, unless the window is released);
 *  - every page of region r of a window was derived from the directory entry pde[r] (give
 *    or take A and D being set since) and, for a 4 KiB region, from its table ptf[r]; a
 *    paging window's regions equal its directory's entries after each flush that covers
 *    them (region_check), and may differ between flushes only as a TLB may; only a
 *    retired window holds an orphan region (pages, ptf NOPT: its table went);
 *  - a frame is out of sync (snap[fn] set) only while it has uses, none of them PD_USE,
 *    and holds no translations; an out-of-sync frame is not protected; every shadow page
 *    derived from entry i of it was made from snap[i] (give or take A and D being set);
 *  - sm.vma_est is at least the number of host mappings the windows hold (2 per call);
 *  - a window that translated code may run in (one of the current directory's, or cur)
 *    has a read-only hole in a writable 4 MiB region exactly at its protected frames, and
 *    its ro bits say where the holes are; another window's holes may lag, for the frames
 *    on its pend list only (smmu_map.c, frame_set_rw);
 *  - a window's lookup table holds a block only while the window maps the block's linear
 *    page (and, for a block whose first instruction straddles, the next one) to the
 *    block's frames, once the drops pending (lk_drop_*) are applied - and while any are
 *    pending, its tag is CC_LK_NOTAG, so no inline ring switch enters it.
 */
#ifndef SMMU_INT_H
#define SMMU_INT_H
#include <stdlib.h>
#include <string.h>
#include "smmu.h"
#include "../monitor/param.h"
#include "../monitor/x86.h"
#include "../codecache/cc.h"

#define WIN_SPAN    (1ull << 32)
#define WIN_STRIDE  (2ull << 32)
#define NREG        1024u            /* 4 MiB regions per window */
#define PD_USE      NREG             /* pu region value: the frame is the window's PD */
#define NOPT        0xFFFFFFFFu
#define SMMU_UNSYNC_IDLE 8u          /* unchanged resyncs in a row: trace the table again */
#define SM_P   1u                    /* pm entry: mapped */
#define SM_RW  2u                    /* mapped writable now */
#define SM_GW  4u                    /* the guest allows writes and the entry is dirty */

enum { W_FREE, W_FLAT, W_PAGED, W_RETIRED };   /* W_RETIRED: smmu.c, win_retire */

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
	/* regions that may hold something (pages, a 4 MiB page, a table): a superset, set
	 * by entry_set, large_set and region_set_table, cleared by invalidate_region and
	 * win_empty, so that the loops over
	 * a window's regions (revalidation, win_score) visit those only (for_marked) */
	uint64_t marked[NREG / 64];
	uint32_t pde[NREG];       /* PV: the directory entry each region was made to match */
	bool eager;               /* PV: built from its whole directory (not cut by the budget) */
	bool released;            /* PV: the guest released its directory (PV_MMU_RELEASE) */
	struct cc_lookup *lk;
	uint32_t lk_mode, lk_cs;
	bool lk_valid;
	/* lookup entries to drop at the next smmu_lookup (smmu_map.c lookup_drop): regions
	 * as a bitmap, single pages as a short list; meanwhile the table's tag is NOTAG */
	bool lk_drop_any;
	struct cc_lk_drop lk_drop;
	/* 4 MiB regions' read-only holes (smmu_map.c): a bit per linear page, set while the
	 * host has the page read-only inside a writable region (allocated with the first) */
	uint64_t *ro;
	/* frames whose protection changed while the window could not run (not of the current
	 * directory): their holes are brought up to date when it can (large_pending_apply) */
	uint32_t *pend, npend, cappend;
};

/* A pool of list nodes: (window, value) pairs hanging off a frame; node 0 is never used,
 * so a list head of 0 is the empty list. */
struct node { uint32_t next; uint16_t win; uint32_t val; };
struct pool { struct node *n; uint32_t cap, free; };

/* The shadow MMU's state (one guest, one vCPU).  Set up by smmu_init. */
struct smmu_state {
	struct vm *vm;
	bool pv;                  /* a PV guest (told by smmu_init): eager windows, no tracing */
	uint32_t nframes;         /* guest RAM frames: the per-frame arrays' length */

	/* windows (smmu.c): win[0] is the flat window, 1..SMMU_WINDOWS the paging ones */
	bool flat_stale;          /* code protection changed while paging was on (smmu_trace.c) */
	struct window win[SMMU_WINDOWS + 1];
	struct window *cur;       /* the current window (may be NULL after a flush) */
	uint64_t views_gen;       /* bumped when a window is created or emptied */

	/* per guest frame (smmu_map.c keeps them; every file reads them) */
	struct pool rmap_pool, pu_pool;
	uint32_t *rmap_head;      /* frame -> (window, linear page) mapping it: the rmap */
	uint32_t *pu_head;        /* frame -> (window, region or PD_USE) using it as a table */
	uint8_t *is_code;         /* frame holds translations (smmu_protect_code) */
	uint8_t *flood;           /* traced writes since the last fill through the frame */
	uint32_t **snap;          /* out of sync: the entries as of the last sync, else NULL */
	uint8_t *idle;            /* resyncs in a row that found the table unchanged */
	uint32_t *unsync_list;    /* the frames out of sync, nunsync of them, in no order */
	uint32_t nunsync;
	bool unsync_on;           /* level-1 tables go out of sync (smmu_set_unsync) */

	/* per 4 MiB of guest RAM */
	struct pool lr_pool;
	uint32_t *lr_head;        /* -> (window, region) mapping it as one 4 MiB page */
	uint16_t *ncode;          /* code frames in it */

	gpa_t live_pd;            /* the directory whose windows' holes are up to date */

	/* PV (smmu_eager.c, read by smmu_select) */
	gpa_t last_pd;            /* the directory of the last smmu_select */
	unsigned nreleased;       /* windows with `released` set */

	/* the mapping budget (smmu_budget.c; charged by smmu_map.c, reset by win_empty) */
	uint64_t vma_est, budget;
};
extern struct smmu_state sm;

static inline uint16_t widx(const struct window *w) { return (uint16_t)(w - sm.win); }

/* Every mapping of a protected frame is read-only: code, or (not PV) a traced table (one
 * in use and not out of sync). */
static inline bool frame_protected(uint32_t fn)
{
	return sm.is_code[fn] || (!sm.pv && sm.pu_head[fn] && !sm.snap[fn]);
}

static inline void region_mark(struct window *w, uint32_t r)
{
	w->marked[r / 64] |= 1ull << (r % 64);
}

/* Every marked region r of w, in order (the body may clear r's mark, not others'). */
#define for_marked(w, r)                                                            \
	for (uint32_t k_ = 0; k_ < NREG / 64; k_++)                                  \
		for (uint64_t m_ = (w)->marked[k_];                                  \
		     m_ && ((r) = k_ * 64 + (uint32_t)__builtin_ctzll(m_), 1); m_ &= m_ - 1)

/* The first index from i on whose entry in region array pm is not 0 (1024: none); a cleared
 * entry is 0, so runs of eight are skipped with four loads. */
static inline uint32_t pm_next(const uint32_t *pm, uint32_t i)
{
	for (; i < 1024; i++) {
		if (!(i & 7)) {
			uint64_t q[4];
			memcpy(q, pm + i, sizeof(q));
			if (!(q[0] | q[1] | q[2] | q[3])) {
				i += 7;
				continue;
			}
		}
		if (pm[i])
			return i;
	}
	return 1024;
}

/* Window w's entry for linear page lpn; NULL if its region has none and !alloc. */
static inline uint32_t *pm_slot(struct window *w, uint32_t lpn, bool alloc)
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

/* Pages of the 4 MiB page at base that are RAM (the rest is device memory, never mapped). */
static inline uint32_t large_pages(gpa_t base)
{
	if (base >= sm.vm->ram_size)
		return 0;
	uint64_t end = (uint64_t)base + 0x400000u;
	return (uint32_t)(((end < sm.vm->ram_size ? end : sm.vm->ram_size) - base) / GUEST_PAGE);
}

/* Directory entry r of w's page directory as it is in RAM now. */
static inline uint32_t pde_now(const struct window *w, uint32_t r)
{
	uint32_t v;
	memcpy(&v, sm.vm->ram + w->pd + r * 4, 4);
	return v;
}

static inline bool region_empty(const struct window *w, uint32_t r)
{
	return !(w->lg[r] & SM_P) && w->ptf[r] == NOPT && !(w->pm[r] && w->pm_count[r]);
}

/* smmu.c */
void win_empty(struct window *w);
void win_retire(struct window *w);
struct window *window_at(uintptr_t addr);

/* smmu_map.c */
void lookup_drop(struct window *w, uint32_t lpn, uint32_t npg);
void lookup_drops_apply(struct window *w);
void pool_add(struct pool *p, uint32_t *head, uint16_t w, uint32_t val);
bool pool_del(struct pool *p, uint32_t *head, uint16_t w, uint32_t val);
void host_map(struct window *w, uint32_t lpn, uint32_t npg, gpa_t frame, bool rw);
void host_unmap(struct window *w, uint32_t lpn, uint32_t npg);
void host_protect(struct window *w, uint32_t lpn, uint32_t npg, bool rw);
void entry_set(struct window *w, uint32_t lpn, gpa_t frame, uint32_t flags);
void entry_clear(struct window *w, uint32_t lpn, uint32_t *e);
void invalidate_page(struct window *w, uint32_t lpn);
void lower_page(struct window *w, uint32_t lpn);
void remap_page(struct window *w, uint32_t lpn, gpa_t frame, bool gw);
void unmap_batch_begin(void);
void unmap_batch_end(void);
void invalidate_region(struct window *w, uint32_t r);
void region_set_table(struct window *w, uint32_t r, gpa_t pt);
void large_set(struct window *w, uint32_t r, gpa_t base, bool gw, uint32_t n);
void large_note_rw(struct window *w, uint32_t lpn, bool rw);
/* Does page lpn of a 4 MiB region of w have a read-only hole in the host now? */
bool large_page_ro(const struct window *w, uint32_t lpn);
void large_pending_apply(struct window *w);
void large_forget(struct window *w);
void map_large(struct window *w, uint32_t r, gpa_t base, bool gw);
void frame_protect(uint32_t fn);
void frame_release(uint32_t fn);
void pu_add(gpa_t frame, struct window *w, uint32_t region);
void pu_drop(struct window *w, uint32_t region);
gpa_t mapped_frame(struct window *w, uint32_t lpn, bool *rw);

/* smmu_fill.c */
bool guest_writable(const struct vcpu *c, const struct window *w, uint32_t perm);

/* smmu_fill.c: pages to map (lpn ascending), each writable if gw and its frame unprotected */
struct fillent { uint32_t lpn; gpa_t frame; bool gw; };
void map_list(struct window *w, const struct fillent *f, unsigned n);

/* smmu_trace.c */
void entry_changed(uint32_t fn, uint32_t idx, uint32_t old, uint32_t new);
bool region_retarget(struct window *w, uint32_t r, uint32_t npde);
bool region_check(struct window *w, uint32_t r);
void flat_sync(void);
uint32_t region_matches(const struct window *w, uint32_t r, gpa_t nt);

/* smmu_sync.c */
bool unsync_ok(uint32_t fn);
void unsync_start(uint32_t fn);
void unsync_begin(uint32_t fn);
void unsync_end(uint32_t fn);
void unsync_forget(uint32_t fn);
void sync_entries(uint32_t fn, uint32_t first, uint32_t n);
void resync(uint32_t fn);
void resync_dir(gpa_t pd);

/* smmu_budget.c */
void budget_init(void);
void enforce_budget(void);

/* smmu_eager.c (PV guests only) */
void eager_build(struct window *w);
void eager_check_views(gpa_t pd);
void eager_resync_page(struct window *w, uint32_t lpn);
void eager_written(gpa_t gpa, uint32_t len);
#endif
