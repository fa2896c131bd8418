/*
 * pic.c - the 8259A programmable interrupt controller pair of the PC.
 *
 * Master at 0x20-0x21, slave at 0xA0-0xA1 cascaded on the master's IR2, and the PIIX
 * edge/level control registers (ELCR) at 0x4D0-0x4D1.  The model keeps, per chip:
 *   - line: the level each IR input is driven at by its device;
 *   - irr:  requests.  Edge mode latches a 0->1 transition of line; level mode (ELCR bit
 *           set) follows line.  Dropping line withdraws a request not yet acknowledged;
 *   - isr:  in service, set by INTA (unless auto-EOI), cleared by EOI;
 *   - imr:  masked inputs.
 * Priorities rotate: prio_add is the IR that currently has the highest priority.  The
 * slave's INT output (does it have a deliverable request?) is the master's IR2 line, kept
 * up to date by pic_update() after every change; its edge stays latched in the master's
 * IRR even if the slave's request goes away.  An INTA that finds nothing deliverable
 * returns the spurious vector (IR7 of that chip) and sets no ISR bit on that chip; a slave
 * spurious (IRQ 15) leaves IR2 in service on the master, as on the real part, so the
 * guest must EOI the master.
 *
 * Before the guest programs the chips they are left as a BIOS leaves them: vectors 0x08 and
 * 0x70, everything masked except the cascade.
 */
#include <string.h>
#include "devices/devices.h"

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE  0xA0
#define PIC_ELCR_BASE   0x4D0
#define PIC_CASCADE_IR  2

/* Port offsets. */
#define PIC_CMD  0 /* ICW1, OCW2, OCW3 / read IRR, ISR or poll */
#define PIC_DATA 1 /* ICW2-4, OCW1 (IMR) */

/* Command bits on PIC_CMD. */
#define ICW1_INIT   0x10
#define ICW1_ICW4   0x01
#define ICW1_SINGLE 0x02
#define OCW3_SEL    0x08 /* with ICW1_INIT clear: OCW3, else OCW2 */
#define OCW3_RR     0x02 /* read register command ... */
#define OCW3_RIS    0x01 /* ... 1 = ISR, 0 = IRR */
#define OCW3_POLL   0x04
#define OCW3_ESMM   0x40 /* enable special-mask change ... */
#define OCW3_SMM    0x20 /* ... to this */
#define ICW4_AEOI   0x02
#define ICW4_SFNM   0x10

/* OCW2 commands (bits 7-5). */
enum {
	OCW2_ROT_AEOI_CLR = 0, OCW2_EOI = 1, OCW2_NOP = 2, OCW2_SEOI = 3,
	OCW2_ROT_AEOI_SET = 4, OCW2_ROT_EOI = 5, OCW2_SET_PRIO = 6, OCW2_ROT_SEOI = 7,
};

struct pic {
	uint8_t irr, isr, imr;
	uint8_t line;       /* level of each IR input */
	uint8_t elcr;       /* 1 = level triggered */
	uint8_t elcr_mask;  /* ELCR bits that may be set (timer, keyboard, cascade, FPU: no) */
	uint8_t base;       /* ICW2: vector of IR0 */
	uint8_t prio_add;   /* IR with the highest priority */
	uint8_t init_step;  /* 0: initialised; 2, 3, 4: ICW expected next on PIC_DATA */
	bool master;
	bool icw4_needed, single, auto_eoi, rotate_aeoi, sfnm;
	bool special_mask, read_isr, poll;
};

static struct pic pics[2]; /* [0] master, [1] slave */

/* Priority rank (0 = highest) of the best request in mask, or 8 if mask is empty. */
static int pic_rank(const struct pic *p, uint8_t mask)
{
	for (int r = 0; r < 8; r++)
		if (mask & (1u << ((r + p->prio_add) & 7)))
			return r;
	return 8;
}

static int pic_ir_of_rank(const struct pic *p, int rank)
{
	return (rank + p->prio_add) & 7;
}

/* The IR this chip would signal now (request beats everything in service), or -1. */
static int pic_best(const struct pic *p)
{
	int req = pic_rank(p, p->irr & ~p->imr);
	uint8_t busy = p->isr;
	int cur;

	if (req == 8)
		return -1;
	if (p->special_mask)
		busy &= ~p->imr;
	cur = pic_rank(p, busy);
	if (req < cur)
		return pic_ir_of_rank(p, req);
	/* Special fully nested: the master lets a slave request through a busy IR2. */
	if (p->sfnm && req == cur && pic_ir_of_rank(p, req) == PIC_CASCADE_IR)
		return PIC_CASCADE_IR;
	return -1;
}

