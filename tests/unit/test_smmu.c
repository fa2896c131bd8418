/*
 * test_smmu.c - the shadow MMU (shadow-mmu/) through its public smmu_* API, for a guest
 * that is not paravirtual (the eager PV windows are tested in test_pv.c).
 *
 * Each test builds guest page tables by hand in RAM and drives the shadow MMU the way the
 * run loop does: smmu_select for CR0/CR3/CPL, smmu_fault for a host fault at window + A
 * (called directly: no translated code runs), smmu_trace_begin/end around a traced store,
 * smmu_ram_written for monitor writes, smmu_protect_code for the code cache.  What a
 * window maps is probed with system calls through a pipe (write() from an unreadable
 * address, read() into an unwritable one fail with EFAULT), never by touching it.
 *
 * Covered: window selection (one window per directory and view, the same one back for
 * the same CR3, the flat window without paging, the user view's protection); a fill with
 * prefetch (present, accessed neighbours mapped, clean pages read-only until a write
 * sets D, #PF with CR2 and the error code; the prefault at the IRET after a user #PF);
 * tracing (a store to a page table drops the
 * shadow entry, the next access maps the new frame; A/D-only changes keep it); the
 * budget (least recently used window emptied first, no failure); the reverse map
 * (protecting a code frame changes every mapping of it, in every window, 4 MiB pages
 * included, and releasing it undoes that); page tables out of sync (a table new to the
 * windows starts out of sync, unprotected; the first store to a traced one makes the table
 * writable with no exit; a downgrade not flushed may
 * still be used, flushed by INVLPG or a CR3 reload it may not; a new frame is seen after
 * the flush; D cleared and flushed makes the page read-only until a store sets D again;
 * a table that is also code is traced; two directories sharing a table, including an
 * entry changed back and forth between flushes; a quiet table traced again; a table
 * whose last use went is forgotten); retired windows (a directory that is gone retires its
 * window when a new directory wants one; the new directory gets it keeping only the
 * regions whose entry is the same, the tables they use resynced); page directories (never
 * traced: an entry changed is seen at a fill in its region, an INVLPG in it, a CR3 write,
 * with A/D set keeping the region and A cleared dropping it; a table of a directory that
 * is gone loses that use before it is compared, and the window retires).
 *
 * Not covered here: adaptive retranslation and the signal path (smmu_fault is called
 * directly, as run.c's handler would), window recycling past SMMU_WINDOWS directories,
 * and unshadowing after SMMU_FLOOD writes (needs the run loop's single-step).
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "monitor/memory.h"
#include "monitor/x86.h"
#include "emulation/emu.h"
#include "shadow-mmu/smmu.h"
#include "translator/xl.h"
#include "monitor/mon_int.h"

/* Guest memory (16 MiB).  PD1 and PD2 share the page table PT for linear 0-4 MiB; PD1
 * also maps all RAM at KB with supervisor 4 MiB pages, like the guest kernel. */
#define RAM      (16u << 20)
#define PD1      0x100000u
#define PD2      0x101000u
#define PT       0x102000u
#define PDA      0x104000u        /* budget test: three directories sharing PT3 */
#define PDB      0x105000u
#define PDC      0x106000u
#define PT3      0x107000u
#define KB       0xC0000000u
#define UWAD     (PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)

static struct vm vm;
static int probe[2];

static void put32(uint32_t gpa, uint32_t v) { memcpy(vm.ram + gpa, &v, 4); }
static uint32_t get32(uint32_t gpa) { uint32_t v; memcpy(&v, vm.ram + gpa, 4); return v; }

static void setup(void)
{
	char err[256];
	memset(&vm, 0, sizeof(vm));
	ck_assert_msg(vm_mem_init(&vm, RAM, err, sizeof(err)) == 0, "%s", err);
	vm.cpu.vm = &vm;
	emu_reset_protected(&vm.cpu, 0, 0);
	ck_assert_int_eq(smmu_init(&vm, vm_window(), false), 0);
	ck_assert_int_eq(pipe(probe), 0);
	/* PT: the pages the fill tests use */
	put32(PT + 0 * 4, 0x200000 | UWAD);                             /* user, dirty */
	put32(PT + 1 * 4, 0x201000 | PTE_P | PTE_W | PTE_U | PTE_A);    /* clean */
	put32(PT + 2 * 4, 0x202000 | PTE_P | PTE_U | PTE_A);            /* read-only */
	put32(PT + 3 * 4, 0x203000 | PTE_P | PTE_W | PTE_A | PTE_D);    /* supervisor */
	put32(PT + 4 * 4, 0x204000 | UWAD);
	put32(PT + 5 * 4, 0x205000 | PTE_P | PTE_W | PTE_U);            /* A clear */
	put32(PT + 17 * 4, 0x211000 | UWAD);                            /* another group */
	put32(PD1, PT | PTE_P | PTE_W | PTE_U);
	put32(PD2, PT | PTE_P | PTE_W | PTE_U);
	for (uint32_t r = 0; r < RAM >> 22; r++)
		put32(PD1 + (768 + r) * 4, (r << 22) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS);
	vm.cpu.cr4 = CR4_PSE;
	vm.cpu.cr0 |= CR0_PG | CR0_WP;
	vm.cpu.cr3 = PD1;
}

static void teardown(void)
{
	close(probe[0]);
	close(probe[1]);
}

static bool readable(const uint8_t *p)
{
	if (write(probe[1], p, 1) != 1)
		return false;
	char c;
	ck_assert_int_eq(read(probe[0], &c, 1), 1);
	return true;
}

static bool writable(uint8_t *p)
{
	char c = 0;
	ck_assert_int_eq(write(probe[1], &c, 1), 1);
	if (read(probe[0], p, 1) == 1)
		return true;
	ck_assert_int_eq(read(probe[0], &c, 1), 1);
	return false;
}

static uint8_t *sel(uint32_t cr3, int cpl)
{
	vm.cpu.cr3 = cr3;
	vm.cpu.cpl = cpl;
	return smmu_select(&vm.cpu);
}

/* Window s maps la now (no fault needed): readable through the host MMU. */
static uint32_t peek(uint8_t *s, gla_t la)
{
	ck_assert(readable(s + la));
	return *(volatile uint32_t *)(s + la);
}

/* p is mapped and shows v: a window that still shows a frame the tables no longer map
 * after a flush is the bug; showing the new frame or nothing is right. */
static bool shows(const uint8_t *p, uint32_t v)
{
	return readable(p) && *(const volatile uint32_t *)p == v;
}

/* A host fault at window base + la, as the run loop's handler reports it. */
static enum smf fault(uint8_t *base, gla_t la, bool wr, uint32_t *info)
{
	*info = 0xDEAD;
	return smmu_fault(&vm.cpu, (uintptr_t)base + la, wr, info);
}

START_TEST(window_per_directory_and_view)
{
	uint64_t creates = smmu_stats.window_creates;
	uint8_t *s1 = sel(PD1, 0), *s2 = sel(PD2, 0), *u1 = sel(PD1, 3);
	ck_assert_ptr_ne(s1, s2);
	ck_assert_ptr_ne(s1, u1);
	ck_assert_ptr_ne(s2, u1);
	ck_assert_uint_eq(smmu_stats.window_creates - creates, 3);
	/* the same directory and view: the same window, nothing created */
	ck_assert_ptr_eq(sel(PD1, 0), s1);
	ck_assert_ptr_eq(sel(PD2, 0), s2);
	ck_assert_ptr_eq(sel(PD1, 3), u1);
	ck_assert_ptr_eq(sel(PD1 | 0x18, 3), u1);       /* CR3's low bits are not the frame */
	ck_assert_uint_eq(smmu_stats.window_creates - creates, 3);
	ck_assert_ptr_eq(smmu_base(), u1);
	/* both views of the current directory, for inline CPL switches */
	ck_assert_uint_eq(vm.cpu.win_view[0], (uintptr_t)s1);
	ck_assert_uint_eq(vm.cpu.win_view[1], (uintptr_t)u1);
	/* no paging: the flat window, all RAM at its physical address */
	vm.cpu.cr0 &= ~CR0_PG;
	ck_assert_ptr_eq(smmu_select(&vm.cpu), vm_window());
}
END_TEST

