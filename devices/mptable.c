/*
 * mptable.c - the Intel MultiProcessor Specification 1.4 tables and the BIOS data area
 * words a PC BIOS leaves behind, written into guest RAM at start-up like the ACPI tables.
 *
 * Kernels that predate ACPI or skip it (xv6's mpinit, Linux with acpi=off) learn the
 * machine from these: one processor (the BSP, APIC ID 0), one ISA bus, the I/O APIC (ID
 * IOAPIC_MP_ID at IOAPIC_BASE), an I/O interrupt entry for each ISA IRQ (IRQ0 on pin 2, the
 * rest on their own pins, and the 8259's ExtINT on pin 0, as SeaBIOS describes QEMU's PC)
 * and the local interrupts (ExtINT on LINT0, NMI on LINT1).
 *
 *   MPTABLE_ADDR        MP floating pointer (16 bytes; 0xF0000-0xFFFFF is where kernels
 *                       scan, after the EBDA's first KiB and the top KiB of base memory)
 *   MPTABLE_ADDR+0x10   configuration table (header, then entries in the order the
 *                       specification asks: processors, buses, I/O APICs, interrupts)
 *
 * BIOS data area: 0x40E holds the EBDA segment (0x9FC0: the EBDA is the last KiB of base
 * memory, as the multiboot and e820 maps say), 0x413 the base memory size in KiB (639);
 * the EBDA's first byte is its size in KiB.  Both tables are checksummed so every byte sums
 * to zero.  Called once at start-up (dev_init_all) with RAM covering the BIOS area.
 */
#include <string.h>
#include "devices/devices.h"
#include "devices/firmware.h"
#include "monitor/vmm.h"

#define MPF_LEN        16
#define MPC_ADDR       (MPTABLE_ADDR + MPF_LEN)
#define MPC_HDR_LEN    44
#define MP_SPEC_REV    4
#define IOAPIC_MP_ID   1
#define CPU_SIGNATURE  0x633u      /* what CPUID leaf 1 reports */
#define CPU_FEATURES   0x0780AB39u /* CPUID leaf 1 EDX, with APIC */

enum { MP_PROC = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINT = 3, MP_LINT = 4 };
enum { INT_FIXED = 0, INT_NMI = 1, INT_EXTINT = 3 };

#define BDA_EBDA_SEG   0x40E
#define BDA_BASE_KIB   0x413
#define EBDA_ADDR      0x9FC00u
#define BASE_KIB       639

static uint8_t *proc_entry(uint8_t *e)
{
	e[0] = MP_PROC;
	e[1] = 0;                  /* local APIC ID */
	e[2] = 0x14;               /* local APIC version */
	e[3] = 0x03;               /* enabled, bootstrap processor */
	fw_put32(e + 4, CPU_SIGNATURE);
	fw_put32(e + 8, CPU_FEATURES);
	return e + 20;
}

static uint8_t *int_entry(uint8_t *e, uint8_t type, uint8_t kind, uint8_t irq, uint8_t dest,
			  uint8_t pin)
{
	e[0] = type;
	e[1] = kind;
	fw_put16(e + 2, 0);           /* polarity and trigger: as the bus says (ISA: edge, high) */
	e[4] = 0;                  /* source bus: ISA */
	e[5] = irq;
	e[6] = dest;
	e[7] = pin;
	return e + 8;
}

/* Build the configuration table at t; returns its length. */
static unsigned build_config(uint8_t *t)
{
	uint8_t *e = t + MPC_HDR_LEN;
	unsigned count = 0;

	e = proc_entry(e), count++;
	e[0] = MP_BUS;
	memcpy(e + 2, "ISA   ", 6);
	e += 8, count++;
	e[0] = MP_IOAPIC;
	e[1] = IOAPIC_MP_ID;
	e[2] = 0x11;
	e[3] = 0x01;               /* enabled */
	fw_put32(e + 4, IOAPIC_BASE);
	e += 8, count++;
	e = int_entry(e, MP_IOINT, INT_EXTINT, 0, IOAPIC_MP_ID, 0), count++;
	for (uint8_t irq = 0; irq < 16; irq++)
		if (irq != 2)
			e = int_entry(e, MP_IOINT, INT_FIXED, irq, IOAPIC_MP_ID, irq ? irq : 2), count++;
	e = int_entry(e, MP_LINT, INT_EXTINT, 0, 0xFF, 0), count++;
	e = int_entry(e, MP_LINT, INT_NMI, 0, 0xFF, 1), count++;

	unsigned len = (unsigned)(e - t);
	memcpy(t, "PCMP", 4);
	fw_put16(t + 4, (uint16_t)len);
	t[6] = MP_SPEC_REV;
	memcpy(t + 8, "VMM386  ", 8);
	memcpy(t + 16, "VMM386PC    ", 12);
	fw_put16(t + 34, (uint16_t)count);
	fw_put32(t + 36, LAPIC_BASE);
	t[7] = fw_checksum(t, len);
	return len;
}

static void build_floating(uint8_t *f)
{
	memcpy(f, "_MP_", 4);
	fw_put32(f + 4, MPC_ADDR);
	f[8] = 1;                  /* length in 16-byte units */
	f[9] = MP_SPEC_REV;
	/* feature bytes 0: a configuration table is present; no IMCR (virtual wire) */
	f[10] = fw_checksum(f, MPF_LEN);
}

void dev_mptable_init(uint8_t *ram, uint32_t ram_bytes)
{
	if (!ram || ram_bytes < MPTABLE_END)
		return;
	memset(ram + MPTABLE_ADDR, 0, MPTABLE_END - MPTABLE_ADDR);
	build_config(ram + MPC_ADDR);
	build_floating(ram + MPTABLE_ADDR);
	fw_put16(ram + BDA_EBDA_SEG, EBDA_ADDR >> 4);
	fw_put16(ram + BDA_BASE_KIB, BASE_KIB);
	ram[EBDA_ADDR] = 1;
}
