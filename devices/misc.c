/*
 * misc.c - the small fixed-function ports of a PC that a guest pokes to stop or reset:
 *
 *   0x80       POST code: writes ignored, reads all ones.
 *   0xF4       QEMU's isa-debug-exit: writing v stops the machine with process exit status
 *              (v << 1) | 1 (always odd, so a guest cannot fake a clean exit by accident).
 *   0x60/0x64  an i8042 keyboard controller with nothing plugged in: status, command byte,
 *              self tests and the output port, enough for a guest to probe it and to reset
 *              the machine (command 0xFE, or output-port bit 0 cleared).
 *   0x92       system control port A: A20 gate (recorded only) and fast reset (bit 0).
 *
 * A reset stops the machine with status 0 (vmm386 has no reboot) after saying so on
 * stderr.  Stopping goes through the dev_stop the monitor handed to dev_misc_init, which
 * makes the run loop leave translated code at the next block head.
 */
#include <stdio.h>
#include "devices/devices.h"
#include "monitor/vmm.h"

#define POST_PORT       0x80
#define DEBUG_EXIT_PORT 0xF4
#define KBC_DATA_PORT   0x60
#define KBC_CMD_PORT    0x64
#define SYSCTL_A_PORT   0x92

/* i8042 status register. */
#define KBS_OBF     0x01 /* output buffer full */
#define KBS_SYS     0x04 /* system flag: self test passed */
#define KBS_CMD     0x08 /* last write was to the command port */
#define KBS_UNLOCK  0x10 /* keyboard not inhibited */

/* i8042 commands. */
#define KBC_READ_CB     0x20
#define KBC_WRITE_CB    0x60
#define KBC_AUX_DISABLE 0xA7
#define KBC_AUX_ENABLE  0xA8
#define KBC_SELF_TEST   0xAA
#define KBC_KBD_TEST    0xAB
#define KBC_KBD_DISABLE 0xAD
#define KBC_KBD_ENABLE  0xAE
#define KBC_READ_OUT    0xD0
#define KBC_WRITE_OUT   0xD1
#define KBC_PULSE       0xF0 /* 0xF0-0xFF: pulse output-port bits whose mask bit is 0 */

#define CB_KBD_OFF  0x10
#define CB_AUX_OFF  0x20
#define OUT_RESET   0x01 /* output port bit 0: 0 resets the CPU */
#define OUT_A20     0x02
#define SYSA_RESET  0x01
#define SYSA_A20    0x02

static struct misc {
	struct dev_stop stop;
	uint8_t kbc_status, kbc_cb, kbc_out, kbc_obuf;
	uint8_t kbc_pending;  /* command waiting for its data byte on 0x60, or 0 */
	uint8_t sysctl_a;
} misc;

static void misc_stop(int status)
{
	if (misc.stop.fn)
		misc.stop.fn(misc.stop.cookie, status);
}

static void misc_reset(void)
{
	fprintf(stderr, "vmm386: guest requested reset\n");
	misc_stop(EXIT_STATUS_OK);
}

/* --- isa-debug-exit ---------------------------------------------------------------- */

static void debug_exit_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	(void)off;
	(void)size;
	misc_stop((int)((val << 1) | 1));
}

/* --- i8042 ------------------------------------------------------------------------- */

static void kbc_reply(uint8_t val)
{
	misc.kbc_obuf = val;
	misc.kbc_status |= KBS_OBF;
}

static void kbc_command(uint8_t cmd)
{
	switch (cmd) {
	case KBC_READ_CB:     kbc_reply(misc.kbc_cb); break;
	case KBC_WRITE_CB:
	case KBC_WRITE_OUT:   misc.kbc_pending = cmd; break;
	case KBC_AUX_DISABLE: misc.kbc_cb |= CB_AUX_OFF; break;
	case KBC_AUX_ENABLE:  misc.kbc_cb &= ~CB_AUX_OFF; break;
	case KBC_SELF_TEST:   kbc_reply(0x55); break;
	case KBC_KBD_TEST:    kbc_reply(0x00); break;
	case KBC_KBD_DISABLE: misc.kbc_cb |= CB_KBD_OFF; break;
	case KBC_KBD_ENABLE:  misc.kbc_cb &= ~CB_KBD_OFF; break;
	case KBC_READ_OUT:    kbc_reply(misc.kbc_out); break;
	default:
		if (cmd >= KBC_PULSE && !(cmd & OUT_RESET))
			misc_reset();
		break; /* anything else: no such feature, no reply */
	}
}

/* A byte on 0x60: data for a pending controller command, else for the (absent) keyboard. */
static void kbc_data(uint8_t val)
{
	uint8_t cmd = misc.kbc_pending;

	misc.kbc_pending = 0;
	if (cmd == KBC_WRITE_CB) {
		misc.kbc_cb = val;
	} else if (cmd == KBC_WRITE_OUT) {
		misc.kbc_out = val;
		if (!(val & OUT_RESET))
			misc_reset();
	}
}

static uint32_t kbc_data_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	(void)off;
	(void)size;
	misc.kbc_status &= ~KBS_OBF;
	return misc.kbc_obuf;
}

static uint32_t kbc_status_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return misc.kbc_status;
}

static void kbc_data_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	(void)off;
	(void)size;
	misc.kbc_status &= ~KBS_CMD;
	kbc_data(val);
}

static void kbc_cmd_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	(void)off;
	(void)size;
	misc.kbc_status |= KBS_CMD;
	kbc_command(val);
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
		misc_reset();
	misc.sysctl_a = val & ~SYSA_RESET;
}

void dev_misc_init(struct dev_stop stop)
{
	misc = (struct misc){
		.stop = stop,
		.kbc_status = KBS_SYS | KBS_UNLOCK,
		.kbc_cb = 0x45,          /* keyboard interrupt, system flag, translation */
		.kbc_out = OUT_RESET | OUT_A20,
		.sysctl_a = SYSA_A20,
	};
	dev_pio_claim(POST_PORT, 1, NULL, NULL, NULL);
	dev_pio_claim(DEBUG_EXIT_PORT, 1, NULL, debug_exit_write, NULL);
	dev_pio_claim(KBC_DATA_PORT, 1, kbc_data_read, kbc_data_write, NULL);
	dev_pio_claim(KBC_CMD_PORT, 1, kbc_status_read, kbc_cmd_write, NULL);
	dev_pio_claim(SYSCTL_A_PORT, 1, sysctl_a_read, sysctl_a_write, NULL);
}
