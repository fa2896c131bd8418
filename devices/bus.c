/*
 * bus.c - the port-I/O bus, device start-up, and the device clock.
 *
 * A device claims a range of ports once, at init; a 64 Ki-entry table maps every port to
 * the region that owns it, so dispatch is one load.  Devices see an offset into their range,
 * never the port number.  Invariants:
 *   - regions never overlap; slot 0 of the table means "nobody";
 *   - an access is handed to a device whole (with its size) only if it lies entirely inside
 *     that device's range; otherwise it is split into byte accesses, each dispatched on its
 *     own, so a wide access that straddles two devices or an unclaimed port still works;
 *   - an unclaimed port reads as all ones and ignores writes.
 *
 * dev_poll() is the one place time advances for the time-driven devices (PIT, UART input,
 * RTC); devices read the current time through dev_now_ns(), which tests can redirect.
 * Everything here runs on the vCPU thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "devices/devices.h"
#include "monitor/vmm.h"

#define PIO_PORTS   0x10000
#define PIO_REGIONS 64

struct pio_region {
	uint16_t base;
	uint32_t len;
	dev_pio_read_fn rd;
	dev_pio_write_fn wr;
	void *opaque;
	dev_pio_block_fn block;  /* optional: a whole string of elements at offset block_off */
	uint16_t block_off;
};

static struct pio_bus {
	struct pio_region region[PIO_REGIONS]; /* region[0] unused: table value 0 = none */
	int nregions;
	uint8_t owner[PIO_PORTS];              /* port -> region index */
	uint64_t (*clock_ns)(void);
} bus = { .nregions = 1 };

/* The CPU's NMI input is edge-triggered: one pending NMI at most (a second one raised before
 * the first was taken is lost, as on the CPU). */
static bool nmi_pending;

int dev_pio_register(uint16_t base, uint16_t len, dev_pio_read_fn rd, dev_pio_write_fn wr,
		     void *opaque)
{
	uint32_t end = (uint32_t)base + len;

	if (len == 0 || end > PIO_PORTS || bus.nregions == PIO_REGIONS)
		return -1;
	for (uint32_t p = base; p < end; p++)
		if (bus.owner[p])
			return -1;
	bus.region[bus.nregions] = (struct pio_region){ .base = base, .len = len, .rd = rd, .wr = wr,
							 .opaque = opaque };
	memset(&bus.owner[base], bus.nregions, len);
	bus.nregions++;
	return 0;
}

void dev_pio_claim(uint16_t base, uint16_t len, dev_pio_read_fn rd, dev_pio_write_fn wr,
		   void *opaque)
{
	if (dev_pio_register(base, len, rd, wr, opaque) < 0) {
		fprintf(stderr, "vmm386: internal error: ports %#x-%#x already claimed\n",
			base, base + len - 1);
		abort();
	}
}

/* Tests start from an empty platform: both buses are emptied. */
void dev_pio_reset(void)
{
	dev_mmio_reset();
	nmi_pending = false;
	memset(bus.owner, 0, sizeof(bus.owner));
	memset(bus.region, 0, sizeof(bus.region));
	bus.nregions = 1;
}

/* The region an access of size bytes at port falls wholly inside, or NULL. */
static struct pio_region *pio_find(uint16_t port, int size)
{
	struct pio_region *r = &bus.region[bus.owner[port]];

	if (!bus.owner[port] || (uint32_t)port + size > r->base + r->len)
		return NULL;
	return r;
}

static uint8_t pio_in_byte(uint16_t port)
{
	struct pio_region *r = pio_find(port, 1);

	return r && r->rd ? (uint8_t)r->rd(r->opaque, port - r->base, 1) : 0xFF;
}

static void pio_out_byte(uint16_t port, uint8_t val)
{
	struct pio_region *r = pio_find(port, 1);

	if (r && r->wr)
		r->wr(r->opaque, port - r->base, 1, val);
}

