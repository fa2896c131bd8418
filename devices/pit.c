/*
 * pit.c - the 8254 programmable interval timer (0x40-0x43) and system control port B (0x61).
 *
 * Nothing ticks: a counter is described by the host time it started counting (t0), the
 * input clocks it had already counted before that (done, for a gate that paused it) and
 * its initial count; its value and OUT pin are computed from dev_now_ns() when the guest
 * looks.  So the counters follow real time at 1.193182 MHz, which is what Linux's TSC
 * calibration (channel 2 gated by port 0x61 bit 0, OUT seen in bit 5) relies on.
 *
 * Channel 0 drives IRQ0.  dev_pit_poll() delivers the next rising edge of its OUT that is
 * due (one edge per poll at most; in the periodic modes, periods the host ran late are
 * delivered later, one after each taken interrupt, up to PIT_CATCHUP of them) by pulsing
 * the line low and high, and reports when the following edge is due.  Channel 1 (DRAM refresh)
 * counts but drives nothing; port 0x61 bit 4 toggles every 15 us as the refresh does.
 *
 * Modes 0-5 are modelled; a count written to a running mode 2/3 counter restarts it at once
 * (the real part waits for the end of the period).  Gate: channel 0 and 1 always high.
 */
#include <string.h>
#include "devices/devices.h"

#define PIT_BASE     0x40
#define PORTB        0x61
#define PIT_HZ       1193182u
#define NS_PER_S     1000000000u
#define REFRESH_NS   15085u   /* port 0x61 bit 4 half period */
#define NEVER        UINT64_MAX

/* Port offsets. */
#define PIT_CH0  0
#define PIT_CH2  2
#define PIT_CTRL 3

/* Control word. */
#define CW_SC(v)    ((v) >> 6)         /* 3: read-back */
#define CW_RW(v)    (((v) >> 4) & 3)   /* 0: latch; 1 lo; 2 hi; 3 lo then hi */
#define CW_MODE(v)  (((v) >> 1) & 7)
#define CW_BCD      0x01
#define RB_NOCOUNT  0x20               /* read-back: don't latch the count */
#define RB_NOSTATUS 0x10               /* read-back: don't latch the status */
#define ST_OUT      0x80
#define ST_NULL     0x40

enum { RW_LATCH, RW_LO, RW_HI, RW_WORD };

/* Port 0x61 bits. */
#define PB_GATE2    0x01
#define PB_SPKR     0x02
#define PB_RW_MASK  0x0F   /* bits the guest may write */
#define PB_REFRESH  0x10
#define PB_OUT2     0x20

struct pit_chan {
	uint8_t mode, rw, ctrl;   /* ctrl: bits 5-0 of the control word, for status */
	bool bcd;
	bool gate;
	bool loaded;              /* a count was written since the control word */
	bool armed;               /* modes 1 and 5: count loaded, waiting for a gate edge */
	bool counting;            /* counting now (started and not paused by gate) */
	bool null_count;          /* control word written, count not loaded yet */
	uint32_t init;            /* initial count, 1..65536 (binary) or 1..10000 (BCD) */
	uint64_t t0;              /* host ns when counting (re)started */
	uint64_t done;            /* input clocks counted before t0 */
	bool write_hi;            /* RW_WORD: next byte written is the high one */
	uint8_t write_lo;
	bool read_hi;             /* RW_WORD: next byte read is the high one */
	bool count_latched, status_latched;
	uint16_t latch;
	uint8_t status;           /* latched status byte */
	bool latch_hi;            /* RW_WORD latch: low byte already read */
	uint64_t irq_next;        /* channel 0: clock count of the next OUT rising edge */
	uint64_t irq_deadline;    /* channel 0: host ns of irq_next, or NEVER */
};

static struct pit {
	struct pit_chan ch[3];
	uint8_t portb;
} pit = { .ch[0].irq_deadline = NEVER }; /* dev_poll before dev_pit_init: nothing due */

/* --- time -------------------------------------------------------------------------- */

static uint64_t ns_to_clocks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / NS_PER_S);
}

/* The first host ns offset at which ns_to_clocks() reaches clocks. */
static uint64_t clocks_to_ns(uint64_t clocks)
{
	return (uint64_t)(((unsigned __int128)clocks * NS_PER_S + PIT_HZ - 1) / PIT_HZ);
}

