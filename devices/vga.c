/*
 * vga.c - the CRT controller registers of a colour VGA (ports 0x3D4 index, 0x3D5 data), and
 * nothing else of the display.
 *
 * Kernels that write to the text screen at 0xB8000 (ordinary RAM here, nobody looks at it)
 * keep the hardware cursor in CRTC registers 0x0E/0x0F and read it back to know where the
 * next character goes (xv6's cgaputc panics if the position it reads is off the screen).
 * So the 25 CRTC registers are remembered and read back, the cursor starting at 0; any
 * other index reads 0.  Output that matters goes to the serial console.
 * Runs on the vCPU thread.
 */
#include <string.h>
#include "devices/devices.h"

#define CRTC_PORT  0x3D4
#define CRTC_REGS  0x19

static struct vga {
	uint8_t index;
	uint8_t crtc[CRTC_REGS];
} vga;

static uint32_t crtc_read(void *opaque, uint16_t off, int size)
{
	if (size != 1)
		return dev_pio_split_in(crtc_read, opaque, off, size);
	if (off == 0)
		return vga.index;
	return vga.index < CRTC_REGS ? vga.crtc[vga.index] : 0;
}

static void crtc_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	if (size != 1) {
		dev_pio_split_out(crtc_write, opaque, off, size, val);
		return;
	}
	if (off == 0)
		vga.index = (uint8_t)val;
	else if (vga.index < CRTC_REGS)
		vga.crtc[vga.index] = (uint8_t)val;
}

void dev_vga_init(void)
{
	memset(&vga, 0, sizeof(vga));
	dev_pio_claim(CRTC_PORT, 2, crtc_read, crtc_write, NULL);
}
