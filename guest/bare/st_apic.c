/*
 * st_apic.c - self test: the local APIC and the I/O APIC (Intel SDM vol. 3 ch. 11, the
 * 82093AA I/O APIC datasheet).
 *
 * Local APIC: the APIC bit of CPUID, IA32_APIC_BASE, ID and version, software enable
 * through SVR, TPR and PPR, self-IPIs through ICR seen pending in IRR with IF=0 and in
 * service in ISR inside the handler, EOI, delivery by priority class and TPR holding a
 * class back, the divide configuration, and the timer: its current count counting down
 * from the initial count, a one-shot interrupt (once, current count 0 after), periodic
 * interrupts, masking, and HLT woken by the timer.  I/O APIC: version and size, entries
 * starting masked and reading back what was written, the PIT's IRQ 0 through pin 2 to a
 * vector while the 8259 is masked, masking the entry, and the RTC's IRQ 8 as a level
 * entry: remote IRR set until the EOI, TMR set, and a line still high after the EOI
 * interrupting again.
 *
 * Determinism: the lines printed are the same under qemu-system-i386 and vmm386 - no
 * counts or times, only whether they lie in the range the manual allows; waits are spin
 * loops with a bound, never a timed assertion.  Interrupts are enabled only while waiting.
 * The group leaves the LAPIC as it found its LINT0 (virtual wire: the 8259 still reaches
 * the CPU), the timer stopped and masked, and the I/O APIC entries it used masked.
 */
#include "st_apic.h"

#define SPIN_LIMIT 100000000u

#define VEC_ONESHOT 0x58
#define VEC_PERIODIC 0x59
#define VEC_IPI_LO  0x60
#define VEC_IPI_MID 0x65
#define VEC_IPI_HI  0x70
#define VEC_PIT     0x62
#define VEC_RTC     0x68

volatile struct apic_irqs apic_irqs;

static void apic_irq(int v)
{
	volatile struct apic_irqs *r = &apic_irqs;
	unsigned slot = v == VEC_APIC_SPURIOUS ? APIC_NVEC - 1 : (unsigned)(v - VEC_APIC_FIRST);

	r->count[slot]++;
	if (r->nlog < ARRAY_SIZE(r->log))
		r->log[r->nlog++] = v;
	if (v == VEC_APIC_SPURIOUS)
		return;                  /* no EOI for the spurious vector */
	r->in_isr = lapic_vec_bit(APIC_ISR, v);
	r->in_irr = lapic_vec_bit(APIC_IRR, v);
	r->in_tmr = lapic_vec_bit(APIC_TMR, v);
	r->ppr = lapic_rd(APIC_PPR);
	if (r->pre_eoi)
		r->pre_eoi(v);
	lapic_wr(APIC_EOI, 0);
}

void apic_irq_begin(void)
{
	pv_irq_disable();
	memset((void *)&apic_irqs, 0, sizeof(apic_irqs));
	apic_irq_hook = apic_irq;
}

void apic_irq_end(void)
{
	pv_irq_disable();
	apic_irq_hook = 0;
	apic_irqs.pre_eoi = 0;
}

uint32_t apic_count(int v)
{
	return apic_irqs.count[v == VEC_APIC_SPURIOUS ? APIC_NVEC - 1 : v - VEC_APIC_FIRST];
}

int apic_wait(int v, uint32_t want)
{
	uint32_t n = 0;
	pv_irq_enable();
	while (apic_count(v) < want && ++n < SPIN_LIMIT)
		asm volatile("" ::: "memory");
	pv_irq_disable();
	return apic_count(v) >= want;
}

/* Spin n rounds with interrupts enabled. */
static void spin_open(uint32_t n)
{
	pv_irq_enable();
	for (volatile uint32_t i = 0; i < n; i++)
		;
	pv_irq_disable();
}

static void take_pending(void)
{
	asm volatile("sti; nop; nop; cli" ::: "memory");
}

static void self_ipi(int v)
{
	lapic_wr(APIC_ICR_HI, 0);
	lapic_wr(APIC_ICR_LO, ICR_SELF | (uint32_t)v);
}

