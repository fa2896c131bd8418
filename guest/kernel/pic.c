/*
 * pic.c - the PV build's stand-ins for the PIC and PIT (the native build uses the 8259A and
 * 8254 code of guest/common/pic.c), and TSC calibration for both builds.
 *
 * The TSC is calibrated against the timer interrupt itself (HZ ticks per second) rather
 * than PIT channel 2, so the same code measures the same thing on hardware, under QEMU and
 * under vmm386: it counts TSC cycles across CAL_TICKS timer periods.
 */
#include "kernel.h"

#define CAL_TICKS 10

uint32_t tsc_khz;

#ifdef PV_GUEST
/* PV: no PIC and no PIT.  The tick is a one-shot PV timer (event PV_EVENT_TIMER at vector
 * VEC_IRQ0), re-armed when the kernel acknowledges the previous tick (pic_eoi(0)). */
static uint32_t tick_ns;

void pic_init(void) {}
void pic_mask(int irq, int masked) { (void)irq; (void)masked; }

void pic_eoi(int irq)
{
	if (irq == 0 && tick_ns)
		pv_hypercall3(PV_HC_SET_TIMER, tick_ns, 0, 0);
}

void pit_start(unsigned hz)
{
	tick_ns = 1000000000u / hz;
	pv_hypercall3(PV_HC_SET_TIMER, tick_ns, 0, 0);
}
#endif

static void wait_tick(void)
{
	uint32_t t = ticks;
	while (ticks == t)
		pv_idle();
}

uint32_t tsc_calibrate(void)
{
	wait_tick();
	uint64_t t0 = pv_rdtsc();
	uint32_t s = ticks;
	while (ticks - s < CAL_TICKS)
		pv_idle();
	uint64_t t1 = pv_rdtsc();
	tsc_khz = (uint32_t)((t1 - t0) / (CAL_TICKS * 1000 / HZ));
	return tsc_khz;
}
