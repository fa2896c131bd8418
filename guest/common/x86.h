/*
 * x86.h - the machine as every guest image sees it: the GDT selectors and interrupt
 * vectors both kernels agree on, EFLAGS bits, and the trap frame that guest/common/entry.S
 * builds for trap_dispatch().
 *
 * Usable from assembly (the selectors and vectors); the rest is C only.  An image extends
 * the GDT after SEL_TSS and sets GDT_ENTRIES in its own kernel.h.
 */
#ifndef GUEST_X86_H
#define GUEST_X86_H

/* GDT selectors 0x00-0x28, the same in every image. */
#define SEL_NULL  0x00
#define SEL_KCODE 0x08 /* flat ring-0 code */
#define SEL_KDATA 0x10 /* flat ring-0 data */
#define SEL_UCODE 0x18 /* flat ring-3 code (selector | 3 to use) */
#define SEL_UDATA 0x20 /* flat ring-3 data (selector | 3 to use) */
#define SEL_TSS   0x28 /* the image's TSS */

/* The PICs are remapped to VEC_IRQ0 (master IRQ0-7) and VEC_IRQ0 + 8 (slave IRQ8-15). */
#define VEC_IRQ0  0x20

#ifndef __ASSEMBLER__
#include <stdint.h>

/* What entry.S's isr_common pushes, lowest address first. */
struct trap_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_k, ebx, edx, ecx, eax; /* pushal (esp_k: ignored by popal) */
	uint32_t vector, err;
	uint32_t eip, cs, eflags;
	uint32_t user_esp, user_ss; /* only when the event came from CPL > 0 (cs & 3) */
};

/* entry.S */
extern const char isr_stubs[];        /* 256 stubs of 16 bytes each: isr_stubs + 16 * vector */
extern char boot_stack_top[];
void trap_return(void);               /* pop a trap frame and IRET */
void trap_dispatch(struct trap_frame *f); /* the image's: every interrupt and exception */

#define EFLAGS_CF  0x0001u
#define EFLAGS_PF  0x0004u
#define EFLAGS_AF  0x0010u
#define EFLAGS_ZF  0x0040u
#define EFLAGS_SF  0x0080u
#define EFLAGS_TF  0x0100u
#define EFLAGS_IF  0x0200u
#define EFLAGS_DF  0x0400u
#define EFLAGS_OF  0x0800u
#define EFLAGS_IOPL 0x3000u
#define EFLAGS_NT  0x4000u
#define EFLAGS_RF  0x10000u
#define EFLAGS_VM  0x20000u
#define EFLAGS_AC  0x40000u
#define EFLAGS_ID  0x200000u

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* __ASSEMBLER__ */
#endif
