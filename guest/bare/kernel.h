/*
 * kernel.h - what the parts of the guest kernel share: selectors and descriptors, the trap
 * frame, the console, the interrupt controller and timer, and a few library routines.
 *
 * The kernel is single-CPU and runs at CPL 0 with paging off for now; it has no libc
 * (lib.c provides the handful of routines the compiler may call).
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>

/* --- descriptor tables (desc.c) ------------------------------------------------------ */

/* GDT layout.  Entries past SEL_TSS exist for the self test; the ones marked "runtime" are
 * rewritten by the test that uses them. */
enum {
	SEL_NULL   = 0x00,
	SEL_KCODE  = 0x08, /* flat ring-0 code */
	SEL_KDATA  = 0x10, /* flat ring-0 data */
	SEL_UCODE  = 0x18, /* flat ring-3 code (selector | 3 to use) */
	SEL_UDATA  = 0x20, /* flat ring-3 data */
	SEL_TSS    = 0x28, /* the kernel's TSS */
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
	GDT_ENTRIES = 22,
};

#define TSS_LIMIT 103u

#include "pvops_common.h"   /* struct tss (guest/common) */

extern uint64_t gdt[GDT_ENTRIES];
extern uint64_t idt[256];
extern uint64_t ldt[4];
extern struct tss tss, tss2;

/* A TSS with an I/O permission bitmap for ports 0-0x3FF and the terminating 0xFF byte:
 * bit set = access denied at CPL > IOPL.  Ports from 0x400 lie beyond the TSS limit. */
#define TSS_IO_PORTS 0x400u
struct tss_io {
	struct tss t;
	uint8_t map[TSS_IO_PORTS / 8 + 1];
} __attribute__((packed));
#define TSS_IO_LIMIT ((uint32_t)sizeof(struct tss_io) - 1)
extern struct tss_io tss_io;

uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void desc_init(void);
void gdt_load(const uint64_t *table, uint16_t limit); /* lgdt + reload every segment */
void idt_set_gate(int vec, uint32_t handler, uint8_t type_attr);

/* IDT vectors. */
enum {
	VEC_IRQ0     = 0x20, /* PIC master IRQ0-7 -> 0x20-0x27, slave IRQ8-15 -> 0x28-0x2F */
	VEC_TEST_INT = 0x40, /* self test: interrupt gate */
	VEC_TEST_TRAP = 0x41, /* self test: trap gate */
	VEC_TEST_NP  = 0x42, /* self test: not-present gate */
	VEC_USER_INT = 0x43, /* self test: DPL-3 interrupt gate */
	VEC_USER_TRAP = 0x44, /* self test: DPL-3 trap gate */
	VEC_USER_EXIT = 0x45, /* DPL-3 interrupt gate: leave CPL 3 (st_ring3.c) */
};

/* --- traps (trap.c, boot.S) --------------------------------------------------------------- */

/* What boot.S's isr_common pushes, lowest address first. */
struct trap_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp0, ebx, edx, ecx, eax; /* pusha */
	uint32_t vector, err;
	uint32_t eip, cs, eflags;
	uint32_t user_esp, user_ss; /* only when the event came from CPL > 0 (cs & 3) */
};

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
extern void (*volatile trap_escape)(void); /* unexpected exceptions go here if set */
void trap_reset(void);

extern const char isr_stubs[]; /* 256 stubs of 16 bytes each (boot.S) */
extern const char ring3_exit_stub[]; /* VEC_USER_EXIT handler (st_ring3.c) */

/* --- PIC and PIT (pic.c) ----------------------------------------------------------------- */
void pic_init(void);              /* remap to 0x20/0x28, everything masked */
void pic_mask(int irq, int masked);
uint8_t pic_read_irr(void);       /* master IRR */
void pit_start(unsigned hz);      /* channel 0, mode 2 */
extern volatile uint32_t timer_ticks;
extern volatile uint32_t irq0_eflags; /* EFLAGS seen by the last IRQ0 handler */
void irq_handle(struct trap_frame *f);

/* --- console (console.c) ------------------------------------------------------------------ */
void console_init(void);
void console_putc(char c);
void console_write(const char *s);

#include "klibc.h"   /* memory, strings, parse_u32, kvsnprintf (guest/common) */
/* --- library (lib.c) ---------------------------------------------------------------------- */
void kvprintf(const char *prefix, const char *fmt, va_list ap);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Leave the machine through the isa-debug-exit port: the process status is (code << 1) | 1. */
void guest_exit(uint32_t code) __attribute__((noreturn));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* --- programs ------------------------------------------------------------------------------ */
int selftest_run(void);                 /* returns the number of failed checks */
extern int selftest_paging;             /* the command line also has the word "paging" */
void bench_run(uint32_t iterations);    /* 0: the default count */

extern uint32_t mb_mem_lower, mb_mem_upper;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
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

#endif
