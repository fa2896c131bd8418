/*
 * rtc.c - the MC146818 real-time clock and its CMOS memory (index 0x70, data 0x71).
 *
 * The clock is the host's UTC time (CLOCK_REALTIME) plus an offset the guest may change by
 * setting the time with register B's SET bit.  Time registers are computed when read, in
 * BCD or binary and 24 or 12 hour form as register B says; UIP (register A bit 7) reads as
 * set in the last 244 us before each second changes, so a guest that waits for UIP clear
 * then reads the time never sees it change.  Register C's flags are computed lazily:
 * UF when the second changed since C was last read, AF when the time matched the alarm at a
 * second change, PF when a period of the rate in register A passed.  An enabled flag sets
 * IRQF and drives IRQ8 until C is read; dev_rtc_poll() notices flags in time and reports
 * when the next one is due.
 *
 * The rest of the 128 bytes is plain NVRAM, preset with the memory size bytes a BIOS
 * stores there: 0x15/0x16 base KiB (640), 0x17/0x18 and 0x30/0x31 KiB above 1 MiB
 * (at most 63 MiB), 0x34/0x35 64 KiB blocks above 16 MiB.
 */
#include <string.h>
#include <time.h>
#include "devices/devices.h"

#define RTC_BASE  0x70
#define RTC_IRQ   8
#define CMOS_SIZE 128

/* Ports. */
#define RTC_INDEX 0
#define RTC_DATA  1

/* CMOS registers. */
enum {
	REG_SEC = 0x00, REG_SEC_ALARM = 0x01, REG_MIN = 0x02, REG_MIN_ALARM = 0x03,
	REG_HOUR = 0x04, REG_HOUR_ALARM = 0x05, REG_WDAY = 0x06, REG_MDAY = 0x07,
	REG_MONTH = 0x08, REG_YEAR = 0x09, REG_A = 0x0A, REG_B = 0x0B, REG_C = 0x0C,
	REG_D = 0x0D, REG_EQUIPMENT = 0x14, REG_BASE_LO = 0x15, REG_BASE_HI = 0x16,
	REG_EXT_LO = 0x17, REG_EXT_HI = 0x18, REG_EXT2_LO = 0x30, REG_EXT2_HI = 0x31,
	REG_CENTURY = 0x32, REG_HIGH_LO = 0x34, REG_HIGH_HI = 0x35,
};

#define A_UIP   0x80
#define B_SET   0x80
#define B_PIE   0x40
#define B_AIE   0x20
#define B_UIE   0x10
#define B_DM    0x04 /* binary */
#define B_24H   0x02
#define C_IRQF  0x80
#define C_PF    0x40
#define C_AF    0x20
#define C_UF    0x10
#define D_VRT   0x80
#define HOUR_PM 0x80
#define ALARM_ANY 0xC0 /* alarm byte >= 0xC0 matches any value */

#define NS_PER_S 1000000000ull
#define UIP_NS   244000ull
#define NEVER    UINT64_MAX

static struct rtc {
	uint8_t cmos[CMOS_SIZE];
	uint8_t index;
	int64_t offset;      /* guest time - host time, seconds */
	int64_t last_sec;    /* guest second when C was last brought up to date */
	uint64_t next_pf;    /* dev_now_ns() of the next periodic flag, NEVER if off */
} rtc;

/* --- time ------------------------------------------------------------------------- */

/* Guest wall-clock time: seconds and nanoseconds into the second. */
static int64_t rtc_time(uint64_t *ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ns)
		*ns = (uint64_t)ts.tv_nsec;
	return (int64_t)ts.tv_sec + rtc.offset;
}

static uint8_t to_bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static int from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

/* A time field as the guest sees it (BCD or binary). */
static uint8_t rtc_enc(int v)
{
	return (rtc.cmos[REG_B] & B_DM) ? (uint8_t)v : to_bcd(v);
}

static int rtc_dec(uint8_t v)
{
	return (rtc.cmos[REG_B] & B_DM) ? v : from_bcd(v);
}

static uint8_t rtc_enc_hour(int h)
{
	int h12;

	if (rtc.cmos[REG_B] & B_24H)
		return rtc_enc(h);
	h12 = h % 12 ? h % 12 : 12;
	return rtc_enc(h12) | (h >= 12 ? HOUR_PM : 0);
}

