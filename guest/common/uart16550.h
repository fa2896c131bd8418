/*
 * uart16550.h - the 16550A registers the guest consoles use (COM1), shared by the bare
 * self-test kernel and the multi-process kernel.
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

#endif
