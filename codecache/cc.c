/*
 * cc.c - translation cache: arena, block hash, page lists, chaining, invalidation.
 * See cc.h for the invariants.  The arena starts with the two shared stubs the translator
 * handed over (cc_set_stubs: the exit thunk and the lookup-miss exit), then a scratch area
 * for one-shot translations, then the blocks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "cc.h"
#include "patch.h"
#include "../monitor/param.h"

#define SCRATCH_SIZE 8192u
#define HASH_SIZE (1u << CC_HASH_BITS)

struct cc_stats cc_stats;

static uint8_t *arena, *arena_free, *arena_end, *scratch;
static struct cc_block *hash[HASH_SIZE];
static struct cc_block **page_head;      /* per guest-physical page */
static uint32_t npages;
/* Per guest-physical page: the blocks a page fill may enter (wanted, valid, on that one
 * page; fill_page), packed, so that a fill reads 32 bytes per candidate instead of chasing
 * the page list through every block of the frame (that chase, some 45 blocks per busybox
 * code page and a cache miss each, was 12% of a Linux fork+exec). */
struct lk_cand { uint32_t eip, mode, cs_base, pad; uint8_t *host; struct cc_block *b; };
struct cand_vec { uint32_t n, cap; struct lk_cand *v; };
static struct cand_vec *cands;
static struct cc_block **by_host;        /* blocks in arena order */
/*
 * Dormant translations (cc_invalidate_smc / cc_revive).  A process's text is stored to
 * when the frame is freed or reused, and an exec of the same program often loads the same
 * bytes into the same frame (the kernel's allocator hands back the frames just freed):
 * translating it all again cost 3 blocks and some 20 us per fork+exec of the bundled
 * kernel's forkexec.  A block's translation depends on its bytes, its key (linear EIP,
 * mode, CS base, frame) and nothing else that a store to the page changes, so blocks that
 * lie on one page are valid again, as they are, once that page holds the same bytes - the
 * arena keeps their code until a flush.  At most DORMANT_MAX pages are kept (the oldest
 * goes first); any new block on a page, and a flush, drop its copy.
 */
#define DORMANT_MAX 256u
struct dormant {
	gpa_t page;
	uint32_t n, cap;
	struct cc_block **b;
	struct dormant *older, *newer;
	uint8_t bytes[GUEST_PAGE];
};
static struct dormant **dormant;         /* per guest-physical page, or NULL */
static struct dormant *dormant_oldest, *dormant_newest;
static uint32_t ndormant;
static size_t nblocks, cap_blocks;
static struct cc_lookup *tables[CC_MAX_TABLES];
static unsigned ntables;
static cc_protect_fn protect_page;
static uint8_t *exit_thunk, *miss_stub;
static struct cc_stubs stubs;            /* as handed over; stubs.code NULL: none yet */

static unsigned hash_of(gpa_t pa, uint32_t mode)
{
	uint32_t h = pa * 0x9E3779B1u ^ mode * 0x85EBCA6Bu;
	return (h >> (32 - CC_HASH_BITS)) & (HASH_SIZE - 1);
}

void cc_set_stubs(const struct cc_stubs *s)
{
	if (s->len > CC_STUB_ROOM || s->exit_off >= s->len || s->miss_off >= s->len)
		vmm_panic("code cache: stubs do not fit in %u bytes", CC_STUB_ROOM);
	stubs = *s;
}

/* Copy the stubs to the start of the arena; scratch and blocks follow. */
static void install_stubs(void)
{
	memcpy(arena, stubs.code, stubs.len);
	exit_thunk = arena + stubs.exit_off;
	miss_stub = arena + stubs.miss_off;
	scratch = arena + CC_STUB_ROOM;
	arena_free = scratch + SCRATCH_SIZE;
}