/* Input clocks counted since the count was loaded (or triggered). */
static uint64_t pit_elapsed(const struct pit_chan *c, uint64_t now)
{
	uint64_t d = c->done;

	if (c->counting && now > c->t0)
		d += ns_to_clocks(now - c->t0);
	return d;
}

static void pit_start(struct pit_chan *c, uint64_t now)
{
	c->t0 = now;
	c->done = 0;
	c->counting = true;
}

/* --- counter value and OUT --------------------------------------------------------- */

static uint32_t pit_modulus(const struct pit_chan *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint32_t pit_count_at(const struct pit_chan *c, uint64_t d)
{
	uint32_t n = c->init, half = (n + 1) / 2, ph;

	switch (c->mode) {
	case 2:
		return n - (uint32_t)(d % n);
	case 3:
		ph = (uint32_t)(d % n);
		return (ph < half ? n - 2 * ph : n - 2 * (ph - half)) & ~1u;
	default: /* 0, 1, 4, 5: count down through zero and wrap */
		return (uint32_t)((n + pit_modulus(c) - d % pit_modulus(c)) % pit_modulus(c));
	}
}

static bool pit_out_at(const struct pit_chan *c, uint64_t d)
{
	uint32_t n = c->init;

	switch (c->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		return d % n != n - 1;
	case 3:
		return d % n < (n + 1) / 2;
	default: /* 4, 5 */
		return d != n;
	}
}

static bool pit_started(const struct pit_chan *c)
{
	return c->loaded && !c->armed;
}

static bool pit_out(const struct pit_chan *c, uint64_t now)
{
	if (!pit_started(c))
		return c->mode != 0 || c->armed; /* mode 0 OUT goes low on the control word */
	if (!c->gate && (c->mode == 2 || c->mode == 3))
		return true;
	return pit_out_at(c, pit_elapsed(c, now));
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 |
			  v % 10);
}

static uint32_t from_bcd(uint16_t v)
{
	return (v >> 12 & 15) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 + (v & 15);
}

static uint16_t pit_count(const struct pit_chan *c, uint64_t now)
{
	uint32_t v = pit_started(c) ? pit_count_at(c, pit_elapsed(c, now)) : c->init;

	v %= pit_modulus(c);
	return c->bcd ? to_bcd(v) : (uint16_t)v;
}

/* --- channel 0 interrupt ------------------------------------------------------------ */

/* Clock count (since start) of the first OUT rising edge after clock d, or NEVER. */
static uint64_t pit_next_edge(const struct pit_chan *c, uint64_t d)
{
	switch (c->mode) {
	case 2:
	case 3:
		return (d / c->init + 1) * c->init;
	case 0:
		return d < c->init ? c->init : NEVER;
	case 4:
		return d < c->init + 1 ? c->init + 1 : NEVER;
	default:
		return NEVER; /* 1, 5: channel 0's gate never rises */
	}
}

/* Host time of channel 0's next rising edge (irq_next), or NEVER.  Channel 0's gate is
 * always high, so once counting, t0 and done stay fixed until it is reprogrammed. */
static uint64_t pit_irq0_deadline(const struct pit_chan *c)
{
	if (c->irq_next == NEVER || !c->counting)
		return NEVER;
	return c->t0 + clocks_to_ns(c->irq_next - c->done);
}

static void pit_irq0_rearm(void)
{
	struct pit_chan *c = &pit.ch[0];

	c->irq_next = pit_started(c) ? pit_next_edge(c, 0) : NEVER;
	c->irq_deadline = pit_irq0_deadline(c);
	if (c->mode == 0)
		dev_pic_set_irq(0, 0); /* OUT low until the terminal count */
}

/*
 * Periodic modes keep the periods they could not deliver on time, as a PC's timer
 * interrupt would have come at every one of them: each rising edge is delivered once the
 * previous one has been taken by the CPU (IRR clear), so a guest that counts ticks (its
 * jiffies) does not lose time to a host that ran it late.  The backlog is bounded by
 * PIT_CATCHUP periods; older ones are dropped, and none is kept while the guest has the line
 * masked (dev_pit_poll).
 */
