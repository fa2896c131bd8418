/*
 * i8042.c - the PC keyboard controller, with a keyboard on its first port and a mouse on
 * its AUX port, both present and idle: they answer every command as a PS/2 keyboard and
 * mouse do, and never send a key or a movement.  This is what an OS finds on a PC (and
 * under QEMU), so its probe ends at once instead of waiting for time-outs: Linux's AUX
 * loopback (0xD3) and AUX test (0xA9) each cost it half a second of polling with
 * interrupts off when a controller stays silent.
 *
 * Ports: 0x60 data (read: output buffer; write: data for a pending controller command,
 * else a byte for the keyboard), 0x64 (read: status; write: controller command).
 *
 * Output: one output buffer register and a small FIFO behind it.  Each byte remembers
 * where it came from (controller or keyboard, or the AUX side); the status register's AUX
 * bit follows the byte in the buffer.  A byte in the buffer raises IRQ 1 (keyboard side)
 * or IRQ 12 (AUX side) when the command byte enables that interrupt; reading port 0x60
 * takes the byte and lines up the next.
 *
 * Resets: controller commands 0xF0-0xFF that pulse output-port bit 0, or a write of the
 * output port (0xD1) with bit 0 clear, reset the machine (dev_reset_request(), misc.c).
 * Runs on the vCPU thread.
 */
#include <string.h>
#include "devices/devices.h"

#define DATA_PORT  0x60
#define CMD_PORT   0x64
#define KBD_IRQ    1
#define AUX_IRQ    12
#define FIFO_LEN   16

/* Status register. */
#define ST_OBF     0x01
#define ST_SYS     0x04
#define ST_CMD     0x08
#define ST_UNLOCK  0x10
#define ST_AUXB    0x20

/* Command byte. */
#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS     0x04
#define CB_KBD_OFF 0x10
#define CB_AUX_OFF 0x20
#define CB_XLATE   0x40

#define OUT_RESET  0x01
#define OUT_A20    0x02

/* Replies of PS/2 devices. */
#define PS2_ACK     0xFA
#define PS2_RESEND  0xFE
#define PS2_BAT_OK  0xAA

enum src { FROM_KBD, FROM_AUX };

static struct i8042 {
	uint8_t status, cb, out;
	uint8_t pending;            /* controller command waiting for its data byte */
	uint8_t obuf;
	enum src obuf_src;
	uint8_t fifo[FIFO_LEN];
	uint8_t fifo_src[FIFO_LEN];
	unsigned head, count;
	uint8_t kbd_pending, aux_pending;   /* device command waiting for its argument */
	bool irq1, irq12;
} kc;

/* --- output side --------------------------------------------------------------------- */

static void update_irqs(void)
{
	bool full = kc.status & ST_OBF;
	bool k = full && kc.obuf_src == FROM_KBD && (kc.cb & CB_KBD_INT);
	bool a = full && kc.obuf_src == FROM_AUX && (kc.cb & CB_AUX_INT);
	if (k != kc.irq1)
		dev_pic_set_irq(KBD_IRQ, k);
	if (a != kc.irq12)
		dev_pic_set_irq(AUX_IRQ, a);
	kc.irq1 = k;
	kc.irq12 = a;
}

/* Move the next queued byte into the output buffer if it is free. */
static void refill(void)
{
	if ((kc.status & ST_OBF) || kc.count == 0)
		return;
	kc.obuf = kc.fifo[kc.head];
	kc.obuf_src = kc.fifo_src[kc.head];
	kc.head = (kc.head + 1) % FIFO_LEN;
	kc.count--;
	kc.status |= ST_OBF;
	if (kc.obuf_src == FROM_AUX)
		kc.status |= ST_AUXB;
	else
		kc.status &= ~ST_AUXB;
	update_irqs();
}

static void queue(enum src s, uint8_t v)
{
	if (kc.count == FIFO_LEN)
		return;                      /* a full controller drops the byte */
	unsigned tail = (kc.head + kc.count) % FIFO_LEN;
	kc.fifo[tail] = v;
	kc.fifo_src[tail] = (uint8_t)s;
	kc.count++;
	refill();
}

static void queue_n(enum src s, const uint8_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		queue(s, v[i]);
}

/* --- the keyboard (set 2, translated to set 1 when the command byte says so) ---------- */

static void kbd_argument(uint8_t cmd, uint8_t v)
{
	if (cmd == 0xF0 && v == 0) {        /* get scan code set */
		uint8_t r[2] = { PS2_ACK, (kc.cb & CB_XLATE) ? 0x41 : 0x02 };
		queue_n(FROM_KBD, r, 2);
		return;
	}
	queue(FROM_KBD, PS2_ACK);           /* LEDs, typematic rate, scan code set */
}

static void kbd_write(uint8_t v)
{
	uint8_t cmd = kc.kbd_pending;
	kc.kbd_pending = 0;
	if (cmd) {
		kbd_argument(cmd, v);
		return;
	}
	switch (v) {
	case 0xFF: { uint8_t r[2] = { PS2_ACK, PS2_BAT_OK }; queue_n(FROM_KBD, r, 2); break; }
	case 0xF2: {                         /* identify: an MF2 keyboard */
		uint8_t r[3] = { PS2_ACK, 0xAB, (kc.cb & CB_XLATE) ? 0x41 : 0x83 };
		queue_n(FROM_KBD, r, 3);
		break;
	}
	case 0xEE: queue(FROM_KBD, 0xEE); break;            /* echo */
	case 0xED: case 0xF0: case 0xF3:                    /* take an argument */
		kc.kbd_pending = v;
		queue(FROM_KBD, PS2_ACK);
		break;
	case 0xF4: case 0xF5: case 0xF6: case 0xF7: case 0xF8: case 0xF9: case 0xFA:
	case 0xFB: case 0xFC: case 0xFD:
		queue(FROM_KBD, PS2_ACK);
		break;
	default: queue(FROM_KBD, PS2_RESEND); break;
	}
}

