/*
 * smmu.h - shadow page tables on the host MMU (the essay in smmu.c, DESIGN.md §3).
 *
 * Translated code addresses guest-linear memory as GS base + linear address.  GS base is
 * the base of a "window": with CR0.PG = 0 the flat window (all RAM at its physical
 * address), with paging one window per (guest page directory, user/supervisor view).
 * The host page table of a window is the shadow page table; smmu_fault() fills it.
 */
#ifndef SMMU_H
#define SMMU_H
#include <stdint.h>
#include <stdbool.h>
#include "../monitor/vmm.h"

struct cc_lookup;

/* What a host fault in the current window stands for. */
enum smf {
	SMF_BAD,      /* not in the current window: a monitor bug */
	SMF_RETRY,    /* mapped now: re-run the faulting instruction */
	SMF_PF,       /* guest #PF: CR2 set, *info = error code */
	SMF_SMC,      /* guest store to a frame holding translations: *info = frame */
	SMF_TRACED,   /* guest store to a traced page-table frame: *info = frame */
	SMF_MMIO,     /* access to a physical address that is not RAM */
};

struct smmu_stats {
	uint64_t fills, prefetched, large_fills, dirty_upgrades, pf_injected, mmio;
	uint64_t prefaults;               /* pages mapped at the IRET after a user #PF */
	uint64_t traced_writes, traced_monitor_writes, trace_invalidations, unshadowed, code_protects;
	uint64_t unsyncs, resyncs, resync_entries, resync_protects;  /* out-of-sync tables */
	uint64_t window_switches, window_hits, window_creates, window_evictions;
	uint64_t window_retires, window_reuses, regions_kept;   /* retired windows (smmu.c) */
	uint64_t regions_retargeted;      /* ... and regions moved to the new directory's table */
	uint64_t pde_changes;             /* regions whose directory entry changed (region_check) */
	uint64_t budget_recounts, budget_evictions, map_calls, lookup_clears;
	uint64_t map_maps, map_unmaps, map_protects;   /* map_calls by kind */
	uint64_t unmaps_batched;          /* page unmaps and lowerings that joined a run */
	uint64_t holes_deferred;              /* 4 MiB-region hole changes left for later */
	uint64_t pages_kept, pages_lowered;   /* a changed entry left its page mapped (smmu_trace.c) */
	uint64_t pages_remapped;          /* ... or mapped its new frame at once (remap_page) */
	uint64_t eager_builds, eager_pages, pv_entry_writes, pv_rechecks, pv_releases;  /* PV */
};
extern struct smmu_stats smmu_stats;

/* Set up for guest vm.  flat: the monitor's window of guest RAM used while paging is off
 * (monitor/memory.c sets it up; the shadow MMU only protects pages in it).  pv: the guest
 * is paravirtual (pv/abi.h), so its windows mirror their page directories eagerly and no
 * page table is traced.  Both are handed in so that shadow-mmu/ calls nothing in monitor/. */
int smmu_init(struct vm *vm, uint8_t *flat, bool pv);
/* Select the window for the vCPU's current CR0.PG/CR3/CPL; returns its base. */
/* Does the current window's lookup table wait for drops (applied by smmu_lookup)? */
bool smmu_lookup_pending(void);
uint8_t *smmu_select(struct vcpu *c);
/* The current window's base (for fault fix-ups of host pointers). */
uint8_t *smmu_base(void);
/* The current window's lookup table, valid for blocks of (mode, cs_base). */
struct cc_lookup *smmu_lookup(uint32_t mode, uint32_t cs_base);
/* A host fault at addr (write: the access was a store) while translated code ran. */
enum smf smmu_fault(struct vcpu *c, uintptr_t addr, bool write, uint32_t *info);
/* The guest handled a user-mode #PF at la and returns to the faulting instruction: map la
 * in the user view's window now if the guest tables allow it (smmu_fill.c). */
void smmu_prefault(struct vcpu *c, gla_t la);
/* The translator is about to use code at la (current window): map it, so that the window
 * depends on (traces) the mapping and a change of it drops the window's lookup entries.
 * True if the page is now mapped in the window (or the window does not page). */
bool smmu_note_code(struct vcpu *c, gla_t la);
/* Write-protect (or release) every mapping of a guest frame: translations live on it. */
void smmu_protect_code(gpa_t frame, bool protect);
/* The monitor wrote guest RAM [gpa, gpa+len): forget shadow entries derived from it.
 * True if the write reached a traced page table. */
bool smmu_ram_written(gpa_t gpa, uint32_t len);
/* PV: between smmu_defer(true) and smmu_defer(false) (one mmu_update), monitor writes to
 * page tables are collected and applied to the windows at the end, in as few host calls
 * as the runs allow. */
void smmu_defer(bool on);
/* PV: the guest released page directory pd (PV_MMU_RELEASE): its frame may be reused. */
void smmu_release_dir(gpa_t pd);
/* INVLPG of la (all false), CR3 write (all false, la 0), paging-mode change (all true).
 * Out-of-sync page tables are resynced here: at INVLPG the one that maps la in the
 * current directory's windows, at a CR3 write (and, more than it needs, at an INVLPG of
 * page 0, which looks the same here) every one the new directory's windows map through. */
void smmu_tlb_flush(struct vcpu *c, gla_t la, bool all);
/* Level-1 page tables may go out of sync (the default, never for a PV guest); off: every
 * page-table store is traced (and whatever is out of sync now is resynced and traced). */
void smmu_set_unsync(bool on);
/* A traced store at linear la (last SMF_TRACED) is about to be single-stepped: let the
 * current window write the page; smmu_trace_end() protects it again and applies the
 * difference between `before` (the frame's old contents) and RAM. */
void smmu_trace_begin(gla_t la);
void smmu_trace_end(gla_t la, gpa_t frame, const uint32_t *before);
/* The linear address of the last SMF_TRACED fault. */
gla_t smmu_last_fault(void);
/* Tests (the fuzz target's consistency check): the current paging window's mapping of
 * linear page la, its guest frame and whether the host lets the guest write it; false if
 * the page is not mapped there or the current window does not page. */
bool smmu_probe(gla_t la, gpa_t *frame, bool *rw);
/* Host mappings the shadow MMU may use (vm.max_map_count minus a margin). */
uint64_t smmu_budget(void);
void smmu_set_budget(uint64_t vmas);
#endif
