/*
 * lib.c - console printing (kprintf, panic) and the way out of the machine (isa-debug-exit:
 * the process status of qemu/vmm386 is 2v+1).  Memory, string and formatting routines are
 * shared by every guest image: guest/common/klibc.c.
 */
#include "kernel.h"
#include "pvops.h"

/* Format to the console, after an optional prefix (NULL for none). */
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

void guest_exit(uint32_t code)
{
	pv_outl(0xF4, code);
	for (;;) { /* no exit device: stop here */
		pv_cli();
		pv_hlt();
	}
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf("panic: ", fmt, ap);
	va_end(ap);
	console_write("\n");
	guest_exit(1);
}
