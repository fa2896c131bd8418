/*
 * console.c - COM1 (16550A at 0x3F8) as a polled, output-only console.
 *
 * Polling: each byte waits for LSR.THRE (transmit holding register empty), so no interrupt
 * is needed and output is complete when the kernel exits.  "\n" goes out as "\r\n".
 */
#include "kernel.h"
#include "pvops.h"

#include "uart16550.h"

void console_init(void)
{
	pv_outb(COM1 + UART_IER, 0x00);             /* no interrupts */
	pv_outb(COM1 + UART_LCR, LCR_DLAB);
	pv_outb(COM1 + UART_DLL, 1);                /* 115200 baud */
	pv_outb(COM1 + UART_DLH, 0);
	pv_outb(COM1 + UART_LCR, LCR_8N1);
	pv_outb(COM1 + UART_FCR, 0x07);             /* FIFOs on and cleared */
	pv_outb(COM1 + UART_MCR, 0x03);             /* DTR, RTS */
}

static void uart_tx(char c)
{
	/* A missing UART reads 0xFF, which has THRE set: never spins forever. */
	while (!(pv_inb(COM1 + UART_LSR) & LSR_THRE))
		;
	pv_outb(COM1 + UART_THR, (uint8_t)c);
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
