/*
 * test_codecache.c - the translation cache on its own (codecache/cc.h): lookup by
 * (physical address, EIP, mode) and by host address, linking a direct exit to a block and
 * unlinking it again, and what invalidating a page must leave behind, in cc.h's order.
 *
 * Harness: no translator.  The test hands the cache its own stub bytes (cc_set_stubs, as
 * xl_init does) and builds blocks by hand in the arena: a NOP, then one direct exit (E9
 * rel32) aimed at its own stub.  Nothing here runs guest or host code; the assertions read
 * the cache's answers, the rel32 fields in the arena and the lookup tables, and a protect
 * hook records what the cache asked of the shadow MMU.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "monitor/vmm.h"
#include "monitor/param.h"
#include "codecache/cc.h"
#include "codecache/patch.h"

#define RAM   (16u << 20)
#define MODE  0x1u                 /* any key: CPL 1, no paging */
#define PMODE (0x3u | CC_MODE_PG)  /* a paged mode */

/* what the protect hook saw */
static struct {
	unsigned calls;
	gpa_t page[16];
	bool protect[16];
	/* at the unprotect of watch_page: was watch_blk still valid, still in the hash? */
	gpa_t watch_page;
	struct cc_block *watch_blk;
	gpa_t watch_pa;
	bool seen, valid_then, hashed_then;
} hook;

static void protect_hook(gpa_t page, bool protect)
{
	if (hook.calls < 16) {
		hook.page[hook.calls] = page;
		hook.protect[hook.calls] = protect;
	}
	hook.calls++;
	if (!protect && hook.watch_blk && page == hook.watch_page) {
		struct cc_block *w = hook.watch_blk;
		hook.seen = true;
		hook.valid_then = w->valid;
		hook.hashed_then = cc_find(hook.watch_pa, ~0u, w->eip, w->mode, w->cs_base) == w;
	}
}

static const uint8_t stub_code[] = {
	0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC,   /* "exit thunk" at 0 */
	0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC,   /* "miss stub" at 8 */
};

static void setup(void)
{
	static bool done;
	if (!done) {
		cc_set_stubs(&(struct cc_stubs){ .code = stub_code, .len = sizeof(stub_code),
						 .exit_off = 0, .miss_off = 8 });
		ck_assert_int_eq(cc_init(protect_hook, RAM), 0);
		done = true;
	}
	cc_flush();
	memset(&hook, 0, sizeof(hook));
}

/* Where the rel32 jump whose displacement is at rel lands. */
static const uint8_t *jump_target(const uint8_t *rel)
{
	int32_t v;
	memcpy(&v, rel, 4);
	return rel + 4 + v;
}

/* A block for guest-physical pa = the address of its first byte, with one unlinked exit. */
static struct cc_block *make_block(gpa_t pa, gla_t eip, uint32_t mode, gpa_t page1)
{
	size_t room;
	uint8_t *h = cc_code_begin(&room);
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_ge(room, 16);
	struct cc_block *b = cc_block_new();
	ck_assert_ptr_nonnull(b);
	b->eip = eip;
	b->mode = mode;
	b->page[0] = pa & ~(GUEST_PAGE - 1);
	b->page[1] = page1;
	b->host = h;
	b->valid = true;
	b->ninsn = 1;
	uint8_t *p = h;
	*p++ = 0x90;                                   /* body */
	*p++ = 0xE9;                                   /* jmp rel32 -> own stub */
	b->exit[0].rel = p;
	p += 4;
	b->exit[0].stub = p;
	patch_rel32(b->exit[0].rel, b->exit[0].stub);
	*p++ = 0xCC;                                   /* stub */
	b->exit[0].blk = b;
	b->exit[0].target = eip + 0x100;
	b->nexit = 1;
	b->host_len = (uint32_t)(p - h);
	cc_code_commit(p);
	cc_block_insert(b);
	return b;
}

START_TEST(init_needs_the_stubs)
{
	/* first in the suite: in this process nobody has handed stubs over yet */
	ck_assert_int_eq(cc_init(protect_hook, RAM), -1);
	setup();
	ck_assert(cc_is_code((uintptr_t)cc_exit_thunk()));
	ck_assert_int_eq(memcmp(cc_exit_thunk(), stub_code, sizeof(stub_code)), 0);
	ck_assert_ptr_eq((uint8_t *)cc_miss_stub(), (uint8_t *)cc_exit_thunk() + 8);
}
END_TEST

