/*
 * fz_paging.c - paging for the fuzz target: random page directories and tables in the
 * sandbox guest, and a check of the shadow MMU against them (fuzz_translate.c runs the
 * case; issue 13, item 7).
 *
 * The tables (all in the guest's 1 MiB, all reachable through the identity map, so the
 * guest code can store to them, switch between the directories and INVLPG):
 *   PD0 0x20000   0 -> PT0 (identity of the 1 MiB of RAM, user, writable)
 *                 1 -> PT1 (linear 4 MiB + i -> frame 7i mod 256: aliases)
 *                 2 -> a 4 MiB page at 0 (with CR4.PSE; without it the entry names a page
 *                      table at frame 0, the IDT, as on the CPU)
 *                 0x300 -> PT2 (linear 0xC0000000 + i -> frame i, supervisor only)
 *   PD1 0x24000   0 -> PT0, 1 -> PT3 (i -> frame 255 - i, read-only), 2 -> a read-only
 *                 4 MiB page, 0x300 -> PT2
 * then up to FZP_MUTATIONS entries rewritten from the input: word w (0: none) selects a
 * table (w & 7: PD0 PT0 PT1 PT2 PD1 PT3 PT0 PD0), an entry ((w >> 3) & 0x3FF), a frame
 * ((w >> 13) & 0x1FF: half of them beyond RAM, device memory) and the flags (w >> 22:
 * P W U PWT PCD A D PS G).  No entry starts with A or D set except where a mutation says
 * so: the monitor sets them as the CPU would.
 *
 * The check (fz_paging_check), after the case: the TLB may hold stale translations until
 * the guest flushes, so the shadow is compared only after a flush as a CR3 write makes it
 * (smmu_tlb_flush(c, 0, false), which resyncs every out-of-sync table the directory's
 * windows map through).  Then for every page of the regions the tables use, a page the
 * current window maps (smmu_probe) must be mapped by the guest's tables for the window's
 * view (CPL 3: user) to the same frame, with the accessed bits set; and if the window lets
 * the guest write it, the guest must allow the write (CR0.WP for a supervisor view) and
 * its dirty bit must be set.  The walk here only reads the tables (no A/D updates).
 */
#include <string.h>
#include "fz.h"
#include "monitor/x86.h"
#include "monitor/param.h"
#include "shadow-mmu/smmu.h"

#define PD0 0x20000u
#define PT0 0x21000u
#define PT1 0x22000u
#define PT2 0x23000u
#define PD1 0x24000u
#define PT3 0x25000u
#define KREG 0x300u

static uint32_t mutated[FZP_MUTATIONS];   /* directory entries the input rewrote */
static unsigned nmutated;

static void put(struct vm *vm, uint32_t table, uint32_t i, uint32_t v)
{
	memcpy(vm->ram + table + 4 * i, &v, 4);
}

static uint32_t get(const struct vm *vm, gpa_t a)
{
	uint32_t v;
	memcpy(&v, vm->ram + a, 4);
	return v;
}

