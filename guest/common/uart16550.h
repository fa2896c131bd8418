/*
 * uart16550.h - the 16550A registers the guest consoles use (COM1), and the polled UART
 * routines of guest/common/uart16550.c shared by the bare image and the native kernel.
 */
#ifndef GUEST_UART16550_H
#define GUEST_UART16550_H

#define COM1      0x3F8
#define UART_DATA 0     /* receive buffer / transmit holding (DLAB=0) */
#define UART_THR  0
#define UART_DLL  0     /* divisor low (DLAB=1) */
#define UART_IER  1
#define UART_DLH  1     /* divisor high (DLAB=1) */
#define UART_FCR  2
#define UART_LCR  3
#define UART_MCR  4
#define UART_LSR  5
#define LSR_DR    0x01  /* a received byte is waiting */
#define LSR_THRE  0x20  /* transmit holding register empty */
#define LCR_DLAB  0x80
#define LCR_8N1   0x03
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT2  0x08  /* gates the UART's interrupt line on a PC */
#define FCR_ON_CLEAR 0x07 /* FIFOs on, both cleared */

#ifndef __ASSEMBLER__
#include <stdint.h>
/* COM1 at 115200 8N1, interrupts off, MCR = mcr; FCR = fcr unless fcr is 0 (then the FIFO
 * control register is not written at all: switching FIFOs on clears the receiver). */
void uart_init(uint8_t mcr, uint8_t fcr);
void uart_tx(char c);           /* waits for THRE; a missing UART does not hang it */
int uart_rx(void);              /* a received byte, or -1 if none (or no UART) */
#endif

#endif