static uint32_t size_mask(int size)
{
	return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

uint64_t dev_pio_count;

uint32_t dev_pio_in(uint16_t port, int size)
{
	dev_pio_count++;
	struct pio_region *r = pio_find(port, size);
	uint32_t val = 0;

	if (r)
		return r->rd ? r->rd(r->opaque, port - r->base, size) & size_mask(size)
			     : size_mask(size);
	for (int i = 0; i < size; i++)
		val |= (uint32_t)pio_in_byte((uint16_t)(port + i)) << (8 * i);
	return val;
}

void dev_pio_out(uint16_t port, int size, uint32_t val)
{
	dev_pio_count++;
	struct pio_region *r = pio_find(port, size);

	if (r) {
		if (r->wr)
			r->wr(r->opaque, port - r->base, size, val & size_mask(size));
		return;
	}
	for (int i = 0; i < size; i++)
		pio_out_byte((uint16_t)(port + i), (uint8_t)(val >> (8 * i)));
}

/* One port of a region (its data register) may take whole REP INS/OUTS strings. */
void dev_pio_set_block(uint16_t port, dev_pio_block_fn fn, void *opaque)
{
	struct pio_region *r = &bus.region[bus.owner[port]];

	if (!bus.owner[port] || r->opaque != opaque) {
		fprintf(stderr, "vmm386: internal error: block hook on unclaimed port %#x\n", port);
		abort();
	}
	r->block = fn;
	r->block_off = (uint16_t)(port - r->base);
}

static struct pio_region *block_region(uint16_t port, int size)
{
	struct pio_region *r = pio_find(port, size);

	return r && r->block && port - r->base == r->block_off ? r : NULL;
}

bool dev_pio_has_block(uint16_t port, int size)
{
	return block_region(port, size) != NULL;
}

unsigned dev_pio_in_block(uint16_t port, int size, void *buf, unsigned count)
{
	struct pio_region *r = block_region(port, size);

	if (!r)
		return 0;
	dev_pio_count++;
	return r->block(r->opaque, r->block_off, size, buf, count, false);
}

unsigned dev_pio_out_block(uint16_t port, int size, const void *buf, unsigned count)
{
	struct pio_region *r = block_region(port, size);

	if (!r)
		return 0;
	dev_pio_count++;
	return r->block(r->opaque, r->block_off, size, (void *)buf, count, true);
}

uint32_t dev_pio_split_in(dev_pio_read_fn rd, void *opaque, uint16_t off, int size)
{
	uint32_t val = 0;

	for (int i = 0; i < size; i++)
		val |= (rd(opaque, (uint16_t)(off + i), 1) & 0xFF) << (8 * i);
	return val;
}

void dev_pio_split_out(dev_pio_write_fn wr, void *opaque, uint16_t off, int size,
		       uint32_t val)
{
	for (int i = 0; i < size; i++)
		wr(opaque, (uint16_t)(off + i), 1, (val >> (8 * i)) & 0xFF);
}

/* --- the NMI line --------------------------------------------------------------------- */


void dev_nmi_raise(void)
{
	nmi_pending = true;
}

bool dev_nmi_take(void)
{
	bool was = nmi_pending;

	nmi_pending = false;
	return was;
}

/* --- clock and polling ------------------------------------------------------------- */

void dev_set_clock(uint64_t (*clock_ns)(void))
{
	bus.clock_ns = clock_ns;
}

/* The host monotonic clock, the same one host_now_ns() reads. */
uint64_t dev_now_ns(void)
{
	struct timespec ts;

	if (bus.clock_ns)
		return bus.clock_ns();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t dev_poll(uint64_t now_ns)
{
	uint64_t next = dev_pit_poll(now_ns);

	next = min_u64(next, dev_uart_poll(now_ns));
	next = min_u64(next, dev_lapic_poll(now_ns));
	return min_u64(next, dev_rtc_poll(now_ns));
}

void dev_init_all(uint8_t *ram, uint32_t ram_bytes, int in_fd, int out_fd, struct dev_stop stop)
{
	dev_pic_init();
	dev_pit_init();
	dev_rtc_init(ram_bytes);
	dev_uart_init(in_fd, out_fd);
	dev_misc_init(stop);
	dev_i8042_init();
	dev_acpi_init(ram, ram_bytes, stop);
	dev_lapic_init();
	dev_ioapic_init();
	dev_mptable_init(ram, ram_bytes);
	dev_ide_init();
	dev_vga_init();
	dev_pci_init();
	dev_hpet_init();
}