START_TEST(find_by_key)
{
	setup();
	struct cc_block *a = make_block(0x5123, 0x8000123, MODE, ~0u);
	struct cc_block *b = make_block(0x5123, 0x8000123, MODE | 2, ~0u);   /* other mode */
	struct cc_block *c = make_block(0x5456, 0x8000456, MODE, ~0u);       /* other EIP */
	ck_assert_ptr_eq(cc_find(0x5123, ~0u, 0x8000123, MODE, 0), a);
	ck_assert_ptr_eq(cc_find(0x5123, ~0u, 0x8000123, MODE | 2, 0), b);
	ck_assert_ptr_eq(cc_find(0x5456, ~0u, 0x8000456, MODE, 0), c);
	ck_assert_ptr_null(cc_find(0x5123, ~0u, 0x8000123, MODE | 8, 0));    /* no such mode */
	ck_assert_ptr_null(cc_find(0x5123, ~0u, 0x9000123, MODE, 0));        /* other EIP */
	ck_assert_ptr_null(cc_find(0x6123, ~0u, 0x8000123, MODE, 0));        /* other frame */
	ck_assert_ptr_null(cc_find(0x5123, ~0u, 0x8000123, MODE, 0x1000));   /* other CS base */
	/* the first block on a page write-protects it, once */
	ck_assert_uint_eq(hook.calls, 1);
	ck_assert_uint_eq(hook.page[0], 0x5000);
	ck_assert(hook.protect[0]);
	ck_assert(cc_page_has_code(0x5000));
	ck_assert(!cc_page_has_code(0x6000));
}
END_TEST

START_TEST(find_straddling_block_by_second_page)
{
	setup();
	/* with paging, a block whose first instruction straddles two pages matches only the
	 * second frame it was translated from */
	struct cc_block *s = make_block(0x7FFE, 0x40000FFE, PMODE, 0x9000);
	ck_assert_ptr_eq(cc_find(0x7FFE, 0x9000, 0x40000FFE, PMODE, 0), s);
	ck_assert_ptr_null(cc_find(0x7FFE, 0xA000, 0x40000FFE, PMODE, 0));
	ck_assert(cc_page_has_code(0x9000));
	/* a one-page block matches whatever the next page maps */
	struct cc_block *o = make_block(0x7100, 0x40000100, PMODE, ~0u);
	ck_assert_ptr_eq(cc_find(0x7100, 0xA000, 0x40000100, PMODE, 0), o);
}
END_TEST

START_TEST(find_by_host_address)
{
	setup();
	struct cc_block *a = make_block(0x5000, 0x1000, MODE, ~0u);
	struct cc_block *b = make_block(0x5010, 0x1010, MODE, ~0u);
	ck_assert_ptr_eq(cc_find_host((uintptr_t)a->host), a);
	ck_assert_ptr_eq(cc_find_host((uintptr_t)a->host + a->host_len - 1), a);
	ck_assert_ptr_eq(cc_find_host((uintptr_t)b->host + 3), b);
	/* between blocks (alignment padding), past the last block, outside the arena */
	ck_assert_uint_lt((uintptr_t)a->host + a->host_len, (uintptr_t)b->host);
	ck_assert_ptr_null(cc_find_host((uintptr_t)a->host + a->host_len));
	ck_assert_ptr_null(cc_find_host((uintptr_t)b->host + b->host_len));
	ck_assert_ptr_null(cc_find_host((uintptr_t)&hook));
	ck_assert(cc_is_code((uintptr_t)a->host));
	ck_assert(!cc_is_code((uintptr_t)&hook));
}
END_TEST

START_TEST(link_patches_and_invalidation_unlinks)
{
	setup();
	struct cc_block *a = make_block(0x5000, 0x1000, MODE, ~0u);
	struct cc_block *b = make_block(0x6000, 0x2000, MODE, ~0u);
	uint64_t chained = cc_stats.chained;
	ck_assert_ptr_eq(jump_target(a->exit[0].rel), a->exit[0].stub);
	cc_link(&a->exit[0], b);
	ck_assert_ptr_eq(jump_target(a->exit[0].rel), b->host);
	ck_assert_uint_eq(cc_stats.chained, chained + 1);
	ck_assert_ptr_nonnull(b->incoming);
	ck_assert_ptr_eq(b->incoming->rel, a->exit[0].rel);
	/* the target's page is written: the jump goes back to its stub, a stays usable */
	cc_invalidate_page(0x6000);
	ck_assert_ptr_eq(jump_target(a->exit[0].rel), a->exit[0].stub);
	ck_assert_ptr_null(b->incoming);
	ck_assert(a->valid);
	ck_assert_ptr_eq(cc_find(0x5000, ~0u, 0x1000, MODE, 0), a);
}
END_TEST

