/*
 * cc.h - the translation cache.
 *
 * A block is the translation of a straight run of guest instructions that starts at a
 * guest EIP under a mode (CPL, paging, CR0 FPU bits, segment flatness).  Blocks are found
 * by (physical address of the first byte, EIP, mode) in a hash table, and by host address
 * (for faults in translated code) in an address-ordered array, because blocks are carved
 * sequentially out of one executable arena.
 *
 * Invariants:
 *  - every valid block is listed on the guest page(s) its code came from, and those pages
 *    are write-protected in the guest window (cc calls the protect hook);
 *  - a direct exit of a block is either unlinked (its rel32 points at its own stub, which
 *    returns to the dispatcher) or linked to a valid block of the same mode;
 *  - invalidation order (QEMU's tb-maint order): mark invalid, remove from hash, remove
 *    from page lists, clear lookup-cache entries, unlink incoming jumps.
 *  - when the arena is full, everything is flushed at once (no per-block freeing).
 *  - a window's lookup table (keyed by EIP at slot cc_lk_index, tagged with one mode and
 *    segment base) holds a block only while the window maps the block's linear page to
 *    the block's frame; the shadow MMU drops the entries of a page whose mapping changes
 *    (cc_lookup_drop, before the table is used again),
 *    and invalidation clears the block's slot in every table.  cc_lookup_insert_page
 *    relies on it: when the dispatcher enters b (its page just mapped in the window), every
 *    valid block of the same frame and linear page, mode and base that stays on that page
 *    meets the same condition, so it may enter too (empty slots only).  Tests:
 *    test_codecache lookup_insert_page_fills_siblings (other mode, other linear page,
 *    straddling, slot in use, invalidated sibling), test_translator
 *    lookup_probe_uses_the_hashed_slot (the inline probe's slot, with and without BMI2).
 * Single-threaded: only the vCPU thread calls in here, never from a signal handler except
 * cc_find_host(), which only reads.
 *
 * Dependencies: the cache stores host code, it does not write any.  The translator, which
 * alone knows how translated code leaves, hands it the two shared stubs (cc_set_stubs, from
 * xl_init) and includes this header; the cache includes no translator header.  A mode is an
 * opaque key except for CC_MODE_PG.  Jumps are patched with codecache/patch.h.
 */
#ifndef CC_H
#define CC_H

#include <stdint.h>
#include <stdbool.h>
#include "../monitor/vmm.h"

/* The one mode bit the cache looks at: paging on (the translator's XM_PG).  With paging, a
 * block whose first instruction straddles two pages is also keyed by its second page. */
#define CC_MODE_PG 0x4u

/* Per guest instruction: where its translation starts, and how to recover precise state
 * when a host fault hits it. */
struct xl_imap {
	uint32_t eip;
	uint16_t host_off;
	uint16_t fix;       /* XI_* */
	int8_t spill;       /* guest register kept in vcpu->spill[1] while borrowed, or -1 */
};
#define XI_STR_SRC  0x01   /* RSI holds window + ESI (+ segment base in spill[2]) */
#define XI_STR_DST  0x02   /* RDI holds window + EDI */
#define XI_SRC_SEG  0x04   /* a segment base was added to RSI (segment in bits 4-6) */
#define XI_SEG(f)   (((f) >> 4) & 7)
#define XI_INHIBIT  0x08   /* interrupt probe right after STI: the STI shadow applies */
#define XI_PUSHF    0x80   /* the guest's RFLAGS were pushed at [rsp] (inline segment load) */
#define XI_FASTRING 0x100  /* inline INT/IRET: a fault outside the running window sends it to the monitor */

struct cc_exit {
	struct cc_block *blk; /* the block the exit belongs to */
	uint8_t *rel;       /* rel32 field of the patchable jump */
	uint8_t *stub;      /* where an unlinked jump points */
	gla_t target;
};

