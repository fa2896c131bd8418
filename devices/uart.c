/*
 * uart.c - a 16550A UART on COM1 (0x3F8-0x3FF, IRQ4), connected to the monitor's stdio.
 *
 * Output is immediate: a byte written to THR goes to out_fd at once, so the transmitter is
 * always empty (LSR THRE and TEMT always set) and every THR write re-arms the THRE interrupt.
 * Input comes from in_fd, read without blocking by dev_uart_poll() (and when the guest finds
 * the receive FIFO empty), at most once per INPUT_RETRY_NS since the run loop polls at every
 * exit, into a 16-byte FIFO; only as many bytes as fit are read, so the FIFO never overruns
 * from the host side.  End of file or an error on in_fd stops input.
 * The tty mode of in_fd is the monitor's business, not this file's.
 *
 * Invariants: IIR is derived from the state on every change (uart_update), and IRQ4 is
 * driven high exactly while IIR reports an interrupt.  Like QEMU (and unlike a PC's wiring
 * through MCR OUT2), the line does not depend on OUT2.  In loopback mode (MCR bit 4) THR
 * bytes go to the receive FIFO instead of out_fd and MSR mirrors the MCR outputs.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include "devices/devices.h"
#include "monitor/param.h"

#define COM1_BASE 0x3F8
#define COM1_IRQ  4
#define UART_FIFO 16

/* Register offsets (DLAB = LCR bit 7 switches 0 and 1 to the divisor latch). */
#define UART_RBR 0 /* read: receive buffer; write: THR */
#define UART_IER 1
#define UART_IIR 2 /* read; write: FCR */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI  0x01 /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI  0x08 /* modem status */

#define IIR_NONE    0x01
#define IIR_MSI     0x00
#define IIR_THRI    0x02
#define IIR_RDI     0x04
#define IIR_RLSI    0x06
#define IIR_TIMEOUT 0x0C
#define IIR_FIFO    0xC0

#define FCR_ENABLE  0x01
#define FCR_CLR_RX  0x02
#define FCR_TRIGGER(v) ((v) >> 6)

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1F

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_ERR  0x1E /* OE, PE, FE, BI: cleared by reading LSR */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DELTA 0x0F
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

#define INPUT_RETRY_NS TIMER_MIN_NS /* poll in_fd at most this often (dev_poll, LSR) */

struct uart {
	uint8_t fifo[UART_FIFO];
	int head, count;
	uint8_t ier, iir, fcr, lcr, mcr, lsr_err, msr, scr;
	uint8_t dll, dlm;
	bool thr_ipending;     /* THRE interrupt pending (until IIR read or IER rewritten) */
	int in_fd, out_fd;
	uint64_t last_input;   /* dev_now_ns() of the last input attempt */
};

static struct uart uart = { .in_fd = -1, .out_fd = -1 };

static const uint8_t rx_trigger[4] = { 1, 4, 8, 14 };

/* --- state -> IIR and IRQ ------------------------------------------------------------ */

static uint8_t uart_rx_iir(void)
{
	if (!(uart.fcr & FCR_ENABLE) || uart.count >= rx_trigger[FCR_TRIGGER(uart.fcr)])
		return IIR_RDI;
	return IIR_TIMEOUT; /* below the trigger level: report as a character timeout */
}

static uint8_t uart_pending(void)
{
	if ((uart.ier & IER_RLSI) && (uart.lsr_err & LSR_ERR))
		return IIR_RLSI;
	if ((uart.ier & IER_RDI) && uart.count)
		return uart_rx_iir();
	if ((uart.ier & IER_THRI) && uart.thr_ipending)
		return IIR_THRI;
	if ((uart.ier & IER_MSI) && (uart.msr & MSR_DELTA))
		return IIR_MSI;
	return IIR_NONE;
}

