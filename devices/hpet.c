/*
 * hpet.c - the main counter of a high precision event timer at HPET_BASE, where QEMU's PC
 * has its HPET, for software that reads it at that fixed address (kvm-unit-tests'
 * hpet_read_test).
 *
 * Offered: the capabilities register (revision 1, three timers, 64-bit counter, legacy
 * replacement capable, vendor 8086, a 10 ns period: 100 MHz, QEMU's rate), the general
 * configuration register (ENABLE_CNF, LEG_RT_CNF kept), a zero interrupt status, and the
 * 64-bit main counter, which runs from the host's monotonic clock while ENABLE_CNF is set and
 * holds its value while it is clear; software may write it.  The comparators are not
 * implemented: the three timers' registers read 0 and writes to them are dropped, so they
 * never interrupt.  No ACPI table describes the HPET, so an OS that finds timers through ACPI
 * (Linux) keeps to the PIT and the local APIC.
 *
 * Registers are 64 bits wide; the MMIO bus hands 32-bit halves (a 64-bit read is two reads,
 * low half first, as an i386 does it).  vCPU thread only.
 */
#include <string.h>
#include "devices/devices.h"

#define HPET_LEN       0x400u
#define REG_CAP        0x000u
#define REG_CONFIG     0x010u
#define REG_ISR        0x020u
#define REG_COUNTER    0x0F0u
#define CONF_ENABLE    0x1u
#define CONF_LEG_RT    0x2u
#define HPET_PERIOD_FS 10000000u      /* 10 ns */
#define HPET_NS_TICK   10u
#define CAP_LO         (0x80860000u | 0x8000u | 0x2000u | (2u << 8) | 0x01u)

static struct hpet {
	uint32_t config;
	uint64_t counter;     /* the value while stopped; at start_ns while running */
	uint64_t start_ns;
} hpet;

static uint64_t counter_now(void)
{
	if (!(hpet.config & CONF_ENABLE))
		return hpet.counter;
	return hpet.counter + (dev_now_ns() - hpet.start_ns) / HPET_NS_TICK;
}

static uint64_t reg_read(uint32_t reg)
{
	switch (reg) {
	case REG_CAP:     return (uint64_t)HPET_PERIOD_FS << 32 | CAP_LO;
	case REG_CONFIG:  return hpet.config;
	case REG_COUNTER: return counter_now();
	default:          return 0;      /* interrupt status, timers, reserved */
	}
}

static void set_config(uint32_t v)
{
	uint64_t now = counter_now();

	hpet.config = v & (CONF_ENABLE | CONF_LEG_RT);
	hpet.counter = now;
	hpet.start_ns = dev_now_ns();
}

static void set_counter(uint64_t v)
{
	hpet.counter = v;
	hpet.start_ns = dev_now_ns();
}

static uint32_t hpet_read(void *opaque, uint32_t off, int size)
{
	uint64_t v = reg_read(off & ~7u);
	uint32_t bytes;

	(void)opaque;
	v >>= 8 * (off & 7);
	bytes = (uint32_t)v;
	return size == 4 ? bytes : bytes & ((1u << (8 * size)) - 1);
}

/* Writes reach the configuration register and the counter, 32 bits at a time. */
static void hpet_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	uint64_t cur;

	(void)opaque;
	if (size != 4 || (off & 3))
		return;
	if (off == REG_CONFIG) {
		set_config(val);
	} else if ((off & ~4u) == REG_COUNTER) {
		cur = counter_now();
		if (off & 4)
			set_counter((cur & 0xFFFFFFFFu) | (uint64_t)val << 32);
		else
			set_counter((cur & ~0xFFFFFFFFull) | val);
	}
}

void dev_hpet_init(void)
{
	memset(&hpet, 0, sizeof(hpet));
	dev_mmio_register(HPET_BASE, HPET_LEN, hpet_read, hpet_write, NULL);
}