#define PIT_CATCHUP 250u

static uint64_t pit_advance_edge(const struct pit_chan *c, uint64_t now)
{
	uint64_t d = pit_elapsed(c, now);
	uint64_t due = pit_next_edge(c, d);
	if ((c->mode != 2 && c->mode != 3) || c->irq_next == NEVER || due == NEVER)
		return due;
	uint64_t next = c->irq_next + c->init;
	uint64_t oldest = due > (uint64_t)PIT_CATCHUP * c->init ?
			  due - (uint64_t)PIT_CATCHUP * c->init : 0;
	return next < oldest ? oldest : next;
}

/* Cheap when nothing is due: the run loop calls this at every exit. */
uint64_t dev_pit_poll(uint64_t now)
{
	struct pit_chan *c = &pit.ch[0];

	if (now < c->irq_deadline)
		return c->irq_deadline;
	if (dev_isa_irq_waiting(0)) {
		if (dev_isa_irq_masked(0)) {
			/* masked by the guest: the edges it is not taking are lost, as on a PC -
			 * no backlog, or the unmask would bring a burst of ticks (a kernel's
			 * jiffies racing ahead of its TSC, which it then calls unstable) */
			c->irq_next = pit_next_edge(c, pit_elapsed(c, now));
			c->irq_deadline = pit_irq0_deadline(c);
			return c->irq_deadline;
		}
		return now + clocks_to_ns(c->init ? c->init : 65536);   /* after its EOI */
	}
	dev_pic_set_irq(0, 0);
	dev_pic_set_irq(0, 1);
	c->irq_next = pit_advance_edge(c, now);
	c->irq_deadline = pit_irq0_deadline(c);
	return c->irq_deadline;
}

/* --- gate ------------------------------------------------------------------------- */

static void pit_set_gate(struct pit_chan *c, bool gate, uint64_t now)
{
	bool rising = gate && !c->gate;

	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->loaded)
		return;
	if (c->mode == 1 || c->mode == 5 || c->mode == 2 || c->mode == 3) {
		/* 1, 5: trigger (re)starts; 2, 3: gate low stops, high reloads */
		if (rising) {
			c->armed = false;
			pit_start(c, now);
		} else if (c->mode == 2 || c->mode == 3) {
			c->done = pit_elapsed(c, now);
			c->counting = false;
		}
		return;
	}
	/* 0, 4: gate low suspends counting, high resumes */
	if (!gate) {
		c->done = pit_elapsed(c, now);
		c->counting = false;
	} else {
		c->t0 = now;
		c->counting = true;
	}
}

/* --- register access ---------------------------------------------------------------- */

static void pit_load(struct pit_chan *c, uint32_t raw, uint64_t now)
{
	uint32_t n = c->bcd ? from_bcd((uint16_t)raw) : raw;

	c->init = n ? n : pit_modulus(c);
	c->loaded = true;
	c->null_count = false;
	c->armed = c->mode == 1 || c->mode == 5;
	c->counting = false;
	if (!c->armed && (c->gate || c->mode == 0 || c->mode == 4)) {
		pit_start(c, now);
		c->counting = c->gate;
	} else if (!c->armed) {
		c->done = 0; /* modes 2, 3 with gate low: start on the gate's rising edge */
	}
	if (c == &pit.ch[0])
		pit_irq0_rearm();
}

static void pit_write_count(struct pit_chan *c, uint8_t val, uint64_t now)
{
	switch (c->rw) {
	case RW_LO:
		pit_load(c, val, now);
		break;
	case RW_HI:
		pit_load(c, (uint32_t)val << 8, now);
		break;
	case RW_WORD:
		if (!c->write_hi) {
			c->write_lo = val;
			c->write_hi = true;
		} else {
			c->write_hi = false;
			pit_load(c, c->write_lo | (uint32_t)val << 8, now);
		}
		break;
	}
}

static uint8_t pit_read_word_byte(struct pit_chan *c, uint16_t v, bool *hi)
{
	switch (c->rw) {
	case RW_LO:
		return v & 0xFF;
	case RW_HI:
		return v >> 8;
	default:
		*hi = !*hi;
		return *hi ? v & 0xFF : v >> 8;
	}
}