static int rtc_dec_hour(uint8_t v)
{
	int h;

	if (rtc.cmos[REG_B] & B_24H)
		return rtc_dec(v);
	h = rtc_dec(v & ~HOUR_PM) % 12;
	return (v & HOUR_PM) ? h + 12 : h;
}

/* Store the guest's current time into the time registers (binary-coded per B). */
static void rtc_fill_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	rtc.cmos[REG_SEC] = rtc_enc(tm.tm_sec);
	rtc.cmos[REG_MIN] = rtc_enc(tm.tm_min);
	rtc.cmos[REG_HOUR] = rtc_enc_hour(tm.tm_hour);
	rtc.cmos[REG_WDAY] = rtc_enc(tm.tm_wday + 1);
	rtc.cmos[REG_MDAY] = rtc_enc(tm.tm_mday);
	rtc.cmos[REG_MONTH] = rtc_enc(tm.tm_mon + 1);
	rtc.cmos[REG_YEAR] = rtc_enc(tm.tm_year % 100);
	rtc.cmos[REG_CENTURY] = rtc_enc(19 + tm.tm_year / 100);
}

/* The guest finished setting the time (SET cleared): adopt the registers as the time. */
static void rtc_take_time(void)
{
	struct tm tm = {
		.tm_sec = rtc_dec(rtc.cmos[REG_SEC]),
		.tm_min = rtc_dec(rtc.cmos[REG_MIN]),
		.tm_hour = rtc_dec_hour(rtc.cmos[REG_HOUR]),
		.tm_mday = rtc_dec(rtc.cmos[REG_MDAY]),
		.tm_mon = rtc_dec(rtc.cmos[REG_MONTH]) - 1,
		.tm_year = (rtc_dec(rtc.cmos[REG_CENTURY]) - 19) * 100 +
			   rtc_dec(rtc.cmos[REG_YEAR]),
	};

	rtc.offset = 0;
	rtc.offset = (int64_t)timegm(&tm) - rtc_time(NULL);
	rtc.last_sec = rtc_time(NULL);
}

/* --- flags and IRQ8 ---------------------------------------------------------------- */

static bool alarm_match(uint8_t alarm, uint8_t now)
{
	return alarm >= ALARM_ANY || alarm == now;
}

static bool rtc_alarm_due(int64_t t)
{
	rtc_fill_time(t);
	return alarm_match(rtc.cmos[REG_SEC_ALARM], rtc.cmos[REG_SEC]) &&
	       alarm_match(rtc.cmos[REG_MIN_ALARM], rtc.cmos[REG_MIN]) &&
	       alarm_match(rtc.cmos[REG_HOUR_ALARM], rtc.cmos[REG_HOUR]);
}

/* Periodic interrupt period from register A's rate bits, or 0 when off. */
static uint64_t rtc_period_ns(void)
{
	int rs = rtc.cmos[REG_A] & 0x0F;

	if (rs == 0)
		return 0;
	if (rs < 3)
		rs += 7; /* 1, 2 behave as 8, 9 (256 Hz, 128 Hz) */
	return (NS_PER_S << (rs - 1)) / 32768;
}

static void rtc_update_flags(uint64_t now)
{
	uint64_t period = rtc_period_ns();
	int64_t t = rtc_time(NULL);

	if (!(rtc.cmos[REG_B] & B_SET) && t != rtc.last_sec) {
		rtc.cmos[REG_C] |= C_UF;
		if (rtc_alarm_due(t))
			rtc.cmos[REG_C] |= C_AF;
		rtc.last_sec = t;
	}
	if (period && rtc.next_pf != NEVER && now >= rtc.next_pf) {
		rtc.cmos[REG_C] |= C_PF;
		rtc.next_pf = now + period - (now - rtc.next_pf) % period;
	}
	if (rtc.cmos[REG_C] & rtc.cmos[REG_B] & (C_PF | C_AF | C_UF))
		rtc.cmos[REG_C] |= C_IRQF;
	dev_pic_set_irq(RTC_IRQ, (rtc.cmos[REG_C] & C_IRQF) != 0);
}

static void rtc_restart_periodic(void)
{
	uint64_t period = rtc_period_ns();

	rtc.next_pf = period ? dev_now_ns() + period : NEVER;
}

uint64_t dev_rtc_poll(uint64_t now_ns)
{
	uint64_t ns, next = NEVER;

	if (!(rtc.cmos[REG_B] & (B_PIE | B_AIE | B_UIE)))
		return NEVER; /* flags alone are computed when register C is read */
	rtc_update_flags(now_ns);
	rtc_time(&ns);
	if (rtc.cmos[REG_B] & (B_UIE | B_AIE))
		next = now_ns + (NS_PER_S - ns);
	if ((rtc.cmos[REG_B] & B_PIE) && rtc.next_pf < next)
		next = rtc.next_pf;
	return next;
}