int cc_init(cc_protect_fn protect, uint32_t ram_size)
{
	if (!stubs.code)
		return -1;                       /* xl_init() hands the stubs over first */
	arena = mmap(NULL, CC_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED)
		return -1;
	arena_end = arena + CC_SIZE;
	protect_page = protect;
	if (cands)
		for (uint32_t i = 0; i < npages; i++)
			free(cands[i].v);
	free(cands);
	npages = ram_size / GUEST_PAGE;
	page_head = calloc(npages, sizeof(*page_head));
	cands = calloc(npages, sizeof(*cands));
	free(dormant);
	dormant = calloc(npages, sizeof(*dormant));
	dormant_oldest = dormant_newest = NULL;
	ndormant = 0;
	if (!page_head || !cands || !dormant)
		return -1;
	install_stubs();
	return 0;
}

struct cc_lookup *cc_lookup_new(void)
{
	if (ntables == CC_MAX_TABLES)
		return NULL;
	struct cc_lookup *t = aligned_alloc(64, sizeof(*t));
	if (!t)
		return NULL;
	tables[ntables++] = t;
	t->nused = CC_LK_TRACK + 1;          /* fresh memory: clear everything once */
	cc_lookup_clear(t);
	return t;
}

void *cc_exit_thunk(void) { return exit_thunk; }
void *cc_miss_stub(void) { return miss_stub; }
bool cc_is_code(uintptr_t h) { return h >= (uintptr_t)arena && h < (uintptr_t)arena_end; }

void cc_lookup_clear(struct cc_lookup *t)
{
	if (t->nused <= CC_LK_TRACK) {
		for (unsigned k = 0; k < t->nused; k++) {
			unsigned i = t->used[k];
			t->key[i] = 0;
			t->host[i] = (uint64_t)(uintptr_t)miss_stub;
			t->inused[i / 64] = 0;
		}
	} else {
		for (unsigned i = 0; i < CC_LK_ENTRIES; i++) {
			t->key[i] = 0;
			t->host[i] = (uint64_t)(uintptr_t)miss_stub;
		}
		memset(t->inused, 0, sizeof(t->inused));
	}
	t->nused = 0;
	t->tag = CC_LK_NOTAG;
	memset(t->regions, 0, sizeof(t->regions));
	memset(t->filled, 0, sizeof(t->filled));
}

/* Is linear page lpn one of d's?  pmask: the regions of d's single pages. */
static inline bool page_in(const struct cc_lk_drop *d, const uint32_t *pmask, uint32_t lpn)
{
	uint32_t r = lpn >> 10, bit = 1u << (r & 31);
	if (d->reg[r >> 5] & bit)
		return true;
	if (!(pmask[r >> 5] & bit))
		return false;
	for (unsigned k = 0; k < d->npages; k++)
		if (d->page[k] == lpn)
			return true;
	return false;
}

void cc_lookup_drop(struct cc_lookup *t, uint32_t cs_base, const struct cc_lk_drop *d)
{
	uint64_t miss = (uint64_t)(uintptr_t)miss_stub;
	uint32_t pmask[1024 / 32] = {0};
	bool any = false;
	cc_stats.lookup_drops++;
	for (unsigned k = 0; k < d->npages; k++)
		pmask[d->page[k] >> 15] |= 1u << ((d->page[k] >> 10) & 31);
	for (unsigned k = 0; k < 1024 / 32 && !any; k++)
		any = ((d->reg[k] | pmask[k]) & t->regions[k]) != 0;
	if (!any) {
		cc_stats.lookup_drops_skipped++;
		return;                       /* no entry can be on those pages */
	}
	bool tracked = t->nused <= CC_LK_TRACK;
	unsigned n = tracked ? t->nused : CC_LK_ENTRIES, kept = 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = tracked ? t->used[k] : k;
		uint32_t la = cs_base + t->key[i];        /* keys first: half the bytes of hosts */
		if (t->host[i] != miss && (page_in(d, pmask, la >> 12) ||
		    ((la & 0xFFFu) > 0xFF0u && page_in(d, pmask, ((la >> 12) + 1) & 0xFFFFFu)))) {
			t->key[i] = 0;
			t->host[i] = miss;
		}
		if (!tracked)
			continue;
		if (t->host[i] != miss)
			t->used[kept++] = (uint16_t)i;    /* the list keeps the slots in use */
		else
			t->inused[i / 64] &= ~(1ull << (i % 64));
	}
	if (tracked)
		t->nused = kept;
	for (unsigned r = 0; r < 1024; r++)
		if (d->reg[r / 32] & (1u << (r % 32)))
			memset(&t->filled[r * 1024 / 64], 0, 1024 / 8);
	for (unsigned k = 0; k < d->npages; k++)
		t->filled[d->page[k] / 64] &= ~(1ull << (d->page[k] % 64));
}

