/*
 * acpi.c - the least ACPI a PC needs for an operating system to power it off: the tables
 * a BIOS would leave in the BIOS area, and the fixed-hardware PM registers they describe.
 *
 * Tables (ACPI 1.0 layout, built here in C and checksummed; no AML compiler needed):
 *   RSDP  at ACPI_RSDP_ADDR (16-byte aligned in 0xE0000-0xFFFFF, where OSes scan for it)
 *   RSDT  two entries: the FADT and the MADT
 *   FADT  revision 1: SCI on IRQ 9, no SMI command port (the machine is always in ACPI
 *         mode, so SCI_EN reads as 1), PM1a event and control blocks and the PM timer at
 *         ACPI_PM_BASE as on QEMU's PIIX4 (0x600, 0x604, 0x608), no GPE blocks, C2/C3 not
 *         supported, 24-bit timer
 *   FACS  64 bytes, no firmware waking vector
 *   DSDT  Name(_S5, Package(4){5, 5, 0, 0}) - the sleep type of soft-off - and the PCI root
 *         bridge, \_SB.PCI0 (PNP0A03, bus 0; pci.c): an OS that takes its PCI buses from ACPI
 *         finds the bus through it.  Its _CRS gives bus 0-255, the I/O ports around the
 *         configuration ports, the VGA window and 0xC0000000-0xFEBFFFFF (above the most RAM
 *         vmm386 offers, below the I/O APIC) as the bridge's windows.
 *   MADT  the local APIC (ID 0) at LAPIC_BASE, PC-AT compatible (8259s present), the I/O
 *         APIC (ID 1, GSI base 0) at IOAPIC_BASE, the overrides ISA IRQ0 -> GSI 2 and the
 *         SCI (IRQ 9) active high, level - as the line is wired here; without it an OS takes
 *         the ACPI default (active low) and sees an idle line as asserted - and NMI on
 *         LINT1: the machine the MP tables (mptable.c) describe
 *
 * Registers (ports from ACPI_PM_BASE):
 *   +0 PM1_STS (16, write 1 to clear)   +2 PM1_EN (16)
 *   +4 PM1_CNT (16): SCI_EN (bit 0) always 1; writing SLP_EN (bit 13) with SLP_TYP (bits
 *      10-12) = 5 powers the machine off: the run loop stops and vmm386 exits with status 0,
 *      as QEMU does.  Other sleep types are not offered (no _S1.._S4), so they are ignored.
 *   +8 PM_TMR (32, read only): 3.579545 MHz, 24 bits, from the host's monotonic clock.
 *
 * The area the tables occupy is reserved in the e820 map (loader/linux.c) and lies outside
 * the multiboot memory map (mem_lower ends at 639 KiB).  Runs on the vCPU thread.
 */
#include <stdio.h>
#include <string.h>
#include "devices/devices.h"
#include "devices/firmware.h"
#include "monitor/vmm.h"

#define PM1_STS      0
#define PM1_EN       2
#define PM1_CNT      4
#define PM_TMR       8
#define PM_LEN       12
#define CNT_SCI_EN   0x0001u
#define CNT_SLP_TYP  0x1C00u
#define CNT_SLP_EN   0x2000u
#define SLP_TYP_S5   5u
#define PM_TMR_HZ    3579545u
#define SCI_IRQ      9

#define RSDT_ADDR    (ACPI_RSDP_ADDR + 0x40)
#define FADT_ADDR    (ACPI_RSDP_ADDR + 0x80)
#define FACS_ADDR    (ACPI_RSDP_ADDR + 0x140)   /* 64-byte aligned */
#define DSDT_ADDR    (ACPI_RSDP_ADDR + 0x200)
#define MADT_ADDR    (ACPI_RSDP_ADDR + 0x300)
#define ACPI_END     (ACPI_RSDP_ADDR + 0x400)
#define HDR_LEN      36
#define FADT_LEN     116

static struct acpi {
	struct dev_stop stop;
	uint16_t sts, en, cnt;
} acpi;


/* The common 36-byte header; the checksum is set by seal() once the body is written. */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	fw_put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "VMM386", 6);
	memcpy(t + 16, "VMM386PC", 8);
	fw_put32(t + 24, 1);              /* OEM revision */
	memcpy(t + 28, "VMMX", 4);    /* creator */
	fw_put32(t + 32, 1);
}