/* --- the mouse: a standard 3-button PS/2 mouse, stream mode, disabled ------------------ */

static void aux_write(uint8_t v)
{
	uint8_t cmd = kc.aux_pending;
	kc.aux_pending = 0;
	if (cmd) {                           /* sample rate or resolution */
		queue(FROM_AUX, PS2_ACK);
		return;
	}
	switch (v) {
	case 0xFF: { uint8_t r[3] = { PS2_ACK, PS2_BAT_OK, 0x00 }; queue_n(FROM_AUX, r, 3); break; }
	case 0xF2: { uint8_t r[2] = { PS2_ACK, 0x00 }; queue_n(FROM_AUX, r, 2); break; }
	case 0xE9: { uint8_t r[4] = { PS2_ACK, 0x00, 0x02, 0x64 }; queue_n(FROM_AUX, r, 4); break; }
	case 0xEB: { uint8_t r[4] = { PS2_ACK, 0x08, 0x00, 0x00 }; queue_n(FROM_AUX, r, 4); break; }
	case 0xF3: case 0xE8:
		kc.aux_pending = v;
		queue(FROM_AUX, PS2_ACK);
		break;
	case 0xE6: case 0xE7: case 0xEA: case 0xEC: case 0xEE: case 0xF0: case 0xF4:
	case 0xF5: case 0xF6:
		queue(FROM_AUX, PS2_ACK);
		break;
	default: queue(FROM_AUX, PS2_RESEND); break;
	}
}

/* --- the controller --------------------------------------------------------------------- */

static void write_out_port(uint8_t v)
{
	kc.out = v;
	if (!(v & OUT_RESET))
		dev_reset_request();
}

static void command(uint8_t cmd)
{
	switch (cmd) {
	case 0x20: queue(FROM_KBD, kc.cb); break;            /* read command byte */
	case 0x60: case 0xD1: case 0xD2: case 0xD3: case 0xD4:
		kc.pending = cmd;                                /* data byte follows */
		break;
	case 0xA7: kc.cb |= CB_AUX_OFF; break;
	case 0xA8: kc.cb &= ~CB_AUX_OFF; break;
	case 0xA9: queue(FROM_KBD, 0x00); break;             /* AUX interface test: ok */
	case 0xAA:                                           /* self test */
		kc.status |= ST_SYS;
		queue(FROM_KBD, 0x55);
		break;
	case 0xAB: queue(FROM_KBD, 0x00); break;             /* keyboard interface test */
	case 0xAD: kc.cb |= CB_KBD_OFF; break;
	case 0xAE: kc.cb &= ~CB_KBD_OFF; break;
	case 0xC0: queue(FROM_KBD, 0x00); break;             /* input port */
	case 0xD0: queue(FROM_KBD, kc.out); break;           /* output port */
	case 0xE0: queue(FROM_KBD, 0x00); break;             /* test inputs */
	default:
		if (cmd >= 0xF0 && !(cmd & OUT_RESET))
			dev_reset_request();                 /* pulse output-port bit 0 */
		break;                                       /* no such command: no reply */
	}
	update_irqs();
}

static void data_byte(uint8_t v)
{
	uint8_t cmd = kc.pending;
	kc.pending = 0;
	switch (cmd) {
	case 0x60:
		kc.cb = v;
		kc.status = (uint8_t)((kc.status & ~ST_SYS) | (v & CB_SYS));
		update_irqs();
		break;
	case 0xD1: write_out_port(v); break;
	case 0xD2: queue(FROM_KBD, v); break;                /* as if from the keyboard */
	case 0xD3: queue(FROM_AUX, v); break;                /* AUX loopback */
	case 0xD4: aux_write(v); break;
	default:   kbd_write(v); break;
	}
}

static uint32_t data_read(void *opaque, uint16_t off, int size)
{
	(void)opaque, (void)off, (void)size;
	uint8_t v = kc.obuf;
	kc.status &= ~(ST_OBF | ST_AUXB);
	update_irqs();
	refill();
	return v;
}

static uint32_t status_read(void *opaque, uint16_t off, int size)
{
	(void)opaque, (void)off, (void)size;
	return kc.status;
}

static void data_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque, (void)off, (void)size;
	kc.status &= ~ST_CMD;
	data_byte((uint8_t)val);
}

static void cmd_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque, (void)off, (void)size;
	kc.status |= ST_CMD;
	command((uint8_t)val);
}

void dev_i8042_init(void)
{
	memset(&kc, 0, sizeof(kc));
	kc.status = ST_SYS | ST_UNLOCK;
	kc.cb = CB_KBD_INT | CB_SYS | CB_XLATE;
	kc.out = OUT_RESET | OUT_A20;
	dev_pio_claim(DATA_PORT, 1, data_read, data_write, NULL);
	dev_pio_claim(CMD_PORT, 1, status_read, cmd_write, NULL);
}