uint8_t *cc_code_begin(size_t *room)
{
	size_t left = (size_t)(arena_end - arena_free);
	if (left < XL_MAX_HOST_BYTES * 2)
		return NULL;
	*room = XL_MAX_HOST_BYTES * 2;
	return arena_free;
}

void cc_code_commit(uint8_t *end)
{
	arena_free = (uint8_t *)(((uintptr_t)end + 15) & ~(uintptr_t)15);
}

uint8_t *cc_scratch(size_t *room)
{
	*room = SCRATCH_SIZE;
	return scratch;
}

struct cc_block *cc_find(gpa_t pa, gpa_t pa2, gla_t eip, uint32_t mode, uint32_t cs_base)
{
	for (struct cc_block *b = hash[hash_of(pa, mode)]; b; b = b->hnext)
		if (b->page[0] == (pa & ~(GUEST_PAGE - 1)) && b->eip == eip && b->mode == mode &&
		    b->cs_base == cs_base && (!(mode & CC_MODE_PG) || b->page[1] == ~0u || b->page[1] == pa2))
			return b;
	return NULL;
}

struct cc_block *cc_block_new(void)
{
	return calloc(1, sizeof(struct cc_block));
}

static void dormant_drop(struct dormant *d)
{
	if (d->older)
		d->older->newer = d->newer;
	else
		dormant_oldest = d->newer;
	if (d->newer)
		d->newer->older = d->older;
	else
		dormant_newest = d->older;
	dormant[d->page / GUEST_PAGE] = NULL;
	ndormant--;
	free(d->b);
	free(d);
}

static void page_add(struct cc_block *b, int i)
{
	gpa_t pn = b->page[i] / GUEST_PAGE;
	if (pn >= npages)
		return;
	if (dormant[pn])
		dormant_drop(dormant[pn]);    /* new code on the page: its old bytes are history */
	if (!page_head[pn])
		protect_page(b->page[i], true);
	b->pnext[i] = page_head[pn];
	page_head[pn] = b;
}

static void hash_add(struct cc_block *b)
{
	unsigned h = hash_of(b->page[0] | (b->eip & (GUEST_PAGE - 1)), b->mode);
	b->hnext = hash[h];
	hash[h] = b;
}

/* Requires: b->page[], eip, mode, host set; b->valid. */
void cc_block_insert(struct cc_block *b)
{
	hash_add(b);
	page_add(b, 0);
	if (b->page[1] != ~0u)
		page_add(b, 1);
	if (nblocks == cap_blocks) {
		cap_blocks = cap_blocks ? cap_blocks * 2 : 4096;
		by_host = realloc(by_host, cap_blocks * sizeof(*by_host));
		if (!by_host)
			vmm_panic("out of memory for block index");
	}
	by_host[nblocks++] = b;
	cc_stats.blocks++;
	cc_stats.insns += b->ninsn;
}

/* Binary search by host address; safe from a signal handler (reads only). */
struct cc_block *cc_find_host(uintptr_t h)
{
	size_t lo = 0, hi = nblocks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct cc_block *b = by_host[mid];
		if (h < (uintptr_t)b->host)
			hi = mid;
		else if (h >= (uintptr_t)b->host + b->host_len)
			lo = mid + 1;
		else
			return b;
	}
	return NULL;
}