START_TEST(invalidate_page_leaves_nothing_behind)
{
	setup();
	struct cc_block *x = make_block(0x5040, 0x1040, MODE, ~0u);
	struct cc_block *y = make_block(0x5080, 0x1080, MODE, ~0u);   /* same page */
	struct cc_block *z = make_block(0x6000, 0x2000, MODE, ~0u);   /* another page */
	struct cc_lookup *t1 = cc_lookup_new(), *t2 = cc_lookup_new();
	ck_assert_ptr_nonnull(t1);
	ck_assert_ptr_nonnull(t2);
	cc_lookup_insert(t1, x);
	cc_lookup_insert(t1, z);
	cc_lookup_insert(t2, x);
	ck_assert_uint_eq(t1->host[cc_lk_index(x->eip)], (uintptr_t)x->host);
	cc_link(&z->exit[0], x);
	uint64_t inval = cc_stats.invalidations;
	hook.calls = 0;
	hook.watch_page = 0x5000;
	hook.watch_blk = x;
	hook.watch_pa = 0x5040;

	cc_invalidate_page(0x5000);

	/* marked invalid, out of the hash, off the page list (page unprotected once) */
	ck_assert(!x->valid);
	ck_assert(!y->valid);
	ck_assert(z->valid);
	ck_assert_ptr_null(cc_find(0x5040, ~0u, 0x1040, MODE, 0));
	ck_assert_ptr_null(cc_find(0x5080, ~0u, 0x1080, MODE, 0));
	ck_assert_ptr_eq(cc_find(0x6000, ~0u, 0x2000, MODE, 0), z);
	ck_assert(!cc_page_has_code(0x5000));
	ck_assert(cc_page_has_code(0x6000));
	ck_assert_uint_eq(hook.calls, 1);
	ck_assert_uint_eq(hook.page[0], 0x5000);
	ck_assert(!hook.protect[0]);
	/* order: by the time the page list emptied, x was already invalid and unhashed */
	ck_assert(hook.seen);
	ck_assert(!hook.valid_then);
	ck_assert(!hook.hashed_then);
	/* incoming jumps back at their stubs */
	ck_assert_ptr_eq(jump_target(z->exit[0].rel), z->exit[0].stub);
	ck_assert_ptr_null(x->incoming);
	/* lookup entries cleared in every table; z's entry stays */
	unsigned ix = cc_lk_index(x->eip), iz = cc_lk_index(z->eip);
	ck_assert_uint_eq(t1->key[ix], 0);
	ck_assert_uint_eq(t1->host[ix], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t2->host[ix], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t1->key[iz], z->eip);
	ck_assert_uint_eq(t1->host[iz], (uintptr_t)z->host);
	ck_assert_uint_eq(cc_stats.invalidations, inval + 2);
}
END_TEST

START_TEST(lookup_clear_tracked_and_untracked)
{
	setup();
	struct cc_lookup *t = cc_lookup_new();
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->tag, CC_LK_NOTAG);
	ck_assert_uint_eq(t->host[0], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t->host[CC_LK_ENTRIES - 1], (uintptr_t)cc_miss_stub());
	struct cc_block *b = make_block(0x5000, 0x1000, MODE, ~0u);
	struct cc_block entry = { .host = b->host };   /* only eip and host are read */
	/* a few slots: remembered, and only they are rewritten by a clear */
	for (unsigned i = 0; i < 5; i++) {
		entry.eip = 0x1000 + i;
		cc_lookup_insert(t, &entry);
		ck_assert_uint_eq(t->host[cc_lk_index(0x1000 + i)], (uintptr_t)b->host);
	}
	ck_assert_uint_eq(t->nused, 5);
	t->tag = CC_LK_TAG(MODE, 0);
	cc_lookup_clear(t);
	ck_assert_uint_eq(t->nused, 0);
	ck_assert_uint_eq(t->tag, CC_LK_NOTAG);
	for (unsigned i = 0; i < 5; i++) {
		ck_assert_uint_eq(t->key[cc_lk_index(0x1000 + i)], 0);
		ck_assert_uint_eq(t->host[cc_lk_index(0x1000 + i)], (uintptr_t)cc_miss_stub());
	}
	/* more slots than it tracks: the clear rewrites the whole table */
	for (unsigned i = 0; i < CC_LK_TRACK + 10; i++) {
		entry.eip = 0x20000 + i;
		cc_lookup_insert(t, &entry);
	}
	ck_assert_uint_gt(t->nused, CC_LK_TRACK);
	cc_lookup_clear(t);
	for (unsigned i = 0; i < CC_LK_TRACK + 10; i++)
		ck_assert_uint_eq(t->host[cc_lk_index(0x20000 + i)], (uintptr_t)cc_miss_stub());
}
END_TEST

