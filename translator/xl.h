/*
 * xl.h - the translator: guest IA-32 code in, host x86-64 code out (DESIGN.md §2).
 *
 * xl_translate() scans guest instructions from an EIP and emits one block into the code
 * cache.  Per instruction, in order of preference: IDENT (copy the bytes, add GS + 0x67 and
 * a REX prefix so ESP becomes R12), small re-encodings (INC/DEC short forms, opcode 0x82,
 * [disp32] made absolute through a SIB byte), hand lowerings (stack operations, control
 * transfers, string instructions, fs:/gs: and non-flat segments, 16-bit addressing, the
 * virtual IF at CPL 0), inline caches for kernel segment loads and for INT/IRET between
 * CPL 3 and CPL 0, and an exit to the monitor for every other sensitive or privileged
 * instruction (the project's own table in classify.c).  The files of translator/ and the
 * rules they keep are listed in xl_int.h.
 * Runs on the vCPU thread while the guest is stopped.
 */
#ifndef XL_H
#define XL_H

#include "../monitor/vmm.h"
#include "../codecache/cc.h"

/* Mode bits: everything a translation depends on besides the code bytes. */
#define XM_CPL_MASK  0x3u
#define XM_PG        CC_MODE_PG   /* 0x4: the one bit the code cache reads */
#define XM_TS        0x8u
#define XM_EM        0x10u
#define XM_MP        0x20u
#define XM_SINGLE    0x40u   /* one instruction, not cached */
#define XM_NONFLAT   0x80u   /* CS/DS/ES/SS not flat (base, limit or type): check and add */
#define XM_PROT      0x100u  /* protected mode (CR0.PE, not virtual-8086) */
#define XM_TSD       0x200u  /* CR4.TSD: RDTSC is inline only where this does not make it fault */

uint32_t xl_mode(const struct vcpu *c);
/* Refresh the segment bases and valid offset ranges translated code reads (call before
 * xl_mode and before entering translated code whenever segments may have changed). */
void xl_sync_segments(struct vcpu *c);

/* Translate the block at c->eip under mode.  Cached blocks are inserted in the cache;
 * XM_SINGLE blocks go to the scratch area.  Returns NULL if the arena is full
 * (the caller flushes and retries). */
struct cc_block *xl_translate(struct vcpu *c, uint32_t mode);

/* Guest-code fetch: copy up to len bytes at linear address la; returns bytes available
 * (stops at the end of RAM).  *pa: la's guest-physical address; *next (may be NULL): the
 * next page's frame if the bytes ran into it, ~0u if not, ~1u if it is unmapped.
 * Provided by the monitor (monitor/memory.c). */
unsigned vmm_fetch_code(struct vcpu *c, gla_t la, uint8_t *buf, unsigned len, gpa_t *pa,
			gpa_t *next);
/* Adaptive translation (monitor/adaptive.c): should the instruction at guest-physical pa be
 * a monitor call because its memory access keeps faulting? */
bool vmm_adaptive_emulate(gpa_t pa);
/* The store an adaptive site makes through the device-memory cache (monitor/adaptive.c;
 * translator/mmio_fast.c calls it from translated code): non-zero when the run loop must
 * look before the next instruction. */
uint32_t vmm_mmio_store(uint32_t off, uint32_t val, struct vcpu *c);
/* INVLPG of linear address la at CPL 0, called from translated code (translator/moncall.c;
 * monitor/memory.c): non-zero when the running window's lookup table must be brought up to
 * date by the run loop before it is used again. */
uint32_t vmm_invlpg(uint32_t la, struct vcpu *c);
/* Called by an inline IRET to CPL 3 (translator/ring_cache.c) while vcpu->pf_retry is set,
 * with the EIP it returns to (monitor/signals.c): the page of the #PF the guest just
 * handled is mapped before the faulting instruction runs again. */
void vmm_pf_retry(struct vcpu *c, uint32_t eip);

/* Breakpoints (the monitor sets it while gdb or the guest's DR7 has some; NULL otherwise):
 * a block, one-instruction blocks included, ends with EXIT_DEBUG before every guest linear
 * address it answers true for.  The caller invalidates the blocks of a page when that
 * page's answers change. */
extern bool (*xl_debug_break)(gla_t la);


