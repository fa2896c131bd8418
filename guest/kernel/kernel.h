/*
 * kernel.h - what the parts of the multi-process kernel share.
 *
 * Design in one paragraph: a single-CPU kernel mapped at 0xC0000000.  All RAM is mapped
 * there with 4 MiB global pages (mm.c); user processes live below 0xC0000000 in 4 KiB pages,
 * each with its own page directory whose kernel half is a copy of the kernel's PDEs.  The
 * kernel is not preemptible: every entry (interrupt gates, including INT 0x80) runs with
 * IF=0, and a process gives up the CPU only inside schedule() - when it blocks, yields, or
 * when the timer interrupt arrives while it was in user mode.  That makes the whole kernel
 * free of locks.  When nothing is runnable, schedule() idles with STI;HLT on the kernel
 * stack of whichever process called it.
 *
 * The boot and interrupt entry path, the GDT/IDT/TSS, the PIC and PIT of the native build,
 * printing and panic are shared with the bare image (guest/common); this header sets their
 * per-image parameters (GDT_ENTRIES, PANIC_PREFIX, PANIC_EXIT).  Files of guest/common
 * built for this kernel include it and pvops.h, and are compiled twice like the kernel's
 * own files (native.elf and, with -DPV_GUEST, pv.elf).
 */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include "x86.h"           /* selectors, VEC_IRQ0, trap frame, EFLAGS (guest/common) */
#include "pvops.h"
#include "../user/abi.h"

#define KBASE       0xC0000000u
#define P2V(pa)     ((void *)((uint32_t)(pa) + KBASE))
#define V2P(va)     ((uint32_t)(va) - KBASE)
#define PAGE_SIZE   4096u
#define PAGE_MASK   0xFFFFF000u
#define PG_ROUNDUP(a) (((uint32_t)(a) + PAGE_SIZE - 1) & PAGE_MASK)

/* Page-table entry bits. */
#define PTE_P   0x001u
#define PTE_W   0x002u
#define PTE_U   0x004u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PTE_PWT 0x008u
#define PTE_PCD 0x010u
#define PTE_PS  0x080u
#define PTE_G   0x100u
#define PTE_COW 0x200u /* available to software: read-only because shared copy-on-write */

/* The native kernel's window on the I/O APIC and local APIC: physical 0xFEC00000-0xFEFFFFFF
 * as one uncached 4 MiB page in the last PDE, above the RAM mapping (mm.c); the LAPIC is at
 * APIC_VA + 0x200000.  Only the APIC benchmark uses it (syscall.c). */
#define APIC_VA     0xFFC00000u
#define APIC_PA     0xFEC00000u

/* User address space. */
#define USER_STACK_TOP  0xBFFFF000u /* nothing mapped at or above */
#define USER_STACK_LOW  0xBF000000u /* stack grows on demand down to here (16 MiB) */
#define USER_HEAP_MAX   0xB0000000u

/* --- descriptor tables (guest/common/desc.h; the system-call gate: desc.c) ----------------- */
#define GDT_ENTRIES 6           /* the flat selectors and the TSS of x86.h */
#define VEC_SYSCALL 0x80
#include "desc.h"

/* --- traps (guest/common/entry.S, trap.c) -------------------------------------------------- */
static inline int from_user(const struct trap_frame *f) { return (f->cs & 3) == 3; }

/* --- PIC, PIT (native: guest/common/pic.h; PV: pic.c), TSC (pic.c) ------------------------- */
#define HZ 100
#include "pic.h"
uint32_t tsc_calibrate(void);         /* needs the timer running, IF toggled inside */
extern uint32_t tsc_khz;

/* --- console (console.c) ---------------------------------------------------------------- */
void console_init(void);
void console_enable_irq(void);
void console_irq(void);
void console_putc(char c);
void console_write(const char *s);
void console_write_n(const char *s, size_t n);
int console_read(char *buf, size_t n); /* blocks for a line; 0 at end of input (^D) */

#include "klibc.h"   /* memory, strings, parse_u32, kvsnprintf (guest/common) */
/* --- printing, panic, machine_exit (guest/common/kprint.h) ------------------------------- */
#define PANIC_PREFIX "kernel panic: "
#define PANIC_EXIT   3
#include "kprint.h"