static void uart_update(void)
{
	uart.iir = uart_pending() | ((uart.fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	dev_pic_set_irq(COM1_IRQ, !(uart.iir & IIR_NONE));
}

/* --- receive FIFO ---------------------------------------------------------------- */

static void rx_push(uint8_t b)
{
	int cap = (uart.fcr & FCR_ENABLE) ? UART_FIFO : 1;

	if (uart.count >= cap) {
		uart.lsr_err |= LSR_OE;
		if (cap == 1)
			uart.fifo[uart.head] = b; /* 16450 mode: the new byte overwrites */
		return;
	}
	uart.fifo[(uart.head + uart.count) % UART_FIFO] = b;
	uart.count++;
}

static uint8_t rx_pop(void)
{
	uint8_t b;

	if (!uart.count)
		return 0;
	b = uart.fifo[uart.head];
	uart.head = (uart.head + 1) % UART_FIFO;
	uart.count--;
	return b;
}

static void rx_clear(void)
{
	uart.head = uart.count = 0;
}

/* --- host side ----------------------------------------------------------------- */

/* Bytes for COM1's host side (the UART's THR, and the PV console, pv/pv.c, which shares
 * -serial's backend): written whole unless out_fd breaks, then dropped from then on. */
void dev_console_write(const void *buf, size_t n)
{
	struct pollfd pfd = { .fd = uart.out_fd, .events = POLLOUT };
	const uint8_t *p = buf;

	while (n > 0 && uart.out_fd >= 0) {
		ssize_t k = write(uart.out_fd, p, n);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			poll(&pfd, 1, -1);
			continue;
		}
		uart.out_fd = -1; /* closed or broken: drop output from now on */
	}
}

int dev_uart_input_fd(void)
{
	return uart.in_fd;
}

/* Another console (the PV console ring, pv/pv.c) reads in_fd from now on: the UART leaves
 * it alone, but dev_uart_input_fd() still names it until dev_uart_input_end(), so that a
 * halted guest wakes up on input. */
static bool input_diverted;
void dev_uart_divert_input(void) { input_diverted = true; }
void dev_uart_input_end(void) { uart.in_fd = -1; }

/* Read what is available from in_fd, as much as the FIFO can take, without blocking. */
static void uart_input(void)
{
	struct pollfd pfd = { .fd = uart.in_fd, .events = POLLIN };
	uint8_t buf[UART_FIFO];
	int room = ((uart.fcr & FCR_ENABLE) ? UART_FIFO : 1) - uart.count;
	ssize_t n;

	uart.last_input = dev_now_ns();
	if (uart.in_fd < 0 || room <= 0 || (uart.mcr & MCR_LOOP) || input_diverted)
		return;
	if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
		return;
	n = read(uart.in_fd, buf, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		uart.in_fd = -1; /* EOF or error: no more input */
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		rx_push(buf[i]);
	uart_update();
}

/* The run loop calls this at every exit, so at most one poll() per INPUT_RETRY_NS.  The
 * deadline returned is only the POLL_NS backstop: a halted guest is woken by the run
 * loop's own poll of the console. */
static void uart_input_ratelimited(uint64_t now_ns)
{
	if (uart.in_fd >= 0 && now_ns - uart.last_input >= INPUT_RETRY_NS)
		uart_input();
}

uint64_t dev_uart_poll(uint64_t now_ns)
{
	uart_input_ratelimited(now_ns);
	return uart.in_fd < 0 ? UINT64_MAX : uart.last_input + POLL_NS;
}

/* --- registers ----------------------------------------------------------------- */

/* MSR: modem inputs.  Outside loopback the line is always ready (DCD, DSR, CTS). */
static uint8_t uart_msr_inputs(void)
{
	uint8_t m = uart.mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return ((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_DTR) ? MSR_DSR : 0) |
	       ((m & MCR_OUT1) ? MSR_RI : 0) | ((m & MCR_OUT2) ? MSR_DCD : 0);
}

/* New modem inputs: set the delta bits (RI: trailing edge only). */
static void uart_msr_set(uint8_t in)
{
	uint8_t chg = (uart.msr ^ in) & 0xF0, d = 0;

	if (chg & MSR_CTS)
		d |= 0x01;
	if (chg & MSR_DSR)
		d |= 0x02;
	if ((chg & MSR_RI) && !(in & MSR_RI))
		d |= 0x04;
	if (chg & MSR_DCD)
		d |= 0x08;
	uart.msr = in | ((uart.msr | d) & MSR_DELTA);
}

static void uart_write_thr(uint8_t b)
{
	if (uart.mcr & MCR_LOOP)
		rx_push(b);
	else
		dev_console_write(&b, 1);
	uart.thr_ipending = true; /* sent at once: THR is empty again */
}

static void uart_write_fcr(uint8_t val)
{
	if ((val ^ uart.fcr) & FCR_ENABLE)
		rx_clear(); /* changing FIFO mode empties the FIFOs */
	if (val & FCR_CLR_RX)
		rx_clear();
	uart.fcr = val & (FCR_ENABLE | 0xC0);
}

static void uart_write_ier(uint8_t val)
{
	/* Enabling the THRE interrupt while THR is empty raises it. */
	if ((val & IER_THRI) && !(uart.ier & IER_THRI))
		uart.thr_ipending = true;
	uart.ier = val & 0x0F;
}

static void uart_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	bool dlab = uart.lcr & LCR_DLAB;

	if (size != 1) {
		dev_pio_split_out(uart_write, opaque, off, size, val);
		return;
	}
	switch (off) {
	case UART_RBR: if (dlab) uart.dll = val; else uart_write_thr(val); break;
	case UART_IER: if (dlab) uart.dlm = val; else uart_write_ier(val); break;
	case UART_IIR: uart_write_fcr(val); break;
	case UART_LCR: uart.lcr = val; break;
	case UART_MCR: uart.mcr = val & MCR_MASK; uart_msr_set(uart_msr_inputs()); break;
	case UART_LSR: break; /* factory test register */
	case UART_MSR: break;
	case UART_SCR: uart.scr = val; break;
	}
	uart_update();
}

static uint8_t uart_read_rbr(void)
{
	uint8_t b = rx_pop();

	if (!uart.count)
		uart_input_ratelimited(dev_now_ns());
	return b;
}

static uint8_t uart_read_iir(void)
{
	uint8_t iir = uart.iir;

	if ((iir & 0x0F) == IIR_THRI)
		uart.thr_ipending = false;
	return iir;
}

static uint8_t uart_read_lsr(void)
{
	uint8_t lsr;

	if (!uart.count && uart.in_fd >= 0)
		uart_input_ratelimited(dev_now_ns());
	lsr = LSR_THRE | LSR_TEMT | uart.lsr_err | (uart.count ? LSR_DR : 0);
	uart.lsr_err = 0;
	return lsr;
}

static uint8_t uart_read_msr(void)
{
	uint8_t msr = uart.msr;

	uart.msr &= ~MSR_DELTA;
	return msr;
}

static uint32_t uart_read(void *opaque, uint16_t off, int size)
{
	bool dlab = uart.lcr & LCR_DLAB;
	uint8_t val = 0xFF;

	if (size != 1)
		return dev_pio_split_in(uart_read, opaque, off, size);
	switch (off) {
	case UART_RBR: val = dlab ? uart.dll : uart_read_rbr(); break;
	case UART_IER: val = dlab ? uart.dlm : uart.ier; break;
	case UART_IIR: val = uart_read_iir(); break;
	case UART_LCR: val = uart.lcr; break;
	case UART_MCR: val = uart.mcr; break;
	case UART_LSR: val = uart_read_lsr(); break;
	case UART_MSR: val = uart_read_msr(); break;
	case UART_SCR: val = uart.scr; break;
	}
	uart_update();
	return val;
}

void dev_uart_init(int in_fd, int out_fd)
{
	memset(&uart, 0, sizeof(uart));
	uart.in_fd = in_fd;
	uart.out_fd = out_fd;
	uart.dll = 12;          /* 9600 baud until the guest says otherwise */
	uart.lcr = 0x03;        /* 8N1 */
	uart.msr = uart_msr_inputs();
	uart.thr_ipending = false;
	uart_update();
	dev_pio_claim(COM1_BASE, 8, uart_read, uart_write, NULL);
}