START_TEST(user_view_keeps_supervisor_pages_out)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0), *u = sel(PD1, 3);
	ck_assert_int_eq(fault(u, 0x3000, false, &info), SMF_PF);
	ck_assert_uint_eq(info, PFEC_P | PFEC_U);
	ck_assert_uint_eq(vm.cpu.cr2, 0x3000);
	ck_assert(!readable(u + 0x3000));
	ck_assert_int_eq(fault(u, 0x2000, true, &info), SMF_PF);      /* read-only for CPL 3 */
	ck_assert_uint_eq(info, PFEC_P | PFEC_W | PFEC_U);
	ck_assert_int_eq(fault(u, KB, false, &info), SMF_PF);          /* supervisor 4 MiB */
	ck_assert_uint_eq(info, PFEC_P | PFEC_U);
	ck_assert_uint_eq(vm.cpu.cr2, KB);
	sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x3000, false, &info), SMF_RETRY);
	ck_assert(readable(s + 0x3000) && writable(s + 0x3000));
	ck_assert(!readable(u + 0x3000));                             /* the user view still not */
}
END_TEST

START_TEST(fill_prefetches_neighbours)
{
	uint32_t info;
	uint64_t pre = smmu_stats.prefetched;
	uint8_t *s = sel(PD1, 0);
	put32(0x200010, 0x11223344);
	ck_assert(!readable(s));
	ck_assert_int_eq(fault(s, 0x1000, false, &info), SMF_RETRY);
	/* the faulting page and its present, accessed neighbours in the group */
	ck_assert(readable(s + 0x1000));
	ck_assert(readable(s + 0x0000) && readable(s + 0x2000) && readable(s + 0x3000));
	ck_assert(readable(s + 0x4000));
	ck_assert_uint_eq(smmu_stats.prefetched - pre, 4);
	ck_assert(!readable(s + 0x5000));        /* A clear: left to a fill that sets it */
	ck_assert(!readable(s + 0x6000));        /* not present */
	ck_assert(!readable(s + 0x11000));       /* outside the aligned group */
	ck_assert_uint_eq(*(volatile uint32_t *)(s + 0x10), 0x11223344);
	/* clean and read-only pages are mapped read-only; dirty writable ones writable */
	ck_assert(writable(s + 0x0000) && writable(s + 0x4000));
	ck_assert(!writable(s + 0x1000) && !writable(s + 0x2000));
	/* the first store to the clean page sets D and maps it writable */
	ck_assert_int_eq(fault(s, 0x1000, true, &info), SMF_RETRY);
	ck_assert(get32(PT + 4) & PTE_D);
	ck_assert(writable(s + 0x1000));
	/* a page with A clear is filled on its own fault, which sets A */
	ck_assert_int_eq(fault(s, 0x5000, false, &info), SMF_RETRY);
	ck_assert(get32(PT + 5 * 4) & PTE_A);
	ck_assert(readable(s + 0x5000));
}
END_TEST

START_TEST(not_present_is_a_guest_page_fault)
{
	uint32_t info;
	uint64_t pf = smmu_stats.pf_injected;
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x6123, false, &info), SMF_PF);
	ck_assert_uint_eq(info, 0);
	ck_assert_uint_eq(vm.cpu.cr2, 0x6123);
	ck_assert_int_eq(fault(s, 0x400000 + 0x10, true, &info), SMF_PF);   /* no table */
	ck_assert_uint_eq(info, PFEC_W);
	ck_assert_uint_eq(vm.cpu.cr2, 0x400010);
	/* CR0.WP: a supervisor store to a read-only page faults too */
	ck_assert_int_eq(fault(s, 0x2000, true, &info), SMF_PF);
	ck_assert_uint_eq(info, PFEC_P | PFEC_W);
	ck_assert_uint_eq(smmu_stats.pf_injected - pf, 3);
	ck_assert(!readable(s + 0x6000) && !readable(s + 0x400000));
}
END_TEST

/* The IRET after a user #PF maps the page when the guest tables allow it (smmu_prefault,
 * through monitor/signals.c's vmm_pf_retry): A is set, D never, so a clean page is mapped
 * read-only; nothing for a page still not present or not the user's, nor for an IRET that
 * does not go back to the faulting EIP in the same address space. */
START_TEST(prefault_maps_what_the_tables_allow)
{
	uint8_t *u = sel(PD1, 3);
	ck_assert_ptr_eq((void *)(uintptr_t)vm.cpu.win_view[1], u);
	put32(PT + 20 * 4, 0x214000 | PTE_P | PTE_W);                    /* supervisor */
	put32(PT + 24 * 4, 0x218000 | PTE_P | PTE_W | PTE_U);            /* clean, A clear */
	put32(PT + 28 * 4, 0x21C000 | UWAD);
	uint64_t n = smmu_stats.prefaults;
	smmu_prefault(&vm.cpu, 0x6000);                                  /* not present */
	smmu_prefault(&vm.cpu, 0x14000);
	ck_assert(!readable(u + 0x6000) && !readable(u + 0x14000));
	ck_assert_uint_eq(smmu_stats.prefaults - n, 0);
	smmu_prefault(&vm.cpu, 0x18000);
	ck_assert_uint_eq(get32(PT + 24 * 4), 0x218000 | PTE_P | PTE_W | PTE_U | PTE_A);
	ck_assert(readable(u + 0x18000) && !writable(u + 0x18000));
	smmu_prefault(&vm.cpu, 0x1C000);
	ck_assert(writable(u + 0x1C000));
	ck_assert_uint_eq(smmu_stats.prefaults - n, 2);
	/* the hint: noted for a #PF from user mode only, used only for the IRET back to the
	 * faulting instruction, once */
	put32(PT + 29 * 4, 0x21D000 | UWAD);
	vm.cpu.pf_retry = 0;
	vm.cpu.exc_vector = EXC_PF;
	vm.cpu.cr2 = 0x1D000;
	vm.cpu.eip = 0x1234;
	vm.cpu.cpl = 0;
	vm_pf_note(&vm.cpu);
	ck_assert(!vm.cpu.pf_retry);
	vm.cpu.cpl = 3;
	vm.cpu.exc_vector = EXC_GP;
	vm_pf_note(&vm.cpu);
	ck_assert(!vm.cpu.pf_retry);
	vm.cpu.exc_vector = EXC_PF;
	vm_pf_note(&vm.cpu);
	ck_assert(vm.cpu.pf_retry && vm.cpu.pf_retry_la == 0x1D000 && vm.cpu.pf_retry_eip == 0x1234 &&
		  vm.cpu.pf_retry_cr3 == PD1);
	vmm_pf_retry(&vm.cpu, 0x1238);
	ck_assert(!vm.cpu.pf_retry && !readable(u + 0x1D000));
	vm.cpu.pf_retry = 1;
	vm.cpu.pf_retry_cr3 = PD2;
	vmm_pf_retry(&vm.cpu, 0x1234);
	ck_assert(!readable(u + 0x1D000));
	vm.cpu.pf_retry = 1;
	vm.cpu.pf_retry_cr3 = PD1;
	vmm_pf_retry(&vm.cpu, 0x1234);
	ck_assert(writable(u + 0x1D000));
}
END_TEST

START_TEST(traced_pte_store_refills_with_new_frame)
{
	uint32_t info, before[1024];
	smmu_set_unsync(false);                  /* every page-table store traced */
	uint8_t *s = sel(PD1, 0);
	put32(0x200000, 0xAAAA0000);
	put32(0x240000, 0xBBBB0000);
	ck_assert_int_eq(fault(s, 0x0000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)s, 0xAAAA0000);
	/* PT is traced: its kernel mapping is read-only (a hole in the 4 MiB page) */
	ck_assert_int_eq(fault(s, KB + PT, false, &info), SMF_RETRY);
	ck_assert(readable(s + KB + PT) && !writable(s + KB + PT));
	ck_assert(writable(s + KB + PT + 0x1000));      /* only the table's page is held back */
	/* and a store to it exits with the frame */
	ck_assert_int_eq(fault(s, KB + PT, true, &info), SMF_TRACED);
	ck_assert_uint_eq(info, PT);
	ck_assert_uint_eq(smmu_last_fault(), KB + PT);
	/* the run loop: snapshot, let the store through, single-step it, apply */
	uint64_t inv = smmu_stats.trace_invalidations;
	memcpy(before, vm.ram + PT, sizeof(before));
	smmu_trace_begin(KB + PT);
	*(volatile uint32_t *)(s + KB + PT) = 0x240000 | UWAD;          /* PTE 0: new frame */
	*(volatile uint32_t *)(s + KB + PT + 4) = get32(PT + 4) | PTE_D; /* PTE 1: only D */
	smmu_trace_end(KB + PT, PT, before);
	ck_assert(readable(s + KB + PT) && !writable(s + KB + PT));     /* traced again */
	ck_assert_uint_eq(smmu_stats.trace_invalidations - inv, 1);
	ck_assert_uint_eq(peek(s, 0), 0xBBBB0000);  /* the changed entry maps the new frame */
	ck_assert(readable(s + 0x1000));         /* setting D changes no mapping */
	ck_assert(readable(s + 0x2000));
	ck_assert_int_eq(fault(s, 0x0000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)s, 0xBBBB0000);
}
END_TEST

