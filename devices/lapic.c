/*
 * lapic.c - the local APIC of the one CPU (xAPIC, registers at LAPIC_BASE) and the choice
 * of the CPU's next external interrupt.
 *
 * Interrupts arrive as vectors: from the I/O APIC (dev_lapic_accept), from the timer, and
 * from IPIs the CPU sends itself.  Each sets its bit in IRR (and, for level-triggered ones,
 * in TMR).  As the SDM describes, the highest vector in IRR is delivered when its priority
 * class (vector >> 4) is above that of PPR = max(TPR, highest vector in ISR); the INTA moves
 * it from IRR to ISR, and an EOI retires the highest vector in ISR, telling the I/O APIC
 * when TMR says it was level-triggered.
 *
 * The 8259 reaches the CPU the way it does on a PC in virtual-wire mode: through LINT0
 * programmed as ExtINT and unmasked (the reset state of the BSP, as QEMU sets it), or
 * directly when IA32_APIC_BASE has the APIC globally disabled.  dev_intr_pending() and
 * dev_intr_ack() are what the run loop asks: the LAPIC's vector first, then the 8259's.
 *
 * Timer: the APIC bus clock is 1 GHz (one count per nanosecond before the divider), as under
 * QEMU, and the current count follows host time through dev_now_ns().  One-shot counts down
 * once; periodic reloads; missed periods are coalesced into one interrupt.  dev_lapic_poll()
 * (from dev_poll) raises due ticks and returns the next deadline.
 *
 * Invariants: IRR, ISR and TMR hold no vector below 16; once the guest clears SVR's enable
 * bit every LVT entry is masked and stays so until SVR is enabled again, and nothing new is
 * accepted while disabled (the reset state, SVR disabled with LINT0 ExtINT unmasked, is
 * QEMU's BSP and lets the 8259 through before the guest touches the APIC).  INIT and STARTUP IPIs
 * address other processors, and there are none, so they are dropped, as is an INIT level
 * de-assert.  Runs on the vCPU thread.
 *
 * Reads without an exit.  xv6 reads the ID register on every lock it takes, and a kernel
 * reads ISR/IRR/TPR/PPR/ICR around its interrupts; each read used to be a monitor exit.  So
 * the LAPIC keeps a read mirror (mmio.c): a host page whose word at each 4-byte aligned
 * offset is what reg_read returns there now.  Rule: every function here that changes what a
 * register reads (a register write, an accepted interrupt, an INTA, an EOI, SVR masking the
 * LVTs) rewrites the affected words before it returns, so the mirror equals the registers
 * at every instant the guest can run.  The one exception is the timer's current count
 * (TCCR, 0x390-0x39F), which moves with host time and never through a call here: the
 * mirror holds 0 there and the inline path never serves it.  Why that is exact: a read has
 * no side effect on this LAPIC (reg_read changes nothing; the ESR latches on a write,
 * not a read), so serving it from a copy that is equal at that instant gives the guest the
 * same value the exit would have; the timer's expiry reaches IRR only through
 * dev_lapic_poll (at an exit), in both paths alike.  Writes (EOI, TPR, ICR, timer, LVTs)
 * still exit.  The monitor decides where translated code may use the mirror
 * (monitor/adaptive.c: instructions that kept reading this page, through a translation
 * cached like a TLB entry).
 */
#include <string.h>
#include "devices/devices.h"

/* Register offsets (each register is a 32-bit word at a 16-byte boundary). */
#define APIC_ID      0x020
#define APIC_VER     0x030
#define APIC_TPR     0x080
#define APIC_APR     0x090
#define APIC_PPR     0x0A0
#define APIC_EOI     0x0B0
#define APIC_LDR     0x0D0
#define APIC_DFR     0x0E0
#define APIC_SVR     0x0F0
#define APIC_ISR     0x100
#define APIC_TMR     0x180
#define APIC_IRR     0x200
#define APIC_ESR     0x280
#define APIC_ICR_LO  0x300
#define APIC_ICR_HI  0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_ERROR 0x370
#define APIC_TICR    0x380
#define APIC_TCCR    0x390
#define APIC_TDCR    0x3E0
#define APIC_LEN     0x1000

#define LVT_COUNT    6          /* timer, thermal, perf, LINT0, LINT1, error */
#define LVT_TIMER    0
#define LVT_LINT0    3
#define LVT_LINT1    4
#define LVT_MASKED   (1u << 16)
#define LVT_LEVEL    (1u << 15)
#define LVT_PERIODIC (1u << 17)
#define LVT_DM(v)    (((v) >> 8) & 7)
#define DM_FIXED     0
#define DM_NMI       4
#define DM_INIT      5
#define DM_STARTUP   6
#define DM_EXTINT    7

