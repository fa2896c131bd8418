/*
 * ioapic.c - the I/O APIC at IOAPIC_BASE (24 pins, version 0x11) and the IMCR.
 *
 * Wiring is a PC's: ISA IRQ n drives pin n, except the PIT's IRQ0, which drives pin 2
 * (the MP tables and the MADT's interrupt source override say so); pin 0 is left to the
 * 8259's INTR as on QEMU.  pic.c hands every ISA line change here as well as to the 8259,
 * so devices keep calling dev_pic_set_irq() and whichever controller the guest enables
 * delivers.
 *
 * Registers: IOREGSEL (offset 0x00) selects, IOWIN (0x10) reads or writes the selected
 * register: 0 ID, 1 version (max redirection entry 23), 2 arbitration ID, 0x10 + 2n / + 2n+1
 * the low and high words of redirection entry n.  An entry starts masked.
 *
 * Delivery: an edge entry sends its vector to the LAPIC when its pin becomes asserted
 * (polarity applied) and the entry is unmasked.  A level entry sends it while the pin is
 * asserted, unmasked and remote IRR is clear, and sets remote IRR; the LAPIC's EOI of that
 * vector (dev_ioapic_eoi) clears remote IRR, and the entry is looked at again, so a line
 * still held high interrupts again.  The destination field is not consulted: there is one
 * CPU.  ExtINT, NMI, SMI and INIT entries are not delivered.
 *
 * IMCR (ports 0x22/0x23): the register select and the one register, 0x70, remembered and
 * read back; in vmm386 the 8259's path is chosen by the LAPIC's LINT0 alone.
 * Runs on the vCPU thread.
 */
#include <string.h>
#include "devices/devices.h"

#define IOREGSEL     0x00
#define IOWIN        0x10
#define IOAPIC_LEN   0x20

#define REG_ID       0x00
#define REG_VER      0x01
#define REG_ARB      0x02
#define REG_TABLE    0x10
#define IOAPIC_VERSION 0x11u

#define RTE_VECTOR   0xFFu
#define RTE_DM(v)    (((v) >> 8) & 7)
#define RTE_DELIVS   (1u << 12)
#define RTE_LOWPOL   (1u << 13)
#define RTE_REMOTE   (1u << 14)
#define RTE_LEVEL    (1u << 15)
#define RTE_MASKED   (1u << 16)
#define RTE_WRITABLE 0x1AFFFu   /* all but delivery status and remote IRR */

#define IMCR_SELECT  0x22
#define IMCR_DATA    0x23

static struct ioapic {
	uint32_t sel, id;
	uint32_t lo[IOAPIC_PINS], hi[IOAPIC_PINS];
	bool line[IOAPIC_PINS];
	uint8_t imcr_sel, imcr;
} io = { .lo = { [0 ... IOAPIC_PINS - 1] = RTE_MASKED } };   /* masked before init too */

static bool asserted(int pin)
{
	return io.line[pin] != ((io.lo[pin] & RTE_LOWPOL) != 0);
}

static bool deliverable_mode(uint32_t lo)
{
	return RTE_DM(lo) <= 1;    /* fixed or lowest priority */
}

/* A level entry: send while asserted, unmasked and not awaiting EOI. */
static void level_service(int pin)
{
	uint32_t lo = io.lo[pin];

	if (!(lo & RTE_LEVEL) || (lo & (RTE_MASKED | RTE_REMOTE)) || !asserted(pin) ||
	    !deliverable_mode(lo))
		return;
	io.lo[pin] |= RTE_REMOTE;
	dev_lapic_accept((uint8_t)(lo & RTE_VECTOR), true);
}

void dev_ioapic_set_irq(int pin, int level)
{
	bool was;

	if (pin < 0 || pin >= IOAPIC_PINS)
		return;
	was = asserted(pin);
	io.line[pin] = level != 0;
	if (io.lo[pin] & RTE_LEVEL) {
		level_service(pin);
		return;
	}
	if (!was && asserted(pin) && !(io.lo[pin] & RTE_MASKED) && deliverable_mode(io.lo[pin]))
		dev_lapic_accept((uint8_t)(io.lo[pin] & RTE_VECTOR), false);
}

