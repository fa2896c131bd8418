/*
 * pic.c - the 8259A pair, channel 0 of the 8254 PIT, and TSC calibration.
 *
 * The PICs are remapped to vectors 0x20-0x2F with every line masked but the cascade.
 * The TSC is calibrated against the timer interrupt itself (HZ ticks per second) rather
 * than PIT channel 2, so the same code measures the same thing on hardware, under QEMU and
 * under vmm386: it counts TSC cycles across CAL_TICKS timer periods.
 */
#include "kernel.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI   0x20
#define PIT_CH0   0x40
#define PIT_CMD   0x43
#define PIT_HZ    1193182u
#define CAL_TICKS 10

uint32_t tsc_khz;

#ifdef PV_GUEST
/* PV: no PIC and no PIT.  The tick is a one-shot PV timer (event PV_EVENT_TIMER at vector
 * VEC_IRQ0), re-armed when the kernel acknowledges the previous tick (pic_eoi(0)). */
static uint32_t tick_ns;

void pic_init(void) {}
void pic_unmask(int irq) { (void)irq; }

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
#else
void pic_init(void)
{
	pv_outb(PIC1_CMD, 0x11);
	pv_outb(PIC2_CMD, 0x11);
	pv_outb(PIC1_DATA, VEC_IRQ0);
	pv_outb(PIC2_DATA, VEC_IRQ0 + 8);
	pv_outb(PIC1_DATA, 0x04);
	pv_outb(PIC2_DATA, 0x02);
	pv_outb(PIC1_DATA, 0x01);
	pv_outb(PIC2_DATA, 0x01);
	pv_outb(PIC1_DATA, 0xFB);
	pv_outb(PIC2_DATA, 0xFF);
}

void pic_unmask(int irq)
{
	uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
	pv_outb(port, pv_inb(port) & ~(1u << (irq & 7)));
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		pv_outb(PIC2_CMD, PIC_EOI);
	pv_outb(PIC1_CMD, PIC_EOI);
}

void pit_start(unsigned hz)
{
	uint32_t div = (PIT_HZ + hz / 2) / hz;
	pv_outb(PIT_CMD, 0x34);       /* channel 0, lobyte/hibyte, mode 2 */
	pv_outb(PIT_CH0, div & 0xFF);
	pv_outb(PIT_CH0, div >> 8);
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
