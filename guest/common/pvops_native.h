/*
 * pvops_native.h - the pv-ops that are the plain privileged instruction in every native
 * build: port I/O, loading the descriptor tables and the task register, the interrupt
 * flag, and stopping.
 *
 * Included by guest/bare/pvops.h and the native half of guest/kernel/pvops.h, each of
 * which adds the operations only it needs.  Never included by a PV build (pvops_pv.h).
 */
#ifndef GUEST_PVOPS_NATIVE_H
#define GUEST_PVOPS_NATIVE_H
#include <stdint.h>
#include "pvops_common.h"

/* --- port I/O ------------------------------------------------------------------------------ */
static inline uint8_t pv_inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void pv_outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void pv_outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }

/* --- descriptor tables and the task register ---------------------------------------------- */
static inline void pv_lgdt(const struct pv_dtr *d) { asm volatile("lgdt %0" :: "m"(*d) : "memory"); }
static inline void pv_lidt(const struct pv_dtr *d) { asm volatile("lidt %0" :: "m"(*d) : "memory"); }
static inline void pv_ltr(uint16_t sel) { asm volatile("ltr %0" :: "r"(sel) : "memory"); }

/* --- interrupt flag and stopping ---------------------------------------------------------- */
static inline void pv_irq_disable(void) { asm volatile("cli" ::: "memory"); }
static inline void pv_irq_enable(void) { asm volatile("sti" ::: "memory"); }

static inline uint32_t pv_save_flags(void)
{
	uint32_t f;
	asm volatile("pushfl; popl %0" : "=r"(f) :: "memory");
	return f;
}

/* Stop for good (interrupts off). */
static inline __attribute__((noreturn)) void pv_halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt" ::: "memory");
}

#endif