static void lapic_ident(void)
{
	st_check((st_cpuid1_edx() >> 9) & 1, "CPUID.1:EDX reports an on-chip APIC", NULL);
	uint64_t base = pv_rdmsr(0x1B);
	st_eq("IA32_APIC_BASE: base 0xFEE00000, BSP, globally enabled",
	      (uint32_t)base & 0xFFFFF900u, LAPIC_ADDR | 0x900);
	uint32_t ver = lapic_rd(APIC_VER);
	st_note("LAPIC: ID 0x%x, version 0x%x", lapic_rd(APIC_ID), ver);
	st_check((ver & 0xFF) >= 0x10 && (ver & 0xFF) <= 0x15 && ((ver >> 16) & 0xFF) >= 3,
		 "LAPIC version: integrated APIC with at least 4 LVT entries", "0x%x", ver);
	lapic_wr(APIC_SVR, 0x100 | VEC_APIC_SPURIOUS);
	st_eq("SVR: software enable and spurious vector read back", lapic_rd(APIC_SVR) & 0x1FF,
	      0x100 | VEC_APIC_SPURIOUS);
	lapic_wr(APIC_TPR, 0x20);
	uint32_t tpr = lapic_rd(APIC_TPR) & 0xFF, ppr = lapic_rd(APIC_PPR) & 0xFF;
	lapic_wr(APIC_TPR, 0);
	st_check(tpr == 0x20 && ppr == 0x20, "TPR reads back; PPR is TPR while nothing is in service",
		 "TPR 0x%x PPR 0x%x", tpr, ppr);
	st_eq("PPR follows TPR back to 0", lapic_rd(APIC_PPR) & 0xFF, 0);
	lapic_wr(APIC_ESR, 0);
	st_eq("ESR: no errors latched", lapic_rd(APIC_ESR), 0);
}

static void lapic_ipi(void)
{
	apic_irq_begin();
	self_ipi(VEC_IPI_LO);
	st_eq("ICR: delivery status idle after a self-IPI", lapic_rd(APIC_ICR_LO) & ICR_BUSY, 0);
	int irr = lapic_vec_bit(APIC_IRR, VEC_IPI_LO), isr = lapic_vec_bit(APIC_ISR, VEC_IPI_LO);
	st_check(irr && !isr && apic_count(VEC_IPI_LO) == 0,
		 "self-IPI with IF=0: pending in IRR, not in ISR", "IRR %d ISR %d", irr, isr);
	take_pending();
	st_eq("self-IPI taken once IF=1", apic_count(VEC_IPI_LO), 1);
	st_check(apic_irqs.in_isr && !apic_irqs.in_irr,
		 "in the handler the vector is in ISR and no longer in IRR", "ISR %d IRR %d",
		 apic_irqs.in_isr, apic_irqs.in_irr);
	st_eq("PPR in the handler is the vector's priority class", apic_irqs.ppr & 0xF0,
	      VEC_IPI_LO & 0xF0);
	st_check(!lapic_vec_bit(APIC_ISR, VEC_IPI_LO) && !apic_irqs.in_tmr,
		 "EOI clears the ISR bit; an edge IPI leaves TMR clear", NULL);

	apic_irq_begin();
	self_ipi(VEC_IPI_LO);
	self_ipi(VEC_IPI_HI);
	take_pending();
	st_check(apic_irqs.nlog == 2 && apic_irqs.log[0] == VEC_IPI_HI && apic_irqs.log[1] == VEC_IPI_LO,
		 "two pending vectors: the higher class is delivered first",
		 "%u taken, first 0x%x", apic_irqs.nlog, apic_irqs.log[0]);

	apic_irq_begin();
	lapic_wr(APIC_TPR, VEC_IPI_HI);
	self_ipi(VEC_IPI_MID);
	take_pending();
	uint32_t held = apic_count(VEC_IPI_MID);
	int pending = lapic_vec_bit(APIC_IRR, VEC_IPI_MID);
	lapic_wr(APIC_TPR, 0);
	take_pending();
	st_check(held == 0 && pending, "TPR 0x70 holds back vector 0x65 (left in IRR)",
		 "taken %u, IRR %d", held, pending);
	st_eq("lowering TPR delivers it", apic_count(VEC_IPI_MID), 1);
	apic_irq_end();
}

