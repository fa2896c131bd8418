/*
 * console.c - COM1 (16550A at 0x3F8): polled output, interrupt-driven input, and a small
 * line discipline.
 *
 * Output polls LSR.THRE per byte, so it needs no interrupt and is complete when the machine
 * exits; "\n" goes out as "\r\n".
 *
 * Input: IRQ4 (received data available) drains the UART into a ring buffer and wakes the
 * reader; the reader also re-polls the UART once per tick, in case an interrupt is lost.
 * The FIFO control register is never written: switching FIFO mode on clears the receiver,
 * and a byte piped in while the machine booted would be lost (QEMU and vmm386 hand the UART
 * the next byte as soon as the previous one is read, so there is no safe moment).
 *
 * The line discipline echoes what it receives (QEMU and vmm386 put a terminal on stdio in
 * raw mode), turns CR into LF, handles backspace/DEL, and treats ^D (0x04) as end of input:
 * at the start of a line read() returns 0.  A host-side EOF on stdin is invisible to the
 * guest (neither QEMU's nor vmm386's UART signals it), so ^D is the only end of file the
 * kernel can see.  A completed line is kept so read() can return it in pieces.
 */
#include "kernel.h"

#define COM1     0x3F8
#define UART_DATA 0
#define UART_IER 1
#define UART_DLH 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR   0x01
#define LSR_THRE 0x20

#ifdef PV_GUEST
/* PV: output through PV_HC_CONSOLE_IO; no console input yet (read() sees end of file). */
void pv_guest_init(void);

void console_init(void)
{
	pv_guest_init();
}

void console_enable_irq(void) {}
void console_irq(void) {}

void console_write_n(const char *s, size_t n)
{
	char buf[128];
	size_t k = 0;
	while (n--) {
		if (*s == '\n')
			buf[k++] = '\r';
		buf[k++] = *s++;
		if (k >= sizeof(buf) - 1 || !n) {
			pv_hypercall3(PV_HC_CONSOLE_IO, PV_CONSOLEIO_WRITE, k, (uint32_t)buf);
			k = 0;
		}
	}
}

void console_putc(char c) { console_write_n(&c, 1); }

void console_write(const char *s) { console_write_n(s, strlen(s)); }

int console_read(char *buf, size_t n)
{
	(void)buf; (void)n;
	return 0;
}
#else
void console_init(void)
{
	pv_outb(COM1 + UART_IER, 0x00);
	pv_outb(COM1 + UART_LCR, 0x80);
	pv_outb(COM1 + UART_DATA, 1);     /* 115200 baud */
	pv_outb(COM1 + UART_DLH, 0);
	pv_outb(COM1 + UART_LCR, 0x03);   /* 8N1 */
	pv_outb(COM1 + UART_MCR, 0x0B);   /* DTR, RTS, OUT2 (the IRQ line on a PC) */
}

/* Called once interrupts are set up: received-data interrupts on IRQ4. */
void console_enable_irq(void)
{
	pic_unmask(4);
	pv_outb(COM1 + UART_IER, 0x01);
}

static void uart_tx(char c)
{
	/* A missing UART reads 0xFF, which has THRE set: never spins forever. */
	while (!(pv_inb(COM1 + UART_LSR) & LSR_THRE))
		;
	pv_outb(COM1 + UART_DATA, (uint8_t)c);
}

void console_putc(char c)
{
	if (c == '\n')
		uart_tx('\r');
	uart_tx(c);
}

void console_write(const char *s)
{
	while (*s)
		console_putc(*s++);
}

void console_write_n(const char *s, size_t n)
{
	while (n--)
		console_putc(*s++);
}

static int uart_rx(void)
{
	uint8_t lsr = pv_inb(COM1 + UART_LSR);
	if (lsr == 0xFF || !(lsr & LSR_DR))
		return -1;
	return pv_inb(COM1 + UART_DATA);
}

static char line[256];
static uint8_t rx[1024];
static uint32_t rx_head, rx_tail;   /* free-running */

static void rx_drain(void)
{
	int c;
	while (rx_head - rx_tail < sizeof(rx) && (c = uart_rx()) >= 0)
		rx[rx_head++ % sizeof(rx)] = (uint8_t)c;
}

void console_irq(void)
{
	rx_drain();
	wakeup(rx);
}
static size_t line_len;      /* bytes being edited */
static char ready[256];
static size_t ready_len, ready_pos;
static int eof_pending;

/* Feed one byte to the line discipline; returns 1 when a line (or EOF) is ready. */
static int ldisc(int c)
{
	if (c == '\r')
		c = '\n';
	if (c == 4) {                         /* ^D: flush the line, or EOF if empty */
		if (!line_len)
			eof_pending = 1;
		goto flush;
	}
	if (c == 8 || c == 127) {
		if (line_len) {
			line_len--;
			console_write("\b \b");
		}
		return 0;
	}
	if (c != '\n' && (c < 32 || c > 126))
		return 0;
	console_putc((char)c);
	line[line_len++] = (char)c;
	if (c != '\n' && line_len < sizeof(line))
		return 0;
flush:
	memcpy(ready, line, line_len);
	ready_len = line_len;
	ready_pos = 0;
	line_len = 0;
	return 1;
}

int console_read(char *buf, size_t n)
{
	while (ready_pos == ready_len) {
		if (eof_pending) {
			eof_pending = 0;
			return 0;
		}
		int done = 0;
		rx_drain();
		while (!done && rx_tail != rx_head)
			done = ldisc(rx[rx_tail++ % sizeof(rx)]);
		if (!done && ready_pos == ready_len)
			sleep_on_timeout(rx, 1);
		if (done && eof_pending && ready_len == 0) {
			eof_pending = 0;
			return 0;
		}
	}
	size_t k = ready_len - ready_pos;
	if (k > n)
		k = n;
	memcpy(buf, ready + ready_pos, k);
	ready_pos += k;
	return (int)k;
}
#endif