#define APIC_VERSION 0x14u      /* integrated xAPIC, as QEMU reports */
#define SVR_ENABLE   (1u << 8)
#define ICR_LOGICAL  (1u << 11)
#define ICR_SH(v)    (((v) >> 18) & 3)
#define SH_NONE      0
#define SH_SELF      1
#define SH_ALL       2
#define ESR_RX_ILLEGAL (1u << 6)
#define ESR_TX_ILLEGAL (1u << 5)

#define MSR_BSP      (1ull << 8)
#define MSR_ENABLE   (1ull << 11)

static const uint16_t lvt_off[LVT_COUNT] = { 0x320, 0x330, 0x340, 0x350, 0x360, 0x370 };

/* The read mirror (see the header): 1024 words for the register page's 4 KiB. */
static uint32_t mirror[1024] __attribute__((aligned(4096)));
static uint32_t reg_read(uint32_t reg);

/* Rewrite register reg's four words (a 4-byte read at reg + 0, 4, 8, 12 sees reg). */
static void mirror_reg(uint32_t reg)
{
	uint32_t v = reg == APIC_TCCR ? 0 : reg_read(reg);
	uint32_t *m = &mirror[reg / 4];
	m[0] = m[1] = m[2] = m[3] = v;
}

/* The ISR, TMR and IRR words holding vector v, and PPR. */
static void mirror_vec(unsigned v)
{
	uint32_t w = (v >> 5) * 0x10;
	mirror_reg(APIC_ISR + w);
	mirror_reg(APIC_TMR + w);
	mirror_reg(APIC_IRR + w);
	mirror_reg(APIC_PPR);
}

static struct lapic {
	uint32_t id, tpr, ldr, dfr, svr, esr, esr_pending, icr_hi;
	uint32_t lvt[LVT_COUNT];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t ticr, tdcr, divisor;
	uint64_t base_msr;
	uint64_t timer_start;       /* dev_now_ns() of the current period's start */
	bool timer_on;
} lapic;

/* --- vector bitmaps and priority ------------------------------------------------------ */

static void vec_set(uint32_t *bm, unsigned v) { bm[v >> 5] |= 1u << (v & 31); }
static void vec_clear(uint32_t *bm, unsigned v) { bm[v >> 5] &= ~(1u << (v & 31)); }
static bool vec_test(const uint32_t *bm, unsigned v) { return bm[v >> 5] >> (v & 31) & 1; }

static int vec_highest(const uint32_t *bm)
{
	for (int i = 7; i >= 0; i--)
		if (bm[i])
			return i * 32 + 31 - __builtin_clz(bm[i]);
	return -1;
}