struct cc_block {
	gla_t eip;
	uint32_t mode;
	uint32_t cs_base;
	gpa_t page[2];      /* guest-physical page(s) of the code; page[1] = ~0 if one page,
			     * ~1 if the first instruction runs into an unmapped page (paging) */
	uint8_t *host;
	uint32_t host_len;
	uint32_t guest_len;
	uint16_t ninsn;
	uint8_t nexit;
	bool valid;
	bool wanted;        /* the run loop entered it other than by a jump it could chain
			     * (an indirect branch, a return, an exception): a lookup-table
			     * entry serves it, so a page fill enters it (cc_block_wanted) */
	struct xl_imap *imap;
	struct cc_exit exit[2];
	struct cc_block *hnext;       /* hash chain */
	struct cc_block *pnext[2];    /* page lists, one per page */
	struct cc_link *incoming;     /* jumps patched to this block */
};

struct cc_link { uint8_t *rel; uint8_t *stub; struct cc_link *next; };

/* Indirect-branch lookup cache used inline by translated code (see translator). */
#define CC_LK_ENTRIES 65536u
#define CC_LK_TRACK 16384u
struct cc_lookup {
	uint32_t key[CC_LK_ENTRIES];      /* guest EIP */
	uint64_t host[CC_LK_ENTRIES];     /* host entry, or the miss stub */
	uint64_t tag;                     /* CC_LK_TAG(mode, cs_base) its entries are for, or
					   * CC_LK_NOTAG (stale): set by the shadow MMU */
	/* monitor only: the slots filled since the last clear, each once (inused), so that
	 * clearing a table that was barely used (a short-lived process's window) does not
	 * rewrite 768 KiB and a drop looks at those slots only; a drop leaves out the slots it
	 * found empty.  (A slot emptied and filled again was listed twice before inused: a
	 * process's table that lost and regained its pages at every fork went past
	 * CC_LK_TRACK in 60 forks, and then every drop scanned all 64 Ki slots - 47% of the
	 * time of the own kernel's forkexit.) */
	uint32_t nused;                   /* > CC_LK_TRACK: too many, clear everything */
	uint16_t used[CC_LK_TRACK];
	uint64_t inused[CC_LK_ENTRIES / 64];
	/* monitor only: a bit per linear page, set when cc_lookup_insert_page entered the
	 * page's blocks (cleared with the table, and for the pages a drop names), so that it
	 * walks a page's block list once, not at every dispatcher entry on that page */
	uint64_t filled[(1u << 20) / 64];
	/* monitor only: the 4 MiB regions that may hold an entry (set when one is entered,
	 * cleared with the table), so that a drop naming none of them scans nothing */
	uint32_t regions[1024 / 32];
} __attribute__((aligned(64)));          /* a size aligned_alloc accepts */
/* The slot of guest EIP eip: its low 16 bits plus bits 8-23, so that blocks 64 KiB apart
 * and 16-byte aligned entry points (function starts) spread over every slot; the inline
 * probe (translator/exit.c) computes the same flag-free.  The table is two-way: an EIP's
 * entry is in its slot or the next one (cc_lk_next), the one entered last in the first
 * (a kernel's hot set is large enough that one way thrashed: about 150 extra exits per
 * Linux fork+exec). */
static inline unsigned cc_lk_index(uint32_t eip) { return (eip + (eip >> 8)) & (CC_LK_ENTRIES - 1); }
static inline unsigned cc_lk_next(unsigned i) { return (i + 1) & (CC_LK_ENTRIES - 1); }
#define CC_LK_TAG(mode, cs) (((uint64_t)(cs) << 32) | (uint32_t)(mode))
#define CC_LK_NOTAG (~0ull)

struct cc_stats {
	uint64_t blocks, insns, flushes, invalidations, chained, lookups, lookup_misses;
	uint64_t xl_ns, lookup_drops, lookup_drops_skipped;
	uint64_t dormant_pages, revived_pages, revived_blocks;   /* cc_invalidate_smc, cc_revive */
};
extern struct cc_stats cc_stats;

/* Protect (true) or unprotect a guest physical page in every window. */
typedef void (*cc_protect_fn)(gpa_t page, bool protect);