/* A drop lists the slots it emptied no longer, and a slot filled again is listed once: a
 * table whose pages go and come back at every fork stays tracked, and a drop looks at the
 * slots in use only.  (Each round listed its slots again before: untracked after about
 * CC_LK_TRACK / 5 rounds, and every drop then scanned all the slots.) */
START_TEST(lookup_drop_keeps_the_table_tracked)
{
	setup();
	struct cc_lookup *t = cc_lookup_new();
	ck_assert_ptr_nonnull(t);
	struct cc_block *b = make_block(0x5000, 0x1000, MODE, ~0u);
	struct cc_block entry = { .host = b->host };
	entry.eip = 0x900000;                                        /* another page: stays */
	cc_lookup_insert(t, &entry);
	for (unsigned round = 0; round < CC_LK_TRACK; round++) {
		for (unsigned i = 0; i < 5; i++) {
			entry.eip = 0x401000 + 0x40 * i;
			cc_lookup_insert(t, &entry);
		}
		ck_assert_uint_eq(t->nused, 6);
		struct cc_lk_drop d = { .npages = 1, .page = { 0x401 } };
		cc_lookup_drop(t, 0, &d);
		ck_assert_uint_eq(t->nused, 1);
		ck_assert_uint_eq(t->host[cc_lk_index(0x401000)], (uintptr_t)cc_miss_stub());
		ck_assert_uint_eq(t->host[cc_lk_index(0x401100)], (uintptr_t)cc_miss_stub());
	}
	ck_assert_uint_eq(t->key[cc_lk_index(0x900000)], 0x900000);
	ck_assert_uint_eq(t->used[0], cc_lk_index(0x900000));
	cc_lookup_clear(t);
	ck_assert_uint_eq(t->host[cc_lk_index(0x900000)], (uintptr_t)cc_miss_stub());
	/* the slot is free to be listed again after the clear */
	cc_lookup_insert(t, &entry);
	ck_assert_uint_eq(t->nused, 1);
}
END_TEST

/* A dispatcher entry fills the slots of the other blocks of the same frame and linear
 * page, in the same mode and segment base, that stay on one page and that some lookup
 * wanted before (b->wanted); never a slot in use. */
START_TEST(lookup_insert_page_fills_siblings)
{
	setup();
	struct cc_lookup *t = cc_lookup_new();
	ck_assert_ptr_nonnull(t);
	struct cc_block *a = make_block(0x7000, 0x401000, MODE, ~0u);
	struct cc_block *sib = make_block(0x7100, 0x401100, MODE, ~0u);       /* filled */
	struct cc_block *om = make_block(0x7200, 0x401200, MODE | 2, ~0u);   /* other mode */
	struct cc_block *ol = make_block(0x7300, 0x502300, MODE, ~0u);       /* other linear page */
	struct cc_block *st = make_block(0x7FF0, 0x401FF0, MODE, 0x9000);    /* straddles */
	struct cc_block *busy = make_block(0x7400, 0x401400, MODE, ~0u);     /* slot taken */
	gla_t oe = 0x600000;
	while (cc_lk_index(oe) != cc_lk_index(busy->eip))
		oe++;
	struct cc_block *other = make_block(0xA000 | (oe & 0xFFF), oe, MODE, ~0u);
	struct cc_block *nw = make_block(0x7500, 0x401500, MODE, ~0u);       /* never looked up */
	cc_block_wanted(sib); cc_block_wanted(om); cc_block_wanted(ol); cc_block_wanted(st);
	cc_block_wanted(busy);
	ck_assert_uint_eq(cc_lk_index(other->eip), cc_lk_index(busy->eip));
	cc_lookup_insert(t, other);
	cc_lookup_insert_page(t, a);
	ck_assert_uint_eq(t->host[cc_lk_index(a->eip)], (uintptr_t)a->host);
	ck_assert_uint_eq(t->host[cc_lk_index(sib->eip)], (uintptr_t)sib->host);
	ck_assert_uint_eq(t->host[cc_lk_index(om->eip)], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t->host[cc_lk_index(ol->eip)], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t->host[cc_lk_index(st->eip)], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t->key[cc_lk_index(busy->eip)], other->eip);
	ck_assert_uint_eq(t->host[cc_lk_index(nw->eip)], (uintptr_t)cc_miss_stub());
	/* an invalid sibling is never entered */
	cc_lookup_clear(t);
	cc_invalidate_page(0x7000);
	struct cc_block *b2 = make_block(0x7000, 0x401000, MODE, ~0u);
	cc_lookup_insert_page(t, b2);
	ck_assert_uint_eq(t->host[cc_lk_index(sib->eip)], (uintptr_t)cc_miss_stub());
	/* 64 KiB apart and 16-byte aligned entry points get different slots */
	ck_assert_uint_ne(cc_lk_index(0xC1000000), cc_lk_index(0xC1010000));
	ck_assert_uint_ne(cc_lk_index(0xC1000010) & 15, cc_lk_index(0xC1000110) & 15);
}
END_TEST