bool dev_isa_irq_waiting(int irq)
{
	int pin = irq == 0 ? 2 : irq;

	if (pin >= 0 && pin < IOAPIC_PINS && !(io.lo[pin] & RTE_MASKED) &&
	    deliverable_mode(io.lo[pin]))
		return dev_lapic_irr((uint8_t)(io.lo[pin] & RTE_VECTOR));
	return dev_pic_irq_latched(irq);
}

bool dev_isa_irq_masked(int irq)
{
	int pin = irq == 0 ? 2 : irq;

	if (pin >= 0 && pin < IOAPIC_PINS && !(io.lo[pin] & RTE_MASKED) &&
	    deliverable_mode(io.lo[pin]))
		return false;
	return dev_pic_irq_masked(irq);
}

void dev_ioapic_eoi(uint8_t vector)
{
	for (int pin = 0; pin < IOAPIC_PINS; pin++) {
		if ((io.lo[pin] & (RTE_LEVEL | RTE_REMOTE)) != (RTE_LEVEL | RTE_REMOTE) ||
		    (io.lo[pin] & RTE_VECTOR) != vector)
			continue;
		io.lo[pin] &= ~RTE_REMOTE;
		level_service(pin);
	}
}

static uint32_t reg_read(uint32_t reg)
{
	uint32_t pin = (reg - REG_TABLE) / 2;

	switch (reg) {
	case REG_ID:  return io.id;
	case REG_VER: return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
	case REG_ARB: return io.id;
	}
	if (reg < REG_TABLE || pin >= IOAPIC_PINS)
		return 0;
	return (reg & 1) ? io.hi[pin] : io.lo[pin];
}

static void reg_write(uint32_t reg, uint32_t v)
{
	uint32_t pin = (reg - REG_TABLE) / 2;

	if (reg == REG_ID)
		io.id = v & 0x0F000000u;
	if (reg < REG_TABLE || pin >= IOAPIC_PINS)
		return;
	if (reg & 1) {
		io.hi[pin] = v & 0xFF000000u;
		return;
	}
	io.lo[pin] = (io.lo[pin] & ~RTE_WRITABLE) | (v & RTE_WRITABLE);
	if (!(io.lo[pin] & RTE_LEVEL))
		io.lo[pin] &= ~RTE_REMOTE;
	level_service((int)pin);
}

static uint32_t ioapic_read(void *opaque, uint32_t off, int size)
{
	(void)opaque;
	uint32_t v = off < IOWIN ? io.sel : off < IOWIN + 4 ? reg_read(io.sel) : 0;
	return size == 4 ? v : (v >> (8 * (off & 3))) & ((1u << (8 * size)) - 1);
}

static void ioapic_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	(void)opaque;
	if (off == IOREGSEL)
		io.sel = val & 0xFF;
	else if (off == IOWIN && size == 4)
		reg_write(io.sel, val);
}

static uint32_t imcr_read(void *opaque, uint16_t off, int size)
{
	(void)opaque; (void)size;
	if (off == 0)
		return io.imcr_sel;
	return io.imcr_sel == 0x70 ? io.imcr : 0xFF;
}

static void imcr_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque; (void)size;
	if (off == 0)
		io.imcr_sel = (uint8_t)val;
	else if (io.imcr_sel == 0x70)
		io.imcr = (uint8_t)val & 1;
}

void dev_ioapic_init(void)
{
	memset(&io, 0, sizeof(io));
	io.id = 1u << 24;          /* the ID the MP table and the MADT give it */
	for (int pin = 0; pin < IOAPIC_PINS; pin++)
		io.lo[pin] = RTE_MASKED;
	dev_mmio_register(IOAPIC_BASE, IOAPIC_LEN, ioapic_read, ioapic_write, NULL);
	dev_pio_claim(IMCR_SELECT, 2, imcr_read, imcr_write, NULL);
}
