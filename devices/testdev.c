/*
 * testdev.c - QEMU's pc-testdev (-device pc-testdev), the ISA device the kvm-unit-tests
 * drive to check an emulator's port I/O, string I/O into device memory, and interrupt lines.
 * Layout and behaviour are QEMU's (hw/misc/pc-testdev.c):
 *
 *   0xE0-0xE3   a 32-bit latch: an access of n bytes at 0xE0+k reads or replaces bytes k..
 *               k+n-1 of it (little-endian), so "out %ax,$0xe2" then "in $0xe2,%ax" round-trips.
 *   0xE4-0xE7   flush page: a dword write names a guest-physical page that KVM would unmap so
 *               the next touch faults into the hypervisor.  vmm386 keeps no such host-side
 *               cache that the guest could observe, so the write has no effect (and reads 0).
 *   0xE8-0xEB   the same latch, reached one byte at a time (wider accesses are split).
 *   0x2000+n    interrupt line n (0-23): a byte write of v drives the line to (v != 0); lines
 *               0-15 are the ISA IRQs (the 8259 and the I/O APIC both see them, pic.c), 16-23
 *               are I/O APIC pins only.  Reads return 0.  Other sizes are ignored.
 *   0xFF000000  64 KiB of device memory that reads back what was written (the emulator test
 *               maps it twice, side by side, to check MMIO that crosses a page boundary).
 *
 * vCPU thread only.
 */
#include <string.h>
#include "devices/devices.h"

#define LATCH_PORT   0xE0
#define FLUSH_PORT   0xE4
#define LATCH_BYTES  0xE8
#define IRQ_PORT     0x2000
#define IRQ_LINES    24
#define TESTDEV_MEM_LEN 0x10000u

static struct testdev {
	uint32_t latch;
	uint8_t mem[TESTDEV_MEM_LEN];
} td;

static uint32_t bytes_mask(int size)
{
	return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

/* off: the port's offset from the start of its window, 0-3. */
static uint32_t latch_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	return (td.latch >> (8 * (off & 3))) & bytes_mask(size);
}

static void latch_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	unsigned shift = 8 * (off & 3);
	uint32_t mask = bytes_mask(size) << shift;

	(void)opaque;
	td.latch = (td.latch & ~mask) | ((val << shift) & mask);
}

static uint32_t latch_byte_read(void *opaque, uint16_t off, int size)
{
	if (size != 1)
		return dev_pio_split_in(latch_byte_read, opaque, off, size);
	return latch_read(opaque, off, 1);
}

static void latch_byte_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	if (size != 1)
		dev_pio_split_out(latch_byte_write, opaque, off, size, val);
	else
		latch_write(opaque, off, 1, val);
}

static uint32_t zero_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return 0;
}

static void irq_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	if (size != 1)
		return;
	if (off < 16)
		dev_pic_set_irq(off, val != 0);
	else
		dev_ioapic_set_irq(off, val != 0);
}

static uint32_t mem_read(void *opaque, uint32_t off, int size)
{
	uint32_t v = 0;

	(void)opaque;
	memcpy(&v, &td.mem[off], (size_t)size);
	return v;
}

static void mem_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	(void)opaque;
	memcpy(&td.mem[off], &val, (size_t)size);
}

void dev_testdev_init(void)
{
	memset(&td, 0, sizeof(td));
	dev_pio_claim(LATCH_PORT, 4, latch_read, latch_write, NULL);
	dev_pio_claim(FLUSH_PORT, 4, zero_read, NULL, NULL);
	dev_pio_claim(LATCH_BYTES, 4, latch_byte_read, latch_byte_write, NULL);
	dev_pio_claim(IRQ_PORT, IRQ_LINES, zero_read, irq_write, NULL);
	dev_mmio_register(TESTDEV_MEM_BASE, TESTDEV_MEM_LEN, mem_read, mem_write, NULL);
}
