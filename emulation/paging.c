/*
 * paging.c - the guest's own address translation, in software, for the monitor's accesses.
 *
 * With CR0.PG = 0 a linear address is the physical address.  With paging on, this walks the
 * guest's two-level non-PAE tables exactly as the CPU would for one access: U/S and R/W of
 * both levels combined, CR0.WP for supervisor writes, 4 MiB pages when CR4.PSE is set, the
 * accessed bit in the PDE and PTE and the dirty bit in the final entry on a write.  A refused
 * access sets CR2 and raises #PF with the P, W/R and U/S error bits (no NX without PAE, so
 * fetches look like reads).  Accessed/dirty bits are only set when the access is allowed.
 *
 * This is the emulation layer's view only: shadow-mmu/ keeps the host page tables that
 * translated code runs on, and may call emu_translate() for the guest side of a fill.
 * Guest page tables are read and written by physical address (emu_phys_read/emu_phys_write), so a
 * bit update is reported to the monitor through emu_mon->ram_written like any other write.
 */
#include "emu_int.h"


static uint32_t gpte_read(struct vm *vm, gpa_t a)
{
	uint32_t v;
	emu_phys_read(vm, a, &v, 4);
	return v;
}

/* Set `bits` in the guest entry at a (old value gpte) if any is missing; the new value. */
static uint32_t gpte_set(struct vm *vm, gpa_t a, uint32_t gpte, uint32_t bits, bool notify)
{
	if ((gpte & bits) != bits) {
		gpte |= bits;
		if (notify)
			emu_phys_write(vm, a, &gpte, 4);
		else if (a <= vm->ram_size - 4)
			memcpy(vm->ram + a, &gpte, 4);
	}
	return gpte;
}

static int page_fault(struct vcpu *c, gla_t la, uint32_t pfec)
{
	c->cr2 = la;
	return emu_raise(c, EXC_PF, pfec);
}

/* Are the combined permission bits `perm` enough for this access? */
static bool gpte_allows(const struct vcpu *c, uint32_t perm, bool user, bool write)
{
	if (user && !(perm & PTE_U))
		return false;
	if (write && !(perm & PTE_W) && (user || (c->cr0 & CR0_WP)))
		return false;
	return true;
}

/*
 * The walk itself, shared by the emulator (emu_translate) and the shadow MMU (emu_walk).
 * Returns 0 with *w filled in, or the #PF error code with bit 31 set.  Accessed and dirty
 * bits are set as the CPU sets them; `notify` says whether those writes are reported to
 * the monitor (emu_mon->ram_written) — the shadow MMU, which does its own bookkeeping, says no.
 */
static uint32_t walk_core(struct vcpu *c, gla_t la, bool write, bool user, bool notify,
			  struct emu_walk *w)
{
	struct vm *vm = c->vm;
	uint32_t pfec = (write ? PFEC_W : 0) | (user ? PFEC_U : 0);
	gpa_t pde_a = (c->cr3 & ~0xFFFu) + (la >> 22) * 4;
	uint32_t gpde = gpte_read(vm, pde_a), gpte;
	gpa_t pte_a;

	if (unlikely(!(gpde & PTE_P)))
		return 0x80000000u | pfec;
	if ((gpde & PTE_PS) && (c->cr4 & CR4_PSE)) {
		if (unlikely(!gpte_allows(c, gpde, user, write)))
			return 0x80000000u | pfec | PFEC_P;
		gpde = gpte_set(vm, pde_a, gpde, PTE_A | (write ? PTE_D : 0), notify);
		w->gpa = (gpde & 0xFFC00000u) | (la & 0x003FFFFFu);
		w->perm = gpde;
		w->large = true;
		w->pt = ~0u;
		return 0;
	}
	pte_a = (gpde & ~0xFFFu) + ((la >> 12) & 0x3FF) * 4;
	gpte = gpte_read(vm, pte_a);
	if (unlikely(!(gpte & PTE_P)))
		return 0x80000000u | pfec;
	if (unlikely(!gpte_allows(c, gpde & gpte, user, write)))
		return 0x80000000u | pfec | PFEC_P;
	gpte_set(vm, pde_a, gpde, PTE_A, notify);
	gpte = gpte_set(vm, pte_a, gpte, PTE_A | (write ? PTE_D : 0), notify);
	w->gpa = (gpte & ~0xFFFu) | (la & 0xFFFu);
	w->perm = (gpde & gpte & (PTE_U | PTE_W)) | (gpte & ~(uint32_t)(PTE_U | PTE_W));
	w->large = false;
	w->pt = gpde & ~0xFFFu;
	return 0;
}

static int walk(struct vcpu *c, gla_t la, int acc, gpa_t *gpa)
{
	struct emu_walk w;
	bool user = c->cpl == 3 && !(acc & ACC_SYS);
	uint32_t r = walk_core(c, la, acc & ACC_W, user, true, &w);
	if (r)
		return page_fault(c, la, r & 0xFFFF);
	*gpa = w.gpa;
	return 0;
}

uint32_t emu_walk(struct vcpu *c, gla_t la, bool write, bool user, struct emu_walk *w)
{
	return walk_core(c, la, write, user, false, w);
}

bool emu_gpte_allows(const struct vcpu *c, uint32_t perm, bool user, bool write)
{
	return gpte_allows(c, perm, user, write);
}

/* Translate one access to the page holding la.  Returns 0, or -1 with #PF raised. */
int emu_translate(struct vcpu *c, gla_t la, int acc, gpa_t *gpa)
{
	if (!(c->cr0 & CR0_PG)) {
		*gpa = la;
		return 0;
	}
	return walk(c, la, acc, gpa);
}