static void seal(uint8_t *t)
{
	uint32_t len;
	memcpy(&len, t + 4, 4);
	t[9] = 0;
	t[9] = fw_checksum(t, len);
}

static void build_fadt(uint8_t *t)
{
	header(t, "FACP", FADT_LEN, 1);
	fw_put32(t + 36, FACS_ADDR);
	fw_put32(t + 40, DSDT_ADDR);
	fw_put16(t + 46, SCI_IRQ);
	fw_put32(t + 56, ACPI_PM_BASE + PM1_STS);   /* PM1a event block */
	fw_put32(t + 64, ACPI_PM_BASE + PM1_CNT);   /* PM1a control block */
	fw_put32(t + 76, ACPI_PM_BASE + PM_TMR);
	t[88] = 4;                              /* PM1 event block length */
	t[89] = 2;                              /* PM1 control block length */
	t[91] = 4;                              /* PM timer length */
	fw_put16(t + 96, 101);                      /* C2 latency > 100: no C2 */
	fw_put16(t + 98, 1001);                     /* C3 latency > 1000: no C3 */
	fw_put32(t + 112, 0x1u | 0x4u | 0x10u | 0x20u);  /* WBINVD, C1, power/sleep buttons
							  not fixed features */
	seal(t);
}

/* Little-endian words and dwords inside the AML byte arrays below. */
#define W(v) (uint8_t)(v), (uint8_t)((v) >> 8)
#define D(v) W(v), W((v) >> 16)

/* The PCI root bridge's resources: bus 0-255, the configuration ports, the I/O space around
 * them, the legacy VGA window and the hole between RAM (at most 3 GiB) and the I/O APIC. */
#define CRS_LEN 110
#define PCI_HOLE 0xC0000000u

static void build_dsdt(uint8_t *t)
{
	static const uint8_t aml[] = {
		0x08, '_', 'S', '5', '_',             /* Name(_S5, */
		0x12, 0x08, 0x04,                     /* Package, length 8, 4 elements */
		0x0A, SLP_TYP_S5, 0x0A, SLP_TYP_S5,   /* BytePrefix 5, BytePrefix 5 */
		0x00, 0x00,                           /* Zero, Zero */
		0x10, 0x4D, 0x09, '\\', '_', 'S', 'B', '_',   /* Scope(\_SB_), length 157 */
		0x5B, 0x82, 0x44, 0x09, 'P', 'C', 'I', '0',    /* Device(PCI0), length 148 */
		0x08, '_', 'H', 'I', 'D',             /* Name(_HID, EisaId("PNP0A03")) */
		0x0C, 0x41, 0xD0, 0x0A, 0x03,
		0x08, '_', 'A', 'D', 'R', 0x00,       /* Name(_ADR, Zero) */
		0x08, '_', 'U', 'I', 'D', 0x00,       /* Name(_UID, Zero) */
		0x08, '_', 'C', 'R', 'S',             /* Name(_CRS, Buffer(110) { */
		0x11, 0x42, 0x07, 0x0A, CRS_LEN,
		/* WordBusNumber: producer, fixed, 0-0xFF */
		0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, W(0), W(0), W(0xFF), W(0), W(0x100),
		/* IO(Decode16, 0xCF8, 0xCF8, 1, 8) */
		0x47, 0x01, W(0xCF8), W(0xCF8), 0x01, 0x08,
		/* WordIO: 0-0xCF7 and 0xD00-0xFFFF, entire range */
		0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, W(0), W(0), W(0xCF7), W(0), W(0xCF8),
		0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, W(0), W(0xD00), W(0xFFFF), W(0), W(0xF300),
		/* DWordMemory, cacheable, read/write: 0xA0000-0xBFFFF and the PCI hole */
		0x87, 0x17, 0x00, 0x00, 0x0C, 0x03, D(0), D(0xA0000), D(0xBFFFF), D(0), D(0x20000),
		0x87, 0x17, 0x00, 0x00, 0x0C, 0x03, D(0), D(PCI_HOLE), D(IOAPIC_BASE - 1), D(0),
		D(IOAPIC_BASE - PCI_HOLE),
		0x79, 0x00,                           /* EndTag }) */
	};
	_Static_assert(sizeof(aml) == 14 + 158, "DSDT package lengths");
	_Static_assert(HDR_LEN + sizeof(aml) <= MADT_ADDR - DSDT_ADDR, "DSDT overlaps the MADT");
	header(t, "DSDT", HDR_LEN + sizeof(aml), 1);
	memcpy(t + HDR_LEN, aml, sizeof(aml));
	seal(t);
}

