/*
 * pci.c - PCI bus 0 as QEMU's PC (i440FX) presents it, through configuration mechanism #1.
 *
 * Ports: 0xCF8 is CONFIG_ADDRESS (dword accesses only: enable bit 31, bus 23:16, device
 * 15:11, function 10:8, register 7:2; reserved bits 30:24 and 1:0 read as 0), 0xCFC-0xCFF is
 * CONFIG_DATA: an access of 1, 2 or 4 bytes at 0xCFC+k reaches register (CONFIG_ADDRESS &
 * 0xFC) + k of the addressed function.  With the enable bit clear, or for a bus, device or
 * function that does not exist, reads return all ones (so the vendor ID reads 0xFFFF, which is
 * how software finds the slot empty) and writes are dropped.  A byte at 0xCF9 is the PIIX3's
 * reset control register: bit 2 set resets the machine (Linux's reboot=pci), bit 1 (hard
 * reset) is remembered; the other byte and word accesses to 0xCF8-0xCFB reach nothing.
 *
 * Functions (vendor:device, class):
 *   00:00.0  i440FX host bridge     8086:1237 rev 2, 06 00 00
 *   00:01.0  PIIX3 ISA bridge       8086:7000, 06 01 00, multi-function header (type 0x80)
 *   00:01.1  PIIX3 IDE              8086:7010, 01 01 80: both channels in compatibility mode,
 *            so the legacy ports 0x1F0/0x3F6 (IRQ 14) and 0x170/0x376 (IRQ 15) are the
 *            controller's and BARs 0-3 read 0 (the PCI IDE spec); the bus-master BAR 4 is not
 *            offered (ide.c does PIO only), so drivers fall back to PIO instead of finding a
 *            DMA engine with no registers behind it.  IDETIM (0x40, 0x42) read 0x8000, decode
 *            enabled, as a BIOS leaves them.
 *   00:02.0  pci-testdev (only with -device pci-testdev; testdev in pci_testdev.c)
 * Subsystem IDs are QEMU's (1af4:1100).
 *
 * Each function is 256 bytes of configuration space with a per-byte write mask (QEMU's model):
 * a write changes only the writable bits.  The status register is read-only (no function here
 * ever records an error in it, so its write-one-to-clear bits have nothing to clear).  Writable: command (I/O, memory, bus master, parity, SERR, INTx
 * disable), cache line size, latency timer, interrupt line, the BARs' address bits, and the
 * whole device-specific area 0x40-0xFF (chipset registers such as the i440FX PAM and SMRAM
 * bytes and the PIIX3 PIRQ routing are kept and read back, though RAM and routing here are
 * fixed).  BAR sizing falls out of the mask: writing all ones to a BAR of size S reads back
 * ~(S-1) with its type bits.  The legacy devices keep decoding whatever the command register
 * says, as they do after firmware enabled them.  vCPU thread only.
 */
#include <string.h>
#include "devices/devices.h"
#include "devices/pci.h"

#define CONFIG_ADDRESS 0xCF8
#define CONFIG_PORTS   8
#define RCR_OFF        1          /* 0xCF9 */
#define RCR_HARD       0x02
#define RCR_RESET      0x04
#define ADDR_ENABLE    0x80000000u
#define ADDR_MASK      0x80FFFFFCu

#define CMD_WRITABLE   0x0547

static struct pci_bus {
	uint32_t addr;
	uint8_t rcr;
	struct pci_fn *fn[PCI_DEVFNS];
	struct pci_fn host, isa, ide;
} bus;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