static void pic_set_line(struct pic *p, int ir, int level)
{
	uint8_t bit = 1u << ir;

	if (level) {
		if ((p->elcr & bit) || !(p->line & bit))
			p->irr |= bit;
		p->line |= bit;
	} else {
		p->line &= ~bit;
		p->irr &= ~bit;
	}
}

/* Propagate the slave's INT output to the master's IR2.  Unlike a device line, the cascade
 * is latched by its rising edge and not withdrawn when the slave's request goes away; an
 * INTA then finds nothing on the slave and gets spurious IRQ 15, as on a real PC. */
static void pic_update(void)
{
	struct pic *m = &pics[0];
	uint8_t bit = 1u << PIC_CASCADE_IR;

	if (pic_best(&pics[1]) < 0) {
		m->line &= ~bit;
		return;
	}
	if (!(m->line & bit))
		m->irr |= bit;
	m->line |= bit;
}

/* INTA on one chip for IR ir: the request becomes in service. */
static void pic_accept(struct pic *p, int ir)
{
	uint8_t bit = 1u << ir;

	if (!(p->elcr & bit))
		p->irr &= ~bit;
	if (!p->auto_eoi)
		p->isr |= bit;
	else if (p->rotate_aeoi)
		p->prio_add = (ir + 1) & 7;
}

void dev_pic_set_irq(int irq, int level)
{
	if (irq < 0 || irq > 15)
		return;
	dev_ioapic_set_irq(irq == 0 ? 2 : irq, level);   /* the same line on the I/O APIC */
	if (irq == PIC_CASCADE_IR)
		irq = 9; /* the ISA bus's IRQ2 pin is wired to the slave's IR1 */
	pic_set_line(&pics[irq >> 3], irq & 7, level);
	pic_update();
}

bool dev_pic_irq_latched(int irq)
{
	if (irq < 0 || irq > 15)
		return false;
	return pics[irq >> 3].irr & (1u << (irq & 7));
}

bool dev_pic_irq_masked(int irq)
{
	if (irq < 0 || irq > 15)
		return true;
	if (irq >= 8 && (pics[0].imr & (1u << PIC_CASCADE_IR)))
		return true;
	return pics[irq >> 3].imr & (1u << (irq & 7));
}

int dev_pic_pending(void)
{
	const struct pic *m = &pics[0], *s = &pics[1];
	int ir = pic_best(m), sir;

	if (ir < 0)
		return -1;
	if (ir != PIC_CASCADE_IR || m->single)
		return m->base + ir;
	sir = pic_best(s);
	return s->base + (sir < 0 ? 7 : sir);
}

int dev_pic_ack(void)
{
	struct pic *m = &pics[0], *s = &pics[1];
	int ir = pic_best(m), sir, vec;

	if (ir < 0)
		return m->base + 7; /* spurious IRQ 7: the request went away */
	pic_accept(m, ir);
	if (ir != PIC_CASCADE_IR || m->single) {
		vec = m->base + ir;
	} else {
		sir = pic_best(s);
		if (sir < 0) {
			vec = s->base + 7; /* spurious IRQ 15 */
		} else {
			pic_accept(s, sir);
			vec = s->base + sir;
		}
		m->line &= ~(1u << PIC_CASCADE_IR); /* INT drops during INTA */
	}
	pic_update();
	return vec;
}

/* --- register access --------------------------------------------------------------- */

static void pic_eoi(struct pic *p, int ir, bool rotate)
{
	if (ir < 0)
		return;
	p->isr &= ~(1u << ir);
	if (rotate)
		p->prio_add = (ir + 1) & 7;
}

static int pic_highest_isr(const struct pic *p)
{
	int r = pic_rank(p, p->isr);

	return r == 8 ? -1 : pic_ir_of_rank(p, r);
}

static void pic_ocw2(struct pic *p, uint8_t val)
{
	int ir = val & 7;

	switch (val >> 5) {
	case OCW2_EOI:          pic_eoi(p, pic_highest_isr(p), false); break;
	case OCW2_ROT_EOI:      pic_eoi(p, pic_highest_isr(p), true); break;
	case OCW2_SEOI:         pic_eoi(p, ir, false); break;
	case OCW2_ROT_SEOI:     pic_eoi(p, ir, true); break;
	case OCW2_SET_PRIO:     p->prio_add = (ir + 1) & 7; break;
	case OCW2_ROT_AEOI_SET: p->rotate_aeoi = true; break;
	case OCW2_ROT_AEOI_CLR: p->rotate_aeoi = false; break;
	case OCW2_NOP:          break;
	}
}

