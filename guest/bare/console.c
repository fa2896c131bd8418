/*
 * console.c - COM1 (16550A at 0x3F8) as a polled, output-only console (guest/common's
 * uart16550.c with the FIFOs on).  "\n" goes out as "\r\n".
 */
#include "kernel.h"
#include "uart16550.h"

void console_init(void)
{
	uart_init(MCR_DTR | MCR_RTS, FCR_ON_CLEAR);
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
