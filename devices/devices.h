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

#include <stddef.h>
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
void dev_pio_reset(void); /* unregister everything, MMIO too (tests) */

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
/* Write to COM1's host side (-serial): the UART's output, and the PV console's. */
void dev_console_write(const void *buf, size_t n);
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

/* --- Memory-mapped devices (mmio.c) -------------------------------------------------- */

/* A device's MMIO handlers get the offset into its range and an access of 1, 2 or 4 bytes
 * (wider or misaligned guest accesses are split by the bus). */
typedef uint32_t (*dev_mmio_read_fn)(void *opaque, uint32_t off, int size);
typedef void (*dev_mmio_write_fn)(void *opaque, uint32_t off, int size, uint32_t val);

/* Claim guest-physical [base, base+len); a clash is a monitor bug (message and abort). */
void dev_mmio_register(uint32_t base, uint32_t len, dev_mmio_read_fn rd, dev_mmio_write_fn wr,
		       void *opaque);
/* An access to device memory (not RAM).  Unclaimed addresses read as all ones and ignore
 * writes.  Called by emulation/mem.c. */
void dev_mmio_read(uint32_t gpa, void *buf, unsigned len);
void dev_mmio_write(uint32_t gpa, const void *buf, unsigned len);
void dev_mmio_reset(void); /* unregister everything (tests) */
/* The device at base keeps page (4 KiB, 1024 words) equal to what a 4-byte aligned read at
 * each offset of its first page returns, except for the 16-byte register at offset
 * volatile_reg (mmio.c).  dev_mmio_mirror: the mirror of the page holding gpa (and that
 * register's offset), or NULL. */
void dev_mmio_set_mirror(uint32_t base, const uint32_t *page, uint32_t volatile_reg);
const uint32_t *dev_mmio_mirror(uint32_t gpa, uint32_t *volatile_reg);
/* The part of dev_poll for the memory-mapped devices (the LAPIC timer): what a store to
 * one that moved its deadline (dev_pio_count) needs when the run loop does not see it. */
uint64_t dev_mmio_poll(uint64_t now_ns);

/* --- Interrupt controllers of an APIC PC (lapic.c, ioapic.c) --------------------------- */

#define LAPIC_BASE  0xFEE00000u
#define IOAPIC_BASE 0xFEC00000u
#define IOAPIC_PINS 24

void dev_lapic_init(void);
void dev_ioapic_init(void);
/* The CPU's view: the vector the LAPIC or (through LINT0 in virtual-wire mode, or with the
 * LAPIC disabled) the 8259 would deliver now, or -1; and the INTA that takes it. */
int dev_intr_pending(void);
int dev_intr_ack(void);
/* The I/O APIC (or an IPI) hands the LAPIC a fixed interrupt; level: remember it in TMR so
 * the EOI is broadcast back. */
void dev_lapic_accept(uint8_t vector, bool level);
/* IA32_APIC_BASE MSR. */
uint64_t dev_lapic_base_msr(void);
void dev_lapic_set_base_msr(uint64_t val);
uint64_t dev_lapic_poll(uint64_t now_ns);
/* An input pin of the I/O APIC changed level (pic.c routes every ISA line here too). */
void dev_ioapic_set_irq(int pin, int level);
/* Has the last edge on ISA line irq not been taken by the CPU yet?  Asks the controller that
 * delivers it: the I/O APIC pin's vector in the LAPIC's IRR when the pin is unmasked, else
 * the 8259's IRR (the PIT's catch-up waits for this). */
bool dev_isa_irq_waiting(int irq);
bool dev_lapic_irr(uint8_t vector);
/* The LAPIC's EOI of a level-triggered vector (clears remote IRR of matching entries). */
void dev_ioapic_eoi(uint8_t vector);

/* The VGA's CRT controller registers (cursor position), no display (vga.c). */
void dev_vga_init(void);

/* MP tables and the BIOS data area words (mptable.c). */
#define MPTABLE_ADDR 0xF0400u
#define MPTABLE_END  0xF0600u
void dev_mptable_init(uint8_t *ram, uint32_t ram_bytes);

/* --- ATA/IDE PIO disks (ide.c) -------------------------------------------------------- */

#define IDE_DRIVES 4   /* index 0-3: primary master, primary slave, secondary master, slave */
/* Attach image path as drive index; snapshot: guest writes stay in memory.  Returns 0, or -1
 * with a one-line reason in err (missing, unreadable, not a whole number of sectors). */
int dev_ide_attach(int index, const char *path, bool snapshot, char *err, unsigned errlen);
void dev_ide_init(void);
/* Make every write so far durable (fdatasync); FLUSH CACHE and exit do it. */
void dev_ide_flush_all(void);
void dev_ide_reset(void); /* detach everything (tests) */
/* Block transfer through a device's data port: count elements of size bytes.  Returns how
 * many were moved (0: the port has no block hook, do it element by element). */
unsigned dev_pio_in_block(uint16_t port, int size, void *buf, unsigned count);
/* Does an access of size bytes at port have a block hook (checked before any guest memory
 * is touched for a block transfer)? */
bool dev_pio_has_block(uint16_t port, int size);
unsigned dev_pio_out_block(uint16_t port, int size, const void *buf, unsigned count);
typedef unsigned (*dev_pio_block_fn)(void *opaque, uint16_t off, int size, void *buf,
				     unsigned count, bool write);
void dev_pio_set_block(uint16_t port, dev_pio_block_fn fn, void *opaque);

#endif