void cc_link(struct cc_exit *e, struct cc_block *to)
{
	struct cc_link *l = malloc(sizeof(*l));
	if (!l)
		return;
	l->rel = e->rel;
	l->stub = e->stub;
	l->next = to->incoming;
	to->incoming = l;
	patch_rel32(e->rel, to->host);
	cc_stats.chained++;
}

static void slot_set(struct cc_lookup *t, unsigned i, uint32_t key, uint64_t host)
{
	if (t->nused <= CC_LK_TRACK && !(t->inused[i / 64] & (1ull << (i % 64)))) {
		if (t->nused < CC_LK_TRACK) {
			t->used[t->nused] = (uint16_t)i;
			t->inused[i / 64] |= 1ull << (i % 64);
		}
		t->nused++;                   /* CC_LK_TRACK + 1: untracked, clear it all */
	}
	t->key[i] = key;
	t->host[i] = host;
}

/* Note the region of linear address la as possibly holding entries of t. */
static void region_used(struct cc_lookup *t, uint32_t la)
{
	uint32_t r = la >> 22, r2 = (la + 15) >> 22 & 1023;   /* (a straddling first insn) */
	t->regions[r / 32] |= 1u << (r % 32);
	t->regions[r2 / 32] |= 1u << (r2 % 32);
}

/* b into its first slot; what was there moves to the second (whose entry goes). */
void cc_lookup_insert(struct cc_lookup *t, struct cc_block *b)
{
	unsigned i = cc_lk_index(b->eip), j = cc_lk_next(i);
	uint64_t h = (uint64_t)(uintptr_t)b->host, miss = (uint64_t)(uintptr_t)miss_stub;
	if (t->host[i] == h)
		return;
	if (t->host[j] == h)                  /* it is in the second slot: drop that copy */
		t->host[j] = miss, t->key[j] = 0;
	if (t->host[i] != miss && t->key[i] != b->eip)
		slot_set(t, j, t->key[i], t->host[i]);
	slot_set(t, i, b->eip, h);
	region_used(t, b->cs_base + b->eip);
}

/* A candidate into a free slot of its two, if one is free (an entry in use stays). */
static void insert_if_room(struct cc_lookup *t, const struct lk_cand *c)
{
	unsigned i = cc_lk_index(c->eip), j = cc_lk_next(i);
	uint64_t h = (uint64_t)(uintptr_t)c->host, miss = (uint64_t)(uintptr_t)miss_stub;
	if (t->host[i] == h || t->host[j] == h)
		return;
	if (t->host[i] == miss)
		slot_set(t, i, c->eip, h);
	else if (t->host[j] == miss)
		slot_set(t, j, c->eip, h);
	else
		return;
	region_used(t, c->cs_base + c->eip);
}

void cc_block_wanted(struct cc_block *b)
{
	if (b->wanted)
		return;
	b->wanted = true;
	gpa_t pn = b->page[0] / GUEST_PAGE;
	if (!b->valid || b->page[1] != ~0u || pn >= npages)
		return;
	struct cand_vec *cv = &cands[pn];
	if (cv->n == cv->cap) {
		uint32_t cap = cv->cap ? 2 * cv->cap : 8;
		struct lk_cand *v = realloc(cv->v, cap * sizeof(*v));
		if (!v)
			return;                       /* only a fill's shortcut is lost */
		cv->v = v;
		cv->cap = cap;
	}
	cv->v[cv->n++] = (struct lk_cand){ b->eip, b->mode, b->cs_base, 0, b->host, b };
}

static void cand_remove(struct cc_block *b)
{
	gpa_t pn = b->page[0] / GUEST_PAGE;
	if (!b->wanted || b->page[1] != ~0u || pn >= npages)
		return;
	struct cand_vec *cv = &cands[pn];
	for (uint32_t k = 0; k < cv->n; k++)
		if (cv->v[k].b == b) {
			cv->v[k] = cv->v[--cv->n];
			return;
		}
}