/* --- registers ---------------------------------------------------------------------- */

static uint8_t rtc_read_reg(uint8_t reg)
{
	uint64_t ns;
	uint8_t val;

	switch (reg) {
	case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY: case REG_MDAY:
	case REG_MONTH: case REG_YEAR: case REG_CENTURY:
		if (!(rtc.cmos[REG_B] & B_SET))
			rtc_fill_time(rtc_time(NULL));
		return rtc.cmos[reg];
	case REG_A:
		rtc_time(&ns);
		return (rtc.cmos[REG_A] & ~A_UIP) |
		       (!(rtc.cmos[REG_B] & B_SET) && ns >= NS_PER_S - UIP_NS ? A_UIP : 0);
	case REG_C:
		rtc_update_flags(dev_now_ns());
		val = rtc.cmos[REG_C];
		rtc.cmos[REG_C] = 0;
		dev_pic_set_irq(RTC_IRQ, 0);
		return val;
	case REG_D:
		return D_VRT;
	default:
		return rtc.cmos[reg];
	}
}

static void rtc_write_b(uint8_t val)
{
	uint8_t old = rtc.cmos[REG_B];

	if ((val & B_SET) && !(old & B_SET))
		rtc_fill_time(rtc_time(NULL)); /* freeze: the guest edits a snapshot */
	rtc.cmos[REG_B] = val;
	if (!(val & B_SET) && (old & B_SET))
		rtc_take_time();
}

static void rtc_write_reg(uint8_t reg, uint8_t val)
{
	switch (reg) {
	case REG_A:
		rtc.cmos[REG_A] = val & ~A_UIP;
		rtc_restart_periodic();
		break;
	case REG_B:
		rtc_write_b(val);
		break;
	case REG_C: case REG_D:
		break; /* read-only */
	default:
		rtc.cmos[reg] = val;
		break;
	}
	rtc_update_flags(dev_now_ns());
}

static uint32_t rtc_read(void *opaque, uint16_t off, int size)
{
	if (size != 1)
		return dev_pio_split_in(rtc_read, opaque, off, size);
	if (off == RTC_INDEX)
		return 0xFF; /* the index register is write-only */
	return rtc_read_reg(rtc.index);
}

static void rtc_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	if (size != 1) {
		dev_pio_split_out(rtc_write, opaque, off, size, val);
		return;
	}
	if (off == RTC_INDEX)
		rtc.index = val & 0x7F; /* bit 7 masks NMI: there is no NMI to mask */
	else
		rtc_write_reg(rtc.index, val);
}

static void cmos_put16(int reg, uint32_t v)
{
	rtc.cmos[reg] = v & 0xFF;
	rtc.cmos[reg + 1] = (v >> 8) & 0xFF;
}

static void rtc_set_memory(uint32_t ram_bytes)
{
	uint32_t ext_kib = ram_bytes > (1u << 20) ? (ram_bytes >> 10) - 1024 : 0;
	uint32_t high = ram_bytes > (16u << 20) ? (ram_bytes - (16u << 20)) >> 16 : 0;

	if (ext_kib > 63 * 1024)
		ext_kib = 63 * 1024;
	if (high > 0xFFFF)
		high = 0xFFFF;
	cmos_put16(REG_BASE_LO, 640);
	cmos_put16(REG_EXT_LO, ext_kib);
	cmos_put16(REG_EXT2_LO, ext_kib);
	cmos_put16(REG_HIGH_LO, high);
}

void dev_rtc_init(uint32_t ram_bytes)
{
	memset(&rtc, 0, sizeof(rtc));
	rtc.cmos[REG_A] = 0x26;            /* 32.768 kHz time base, 1024 Hz rate */
	rtc.cmos[REG_B] = B_24H;           /* BCD, 24 hour, no interrupts */
	rtc.cmos[REG_EQUIPMENT] = 0x06;    /* keyboard, FPU, EGA/VGA, no floppy */
	rtc_set_memory(ram_bytes);
	rtc.last_sec = rtc_time(NULL);
	rtc_restart_periodic();
	dev_pio_claim(RTC_BASE, 2, rtc_read, rtc_write, NULL);
}