static uint32_t ppr(void)
{
	int isrv = vec_highest(lapic.isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;

	return (lapic.tpr & 0xF0) >= isr_class ? lapic.tpr & 0xFF : isr_class;
}

static bool sw_enabled(void)
{
	return (lapic.base_msr & MSR_ENABLE) && (lapic.svr & SVR_ENABLE);
}

/* The vector the LAPIC would deliver now, or -1. */
static int lapic_best(void)
{
	int v = vec_highest(lapic.irr);

	if (v < 0 || !(lapic.base_msr & MSR_ENABLE))
		return -1;
	return ((uint32_t)v & 0xF0) > (ppr() & 0xF0) ? v : -1;
}

bool dev_lapic_irr(uint8_t vector)
{
	return vec_test(lapic.irr, vector);
}

void dev_lapic_accept(uint8_t vector, bool level)
{
	if (!sw_enabled())
		return;
	if (vector < 16) {
		lapic.esr_pending |= ESR_RX_ILLEGAL;
		return;
	}
	vec_set(lapic.irr, vector);
	if (level)
		vec_set(lapic.tmr, vector);
	else
		vec_clear(lapic.tmr, vector);
	mirror_vec(vector);
}

/* Does the 8259's INTR reach the CPU (virtual wire through LINT0, or no APIC)? */
static bool pic_routed(void)
{
	uint32_t lint0 = lapic.lvt[LVT_LINT0];

	if (!(lapic.base_msr & MSR_ENABLE))
		return true;
	return !(lint0 & LVT_MASKED) && LVT_DM(lint0) == DM_EXTINT;
}

int dev_intr_pending(void)
{
	int v = lapic_best();

	if (v >= 0)
		return v;
	return pic_routed() ? dev_pic_pending() : -1;
}

int dev_intr_ack(void)
{
	int v = lapic_best();

	if (v < 0)
		return dev_pic_ack();
	vec_clear(lapic.irr, (unsigned)v);
	vec_set(lapic.isr, (unsigned)v);
	mirror_vec((unsigned)v);
	return v;
}

static void eoi(void)
{
	int v = vec_highest(lapic.isr);

	if (v < 0)
		return;
	vec_clear(lapic.isr, (unsigned)v);
	mirror_vec((unsigned)v);
	if (vec_test(lapic.tmr, (unsigned)v))     /* TMR stays: the next acceptance sets it */
		dev_ioapic_eoi((uint8_t)v);
}

/* --- timer --------------------------------------------------------------------------- */

static uint64_t timer_period(void)
{
	return (uint64_t)lapic.ticr * lapic.divisor;
}

static uint32_t timer_count(uint64_t now)
{
	uint64_t period = timer_period(), elapsed;

	if (!lapic.timer_on || period == 0)
		return 0;
	elapsed = now > lapic.timer_start ? now - lapic.timer_start : 0;
	if (lapic.lvt[LVT_TIMER] & LVT_PERIODIC)
		elapsed %= period;
	else if (elapsed >= period)
		return 0;
	return lapic.ticr - (uint32_t)(elapsed / lapic.divisor);
}

uint64_t dev_lapic_poll(uint64_t now)
{
	uint64_t period = timer_period();

	if (!lapic.timer_on || period == 0)
		return UINT64_MAX;
	if (now < lapic.timer_start + period)
		return lapic.timer_start + period;
	if (!(lapic.lvt[LVT_TIMER] & LVT_MASKED))
		dev_lapic_accept((uint8_t)lapic.lvt[LVT_TIMER], false);
	if (!(lapic.lvt[LVT_TIMER] & LVT_PERIODIC)) {
		lapic.timer_on = false;
		return UINT64_MAX;
	}
	lapic.timer_start += (now - lapic.timer_start) / period * period;   /* coalesce */
	return lapic.timer_start + period;
}

static void set_divide(uint32_t v)
{
	unsigned code = (v & 3) | ((v & 8) >> 1);

	lapic.tdcr = v & 0xB;
	lapic.divisor = code == 7 ? 1 : 2u << code;
}

/* --- register access ----------------------------------------------------------------- */

static void send_ipi(uint32_t icr)
{
	unsigned dm = LVT_DM(icr), sh = ICR_SH(icr);
	uint32_t dest = lapic.icr_hi >> 24;
	bool self = sh == SH_SELF || sh == SH_ALL;

	if (sh == SH_NONE)
		self = (icr & ICR_LOGICAL) ? (dest & (lapic.ldr >> 24)) != 0
					   : dest == (lapic.id >> 24) || dest == 0xFF;
	if (!self || dm != DM_FIXED)
		return;          /* INIT, STARTUP, NMI to other CPUs: there are none */
	if ((icr & 0xFF) < 16) {
		lapic.esr_pending |= ESR_TX_ILLEGAL;
		return;
	}
	dev_lapic_accept((uint8_t)icr, false);
}

static void set_svr(uint32_t v)
{
	lapic.svr = v & 0x1FF;
	if (!(v & SVR_ENABLE))
		for (int i = 0; i < LVT_COUNT; i++)
			lapic.lvt[i] |= LVT_MASKED;
}

static void set_lvt(int i, uint32_t v)
{
	static const uint32_t writable[LVT_COUNT] = {
		0x300FF, 0x107FF, 0x107FF, 0x1A7FF, 0x1A7FF, 0x100FF,
	};
	uint32_t old = lapic.lvt[i];

	lapic.lvt[i] = v & writable[i];
	if (!sw_enabled())
		lapic.lvt[i] |= LVT_MASKED;
	if (i == LVT_TIMER && ((old ^ lapic.lvt[i]) & LVT_PERIODIC) && lapic.timer_on)
		lapic.timer_start = dev_now_ns();
}

static int lvt_index(uint32_t reg)
{
	for (int i = 0; i < LVT_COUNT; i++)
		if (lvt_off[i] == reg)
			return i;
	return -1;
}

static uint32_t reg_read(uint32_t reg)
{
	int lvt = lvt_index(reg);

	if (lvt >= 0)
		return lapic.lvt[lvt];
	if (reg >= APIC_ISR && reg < APIC_IRR + 0x80) {
		const uint32_t *bm = reg < APIC_TMR ? lapic.isr : reg < APIC_IRR ? lapic.tmr : lapic.irr;
		return bm[(reg & 0x7F) >> 4];
	}
	switch (reg) {
	case APIC_ID:     return lapic.id;
	case APIC_VER:    return APIC_VERSION | (LVT_COUNT - 1) << 16;
	case APIC_TPR:    return lapic.tpr;
	case APIC_APR:    return 0;
	case APIC_PPR:    return ppr();
	case APIC_LDR:    return lapic.ldr;
	case APIC_DFR:    return lapic.dfr;
	case APIC_SVR:    return lapic.svr;
	case APIC_ESR:    return lapic.esr;
	case APIC_ICR_LO: return 0;      /* delivery status: idle; the IPI went at the write */
	case APIC_ICR_HI: return lapic.icr_hi;
	case APIC_TICR:   return lapic.ticr;
	case APIC_TCCR:   return timer_count(dev_now_ns());
	case APIC_TDCR:   return lapic.tdcr;
	default:          return 0;
	}
}

static void reg_write(uint32_t reg, uint32_t v)
{
	int lvt = lvt_index(reg);

	if (lvt >= 0) {
		set_lvt(lvt, v);
		dev_pio_count += lvt == LVT_TIMER;
		mirror_reg(reg);
		return;
	}
	switch (reg) {
	case APIC_ID:     lapic.id = v & 0xFF000000u; break;
	case APIC_TPR:    lapic.tpr = v & 0xFF; break;
	case APIC_EOI:    eoi(); break;
	case APIC_LDR:    lapic.ldr = v & 0xFF000000u; break;
	case APIC_DFR:    lapic.dfr = v | 0x0FFFFFFFu; break;
	case APIC_SVR:    set_svr(v); break;
	case APIC_ESR:    lapic.esr = lapic.esr_pending; lapic.esr_pending = 0; break;
	case APIC_ICR_LO: send_ipi(v); break;
	case APIC_ICR_HI: lapic.icr_hi = v & 0xFF000000u; break;
	case APIC_TICR:
		dev_pio_count++;      /* a new deadline: the run loop polls again */
		lapic.ticr = v;
		lapic.timer_on = v != 0;
		lapic.timer_start = dev_now_ns();
		break;
	case APIC_TDCR:   set_divide(v); dev_pio_count++; break;
	default:          return;    /* read-only or reserved */
	}
	mirror_reg(reg);
	mirror_reg(APIC_PPR);         /* TPR */
	if (reg == APIC_SVR)
		for (int i = 0; i < LVT_COUNT; i++)
			mirror_reg(lvt_off[i]);
}

/* Registers are 32-bit; a narrower read sees its bytes of the word, narrower writes are
 * dropped (the SDM leaves them undefined). */
static uint32_t lapic_read(void *opaque, uint32_t off, int size)
{
	(void)opaque;
	uint32_t v = reg_read(off & 0xFF0);
	return size == 4 ? v : (v >> (8 * (off & 3))) & ((1u << (8 * size)) - 1);
}

static void lapic_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	(void)opaque;
	if (size == 4 && (off & 0xF) == 0)
		reg_write(off, val);
}

