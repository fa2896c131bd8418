/*
 * mm.c - physical frames, the kernel's mapping, user address spaces, page faults.
 *
 * Kernel mapping: all RAM (up to 1020 MiB, rounded down to 4 MiB) at KBASE with 4 MiB global
 * pages, so any frame is reachable at P2V(pa), and (native build) the APICs' 4 MiB at
 * APIC_VA in the last PDE; the kernel half of every page directory is the same 256 PDEs,
 * copied into each new directory and never changed afterwards.
 *
 * Frames: a bump pointer over the RAM above the kernel image plus a free list threaded
 * through freed frames (the first word of a free frame holds the next one), so nothing
 * touches RAM at boot.  Each frame has a 16-bit reference count: a user page shared
 * copy-on-write after fork is referenced once per address space.
 *
 * User address spaces: 4 KiB pages only.  fork copies the page tables (not the pages):
 * writable pages become read-only with PTE_COW set in both parent and child; read-only
 * pages (code, rodata) are simply shared.  A write fault on a PTE_COW page copies the frame,
 * or just makes the PTE writable again when this space is the last user of it.  Pages in
 * the heap [heap_lo, brk) and in the stack area are demand-zero: not present until first
 * touched.  Any other fault is a bad access and kills the process (trap.c).
 *
 * The kernel never takes a page fault on user memory: system calls validate user ranges with
 * user_range_ok(), which resolves demand-zero and copy-on-write in software first (CR0.WP is
 * set, so a kernel write to a read-only user page would fault like a user one).  A page fault
 * in kernel mode is therefore a kernel bug and panics.
 *
 * Every PTE/PDE write goes through pv_set_pte/pv_set_pde, and each whole operation is one
 * batch (pv_mmu_batch_begin/end, pvops.h): building a directory, fork (the child's tables
 * and the parent's copy-on-write protection, then the parent's CR3 reload), exec (mm_init
 * and proc.c), teardown, an unmapped range, one page fault, one step of the PTE benchmark.
 * A PV backend sends each batch as one hypercall.  Inside a batch, an entry written
 * earlier in the same batch is read back with pv_get_pte (as_pte, as_destroy); the other
 * reads are of entries the batch has not written (noted where it matters).
 */
#include "kernel.h"

#define RAM_MAX    0x3FC00000u
#define MAX_FRAMES (RAM_MAX / PAGE_SIZE)
#define PDE_KERNEL_FIRST ((int)(KBASE >> 22))

extern char __kernel_end[];

static uint16_t refcount[MAX_FRAMES];
static uint32_t free_head;       /* physical address of the first free frame, 0: none */
static uint32_t nfree_list;
static uint32_t bump, ram_top;
static uint32_t kpd[1024] __attribute__((aligned(4096)));
uint32_t kernel_pd_pa;
static uint32_t loaded_cr3;

uint32_t *kernel_pd(void) { return kpd; }

static void zero_page(void *p)
{
	uint32_t *w = p;
	for (unsigned i = 0; i < PAGE_SIZE / 4; i += 4)
		w[i] = w[i + 1] = w[i + 2] = w[i + 3] = 0;
}

void mm_init(uint32_t top)
{
	if (top > RAM_MAX)
		top = RAM_MAX;
	top &= ~0x3FFFFFu;
	ram_top = top;
	pv_mmu_batch_begin();
	for (uint32_t pa = 0; pa < top; pa += 0x400000)
		pv_set_pde(&kpd[PDE_KERNEL_FIRST + (pa >> 22)], pa | PTE_P | PTE_W | PTE_PS | PTE_G);
#ifndef PV_GUEST
	pv_set_pde(&kpd[APIC_VA >> 22], APIC_PA | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT | PTE_G);
#endif
	kernel_pd_pa = V2P(kpd);
	mmu_switch(kernel_pd_pa);          /* drops the boot identity mapping */
	pv_mmu_batch_end();
	pv_enable_global_pages();
	bump = PG_ROUNDUP(V2P(__kernel_end));
	if (bump >= top)
		panic("no memory above the kernel (RAM top 0x%x)", top);
}

void mmu_switch(uint32_t pd_pa)
{
	if (pd_pa != loaded_cr3) {
		pv_load_cr3(pd_pa);
		loaded_cr3 = pd_pa;
	}
}

uint32_t frame_alloc(void)
{
	uint32_t pa;
	if (free_head) {
		pa = free_head;
		free_head = *(uint32_t *)P2V(pa);
		nfree_list--;
	} else if (bump < ram_top) {
		pa = bump;
		bump += PAGE_SIZE;
	} else {
		return 0;
	}
	refcount[pa / PAGE_SIZE] = 1;
	zero_page(P2V(pa));
	return pa;
}

void frame_incref(uint32_t pa)
{
	refcount[pa / PAGE_SIZE]++;
}

