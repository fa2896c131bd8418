/*
 * misc.c - the small fixed-function ports of a PC that a guest pokes to stop or reset:
 *
 *   0x80       POST code: writes ignored, reads all ones.
 *   0xF4       QEMU's isa-debug-exit: writing v stops the machine with process exit status
 *              (v << 1) | 1 (always odd, so a guest cannot fake a clean exit by accident).
 *   0x92       system control port A: A20 gate (recorded only) and fast reset (bit 0).
 *
 * The keyboard controller, the other way to reset a PC, is i8042.c; both call
 * dev_reset_request().  A reset stops the run with DEV_STOP_RESET; the monitor then
 * restarts the machine (or ends with status 0 under -no-reboot).  Stopping goes through
 * the dev_stop the monitor handed to dev_misc_init, which makes the run loop leave
 * translated code at the next block head.
 */
#include <stdio.h>
#include "devices/devices.h"
#include "monitor/vmm.h"

#define POST_PORT       0x80
#define DEBUG_EXIT_PORT 0xF4
#define SYSCTL_A_PORT   0x92

#define SYSA_RESET  0x01
#define SYSA_A20    0x02

static struct misc {
	struct dev_stop stop;
	uint8_t sysctl_a;
} misc;

static void misc_stop(int status)
{
	if (misc.stop.fn)
		misc.stop.fn(misc.stop.cookie, status);
}

void dev_reset_request(void)
{
	misc_stop(DEV_STOP_RESET);
}

/* --- isa-debug-exit ---------------------------------------------------------------- */

static void debug_exit_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	(void)off;
	(void)size;
	misc_stop((int)((val << 1) | 1));
}

/* --- port 0x92 -------------------------------------------------------------------- */

static uint32_t sysctl_a_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return misc.sysctl_a;
}

static void sysctl_a_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	(void)off;
	(void)size;
	if ((val & SYSA_RESET) && !(misc.sysctl_a & SYSA_RESET))
		dev_reset_request();
	misc.sysctl_a = val & ~SYSA_RESET;
}

void dev_misc_init(struct dev_stop stop)
{
	misc = (struct misc){
		.stop = stop,
		.sysctl_a = SYSA_A20,
	};
	dev_pio_claim(POST_PORT, 1, NULL, NULL, NULL);
	dev_pio_claim(DEBUG_EXIT_PORT, 1, NULL, debug_exit_write, NULL);
	dev_pio_claim(SYSCTL_A_PORT, 1, sysctl_a_read, sysctl_a_write, NULL);
}
