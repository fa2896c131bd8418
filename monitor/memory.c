/*
 * memory.c - guest RAM and the flat guest window.
 *
 * Guest RAM is one memfd, mapped once for the monitor (vm->ram).  Translated code reaches
 * guest memory through a 4 GiB window (GS base = R15): a PROT_NONE reservation with a guard
 * page on either side, in which RAM is mapped at window + physical address (CR0.PG = 0:
 * linear == physical).  Everything above RAM stays PROT_NONE, so device memory and
 * unassigned addresses fault into the monitor (signals.c) instead of reaching host memory.
 * Pages holding translated code are mapped read-only in the window (vm_protect_page), so a
 * guest store to them faults and invalidates the translations.
 *
 * The emulator's side effects arrive here too (emu_mon, installed by vm_mem_init): a
 * monitor write to RAM reaches the shadow MMU and the code cache, a TLB flush the shadow
 * MMU, and what adaptive translation counts as a hit (a traced page table written, device
 * memory touched) is passed on to adaptive.c, as is every TLB flush (its device-memory read
 * cache is a TLB entry).  And the translator fetches code bytes
 * through vmm_fetch_code.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "memory.h"
#include "mon_int.h"
#include "param.h"
#include "../shadow-mmu/smmu.h"
#include "../codecache/cc.h"
#include "../emulation/emu.h"
#include "../translator/xl.h"

#define WINDOW_SPAN (1ull << 32)

static uint8_t *window;
static uint32_t ram_bytes;

uint8_t *vm_window(void) { return window; }

void vmm_ram_written(struct vm *vm, gpa_t gpa, uint32_t len)
{
	(void)vm;
	if (len == 0)
		return;
	if (smmu_ram_written(gpa, len))
		adapt_touched();
	for (gpa_t p = gpa & ~(GUEST_PAGE - 1); p <= ((gpa + len - 1) & ~(GUEST_PAGE - 1)); p += GUEST_PAGE) {
		if (cc_page_has_code(p))
			cc_invalidate_page(p);
		if (p + GUEST_PAGE == 0)
			break;
	}
}

/* Lookup tables are tagged with the (mode, CS base) they were filled under and checked on
 * every entry (smmu_lookup), so a mode change needs no work for them; the guest's
 * breakpoints may have changed (debug.c). */
void vmm_mode_changed(struct vcpu *c)
{
	vm_debug_changed(c);
}

static void mmio_touched(struct vm *vm, gpa_t gpa, unsigned len)
{
	(void)vm; (void)gpa; (void)len;
	adapt_touched();
}

/* Every TLB flush (the emulator's, a PV guest's) also drops the device-memory read cache. */
void vmm_tlb_flush(struct vcpu *c, gla_t la, bool all)
{
	adapt_mmio_forget(c);
	smmu_tlb_flush(c, la, all);
}

static const struct emu_mon_ops mem_hooks = {
	vmm_ram_written, mmio_touched, vmm_mode_changed, vmm_tlb_flush,
};

int vm_mem_init(struct vm *vm, uint32_t bytes, char *err, size_t errlen)
{
	int fd = memfd_create("vmm386-ram", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, bytes) < 0) {
		snprintf(err, errlen, "cannot allocate %u MiB of guest RAM: %s", bytes >> 20, strerror(errno));
		return -1;
	}
	vm->ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* reserve 8 GiB so a 4 GiB-aligned window with guards fits */
	uint8_t *res = mmap(NULL, 2 * WINDOW_SPAN + 2 * GUEST_PAGE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED || res == MAP_FAILED) {
		snprintf(err, errlen, "cannot map guest memory: %s", strerror(errno));
		return -1;
	}
	window = (uint8_t *)(((uintptr_t)res + GUEST_PAGE + WINDOW_SPAN - 1) & ~(uintptr_t)(WINDOW_SPAN - 1));
	if (mmap(window, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the guest window: %s", strerror(errno));
		return -1;
	}
	vm->ram_fd = fd;
	vm->ram_size = bytes;
	ram_bytes = bytes;
	emu_mon = &mem_hooks;
	return 0;
}

/* The code-protection hook of the translation cache: every window (shadow-mmu/). */
void vm_protect_page(gpa_t page, bool protect)
{
	if (page < ram_bytes)
		smmu_protect_code(page, protect);
}

/*
 * Code bytes for the translator.  Without paging, linear == physical.  With paging the
 * walk is the guest's (the run loop has already checked that the first byte is mapped);
 * bytes past the end of the page come from the next page's frame, returned in *next
 * (~0u if the bytes stayed in one page, ~1u if the next page is not mapped: then only the
 * first page is returned).  next may be NULL.
 */
unsigned vmm_fetch_code(struct vcpu *c, gla_t la, uint8_t *buf, unsigned len, gpa_t *pa,
			gpa_t *next)
{
	struct vm *vm = c->vm;
	gpa_t unused;
	if (!next)
		next = &unused;
	*next = ~0u;
	if (!(c->cr0 & CR0_PG)) {
		*pa = la;
		if (la >= vm->ram_size)
			return 0;
		uint32_t avail = vm->ram_size - la;
		if (len > avail)
			len = avail;
		memcpy(buf, vm->ram + la, len);
		return len;
	}
	struct emu_walk w;
	bool user = c->cpl == 3;
	if (emu_walk(c, la, false, user, &w) || w.gpa >= vm->ram_size) {
		*pa = ~0u;
		return 0;
	}
	*pa = w.gpa;
	unsigned first = GUEST_PAGE - (la & (GUEST_PAGE - 1));
	if (len <= first) {
		memcpy(buf, vm->ram + w.gpa, len);
		return len;
	}
	memcpy(buf, vm->ram + w.gpa, first);
	if (emu_walk(c, la + first, false, user, &w) || w.gpa >= vm->ram_size) {
		*next = ~1u;
		return first;
	}
	*next = w.gpa;
	memcpy(buf + first, vm->ram + w.gpa, len - first);
	return len;
}