void frame_decref(uint32_t pa)
{
	uint16_t *r = &refcount[pa / PAGE_SIZE];
	if (*r == 0)
		panic("frame 0x%x freed twice", pa);
	if (--*r == 0) {
		*(uint32_t *)P2V(pa) = free_head;
		free_head = pa;
		nfree_list++;
	}
}

uint32_t frames_free(void)
{
	return nfree_list + (ram_top - bump) / PAGE_SIZE;
}

uint32_t as_create(void)
{
	uint32_t pd = frame_alloc();
	if (!pd)
		return 0;
	uint32_t *d = P2V(pd);
	pv_mmu_batch_begin();
	for (int i = PDE_KERNEL_FIRST; i < 1024; i++)
		if (kpd[i])
			pv_set_pde(&d[i], kpd[i]);
	pv_mmu_batch_end();
	return pd;
}

uint32_t *as_pte(uint32_t pd_pa, uint32_t va, int create)
{
	uint32_t *pde = (uint32_t *)P2V(pd_pa) + (va >> 22);
	uint32_t e = pv_get_pte(pde);
	if (!(e & PTE_P)) {
		if (!create)
			return NULL;
		uint32_t pt = frame_alloc();
		if (!pt)
			return NULL;
		e = pt | PTE_P | PTE_W | PTE_U;
		pv_set_pde(pde, e);
	}
	return (uint32_t *)P2V(e & PAGE_MASK) + ((va >> 12) & 1023);
}

int as_map(uint32_t pd_pa, uint32_t va, uint32_t pa, uint32_t flags)
{
	pv_mmu_batch_begin();                  /* a new table and its entry go together */
	uint32_t *pte = as_pte(pd_pa, va, 1);
	if (pte)
		pv_set_pte(pte, pa | flags | PTE_P);
	pv_mmu_batch_end();
	return pte ? 0 : -1;
}

/*
 * The pages of [lo, hi) go.  In the loaded address space each needs its TLB entry flushed:
 * one INVLPG per page up to FLUSH_CEILING pages, one CR3 reload for a larger range (Linux's
 * tlb_single_page_flush_ceiling, 33, for the same reason: a full flush costs about as much
 * as a few dozen INVLPGs, and the range is unlikely to be touched again soon).  The PV
 * backend flushes inside its batch for nothing, so it keeps the per-page form.
 */
#define FLUSH_CEILING 32u

void as_unmap_range(uint32_t pd_pa, uint32_t lo, uint32_t hi)
{
#ifdef PV_GUEST
	int whole = 0;
#else
	int whole = pd_pa == loaded_cr3 && (hi - (lo & PAGE_MASK)) / PAGE_SIZE > FLUSH_CEILING;
#endif
	pv_mmu_batch_begin();
	for (uint32_t va = lo & PAGE_MASK; va < hi; va += PAGE_SIZE) {
		uint32_t *pte = as_pte(pd_pa, va, 0);
		if (!pte) {
			va = (va | 0x3FFFFF) - PAGE_SIZE + 1; /* skip the missing table */
			continue;
		}
		uint32_t e = pv_get_pte(pte);
		if (e & PTE_P) {
			frame_decref(e & PAGE_MASK);
			pv_set_pte(pte, 0);
			if (pd_pa == loaded_cr3 && !whole)
				pv_invlpg(va);
		}
	}
	if (whole)
		pv_load_cr3(pd_pa);
	pv_mmu_batch_end();
}

/* One batch: the child's directory, its tables, the parent's copy-on-write protection and
 * the parent's CR3 reload.  The parent's entries are read with plain loads: the batch
 * writes each of them only after reading it, and never reads it again. */
uint32_t as_fork(uint32_t ppd)
{
	pv_mmu_batch_begin();
	uint32_t cpd = as_create();
	if (!cpd) {
		pv_mmu_batch_end();
		return 0;
	}
	uint32_t *pd = P2V(ppd), *cd = P2V(cpd);
	for (int i = 0; i < PDE_KERNEL_FIRST; i++) {
		if (!(pd[i] & PTE_P))
			continue;
		uint32_t cpt = frame_alloc();
		if (!cpt) {
			as_destroy(cpd);
			pv_mmu_batch_end();
			return 0;
		}
		pv_set_pde(&cd[i], cpt | PTE_P | PTE_W | PTE_U);
		uint32_t *pt = P2V(pd[i] & PAGE_MASK), *ct = P2V(cpt);
		for (int j = 0; j < 1024; j++) {
			uint32_t e = pt[j];
			if (!(e & PTE_P))
				continue;
			if (e & PTE_W) {
				e = (e & ~PTE_W) | PTE_COW;
				pv_set_pte(&pt[j], e);
			}
			frame_incref(e & PAGE_MASK);
			pv_set_pte(&ct[j], e);
		}
	}
	if (ppd == loaded_cr3)                 /* the parent lost W on its pages: flush */
		pv_load_cr3(ppd);
	pv_mmu_batch_end();
	return cpd;
}