/* --- memory (mm.c) ---------------------------------------------------------------------- */
void mm_init(uint32_t ram_top);       /* kernel page directory, frame allocator */
uint32_t frame_alloc(void);           /* zeroed frame, physical address; 0 if none */
void frame_incref(uint32_t pa);
void frame_decref(uint32_t pa);       /* frees at zero */
uint32_t frames_free(void);
extern uint32_t kernel_pd_pa;
uint32_t *kernel_pd(void);

uint32_t as_create(void);             /* new directory with the kernel half; 0 if none */
uint32_t as_fork(uint32_t pd_pa);     /* copy-on-write copy; 0 if out of memory */
void as_destroy(uint32_t pd_pa);      /* frees user pages, tables and the directory */
uint32_t *as_pte(uint32_t pd_pa, uint32_t va, int create); /* NULL if absent */
int as_map(uint32_t pd_pa, uint32_t va, uint32_t pa, uint32_t flags);
void as_unmap_range(uint32_t pd_pa, uint32_t lo, uint32_t hi);
int mm_fault(uint32_t va, int write, int user_access); /* 0 resolved, -1 bad access */
/* Make [va, va+n) accessible to the kernel on behalf of the user (demand-zero, COW). */
int user_range_ok(uint32_t va, uint32_t n, int write);
int copy_from_user(void *dst, uint32_t src, uint32_t n);
int copy_to_user(uint32_t dst, const void *src, uint32_t n);
int strncpy_from_user(char *dst, uint32_t src, uint32_t n); /* length, -1 on fault/too long */
int pte_toggle_bench(uint32_t va, uint32_t n);
void mmu_switch(uint32_t pd_pa);      /* load CR3 if different */

/* --- processes (proc.c, sched.c) -------------------------------------------------------- */
#define NPROC       64
#define NFD         16
#define KSTACK_SIZE 8192

enum pstate { P_FREE, P_RUNNABLE, P_RUNNING, P_SLEEPING, P_ZOMBIE };

struct file;

struct proc {
	enum pstate state;
	int pid, ppid;
	uint32_t pd;            /* page directory, physical */
	uint32_t kesp;          /* saved kernel stack pointer (swtch) */
	uint8_t *kstack;        /* KSTACK_SIZE bytes */
	const void *chan;       /* what it sleeps on */
	uint32_t wake_tick;     /* timed sleep: wake at this tick (0: not timed) */
	int status;             /* exit status for wait */
	uint32_t heap_lo, brk;  /* heap: [heap_lo, brk) is demand-zero */
	struct file *fd[NFD];
	char name[16];
	uint8_t de_skip;        /* SYS_DIVSKIP: resume this many bytes past a #DE (0: kill) */
};

extern struct proc procs[NPROC];
extern struct proc *cur;
extern volatile uint32_t ticks;

void proc_init(void);
struct proc *proc_alloc(void);
void proc_start_init(const char *name, int argc, char **argv) __attribute__((noreturn));
int proc_fork(struct trap_frame *f);
int proc_exec(struct trap_frame *f, const char *name, int argc, char **argv);
void proc_exit(int status) __attribute__((noreturn));
void proc_kill(struct trap_frame *f, int sig, const char *why);
int proc_wait(int pid, uint32_t ustatus, int options);

void schedule(void);                  /* cur's state set by the caller */
void yield(void);
void sleep_on(const void *chan);
void wakeup(const void *chan);
void sleep_ticks(uint32_t n);
void sleep_on_timeout(const void *chan, uint32_t n); /* woken by wakeup or after n ticks */
void timer_tick(struct trap_frame *f);
void swtch(uint32_t *save_esp, uint32_t new_esp); /* boot.S */

/* --- files and pipes (file.c) ----------------------------------------------------------- */
enum ftype { F_CONSOLE, F_PIPE_R, F_PIPE_W };
struct pipe;
struct file {
	enum ftype type;
	int refs;
	struct pipe *pipe;
};
void file_init(void);
struct file *file_console(void);
struct file *file_dup(struct file *f);
void file_close(struct file *f);
int file_read(struct file *f, uint32_t ubuf, uint32_t n);
int file_write(struct file *f, uint32_t ubuf, uint32_t n);
int pipe_create(struct file **r, struct file **w);

/* --- system calls and programs ---------------------------------------------------------- */
void syscall_dispatch(struct trap_frame *f);
struct program {
	const char *name;
	const uint8_t *start, *end;
};
const struct program *program_find(const char *name);
const struct program *program_get(int i);

#endif
