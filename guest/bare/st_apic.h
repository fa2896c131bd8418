/*
 * st_apic.h - what the APIC self test (st_apic.c, st_mp.c) and the IDE self test (st_ide.c)
 * share: register access to the local APIC and the I/O APIC, the interrupt record their
 * vectors fill, and what the MP table said.
 *
 * Paging is off in these groups, so the APICs are reached at their physical addresses.
 */
#ifndef GUEST_ST_APIC_H
#define GUEST_ST_APIC_H

#include "selftest.h"

#define LAPIC_ADDR   0xFEE00000u
#define IOAPIC_ADDR  0xFEC00000u

/* Local APIC registers (byte offsets). */
#define APIC_ID      0x020
#define APIC_VER     0x030
#define APIC_TPR     0x080
#define APIC_PPR     0x0A0
#define APIC_EOI     0x0B0
#define APIC_SVR     0x0F0
#define APIC_ISR     0x100
#define APIC_TMR     0x180
#define APIC_IRR     0x200
#define APIC_ESR     0x280
#define APIC_ICR_LO  0x300
#define APIC_ICR_HI  0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_TICR    0x380
#define APIC_TCCR    0x390
#define APIC_TDCR    0x3E0

#define LVT_MASKED   (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define ICR_SELF     (1u << 18)   /* destination shorthand: self */
#define ICR_BUSY     (1u << 12)   /* delivery status: send pending */

/* I/O APIC: register numbers behind IOREGSEL/IOWIN. */
#define IOAPIC_ID    0x00
#define IOAPIC_VER   0x01
#define IOAPIC_RTE(pin) (0x10 + 2 * (pin))
#define RTE_MASKED   (1u << 16)
#define RTE_LEVEL    (1u << 15)
#define RTE_REMOTE   (1u << 14)
#define RTE_LOWPOL   (1u << 13)

static inline uint32_t lapic_rd(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC_ADDR + reg);
}

static inline void lapic_wr(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC_ADDR + reg) = v;
}

static inline uint32_t ioapic_rd(uint32_t reg)
{
	*(volatile uint32_t *)IOAPIC_ADDR = reg;
	return *(volatile uint32_t *)(IOAPIC_ADDR + 0x10);
}

static inline void ioapic_wr(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC_ADDR = reg;
	*(volatile uint32_t *)(IOAPIC_ADDR + 0x10) = v;
}

/* Is vector v's bit set in the 256-bit register starting at reg (ISR, TMR, IRR)? */
static inline int lapic_vec_bit(uint32_t reg, int v)
{
	return (lapic_rd(reg + 0x10 * (uint32_t)(v >> 5)) >> (v & 31)) & 1;
}

/* Interrupts the APIC vectors brought (st_apic.c's handler, installed as apic_irq_hook by
 * apic_irq_begin).  The handler sends the LAPIC its EOI (none for the spurious vector) and,
 * for the vector being handled, keeps what the LAPIC showed: its ISR, IRR and TMR bits
 * and PPR.  pre_eoi, if set, runs in the handler just before the EOI. */
#define APIC_NVEC (VEC_APIC_LAST - VEC_APIC_FIRST + 2)   /* the last slot: spurious */
struct apic_irqs {
	uint32_t count[APIC_NVEC];
	int log[8];
	unsigned nlog;
	int in_isr, in_irr, in_tmr;
	uint32_t ppr;
	void (*pre_eoi)(int vector);
};
extern volatile struct apic_irqs apic_irqs;
void apic_irq_begin(void);          /* clear the record and install the handler */
void apic_irq_end(void);            /* remove it, interrupts off */
uint32_t apic_count(int vector);
/* Spin with IF=1 until vector has arrived want times in all; 0 if it did not. */
int apic_wait(int vector, uint32_t want);

/* The MP table (st_mp.c): parsed once by st_mp_parse, the first APIC group. */
struct mp_info {
	int found;                  /* floating pointer and configuration table both valid */
	uint32_t lapic_addr;
	int nproc, bsp_apic_id;     /* bsp_apic_id: -1 without an enabled bootstrap processor */
	int isa_bus;                /* the ISA bus's ID, -1 if none */
	int nioapic, ioapic_id, ioapic_enabled;
	uint32_t ioapic_addr;
	int isa_pin[16], isa_dst[16];   /* I/O interrupt entries of the ISA bus (-1: none) */
};
extern struct mp_info mp_info;
void st_mp_parse(void);

#endif