static void lapic_svr_disable(void)
{
	uint32_t lint0 = lapic_rd(APIC_LVT_LINT0);
	lapic_wr(APIC_SVR, VEC_APIC_SPURIOUS);            /* software disabled */
	lapic_wr(APIC_LVT_TIMER, VEC_ONESHOT);
	uint32_t lvt = lapic_rd(APIC_LVT_TIMER);
	lapic_wr(APIC_SVR, 0x100 | VEC_APIC_SPURIOUS);
	lapic_wr(APIC_LVT_TIMER, LVT_MASKED | VEC_ONESHOT);
	lapic_wr(APIC_LVT_LINT0, lint0);
	if (!(lvt & LVT_MASKED)) {
		st_deviation("LVT entries can be unmasked while the APIC is software disabled");
		st_check(1, "LVT timer stays masked while SVR has the APIC disabled", NULL);
	} else {
		st_check(1, "LVT timer stays masked while SVR has the APIC disabled", NULL);
	}
}

static void timer_divide(void)
{
	static const uint8_t div[] = { 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA, 0xB };
	int ok = 1;
	for (unsigned i = 0; i < ARRAY_SIZE(div); i++) {
		lapic_wr(APIC_TDCR, div[i]);
		ok &= (lapic_rd(APIC_TDCR) & 0xB) == div[i];
	}
	st_check(ok, "divide configuration: the 8 settings read back", NULL);
}

static void timer_count(void)
{
	const uint32_t init = 0x7FFFFFFF;
	lapic_wr(APIC_TDCR, 0xB);                           /* divide by 1 */
	lapic_wr(APIC_LVT_TIMER, LVT_MASKED | VEC_ONESHOT);
	lapic_wr(APIC_TICR, init);
	uint32_t c1 = lapic_rd(APIC_TCCR), c2 = c1, n = 0;
	while (c2 == c1 && ++n < SPIN_LIMIT / 16)
		c2 = lapic_rd(APIC_TCCR);
	st_eq("initial count reads back", lapic_rd(APIC_TICR), init);
	st_check(c1 <= init && c1 > 0 && c2 < c1, "current count counts down from the initial count",
		 "0x%x then 0x%x", c1, c2);
	lapic_wr(APIC_TICR, 0);
	st_eq("initial count 0 stops the timer: current count 0", lapic_rd(APIC_TCCR), 0);
}

static void timer_oneshot(void)
{
	apic_irq_begin();
	lapic_wr(APIC_TDCR, 0x1);                           /* divide by 4 */
	lapic_wr(APIC_LVT_TIMER, VEC_ONESHOT);
	lapic_wr(APIC_TICR, 25000);                         /* 100 us at 1 GHz */
	int ok = apic_wait(VEC_ONESHOT, 1);
	st_check(ok, "one-shot timer interrupt arrives", NULL);
	st_eq("current count is 0 once the one-shot expired", lapic_rd(APIC_TCCR), 0);
	spin_open(2000000);
	st_eq("a one-shot timer fires once", apic_count(VEC_ONESHOT), 1);
	if (ok) {
		lapic_wr(APIC_TICR, 25000);
		asm volatile("sti; hlt; cli" ::: "memory");
		st_eq("hlt wakes on the LAPIC timer interrupt", apic_count(VEC_ONESHOT), 2);
	} else {
		st_check(0, "hlt wakes on the LAPIC timer interrupt", "skipped: no timer interrupt");
	}
	apic_irq_end();
}

