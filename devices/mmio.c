/*
 * mmio.c - the memory-mapped I/O bus: guest-physical ranges outside RAM that belong to a
 * device (the local APIC, the I/O APIC).
 *
 * A device claims a range once, at init, and sees offsets into it (kvmtool style, like the
 * port bus in bus.c).  The bus hands a device naturally aligned accesses of 1, 2 or 4 bytes;
 * anything else (an 8-byte FPU store, a misaligned word) is split into byte accesses.  An
 * address no device claims reads as all ones and ignores writes, as an empty bus does.
 *
 * Callers: emulation/mem.c, for every physical access that is not RAM; this is reached from
 * translated code through the shadow MMU's device-memory faults (and, for sites that fault
 * repeatedly, adaptive translation's direct monitor calls), and from the interpreter.
 * Regions are few (two today), so lookup is a short linear scan.  Unlike a port access, an
 * MMIO access does not make the run loop poll the time-driven devices (the local APIC's ID
 * is read on every lock xv6 takes); a device whose deadline an access moves says so itself
 * (dev_pio_count).
 *
 * Read mirrors (dev_mmio_set_mirror): a device may keep, for the first page of its range, a
 * host page holding what a 4-byte aligned read at each offset returns now, rewritten by the
 * device whenever that changes - except for one 16-byte register (volatile_reg) whose
 * value moves on its own (a timer's count), which the mirror does not follow.  The monitor
 * lets translated code serve such reads from the mirror with no exit (monitor/adaptive.c
 * says when); everything else, writes included, still comes here.  vCPU thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "devices/devices.h"

#define MMIO_REGIONS 8

struct mmio_region {
	uint32_t base, len;
	dev_mmio_read_fn rd;
	dev_mmio_write_fn wr;
	void *opaque;
	const uint32_t *mirror;   /* dev_mmio_set_mirror: the first page's read image, or NULL */
	uint32_t volatile_reg;
};

static struct mmio_bus {
	struct mmio_region region[MMIO_REGIONS];
	int nregions;
} mbus;

void dev_mmio_register(uint32_t base, uint32_t len, dev_mmio_read_fn rd, dev_mmio_write_fn wr,
		       void *opaque)
{
	uint64_t end = (uint64_t)base + len;

	for (int i = 0; i < mbus.nregions; i++) {
		const struct mmio_region *r = &mbus.region[i];
		if (base < (uint64_t)r->base + r->len && r->base < end) {
			fprintf(stderr, "vmm386: internal error: MMIO %#x+%#x overlaps %#x\n",
				base, len, r->base);
			abort();
		}
	}
	if (len == 0 || end > 0x100000000ull || mbus.nregions == MMIO_REGIONS) {
		fprintf(stderr, "vmm386: internal error: bad MMIO region %#x+%#x\n", base, len);
		abort();
	}
	mbus.region[mbus.nregions++] = (struct mmio_region){ .base = base, .len = len, .rd = rd, .wr = wr,
								.opaque = opaque };
}

void dev_mmio_set_mirror(uint32_t base, const uint32_t *page, uint32_t volatile_reg)
{
	for (int i = 0; i < mbus.nregions; i++)
		if (mbus.region[i].base == base) {
			mbus.region[i].mirror = page;
			mbus.region[i].volatile_reg = volatile_reg;
		}
}

const uint32_t *dev_mmio_mirror(uint32_t gpa, uint32_t *volatile_reg)
{
	for (int i = 0; i < mbus.nregions; i++) {
		const struct mmio_region *r = &mbus.region[i];
		if (r->mirror && gpa - r->base < 0x1000 && gpa - r->base < r->len) {
			*volatile_reg = r->volatile_reg;
			return r->mirror;
		}
	}
	return NULL;
}

uint64_t dev_mmio_poll(uint64_t now_ns)
{
	return dev_lapic_poll(now_ns);
}

void dev_mmio_reset(void)
{
	memset(&mbus, 0, sizeof(mbus));
}

static struct mmio_region *mmio_find(uint32_t gpa, unsigned len)
{
	for (int i = 0; i < mbus.nregions; i++) {
		struct mmio_region *r = &mbus.region[i];
		if (gpa - r->base < r->len && gpa - r->base + len <= r->len)
			return r;
	}
	return NULL;
}

/* Is an access of len bytes at gpa one the device may see whole? */
static bool whole(uint32_t gpa, unsigned len)
{
	return (len == 1 || len == 2 || len == 4) && (gpa & (len - 1)) == 0;
}

void dev_mmio_read(uint32_t gpa, void *buf, unsigned len)
{
	struct mmio_region *r = mmio_find(gpa, len);
	uint8_t *p = buf;

	if (r && whole(gpa, len)) {
		uint32_t v = r->rd ? r->rd(r->opaque, gpa - r->base, (int)len) : 0xFFFFFFFFu;
		memcpy(buf, &v, len);
		return;
	}
	for (unsigned i = 0; i < len; i++) {
		r = mmio_find(gpa + i, 1);
		p[i] = r && r->rd ? (uint8_t)r->rd(r->opaque, gpa + i - r->base, 1) : 0xFF;
	}
}

void dev_mmio_write(uint32_t gpa, const void *buf, unsigned len)
{
	struct mmio_region *r = mmio_find(gpa, len);
	const uint8_t *p = buf;

	if (r && whole(gpa, len)) {
		uint32_t v = 0;
		memcpy(&v, buf, len);
		if (r->wr)
			r->wr(r->opaque, gpa - r->base, (int)len, v);
		return;
	}
	for (unsigned i = 0; i < len; i++) {
		r = mmio_find(gpa + i, 1);
		if (r && r->wr)
			r->wr(r->opaque, gpa + i - r->base, 1, p[i]);
	}
}
