/*
 * test_devices.c - unit tests for devices/: the port bus, 8259A pair, 8254 PIT and port
 * 0x61, 16550A UART, MC146818 RTC/CMOS, the misc ports (debug exit, 0x92), the i8042 with
 * its keyboard and mouse, the ACPI tables and PM registers, the local APIC and I/O APIC
 * (through the MMIO bus), the MP tables, and the ATA/IDE disks (against temporary images).
 *
 * Devices are driven only through the port bus, the way a guest drives them, with the
 * device clock replaced by a fake one (dev_set_clock) so time-driven behaviour is exact.
 * The monitor's stop callback (struct dev_stop) is a recording stub here.
 */
#include <check.h>
#include <signal.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "devices/devices.h"
#include "monitor/param.h"
#include "monitor/vmm.h"

/* --- stubs and helpers ------------------------------------------------------------- */

static int stop_calls, stop_status;

static void record_stop(void *cookie, int status)
{
	ck_assert_ptr_eq(cookie, &stop_calls);
	stop_calls++;
	stop_status = status;
}

static const struct dev_stop test_stop = { record_stop, &stop_calls };

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void outb(uint16_t port, uint8_t v) { dev_pio_out(port, 1, v); }
static uint8_t inb(uint16_t port) { return (uint8_t)dev_pio_in(port, 1); }

/* Host ns by which the PIT has surely counted clocks input clocks; the exact deadline. */
#define PIT_NS(clocks) ((uint64_t)(clocks) * 1000000000ull / 1193182 + 1)
#define PIT_CEIL(clocks) (((uint64_t)(clocks) * 1000000000ull + 1193181) / 1193182)

/* Program the pair the way Linux does: master at 0x20, slave at 0x28, nothing masked. */
static void pic_program(uint8_t icw4)
{
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, icw4);
	outb(0xA0, 0x11); outb(0xA1, 0x28); outb(0xA1, 0x02); outb(0xA1, icw4);
	outb(0x21, 0x00); outb(0xA1, 0x00);
}

static uint8_t pic_isr(uint16_t base)
{
	outb(base, 0x0B);
	return inb(base);
}

static uint8_t pic_irr(uint16_t base)
{
	outb(base, 0x0A);
	return inb(base);
}

/* Every test starts from a fresh platform (also when Check does not fork): PIC programmed
 * at 0x20/0x28 with nothing masked, PIT as the BIOS leaves it, RTC, and the UART on the
 * given descriptors. */
static void setup_platform(int in_fd, int out_fd)
{
	stop_calls = 0;
	fake_now = 1000000000ull;
	dev_set_clock(fake_clock);
	dev_pio_reset();
	dev_pic_init();
	pic_program(0x01);
	dev_pit_init();
	dev_rtc_init(128u << 20);
	dev_uart_init(in_fd, out_fd);
}

static void setup_pic(void)
{
	setup_platform(-1, -1);
}

static void teardown(void)
{
	dev_set_clock(NULL);
	dev_pio_reset();
}

/* --- bus ------------------------------------------------------------------------- */

static uint16_t last_off;
static int last_size;
static uint32_t last_val;

static uint32_t probe_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	last_off = off;
	last_size = size;
	return 0x44332211u;
}

static void probe_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	last_off = off;
	last_size = size;
	last_val = val;
}

START_TEST(bus_unclaimed_all_ones)
{
	dev_pio_reset();
	ck_assert_uint_eq(dev_pio_in(0x1234, 1), 0xFF);
	ck_assert_uint_eq(dev_pio_in(0x1234, 2), 0xFFFF);
	ck_assert_uint_eq(dev_pio_in(0x1234, 4), 0xFFFFFFFFu);
	ck_assert_uint_eq(dev_pio_in(0xFFFF, 4), 0xFFFFFFFFu); /* wraps past the top */
	dev_pio_out(0x1234, 4, 0); /* ignored, must not crash */
}
END_TEST

START_TEST(bus_dispatch_offset_and_size)
{
	dev_pio_reset();
	ck_assert_int_eq(dev_pio_register(0x300, 8, probe_read, probe_write, NULL), 0);
	ck_assert_int_eq(dev_pio_register(0x307, 2, probe_read, probe_write, NULL), -1);
	ck_assert_int_eq(dev_pio_register(0x2FF, 1, probe_read, probe_write, NULL), 0);
	ck_assert_uint_eq(dev_pio_in(0x304, 4), 0x44332211u);
	ck_assert_uint_eq(last_off, 4);
	ck_assert_int_eq(last_size, 4);
	ck_assert_uint_eq(dev_pio_in(0x302, 2), 0x2211);
	ck_assert_int_eq(last_size, 2);
	dev_pio_out(0x306, 2, 0xBEEF);
	ck_assert_uint_eq(last_off, 6);
	ck_assert_int_eq(last_size, 2);
	ck_assert_uint_eq(last_val, 0xBEEF);
}
END_TEST

START_TEST(bus_straddling_access_is_split)
{
	dev_pio_reset();
	ck_assert_int_eq(dev_pio_register(0x300, 2, probe_read, probe_write, NULL), 0);
	/* 0x301 belongs to the device, 0x302 and 0x303 to nobody */
	ck_assert_uint_eq(dev_pio_in(0x301, 4), 0xFFFFFF11u);
	ck_assert_int_eq(last_size, 1);
	ck_assert_uint_eq(last_off, 1);
	dev_pio_out(0x2FF, 2, 0xABCD);
	ck_assert_uint_eq(last_off, 0);
	ck_assert_uint_eq(last_val, 0xAB);
}
END_TEST

/* --- PIC ------------------------------------------------------------------------- */

START_TEST(pic_init_deliver_eoi)
{
	ck_assert_int_eq(dev_pic_pending(), -1);
	dev_pic_set_irq(1, 1);
	ck_assert_uint_eq(pic_irr(0x20), 0x02);
	ck_assert_int_eq(dev_pic_pending(), 0x21);
	ck_assert_int_eq(dev_pic_ack(), 0x21);
	ck_assert_uint_eq(pic_isr(0x20), 0x02);
	ck_assert_uint_eq(pic_irr(0x20), 0x00);
	ck_assert_int_eq(dev_pic_pending(), -1);
	outb(0x20, 0x20); /* non-specific EOI */
	ck_assert_uint_eq(pic_isr(0x20), 0x00);
	ck_assert_int_eq(dev_pic_pending(), -1); /* line still high: no new edge */
}
END_TEST

START_TEST(pic_mask)
{
	outb(0x21, 0x01);
	ck_assert_uint_eq(inb(0x21), 0x01);
	dev_pic_set_irq(0, 1);
	ck_assert_int_eq(dev_pic_pending(), -1);
	ck_assert_uint_eq(pic_irr(0x20), 0x01); /* latched though masked */
	outb(0x21, 0x00);
	ck_assert_int_eq(dev_pic_pending(), 0x20);
}
END_TEST

START_TEST(pic_priority_and_nesting)
{
	dev_pic_set_irq(3, 1);
	dev_pic_set_irq(1, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x21);
	ck_assert_int_eq(dev_pic_pending(), -1); /* IRQ3 is lower than IRQ1 in service */
	dev_pic_set_irq(0, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x20); /* IRQ0 nests above IRQ1 */
	ck_assert_uint_eq(pic_isr(0x20), 0x03);
	outb(0x20, 0x61); /* specific EOI for IR1 */
	ck_assert_uint_eq(pic_isr(0x20), 0x01);
	ck_assert_int_eq(dev_pic_pending(), -1); /* IRQ3 still below IRQ0 */
	outb(0x20, 0x20); /* non-specific: clears IR0 */
	ck_assert_uint_eq(pic_isr(0x20), 0x00);
	ck_assert_int_eq(dev_pic_ack(), 0x23);
}
END_TEST

START_TEST(pic_rotation)
{
	outb(0x20, 0xC3); /* set priority: IR3 lowest, so IR4 highest */
	dev_pic_set_irq(1, 1);
	dev_pic_set_irq(5, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x25);
}
END_TEST

START_TEST(pic_edge_triggering)
{
	dev_pic_set_irq(4, 1);
	dev_pic_set_irq(4, 1); /* no new edge */
	ck_assert_int_eq(dev_pic_ack(), 0x24);
	outb(0x20, 0x20);
	ck_assert_int_eq(dev_pic_pending(), -1);
	dev_pic_set_irq(4, 0);
	dev_pic_set_irq(4, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x24);
}
END_TEST

START_TEST(pic_level_via_elcr)
{
	outb(0x4D1, 0x08); /* IRQ11 level */
	ck_assert_uint_eq(inb(0x4D1), 0x08);
	outb(0x4D0, 0xFF);
	ck_assert_uint_eq(inb(0x4D0), 0xF8); /* IRQ0-2 cannot be level */
	dev_pic_set_irq(11, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x2B);
	outb(0xA0, 0x20);
	outb(0x20, 0x20);
	ck_assert_int_eq(dev_pic_ack(), 0x2B); /* still asserted: delivered again */
}
END_TEST

START_TEST(pic_spurious_master)
{
	dev_pic_set_irq(5, 1);
	ck_assert_int_eq(dev_pic_pending(), 0x25);
	dev_pic_set_irq(5, 0); /* request withdrawn before INTA */
	ck_assert_int_eq(dev_pic_ack(), 0x27);
	ck_assert_uint_eq(pic_isr(0x20), 0x00); /* spurious sets no ISR bit */
}
END_TEST