unsigned fz_paging_setup(struct vm *vm, struct vcpu *c, const uint8_t *hdr, size_t n)
{
	uint8_t h[FZP_HDR] = {0};
	memcpy(h, hdr, n < FZP_HDR ? n : FZP_HDR);
	unsigned f = h[0];
	nmutated = 0;
	smmu_set_unsync(!(f & FZP_TRACE));
	if (!(f & FZP_PG))
		return f;
	static const uint32_t tables[] = { PD0, PT0, PT1, PT2, PD1, PT3 };
	for (unsigned t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		memset(vm->ram + tables[t], 0, GUEST_PAGE);
	const uint32_t pde = PTE_P | PTE_W | PTE_U;
	for (uint32_t i = 0; i < 256; i++) {
		put(vm, PT0, i, i << 12 | PTE_P | PTE_W | PTE_U);
		put(vm, PT1, i, (7 * i % 256) << 12 | PTE_P | PTE_W | PTE_U);
		put(vm, PT2, i, i << 12 | PTE_P | PTE_W);
		put(vm, PT3, i, (255 - i) << 12 | PTE_P | PTE_U);
	}
	put(vm, PD0, 0, PT0 | pde);
	put(vm, PD0, 1, PT1 | pde);
	put(vm, PD0, 2, PTE_PS | pde);
	put(vm, PD0, KREG, PT2 | pde);
	put(vm, PD1, 0, PT0 | pde);
	put(vm, PD1, 1, PT3 | pde);
	put(vm, PD1, 2, PTE_PS | PTE_P | PTE_U);
	put(vm, PD1, KREG, PT2 | pde);
	static const uint32_t sel[8] = { PD0, PT0, PT1, PT2, PD1, PT3, PT0, PD0 };
	for (unsigned m = 0; m < FZP_MUTATIONS; m++) {
		uint32_t w;
		memcpy(&w, h + 1 + 4 * m, 4);
		if (!w)
			continue;
		uint32_t t = sel[w & 7], i = (w >> 3) & 0x3FF;
		put(vm, t, i, ((w >> 13) & 0x1FF) << 12 | ((w >> 22) & 0x1FF));
		if (t == PD0 || t == PD1)
			mutated[nmutated++] = i;
	}
	c->cr3 = (f & FZP_PD1) ? PD1 : PD0;
	c->cr4 |= (f & FZP_PSE ? CR4_PSE : 0) | (f & FZP_PGE ? CR4_PGE : 0);
	c->cr0 |= CR0_PG | (f & FZP_WP ? CR0_WP : 0);
	return f;
}

/* The guest's translation of la for a user or supervisor view, reading the tables only.
 * 1: mapped (*frame, *perm the combined W/U bits, *ad the A/D bits that must be set),
 * 0: not mapped, -1: the tables are not all in RAM or use PSE-36 bits (not checked). */
static int walk(const struct vm *vm, const struct vcpu *c, gla_t la, gpa_t *frame,
		uint32_t *perm, uint32_t *final)
{
	gpa_t pd = c->cr3 & ~(GUEST_PAGE - 1);
	if (pd >= vm->ram_size)
		return -1;
	uint32_t de = get(vm, pd + 4 * (la >> 22));
	if (!(de & PTE_P))
		return 0;
	if ((de & PTE_PS) && (c->cr4 & CR4_PSE)) {
		if (de & 0x003FE000u)
			return -1;
		*frame = (de & 0xFFC00000u) + (la & 0x003FF000u);
		*perm = de;
		*final = de;
		return 1;
	}
	gpa_t pt = de & ~(GUEST_PAGE - 1);
	if (pt >= vm->ram_size)
		return -1;
	uint32_t te = get(vm, pt + 4 * ((la >> 12) & 0x3FF));
	if (!(te & PTE_P))
		return 0;
	if (!(de & PTE_A))
		return -2;                           /* the PDE's A bit: reported by the caller */
	*frame = te & ~(GUEST_PAGE - 1);
	*perm = te & (de | ~(PTE_W | PTE_U));
	*final = te;
	return 1;
}

static void check_page(struct vm *vm, struct vcpu *c, gla_t la)
{
	gpa_t sf, gf = 0;
	bool rw = false, user = c->cpl == 3;
	uint32_t perm = 0, final = 0;
	if (!smmu_probe(la, &sf, &rw))
		return;
	int r = walk(vm, c, la, &gf, &perm, &final);
	if (r == -1)
		return;
	if (r == -2)
		fz_bug("shadow: %08x is mapped while its directory entry's accessed bit is clear", la);
	if (r == 0)
		fz_bug("shadow: %08x is mapped to frame %08x after a flush, the guest does not map it",
		       la, sf);
	if (gf != sf)
		fz_bug("shadow: %08x maps frame %08x after a flush, the guest's tables frame %08x",
		       la, sf, gf);
	if (user && !(perm & PTE_U))
		fz_bug("shadow: %08x is mapped in a user view, the guest allows supervisor only", la);
	if (!(final & PTE_A))
		fz_bug("shadow: %08x is mapped while its accessed bit is clear", la);
	if (!rw)
		return;
	bool may = (perm & PTE_W) || (!user && !(c->cr0 & CR0_WP));
	if (!may)
		fz_bug("shadow: %08x is writable, the guest's entry %08x does not allow the store", la,
		       final);
	if (!(final & PTE_D))
		fz_bug("shadow: %08x is writable while its dirty bit is clear", la);
}

void fz_paging_check(struct vm *vm, struct vcpu *c)
{
	if (!(c->cr0 & CR0_PG))
		return;
	smmu_tlb_flush(c, 0, false);
	smmu_select(c);
	uint32_t regions[4 + FZP_MUTATIONS] = { 0, 1, 2, KREG };
	unsigned nr = 4;
	for (unsigned m = 0; m < nmutated; m++)
		regions[nr++] = mutated[m];
	for (unsigned i = 0; i < nr; i++) {
		bool seen = false;
		for (unsigned j = 0; j < i; j++)
			seen |= regions[j] == regions[i];
		if (seen)
			continue;
		for (uint32_t p = 0; p < 1024; p++)
			check_page(vm, c, regions[i] << 22 | p << 12);
	}
}