/* A window that maps a code page lets the page's blocks into its table (cc_lookup_map_page):
 * those of the table's mode and segment base that stay on the page, nothing while the
 * table has no tag (stale, drops pending), and each page once until a drop names it. */
START_TEST(lookup_map_page_enters_the_page)
{
	setup();
	struct cc_lookup *t = cc_lookup_new();
	ck_assert_ptr_nonnull(t);
	struct cc_block *a = make_block(0x7000, 0x401000, MODE, ~0u);
	struct cc_block *om = make_block(0x7200, 0x401200, MODE | 2, ~0u);   /* other mode */
	struct cc_block *st = make_block(0x7FF0, 0x401FF0, MODE, 0x9000);    /* straddles */
	struct cc_block *ol = make_block(0x7300, 0x502300, MODE, ~0u);       /* other linear page */
	struct cc_block *nw = make_block(0x7400, 0x401400, MODE, ~0u);       /* never looked up */
	cc_block_wanted(a); cc_block_wanted(om); cc_block_wanted(st); cc_block_wanted(ol);
	cc_lookup_map_page(t, 0x7000, 0x401);                                 /* no tag yet */
	ck_assert_uint_eq(t->host[cc_lk_index(a->eip)], (uintptr_t)cc_miss_stub());
	t->tag = CC_LK_TAG(MODE, 0);
	cc_lookup_map_page(t, 0x7000, 0x401);
	ck_assert_uint_eq(t->host[cc_lk_index(a->eip)], (uintptr_t)a->host);
	ck_assert_uint_eq(t->host[cc_lk_index(nw->eip)], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t->host[cc_lk_index(om->eip)], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t->host[cc_lk_index(st->eip)], (uintptr_t)cc_miss_stub());
	ck_assert_uint_eq(t->host[cc_lk_index(ol->eip)], (uintptr_t)cc_miss_stub());
	/* dropped, then mapped again: back in */
	struct cc_lk_drop d = { .npages = 1, .page = { 0x401 } };
	cc_lookup_drop(t, 0, &d);
	ck_assert_uint_eq(t->host[cc_lk_index(a->eip)], (uintptr_t)cc_miss_stub());
	cc_lookup_map_page(t, 0x7000, 0x401);
	ck_assert_uint_eq(t->host[cc_lk_index(a->eip)], (uintptr_t)a->host);
}
END_TEST

START_TEST(flush_empties_the_cache)
{
	setup();
	size_t room;
	uint8_t *first = cc_code_begin(&room);
	struct cc_block *a = make_block(0x5000, 0x1000, MODE, ~0u);
	ck_assert_ptr_eq(a->host, first);
	make_block(0x6000, 0x2000, MODE, ~0u);
	struct cc_lookup *t = cc_lookup_new();
	ck_assert_ptr_nonnull(t);
	cc_lookup_insert(t, a);
	hook.calls = 0;
	cc_flush();
	ck_assert_ptr_null(cc_find(0x5000, ~0u, 0x1000, MODE, 0));
	ck_assert_ptr_null(cc_find(0x6000, ~0u, 0x2000, MODE, 0));
	ck_assert_ptr_null(cc_find_host((uintptr_t)first));
	ck_assert(!cc_page_has_code(0x5000));
	ck_assert(!cc_page_has_code(0x6000));
	ck_assert_uint_eq(hook.calls, 2);                 /* both pages unprotected */
	ck_assert_uint_eq(t->host[0x1000], (uintptr_t)cc_miss_stub());
	ck_assert_ptr_eq(cc_code_begin(&room), first);    /* the arena starts over */
}
END_TEST

