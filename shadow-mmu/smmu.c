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
 * mmap per physically contiguous run.  A 4 MiB page is mapped whole in one call.
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

#define WIN_SPAN    (1ull << 32)
#define WIN_STRIDE  (2ull << 32)
#define NREG        1024u            /* 4 MiB regions per window */
#define PD_USE      NREG             /* pu region value: the frame is the window's PD */
#define NOPT        0xFFFFFFFFu
#define SM_P   1u                    /* pm entry: mapped */
#define SM_RW  2u                    /* mapped writable now */
#define SM_GW  4u                    /* the guest allows writes and the entry is dirty */
#define PTE_P  0x001u
#define PTE_W  0x002u
#define PTE_U  0x004u
#define PTE_A  0x020u
#define PTE_D  0x040u
#define PTE_PS 0x080u

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
static uint64_t lru_clock;
static struct pool rmap_pool, pu_pool;
static uint32_t *rmap_head, *pu_head;     /* per frame: first node, 0 = none */
static uint8_t *is_code, *flood;
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
static bool frame_protected(uint32_t fn) { return is_code[fn] || pu_head[fn]; }

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

static void host_protect(struct window *w, uint32_t lpn, bool rw)
{
	if (mprotect(w->base + (uint64_t)lpn * GUEST_PAGE, GUEST_PAGE,
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
	if (is_code[fn])
		w->lk_stale = true;
	*e = 0;
	w->pm_count[lpn / 1024]--;
}

static void pu_drop(struct window *w, uint32_t region);

static void invalidate_page(struct window *w, uint32_t lpn)
{
	uint32_t *e = pm_slot(w, lpn, false);
	if (!e || !(*e & SM_P))
		return;
	entry_clear(w, lpn, e);
	host_unmap(w, lpn, 1);
}

static void invalidate_region(struct window *w, uint32_t r)
{
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
			host_protect(w, lpn, false);
			*e &= ~SM_RW;
		}
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
			host_protect(w, lpn, true);
			*e |= SM_RW;
		}
	}
}

/* Start tracing a frame for (w, region). */
static void pu_add(gpa_t frame, struct window *w, uint32_t region)
{
	uint32_t fn = frame / GUEST_PAGE;
	if (fn >= nframes)
		return;
	bool first = !frame_protected(fn);
	list_add(&pu_pool, &pu_head[fn], widx(w), region);
	flood[fn] = 0;
	if (first)
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
		if (w->ptf[r] != NOPT)
			pu_drop(w, r);
	}
	if (w->kind == W_PAGED)
		pu_drop(w, PD_USE);
	/* one call replaces every mapping of the window with the reservation again */
	if (mmap(w->base, WIN_SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		vmm_panic("shadow MMU: cannot reset a window: %s", strerror(errno));
	vma_est = vma_est > w->vmas ? vma_est - w->vmas : 0;
	w->vmas = 0;
	w->lk_valid = false;
	w->kind = W_FREE;
}

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
	pu_add(pd, w, PD_USE);
	return w;
}

uint8_t *smmu_select(struct vcpu *c)
{
	struct window *w;
	if (!(c->cr0 & CR0_PG))
		w = &win[0];
	else {
		gpa_t pd = c->cr3 & ~(GUEST_PAGE - 1);
		bool user = c->cpl == 3;
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
		bool user = lru->user, was_cur = lru == cur;
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
	return (perm & PTE_D) && emu_gpte_allows(c, perm, w->user, true);
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
	if (w->ptf[r] != NOPT || (w->pm[r] && w->pm_count[r]))
		invalidate_region(w, r);
	gpa_t base = wk->gpa & 0xFFC00000u;
	bool gw = guest_writable(c, w, wk->perm);
	static struct fillent f[1024];
	unsigned n = 0;
	for (uint32_t i = 0; i < 1024; i++) {
		gpa_t fr = base + i * GUEST_PAGE;
		if (fr >= vm->ram_size)
			break;
		f[n++] = (struct fillent){ r * 1024 + i, fr, gw };
	}
	/* one call for the whole run, then read-only holes for protected frames */
	if (n) {
		host_map(w, f[0].lpn, n, f[0].frame, gw);
		for (unsigned k = 0; k < n; k++) {
			uint32_t fn = f[k].frame / GUEST_PAGE;
			bool rw = gw && !frame_protected(fn);
			if (gw && !rw)
				host_protect(w, f[k].lpn, false);
			entry_set(w, f[k].lpn, f[k].frame, (rw ? SM_RW : 0) | (gw ? SM_GW : 0));
		}
	}
	smmu_stats.large_fills++;
}

static void fill_small(struct vcpu *c, struct window *w, gla_t la, const struct emu_walk *wk)
{
	uint32_t r = la >> 22, lpn = la >> 12;
	if (w->ptf[r] != wk->pt) {
		if (w->ptf[r] != NOPT || (w->pm[r] && w->pm_count[r]))
			invalidate_region(w, r);
		w->ptf[r] = wk->pt;
		pu_add(wk->pt, w, r);
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
				host_protect(w, lpn, rw);
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
		uint32_t pte = pt[l % 1024];
		if ((pte & (PTE_P | PTE_A)) != (PTE_P | PTE_A) || (pte & ~0xFFFu) >= vm->ram_size)
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
	struct window *w = cur ? cur : &win[0];
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
	if (write && pu_head[fn]) {
		/* mapped read-only first, so that the single step only has to unprotect it */
		uint32_t *e = pm_slot(w, la >> 12, false);
		if (!e || !(*e & SM_P) || (*e & ~(GUEST_PAGE - 1)) != frame)
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
	uint32_t *e = pm_slot(w, la >> 12, false);
	if (e && (*e & SM_P))
		return true;
	struct emu_walk wk;
	if (emu_walk(c, la, false, w->user, &wk) || (wk.gpa & ~(GUEST_PAGE - 1)) >= vm->ram_size ||
	    !tables_in_ram(w, &wk))
		return false;
	enforce_budget();
	smmu_stats.fills++;
	fill(c, w, la, &wk);
	e = pm_slot(w, la >> 12, false);
	return e && (*e & SM_P);
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

void smmu_ram_written(gpa_t gpa, uint32_t len)
{
	if (!len || !nframes)
		return;
	for (uint64_t a = gpa & ~3u; a < (uint64_t)gpa + len; a += 4) {
		uint32_t fn = (uint32_t)(a / GUEST_PAGE);
		if (fn >= nframes)
			break;
		if (!pu_head[fn]) {
			a |= GUEST_PAGE - 4;      /* skip the rest of an untraced frame */
			continue;
		}
		smmu_stats.traced_monitor_writes++;
		entry_changed(fn, (uint32_t)(a % GUEST_PAGE) / 4, 0, 0xFFFFFFFFu);
	}
}

static struct window *trace_win;

void smmu_trace_begin(gla_t la)
{
	trace_win = cur;
	uint32_t *e = pm_slot(cur, la >> 12, false);
	if (e && (*e & SM_P))
		host_protect(cur, la >> 12, true);
}

void smmu_trace_end(gla_t la, gpa_t frame, const uint32_t *before)
{
	struct window *w = trace_win;
	uint32_t fn = frame / GUEST_PAGE;
	uint32_t *e = pm_slot(w, la >> 12, false);
	/* put the read-only mapping back unless the step itself dropped it */
	if (e && (*e & SM_P) && (*e & ~(GUEST_PAGE - 1)) == frame)
		host_protect(w, la >> 12, (*e & SM_RW) != 0);
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
		if (win[i].kind == W_PAGED && win[i].pd == pd)
			invalidate_page(&win[i], la >> 12);
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