START_TEST(pic_cascade)
{
	dev_pic_set_irq(10, 1);
	ck_assert_uint_eq(pic_irr(0x20), 0x04);
	ck_assert_int_eq(dev_pic_pending(), 0x2A);
	ck_assert_int_eq(dev_pic_ack(), 0x2A);
	ck_assert_uint_eq(pic_isr(0x20), 0x04);
	ck_assert_uint_eq(pic_isr(0xA0), 0x04);
	/* a lower slave IRQ waits for the slave's EOI, then gets through */
	dev_pic_set_irq(13, 1);
	ck_assert_int_eq(dev_pic_pending(), -1);
	outb(0xA0, 0x20);
	outb(0x20, 0x20);
	ck_assert_int_eq(dev_pic_ack(), 0x2D);
	/* a master IRQ below IR2 waits for the cascade's EOI */
	dev_pic_set_irq(3, 1);
	ck_assert_int_eq(dev_pic_pending(), -1);
	outb(0xA0, 0x20);
	outb(0x20, 0x20);
	ck_assert_int_eq(dev_pic_pending(), 0x23);
}
END_TEST

START_TEST(pic_spurious_slave)
{
	dev_pic_set_irq(12, 1);
	ck_assert_int_eq(dev_pic_pending(), 0x2C);
	dev_pic_set_irq(12, 0);
	ck_assert_int_eq(dev_pic_pending(), 0x2F); /* the master latched the cascade edge */
	ck_assert_int_eq(dev_pic_ack(), 0x2F);
	ck_assert_uint_eq(pic_isr(0xA0), 0x00);
	ck_assert_uint_eq(pic_isr(0x20), 0x04); /* the master still needs its EOI */
}
END_TEST

START_TEST(pic_auto_eoi)
{
	pic_program(0x03);
	dev_pic_set_irq(6, 1);
	dev_pic_set_irq(7, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x26);
	ck_assert_uint_eq(pic_isr(0x20), 0x00);
	ck_assert_int_eq(dev_pic_ack(), 0x27); /* no EOI needed */
	/* two slave requests through the cascade, back to back */
	dev_pic_set_irq(8, 1);
	dev_pic_set_irq(9, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x28);
	ck_assert_int_eq(dev_pic_ack(), 0x29);
	ck_assert_int_eq(dev_pic_pending(), -1);
}
END_TEST

START_TEST(pic_poll_command)
{
	outb(0x21, 0xFF);
	dev_pic_set_irq(6, 1);
	outb(0x21, 0x00);
	outb(0x20, 0x0C); /* OCW3 poll */
	ck_assert_uint_eq(inb(0x20), 0x86);
	ck_assert_uint_eq(pic_isr(0x20), 0x40);
}
END_TEST

START_TEST(pic_reinit_clears_state)
{
	dev_pic_set_irq(1, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x21);
	outb(0x20, 0x11); outb(0x21, 0x40); outb(0x21, 0x04); outb(0x21, 0x01);
	ck_assert_uint_eq(pic_isr(0x20), 0x00);
	ck_assert_uint_eq(inb(0x21), 0x00);
	dev_pic_set_irq(1, 0);
	dev_pic_set_irq(1, 1);
	ck_assert_int_eq(dev_pic_ack(), 0x41);
}
END_TEST

/* --- PIT ------------------------------------------------------------------------- */


static uint16_t pit_read16(uint16_t port)
{
	uint8_t lo = inb(port);

	return lo | (uint16_t)inb(port) << 8;
}

static void pit_program(int ch, uint8_t mode_bits, uint16_t count)
{
	outb(0x43, (uint8_t)(ch << 6 | 0x30 | mode_bits));
	outb(0x40 + ch, count & 0xFF);
	outb(0x40 + ch, count >> 8);
}

START_TEST(pit_mode2_periodic_irq0)
{
	uint64_t t0 = fake_now, dl;

	pit_program(0, 0x04, 1193); /* mode 2, about 1 ms */
	dl = dev_poll(fake_now);
	ck_assert_uint_eq(dl, t0 + PIT_CEIL(1193));
	ck_assert_int_eq(dev_pic_pending(), -1);
	fake_now = dl - 1;
	dev_poll(fake_now);
	ck_assert_int_eq(dev_pic_pending(), -1);
	fake_now = dl;
	dl = dev_poll(fake_now);
	ck_assert_int_eq(dev_pic_ack(), 0x20);
	outb(0x20, 0x20);
	ck_assert_uint_gt(dl, fake_now);
	ck_assert_uint_le(dl - fake_now, 1000000);
	/* ten periods late: the ten missed periods each give an interrupt, one after the
	 * other's EOI, and none is delivered while the previous one is still pending */
	fake_now += 10 * PIT_CEIL(1193) + 1000;
	int taken = 0;
	for (int i = 0; i < 20; i++) {
		dl = dev_poll(fake_now);
		dev_poll(fake_now);                  /* a second poll adds nothing */
		if (dev_pic_pending() < 0)
			break;
		ck_assert_int_eq(dev_pic_ack(), 0x20);
		ck_assert_int_eq(dev_pic_pending(), -1);
		outb(0x20, 0x20);
		taken++;
	}
	ck_assert_int_eq(taken, 10);
	ck_assert_uint_gt(dl, fake_now);
	ck_assert_uint_le(dl - fake_now, 1000000);
}
END_TEST

/* The backlog is bounded: a host that stopped the guest for seconds does not owe it
 * thousands of ticks. */
START_TEST(pit_catchup_bounded)
{
	pit_program(0, 0x04, 1193);
	dev_poll(fake_now);
	fake_now += 5000ull * 1000000;               /* five seconds, ~5,000 periods */
	int taken = 0;
	for (int i = 0; i < 6000; i++) {
		dev_poll(fake_now);
		if (dev_pic_pending() < 0)
			break;
		dev_pic_ack();
		outb(0x20, 0x20);
		taken++;
	}
	ck_assert_int_ge(taken, 200);
	ck_assert_int_le(taken, 252);
}
END_TEST

START_TEST(pit_mode3_square_wave)
{
	uint64_t t0 = fake_now, dl;

	pit_program(0, 0x06, 1000);
	outb(0x43, 0x00); /* latch channel 0 */
	ck_assert_uint_eq(pit_read16(0x40), 1000);
	fake_now = t0 + PIT_NS(100);
	outb(0x43, 0x00);
	ck_assert_uint_eq(pit_read16(0x40), 800); /* counts by two */
	dl = dev_poll(fake_now);
	ck_assert_uint_eq(dl, t0 + PIT_CEIL(1000));
	fake_now = dl;
	dev_poll(fake_now);
	ck_assert_int_eq(dev_pic_ack(), 0x20);
}
END_TEST

START_TEST(pit_channel2_gate_and_out)
{
	uint64_t t0;
	uint16_t c1, c2;

	outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
	ck_assert_uint_eq(inb(0x61) & 0x03, 0x01);
	outb(0x43, 0xB0); /* channel 2, lo/hi, mode 0 */
	ck_assert_uint_eq(inb(0x61) & 0x20, 0); /* OUT low on the mode word */
	outb(0x42, 11932 & 0xFF);
	outb(0x42, 11932 >> 8);
	t0 = fake_now;
	fake_now = t0 + 5000000;
	ck_assert_uint_eq(inb(0x61) & 0x20, 0);
	c1 = pit_read16(0x42);
	ck_assert_uint_lt(c1, 11932 - 5900);
	ck_assert_uint_gt(c1, 11932 - 6000);
	fake_now = t0 + PIT_NS(11932);
	ck_assert_uint_eq(inb(0x61) & 0x20, 0x20);
	/* gate off freezes the count where it is; gate on resumes from there */
	c1 = pit_read16(0x42);
	outb(0x61, 0x00);
	fake_now += 1000000;
	c2 = pit_read16(0x42);
	ck_assert_uint_eq(c1, c2);
	outb(0x61, 0x01);
	fake_now += PIT_NS(100);
	ck_assert_uint_eq(pit_read16(0x42), (uint16_t)(c1 - 100));
}
END_TEST

START_TEST(pit_channel2_gate_low_does_not_count)
{
	outb(0x61, 0x00);
	pit_program(2, 0x00, 5000);
	fake_now += 10000000;
	ck_assert_uint_eq(pit_read16(0x42), 5000);
	ck_assert_uint_eq(inb(0x61) & 0x20, 0);
	outb(0x61, 0x01);
	fake_now += PIT_NS(5000);
	ck_assert_uint_eq(inb(0x61) & 0x20, 0x20);
}
END_TEST

START_TEST(pit_latch_holds_value)
{
	uint64_t t0 = fake_now;

	pit_program(0, 0x04, 1000);
	fake_now = t0 + PIT_NS(300);
	outb(0x43, 0x00);
	fake_now = t0 + PIT_NS(500);
	ck_assert_uint_eq(pit_read16(0x40), 700);
	ck_assert_uint_eq(pit_read16(0x40), 500); /* latch released: live again */
}
END_TEST