static void timer_periodic(void)
{
	const uint32_t init = 50000;                        /* 400 us, divide by 8 */
	apic_irq_begin();
	lapic_wr(APIC_TDCR, 0x2);
	lapic_wr(APIC_LVT_TIMER, LVT_PERIODIC | VEC_PERIODIC);
	lapic_wr(APIC_TICR, init);
	int ok = apic_wait(VEC_PERIODIC, 3);
	uint32_t cur = lapic_rd(APIC_TCCR);
	st_check(ok, "periodic timer: interrupts keep arriving", "%u", apic_count(VEC_PERIODIC));
	st_check(cur <= init, "periodic timer: current count stays within the initial count",
		 "0x%x", cur);
	lapic_wr(APIC_LVT_TIMER, LVT_MASKED | LVT_PERIODIC | VEC_PERIODIC);
	take_pending();
	uint32_t before = apic_count(VEC_PERIODIC);
	spin_open(4000000);
	st_eq("masking the LVT timer entry stops its interrupts", apic_count(VEC_PERIODIC) - before, 0);
	st_check(lapic_rd(APIC_TICR) == init, "the masked periodic timer keeps its initial count", NULL);
	lapic_wr(APIC_TICR, 0);
	apic_irq_end();
}

/* One instruction that reads every register: under a translator it turns hot, and its
 * reads of registers that do not move on their own may be served from a copy (vmm386's
 * read mirror), so each value is checked against what the test just wrote. */
static __attribute__((noinline)) uint32_t lapic_rd_hot(uint32_t reg)
{
	return lapic_rd(reg);
}

static void lapic_hot_site(void)
{
	uint32_t id = lapic_rd(APIC_ID), bad = 0, prev, first, cur;
	for (uint32_t i = 0; i < 3000; i++) {
		uint32_t tpr = (i * 16) & 0xF0;
		lapic_wr(APIC_TPR, tpr);
		bad += lapic_rd_hot(APIC_TPR) != tpr;
		bad += (lapic_rd_hot(APIC_PPR) & 0xF0) != tpr;
		bad += lapic_rd_hot(APIC_ID) != id;
		bad += (lapic_rd_hot(APIC_SVR) & 0x1FF) != (0x100 | VEC_APIC_SPURIOUS);
	}
	lapic_wr(APIC_TPR, 0);
	st_eq("one hot load site: TPR, PPR, ID and SVR always read what was written", bad, 0);

	apic_irq_begin();
	uint32_t word = APIC_IRR + 0x10 * (VEC_IPI_MID >> 5), bit = 1u << (VEC_IPI_MID & 31);
	bad = 0;
	for (uint32_t i = 0; i < 500; i++) {
		self_ipi(VEC_IPI_MID);
		bad += !(lapic_rd_hot(word) & bit);
		take_pending();
		bad += (lapic_rd_hot(word) & bit) != 0;
		bad += (lapic_rd_hot(APIC_ISR + 0x10 * (VEC_IPI_MID >> 5)) & bit) != 0;
	}
	st_check(bad == 0 && apic_count(VEC_IPI_MID) == 500,
		 "one hot load site: IRR and ISR follow 500 self-IPIs and EOIs", "%u wrong, %u taken",
		 bad, apic_count(VEC_IPI_MID));
	apic_irq_end();

	lapic_wr(APIC_TDCR, 0xB);
	lapic_wr(APIC_LVT_TIMER, LVT_MASKED | VEC_ONESHOT);
	lapic_wr(APIC_TICR, 0x7FFFFFFF);
	first = prev = lapic_rd_hot(APIC_TCCR);
	bad = 0;
	for (uint32_t i = 0; i < 2000; i++) {
		bad += lapic_rd_hot(APIC_ID) != id;
		cur = lapic_rd_hot(APIC_TCCR);
		bad += cur > prev;
		prev = cur;
	}
	lapic_wr(APIC_TICR, 0);
	st_check(bad == 0 && prev < first, "one hot load site: the current count still counts down",
		 "%u wrong, 0x%x then 0x%x", bad, first, prev);
}

/* Hot store sites (the same instructions many times): a self-IPI sent with IF=1 and a
 * one-shot timer armed with IF=1 must each arrive while the test waits, every time. */
