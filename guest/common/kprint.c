/*
 * kprint.c - kprintf, panic and machine_exit for every kernel image (kprint.h).  The
 * formatting itself is klibc.c's; the bytes go to the image's console_write().  Built once
 * per image with its kernel.h (PANIC_PREFIX, PANIC_EXIT) and pvops.h.
 */
#include "kernel.h"
#include "pvops.h"

void kvprintf(const char *prefix, const char *fmt, va_list ap)
{
	char buf[256];
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	if (prefix)
		console_write(prefix);
	console_write(buf);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(NULL, fmt, ap);
	va_end(ap);
}

void machine_exit(uint32_t code)
{
	pv_outl(0xF4, code);
	pv_halt_forever(); /* no exit device */
}

void panic(const char *fmt, ...)
{
	va_list ap;
	pv_irq_disable();
	va_start(ap, fmt);
	kvprintf(PANIC_PREFIX, fmt, ap);
	va_end(ap);
	console_write("\n");
	machine_exit(PANIC_EXIT);
}