uint64_t dev_lapic_base_msr(void)
{
	return lapic.base_msr;
}

/* The base cannot move (the bus region is fixed); the global enable can be cleared. */
void dev_lapic_set_base_msr(uint64_t val)
{
	lapic.base_msr = LAPIC_BASE | MSR_BSP | (val & MSR_ENABLE);
}

void dev_lapic_init(void)
{
	memset(&lapic, 0, sizeof(lapic));
	lapic.base_msr = LAPIC_BASE | MSR_BSP | MSR_ENABLE;
	lapic.dfr = 0xFFFFFFFFu;
	lapic.svr = 0xFF;
	for (int i = 0; i < LVT_COUNT; i++)
		lapic.lvt[i] = LVT_MASKED;
	lapic.lvt[LVT_LINT0] = DM_EXTINT << 8;   /* virtual wire: the 8259 passes */
	lapic.lvt[LVT_LINT1] = DM_NMI << 8;
	set_divide(0);
	dev_mmio_register(LAPIC_BASE, APIC_LEN, lapic_read, lapic_write, NULL);
	memset(mirror, 0, sizeof(mirror));
	for (uint32_t reg = 0; reg < 0x400; reg += 0x10)
		mirror_reg(reg);
	dev_mmio_set_mirror(LAPIC_BASE, mirror, APIC_TCCR);
}