static bool in_table(const struct cc_lookup *t, const struct cc_block *b)
{
	unsigned i = cc_lk_index(b->eip);
	uint64_t h = (uint64_t)(uintptr_t)b->host;
	return t->host[i] == h || t->host[cc_lk_next(i)] == h;
}

/*
 * b and the other blocks of its code page that the same table may hold: a window's table
 * may take a block once the window maps the block's linear page to the block's frame
 * (run.c link_block), and that holds for every valid block translated from the same
 * frame at the same linear page, in the same mode and segment base, whose code stays on
 * that one page (page[1] == ~0u).  They go into empty slots only (an entry in use stays),
 * so a new window's first dispatcher exit on a code page fills the whole page's entries
 * instead of one exit per block.  Only blocks some lookup wanted (b->wanted: reached by
 * an indirect branch or an exit, not only by chained jumps) go in: a process starting
 * busybox mapped about 110 code pages and entered 4,400 blocks per Linux fork+exec, most
 * of which no lookup ever asks for (fill_page was 12% of the time of a fork+exec).
 */
/* The blocks of frame page[0] = pa that start at linear page lp in mode/cs_base and stay on
 * that page, into free slots of t (once per page until a drop or clear names it). */
static void fill_page(struct cc_lookup *t, gpa_t pa, gla_t lp, uint32_t mode, uint32_t cs_base,
		      const struct cc_block *skip)
{
	gpa_t pn = pa / GUEST_PAGE;
	uint64_t bit = 1ull << (lp % 64);
	if (pn >= npages || (t->filled[lp / 64] & bit))
		return;
	t->filled[lp / 64] |= bit;
	const struct cand_vec *cv = &cands[pn];
	for (uint32_t k = 0; k < cv->n; k++) {
		const struct lk_cand *x = &cv->v[k];
		if (x->b == skip || x->mode != mode || x->cs_base != cs_base || (cs_base + x->eip) / GUEST_PAGE != lp)
			continue;
		insert_if_room(t, x);
	}
}

void cc_lookup_map_page(struct cc_lookup *t, gpa_t pa, gla_t lp)
{
	if (t->tag == CC_LK_NOTAG)
		return;
	fill_page(t, pa & ~(GUEST_PAGE - 1), lp, (uint32_t)t->tag, (uint32_t)(t->tag >> 32), NULL);
}

void cc_lookup_insert_page(struct cc_lookup *t, struct cc_block *b)
{
	bool had = in_table(t, b);
	cc_lookup_insert(t, b);
	if (had)
		return;       /* entered after another kind of exit: its page was seen already */
	/* (the memo says when the page's blocks went in already: later ones enter singly) */
	fill_page(t, b->page[0], (b->cs_base + b->eip) / GUEST_PAGE, b->mode, b->cs_base, b);
}

