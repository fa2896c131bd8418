/*
 * uart16550.c - COM1 polled, for the bare image's console and the native kernel's
 * (uart16550.h).  Each transmitted byte waits for LSR.THRE, so output needs no interrupt
 * and is complete when the machine exits.  Built once per image with its pvops.h.
 */
#include "uart16550.h"
#include "pvops.h"

void uart_init(uint8_t mcr, uint8_t fcr)
{
	pv_outb(COM1 + UART_IER, 0x00);             /* no interrupts */
	pv_outb(COM1 + UART_LCR, LCR_DLAB);
	pv_outb(COM1 + UART_DLL, 1);                /* 115200 baud */
	pv_outb(COM1 + UART_DLH, 0);
	pv_outb(COM1 + UART_LCR, LCR_8N1);
	if (fcr)
		pv_outb(COM1 + UART_FCR, fcr);
	pv_outb(COM1 + UART_MCR, mcr);
}

void uart_tx(char c)
{
	/* A missing UART reads 0xFF, which has THRE set: never spins forever. */
	while (!(pv_inb(COM1 + UART_LSR) & LSR_THRE))
		;
	pv_outb(COM1 + UART_THR, (uint8_t)c);
}

int uart_rx(void)
{
	uint8_t lsr = pv_inb(COM1 + UART_LSR);
	if (lsr == 0xFF || !(lsr & LSR_DR))
		return -1;
	return pv_inb(COM1 + UART_DATA);
}
