/*
 * kernel.h - what the parts of the bare self-test image share: its selectors, descriptors
 * and test vectors, the expected-exception record, the console, and the programs.
 *
 * The image is single-CPU and runs at CPL 0 with paging off (except in st_paging.c).
 * What it has in common with the multi-process kernel comes from guest/common: the boot
 * and interrupt entry path (entry.S), the GDT/IDT/TSS (desc.h, extended here through
 * GDT_ENTRIES and desc_image_gdt/idt in desc.c), the PIC and PIT (pic.h), printing and
 * panic (kprint.h, parameterised by PANIC_PREFIX and PANIC_EXIT below) and klibc.h.
 * Every guest/common file built for this image includes this header and pvops.h.
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include "x86.h"           /* selectors 0x00-0x28, VEC_IRQ0, trap frame, EFLAGS (guest/common) */

/* --- descriptor tables (guest/common/desc.h; the self test's entries: desc.c) --------- */

/* GDT layout past the flat selectors 0x00-0x28 of x86.h, for the self test; the ones
 * marked "runtime" are rewritten by the test that uses them. */
enum {
	SEL_KCODE2 = 0x30, /* a second flat ring-0 code segment (far transfers) */
	SEL_KDATA2 = 0x38, /* a second flat ring-0 data segment (LSS, MOV SS) */
	SEL_TBASE  = 0x40, /* runtime: data segment with a non-zero base */
	SEL_TLIM   = 0x48, /* runtime: data segment with a small byte-granular limit */
	SEL_TNP    = 0x50, /* not-present data segment */
	SEL_LDT    = 0x58, /* LDT descriptor */
	SEL_XCODE  = 0x60, /* execute-only ring-0 code */
	SEL_RODATA = 0x68, /* read-only flat data */
	SEL_TACC   = 0x70, /* runtime: data segment with the accessed bit clear */
	SEL_TSS2   = 0x78, /* a second TSS */
	SEL_CGATE  = 0x80, /* a call gate (system descriptor, for LAR/LSL) */
	SEL_TRAPG  = 0x88, /* an interrupt gate in the GDT (invalid for LAR) */
	SEL_CONF   = 0x90, /* conforming readable ring-0 code (usable at CPL 3) */
	SEL_UGATE  = 0x98, /* runtime: a call gate for the CPL-3 tests */
	SEL_TSS3   = 0xA0, /* a TSS with an I/O permission bitmap (st_ring3.c) */
	SEL_UDATA16 = 0xA8, /* ring-3 data, DPL 3, byte-granular small limit (runtime) */
};
#define GDT_ENTRIES 22
#include "desc.h"          /* gdt, idt, tss, seg_desc, desc_init... (guest/common) */

#define TSS_LIMIT 103u

extern uint64_t ldt[4];
extern struct tss tss2;

/* A TSS with an I/O permission bitmap for ports 0-0x3FF and the terminating 0xFF byte:
 * bit set = access denied at CPL > IOPL.  Ports from 0x400 lie beyond the TSS limit. */
#define TSS_IO_PORTS 0x400u
struct tss_io {
	struct tss t;
	uint8_t map[TSS_IO_PORTS / 8 + 1];
} __attribute__((packed));
#define TSS_IO_LIMIT ((uint32_t)sizeof(struct tss_io) - 1)
extern struct tss_io tss_io;

/* IDT vectors past the exceptions and the PIC's (VEC_IRQ0, x86.h). */
enum {
	VEC_TEST_INT = 0x40, /* self test: interrupt gate */
	VEC_TEST_TRAP = 0x41, /* self test: trap gate */
	VEC_TEST_NP  = 0x42, /* self test: not-present gate */
	VEC_USER_INT = 0x43, /* self test: DPL-3 interrupt gate */
	VEC_USER_TRAP = 0x44, /* self test: DPL-3 trap gate */
	VEC_USER_EXIT = 0x45, /* DPL-3 interrupt gate: leave CPL 3 (st_ring3.c) */
	VEC_APIC_FIRST = 0x50, /* 0x50-0x7F and 0xFF: interrupt gates for the APIC tests */
	VEC_APIC_LAST = 0x7F,
	VEC_APIC_SPURIOUS = 0xFF,
};

/* --- traps (trap.c, guest/common/entry.S) ----------------------------------------------------------- */

/*
 * Expected exceptions.  A test stores a resume address in trap_resume, executes the
 * instruction that should fault, and has the resume label right after it.  Any exception
 * taken while trap_resume is non-zero is recorded in trap_last and continues at the resume
 * address (trap_resume is cleared); with trap_resume zero an exception is fatal.
 * Software interrupts to the test vectors are recorded in trap_last too and return normally.
 */
struct trap_rec {
	int vector;
	uint32_t err, eip, cs, eflags;
	uint32_t handler_eflags; /* EFLAGS inside the handler (IF shows the gate type) */
	uint32_t count;
	uint32_t esp, ss;        /* the outer SS:ESP pushed by an event from CPL > 0 */
	uint32_t frame_end;      /* handler: address just above the pushed frame */
};
extern volatile struct trap_rec trap_last;
extern volatile uint32_t trap_resume;
extern volatile uint32_t trap_db_restart; /* #DB: record, return with RF set (st_debug.c) */
extern void (*volatile trap_escape)(void); /* unexpected exceptions go here if set */
void trap_reset(void);
/* Interrupts on the APIC test vectors (VEC_APIC_FIRST-VEC_APIC_LAST, VEC_APIC_SPURIOUS) go
 * here when it is set (st_apic.c, st_ide.c); with it unset they are ignored. */
extern void (*volatile apic_irq_hook)(int vector);

extern const char ring3_exit_stub[]; /* VEC_USER_EXIT handler (st_ring3.c) */

/* --- PIC and PIT (guest/common/pic.h; IRQs: trap.c) ---------------------------------------- */
#include "pic.h"
extern volatile uint32_t timer_ticks;
extern volatile uint32_t irq0_eflags; /* EFLAGS seen by the last IRQ0 handler */

/* --- console (console.c) ------------------------------------------------------------------ */
void console_init(void);
void console_putc(char c);
void console_write(const char *s);

#include "klibc.h"   /* memory, strings, parse_u32, kvsnprintf (guest/common) */
/* --- printing, panic, machine_exit (guest/common/kprint.h) ------------------------------- */
#define PANIC_PREFIX "panic: "
#define PANIC_EXIT   1
#include "kprint.h"

/* --- programs ------------------------------------------------------------------------------ */
int selftest_run(void);                 /* returns the number of failed checks */
extern int selftest_paging;             /* the command line also has the word "paging" */
void bench_run(uint32_t iterations);    /* 0: the default count */

extern uint32_t mb_mem_lower, mb_mem_upper;

#endif