static void hash_remove(struct cc_block *b)
{
	unsigned h = hash_of(b->page[0] | (b->eip & (GUEST_PAGE - 1)), b->mode);
	for (struct cc_block **pp = &hash[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == b) {
			*pp = b->hnext;
			return;
		}
}

static void page_remove(struct cc_block *b, int i)
{
	gpa_t pn = b->page[i] / GUEST_PAGE;
	if (b->page[i] == ~0u || pn >= npages)
		return;
	for (struct cc_block **pp = &page_head[pn]; *pp;) {
		struct cc_block *x = *pp;
		int j = x->page[0] == b->page[i] ? 0 : 1;
		if (x == b) {
			*pp = x->pnext[j];
			break;
		}
		pp = &x->pnext[j];
	}
	if (!page_head[pn])
		protect_page(b->page[i], false);
}

static void invalidate(struct cc_block *b)
{
	cand_remove(b);
	b->valid = false;
	hash_remove(b);
	page_remove(b, 0);
	page_remove(b, 1);
	unsigned i = cc_lk_index(b->eip), j = cc_lk_next(i);
	for (unsigned t = 0; t < ntables; t++)
		for (unsigned k = i;; k = j) {
			if (tables[t]->host[k] == (uint64_t)(uintptr_t)b->host) {
				tables[t]->key[k] = 0;
				tables[t]->host[k] = (uint64_t)(uintptr_t)miss_stub;
			}
			if (k == j)
				break;
		}
	for (struct cc_link *l = b->incoming, *n; l; l = n) {
		n = l->next;
		patch_rel32(l->rel, l->stub);
		free(l);
	}
	b->incoming = NULL;
	cc_stats.invalidations++;
}

bool cc_page_has_code(gpa_t page)
{
	gpa_t pn = page / GUEST_PAGE;
	return pn < npages && page_head[pn] != NULL;
}

void cc_invalidate_page(gpa_t page)
{
	gpa_t pn = page / GUEST_PAGE;
	if (pn >= npages)
		return;
	while (page_head[pn])
		invalidate(page_head[pn]);
}

void cc_invalidate_smc(gpa_t page, const uint8_t *bytes)
{
	gpa_t pn = page / GUEST_PAGE;
	if (pn >= npages || !page_head[pn])
		return;
	struct dormant *d = dormant[pn];
	if (!d) {
		if (ndormant == DORMANT_MAX)
			dormant_drop(dormant_oldest);
		d = calloc(1, sizeof(*d));
		if (!d) {
			cc_invalidate_page(page);
			return;
		}
		d->page = page;
		d->older = dormant_newest;
		if (dormant_newest)
			dormant_newest->newer = d;
		else
			dormant_oldest = d;
		dormant_newest = d;
		dormant[pn] = d;
		ndormant++;
		cc_stats.dormant_pages++;
	}
	memcpy(d->bytes, bytes, GUEST_PAGE);
	while (page_head[pn]) {
		struct cc_block *b = page_head[pn];
		if (b->page[0] == page && b->page[1] == ~0u) {
			if (d->n == d->cap) {
				uint32_t cap = d->cap ? 2 * d->cap : 16;
				struct cc_block **v = realloc(d->b, cap * sizeof(*v));
				if (v) {
					d->b = v;
					d->cap = cap;
				}
			}
			if (d->n < d->cap)
				d->b[d->n++] = b;
		}
		invalidate(b);
	}
}

bool cc_revive(gpa_t page, const uint8_t *bytes)
{
	gpa_t pn = page / GUEST_PAGE;
	if (pn >= npages || !dormant[pn])
		return false;
	struct dormant *d = dormant[pn];
	if (page_head[pn] || memcmp(d->bytes, bytes, GUEST_PAGE)) {
		dormant_drop(d);
		return false;
	}
	uint32_t n = d->n;
	struct cc_block **v = d->b;
	d->b = NULL;
	dormant_drop(d);                  /* (before page_add, which would drop it) */
	for (uint32_t k = 0; k < n; k++) {
		struct cc_block *b = v[k];
		b->valid = true;
		hash_add(b);
		page_add(b, 0);
		if (b->wanted) {
			b->wanted = false;
			cc_block_wanted(b);
		}
	}
	free(v);
	cc_stats.revived_pages++;
	cc_stats.revived_blocks += n;
	return n > 0;
}

void cc_flush(void)
{
	while (dormant_oldest)
		dormant_drop(dormant_oldest);
	for (size_t i = 0; i < nblocks; i++) {
		struct cc_block *b = by_host[i];
		if (b->valid)
			invalidate(b);
		free(b->imap);
		free(b);
	}
	nblocks = 0;
	memset(hash, 0, sizeof(hash));
	arena_free = scratch + SCRATCH_SIZE;
	for (unsigned t = 0; t < ntables; t++)
		cc_lookup_clear(tables[t]);
	cc_stats.flushes++;
}