/* Translation-time counts (every translated instruction or site, not executions). */
struct xl_stats {
	uint64_t ident;            /* the IDENT path: bytes copied with prefixes (also 0x82) */
	uint64_t lowered;          /* hand lowerings */
	uint64_t emulate_exits;    /* classified as monitor calls (sensitive, privileged) */
	uint64_t direct_exits;     /* patchable exits to a known EIP */
	uint64_t indirect_exits;   /* exits through the inline lookup probe */
	uint64_t spills;           /* guest registers borrowed for an address */
	uint64_t adaptive;         /* monitor calls chosen because the access kept faulting */
	uint64_t mmio_fast_sites;  /* of those, loads that read a device mirror inline */
	uint64_t mmio_store_sites; /* and stores that call the device without an exit */
	uint64_t invlpg_sites;     /* INVLPG translated as a call (moncall.c) */
	uint64_t cpuid_sites;      /* and CPUID */
	uint64_t direct_probes;    /* direct exits to another page: inline lookup-table probe */
	uint64_t sreg_sites, sreg_fills;   /* inline segment loads: sites, cache fills */
	uint64_t ring_sites, ring_fills;   /* inline INT/IRET/SYSENTER/SYSEXIT: sites, fills */
	uint64_t verify_sites, verify_fills;   /* inline VERR/VERW: sites, cache fills */
	uint64_t tsc_sites;                /* inline RDTSC */
	uint64_t exc_sites;                /* inline exceptions from CPL 3 (#DE, #BP, #UD) */
	uint64_t pio_sites;                /* IN at CPL 0 as a direct call (pio.c) */
};
extern struct xl_stats xl_stats;

/* The port bus for IN at CPL 0 called from translated code (pio.c; NULL: IN exits). */
extern uint32_t (*xl_pio_in_hook)(uint16_t port, int size);
extern uint64_t xl_pio_calls;        /* such INs run */

/* Set up the decoder and hand the code cache its shared stubs: call before cc_init(). */
void xl_init(void);
/* EXIT_EMULATE info of an inline segment load that missed its cache: after the monitor
 * ran the instruction, xl_sreg_fill(c, info) refills the site's slot. */
#define XL_INFO_SREG 0x10000u
void xl_sreg_fill(struct vcpu *c, uint32_t info);
/* EXIT_EMULATE info of an inline VERR/VERW site that missed its cache.  It lies inside the
 * XL_INFO_SREG range (whose refill condition - the instruction completed - is the same):
 * xl_sreg_fill hands it on to the VERR/VERW cache (translator/verify_cache.c). */
#define XL_INFO_VERIFY 0x18000u
/* EXIT_EMULATE info of an inline INT-from-CPL-3, IRET-to-CPL-3, SYSENTER-from-CPL-3 or
 * SYSEXIT site that missed or faulted: after the monitor ran it (and the CPL changed),
 * xl_ring_fill refills the site's slot. */
#define XL_INFO_RING 0x20000u
void xl_ring_fill(struct vcpu *c, uint32_t info, int old_cpl, uint32_t old_eip);
/* An inline exception site from CPL 3 (#DE, #UD) that missed: the vector for the monitor to
 * raise at vcpu->eip before it refills the slot; -1 for any other info. */
int xl_ring_exc_vector(uint32_t info);
/* Clear RF before entering translated code at CS:EIP where no one can observe it (true:
 * cleared; enter the block XL_HEAD_LEN bytes in, past its exit-request check). */
bool xl_rf_clear(struct vcpu *c);
#define XL_HEAD_LEN 7

/* How the translator handles an instruction (vmm386-scan and the coverage report). */
enum xl_class {
	XC_IDENT,        /* guest bytes copied, prefixes added */
	XC_REENCODED,    /* a few bytes rewritten (short INC/DEC, 0x82, [disp32], AH..BH) */
	XC_LOWERED,      /* hand-written host sequence (stack, branches, strings, segments) */
	XC_MONITOR,      /* exit to the monitor (sensitive/privileged, or rare forms) */
	XC_UNSUPPORTED,  /* raises #UD: not in the guest's CPUID */
	XC_INVALID,      /* does not decode */
};
/* Classify the instruction at bytes[0..avail) in mode (XM_*); *len gets its length
 * (0 if invalid) and *mnemonic a static name.  Requires xl_init(). */
enum xl_class xl_classify(const uint8_t *bytes, unsigned avail, uint32_t mode,
			  unsigned *len, const char **mnemonic);
/* The uncached one-instruction block, if host address h lies in it (signal handler). */
struct cc_block *xl_single_block(uintptr_t h);
/* -d in_asm / out_asm output for a new block. */
void xl_log_block(struct vcpu *c, const struct cc_block *b);
#endif