static void lapic_hot_stores(void)
{
	uint32_t late = 0;
	apic_irq_begin();
	for (uint32_t i = 1; i <= 300; i++) {
		pv_irq_enable();
		self_ipi(VEC_IPI_LO);
		pv_irq_disable();
		late += !apic_wait(VEC_IPI_LO, i);
	}
	st_check(late == 0 && apic_count(VEC_IPI_LO) == 300,
		 "one hot ICR store: 300 self-IPIs sent with IF=1 all arrive", "%u late, %u taken",
		 late, apic_count(VEC_IPI_LO));

	late = 0;
	lapic_wr(APIC_TDCR, 0xB);
	lapic_wr(APIC_LVT_TIMER, VEC_ONESHOT);
	for (uint32_t i = 1; i <= 100; i++) {
		lapic_wr(APIC_TICR, 20000);                 /* 20 us */
		late += !apic_wait(VEC_ONESHOT, i);
	}
	lapic_wr(APIC_LVT_TIMER, LVT_MASKED | VEC_ONESHOT);
	st_check(late == 0 && apic_count(VEC_ONESHOT) == 100,
		 "one hot initial-count store: 100 one-shot interrupts arrive", "%u late, %u taken",
		 late, apic_count(VEC_ONESHOT));
	apic_irq_end();
}

void st_group_lapic(void)
{
	lapic_ident();
	lapic_ipi();
	lapic_svr_disable();
	lapic_hot_site();
	lapic_hot_stores();
	timer_divide();
	timer_count();
	timer_oneshot();
	timer_periodic();
	lapic_wr(APIC_LVT_TIMER, LVT_MASKED);
	lapic_wr(APIC_TICR, 0);
	lapic_wr(APIC_TPR, 0);
}

/* --- I/O APIC ------------------------------------------------------------------------ */

static uint8_t cmos_read(uint8_t reg)
{
	pv_outb(0x70, reg);
	return pv_inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	pv_outb(0x70, reg);
	pv_outb(0x71, v);
}

static void ioapic_regs(void)
{
	uint32_t ver = ioapic_rd(IOAPIC_VER);
	st_note("I/O APIC: ID register 0x%x, version register 0x%x", ioapic_rd(IOAPIC_ID), ver);
	st_check((ver & 0xFF) >= 0x11 && ((ver >> 16) & 0xFF) == 23,
		 "I/O APIC version: 82093AA or later, 24 redirection entries", "0x%x", ver);
	int masked = 1;
	for (int pin = 0; pin < 24; pin++)
		masked &= (ioapic_rd(IOAPIC_RTE(pin)) & RTE_MASKED) != 0;
	st_check(masked, "every redirection entry starts masked", NULL);
	const uint32_t lo = RTE_MASKED | RTE_LEVEL | RTE_LOWPOL | 0x5A;
	ioapic_wr(IOAPIC_RTE(10) + 1, 0xFF000000u);
	ioapic_wr(IOAPIC_RTE(10), lo);
	uint32_t got_lo = ioapic_rd(IOAPIC_RTE(10)), got_hi = ioapic_rd(IOAPIC_RTE(10) + 1);
	ioapic_wr(IOAPIC_RTE(10), RTE_MASKED);
	ioapic_wr(IOAPIC_RTE(10) + 1, 0);
	st_check((got_lo & 0x1FFFF) == lo && got_hi == 0xFF000000u,
		 "a redirection entry reads back (vector, level, polarity, mask, destination)",
		 "0x%x 0x%x", got_lo, got_hi);
}

static uint32_t dest_field(void)
{
	return lapic_rd(APIC_ID) & 0xFF000000u;             /* physical: this CPU */
}

static void ioapic_pit(void)
{
	apic_irq_begin();
	uint8_t m1 = pv_inb(0x21), m2 = pv_inb(0xA1);
	pv_outb(0x21, 0xFF);
	pv_outb(0xA1, 0xFF);
	uint32_t ticks = timer_ticks;
	pit_start(1000);
	ioapic_wr(IOAPIC_RTE(2) + 1, dest_field());
	ioapic_wr(IOAPIC_RTE(2), VEC_PIT);                  /* edge, active high, unmasked */
	int ok = apic_wait(VEC_PIT, 3);
	st_check(ok, "the PIT's IRQ 0 arrives through I/O APIC pin 2 as its vector", "%u",
		 apic_count(VEC_PIT));
	st_eq("the masked 8259 delivered nothing meanwhile", timer_ticks - ticks, 0);
	ioapic_wr(IOAPIC_RTE(2), RTE_MASKED | VEC_PIT);
	take_pending();
	uint32_t before = apic_count(VEC_PIT);
	spin_open(4000000);
	st_eq("masking the redirection entry stops the interrupts", apic_count(VEC_PIT) - before, 0);
	pv_outb(0x21, m1);
	pv_outb(0xA1, m2);
	apic_irq_end();
}

