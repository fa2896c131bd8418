/*
 * lib.c - console printing (kprintf, panic) and the way out of the machine (isa-debug-exit:
 * the process status of qemu/vmm386 is 2v+1).  Memory, string and formatting routines are
 * shared by every guest image: guest/common/klibc.c.
 */
#include "kernel.h"

void kprintf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write(buf);
}

void machine_exit(uint32_t code)
{
	pv_outl(0xF4, code);
	pv_halt_forever(); /* no exit device */
}

void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	pv_irq_disable();
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write("kernel panic: ");
	console_write(buf);
	console_write("\n");
	machine_exit(PANIC_EXIT);
}