START_TEST(monitor_write_reaches_every_window_of_the_table)
{
	uint32_t info;
	smmu_set_unsync(false);                  /* PT traced (out of sync: no drop till a flush) */
	uint8_t *s1 = sel(PD1, 0), *s2 = sel(PD2, 0);
	ck_assert_int_eq(fault(s2, 0x0000, false, &info), SMF_RETRY);
	sel(PD1, 0);
	ck_assert_int_eq(fault(s1, 0x0000, false, &info), SMF_RETRY);
	ck_assert(readable(s1) && readable(s2));
	/* an emulated instruction rewrote PTE 4 and left PTE 0 alone */
	put32(PT + 4 * 4, 0);
	smmu_ram_written(PT + 4 * 4, 4);
	ck_assert(!readable(s1 + 0x4000) && !readable(s2 + 0x4000));
	ck_assert(readable(s1) && readable(s2));
	ck_assert_int_eq(fault(s1, 0x4000, false, &info), SMF_PF);
	ck_assert_uint_eq(info, 0);
}
END_TEST

START_TEST(code_protection_changes_every_mapping)
{
	const gpa_t F = 0x200000;
	uint32_t info;
	uint8_t *s1 = sel(PD1, 0), *s2 = sel(PD2, 0);
	ck_assert_int_eq(fault(s2, 0x0000, false, &info), SMF_RETRY);
	sel(PD1, 0);
	ck_assert_int_eq(fault(s1, 0x0000, false, &info), SMF_RETRY);
	ck_assert_int_eq(fault(s1, KB + F, false, &info), SMF_RETRY);   /* 4 MiB page */
	ck_assert(writable(s1) && writable(s2) && writable(s1 + KB + F));
	uint8_t *flat = vm_window();
	smmu_protect_code(F, true);
	/* every mapping of F, in every window, is read-only; its neighbours are not */
	ck_assert(readable(s1) && !writable(s1));
	ck_assert(readable(s2) && !writable(s2));
	ck_assert(readable(s1 + KB + F) && !writable(s1 + KB + F));
	ck_assert(writable(s1 + KB + F + 0x1000) && writable(s1 + 0x4000));
	/* a store to it is self-modifying code, reported with the frame */
	sel(PD2, 0);
	ck_assert_int_eq(fault(s2, 0x0010, true, &info), SMF_SMC);
	ck_assert_uint_eq(info, F);
	/* released: writable again everywhere the guest allows it - PD1's 4 MiB page (a
	 * window that cannot run while PD2 is current) once PD1 is current again */
	uint64_t deferred = smmu_stats.holes_deferred;
	smmu_protect_code(F, false);
	ck_assert(writable(s1) && writable(s2));
	ck_assert(!writable(s1 + KB + F));
	ck_assert_uint_eq(smmu_stats.holes_deferred - deferred, 1);
	ck_assert_ptr_eq(sel(PD1, 0), s1);
	ck_assert(writable(s1 + KB + F));
	/* protected and released while PD1 is not current: nothing left to do for it */
	sel(PD2, 0);
	smmu_protect_code(F, true);
	smmu_protect_code(F, false);
	sel(PD1, 0);
	ck_assert(writable(s1 + KB + F) && writable(s1 + KB + F + 0x1000));
	smmu_protect_code(F, true);
	sel(PD2, 0);
	ck_assert(!writable(s1 + KB + F));               /* (made while PD1 was current) */
	smmu_protect_code(F, false);
	sel(PD1, 0);
	ck_assert(!writable(s1 + 0x2000));       /* the guest's own read-only page stays so */
	/* the flat window runs nothing while paging is on: its protection follows when
	 * paging goes off, for every frame whose state changed meanwhile */
	const gpa_t G = 0x300000;
	smmu_protect_code(G, true);
	smmu_protect_code(F, true);
	smmu_protect_code(F, false);
	ck_assert(writable(flat + G));
	vm.cpu.cr0 &= ~CR0_PG;
	ck_assert_ptr_eq(smmu_select(&vm.cpu), flat);
	ck_assert(readable(flat + G) && !writable(flat + G));
	ck_assert(writable(flat + F) && writable(flat + G + 0x1000) && writable(flat + G - 0x1000));
	/* and with paging off it changes at once */
	smmu_protect_code(F, true);
	ck_assert(!writable(flat + F));
	ck_assert_int_eq(smmu_fault(&vm.cpu, (uintptr_t)flat + F, true, &info), SMF_SMC);
	smmu_protect_code(F, false);
	smmu_protect_code(G, false);
	ck_assert(writable(flat + F) && writable(flat + G));
}
END_TEST