START_TEST(pit_readback)
{
	uint64_t t0 = fake_now;

	outb(0x43, 0x34); /* ch0 lo/hi mode 2 */
	outb(0x43, 0xE2); /* read-back status of ch0 */
	ck_assert_uint_eq(inb(0x40), 0x40 | 0x80 | 0x34); /* null count, OUT high */
	outb(0x40, 0x00);
	outb(0x40, 0x10); /* 4096 */
	fake_now = t0 + PIT_NS(96);
	outb(0x43, 0xC2); /* read-back count and status */
	ck_assert_uint_eq(inb(0x40), 0x80 | 0x34);
	ck_assert_uint_eq(pit_read16(0x40), 4000);
	fake_now = t0 + PIT_NS(196);
	outb(0x43, 0xD2); /* count only */
	fake_now = t0 + PIT_NS(296);
	ck_assert_uint_eq(pit_read16(0x40), 3900);
}
END_TEST

START_TEST(pit_lobyte_only)
{
	outb(0x43, 0x14); /* ch0, lobyte only, mode 2 */
	outb(0x40, 200);
	ck_assert_uint_eq(inb(0x40), 200);
	fake_now += PIT_NS(50);
	ck_assert_uint_eq(inb(0x40), 150);
}
END_TEST

START_TEST(pit_refresh_toggles)
{
	uint8_t a = inb(0x61) & 0x10;

	fake_now += 15085;
	ck_assert_uint_ne(inb(0x61) & 0x10, a);
}
END_TEST

START_TEST(pit_mode0_oneshot_irq0)
{
	uint64_t dl;

	pit_program(0, 0x00, 2000);
	dl = dev_poll(fake_now);
	fake_now = dl;
	ck_assert_uint_eq(dev_poll(fake_now), UINT64_MAX); /* one shot: nothing after */
	ck_assert_int_eq(dev_pic_ack(), 0x20);
}
END_TEST

/* --- UART ------------------------------------------------------------------------ */

static int in_pipe[2], out_pipe[2];

static void setup_uart(void)
{
	ck_assert_int_eq(pipe(in_pipe), 0);
	ck_assert_int_eq(pipe2(out_pipe, O_NONBLOCK), 0);
	setup_platform(in_pipe[0], out_pipe[1]);
}

static void teardown_uart(void)
{
	close(in_pipe[0]);
	close(in_pipe[1]);
	close(out_pipe[0]);
	close(out_pipe[1]);
	teardown();
}

/* Let input polling happen: the UART reads in_fd at most once per TIMER_MIN_NS. */
static void uart_tick(void)
{
	fake_now += TIMER_MIN_NS;
	dev_poll(fake_now);
}

static int drain_output(char *buf, int len)
{
	ssize_t n = read(out_pipe[0], buf, len);

	return n < 0 ? 0 : (int)n;
}

START_TEST(uart_lsr_and_output)
{
	char buf[16];

	ck_assert_uint_eq(inb(0x3FD) & 0x61, 0x60); /* THRE, TEMT, no data */
	outb(0x3F8, 'h');
	outb(0x3F8, 'i');
	ck_assert_uint_eq(inb(0x3FD) & 0x60, 0x60);
	ck_assert_int_eq(drain_output(buf, sizeof(buf)), 2);
	ck_assert(memcmp(buf, "hi", 2) == 0);
}
END_TEST

START_TEST(uart_thre_interrupt_clears_on_iir_read)
{
	ck_assert_uint_eq(inb(0x3FA) & 0x0F, 0x01);
	outb(0x3F9, 0x02); /* IER: THRE */
	ck_assert_int_eq(dev_pic_pending(), 0x24);
	ck_assert_uint_eq(inb(0x3FA) & 0x0F, 0x02);
	ck_assert_uint_eq(inb(0x3FA) & 0x0F, 0x01); /* cleared by the previous read */
	ck_assert_int_eq(dev_pic_pending(), -1);    /* and IRQ4 dropped */
	outb(0x3F8, 'x');
	ck_assert_int_eq(dev_pic_ack(), 0x24);
	ck_assert_uint_eq(inb(0x3FA) & 0x0F, 0x02); /* re-armed by the THR write */
	ck_assert_uint_eq(inb(0x3FA) & 0x0F, 0x01);
}
END_TEST

START_TEST(uart_iir_priority)
{
	outb(0x3FA, 0x07); /* FIFO on, trigger 1 */
	outb(0x3F9, 0x07); /* rx data, THRE, line status */
	ck_assert_uint_eq(inb(0x3FA), 0xC2);
	ck_assert_int_eq(write(in_pipe[1], "ab", 2), 2);
	uart_tick();
	ck_assert_uint_eq(inb(0x3FA), 0xC4); /* received data beats THRE */
	ck_assert_uint_eq(inb(0x3F8), 'a');
	ck_assert_uint_eq(inb(0x3FA), 0xC4);
	ck_assert_uint_eq(inb(0x3F8), 'b');
	ck_assert_uint_eq(inb(0x3FA), 0xC1); /* THRE was cleared when IIR showed it first */
	outb(0x3F8, 'z');
	ck_assert_uint_eq(inb(0x3FA), 0xC2);
}
END_TEST

START_TEST(uart_rx_trigger_level)
{
	outb(0x3FA, 0x81); /* FIFO on, trigger 8 */
	outb(0x3F9, 0x01);
	ck_assert_int_eq(write(in_pipe[1], "abc", 3), 3);
	uart_tick();
	ck_assert_uint_eq(inb(0x3FA) & 0x0F, 0x0C); /* below trigger: timeout */
	ck_assert_int_eq(write(in_pipe[1], "defghijklmnopqrstuvw", 20), 20);
	uart_tick();
	ck_assert_uint_eq(inb(0x3FA) & 0x0F, 0x04);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(inb(0x3F8), (uint8_t)('a' + i));
	ck_assert_uint_eq(inb(0x3FD) & 0x01, 0);
	fake_now += TIMER_MIN_NS;
	ck_assert_uint_eq(inb(0x3FD) & 0x01, 0x01); /* an LSR poll fetched the rest */
	ck_assert_uint_eq(inb(0x3F8), 'q');
}
END_TEST

START_TEST(uart_divisor_latch)
{
	char buf[4];

	outb(0x3FB, 0x83);
	outb(0x3F8, 0x01);
	outb(0x3F9, 0x00);
	ck_assert_uint_eq(inb(0x3F8), 0x01);
	ck_assert_uint_eq(inb(0x3F9), 0x00);
	outb(0x3FB, 0x03);
	ck_assert_uint_eq(inb(0x3F9), 0x00); /* IER untouched by the DLM write */
	ck_assert_int_eq(drain_output(buf, sizeof(buf)), 0); /* DLL write sent nothing */
	outb(0x3F9, 0x05);
	outb(0x3FB, 0x83);
	ck_assert_uint_eq(inb(0x3F8), 0x01);
	outb(0x3FB, 0x03);
	ck_assert_uint_eq(inb(0x3F9), 0x05);
	ck_assert_uint_eq(inb(0x3FB), 0x03);
}
END_TEST

START_TEST(uart_input_raises_irq4)
{
	outb(0x3F9, 0x01);
	uart_tick();
	ck_assert_int_eq(dev_pic_pending(), -1);
	ck_assert_uint_eq(inb(0x3FD) & 0x01, 0);
	ck_assert_int_eq(write(in_pipe[1], "k", 1), 1);
	fake_now += TIMER_MIN_NS / 2;
	dev_poll(fake_now);
	ck_assert_uint_eq(inb(0x3FD) & 0x01, 0); /* polled too recently: not read yet */
	fake_now += TIMER_MIN_NS / 2;
	ck_assert_uint_eq(dev_uart_poll(fake_now), fake_now + POLL_NS);
	ck_assert_uint_eq(inb(0x3FD) & 0x01, 0x01);
	ck_assert_int_eq(dev_pic_ack(), 0x24);
	ck_assert_uint_eq(inb(0x3F8), 'k');
	ck_assert_uint_eq(inb(0x3FD) & 0x01, 0);
	ck_assert_uint_eq(inb(0x3FA) & 0x0F, 0x01);
	close(in_pipe[1]);
	in_pipe[1] = -1;
	fake_now += TIMER_MIN_NS;
	ck_assert_uint_eq(dev_uart_poll(fake_now), UINT64_MAX); /* EOF stops polling */
}
END_TEST

START_TEST(uart_loopback)
{
	char buf[4];

	outb(0x3FC, 0x1B); /* loop, OUT2, RTS, DTR */
	ck_assert_uint_eq(inb(0x3FE) & 0xF0, 0xB0); /* DCD, DSR, CTS; RI (OUT1) off */
	outb(0x3FC, 0x17); /* loop, OUT1, RTS, DTR */
	ck_assert_uint_eq(inb(0x3FE), 0x70 | 0x08); /* DCD dropped: delta DCD */
	ck_assert_uint_eq(inb(0x3FE), 0x70);
	outb(0x3F8, 0x5A);
	ck_assert_uint_eq(inb(0x3FD) & 0x01, 0x01);
	ck_assert_uint_eq(inb(0x3F8), 0x5A);
	ck_assert_int_eq(drain_output(buf, sizeof(buf)), 0);
	outb(0x3FC, 0x0B);
	ck_assert_uint_eq(inb(0x3FE) & 0xF0, 0xB0);
}
END_TEST