/*
 * The two stubs every block can reach with a rel32 jump, as position-independent code that
 * the cache copies to the start of its arena: the exit thunk (leave translated code, the
 * exit reason already stored) and the lookup-miss stub (vcpu->eip stored: leave with
 * EXIT_LOOKUP).  Empty lookup-table slots point at the miss stub.  Handed over by the
 * translator (xl_init) before cc_init, which fails without them.
 */
#define CC_STUB_ROOM 256u
struct cc_stubs {
	const uint8_t *code;
	unsigned len;                    /* at most CC_STUB_ROOM */
	unsigned exit_off, miss_off;     /* entry points, offsets into code */
};
void cc_set_stubs(const struct cc_stubs *s);

int cc_init(cc_protect_fn protect, uint32_t ram_size);
void *cc_exit_thunk(void);       /* the installed exit thunk */
void *cc_miss_stub(void);        /* the installed lookup-miss stub */
/* A new lookup table (one per shadow window), registered so invalidation reaches it. */
#define CC_MAX_TABLES 64
struct cc_lookup *cc_lookup_new(void);

/* Arena: reserve room for one block, then commit what was used. NULL if full. */
uint8_t *cc_code_begin(size_t *room);
void cc_code_commit(uint8_t *end);
uint8_t *cc_scratch(size_t *room);   /* uncached one-shot code (single steps) */
bool cc_is_code(uintptr_t host);

/* pa2: with paging, the frame of the next linear page when EIP is within an instruction
 * length of the page end (~1u: not mapped, ~0u: not looked at); a block whose first
 * instruction straddles two pages matches only if its second page is pa2. */
struct cc_block *cc_find(gpa_t pa, gpa_t pa2, gla_t eip, uint32_t mode, uint32_t cs_base);
struct cc_block *cc_block_new(void);
void cc_block_insert(struct cc_block *b);
struct cc_block *cc_find_host(uintptr_t host);
void cc_link(struct cc_exit *e, struct cc_block *to);
void cc_lookup_insert(struct cc_lookup *t, struct cc_block *b);
/* b, and the blocks of the same frame, linear page, mode and segment base (empty slots). */
void cc_lookup_insert_page(struct cc_lookup *t, struct cc_block *b);
/* The run loop reached valid block b other than through a jump it chained: from now on a
 * fill of b's page (cc_lookup_insert_page, cc_lookup_map_page) enters b too. */
void cc_block_wanted(struct cc_block *b);
/* The window of t just mapped linear page lp to frame pa: its blocks in t's mode and segment
 * base may enter t (free slots), as cc_lookup_insert_page's would.  Nothing while t has no
 * tag (stale, or drops pending). */
void cc_lookup_map_page(struct cc_lookup *t, gpa_t pa, gla_t lp);
void cc_invalidate_page(gpa_t page);
/*
 * A guest store is about to change code page `page`, whose bytes (still as translated) are
 * at `bytes`: its translations go as with cc_invalidate_page, but the blocks that lie on
 * that page alone are kept dormant with a copy of the bytes.  cc_revive(page, bytes) brings
 * them back when the page holds exactly those bytes again (a program loaded again into the
 * frame it ran from), and returns whether it did; otherwise the copy is dropped.
 */
void cc_invalidate_smc(gpa_t page, const uint8_t *bytes);
bool cc_revive(gpa_t page, const uint8_t *bytes);
bool cc_page_has_code(gpa_t page);
void cc_flush(void);
void cc_lookup_clear(struct cc_lookup *t);
/* Linear pages whose lookup entries must go: 4 MiB regions as a bitmap, single pages as
 * a short list. */
#define CC_DROP_PAGES 32u
struct cc_lk_drop {
	uint32_t reg[1024 / 32];
	uint32_t npages;
	uint32_t page[CC_DROP_PAGES];
};
/* Drop the entries of t (whose EIPs are relative to cs_base) on a page of d, or whose
 * first instruction may reach into one (within 15 bytes of the page's start); one pass
 * over the slots in use. */
void cc_lookup_drop(struct cc_lookup *t, uint32_t cs_base, const struct cc_lk_drop *d);

#endif