/* Host mappings of this process, counted without allocating. */
static uint64_t maps_now(void)
{
	static char buf[65536];
	uint64_t n = 0;
	int fd = open("/proc/self/maps", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	for (ssize_t k; (k = read(fd, buf, sizeof(buf))) > 0;)
		for (ssize_t i = 0; i < k; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

/* Eight scattered pages (one host mapping each) in the window of pd. */
static uint8_t *fill_scattered(gpa_t pd)
{
	uint32_t info;
	uint8_t *b = sel(pd, 0);
	for (uint32_t k = 0; k < 8; k++) {
		ck_assert_int_eq(fault(b, k * 16 * 4096, false, &info), SMF_RETRY);
		ck_assert(readable(b + k * 16 * 4096));
	}
	return b;
}

START_TEST(budget_evicts_least_recently_used)
{
	uint32_t info;
	for (uint32_t k = 0; k <= 8; k++)
		put32(PT3 + k * 16 * 4, (0x300000 + k * 0x2000) | UWAD);
	put32(PDA, PT3 | PTE_P | PTE_W | PTE_U);
	put32(PDB, PT3 | PTE_P | PTE_W | PTE_U);
	put32(PDC, PT3 | PTE_P | PTE_W | PTE_U);
	/*
	 * The budget counts an estimate and checks it against /proc/self/maps.  Give the
	 * estimate headroom over the real count: recount once while many mappings of our own
	 * exist, then drop them.
	 */
	uint64_t n0 = maps_now();
	size_t junk_pages = 2 * (n0 / 2 + 256);
	uint8_t *junk = mmap(NULL, junk_pages * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(junk, MAP_FAILED);
	for (size_t i = 0; i < junk_pages; i += 2)
		ck_assert_int_eq(mprotect(junk + i * 4096, 4096, PROT_NONE), 0);
	uint64_t saved = smmu_budget();
	smmu_set_budget(0);
	uint8_t *a = sel(PDA, 0);
	ck_assert_int_eq(fault(a, 0, false, &info), SMF_RETRY);         /* recounts, then fills */
	smmu_set_budget(saved);
	ck_assert_int_eq(munmap(junk, junk_pages * 4096), 0);
	/* three windows created in the order A, B, C, then used in the order B, A, C (so
	 * that the least recently used one is neither the first nor the last created) */
	ck_assert_ptr_eq(fill_scattered(PDA), a);
	uint8_t *b = fill_scattered(PDB), *c = fill_scattered(PDC);
	ck_assert_ptr_eq(sel(PDA, 0), a);
	ck_assert_ptr_eq(sel(PDC, 0), c);
	/* a budget that emptying one window (8 mappings: 16 VMAs) gets under */
	uint64_t n1 = maps_now(), lim = n1 * 8 / 7 - 16;
	while (lim * 7 / 8 < n1 - 6)
		lim++;
	smmu_set_budget(lim);
	uint64_t ev = smmu_stats.budget_evictions;
	ck_assert_int_eq(fault(c, 8 * 16 * 4096, false, &info), SMF_RETRY);
	ck_assert_uint_eq(smmu_stats.budget_evictions - ev, 1);
	for (uint32_t k = 0; k < 8; k++) {
		ck_assert(!readable(b + k * 16 * 4096));            /* B, used longest ago: emptied */
		ck_assert(readable(a + k * 16 * 4096));             /* A and C kept */
		ck_assert(readable(c + k * 16 * 4096));
	}
	ck_assert(readable(c + 8 * 16 * 4096));
	/* the emptied directory just fills again */
	smmu_set_budget(saved);
	uint8_t *b2 = sel(PDB, 0);
	ck_assert_int_eq(fault(b2, 16 * 4096, false, &info), SMF_RETRY);
	ck_assert(readable(b2 + 16 * 4096));
}
END_TEST

START_TEST(budget_keeps_the_current_window)
{
	uint32_t info;
	uint8_t *s2 = sel(PD2, 0);
	ck_assert_int_eq(fault(s2, 0x0000, false, &info), SMF_RETRY);
	uint8_t *s1 = sel(PD1, 0);
	ck_assert_int_eq(fault(s1, 0x0000, false, &info), SMF_RETRY);
	uint64_t ev = smmu_stats.budget_evictions;
	smmu_set_budget(1);                       /* nothing fits: everything goes */
	ck_assert_int_eq(fault(s1, 0x11000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(smmu_stats.budget_evictions - ev, 2);
	ck_assert(!readable(s2) && !readable(s1));
	ck_assert(readable(s1 + 0x11000));        /* the fault itself was still served */
	ck_assert_ptr_eq(sel(PD1, 0), s1);        /* and the current window kept its identity */
}
END_TEST

/* ---- page tables out of sync (smmu_sync.c) ---------------------------------------------- */

/* The guest's MOV CR3 to cr3 / INVLPG of la, as the emulator reports them. */
static uint8_t *mov_cr3(uint32_t cr3)
{
	vm.cpu.cr3 = cr3;
	vm.cpu.cpl = 0;
	smmu_tlb_flush(&vm.cpu, 0, false);
	return smmu_select(&vm.cpu);
}
static void invlpg(gla_t la) { smmu_tlb_flush(&vm.cpu, la, false); }

/* A guest store of v to entry idx of PT through PD1's kernel mapping (window s), taking
 * the faults the host would deliver first. */
static void pt_store(uint8_t *s, uint32_t idx, uint32_t v)
{
	uint32_t info;
	uint8_t *p = s + KB + PT + idx * 4;
	for (int k = 0; k < 3 && !writable(p); k++)
		ck_assert_int_eq(fault(s, KB + PT + idx * 4, true, &info), SMF_RETRY);
	ck_assert(writable(p));
	memcpy(p, &v, 4);
}

/* A table no window used before starts out of sync at its first fill: no protection, its
 * stores run with no fault, and the windows see them at the flushes (INVLPG, CR3). */
START_TEST(unsync_new_table_starts_out_of_sync)
{
	uint32_t info;
	uint64_t un = smmu_stats.unsyncs, tr = smmu_stats.traced_writes;
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(smmu_stats.unsyncs - un, 1);
	ck_assert_int_eq(fault(s, KB + PT, false, &info), SMF_RETRY);
	ck_assert(writable(s + KB + PT));
	uint32_t v = 0x204000 | PTE_P | PTE_U | PTE_A;                  /* read-only now */
	memcpy(s + KB + PT + 4 * 4, &v, 4);
	ck_assert(writable(s + 0x4000));                 /* no flush yet: a TLB may keep it */
	invlpg(0x4000);
	ck_assert(readable(s + 0x4000) && !writable(s + 0x4000));
	memcpy(s + KB + PT + 4 * 4, &(uint32_t){0}, 4);
	s = mov_cr3(PD1);
	ck_assert(!readable(s + 0x4000));
	ck_assert_uint_eq(smmu_stats.traced_writes - tr, 0);
	/* the directory is never traced (its entries are checked at the flushes) */
	ck_assert_int_eq(fault(s, KB + PD1, false, &info), SMF_RETRY);
	ck_assert(writable(s + KB + PD1));
}
END_TEST

START_TEST(unsync_first_store_makes_the_table_writable)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x0000, false, &info), SMF_RETRY);
	ck_assert_int_eq(fault(s, KB + PT, false, &info), SMF_RETRY);
	for (int k = 0; k < 64 && writable(s + KB + PT); k++)
		s = mov_cr3(PD1);                        /* quiet: traced again */
	uint64_t un = smmu_stats.unsyncs, tr = smmu_stats.traced_writes, pr = smmu_stats.map_protects;
	ck_assert(readable(s + KB + PT) && !writable(s + KB + PT));     /* traced while in sync */
	ck_assert_int_eq(fault(s, KB + PT, true, &info), SMF_RETRY);    /* no exit: re-run */
	/* one host call: the release lifts the hole, the fill of the 4 MiB page adds none */
	ck_assert_uint_eq(smmu_stats.map_protects - pr, 1);
	ck_assert(writable(s + KB + PT));
	ck_assert_uint_eq(smmu_stats.unsyncs - un, 1);
	ck_assert_uint_eq(smmu_stats.traced_writes - tr, 0);
	/* its page directory is not traced either: a store to PD1 runs */
	ck_assert_int_eq(fault(s, KB + PD1, true, &info), SMF_RETRY);
	ck_assert(writable(s + KB + PD1));
	ck_assert_uint_eq(smmu_stats.traced_writes - tr, 0);
	/* a monitor write to the out-of-sync table waits for the flush, as a store does */
	uint64_t mw = smmu_stats.traced_monitor_writes;
	put32(PT + 4 * 4, 0);
	smmu_ram_written(PT + 4 * 4, 4);
	ck_assert_uint_eq(smmu_stats.traced_monitor_writes - mw, 0);
	ck_assert(readable(s + 0x4000));                 /* stale until the flush: allowed */
	invlpg(0x4000);
	ck_assert(!readable(s + 0x4000));
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_PF);
	ck_assert_uint_eq(info, 0);
}
END_TEST

START_TEST(unsync_downgrade_not_flushed_stays_usable)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0);
	put32(0x204010, 0x4444);                 /* (writable() stores to the first byte) */
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(s + 0x4000));
	/* read-only now, no flush: the old (writable) translation may still be used, as a
	 * TLB may keep it; this shadow MMU keeps it until the flush */
	pt_store(s, 4, 0x204000 | PTE_P | PTE_U | PTE_A | PTE_D);
	ck_assert(readable(s + 0x4000) && writable(s + 0x4000));
	ck_assert_uint_eq(*(volatile uint32_t *)(s + 0x4010), 0x4444);
	/* not present, no flush: the same */
	pt_store(s, 4, 0);
	ck_assert(readable(s + 0x4000));
}
END_TEST

START_TEST(unsync_downgrade_then_invlpg)
{
	uint32_t info;
	uint64_t re = smmu_stats.resync_entries;
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(s + 0x4000) && readable(s + 0x0000));
	pt_store(s, 4, 0x204000 | PTE_P | PTE_U | PTE_A | PTE_D);
	invlpg(0x4000);
	ck_assert_uint_eq(smmu_stats.resync_entries - re, 1);
	ck_assert(!writable(s + 0x4000));
	/* the store faults to the guest; a load maps the page read-only */
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_PF);
	ck_assert_uint_eq(info, PFEC_P | PFEC_W);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	ck_assert(readable(s + 0x4000) && !writable(s + 0x4000));
	ck_assert(readable(s + 0x0000) && writable(s + 0x0000));     /* unchanged entry kept */
	/* the table stays writable (out of sync) after the resync */
	ck_assert(writable(s + KB + PT));
}
END_TEST

START_TEST(unsync_downgrade_then_cr3_reload)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0), *u = sel(PD1, 3);
	ck_assert_int_eq(fault(u, 0x4000, true, &info), SMF_RETRY);
	s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(s + 0x4000) && writable(u + 0x4000));
	pt_store(s, 4, 0x204000 | PTE_P | PTE_A | PTE_D | PTE_W);       /* supervisor only */
	ck_assert(writable(u + 0x4000));                                  /* not flushed yet */
	ck_assert_ptr_eq(mov_cr3(PD1), s);                               /* the same window */
	/* both views of the directory are current: the user view faults to the guest; the
	 * supervisor view keeps the page, which the new entry still gives it */
	ck_assert(!readable(u + 0x4000) && readable(s + 0x4000) && writable(s + 0x4000));
	sel(PD1, 3);
	ck_assert_int_eq(fault(u, 0x4000, false, &info), SMF_PF);
	ck_assert_uint_eq(info, PFEC_P | PFEC_U);
	sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(s + 0x4000));
}
END_TEST

