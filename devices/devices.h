/*
 * devices.h - the PC platform: port-I/O bus and the devices on it.
 *
 * The bus maps port ranges to devices and hands each device an offset into its range
 * (kvmtool style).  A port no device claims reads as all ones and ignores writes.
 * Devices raise interrupts through the PIC (dev_pic_set_irq); the run loop asks the PIC for
 * a pending vector when the guest can take one.  Time-driven devices (PIT, UART input) are
 * advanced by dev_poll(), which the run loop calls at exits and from which it learns the
 * next host deadline.
 *
 * All functions run on the vCPU thread (no locking), except where noted.
 */
#ifndef DEVICES_H
#define DEVICES_H

#include <stdint.h>
#include <stdbool.h>

/* How a device stops the machine: the monitor hands this in at init, the way kvmtool and
 * Firecracker hand a device an event to signal, so devices/ never calls up into monitor/.
 * fn(cookie, status) ends the run with process exit status `status` before another guest
 * block runs.  A device may call it from any port handler (vCPU thread). */
struct dev_stop {
	void (*fn)(void *cookie, int status);
	void *cookie;
};
/* The status a device passes when the guest reset the machine (not an exit status: the
 * monitor restarts the guest, or ends with status 0 under -no-reboot, as QEMU does). */
#define DEV_STOP_RESET (-1)

typedef uint32_t (*dev_pio_read_fn)(void *opaque, uint16_t off, int size);
typedef void (*dev_pio_write_fn)(void *opaque, uint16_t off, int size, uint32_t val);

/* Claim ports [base, base+len).  Returns 0, or -1 if the range overlaps another device. */
int dev_pio_register(uint16_t base, uint16_t len, dev_pio_read_fn rd, dev_pio_write_fn wr,
		     void *opaque);
/* size is 1, 2 or 4. */
uint32_t dev_pio_in(uint16_t port, int size);
void dev_pio_out(uint16_t port, int size, uint32_t val);
void dev_pio_reset(void); /* unregister everything (tests) */

/* 8259A pair. */
void dev_pic_init(void);
/* Drive IRQ line irq (0-15).  Edge mode (the PC default): a 0->1 transition latches IRR.
 * Level 0 withdraws the request: if it was not yet acknowledged it is gone, and an INTA
 * that finds nothing gets the spurious vector (IRQ 7/15), as on the 8259A.  A device
 * therefore holds its line high while it wants service; to signal a new event on a line
 * that is already high, drop it and raise it again. */
void dev_pic_set_irq(int irq, int level);
int dev_pic_pending(void);
/* Is irq's request latched in IRR (raised, not yet acknowledged by an INTA)? */
bool dev_pic_irq_latched(int irq);                  /* highest-priority deliverable vector, or -1 */
int dev_pic_ack(void);                      /* INTA cycle: returns vector (spurious 7/15 too) */

/* 8254 PIT and port 0x61. */
void dev_pit_init(void);
/* 16550A UART on COM1; output to out_fd, input from in_fd (-1: none). */
void dev_uart_init(int in_fd, int out_fd);
/* Port accesses so far: the run loop polls devices again only after one (or a timer signal). */
extern uint64_t dev_pio_count;
/* The input descriptor still worth waiting on (-1 after end of file). */
int dev_uart_input_fd(void);
/* The PV console ring takes over console input (uart.c); it reached end of file. */
void dev_uart_divert_input(void);
void dev_uart_input_end(void);
/* MC146818 RTC/CMOS; ram_bytes (all guest RAM) fills the CMOS memory-size registers. */
void dev_rtc_init(uint32_t ram_bytes);
/* Port 0x80 (POST), isa-debug-exit at 0xF4 (stops with status (v<<1)|1), port 0x92. */
void dev_misc_init(struct dev_stop stop);
/* The guest reset the machine (port 0x92, the i8042): stop the run loop (misc.c). */
void dev_reset_request(void);
/* i8042 keyboard controller with an idle keyboard and mouse (IRQ 1 and 12). */
void dev_i8042_init(void);

/* ACPI tables in the BIOS area and the PM registers (acpi.c): poweroff through PM1_CNT.
 * The tables are written into ram (all ram_bytes of guest RAM; none if it is too small). */
#define ACPI_RSDP_ADDR 0xF0000u
#define ACPI_PM_BASE   0x600u
void dev_acpi_init(uint8_t *ram, uint32_t ram_bytes, struct dev_stop stop);

/* Everything above, in PC order; ram[0..ram_bytes) is all guest RAM (the CMOS memory size,
 * the firmware tables). */
void dev_init_all(uint8_t *ram, uint32_t ram_bytes, int in_fd, int out_fd, struct dev_stop stop);

/* Advance time-driven devices to host time now_ns (monotonic); raise due interrupts.
 * Returns the host time (ns) of the next event a device needs, or UINT64_MAX. */
uint64_t dev_poll(uint64_t now_ns);

/* Test hook: override the clock the devices use (0 = host monotonic clock). */
void dev_set_clock(uint64_t (*clock_ns)(void));
uint64_t dev_now_ns(void);

/* --- Additions used inside devices/ (and by tests) ----------------------------------- */

/* Like dev_pio_register, but a clash is a monitor bug: message and abort. */
void dev_pio_claim(uint16_t base, uint16_t len, dev_pio_read_fn rd, dev_pio_write_fn wr,
		   void *opaque);
/* For byte-wide devices handed a 2- or 4-byte access: do it as size byte accesses
 * (little-endian), the way the ISA bus splits a wide cycle. */
uint32_t dev_pio_split_in(dev_pio_read_fn rd, void *opaque, uint16_t off, int size);
void dev_pio_split_out(dev_pio_write_fn wr, void *opaque, uint16_t off, int size,
		       uint32_t val);

/* Per-device parts of dev_poll: each advances its device to now_ns and returns its next
 * deadline (ns, same clock) or UINT64_MAX. */
uint64_t dev_pit_poll(uint64_t now_ns);
uint64_t dev_uart_poll(uint64_t now_ns);
uint64_t dev_rtc_poll(uint64_t now_ns);

#endif