static void pic_ocw3(struct pic *p, uint8_t val)
{
	if (val & OCW3_POLL)
		p->poll = true;
	if (val & OCW3_RR)
		p->read_isr = val & OCW3_RIS;
	if (val & OCW3_ESMM)
		p->special_mask = val & OCW3_SMM;
}

/* ICW1 starts initialisation: state is reset, the edge detectors forget past edges. */
static void pic_icw1(struct pic *p, uint8_t val)
{
	p->init_step = 2;
	p->icw4_needed = val & ICW1_ICW4;
	p->single = val & ICW1_SINGLE;
	p->irr = p->line & p->elcr;
	p->isr = p->imr = 0;
	p->prio_add = 0;
	p->auto_eoi = p->rotate_aeoi = p->sfnm = false;
	p->special_mask = p->read_isr = p->poll = false;
}

static void pic_write_data(struct pic *p, uint8_t val)
{
	switch (p->init_step) {
	case 0:
		p->imr = val;
		break;
	case 2: /* ICW2 */
		p->base = val & 0xF8;
		p->init_step = !p->single ? 3 : p->icw4_needed ? 4 : 0;
		break;
	case 3: /* ICW3: the cascade is wired on IR2 whatever the guest says */
		p->init_step = p->icw4_needed ? 4 : 0;
		break;
	case 4: /* ICW4 */
		p->auto_eoi = val & ICW4_AEOI;
		p->sfnm = p->master && (val & ICW4_SFNM);
		p->init_step = 0;
		break;
	}
}

/* Poll command: the read that follows acts as an INTA on this chip alone. */
static uint8_t pic_poll_read(struct pic *p)
{
	int ir = pic_best(p);

	p->poll = false;
	if (ir < 0)
		return 0;
	pic_accept(p, ir);
	return 0x80 | ir;
}

static uint32_t pic_read(void *opaque, uint16_t off, int size)
{
	struct pic *p = opaque;
	uint8_t val;

	if (size != 1)
		return dev_pio_split_in(pic_read, opaque, off, size);
	switch (off) {
	case PIC_CMD:
		if (p->poll)
			val = pic_poll_read(p);
		else
			val = p->read_isr ? p->isr : p->irr;
		break;
	default:
		val = p->imr;
		break;
	}
	pic_update();
	return val;
}

static void pic_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	struct pic *p = opaque;

	if (size != 1) {
		dev_pio_split_out(pic_write, opaque, off, size, val);
		return;
	}
	if (off == PIC_DATA)
		pic_write_data(p, val);
	else if (val & ICW1_INIT)
		pic_icw1(p, val);
	else if (val & OCW3_SEL)
		pic_ocw3(p, val);
	else
		pic_ocw2(p, val);
	pic_update();
}

/* ELCR: one byte per chip, offset 0 master, 1 slave. */
static uint32_t elcr_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	if (size != 1)
		return dev_pio_split_in(elcr_read, opaque, off, size);
	return pics[off].elcr;
}

static void elcr_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	struct pic *p = &pics[off];

	if (size != 1) {
		dev_pio_split_out(elcr_write, opaque, off, size, val);
		return;
	}
	p->elcr = val & p->elcr_mask;
	p->irr = (p->irr & ~p->elcr) | (p->line & p->elcr);
	pic_update();
}

static void pic_reset(struct pic *p, bool master)
{
	memset(p, 0, sizeof(*p));
	p->master = master;
	p->base = master ? 0x08 : 0x70;
	p->imr = master ? (uint8_t)~(1u << PIC_CASCADE_IR) : 0xFF;
	p->elcr_mask = master ? 0xF8 : 0xDE;
}

void dev_pic_init(void)
{
	pic_reset(&pics[0], true);
	pic_reset(&pics[1], false);
	dev_pio_claim(PIC_MASTER_BASE, 2, pic_read, pic_write, &pics[0]);
	dev_pio_claim(PIC_SLAVE_BASE, 2, pic_read, pic_write, &pics[1]);
	dev_pio_claim(PIC_ELCR_BASE, 2, elcr_read, elcr_write, NULL);
}