void as_destroy(uint32_t pd_pa)
{
	if (pd_pa == loaded_cr3)
		panic("destroying the loaded address space");
	uint32_t *pd = P2V(pd_pa);
	pv_mmu_batch_begin();
	for (int i = 0; i < PDE_KERNEL_FIRST; i++) {
		uint32_t pde = pv_get_pte(&pd[i]);     /* exec: may still be queued */
		if (!(pde & PTE_P))
			continue;
		uint32_t *pt = P2V(pde & PAGE_MASK);
		for (int j = 0; j < 1024; j++) {
			uint32_t e = pv_get_pte(&pt[j]);
			if (e & PTE_P)
				frame_decref(e & PAGE_MASK);
		}
		frame_decref(pde & PAGE_MASK);
		pv_set_pde(&pd[i], 0);
	}
	pv_release_pd(pd_pa);                  /* the frame may be anything from now on */
	pv_mmu_batch_end();
	frame_decref(pd_pa);
}

static int demand_zero_va(uint32_t va)
{
	if (va >= cur->heap_lo && va < cur->brk)
		return 1;
	return va >= USER_STACK_LOW && va < USER_STACK_TOP;
}

int mm_fault(uint32_t va, int write, int user_access)
{
	(void)user_access;
	if (va >= KBASE || !cur)
		return -1;
	uint32_t page = va & PAGE_MASK;
	uint32_t *pte = as_pte(cur->pd, va, 0);
	if (!pte || !(*pte & PTE_P)) {
		if (!demand_zero_va(va))
			return -1;
		uint32_t pa = frame_alloc();
		if (!pa)
			return -1;
		/* accessed, and dirty for a store, as the retried access would make it (Linux
		 * sets them too): the MMU has no bits left to set */
		if (as_map(cur->pd, page, pa, PTE_W | PTE_U | PTE_A | (write ? PTE_D : 0)) < 0) {
			frame_decref(pa);
			return -1;
		}
		return 0;
	}
	uint32_t e = *pte;
	if (write && !(e & PTE_W)) {
		if (!(e & PTE_COW))
			return -1;                 /* a read-only page */
		uint32_t old = e & PAGE_MASK, pa = old;
		if (refcount[old / PAGE_SIZE] > 1) {
			pa = frame_alloc();
			if (!pa)
				return -1;
			memcpy(P2V(pa), P2V(old), PAGE_SIZE);
			frame_decref(old);
		}
		pv_mmu_batch_begin();               /* the entry and its flush: one call */
		pv_set_pte(pte, pa | ((e | PTE_W | PTE_A | PTE_D) & ~(PTE_COW | PAGE_MASK)));
		pv_invlpg(page);
		pv_mmu_batch_end();
		return 0;
	}
	pv_invlpg(page);                       /* present and allowed: a stale TLB entry */
	return 0;
}

int user_range_ok(uint32_t va, uint32_t n, int write)
{
	if (!n)
		return 0;
	if (va + n < va || va + n > KBASE)
		return -1;
	for (uint32_t p = va & PAGE_MASK; p < va + n; p += PAGE_SIZE) {
		uint32_t *pte = as_pte(cur->pd, p, 0);
		if (pte && (*pte & PTE_P) && (*pte & PTE_U) && (!write || (*pte & PTE_W)))
			continue;
		if (mm_fault(p, write, 0) < 0)
			return -1;
		if (p + PAGE_SIZE < p)
			break;
	}
	return 0;
}

int copy_from_user(void *dst, uint32_t src, uint32_t n)
{
	if (user_range_ok(src, n, 0) < 0)
		return -1;
	memcpy(dst, (const void *)src, n);
	return 0;
}

int copy_to_user(uint32_t dst, const void *src, uint32_t n)
{
	if (user_range_ok(dst, n, 1) < 0)
		return -1;
	memcpy((void *)dst, src, n);
	return 0;
}

int strncpy_from_user(char *dst, uint32_t src, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if ((i == 0 || ((src + i) & ~PAGE_MASK) == 0) && user_range_ok(src + i, 1, 0) < 0)
			return -1;
		dst[i] = *(const char *)(src + i);
		if (!dst[i])
			return (int)i;
	}
	return -1;
}

int pte_toggle_bench(uint32_t va, uint32_t n)
{
	if (user_range_ok(va, 1, 1) < 0)
		return -1;
	uint32_t *pte = as_pte(cur->pd, va, 0);
	uint32_t e = *pte;
	for (uint32_t i = 0; i <= n; i++) {
		if (i == n && (e & PTE_W))
			break;
		e = i == n ? e | PTE_W : e ^ PTE_W;     /* leave it writable */
		pv_mmu_batch_begin();               /* each toggle: the entry and its flush */
		pv_set_pte(pte, e);
		pv_invlpg(va);
		pv_mmu_batch_end();
	}
	return 0;
}