void pci_fn_setup(struct pci_fn *f, uint16_t vendor, uint16_t device, uint8_t rev,
		  uint32_t class_code, uint8_t header)
{
	memset(f, 0, sizeof(*f));
	put16(&f->cfg[PCI_VENDOR_ID], vendor);
	put16(&f->cfg[PCI_DEVICE_ID], device);
	f->cfg[PCI_REVISION] = rev;
	f->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	f->cfg[PCI_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
	f->cfg[PCI_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
	f->cfg[PCI_HEADER_TYPE] = header;
	put16(&f->cfg[PCI_SUBSYS_VENDOR], 0x1AF4);
	put16(&f->cfg[PCI_SUBSYS_ID], 0x1100);
	put16(&f->wmask[PCI_COMMAND], CMD_WRITABLE);
	f->wmask[PCI_CACHE_LINE] = 0xFF;
	f->wmask[PCI_LATENCY] = 0xFF;
	f->wmask[PCI_INT_LINE] = 0xFF;
	memset(&f->wmask[PCI_DEV_SPECIFIC], 0xFF, 256 - PCI_DEV_SPECIFIC);
}

void pci_fn_bar(struct pci_fn *f, int bar, uint32_t size, bool io, uint32_t addr)
{
	uint8_t *p = &f->cfg[PCI_BAR0 + 4 * bar];
	uint32_t type = io ? PCI_BAR_IO : 0;

	put32(p, (addr & ~(size - 1)) | type);
	put32(&f->wmask[PCI_BAR0 + 4 * bar], ~(size - 1) & (io ? ~3u : ~15u));
}

uint32_t pci_fn_read32(const struct pci_fn *f, unsigned reg)
{
	return f->cfg[reg] | f->cfg[reg + 1] << 8 | f->cfg[reg + 2] << 16 |
	       (uint32_t)f->cfg[reg + 3] << 24;
}

void pci_attach(unsigned devfn, struct pci_fn *f)
{
	bus.fn[devfn & (PCI_DEVFNS - 1)] = f;
}

/* The function CONFIG_ADDRESS names, or NULL (disabled, other bus, empty slot). */
static struct pci_fn *addressed(void)
{
	if (!(bus.addr & ADDR_ENABLE) || (bus.addr >> 16 & 0xFF) != 0)
		return NULL;
	return bus.fn[bus.addr >> 8 & 0xFF];
}

static uint32_t data_read(unsigned reg, int size)
{
	const struct pci_fn *f = addressed();
	uint32_t v = 0;

	if (!f)
		return 0xFFFFFFFFu;
	for (int i = 0; i < size; i++)
		v |= (uint32_t)f->cfg[reg + i] << (8 * i);
	return v;
}

static void data_write(unsigned reg, int size, uint32_t val)
{
	struct pci_fn *f = addressed();

	if (!f)
		return;
	for (int i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t *c = &f->cfg[reg + i];
		*c = (uint8_t)((*c & ~f->wmask[reg + i]) | (b & f->wmask[reg + i]));
	}
}

static uint32_t cfg_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	if (off >= 4)
		return data_read((bus.addr & 0xFC) + (off - 4u), size);
	if (off == 0 && size == 4)
		return bus.addr;
	if (off == RCR_OFF && size == 1)
		return bus.rcr;
	if (size == 1)
		return 0xFF;
	return dev_pio_split_in(cfg_read, opaque, off, size);
}

static void cfg_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	if (off >= 4) {
		data_write((bus.addr & 0xFC) + (off - 4u), size, val);
	} else if (off == 0 && size == 4) {
		bus.addr = val & ADDR_MASK;
	} else if (off == RCR_OFF && size == 1) {
		bus.rcr = val & RCR_HARD;
		if (val & RCR_RESET)
			dev_reset_request();
	} else if (size > 1) {
		dev_pio_split_out(cfg_write, opaque, off, size, val);
	}
}

void dev_pci_init(void)
{
	memset(&bus, 0, sizeof(bus));
	pci_fn_setup(&bus.host, 0x8086, 0x1237, 0x02, 0x060000, 0x00);
	put16(&bus.host.cfg[PCI_COMMAND], 0x0006);
	put16(&bus.host.cfg[PCI_STATUS], 0x0280);
	bus.host.cfg[0x72] = 0x02;                      /* SMRAM: compatible SMM space */
	pci_fn_setup(&bus.isa, 0x8086, 0x7000, 0x00, 0x060100, PCI_HEADER_MULTI);
	put16(&bus.isa.cfg[PCI_COMMAND], 0x0007);
	put16(&bus.isa.cfg[PCI_STATUS], 0x0200);
	memset(&bus.isa.cfg[0x60], 0x80, 4);            /* PIRQA-D routing: disabled */
	bus.isa.cfg[0x4C] = 0x4D;                       /* ISA I/O recovery timer */
	bus.isa.cfg[0x4E] = 0x03;                       /* X-bus chip select */
	bus.isa.cfg[0x69] = 0x02;                       /* top of memory */
	pci_fn_setup(&bus.ide, 0x8086, 0x7010, 0x00, 0x010180, 0x00);
	put16(&bus.ide.cfg[PCI_COMMAND], 0x0001);
	put16(&bus.ide.cfg[PCI_STATUS], 0x0280);
	put16(&bus.ide.cfg[0x40], 0x8000);              /* IDETIM primary: decode enable */
	put16(&bus.ide.cfg[0x42], 0x8000);              /* IDETIM secondary */
	pci_attach(PCI_DEVFN(0, 0), &bus.host);
	pci_attach(PCI_DEVFN(1, 0), &bus.isa);
	pci_attach(PCI_DEVFN(1, 1), &bus.ide);
	dev_pio_claim(CONFIG_ADDRESS, CONFIG_PORTS, cfg_read, cfg_write, NULL);
}