START_TEST(unsync_new_frame_seen_after_flush)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0);
	put32(0x204000, 0xAAAA);
	put32(0x240000, 0xBBBB);
	put32(0x241000, 0xCCCC);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)(s + 0x4000), 0xAAAA);
	pt_store(s, 4, 0x240000 | UWAD);
	invlpg(0x4000);
	/* another present, accessed frame: mapped in place at the flush (remap_page) */
	ck_assert_uint_eq(peek(s, 0x4000), 0xBBBB);
	/* and through a CR3 reload */
	pt_store(s, 4, 0x241000 | UWAD);
	ck_assert_uint_eq(*(volatile uint32_t *)(s + 0x4000), 0xBBBB);    /* stale: allowed */
	s = mov_cr3(PD1);
	ck_assert_uint_eq(peek(s, 0x4000), 0xCCCC);
	/* a not-present entry made present needs no flush: the fault reads the table */
	put32(0x206000, 0xDDDD);
	pt_store(s, 6, 0x206000 | UWAD);
	ck_assert_int_eq(fault(s, 0x6000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)(s + 0x6000), 0xDDDD);
}
END_TEST

START_TEST(unsync_code_lookup_follows_the_tables)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0);
	put32(0x204000, 0xAAAA);
	put32(0x240000, 0xBBBB);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	pt_store(s, 4, 0x240000 | UWAD);
	ck_assert_uint_eq(*(volatile uint32_t *)(s + 0x4000), 0xAAAA);  /* stale data: allowed */
	/* the translator fetches 0x4000 from the current tables (0x240000): the window must
	 * then map that frame, since its lookup entry lives only as long as the mapping */
	ck_assert(smmu_note_code(&vm.cpu, 0x4000));
	ck_assert_uint_eq(*(volatile uint32_t *)(s + 0x4000), 0xBBBB);
}
END_TEST

START_TEST(unsync_dirty_cleared_then_flushed)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(s + 0x4000));
	/* the guest clears D (and A), say to find out whether the page is written again */
	pt_store(s, 4, 0x204000 | PTE_P | PTE_W | PTE_U);
	ck_assert(writable(s + 0x4000));                 /* no flush: the TLB may write on */
	invlpg(0x4000);
	ck_assert(!readable(s + 0x4000) && !writable(s + 0x4000));
	/* a load sets A and maps it read-only: D stays clear */
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(get32(PT + 4 * 4), 0x204000 | PTE_P | PTE_W | PTE_U | PTE_A);
	ck_assert(readable(s + 0x4000) && !writable(s + 0x4000));
	/* the store sets D, and only then is the page writable */
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_RETRY);
	ck_assert(get32(PT + 4 * 4) & PTE_D);
	ck_assert(writable(s + 0x4000));
	/* the same through a CR3 reload, with the A/D bits the fills set in the snapshot's
	 * table (setting A or D is no change: the page stays) */
	s = mov_cr3(PD1);
	ck_assert(writable(s + 0x4000));
	pt_store(s, 4, 0x204000 | PTE_P | PTE_W | PTE_U | PTE_A);
	s = mov_cr3(PD1);
	/* D cleared, A kept: the page stays, read-only until a store sets D again */
	ck_assert(readable(s + 0x4000) && !writable(s + 0x4000));
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_RETRY);
	ck_assert(get32(PT + 4 * 4) & PTE_D);
	ck_assert(writable(s + 0x4000));
}

START_TEST(unsync_changed_entry_keeps_or_drops_the_page)
{
	uint32_t info;
	uint64_t kept = smmu_stats.pages_kept, low = smmu_stats.pages_lowered;
	uint8_t *s = sel(PD1, 0), *u = sel(PD1, 3);
	ck_assert_int_eq(fault(u, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(u + 0x4000));
	/* write-protected (a fork's copy-on-write): read-only in place, no fault to read */
	pt_store(s, 4, 0x204000 | PTE_P | PTE_U | PTE_A | PTE_D);
	invlpg(0x4000);
	ck_assert(readable(u + 0x4000) && !writable(u + 0x4000));
	ck_assert_uint_eq(smmu_stats.pages_lowered - low, 1);
	ck_assert_int_eq(fault(u, 0x4000, true, &info), SMF_PF);
	ck_assert_uint_eq(info, PFEC_P | PFEC_W | PFEC_U);
	/* writable again: the page stays read-only until the first store, which fills */
	pt_store(s, 4, 0x204000 | UWAD);
	invlpg(0x4000);
	ck_assert(readable(u + 0x4000) && !writable(u + 0x4000));
	ck_assert_uint_eq(smmu_stats.pages_kept - kept, 1);
	ck_assert_int_eq(fault(u, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(u + 0x4000));
	/* accessed bit cleared, not present, supervisor only: each drops the page */
	static const uint32_t drop[] = { 0x204000 | PTE_P | PTE_W | PTE_U | PTE_D, 0,
					 0x205000 | PTE_P | PTE_W | PTE_A | PTE_D };
	for (unsigned k = 0; k < 3; k++) {
		if (!readable(u + 0x4000))
			ck_assert_int_eq(fault(u, 0x4000, false, &info), SMF_RETRY);
		ck_assert(readable(u + 0x4000));
		pt_store(s, 4, drop[k]);
		mov_cr3(PD1);
		u = sel(PD1, 3);
		ck_assert_msg(!readable(u + 0x4000), "case %u", k);
		pt_store(s, 4, 0x204000 | UWAD);
	}
	ck_assert_uint_eq(smmu_stats.pages_remapped, 0);
}
END_TEST
END_TEST

START_TEST(unsync_table_that_is_code)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	/* code first: a store is self-modifying code, not an out-of-sync table */
	smmu_protect_code(PT, true);
	ck_assert_int_eq(fault(s, KB + PT, false, &info), SMF_RETRY);
	ck_assert(!writable(s + KB + PT));
	uint64_t un = smmu_stats.unsyncs;
	ck_assert_int_eq(fault(s, KB + PT, true, &info), SMF_SMC);
	ck_assert_uint_eq(info, PT);
	ck_assert_uint_eq(smmu_stats.unsyncs - un, 0);
	smmu_protect_code(PT, false);
	/* out of sync, then code: resynced at once and traced (and still read-only) */
	pt_store(s, 4, 0);
	ck_assert_uint_eq(smmu_stats.unsyncs - un, 1);
	ck_assert(readable(s + 0x4000));
	smmu_protect_code(PT, true);
	ck_assert(!readable(s + 0x4000));                /* the changed entry went */
	ck_assert(!writable(s + KB + PT));
	ck_assert_int_eq(fault(s, KB + PT, true, &info), SMF_SMC);
	smmu_protect_code(PT, false);
	ck_assert(!writable(s + KB + PT));               /* a traced table again */
}
END_TEST

START_TEST(unsync_table_shared_by_two_directories)
{
	uint32_t info;
	put32(0x204000, 0x4444);
	put32(0x240000, 0x5555);
	uint8_t *s2 = sel(PD2, 0);
	ck_assert_int_eq(fault(s2, 0x4000, false, &info), SMF_RETRY);
	uint8_t *s1 = mov_cr3(PD1);
	ck_assert_int_eq(fault(s1, 0x4000, false, &info), SMF_RETRY);
	/* PD1 changes the shared entry and flushes it: gone from both windows */
	pt_store(s1, 4, 0x240000 | UWAD);
	invlpg(0x4000);
	ck_assert(!shows(s1 + 0x4000, 0x4444) && !shows(s2 + 0x4000, 0x4444));
	/* PD1 changes it again without a flush (PD2 is not running: on hardware it would
	 * be flushed by the CR3 write that runs it) */
	ck_assert_int_eq(fault(s1, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)(s1 + 0x4000), 0x5555);
	pt_store(s1, 4, 0x204000 | UWAD);
	ck_assert_ptr_eq(mov_cr3(PD2), s2);
	ck_assert(!shows(s1 + 0x4000, 0x5555));          /* the resync reached both */
	ck_assert_int_eq(fault(s2, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)(s2 + 0x4000), 0x4444);
	/* a change back and forth: X in PD1's window, Y filled by PD2, X again, flush in PD2:
	 * PD2 must not keep Y (the fill of Y took it into the snapshot and dropped X) */
	pt_store(s1, 4, 0x240000 | UWAD);                          /* Y */
	invlpg(0x4000);
	ck_assert_int_eq(fault(s2, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)(s2 + 0x4000), 0x5555);
	s1 = mov_cr3(PD1);
	ck_assert_int_eq(fault(s1, 0x4000, false, &info), SMF_RETRY);
	pt_store(s1, 4, 0x204000 | UWAD);                          /* X, no flush */
	ck_assert_int_eq(fault(s1, 0x3000, false, &info), SMF_RETRY);  /* a neighbour: syncs 4 */
	ck_assert(!shows(s1 + 0x4000, 0x5555) && !shows(s2 + 0x4000, 0x5555));
	ck_assert_int_eq(fault(s1, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)(s1 + 0x4000), 0x4444);
	pt_store(s1, 4, 0x240000 | UWAD);                          /* Y, no flush */
	sel(PD2, 0);                                               /* no flush either */
	ck_assert_int_eq(fault(s2, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)(s2 + 0x4000), 0x5555);
	ck_assert(!shows(s1 + 0x4000, 0x4444));          /* the fill of Y dropped PD1's X */
	pt_store(s1, 4, 0x204000 | UWAD);                          /* X again */
	ck_assert_ptr_eq(mov_cr3(PD2), s2);
	ck_assert(!shows(s2 + 0x4000, 0x5555));
	ck_assert_int_eq(fault(s2, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(*(volatile uint32_t *)(s2 + 0x4000), 0x4444);
}
END_TEST

START_TEST(unsync_quiet_table_is_traced_again)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	pt_store(s, 4, get32(PT + 4 * 4));
	ck_assert(writable(s + KB + PT));
	uint64_t rp = smmu_stats.resync_protects;
	for (int k = 0; k < 64 && writable(s + KB + PT); k++)
		s = mov_cr3(PD1);
	ck_assert(!writable(s + KB + PT));
	ck_assert_uint_eq(smmu_stats.resync_protects - rp, 1);
	ck_assert(readable(s + 0x4000));                 /* nothing changed, nothing dropped */
	/* and the tracing path is back: a store goes out of sync again */
	uint64_t un = smmu_stats.unsyncs;
	ck_assert_int_eq(fault(s, KB + PT, true, &info), SMF_RETRY);
	ck_assert_uint_eq(smmu_stats.unsyncs - un, 1);
}
END_TEST

START_TEST(unsync_forgotten_with_its_last_use)
{
	uint32_t info;
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	pt_store(s, 4, 0);
	/* the directory entry goes: at the flush, the region and the table's use with it */
	put32(PD1, 0);
	smmu_ram_written(PD1, 4);
	ck_assert(readable(s + 0x4000));                 /* not flushed: a TLB may keep it */
	s = mov_cr3(PD1);
	ck_assert(!readable(s + 0x4000));
	/* a paging-mode change empties everything; the frame is ordinary memory */
	put32(PD1, PT | PTE_P | PTE_W | PTE_U);
	smmu_ram_written(PD1, 4);
	smmu_tlb_flush(&vm.cpu, 0, true);
	s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, KB + PT, false, &info), SMF_RETRY);
	ck_assert(writable(s + KB + PT));                /* no use: not protected */
	put32(PT + 4 * 4, 0x204000 | UWAD);
	uint64_t un = smmu_stats.unsyncs;
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);  /* a use: out of sync */
	ck_assert_uint_eq(smmu_stats.unsyncs - un, 1);
	ck_assert(writable(s + KB + PT));
	for (int k = 0; k < 64 && writable(s + KB + PT); k++)
		s = mov_cr3(PD1);                        /* and traced once quiet */
	ck_assert(!writable(s + KB + PT));
}
END_TEST

