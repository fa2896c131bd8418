/*
 * console.c - the console: COM1 (16550A at 0x3F8) in the native build, the PV console ring
 * (pv/abi.h) in the PV build, and one small line discipline for both.
 *
 * Native output polls LSR.THRE per byte, so it needs no interrupt and is complete when the
 * machine exits.  Native input: IRQ4 (received data available) drains the UART into a ring
 * buffer and wakes the reader; the reader also re-polls the UART once per tick, in case an
 * interrupt is lost.  The FIFO control register is never written: switching FIFO mode on
 * clears the receiver, and a byte piped in while the machine booted would be lost (QEMU
 * and vmm386 hand the UART the next byte as soon as the previous one is read, so there is
 * no safe moment).
 *
 * PV: a page shared with the monitor holds an output and an input ring (struct
 * pv_console_ring).  Output bytes are queued in the ring and the monitor is notified once
 * per write (PV_CONSRING_NOTIFY), or when the ring is full; it writes them out before the
 * notification returns, so output is complete when the machine exits too.  Input arrives
 * in the input ring with one PV_EVENT_CONSOLE per batch, delivered at IRQ4's vector, so
 * the same console_irq drains it.  The line discipline's echo of a whole batch of input
 * goes out with one notification.  Without the ring (a monitor that refuses it) output
 * falls back to PV_HC_CONSOLE_IO and there is no input.
 *
 * The line discipline echoes what it receives (QEMU and vmm386 put a terminal on stdio in
 * raw mode), turns CR into LF, handles backspace/DEL, and treats ^D (0x04) as end of input:
 * at the start of a line read() returns 0.  A host-side EOF on stdin is invisible to the
 * guest (neither QEMU's nor vmm386's UART signals it, nor the PV ring), so ^D is the only
 * end of file the kernel can see.  A completed line is kept so read() can return it in
 * pieces.
 */
#include "kernel.h"

static int hold;            /* > 0: queue output without telling the monitor yet (PV) */

#ifdef PV_GUEST
/* --- PV: the console ring ---------------------------------------------------------------- */
static struct pv_console_ring ring __attribute__((aligned(4096)));
static int ring_ok;
void pv_guest_init(void);

void console_init(void)
{
	pv_guest_init();
	ring_ok = pv_hypercall3(PV_HC_CONSOLE_RING, PV_CONSRING_SETUP, V2P((uint32_t)&ring), 0) == 0;
}

void console_enable_irq(void) {}     /* PV_EVENT_CONSOLE needs no unmasking */

static void notify(void)
{
	pv_hypercall3(PV_HC_CONSOLE_RING, PV_CONSRING_NOTIFY, 0, 0);
}

static void out_byte(char c)
{
	if (!ring_ok) {
		pv_hypercall3(PV_HC_CONSOLE_IO, PV_CONSOLEIO_WRITE, 1, (uint32_t)&c);
		return;
	}
	while (ring.out_prod - *(volatile uint32_t *)&ring.out_cons >= PV_CONS_OUT_SIZE)
		notify();                         /* full: the monitor empties it now */
	ring.out[ring.out_prod % PV_CONS_OUT_SIZE] = (uint8_t)c;
	asm volatile("" ::: "memory");        /* the byte before the index */
	ring.out_prod++;
}

static void out_done(void)
{
	if (ring_ok && !hold && ring.out_prod != *(volatile uint32_t *)&ring.out_cons)
		notify();
}

static int in_byte(void)
{
	uint32_t cons = ring.in_cons;
	if (!ring_ok || cons == *(volatile uint32_t *)&ring.in_prod)
		return -1;
	int c = ring.in[cons % PV_CONS_IN_SIZE];
	asm volatile("" ::: "memory");        /* the byte before giving its slot back */
	ring.in_cons = cons + 1;
	return c;
}
#else
/* --- native: COM1 -------------------------------------------------------------------------- */
#include "uart16550.h"

void console_init(void)
{
	uart_init(MCR_DTR | MCR_RTS | MCR_OUT2, 0);   /* FIFO control never written (above) */
}

/* Called once interrupts are set up: received-data interrupts on IRQ4. */
void console_enable_irq(void)
{
	pic_mask(4, 0);
	pv_outb(COM1 + UART_IER, 0x01);
}

static void out_byte(char c) { uart_tx(c); }
static void out_done(void) {}
static int in_byte(void) { return uart_rx(); }
#endif

/* --- output ---------------------------------------------------------------------------------- */
void console_putc(char c)
{
	if (c == '\n')
		out_byte('\r');
	out_byte(c);
	out_done();
}

void console_write_n(const char *s, size_t n)
{
	while (n--) {
		if (*s == '\n')
			out_byte('\r');
		out_byte(*s++);
	}
	out_done();
}

void console_write(const char *s)
{
	console_write_n(s, strlen(s));
}

/* --- input and the line discipline ------------------------------------------------------------ */
static char line[256];
static uint8_t rx[1024];
static uint32_t rx_head, rx_tail;   /* free-running */

static void rx_drain(void)
{
	int c;
	while (rx_head - rx_tail < sizeof(rx) && (c = in_byte()) >= 0)
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
		hold++;                           /* the echo of this batch: one notification */
		while (!done && rx_tail != rx_head)
			done = ldisc(rx[rx_tail++ % sizeof(rx)]);
		hold--;
		out_done();
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