static void build_madt(uint8_t *t)
{
	static const uint8_t entries[] = {
		0, 8, 0, 0, 1, 0, 0, 0,                 /* processor local APIC: enabled */
		1, 12, 1, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0,   /* I/O APIC 1 at 0xFEC00000, GSI 0 */
		2, 10, 0, 0, 2, 0, 0, 0, 0, 0,          /* ISA IRQ0 -> GSI 2, bus polarity */
		2, 10, 0, 9, 9, 0, 0, 0, 0x0D, 0,       /* SCI: IRQ 9 -> GSI 9, active high, level */
		4, 6, 0xFF, 0, 0, 1,                    /* local APIC NMI on LINT1, all CPUs */
	};
	header(t, "APIC", HDR_LEN + 8 + sizeof(entries), 1);
	fw_put32(t + HDR_LEN, LAPIC_BASE);
	fw_put32(t + HDR_LEN + 4, 1);               /* PCAT_COMPAT: 8259s present */
	memcpy(t + HDR_LEN + 8, entries, sizeof(entries));
	seal(t);
}

/* Write the tables into guest RAM (which must reach ACPI_END). */
static void build_tables(uint8_t *ram)
{
	uint8_t *rsdp = ram + ACPI_RSDP_ADDR, *rsdt = ram + RSDT_ADDR;
	memset(rsdp, 0, ACPI_END - ACPI_RSDP_ADDR);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "VMM386", 6);
	fw_put32(rsdp + 16, RSDT_ADDR);               /* revision 0: ACPI 1.0, 20 bytes */
	rsdp[8] = fw_checksum(rsdp, 20);
	header(rsdt, "RSDT", HDR_LEN + 8, 1);
	fw_put32(rsdt + HDR_LEN, FADT_ADDR);
	fw_put32(rsdt + HDR_LEN + 4, MADT_ADDR);
	seal(rsdt);
	build_fadt(ram + FADT_ADDR);
	uint8_t *facs = ram + FACS_ADDR;
	memcpy(facs, "FACS", 4);
	fw_put32(facs + 4, 64);
	build_dsdt(ram + DSDT_ADDR);
	build_madt(ram + MADT_ADDR);
}

static uint32_t pm_timer(void)
{
	unsigned __int128 ticks = (unsigned __int128)dev_now_ns() * PM_TMR_HZ / 1000000000u;
	return (uint32_t)ticks & 0xFFFFFFu;
}

static uint32_t pm_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	uint32_t v;
	if (off >= PM_TMR)
		v = pm_timer() >> (8 * (off - PM_TMR));
	else if (off >= PM1_CNT)
		v = (uint32_t)(acpi.cnt | CNT_SCI_EN) >> (8 * (off - PM1_CNT));
	else {
		uint32_t pair = acpi.sts | (uint32_t)acpi.en << 16;
		v = pair >> (8 * off);
	}
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void pm_cnt_write(uint16_t val)
{
	acpi.cnt = val & (uint16_t)~CNT_SLP_EN;    /* SLP_EN reads as 0 */
	if ((val & CNT_SLP_EN) && ((val & CNT_SLP_TYP) >> 10) == SLP_TYP_S5 && acpi.stop.fn)
		acpi.stop.fn(acpi.stop.cookie, EXIT_STATUS_OK);
}

static void pm_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	if (off == PM1_STS) {
		acpi.sts &= (uint16_t)~val;
		if (size == 4)
			acpi.en = (uint16_t)(val >> 16);
	} else if (off == PM1_EN && size >= 2) {
		acpi.en = (uint16_t)val;
	} else if (off == PM1_CNT && size >= 2) {
		pm_cnt_write((uint16_t)val);
	}
	/* byte writes to the 16-bit registers and writes to the timer: ignored */
}

void dev_acpi_init(uint8_t *ram, uint32_t ram_bytes, struct dev_stop stop)
{
	acpi = (struct acpi){ .stop = stop, .cnt = CNT_SCI_EN };
	if (ram && ram_bytes >= ACPI_END)
		build_tables(ram);
	dev_pio_claim(ACPI_PM_BASE, PM_LEN, pm_read, pm_write, NULL);
}