/*
 * An entry changed to another present, accessed frame (a copy-on-write break) maps the new
 * frame at the flush in every window that mapped the page, with the fill's rules: writable
 * only if dirty, read-only for a protected frame, dropped in a view that may not see it.
 * Before the flush the old frame may still be used; after it, never.
 */
START_TEST(changed_frame_is_mapped_at_the_flush)
{
	uint32_t info;
	put32(0x204000, 0x4444);
	put32(0x240000, 0x4040);
	put32(0x241000, 0x4141);
	uint8_t *s = sel(PD1, 0), *u = sel(PD1, 3);
	ck_assert_int_eq(fault(u, 0x4000, true, &info), SMF_RETRY);
	s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(u + 0x4000) && writable(s + 0x4000));
	put32(0x204000, 0x4444);                         /* (writable() stored a byte) */
	uint64_t rm = smmu_stats.pages_remapped, mu = smmu_stats.map_unmaps;
	pt_store(s, 4, 0x240000 | UWAD);
	uint64_t pf = smmu_stats.fills;
	ck_assert_uint_eq(peek(u, 0x4000), 0x4444);        /* not flushed: the old frame */
	invlpg(0x4000);
	ck_assert_uint_eq(smmu_stats.pages_remapped - rm, 2);
	ck_assert_uint_eq(smmu_stats.map_unmaps - mu, 0);
	ck_assert_uint_eq(peek(u, 0x4000), 0x4040);
	ck_assert_uint_eq(peek(s, 0x4000), 0x4040);
	ck_assert(writable(u + 0x4000) && writable(s + 0x4000));   /* dirty: writable */
	put32(0x240000, 0x4040);
	ck_assert_uint_eq(smmu_stats.fills - pf, 0);
	/* clean: read-only, and the first store is a dirty upgrade that sets D */
	pt_store(s, 4, 0x241000 | PTE_P | PTE_W | PTE_U | PTE_A);
	mov_cr3(PD1);
	u = sel(PD1, 3);
	ck_assert_uint_eq(peek(u, 0x4000), 0x4141);
	ck_assert(!writable(u + 0x4000));
	ck_assert_int_eq(fault(u, 0x4000, true, &info), SMF_RETRY);
	ck_assert(writable(u + 0x4000));
	ck_assert(get32(PT + 4 * 4) & PTE_D);
	/* a frame that holds translations: mapped, but read-only */
	smmu_protect_code(0x241000, true);
	s = sel(PD1, 0);
	pt_store(s, 4, 0x241000 | UWAD);
	invlpg(0x4000);
	u = sel(PD1, 3);
	ck_assert(readable(u + 0x4000) && !writable(u + 0x4000));
	smmu_protect_code(0x241000, false);
	/* supervisor now: the user view drops it, the kernel view maps the new frame */
	s = sel(PD1, 0);
	pt_store(s, 4, 0x240000 | PTE_P | PTE_W | PTE_A | PTE_D);
	invlpg(0x4000);
	ck_assert_uint_eq(peek(s, 0x4000), 0x4040);
	u = sel(PD1, 3);
	ck_assert(!readable(u + 0x4000));
	ck_assert_int_eq(fault(u, 0x4000, false, &info), SMF_PF);
}
END_TEST

/* ---- retired windows (smmu.c win_retire / win_revalidate) ------------------------------- */

#define PDX      0x108000u
#define PDY      0x109000u
#define PT2      0x10A000u

/* A directory like PD1: the kernel's 4 MiB pages at KB, and region 0 through table pt. */
static void make_dir(gpa_t pd, gpa_t pt)
{
	memset(vm.ram + pd, 0, 4096);
	put32(pd, pt | PTE_P | PTE_W | PTE_U | PTE_A);
	for (uint32_t r = 0; r < RAM >> 22; r++)
		put32(pd + (768 + r) * 4, get32(PD1 + (768 + r) * 4));
}

/* The process of directory PDX exits: PD1 is current, and the kernel zeroes PDX through
 * its own mapping.  Directories are not traced: the stores run at full speed, and PDX's
 * window retires when a new directory wants a window (its first region's entry went). */
static void exit_pdx(void)
{
	uint32_t info;
	uint8_t *s1 = mov_cr3(PD1);
	uint64_t ret = smmu_stats.window_retires, tr = smmu_stats.traced_writes;
	ck_assert_int_eq(fault(s1, KB + PDX, true, &info), SMF_RETRY);
	ck_assert(writable(s1 + KB + PDX));              /* not protected */
	memset(s1 + KB + PDX, 0, 4096);
	ck_assert_uint_eq(smmu_stats.window_retires - ret, 0);
	ck_assert_uint_eq(smmu_stats.traced_writes - tr, 0);
}

