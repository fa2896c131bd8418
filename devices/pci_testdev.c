/*
 * pci_testdev.c - QEMU's pci-testdev (-device pci-testdev, 1b36:0005, class ff 00) at 00:02.0.
 *
 * BAR 0 is 4 KiB of memory, BAR 1 256 I/O ports; vmm386 has no BIOS, so they start where a
 * BIOS would have put them (TESTDEV_MMIO_ADDR, TESTDEV_IO_ADDR) with decoding enabled.  Both
 * BARs size and move like any BAR (pci.c), but the windows answer only while their BAR holds
 * that first address and the command register enables the space (the buses have no way to
 * move a claim); a guest that moves a BAR loses the window, which no test does.
 *
 * Each window holds QEMU's test protocol, one test selected at a time: writing n to byte 0
 * selects test n (0-2) of the window's kind and zeroes its count; then the header reads back
 * (test, width 1, offset of the trigger byte, data byte, count, name) and every one-byte write
 * to the trigger offset (for the data-matching tests, only of the data byte) adds one to count.
 * Tests are "no-eventfd", "wildcard-eventfd", "datamatch-eventfd", named "mmio-..." in BAR 0
 * and "portio-..." in BAR 1, as QEMU names them.  Accesses are handled a byte at a time, as
 * QEMU's device does.  vCPU thread only.
 */
#include <stdio.h>
#include <string.h>
#include "devices/devices.h"
#include "devices/pci.h"

#define TESTDEV_DEVFN     PCI_DEVFN(2, 0)
#define TESTDEV_MMIO_ADDR 0xFEBFF000u
#define TESTDEV_MMIO_LEN  0x1000u
#define TESTDEV_IO_ADDR   0xC000u
#define TESTDEV_IO_LEN    0x100u
#define TESTS             3
#define HDR_TEST          0
#define HDR_WIDTH         1
#define HDR_OFFSET        4
#define HDR_DATA          8
#define HDR_COUNT         12
#define HDR_NAME          16
#define HDR_BYTES         48
#define DATA_MATCH        0xFA
#define DATA_ANY          0xCE

struct window {
	bool io;
	int cur;                    /* selected test, -1 none */
	uint8_t hdr[HDR_BYTES];     /* the selected test's header and name */
	unsigned len;               /* bytes of hdr in use */
};

static struct pci_testdev {
	struct pci_fn fn;
	struct window win[2];       /* [0] memory (BAR 0), [1] I/O (BAR 1) */
} ptd;

static void select_test(struct window *w, uint8_t n)
{
	static const char *const test[TESTS] = { "no-eventfd", "wildcard-eventfd",
						 "datamatch-eventfd" };
	unsigned index = (w->io ? TESTS : 0) + n;
	uint32_t trigger = (w->io ? 128 : 2048) + index;
	int len;

	w->cur = -1;
	if (n >= TESTS)
		return;
	memset(w->hdr, 0, sizeof(w->hdr));
	w->hdr[HDR_TEST] = (uint8_t)index;
	w->hdr[HDR_WIDTH] = 1;
	memcpy(&w->hdr[HDR_OFFSET], &trigger, 4);
	w->hdr[HDR_DATA] = n == 1 ? DATA_ANY : DATA_MATCH;
	len = snprintf((char *)&w->hdr[HDR_NAME], HDR_BYTES - HDR_NAME, "%s-%s",
		       w->io ? "portio" : "mmio", test[n]);
	w->len = HDR_NAME + (unsigned)len + 1;
	w->cur = n;
}

static uint8_t window_read(const struct window *w, uint32_t off)
{
	return w->cur >= 0 && off + 1 < w->len ? w->hdr[off] : 0;
}

static void window_write(struct window *w, uint32_t off, uint8_t val)
{
	uint32_t trigger, count;

	if (off == HDR_TEST) {
		select_test(w, val);
		return;
	}
	if (w->cur < 0)
		return;
	memcpy(&trigger, &w->hdr[HDR_OFFSET], 4);
	if (off != trigger || (w->cur != 1 && val != w->hdr[HDR_DATA]))
		return;
	memcpy(&count, &w->hdr[HDR_COUNT], 4);
	count++;
	memcpy(&w->hdr[HDR_COUNT], &count, 4);
}

/* Does BAR bar still decode at its first address? */
static bool decoding(int bar)
{
	uint32_t cmd = pci_fn_read32(&ptd.fn, PCI_COMMAND) & 0xFFFF;
	uint32_t addr = pci_fn_read32(&ptd.fn, PCI_BAR0 + 4 * bar);

	if (bar == 1)
		return (cmd & PCI_CMD_IO) && (addr & ~3u) == TESTDEV_IO_ADDR;
	return (cmd & PCI_CMD_MEM) && (addr & ~15u) == TESTDEV_MMIO_ADDR;
}

static uint32_t win_read(int bar, uint32_t off, int size)
{
	uint32_t v = 0;

	for (int i = 0; i < size; i++)
		v |= (decoding(bar) ? window_read(&ptd.win[bar], off + i) : 0xFFu) << (8 * i);
	return v;
}

static void win_write(int bar, uint32_t off, int size, uint32_t val)
{
	for (int i = 0; i < size && decoding(bar); i++)
		window_write(&ptd.win[bar], off + i, (uint8_t)(val >> (8 * i)));
}

static uint32_t mmio_read(void *opaque, uint32_t off, int size)
{
	(void)opaque;
	return win_read(0, off, size);
}

static void mmio_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	(void)opaque;
	win_write(0, off, size, val);
}

static uint32_t io_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	return win_read(1, off, size);
}

static void io_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	win_write(1, off, size, val);
}

void dev_pci_testdev_init(void)
{
	memset(&ptd, 0, sizeof(ptd));
	pci_fn_setup(&ptd.fn, 0x1B36, 0x0005, 0x00, 0xFF0000, 0x00);
	pci_fn_bar(&ptd.fn, 0, TESTDEV_MMIO_LEN, false, TESTDEV_MMIO_ADDR);
	pci_fn_bar(&ptd.fn, 1, TESTDEV_IO_LEN, true, TESTDEV_IO_ADDR);
	ptd.fn.cfg[PCI_COMMAND] = PCI_CMD_IO | PCI_CMD_MEM;
	ptd.win[0] = (struct window){ .io = false, .cur = -1 };
	ptd.win[1] = (struct window){ .io = true, .cur = -1 };
	pci_attach(TESTDEV_DEVFN, &ptd.fn);
	dev_mmio_register(TESTDEV_MMIO_ADDR, TESTDEV_MMIO_LEN, mmio_read, mmio_write, NULL);
	dev_pio_claim(TESTDEV_IO_ADDR, TESTDEV_IO_LEN, io_read, io_write, NULL);
}