static uint8_t pit_read_count(struct pit_chan *c, uint64_t now)
{
	uint8_t val;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		val = pit_read_word_byte(c, c->latch, &c->latch_hi);
		if (c->rw != RW_WORD || !c->latch_hi)
			c->count_latched = false;
		return val;
	}
	return pit_read_word_byte(c, pit_count(c, now), &c->read_hi);
}

static void pit_latch_count(struct pit_chan *c, uint64_t now)
{
	if (c->count_latched)
		return;
	c->latch = pit_count(c, now);
	c->count_latched = true;
	c->latch_hi = false;
}

static void pit_latch_status(struct pit_chan *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = c->ctrl | (c->null_count ? ST_NULL : 0) | (pit_out(c, now) ? ST_OUT : 0);
	c->status_latched = true;
}

static void pit_readback(uint8_t val, uint64_t now)
{
	for (int i = 0; i < 3; i++) {
		if (!(val & (2u << i)))
			continue;
		if (!(val & RB_NOSTATUS))
			pit_latch_status(&pit.ch[i], now);
		if (!(val & RB_NOCOUNT))
			pit_latch_count(&pit.ch[i], now);
	}
}

static void pit_control(uint8_t val, uint64_t now)
{
	struct pit_chan *c;

	if (CW_SC(val) == 3) {
		pit_readback(val, now);
		return;
	}
	c = &pit.ch[CW_SC(val)];
	if (CW_RW(val) == RW_LATCH) {
		pit_latch_count(c, now);
		return;
	}
	c->ctrl = val & 0x3F;
	c->rw = CW_RW(val);
	c->mode = CW_MODE(val) > 5 ? CW_MODE(val) - 4 : CW_MODE(val);
	c->bcd = val & CW_BCD;
	c->loaded = c->armed = c->counting = false;
	c->write_hi = c->read_hi = false;
	c->count_latched = c->status_latched = false;
	c->null_count = true;
	if (c == &pit.ch[0])
		pit_irq0_rearm();
}

static uint32_t pit_read(void *opaque, uint16_t off, int size)
{
	if (size != 1)
		return dev_pio_split_in(pit_read, opaque, off, size);
	if (off == PIT_CTRL)
		return 0xFF; /* the control register is write-only */
	return pit_read_count(&pit.ch[off], dev_now_ns());
}

static void pit_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	if (size != 1) {
		dev_pio_split_out(pit_write, opaque, off, size, val);
		return;
	}
	if (off == PIT_CTRL)
		pit_control(val, dev_now_ns());
	else
		pit_write_count(&pit.ch[off], val, dev_now_ns());
}

/* Port 0x61: gate 2 and speaker enable written; refresh toggle and OUT2 read back. */
static uint32_t portb_read(void *opaque, uint16_t off, int size)
{
	uint64_t now = dev_now_ns();
	uint8_t val = pit.portb & PB_RW_MASK;

	(void)opaque;
	(void)off;
	(void)size;
	if ((now / REFRESH_NS) & 1)
		val |= PB_REFRESH;
	if (pit_out(&pit.ch[PIT_CH2], now))
		val |= PB_OUT2;
	return val;
}

static void portb_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	(void)off;
	(void)size;
	pit.portb = val & PB_RW_MASK;
	pit_set_gate(&pit.ch[PIT_CH2], val & PB_GATE2, dev_now_ns());
}

static void pit_chan_reset(struct pit_chan *c, bool gate)
{
	memset(c, 0, sizeof(*c));
	c->gate = gate;
	c->rw = RW_WORD;
	c->irq_next = NEVER;
	c->irq_deadline = NEVER;
}

/* Channel 0 starts as the BIOS leaves it: mode 3, count 65536 (18.2 Hz). */
void dev_pit_init(void)
{
	uint64_t now = dev_now_ns();

	for (int i = 0; i < 3; i++)
		pit_chan_reset(&pit.ch[i], i != PIT_CH2);
	pit.portb = 0;
	pit_control(0x36, now);
	pit_load(&pit.ch[0], 0, now);
	dev_pio_claim(PIT_BASE, 4, pit_read, pit_write, NULL);
	dev_pio_claim(PORTB, 1, portb_read, portb_write, NULL);
}