START_TEST(retired_window_reused_keeps_same_entries_only)
{
	uint32_t info;
	put32(PT2, 0x300000 | UWAD);                     /* the new process's page 0 */
	put32(0x200000, 0x1111);
	put32(0x300000, 0x2222);
	put32(0x400000, 0x3333);
	make_dir(PDX, PT);
	uint8_t *sx = mov_cr3(PDX);
	ck_assert_int_eq(fault(sx, 0x0000, false, &info), SMF_RETRY);
	ck_assert_int_eq(fault(sx, KB + 0x400000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(sx, 0), 0x1111);
	exit_pdx();
	/* a new process's directory in another frame: the same kernel entries, its own
	 * table for region 0.  It gets the retired window: the kernel region is still
	 * mapped (no fault), region 0 is not, and its fill finds the new frame. */
	make_dir(PDY, PT2);
	uint64_t reuse = smmu_stats.window_reuses, fills = smmu_stats.fills;
	uint8_t *sy = mov_cr3(PDY);
	ck_assert_ptr_eq(sy, sx);
	ck_assert_uint_eq(smmu_stats.window_reuses - reuse, 1);
	ck_assert_uint_eq(peek(sy, KB + 0x400000), 0x3333);
	ck_assert(!readable(sy + 0));
	ck_assert_int_eq(fault(sy, 0x0000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(sy, 0), 0x2222);
	ck_assert_uint_eq(smmu_stats.fills - fills, 1);
	/* the new directory is not traced: a store to it while it is current runs */
	ck_assert_int_eq(fault(sy, KB + PDY, true, &info), SMF_RETRY);
	ck_assert(writable(sy + KB + PDY));
}
END_TEST

START_TEST(retired_window_entry_changed_differently_is_dropped)
{
	uint32_t info;
	put32(0x200000, 0x1111);
	make_dir(PDX, PT);
	uint8_t *sx = mov_cr3(PDX);
	ck_assert_int_eq(fault(sx, KB + 0x400000, false, &info), SMF_RETRY);
	ck_assert_int_eq(fault(sx, 0x0000, false, &info), SMF_RETRY);
	exit_pdx();
	/* the same table, but the directory entry read-only now; and the kernel's region
	 * at KB + 4 MiB maps another 4 MiB page: neither may be kept */
	make_dir(PDY, PT);
	put32(PDY, PT | PTE_P | PTE_U | PTE_A);
	put32(PDY + 769 * 4, (2u << 22) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS);
	put32(0x800000, 0x8888);
	uint8_t *sy = mov_cr3(PDY);
	ck_assert_ptr_eq(sy, sx);
	ck_assert(!readable(sy + 0) && !readable(sy + KB + 0x400000));
	ck_assert_int_eq(fault(sy, KB + 0x400000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(sy, KB + 0x400000), 0x8888);
	vm.cpu.cpl = 3;
	sy = smmu_select(&vm.cpu);                       /* (the user view: another window) */
	vm.cpu.cpl = 0;
	sy = smmu_select(&vm.cpu);
	ck_assert_int_eq(fault(sy, 0x0000, false, &info), SMF_RETRY);
	ck_assert(!writable(sy + 0));                    /* read-only through the new entry */
	ck_assert_int_eq(fault(sy, 0x0000, true, &info), SMF_PF);
	ck_assert_uint_eq(info, PFEC_P | PFEC_W);
}
END_TEST

START_TEST(retired_window_table_changed_meanwhile_is_resynced)
{
	uint32_t info;
	put32(0x200000, 0x1111);
	put32(0x300000, 0x2222);
	make_dir(PDX, PT);
	uint8_t *sx = mov_cr3(PDX);
	ck_assert_int_eq(fault(sx, 0x0000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(sx, 0), 0x1111);
	exit_pdx();
	/* while PDX's window is retired, the table it maps region 0 through changes (out of
	 * sync: a plain store), and a new directory uses the same table and entry */
	uint8_t *s1 = sel(PD1, 0);
	pt_store(s1, 0, 0x300000 | UWAD);
	make_dir(PDY, PT);
	uint8_t *sy = mov_cr3(PDY);
	ck_assert_ptr_eq(sy, sx);
	/* the CR3 write must show the table as it is now, not the retired window's copy */
	if (readable(sy + 0))
		ck_assert_uint_eq(peek(sy, 0), 0x2222);
	ck_assert_int_eq(fault(sy, 0x0000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(sy, 0), 0x2222);
}
END_TEST

START_TEST(retired_window_revived_for_its_own_directory)
{
	uint32_t info;
	put32(0x200000, 0x1111);
	make_dir(PDX, PT);
	uint8_t *sx = mov_cr3(PDX);
	ck_assert_int_eq(fault(sx, KB + 0x400000, false, &info), SMF_RETRY);
	ck_assert_int_eq(fault(sx, 0x0000, false, &info), SMF_RETRY);
	/* the directory is rewritten while another is current (as when its frame is
	 * freed and handed out as a directory again): its window serves it again, and the
	 * CR3 write keeps the regions whose entry is the same */
	exit_pdx();                                      /* (zeroes PDX: every entry) */
	make_dir(PDX, PT);                               /* ...and it is set up again */
	put32(PDX + 769 * 4 + 4, 0);
	uint64_t creates = smmu_stats.window_creates;
	uint8_t *s = mov_cr3(PDX);
	ck_assert_ptr_eq(s, sx);
	ck_assert_uint_eq(smmu_stats.window_creates - creates, 0);
	ck_assert_uint_eq(peek(s, 0), 0x1111);
	ck_assert(readable(s + KB + 0x400000));
	ck_assert_int_eq(fault(s, KB + 0x800000, false, &info), SMF_PF);
}
END_TEST

/* A retired window handed to a directory whose entry for a region names another table
 * (a fork's copy, an exec of the same binary) moves the region to that table: each page
 * stays where the new entry maps the same frame, is lowered where it lost rights, and
 * dropped where it names another frame (another address space touched that one) or A is
 * clear.  When fewer than half the pages would stay, the region goes as a whole. */
START_TEST(retired_window_region_moves_to_the_new_table)
{
	uint32_t info;
	const gpa_t ta = 0x10B000, tb = 0x10C000;
	memset(vm.ram + ta, 0, 2 * 4096);
	for (uint32_t i = 0; i < 4; i++) {
		put32(ta + i * 4, (0x300000 + i * 0x1000) | UWAD);
		put32(0x300000 + i * 0x1000, 0x3000 + i);
	}
	put32(0x310000, 0x3100);
	make_dir(PDX, ta);
	uint8_t *sx = mov_cr3(PDX);
	ck_assert_int_eq(fault(sx, 0x0000, true, &info), SMF_RETRY);    /* maps the group */
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_uint_eq(peek(sx, i * 0x1000), 0x3000 + i);
	exit_pdx();
	make_dir(PDY, tb);
	put32(tb + 0 * 4, 0x300000 | UWAD);                              /* the same */
	put32(tb + 1 * 4, 0x301000 | PTE_P | PTE_U | PTE_A | PTE_D);     /* read-only now */
	put32(tb + 2 * 4, 0x310000 | UWAD);                              /* another frame */
	put32(tb + 3 * 4, 0x303000 | PTE_P | PTE_W | PTE_U | PTE_D);     /* A clear */
	uint64_t mv = smmu_stats.regions_retargeted, rm = smmu_stats.pages_remapped;
	uint8_t *sy = mov_cr3(PDY);
	ck_assert_ptr_eq(sy, sx);
	ck_assert_uint_eq(smmu_stats.regions_retargeted - mv, 1);
	ck_assert_uint_eq(smmu_stats.pages_remapped - rm, 0);
	ck_assert_uint_eq(peek(sy, 0x0000), 0x3000);
	ck_assert(writable(sy + 0x0000));
	ck_assert_uint_eq(peek(sy, 0x1000), 0x3001);
	ck_assert(!writable(sy + 0x1000));
	ck_assert(!readable(sy + 0x2000) && !readable(sy + 0x3000));
	ck_assert_int_eq(fault(sy, 0x2000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(sy, 0x2000), 0x3100);
	/* the region follows the new table from now on: a change to it is seen at INVLPG */
	put32(tb + 0 * 4, 0);
	invlpg(0x0000);
	ck_assert(!readable(sy + 0x0000));
	ck_assert_int_eq(fault(sy, 0x0000, false, &info), SMF_PF);
	ck_assert_int_eq(fault(sy, 0x3000, false, &info), SMF_RETRY);   /* sets A */
	ck_assert(get32(tb + 3 * 4) & PTE_A);
}
END_TEST

/* A retired window that would keep nothing for the new directory is left for a directory
 * it suits, and a free window is taken instead; one that would keep pages is reused. */
START_TEST(retired_window_chosen_by_what_it_keeps)
{
	uint32_t info;
	const gpa_t ta = 0x10B000, tb = 0x10C000;
	memset(vm.ram + ta, 0, 2 * 4096);
	put32(ta, 0x300000 | UWAD);
	put32(tb, 0x301000 | UWAD);
	make_dir(PDX, ta);
	for (uint32_t r = 0; r < RAM >> 22; r++)                 /* no kernel half at all */
		put32(PDX + (768 + r) * 4, 0);
	uint8_t *sx = mov_cr3(PDX);
	ck_assert_int_eq(fault(sx, 0x0000, false, &info), SMF_RETRY);
	exit_pdx();
	make_dir(PDY, tb);
	uint64_t reuse = smmu_stats.window_reuses;
	uint8_t *sy = mov_cr3(PDY);
	ck_assert_ptr_ne(sy, sx);
	ck_assert_uint_eq(smmu_stats.window_reuses - reuse, 0);
	/* the same text in a third directory: the retired window serves it */
	const gpa_t pdz = 0x10D000, tc = 0x10E000;
	memset(vm.ram + tc, 0, 4096);
	put32(tc, 0x300000 | UWAD);
	make_dir(pdz, tc);
	uint8_t *sz = mov_cr3(pdz);
	ck_assert_ptr_eq(sz, sx);
	ck_assert_uint_eq(smmu_stats.window_reuses - reuse, 1);
	ck_assert(readable(sz + 0x0000));
}
END_TEST

/* ---- page directories are not traced (smmu_trace.c region_check) ---------------------- */

/* A directory entry changed with no flush: the region's pages may still be used, as a TLB
 * may keep them; a fill elsewhere in the region, an INVLPG in it and a CR3 write each make
 * the region follow the entry as it is now - never the old table's frames after that. */
START_TEST(directory_entry_change_seen_at_the_flush)
{
	uint32_t info;
	const gpa_t tn = 0x10B000;
	memset(vm.ram + tn, 0, 4096);
	put32(tn + 4 * 4, 0x240000 | UWAD);
	put32(tn + 6 * 4, 0x241000 | UWAD);
	put32(0x204000, 0x4444);
	put32(0x240000, 0x4040);
	put32(0x241000, 0x4141);
	uint8_t *s = sel(PD1, 0);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(s, 0x4000), 0x4444);
	uint64_t tr = smmu_stats.traced_writes, pc = smmu_stats.pde_changes;
	ck_assert_int_eq(fault(s, KB + PD1, true, &info), SMF_RETRY);
	ck_assert(writable(s + KB + PD1));               /* the store runs, no exit */
	put32(PD1, tn | PTE_P | PTE_W | PTE_U | PTE_A);
	ck_assert_uint_eq(smmu_stats.traced_writes - tr, 0);
	ck_assert_uint_eq(peek(s, 0x4000), 0x4444);       /* not flushed: may be kept */
	/* a fill in the region walks the new entry: the old table's pages go first */
	ck_assert_int_eq(fault(s, 0x6000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(s, 0x6000), 0x4141);
	ck_assert(!shows(s + 0x4000, 0x4444));
	ck_assert_uint_eq(smmu_stats.pde_changes - pc, 1);
	/* back to PT, then an INVLPG of a page of the region */
	put32(PD1, PT | PTE_P | PTE_W | PTE_U | PTE_A);
	ck_assert(readable(s + 0x6000));
	invlpg(0x6000);
	ck_assert(!shows(s + 0x6000, 0x4141) && !shows(s + 0x4000, 0x4040));
	ck_assert_int_eq(fault(s, 0x6000, false, &info), SMF_PF);
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(s, 0x4000), 0x4444);
	/* and a CR3 write */
	put32(PD1, tn | PTE_P | PTE_W | PTE_U | PTE_A);
	s = mov_cr3(PD1);
	ck_assert(!shows(s + 0x4000, 0x4444));
	ck_assert_int_eq(fault(s, 0x4000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(s, 0x4000), 0x4040);
	/* A or D set in the entry since the region was made keep it */
	uint64_t pc2 = smmu_stats.pde_changes;
	put32(PD1, tn | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
	s = mov_cr3(PD1);
	ck_assert_uint_eq(peek(s, 0x4000), 0x4040);
	ck_assert_uint_eq(smmu_stats.pde_changes - pc2, 0);
	/* cleared A is a change: the region goes */
	put32(PD1, tn | PTE_P | PTE_W | PTE_U);
	s = mov_cr3(PD1);
	ck_assert(!readable(s + 0x4000));
	ck_assert_uint_eq(smmu_stats.pde_changes - pc2, 1);
}
END_TEST

/* A directory that is gone leaves its window listing the tables it was made through (no
 * store to it is seen).  When such a table is compared whole (here: a CR3 write of another
 * directory that uses it), the use whose entry no longer names it goes first, so nothing
 * is compared for the dead window, and that window retires. */
START_TEST(gone_directory_drops_its_table_uses)
{
	uint32_t info;
	put32(0x200000, 0x1111);
	put32(0x300000, 0x3333);
	make_dir(PDX, PT);
	uint8_t *sx = mov_cr3(PDX);
	ck_assert_int_eq(fault(sx, 0x0000, false, &info), SMF_RETRY);
	uint8_t *s1 = mov_cr3(PD1);
	ck_assert_int_eq(fault(s1, 0x0000, false, &info), SMF_RETRY);
	exit_pdx();
	s1 = sel(PD1, 0);
	uint64_t ret = smmu_stats.window_retires, pc = smmu_stats.pde_changes;
	pt_store(s1, 0, 0x300000 | UWAD);
	s1 = mov_cr3(PD1);
	ck_assert_uint_eq(smmu_stats.window_retires - ret, 1);
	ck_assert_uint_eq(smmu_stats.pde_changes - pc, 1);
	ck_assert(!shows(s1, 0x1111));
	ck_assert_int_eq(fault(s1, 0x0000, false, &info), SMF_RETRY);
	ck_assert_uint_eq(peek(s1, 0), 0x3333);
	/* the retired window serves a like directory again: its orphaned region moves to
	 * the new table, keeping the page whose frame is the same */
	const gpa_t tb = 0x10C000;
	memcpy(vm.ram + tb, vm.ram + PT, 4096);
	put32(tb, 0x200000 | UWAD);
	make_dir(PDY, tb);
	uint64_t mv = smmu_stats.regions_retargeted;
	uint8_t *sy = mov_cr3(PDY);
	ck_assert_ptr_eq(sy, sx);
	ck_assert_uint_eq(smmu_stats.regions_retargeted - mv, 1);
	ck_assert_uint_eq(peek(sy, 0), 0x1111);
}
END_TEST

static void add_case(Suite *s, const char *name, const TTest *const *tests, unsigned n)
{
	TCase *t = tcase_create(name);
	tcase_add_checked_fixture(t, setup, teardown);
	for (unsigned i = 0; i < n; i++)
		tcase_add_test(t, tests[i]);
	suite_add_tcase(s, t);
}

#define ADD_CASE(s, name, ...) do { \
	const TTest *const tests_[] = { __VA_ARGS__ }; \
	add_case(s, name, tests_, sizeof(tests_) / sizeof(tests_[0])); \
} while (0)

static Suite *smmu_suite(void)
{
	Suite *s = suite_create("smmu");
	ADD_CASE(s, "windows", window_per_directory_and_view, user_view_keeps_supervisor_pages_out);
	ADD_CASE(s, "fills", fill_prefetches_neighbours, not_present_is_a_guest_page_fault,
		 prefault_maps_what_the_tables_allow);
	ADD_CASE(s, "coherence", traced_pte_store_refills_with_new_frame,
		 monitor_write_reaches_every_window_of_the_table, code_protection_changes_every_mapping);
	ADD_CASE(s, "budget", budget_evicts_least_recently_used, budget_keeps_the_current_window);
	ADD_CASE(s, "unsync", unsync_new_table_starts_out_of_sync, unsync_first_store_makes_the_table_writable,
		 unsync_downgrade_not_flushed_stays_usable, unsync_downgrade_then_invlpg,
		 unsync_downgrade_then_cr3_reload, unsync_new_frame_seen_after_flush,
		 unsync_dirty_cleared_then_flushed, unsync_changed_entry_keeps_or_drops_the_page,
		 unsync_code_lookup_follows_the_tables,
		 unsync_table_that_is_code,
		 unsync_table_shared_by_two_directories, unsync_quiet_table_is_traced_again,
		 unsync_forgotten_with_its_last_use, changed_frame_is_mapped_at_the_flush);
	ADD_CASE(s, "retire", retired_window_reused_keeps_same_entries_only,
		 retired_window_entry_changed_differently_is_dropped,
		 retired_window_table_changed_meanwhile_is_resynced,
		 retired_window_revived_for_its_own_directory, retired_window_region_moves_to_the_new_table,
		 retired_window_chosen_by_what_it_keeps);
	ADD_CASE(s, "directories", directory_entry_change_seen_at_the_flush,
		 gone_directory_drops_its_table_uses);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(smmu_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