/* A store about to change a code page keeps the blocks that lie on it alone dormant with
 * the page's bytes: the same bytes bring them back (hashed, the page protected again,
 * their links as before), other bytes do not, nor does a block translated on the page
 * meanwhile, and a flush forgets them; a block straddling into the page is not kept. */
START_TEST(dormant_blocks_revive_on_the_same_bytes_only)
{
	setup();
	static uint8_t page[GUEST_PAGE], other[GUEST_PAGE];
	memset(page, 0x90, sizeof(page));
	memset(other, 0x90, sizeof(other));
	other[100] = 0xC3;
	struct cc_block *a = make_block(0x5000, 0x1000, MODE, ~0u);
	struct cc_block *b = make_block(0x5010, 0x1010, MODE, ~0u);
	struct cc_block *s = make_block(0x4FF8, 0x0FF8, MODE, 0x5000);    /* straddles */
	cc_link(&a->exit[0], b);
	hook.calls = 0;
	cc_invalidate_smc(0x5000, page);
	ck_assert(!a->valid && !b->valid && !s->valid);
	ck_assert(!cc_page_has_code(0x5000));
	ck_assert_ptr_eq(jump_target(a->exit[0].rel), a->exit[0].stub);   /* unlinked */
	ck_assert(!cc_revive(0x6000, page));                             /* no copy there */
	uint64_t rb = cc_stats.revived_blocks;
	ck_assert(cc_revive(0x5000, page));
	ck_assert_uint_eq(cc_stats.revived_blocks - rb, 2);
	ck_assert(a->valid && b->valid && !s->valid);
	ck_assert_ptr_eq(cc_find(0x5000, ~0u, 0x1000, MODE, 0), a);
	ck_assert_ptr_eq(cc_find(0x5010, ~0u, 0x1010, MODE, 0), b);
	ck_assert_ptr_null(cc_find(0x4FF8, 0x5000, 0x0FF8, MODE, 0));
	ck_assert(cc_page_has_code(0x5000));
	ck_assert(hook.protect[hook.calls - 1] && hook.page[hook.calls - 1] == 0x5000);
	ck_assert(!cc_revive(0x5000, page));                             /* used up */
	/* other bytes: nothing comes back, and the copy is gone */
	cc_invalidate_smc(0x5000, page);
	ck_assert(!cc_revive(0x5000, other));
	ck_assert(!cc_revive(0x5000, page));
	ck_assert(!a->valid && !cc_page_has_code(0x5000));
	/* a new block on the page drops the copy */
	make_block(0x5020, 0x1020, MODE, ~0u);
	cc_invalidate_smc(0x5000, page);
	make_block(0x5040, 0x1040, MODE, ~0u);
	ck_assert(!cc_revive(0x5000, page));
	ck_assert_ptr_null(cc_find(0x5020, ~0u, 0x1020, MODE, 0));
	/* a flush forgets every copy */
	cc_invalidate_smc(0x5000, page);
	cc_flush();
	ck_assert(!cc_revive(0x5000, page));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("codecache");
	TCase *t = tcase_create("cache");
	tcase_add_test(t, init_needs_the_stubs);
	tcase_add_test(t, find_by_key);
	tcase_add_test(t, find_straddling_block_by_second_page);
	tcase_add_test(t, find_by_host_address);
	tcase_add_test(t, link_patches_and_invalidation_unlinks);
	tcase_add_test(t, invalidate_page_leaves_nothing_behind);
	tcase_add_test(t, lookup_clear_tracked_and_untracked);
	tcase_add_test(t, lookup_drop_keeps_the_table_tracked);
	tcase_add_test(t, flush_empties_the_cache);
	tcase_add_test(t, dormant_blocks_revive_on_the_same_bytes_only);
	tcase_add_test(t, lookup_insert_page_fills_siblings);
	tcase_add_test(t, lookup_map_page_enters_the_page);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