START_TEST(uart_scratch_and_overrun)
{
	outb(0x3FF, 0xA5);
	ck_assert_uint_eq(inb(0x3FF), 0xA5);
	outb(0x3FC, 0x10); /* loopback, FIFO off: one-byte holding register */
	outb(0x3F8, 1);
	outb(0x3F8, 2);
	ck_assert_uint_eq(inb(0x3FD) & 0x03, 0x03); /* DR and OE */
	ck_assert_uint_eq(inb(0x3FD) & 0x02, 0);    /* OE cleared by the read */
	ck_assert_uint_eq(inb(0x3F8), 2);
}
END_TEST

/* --- RTC ------------------------------------------------------------------------- */

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void cmos_set(uint8_t reg, uint8_t v)
{
	outb(0x70, reg);
	outb(0x71, v);
}


static bool is_bcd(uint8_t v)
{
	return (v & 0x0F) <= 9 && (v >> 4) <= 9;
}

static int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

/* Read hour:min:sec as seconds of the day, retrying across a second change. */
static int rtc_day_seconds(bool binary, struct tm *host)
{
	for (;;) {
		time_t t = time(NULL);
		uint8_t s = cmos(0), m = cmos(2), h = cmos(4);

		if (time(NULL) != t)
			continue;
		gmtime_r(&t, host);
		if (!binary) {
			ck_assert(is_bcd(s) && is_bcd(m) && is_bcd(h & 0x7F));
			return bcd(h) * 3600 + bcd(m) * 60 + bcd(s);
		}
		return h * 3600 + m * 60 + s;
	}
}