static volatile int rtc_keep_line;   /* the handler leaves register C unread this many times */
static volatile uint32_t rtc_rte_in_handler;

static void rtc_pre_eoi(int v)
{
	if (v != VEC_RTC)
		return;
	rtc_rte_in_handler = ioapic_rd(IOAPIC_RTE(8));
	if (rtc_keep_line > 0)
		rtc_keep_line--;
	else
		(void)cmos_read(0x0C);                        /* drops IRQ 8 */
}

static void ioapic_rtc_level(void)
{
	apic_irq_begin();
	apic_irqs.pre_eoi = rtc_pre_eoi;
	rtc_keep_line = 0;
	uint8_t a = cmos_read(0x0A), b = cmos_read(0x0B);
	(void)cmos_read(0x0C);
	cmos_write(0x0A, (a & 0xF0) | 0x06);                /* 1024 Hz periodic interrupt */
	ioapic_wr(IOAPIC_RTE(8) + 1, dest_field());
	ioapic_wr(IOAPIC_RTE(8), RTE_LEVEL | VEC_RTC);      /* level, active high */
	cmos_write(0x0B, b | 0x40);                         /* PIE */
	int ok = apic_wait(VEC_RTC, 1);
	cmos_write(0x0B, b & ~0x40);
	st_check(ok, "the RTC's IRQ 8 arrives through pin 8 as a level interrupt", NULL);
	st_check(ok && (rtc_rte_in_handler & RTE_REMOTE), "remote IRR is set until the EOI",
		 "entry 0x%x", rtc_rte_in_handler);
	st_check(ok && apic_irqs.in_tmr, "a level interrupt sets its vector's TMR bit", NULL);
	take_pending();
	uint32_t rte = ioapic_rd(IOAPIC_RTE(8));
	st_check(!(rte & RTE_REMOTE), "the EOI cleared remote IRR", "entry 0x%x", rte);
	st_check(lapic_vec_bit(APIC_TMR, VEC_RTC), "TMR keeps the bit after the EOI (set on acceptance)",
		 NULL);

	/* register C left unread once: the line is still high after the EOI */
	uint32_t n0 = apic_count(VEC_RTC);
	rtc_keep_line = 1;
	cmos_write(0x0B, b | 0x40);
	ok = apic_wait(VEC_RTC, n0 + 2);
	cmos_write(0x0B, b & ~0x40);
	st_check(ok && rtc_keep_line == 0, "a level line still high after the EOI interrupts again",
		 "%u", apic_count(VEC_RTC) - n0);
	take_pending();
	ioapic_wr(IOAPIC_RTE(8), RTE_MASKED | VEC_RTC);
	(void)cmos_read(0x0C);
	cmos_write(0x0A, a);
	pv_outb(0x70, 0x0D);                                  /* NMI back on */
	apic_irq_end();
}

void st_group_ioapic(void)
{
	lapic_wr(APIC_SVR, 0x100 | VEC_APIC_SPURIOUS);
	ioapic_regs();
	ioapic_pit();
	ioapic_rtc_level();
}

/* For st_recover: the APICs quiet again after a group was cut short. */
void st_apic_quiet(void)
{
	lapic_wr(APIC_LVT_TIMER, LVT_MASKED);
	lapic_wr(APIC_TICR, 0);
	lapic_wr(APIC_TPR, 0);
	for (int pin = 0; pin < 24; pin++)
		ioapic_wr(IOAPIC_RTE(pin), RTE_MASKED);
	apic_irq_end();
}
