/*
 * pic.c - the 8259A pair and channel 0 of the 8254 PIT (pic.h), for the native images.
 *
 * The PICs are remapped to vectors VEC_IRQ0-VEC_IRQ0+15 (the BIOS leaves them on the
 * exception vectors) and start with every line masked except the cascade; the image
 * unmasks what it handles.  Built once per image with that image's pvops.h.
 */
#include "pic.h"
#include "x86.h"
#include "pvops.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI   0x20
#define OCW3_IRR  0x0A
#define OCW3_ISR  0x0B
#define PIT_CH0   0x40
#define PIT_CMD   0x43
#define PIT_HZ    1193182u

void pic_init(void)
{
	pv_outb(PIC1_CMD, 0x11);      /* ICW1: edge, cascade, ICW4 */
	pv_outb(PIC2_CMD, 0x11);
	pv_outb(PIC1_DATA, VEC_IRQ0); /* ICW2: vector base */
	pv_outb(PIC2_DATA, VEC_IRQ0 + 8);
	pv_outb(PIC1_DATA, 0x04);     /* ICW3: slave on IRQ2 */
	pv_outb(PIC2_DATA, 0x02);
	pv_outb(PIC1_DATA, 0x01);     /* ICW4: 8086 mode, normal EOI */
	pv_outb(PIC2_DATA, 0x01);
	pv_outb(PIC1_DATA, 0xFB);     /* all masked but the cascade */
	pv_outb(PIC2_DATA, 0xFF);
}

void pic_mask(int irq, int masked)
{
	uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
	uint8_t bit = 1u << (irq & 7);
	uint8_t imr = pv_inb(port);
	pv_outb(port, masked ? imr | bit : imr & ~bit);
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		pv_outb(PIC2_CMD, PIC_EOI);
	pv_outb(PIC1_CMD, PIC_EOI);
}

uint8_t pic_read_irr(void)
{
	pv_outb(PIC1_CMD, OCW3_IRR);
	return pv_inb(PIC1_CMD);
}

static uint8_t pic_read_isr(uint16_t cmd)
{
	pv_outb(cmd, OCW3_ISR);
	uint8_t v = pv_inb(cmd);
	pv_outb(cmd, OCW3_IRR);
	return v;
}

int pic_spurious(int irq)
{
	if (irq == 7)
		return !(pic_read_isr(PIC1_CMD) & 0x80);
	if (irq == 15 && !(pic_read_isr(PIC2_CMD) & 0x80)) {
		pv_outb(PIC1_CMD, PIC_EOI);
		return 1;
	}
	return 0;
}

void pit_start(unsigned hz)
{
	uint32_t div = (PIT_HZ + hz / 2) / hz;
	pv_outb(PIT_CMD, 0x34);       /* channel 0, lobyte/hibyte, mode 2 */
	pv_outb(PIT_CH0, div & 0xFF);
	pv_outb(PIT_CH0, div >> 8);
}