START_TEST(rtc_bcd_and_binary)
{
	struct tm tm;
	int s;

	ck_assert_uint_eq(cmos(0x0B), 0x02); /* BCD, 24 h */
	s = rtc_day_seconds(false, &tm);
	ck_assert_int_eq(s, tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
	ck_assert_uint_eq(cmos(0x09), (tm.tm_year % 100 / 10) << 4 | tm.tm_year % 10);
	ck_assert_uint_eq(cmos(0x32), 0x20);
	cmos_set(0x0B, 0x06); /* binary, 24 h */
	s = rtc_day_seconds(true, &tm);
	ck_assert_int_eq(s, tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
	ck_assert_uint_eq(cmos(0x08), tm.tm_mon + 1);
	ck_assert_uint_eq(cmos(0x07), tm.tm_mday);
	ck_assert_uint_eq(cmos(0x32), 20);
}
END_TEST

START_TEST(rtc_12_hour)
{
	time_t t;
	struct tm tm;
	uint8_t h;

	cmos_set(0x0B, 0x04); /* binary, 12 h */
	do {
		t = time(NULL);
		h = cmos(4);
	} while (time(NULL) != t);
	gmtime_r(&t, &tm);
	ck_assert_uint_eq(h & 0x7F, tm.tm_hour % 12 ? tm.tm_hour % 12 : 12);
	ck_assert_uint_eq(!!(h & 0x80), tm.tm_hour >= 12);
}
END_TEST

START_TEST(rtc_set_time)
{
	cmos_set(0x0B, 0x82); /* SET, BCD, 24 h */
	cmos_set(0x09, 0x99);
	cmos_set(0x32, 0x19);
	cmos_set(0x08, 0x12);
	cmos_set(0x07, 0x31);
	cmos_set(0x04, 0x23);
	cmos_set(0x02, 0x59);
	cmos_set(0x00, 0x30);
	ck_assert_uint_eq(cmos(0x00), 0x30); /* frozen while SET */
	cmos_set(0x0B, 0x02);
	ck_assert_uint_eq(cmos(0x09), 0x99);
	ck_assert_uint_eq(cmos(0x04), 0x23);
	ck_assert_uint_eq(cmos(0x02), 0x59);
}
END_TEST

START_TEST(rtc_memory_size)
{
	ck_assert_uint_eq(cmos(0x15) | cmos(0x16) << 8, 640);
	ck_assert_uint_eq(cmos(0x17) | cmos(0x18) << 8, 63 * 1024);
	ck_assert_uint_eq(cmos(0x30) | cmos(0x31) << 8, 63 * 1024);
	ck_assert_uint_eq(cmos(0x34) | cmos(0x35) << 8, (128 - 16) * 16);
	dev_pio_reset();
	dev_rtc_init(8u << 20);
	ck_assert_uint_eq(cmos(0x17) | cmos(0x18) << 8, 7 * 1024);
	ck_assert_uint_eq(cmos(0x30) | cmos(0x31) << 8, 7 * 1024);
	ck_assert_uint_eq(cmos(0x34) | cmos(0x35) << 8, 0);
}
END_TEST

START_TEST(rtc_nvram_and_status)
{
	cmos_set(0x40, 0x5A);
	cmos_set(0x7F, 0xA5);
	ck_assert_uint_eq(cmos(0x40), 0x5A);
	ck_assert_uint_eq(cmos(0xFF), 0xA5); /* bit 7 of the index is the NMI mask */
	ck_assert_uint_eq(cmos(0x0D), 0x80);
	cmos_set(0x0D, 0x00);
	ck_assert_uint_eq(cmos(0x0D), 0x80);
	ck_assert_uint_eq(cmos(0x0A) & 0x7F, 0x26);
}
END_TEST

START_TEST(rtc_periodic_flag_and_irq8)
{
	cmos(0x0C);
	fake_now += 100000;
	ck_assert_uint_eq(cmos(0x0C) & 0x40, 0);
	fake_now += 1000000; /* past one 1024 Hz period */
	ck_assert_uint_eq(cmos(0x0C) & 0xC0, 0x40); /* PF, no IRQF: PIE off */
	cmos_set(0x0B, 0x42); /* PIE */
	fake_now += 1000000;
	dev_poll(fake_now);
	ck_assert_int_eq(dev_pic_ack(), 0x28);
	ck_assert_uint_eq(cmos(0x0C) & 0xC0, 0xC0);
	ck_assert_uint_eq(cmos(0x0C) & 0xC0, 0x00);
}
END_TEST

/* --- misc ------------------------------------------------------------------------ */

static void setup_misc(void)
{
	setup_pic();
	stop_calls = 0;
	stop_status = -1;
	dev_misc_init(test_stop);
}

START_TEST(misc_debug_exit_status)
{
	outb(0x80, 0x12);
	ck_assert_int_eq(stop_calls, 0);
	outb(0xF4, 0x10);
	ck_assert_int_eq(stop_calls, 1);
	ck_assert_int_eq(stop_status, 0x21);
	outb(0xF4, 0x00);
	ck_assert_int_eq(stop_status, 1);
}
END_TEST

START_TEST(misc_kbc_reset)
{
	dev_i8042_init();
	ck_assert_uint_eq(inb(0x64) & 0x03, 0x00); /* nothing to read, ready to take */
	ck_assert_uint_ne(inb(0x64) & 0x04, 0);    /* system flag */
	outb(0x64, 0xAA);
	ck_assert_uint_eq(inb(0x64) & 0x01, 0x01);
	ck_assert_uint_eq(inb(0x60), 0x55);
	ck_assert_uint_eq(inb(0x64) & 0x01, 0x00);
	outb(0x64, 0x60);
	outb(0x60, 0x47);
	outb(0x64, 0x20);
	ck_assert_uint_eq(inb(0x60), 0x47);
	ck_assert_int_eq(stop_calls, 0);
	outb(0x64, 0xFE);
	ck_assert_int_eq(stop_calls, 1);
	ck_assert_int_eq(stop_status, DEV_STOP_RESET);
}
END_TEST

/* Read the byte the controller offers, checking which side it comes from. */
static uint8_t kbc_read(bool aux)
{
	uint8_t st = inb(0x64);
	ck_assert_uint_eq(st & 0x01, 0x01);
	ck_assert_uint_eq(!!(st & 0x20), aux);
	return inb(0x60);
}

/* The AUX port answers Linux's probe: loopback (with IRQ 12 when enabled) and test. */
START_TEST(i8042_aux_probe)
{
	dev_i8042_init();
	outb(0x64, 0xD3);
	outb(0x60, 0x5A);
	ck_assert_uint_eq(kbc_read(true), 0x5A);
	ck_assert_int_eq(dev_pic_pending(), -1);     /* AUX interrupt disabled: no IRQ */
	outb(0x64, 0xA9);
	ck_assert_uint_eq(kbc_read(false), 0x00);
	outb(0x64, 0x60);
	outb(0x60, 0x47 | 0x02);                     /* enable the AUX interrupt */
	outb(0x64, 0xD3);
	outb(0x60, 0xA5);
	ck_assert_int_eq(dev_pic_pending(), 0x28 + 4);   /* IRQ 12 on the slave */
	ck_assert_uint_eq(kbc_read(true), 0xA5);
	outb(0x64, 0xA7);
	outb(0x64, 0x20);
	ck_assert_uint_ne(kbc_read(false) & 0x20, 0);   /* AUX clock disabled */
}
END_TEST

/* An idle keyboard and mouse behind it: reset, identify, commands with an argument. */
START_TEST(i8042_devices_answer)
{
	dev_i8042_init();
	outb(0x60, 0xFF);
	ck_assert_uint_eq(kbc_read(false), 0xFA);
	ck_assert_uint_eq(kbc_read(false), 0xAA);
	outb(0x60, 0xF2);
	ck_assert_int_eq(dev_pic_pending(), 0x21);   /* IRQ 1 while a reply waits */
	ck_assert_uint_eq(kbc_read(false), 0xFA);
	ck_assert_uint_eq(kbc_read(false), 0xAB);
	ck_assert_uint_eq(kbc_read(false), 0x41);    /* translated, as the command byte says */
	outb(0x60, 0xED);
	ck_assert_uint_eq(kbc_read(false), 0xFA);
	outb(0x60, 0x07);                            /* LED argument, not a command */
	ck_assert_uint_eq(kbc_read(false), 0xFA);
	ck_assert_uint_eq(inb(0x64) & 0x01, 0x00);
	ck_assert_int_eq(dev_pic_pending(), -1);     /* all read: the request is withdrawn */
	outb(0x64, 0xD4);
	outb(0x60, 0xFF);
	ck_assert_uint_eq(kbc_read(true), 0xFA);
	ck_assert_uint_eq(kbc_read(true), 0xAA);
	ck_assert_uint_eq(kbc_read(true), 0x00);
	outb(0x64, 0xD4);
	outb(0x60, 0xF2);
	ck_assert_uint_eq(kbc_read(true), 0xFA);
	ck_assert_uint_eq(kbc_read(true), 0x00);
	outb(0x64, 0xD1);
	outb(0x60, 0x02);                            /* output port with bit 0 clear: reset */
	ck_assert_int_eq(stop_calls, 1);
}
END_TEST

/* --- ACPI ------------------------------------------------------------------------ */

static uint8_t sum(const uint8_t *p, unsigned n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* 2 MiB of RAM, enough for the BIOS area the tables live in. */
static uint8_t *bios_ram(void)
{
	static uint8_t ram[2u << 20];
	return ram;
}

START_TEST(acpi_tables_and_poweroff)
{
	uint8_t *ram = bios_ram();
	dev_acpi_init(ram, 2u << 20, test_stop);
	const uint8_t *rsdp = ram + ACPI_RSDP_ADDR;
	ck_assert_int_eq(memcmp(rsdp, "RSD PTR ", 8), 0);
	ck_assert_uint_eq(sum(rsdp, 20), 0);
	const uint8_t *rsdt = ram + rd32(rsdp + 16);
	ck_assert_int_eq(memcmp(rsdt, "RSDT", 4), 0);
	ck_assert_uint_eq(sum(rsdt, rd32(rsdt + 4)), 0);
	const uint8_t *fadt = ram + rd32(rsdt + 36);
	ck_assert_int_eq(memcmp(fadt, "FACP", 4), 0);
	ck_assert_uint_eq(sum(fadt, rd32(fadt + 4)), 0);
	const uint8_t *dsdt = ram + rd32(fadt + 40);
	ck_assert_int_eq(memcmp(dsdt, "DSDT", 4), 0);
	ck_assert_uint_eq(sum(dsdt, rd32(dsdt + 4)), 0);
	ck_assert_ptr_nonnull(memmem(dsdt, rd32(dsdt + 4), "_S5_", 4));
	ck_assert_int_eq(memcmp(ram + rd32(fadt + 36), "FACS", 4), 0);
	ck_assert_uint_eq(rd32(rsdt + 4), 36 + 8);
	const uint8_t *madt = ram + rd32(rsdt + 40);
	ck_assert_int_eq(memcmp(madt, "APIC", 4), 0);
	ck_assert_uint_eq(sum(madt, rd32(madt + 4)), 0);
	ck_assert_uint_eq(rd32(madt + 36), LAPIC_BASE);
	ck_assert_uint_eq(madt[44 + 8 + 12 + 3], 0);            /* ISO: source IRQ0 ... */
	ck_assert_uint_eq(rd32(madt + 44 + 8 + 12 + 4), 2);     /* ... is GSI 2 */
	const uint8_t *sci = madt + 44 + 8 + 12 + 10;           /* the next override: */
	ck_assert_uint_eq(sci[0], 2);
	ck_assert_uint_eq(sci[3], rd32(fadt + 46) & 0xFFFF);    /* the FADT's SCI IRQ ... */
	ck_assert_uint_eq(sci[8], 0x0D);                        /* ... active high, level */
	uint16_t cnt = (uint16_t)rd32(fadt + 64), tmr = (uint16_t)rd32(fadt + 76);
	ck_assert_uint_eq(dev_pio_in(cnt, 2) & 1, 1);           /* SCI_EN: ACPI mode */
	uint32_t t0 = dev_pio_in(tmr, 4);
	fake_now += 1000000;                                     /* 1 ms: 3,579.545 ticks */
	uint32_t t1 = dev_pio_in(tmr, 4);
	ck_assert_uint_ge((t1 - t0) & 0xFFFFFF, 3579);
	ck_assert_uint_le((t1 - t0) & 0xFFFFFF, 3580);
	dev_pio_out(cnt, 2, (1u << 13) | (3u << 10));            /* S3: not offered */
	ck_assert_int_eq(stop_calls, 0);
	dev_pio_out(cnt, 2, (1u << 13) | (5u << 10) | 1);        /* S5: soft off */
	ck_assert_int_eq(stop_calls, 1);
	ck_assert_int_eq(stop_status, 0);
}
END_TEST

START_TEST(misc_port92_reset)
{
	ck_assert_uint_eq(inb(0x92) & 0x02, 0x02);
	outb(0x92, 0x00);
	ck_assert_uint_eq(inb(0x92), 0x00);
	ck_assert_int_eq(stop_calls, 0);
	outb(0x92, 0x03);
	ck_assert_int_eq(stop_calls, 1);
	ck_assert_int_eq(stop_status, DEV_STOP_RESET);
}
END_TEST

START_TEST(misc_unclaimed_neighbours)
{
	ck_assert_uint_eq(inb(0x80), 0xFF);
	ck_assert_uint_eq(inb(0xF4), 0xFF);
	ck_assert_uint_eq(dev_pio_in(0xF5, 2), 0xFFFF);
}
END_TEST

/* --- local APIC and I/O APIC ------------------------------------------------------ */

#define LVT_MASK (1u << 16)

static void lapic_w(uint32_t off, uint32_t v) { dev_mmio_write(LAPIC_BASE + off, &v, 4); }
static uint32_t lapic_r(uint32_t off)
{
	uint32_t v;
	dev_mmio_read(LAPIC_BASE + off, &v, 4);
	return v;
}
static void ioapic_w(uint32_t reg, uint32_t v)
{
	dev_mmio_write(IOAPIC_BASE, &reg, 4);
	dev_mmio_write(IOAPIC_BASE + 0x10, &v, 4);
}
static uint32_t ioapic_r(uint32_t reg)
{
	uint32_t v;
	dev_mmio_write(IOAPIC_BASE, &reg, 4);
	dev_mmio_read(IOAPIC_BASE + 0x10, &v, 4);
	return v;
}

/* Platform plus APICs; the LAPIC software-enabled with LINT0 masked (no 8259 path). */
static void setup_apic(void)
{
	setup_platform(-1, -1);
	dev_lapic_init();
	dev_ioapic_init();
	lapic_w(0xF0, 0x1FF);
	lapic_w(0x350, LVT_MASK | 0x700);
}

START_TEST(lapic_registers_and_virtual_wire)
{
	setup_platform(-1, -1);             /* the reset state: LINT0 ExtINT unmasked */
	dev_lapic_init();
	ck_assert_uint_eq(lapic_r(0x30) & 0xFF, 0x14);
	ck_assert_uint_eq((lapic_r(0x30) >> 16) & 0xFF, 5);
	ck_assert_uint_eq(lapic_r(0x20), 0);
	ck_assert_uint_eq(dev_lapic_base_msr(), 0xFEE00900ull);
	dev_pic_set_irq(3, 1);              /* the 8259 reaches the CPU through LINT0 */
	ck_assert_int_eq(dev_intr_pending(), 0x23);
	lapic_w(0x350, LVT_MASK | 0x700);
	ck_assert_int_eq(dev_intr_pending(), -1);
	dev_lapic_set_base_msr(0xFEE00100ull);  /* globally disabled: the 8259 again */
	ck_assert_int_eq(dev_intr_pending(), 0x23);
	ck_assert_int_eq(dev_intr_ack(), 0x23);
}
END_TEST

START_TEST(lapic_timer_periodic)
{
	lapic_w(0x3E0, 0xB);                /* divide by 1: one count a nanosecond */
	lapic_w(0x320, (1u << 17) | 0x40);
	lapic_w(0x380, 1000);
	ck_assert_uint_eq(dev_lapic_poll(fake_now), fake_now + 1000);
	ck_assert_uint_eq(lapic_r(0x390), 1000);
	fake_now += 250;
	ck_assert_uint_eq(lapic_r(0x390), 750);
	ck_assert_int_eq(dev_intr_pending(), -1);
	fake_now += 750;
	ck_assert_uint_eq(dev_lapic_poll(fake_now), fake_now + 1000);
	ck_assert_int_eq(dev_intr_pending(), 0x40);
	ck_assert_int_eq(dev_intr_ack(), 0x40);
	lapic_w(0xB0, 0);
	fake_now += 3500;                   /* three periods missed: one interrupt */
	ck_assert_uint_eq(dev_lapic_poll(fake_now), fake_now + 500);
	ck_assert_uint_eq(lapic_r(0x390), 500);
	ck_assert_int_eq(dev_intr_ack(), 0x40);
	ck_assert_int_eq(dev_intr_pending(), -1);
}
END_TEST

START_TEST(lapic_timer_oneshot_divide)
{
	lapic_w(0x3E0, 0x0);                /* divide by 2 */
	lapic_w(0x320, 0x41);
	lapic_w(0x380, 100);                /* 200 ns */
	fake_now += 100;
	ck_assert_uint_eq(lapic_r(0x390), 50);
	ck_assert_uint_eq(dev_lapic_poll(fake_now), fake_now + 100);
	fake_now += 100;
	ck_assert_uint_eq(dev_lapic_poll(fake_now), UINT64_MAX);
	ck_assert_uint_eq(lapic_r(0x390), 0);
	ck_assert_int_eq(dev_intr_ack(), 0x41);
	fake_now += 1000;
	ck_assert_uint_eq(dev_lapic_poll(fake_now), UINT64_MAX);
	ck_assert_int_eq(dev_intr_pending(), -1);
	lapic_w(0x320, LVT_MASK | 0x41);    /* masked: counts, does not interrupt */
	lapic_w(0x380, 10);
	fake_now += 20;
	dev_lapic_poll(fake_now);
	ck_assert_int_eq(dev_intr_pending(), -1);
}
END_TEST

START_TEST(lapic_priority_and_eoi)
{
	lapic_w(0x300, (1u << 18) | 0x51);  /* self IPIs */
	lapic_w(0x300, (1u << 18) | 0x62);
	ck_assert_uint_eq(lapic_r(0x200 + 0x20), 1u << (0x51 - 0x40));    /* IRR */
	ck_assert_uint_eq(lapic_r(0x200 + 0x30), 1u << (0x62 - 0x60));
	ck_assert_int_eq(dev_intr_ack(), 0x62);
	ck_assert_uint_eq(lapic_r(0xA0), 0x60);                 /* PPR from ISR */
	ck_assert_int_eq(dev_intr_pending(), -1);               /* class 5 <= 6 */
	lapic_w(0xB0, 0);
	ck_assert_uint_eq(lapic_r(0x100 + 0x30), 0);
	lapic_w(0x80, 0x50);                                    /* TPR blocks class 5 */
	ck_assert_int_eq(dev_intr_pending(), -1);
	lapic_w(0x80, 0x40);
	ck_assert_int_eq(dev_intr_pending(), 0x51);
	ck_assert_int_eq(dev_intr_ack(), 0x51);
	lapic_w(0xB0, 0);
	lapic_w(0x310, 0x01000000);                             /* physical: not our ID */
	lapic_w(0x300, 0x55);
	lapic_w(0x300, (1u << 19) | (1u << 18) | 0x55);         /* all but self */
	lapic_w(0x300, (1u << 18) | (5u << 8));                 /* INIT: dropped */
	ck_assert_int_eq(dev_intr_pending(), -1);
	lapic_w(0x300, (1u << 18) | 0x05);                      /* illegal vector */
	lapic_w(0x280, 0);
	ck_assert_uint_eq(lapic_r(0x280), 1u << 5);
}
END_TEST

START_TEST(lapic_svr_disable)
{
	lapic_w(0x320, 0x40);
	lapic_w(0xF0, 0xFF);                /* software disable: every LVT masked */
	ck_assert_uint_eq(lapic_r(0x320) & LVT_MASK, LVT_MASK);
	lapic_w(0x320, 0x40);
	ck_assert_uint_eq(lapic_r(0x320) & LVT_MASK, LVT_MASK);
	dev_lapic_accept(0x44, false);
	ck_assert_int_eq(dev_intr_pending(), -1);
	dev_pic_set_irq(3, 1);              /* LINT0 masked too: the 8259 does not pass */
	ck_assert_int_eq(dev_intr_pending(), -1);
	lapic_w(0xF0, 0x1FF);
	dev_lapic_accept(0x44, false);
	ck_assert_int_eq(dev_intr_pending(), 0x44);
}
END_TEST

START_TEST(ioapic_routing_and_masking)
{
	ck_assert_uint_eq(ioapic_r(1), 0x170011);
	ck_assert_uint_eq(ioapic_r(0) >> 24, 1);
	ck_assert_uint_eq(ioapic_r(0x10 + 2 * 4) & LVT_MASK, LVT_MASK);   /* reset: masked */
	dev_pic_set_irq(4, 1);
	ck_assert_int_eq(dev_intr_pending(), -1);
	dev_pic_set_irq(4, 0);
	ioapic_w(0x10 + 2 * 4, 0x34);
	ioapic_w(0x11 + 2 * 4, 0);
	dev_pic_set_irq(4, 1);
	ck_assert_int_eq(dev_intr_ack(), 0x34);
	lapic_w(0xB0, 0);
	dev_pic_set_irq(4, 1);              /* still high: no new edge */
	ck_assert_int_eq(dev_intr_pending(), -1);
	ioapic_w(0x10 + 2 * 2, 0x30);       /* the PIT's IRQ0 is pin 2 */
	dev_pic_set_irq(0, 1);
	ck_assert_int_eq(dev_intr_ack(), 0x30);
	lapic_w(0xB0, 0);
	ck_assert_uint_eq(lapic_r(0x180 + 0x10), 0);   /* edge: TMR clear */
}
END_TEST

/* The PIT's periodic catch-up through the I/O APIC with the 8259 masked, as Linux sets it
 * up: the 8259's IRR keeps the (undelivered) edge, so the PIT must ask the controller that
 * delivers the line - the LAPIC - whether the last tick was taken. */
START_TEST(pit_catchup_through_ioapic)
{
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);                   /* every 8259 line masked */
	ioapic_w(0x10 + 2 * 2, 0x30);       /* IRQ0 -> pin 2, edge, unmasked */
	ioapic_w(0x11 + 2 * 2, 0);
	pit_program(0, 0x04, 1193);         /* mode 2, about 1 ms */
	dev_poll(fake_now);
	fake_now += 10 * PIT_CEIL(1193) + 1000;
	int taken = 0;
	for (int i = 0; i < 20; i++) {
		dev_poll(fake_now);
		if (dev_intr_pending() < 0)
			break;
		ck_assert_int_eq(dev_intr_ack(), 0x30);
		lapic_w(0xB0, 0);
		taken++;
	}
	ck_assert_int_eq(taken, 10);
}
END_TEST

START_TEST(ioapic_level_remote_irr)
{
	ioapic_w(0x10 + 2 * 9, (1u << 15) | 0x39);
	dev_pic_set_irq(9, 1);
	ck_assert_uint_eq(ioapic_r(0x10 + 2 * 9) & (1u << 14), 1u << 14);
	ck_assert_int_eq(dev_intr_ack(), 0x39);
	ck_assert_int_eq(dev_intr_pending(), -1);
	lapic_w(0xB0, 0);                   /* EOI with the line still high: again */
	ck_assert_int_eq(dev_intr_ack(), 0x39);
	dev_pic_set_irq(9, 0);
	lapic_w(0xB0, 0);
	ck_assert_uint_eq(ioapic_r(0x10 + 2 * 9) & (1u << 14), 0);
	ck_assert_uint_eq(lapic_r(0x180 + 0x10), 1u << (0x39 - 0x20));   /* TMR kept after EOI */
	ck_assert_int_eq(dev_intr_pending(), -1);
	ioapic_w(0x10 + 2 * 9, LVT_MASK | (1u << 15) | 0x39);
	dev_pic_set_irq(9, 1);              /* masked: waits */
	ck_assert_int_eq(dev_intr_pending(), -1);
	ioapic_w(0x10 + 2 * 9, (1u << 15) | 0x39);  /* unmasking an asserted line delivers */
	ck_assert_int_eq(dev_intr_pending(), 0x39);
}
END_TEST

/* The LAPIC's read mirror equals what a 4-byte read returns at every aligned offset but the
 * timer's current count (devices/lapic.c); n: how many words differ, for the message. */
static unsigned mirror_diff(void)
{
	uint32_t skip = 0;
	const uint32_t *m = dev_mmio_mirror(LAPIC_BASE + 0x20, &skip);
	unsigned n = 0;
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(skip, 0x390);
	for (uint32_t off = 0; off < 0x1000; off += 4)
		if ((off & ~0xFu) != skip && m[off / 4] != lapic_r(off))
			n++;
	return n;
}

START_TEST(lapic_mirror_follows_registers)
{
	uint32_t skip;
	ck_assert_ptr_null(dev_mmio_mirror(IOAPIC_BASE, &skip));
	ck_assert_ptr_null(dev_mmio_mirror(LAPIC_BASE + 0x1000, &skip));
	ck_assert_uint_eq(mirror_diff(), 0);
	lapic_w(0x80, 0x35);                            /* TPR, PPR */
	ck_assert_uint_eq(mirror_diff(), 0);
	lapic_w(0x80, 0);
	lapic_w(0x300, (1u << 18) | 0x62);              /* self-IPI: IRR */
	ck_assert_uint_eq(mirror_diff(), 0);
	ck_assert_int_eq(dev_intr_ack(), 0x62);         /* INTA: ISR, PPR */
	ck_assert_uint_eq(mirror_diff(), 0);
	lapic_w(0xB0, 0);                               /* EOI */
	ck_assert_uint_eq(mirror_diff(), 0);
	ioapic_w(0x10 + 2 * 9, (1u << 15) | 0x39);      /* level from the I/O APIC: TMR */
	dev_pic_set_irq(9, 1);
	ck_assert_uint_eq(mirror_diff(), 0);
	ck_assert_int_eq(dev_intr_ack(), 0x39);
	dev_pic_set_irq(9, 0);
	lapic_w(0xB0, 0);
	ck_assert_uint_eq(mirror_diff(), 0);
	lapic_w(0x3E0, 0xB);                            /* timer: divide, LVT, count */
	lapic_w(0x320, 0x41);
	lapic_w(0x380, 100);
	fake_now += 150;
	dev_lapic_poll(fake_now);                       /* expiry: IRR */
	ck_assert_uint_eq(mirror_diff(), 0);
	lapic_w(0x310, 0x0F000000);                     /* ICR high, LDR, DFR, ID, ESR */
	lapic_w(0xD0, 0x01000000);
	lapic_w(0xE0, 0x0FFFFFFF);
	lapic_w(0x20, 0x03000000);
	lapic_w(0x300, (1u << 18) | 0x03);              /* illegal vector: ESR after a write */
	lapic_w(0x280, 0);
	ck_assert_uint_eq(mirror_diff(), 0);
	lapic_w(0xF0, 0xFF);                            /* software disable masks every LVT */
	ck_assert_uint_eq(mirror_diff(), 0);
}
END_TEST

START_TEST(mptable_checksums_and_bda)
{
	uint8_t *ram = bios_ram();
	dev_mptable_init(ram, 2u << 20);
	const uint8_t *f = ram + MPTABLE_ADDR;
	ck_assert_int_eq(memcmp(f, "_MP_", 4), 0);
	ck_assert_uint_eq(sum(f, 16), 0);
	ck_assert_uint_eq(f[8], 1);
	const uint8_t *t = ram + rd32(f + 4);
	uint16_t len, count;
	memcpy(&len, t + 4, 2);
	memcpy(&count, t + 34, 2);
	ck_assert_int_eq(memcmp(t, "PCMP", 4), 0);
	ck_assert_uint_eq(sum(t, len), 0);
	ck_assert_uint_eq(rd32(t + 36), LAPIC_BASE);
	ck_assert_uint_le(rd32(f + 4) + len, MPTABLE_END);
	const uint8_t *e = t + 44;
	unsigned kinds[5] = {0};
	for (unsigned i = 0; i < count; i++) {
		ck_assert_uint_lt(e[0], 5);
		kinds[e[0]]++;
		if (e[0] == 3 && e[1] == 0 && e[5] == 0)
			ck_assert_uint_eq(e[7], 2);         /* IRQ0 -> pin 2 */
		e += e[0] == 0 ? 20 : 8;
	}
	ck_assert_uint_eq(e - t, len);
	ck_assert_uint_eq(kinds[0], 1);
	ck_assert_uint_eq(kinds[2], 1);
	ck_assert_uint_eq(kinds[3], 16);
	ck_assert_uint_eq(ram[0x40E] | ram[0x40F] << 8, 0x9FC0);
	ck_assert_uint_eq(ram[0x413] | ram[0x414] << 8, 639);
	ck_assert_uint_lt(ACPI_RSDP_ADDR + 0x400, MPTABLE_ADDR + 1);
}
END_TEST

/* --- ATA/IDE ----------------------------------------------------------------------- */

static char ide_path[64];

static void make_image(unsigned bytes)
{
	strcpy(ide_path, "/tmp/vmm386-ide-XXXXXX");
	int fd = mkstemp(ide_path);
	ck_assert_int_ge(fd, 0);
	for (unsigned i = 0; i < bytes; i++) {
		uint8_t b = (uint8_t)(i / 512 * 7 + i);
		ck_assert_int_eq(write(fd, &b, 1), 1);
	}
	close(fd);
}

static void setup_ide(void)
{
	setup_platform(-1, -1);
	dev_ide_reset();
	make_image(16 * 512);
}

static void teardown_ide(void)
{
	dev_ide_reset();
	unlink(ide_path);
	teardown();
}

static void ide_attach_init(int index, bool snapshot)
{
	char err[256];
	ck_assert_int_eq(dev_ide_attach(index, ide_path, snapshot, err, sizeof(err)), 0);
	dev_ide_init();
}

/* Issue a LBA28 command to the primary master. */
static void ata_cmd(uint8_t cmd, uint32_t lba, uint8_t count)
{
	outb(0x1F2, count);
	outb(0x1F3, (uint8_t)lba);
	outb(0x1F4, (uint8_t)(lba >> 8));
	outb(0x1F5, (uint8_t)(lba >> 16));
	outb(0x1F6, 0xE0 | ((lba >> 24) & 0xF));
	outb(0x1F7, cmd);
}

START_TEST(ide_identify)
{
	uint16_t id[256];
	ide_attach_init(0, true);
	outb(0x1F6, 0xA0);
	outb(0x1F7, 0xEC);
	ck_assert_uint_eq(inb(0x3F6), 0x58);            /* DRDY DSC DRQ */
	ck_assert(dev_pic_irq_latched(14));
	for (int i = 0; i < 256; i++)
		id[i] = (uint16_t)dev_pio_in(0x1F0, 2);
	ck_assert_uint_eq(inb(0x1F7), 0x50);            /* done; reading status acks */
	dev_pic_ack();
	ck_assert_uint_eq(id[0], 0x0040);
	ck_assert_uint_eq(id[60] | (uint32_t)id[61] << 16, 16);
	ck_assert_uint_eq(id[49] & (1u << 9), 1u << 9);
	ck_assert_uint_eq(id[27], 'V' << 8 | 'M');
	outb(0x1F6, 0xB0);                              /* the absent slave */
	ck_assert_uint_eq(inb(0x1F7), 0);
	ck_assert_uint_eq(inb(0x177), 0);               /* an empty channel */
}
END_TEST

START_TEST(ide_read_write_sectors)
{
	uint8_t buf[2048], want[1024];
	int fd;
	ide_attach_init(0, false);
	ata_cmd(0x20, 3, 2);
	ck_assert_uint_eq(dev_pio_in_block(0x1F0, 4, buf, 256), 128);   /* one sector */
	ck_assert_uint_eq(inb(0x1F7) & 0x08, 0x08);     /* the second is ready */
	ck_assert_uint_eq(dev_pio_in_block(0x1F0, 4, buf + 512, 128), 128);
	ck_assert_uint_eq(inb(0x1F7), 0x50);
	fd = open(ide_path, O_RDONLY);
	ck_assert_int_eq(pread(fd, want, 1024, 3 * 512), 1024);
	ck_assert_int_eq(memcmp(buf, want, 1024), 0);
	memset(buf, 0xA5, 512);
	ata_cmd(0x30, 5, 1);
	ck_assert_uint_eq(inb(0x1F7) & 0x08, 0x08);
	for (int i = 0; i < 256; i++)
		dev_pio_out(0x1F0, 2, 0xA5A5);
	ck_assert_uint_eq(inb(0x1F7), 0x50);
	ata_cmd(0xE7, 0, 0);                            /* FLUSH CACHE */
	ck_assert_int_eq(pread(fd, want, 512, 5 * 512), 512);
	ck_assert_int_eq(memcmp(buf, want, 512), 0);
	ata_cmd(0xC4, 0, 4);                            /* READ MULTIPLE before SET MULTIPLE */
	ck_assert_uint_eq(inb(0x1F7) & 0x01, 0x01);
	ata_cmd(0xC6, 0, 4);
	ck_assert_uint_eq(inb(0x1F7) & 0x01, 0);
	ata_cmd(0xC4, 4, 4);                            /* one block of four sectors */
	ck_assert_uint_eq(dev_pio_in_block(0x1F0, 2, buf, 1024), 1024);
	ck_assert_uint_eq(buf[512], 0xA5);
	ck_assert_uint_eq(dev_pio_in_block(0x1F0, 2, buf, 1024), 0);     /* no DRQ */
	ata_cmd(0x20, 15, 2);                           /* beyond the end */
	ck_assert_uint_eq(inb(0x1F7) & 0x01, 0x01);
	ck_assert_uint_eq(inb(0x1F1) & 0x10, 0x10);
	close(fd);
}
END_TEST

/* What the guest flushed is in the file even when the process dies of SIGTERM right after
 * the FLUSH CACHE: the child plays vmm386 (writes two sectors, flushes, is killed). */
START_TEST(ide_flushed_sectors_survive_sigterm)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char err[256];
		if (dev_ide_attach(0, ide_path, false, err, sizeof(err)) < 0)
			_exit(2);
		dev_ide_init();
		ata_cmd(0x30, 2, 2);
		for (int i = 0; i < 512; i++)
			dev_pio_out(0x1F0, 2, 0x5A5A);
		ata_cmd(0xE7, 0, 0);                    /* FLUSH CACHE */
		signal(SIGTERM, SIG_DFL);               /* not Check's handler: just die */
		kill(getpid(), SIGTERM);
		_exit(3);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
	uint8_t got[1024];
	int fd = open(ide_path, O_RDONLY);
	ck_assert_int_eq(pread(fd, got, sizeof(got), 2 * 512), (ssize_t)sizeof(got));
	close(fd);
	for (unsigned i = 0; i < sizeof(got); i++)
		ck_assert_uint_eq(got[i], 0x5A);
}
END_TEST

START_TEST(ide_snapshot_leaves_file)
{
	uint8_t buf[512], before[512], after[512];
	int fd = open(ide_path, O_RDONLY);
	ck_assert_int_eq(pread(fd, before, 512, 0), 512);
	ide_attach_init(1, true);
	outb(0x1F6, 0xB0);
	ck_assert_uint_eq(inb(0x1F7), 0x50);            /* the slave answers */
	outb(0x1F6, 0xA0);
	ck_assert_uint_eq(inb(0x1F7), 0x50);            /* absent master: DRDY, as QEMU */
	outb(0x1F7, 0xEC);
	ck_assert_uint_eq(inb(0x1F7) & 0x01, 0x01);     /* ...and aborts */
	outb(0x1F2, 1); outb(0x1F3, 0); outb(0x1F4, 0); outb(0x1F5, 0);
	outb(0x1F6, 0xF0);
	outb(0x1F7, 0x30);
	memset(buf, 0x3C, 512);
	ck_assert_uint_eq(dev_pio_out_block(0x1F0, 4, buf, 128), 128);
	ck_assert_uint_eq(inb(0x1F7), 0x50);
	outb(0x1F7, 0xE7);
	outb(0x1F7, 0x20);
	memset(buf, 0, 512);
	ck_assert_uint_eq(dev_pio_in_block(0x1F0, 4, buf, 128), 128);
	ck_assert_uint_eq(buf[100], 0x3C);               /* the guest sees its write */
	ck_assert_int_eq(pread(fd, after, 512, 0), 512);
	ck_assert_int_eq(memcmp(before, after, 512), 0); /* the file does not */
	close(fd);
}
END_TEST

START_TEST(ide_bad_images)
{
	char err[256];
	unlink(ide_path);
	make_image(1000);                               /* not whole sectors */
	ck_assert_int_eq(dev_ide_attach(0, ide_path, false, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "512-byte sectors"));
	ck_assert_int_eq(dev_ide_attach(0, "/nonexistent/disk.img", false, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));
	unlink(ide_path);
	make_image(0);
	ck_assert_int_eq(dev_ide_attach(0, ide_path, true, err, sizeof(err)), -1);
	ck_assert_int_eq(dev_ide_attach(7, ide_path, true, err, sizeof(err)), -1);
}
END_TEST

START_TEST(ide_srst_and_nien)
{
	ide_attach_init(0, true);
	outb(0x3F6, 0x02);                              /* nIEN */
	ata_cmd(0x20, 0, 1);
	ck_assert(!dev_pic_irq_latched(14));
	outb(0x3F6, 0x04);                              /* SRST */
	outb(0x3F6, 0x00);
	ck_assert_uint_eq(inb(0x1F2), 1);               /* disk signature */
	ck_assert_uint_eq(inb(0x1F4), 0);
	ck_assert_uint_eq(inb(0x1F7), 0x50);
}
END_TEST

/* --- everything together --------------------------------------------------------- */

START_TEST(init_all_and_poll)
{
	int p[2];
	uint64_t dl;

	dev_set_clock(fake_clock);
	fake_now = 5000000000ull;
	dev_pio_reset();
	ck_assert_int_eq(pipe(p), 0);
	dev_init_all(NULL, 32u << 20, -1, p[1], test_stop);
	ck_assert_uint_eq(inb(0x21), 0xFB); /* BIOS state: all masked but the cascade */
	ck_assert_uint_eq(inb(0x3FD) & 0x60, 0x60);
	outb(0x70, 0x34);
	ck_assert_uint_eq(inb(0x71), 0x00); /* 16 MiB above 16 MiB: 256 blocks */
	outb(0x70, 0x35);
	ck_assert_uint_eq(inb(0x71), 0x01);
	ck_assert_int_eq(dev_pio_register(0x40, 1, NULL, NULL, NULL), -1);
	dl = dev_poll(fake_now); /* channel 0 runs at 18.2 Hz */
	ck_assert_uint_gt(dl, fake_now);
	ck_assert_uint_le(dl - fake_now, 55000000);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- suite ----------------------------------------------------------------------- */

static TCase *tcase(const char *name, void (*setup)(void), void (*down)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, down);
	return tc;
}

static Suite *devices_suite(void)
{
	Suite *s = suite_create("devices");
	TCase *tc;

	tc = tcase("bus", NULL, teardown);
	tcase_add_test(tc, bus_unclaimed_all_ones);
	tcase_add_test(tc, bus_dispatch_offset_and_size);
	tcase_add_test(tc, bus_straddling_access_is_split);
	tcase_add_test(tc, init_all_and_poll);
	suite_add_tcase(s, tc);

	tc = tcase("pic", setup_pic, teardown);
	tcase_add_test(tc, pic_init_deliver_eoi);
	tcase_add_test(tc, pic_mask);
	tcase_add_test(tc, pic_priority_and_nesting);
	tcase_add_test(tc, pic_rotation);
	tcase_add_test(tc, pic_edge_triggering);
	tcase_add_test(tc, pic_level_via_elcr);
	tcase_add_test(tc, pic_spurious_master);
	tcase_add_test(tc, pic_cascade);
	tcase_add_test(tc, pic_spurious_slave);
	tcase_add_test(tc, pic_auto_eoi);
	tcase_add_test(tc, pic_poll_command);
	tcase_add_test(tc, pic_reinit_clears_state);
	suite_add_tcase(s, tc);

	tc = tcase("pit", setup_pic, teardown);
	tcase_add_test(tc, pit_mode2_periodic_irq0);
	tcase_add_test(tc, pit_catchup_bounded);
	tcase_add_test(tc, pit_mode3_square_wave);
	tcase_add_test(tc, pit_channel2_gate_and_out);
	tcase_add_test(tc, pit_channel2_gate_low_does_not_count);
	tcase_add_test(tc, pit_latch_holds_value);
	tcase_add_test(tc, pit_readback);
	tcase_add_test(tc, pit_lobyte_only);
	tcase_add_test(tc, pit_refresh_toggles);
	tcase_add_test(tc, pit_mode0_oneshot_irq0);
	suite_add_tcase(s, tc);

	tc = tcase("uart", setup_uart, teardown_uart);
	tcase_add_test(tc, uart_lsr_and_output);
	tcase_add_test(tc, uart_thre_interrupt_clears_on_iir_read);
	tcase_add_test(tc, uart_iir_priority);
	tcase_add_test(tc, uart_rx_trigger_level);
	tcase_add_test(tc, uart_divisor_latch);
	tcase_add_test(tc, uart_input_raises_irq4);
	tcase_add_test(tc, uart_loopback);
	tcase_add_test(tc, uart_scratch_and_overrun);
	suite_add_tcase(s, tc);

	tc = tcase("rtc", setup_pic, teardown);
	tcase_add_test(tc, rtc_bcd_and_binary);
	tcase_add_test(tc, rtc_12_hour);
	tcase_add_test(tc, rtc_set_time);
	tcase_add_test(tc, rtc_memory_size);
	tcase_add_test(tc, rtc_nvram_and_status);
	tcase_add_test(tc, rtc_periodic_flag_and_irq8);
	suite_add_tcase(s, tc);

	tc = tcase("misc", setup_misc, teardown);
	tcase_add_test(tc, misc_debug_exit_status);
	tcase_add_test(tc, misc_kbc_reset);
	tcase_add_test(tc, i8042_aux_probe);
	tcase_add_test(tc, i8042_devices_answer);
	tcase_add_test(tc, acpi_tables_and_poweroff);
	tcase_add_test(tc, misc_port92_reset);
	tcase_add_test(tc, misc_unclaimed_neighbours);
	suite_add_tcase(s, tc);

	tc = tcase("apic-reset", NULL, teardown);
	tcase_add_test(tc, lapic_registers_and_virtual_wire);
	suite_add_tcase(s, tc);

	tc = tcase("apic", setup_apic, teardown);
	tcase_add_test(tc, lapic_timer_periodic);
	tcase_add_test(tc, lapic_timer_oneshot_divide);
	tcase_add_test(tc, lapic_priority_and_eoi);
	tcase_add_test(tc, lapic_svr_disable);
	tcase_add_test(tc, ioapic_routing_and_masking);
	tcase_add_test(tc, ioapic_level_remote_irr);
	tcase_add_test(tc, pit_catchup_through_ioapic);
	tcase_add_test(tc, lapic_mirror_follows_registers);
	tcase_add_test(tc, mptable_checksums_and_bda);
	suite_add_tcase(s, tc);

	tc = tcase("ide", setup_ide, teardown_ide);
	tcase_add_test(tc, ide_identify);
	tcase_add_test(tc, ide_read_write_sectors);
	tcase_add_test(tc, ide_snapshot_leaves_file);
	tcase_add_test(tc, ide_flushed_sectors_survive_sigterm);
	tcase_add_test(tc, ide_bad_images);
	tcase_add_test(tc, ide_srst_and_nien);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(devices_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
