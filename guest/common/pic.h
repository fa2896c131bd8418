/*
 * pic.h - the 8259A pair and channel 0 of the 8254 PIT on a PC (guest/common/pic.c).
 *
 * Native images only: the PV kernel has no PIC or PIT and provides these names itself
 * (guest/kernel/pic.c), so guest/module.mk links pic.o into bare.elf and native.elf only.
 */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H
#include <stdint.h>

void pic_init(void);                 /* remap to VEC_IRQ0, all masked but the cascade */
void pic_mask(int irq, int masked);
void pic_eoi(int irq);               /* non-specific EOI: the slave too for IRQ 8-15 */
uint8_t pic_read_irr(void);          /* master IRR */
/* IRQ 7 or 15 whose ISR bit is clear: spurious, no EOI for it (a spurious IRQ15 has its
 * master's EOI for the cascade sent here). */
int pic_spurious(int irq);
void pit_start(unsigned hz);         /* channel 0, mode 2 (rate generator) */

#endif
