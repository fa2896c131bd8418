/*
 * vmm.h - the types every part of vmm386 shares: guest addresses, the vCPU, the machine.
 *
 * Naming: guest-physical addresses are gpa_t, guest-linear addresses gla_t, host pointers are
 * plain pointers.  Nothing here knows how guest code is executed; the translator, the code
 * cache and the emulation layer all work on struct vcpu.
 *
 * Register state lives in struct vcpu whenever the monitor (C code) runs.  While translated
 * code runs, the guest GPRs and arithmetic flags live in host registers (DESIGN.md §2) and
 * the struct is stale until the block exits.  Fields read by translated code through R13
 * have fixed offsets checked with _Static_assert in translator/xl_asm.h.
 */
#ifndef VMM_H
#define VMM_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

typedef uint32_t gpa_t; /* guest physical address */
typedef uint32_t gla_t; /* guest linear address */

/* General registers in encoding order (the ModRM reg numbers). */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };
/* Segment registers in encoding order (the sreg field of MOV Sreg). */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NR };

#include "x86.h"

/*
 * A segment register with its hidden part, as loaded from a descriptor.
 * attr holds descriptor bits 40..55 of the 8-byte descriptor shifted down by 8 (type in
 * bits 0-3, S bit 4, DPL 5-6, P 7, AVL 12, L 13, D/B 14, G 15), as QEMU's "info registers"
 * shows it.  limit is the byte-granular (already scaled by G) limit.
 */
struct seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t base;
	uint32_t limit;
};
#define SEGA_TYPE(a) ((a) & 0xF)
#define SEGA_S    0x0010u
#define SEGA_DPL(a) (((a) >> 5) & 3)
#define SEGA_P    0x0080u
#define SEGA_DB   0x4000u
#define SEGA_G    0x8000u

struct dtr { uint32_t base; uint16_t limit; };

/* Why translated code (or the monitor) stopped running the guest; see monitor/run.c
 * (handle_exit).  exit_info says more; its meaning is given per reason. */
enum exit_reason {
	EXIT_NONE = 0,
	EXIT_LOOKUP,     /* block ended, vcpu->eip is the next guest EIP: find/translate it */
	EXIT_REQUEST,    /* exit-request flag seen at a block head (interrupt, timer, stop) */
	EXIT_EMULATE,    /* instruction at vcpu->eip for emu_step(): exit_info below */
	EXIT_EXCEPTION,  /* guest exception: vcpu->exc_vector / exc_error / exc_has_error */
	EXIT_HALT,       /* HLT executed, vcpu->eip after it */
	EXIT_SHUTDOWN,   /* triple fault or unrecoverable guest state */
	EXIT_POWEROFF,   /* guest asked to stop (isa-debug-exit); vm->exit_status holds it */
	/* internal to the run loop (monitor/run.c, signals.c) */
	EXIT_SMC = 100,  /* store to a frame with translations: exit_info = frame */
	EXIT_PF,         /* guest #PF from a shadow fill: CR2 set, exit_info = error code */
	EXIT_PTWRITE,    /* store to a traced page-table frame: exit_info = frame */
	EXIT_FETCH_PF,   /* instruction runs into the unmapped page at exit_info */
	EXIT_DEBUG,      /* a debugger breakpoint at vcpu->eip (gdbstub/), not yet run */
};

/* exit_info of EXIT_EMULATE: why the monitor runs the instruction. */
enum emulate_info {
	EMULATE_INSN = 0,     /* sensitive or rare: the translator always exits for it */
	EMULATE_MMIO = 1,     /* its access reached device memory (signal handler, SMF_MMIO) */
	EMULATE_ADAPTIVE = 2, /* made a monitor call by adaptive translation (monitor/adaptive.c) */
	/* XL_INFO_SREG | site, XL_INFO_RING | site: an inline cache missed (translator/xl.h) */
};

struct vcpu {
	/* --- fields used by translated code: keep first, offsets fixed (xl_asm.h) --- */
	uint32_t regs[8];        /* 0x00 guest GPRs, encoding order */
	uint32_t eip;            /* 0x20 */
	uint32_t eflags;         /* 0x24 full guest EFLAGS (host part valid only in monitor) */
	uint64_t req_ptr;        /* 0x28 block heads load [req_ptr]: faults when exit requested */
	uint64_t host_rsp;       /* 0x30 monitor stack pointer saved on entry */
	uint32_t exit_reason;    /* 0x38 enum exit_reason */
	uint32_t exit_info;      /* 0x3c reason-specific */
	uint64_t spill[4];       /* 0x40 scratch slots for lowerings */
	uint64_t lookup_table;   /* 0x60 host pointer: indirect-branch lookup cache */
	uint32_t seg_base[S_NR]; /* 0x68 copy of seg[i].base for translated code (fs:/gs:) */
	/* 0x80.. valid offsets per segment for translated limit checks (xl_sync_segments):
	 * an access of n bytes at off is allowed iff off >= seg_lo and off + n <= seg_end_r
	 * (read) or seg_end_w (write), computed in 64 bits; end 0 means never. */
	uint32_t seg_lo[S_NR];   /* 0x80 */
	uint64_t seg_end_r[S_NR]; /* 0x98 */
	uint64_t seg_end_w[S_NR]; /* 0xc8 */
	uint64_t irq_ptr;        /* 0xf8 like req_ptr, faults while an interrupt is pending */
	/* --- monitor-only state --- */
	struct seg seg[S_NR];
	struct dtr gdtr, idtr;
	struct seg ldtr, tr;
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t dr[8];
	int cpl;
	bool intr_inhibit;       /* STI / MOV SS shadow: no interrupt before next instruction */
	bool ss_shadow;          /* MOV/POP SS just ran: no code breakpoint at ss_shadow_eip */
	uint32_t ss_shadow_eip;
	bool nmi_blocked;        /* in an NMI handler: NMIs wait for the next IRET */
	bool halted;
	/* exception being raised (EXIT_EXCEPTION) */
	int exc_vector;
	bool exc_has_error;
	uint32_t exc_error;
	int delivering;          /* nesting depth of exception delivery (#DF / triple fault) */
	uint64_t tsc_offset;
	uint64_t msr_sysenter_cs, msr_sysenter_esp, msr_sysenter_eip;
	struct vm *vm;
	/* guest x87/SSE state while the monitor runs (FXSAVE image) */
	/* bytes 0-511: the FXSAVE64 image; 512-575: the XSAVE header (translator/xl_entry.S) */
	uint8_t fpu[576] __attribute__((aligned(64)));
	/* read by translated code (through offsetof, not fixed offsets): both views of the
	 * current page directory (shadow-mmu/smmu.c views_update), for inline CPL switches:
	 * [0] supervisor, [1] user; window base and its lookup table, 0 if none */
	uint64_t win_view[2];
	uint64_t lk_view[2];
	uint64_t pv_vif;         /* host address of a PV guest's virtual IF, or 0 */
	/* read by translated code (offsetof): the device-memory cache of adaptive load and
	 * store sites (monitor/adaptive.c): the host address, in the window of the view that
	 * learnt it, of a linear page that maps a device page with a read mirror (0: none),
	 * and the same for stores (0 until a store went through it); the mirror; the one
	 * 16-byte register it does not follow; the linear page and the device page */
	uint64_t mmio_fast_page;
	uint64_t mmio_fast_wpage;
	uint64_t mmio_fast_mirror;
	uint32_t mmio_fast_skip;
	uint32_t mmio_fast_la;
	uint32_t mmio_fast_gpa;
	/* read by translated code (offsetof): a #PF from user mode was delivered in the signal
	 * handler at pf_retry_eip for linear pf_retry_la under pf_retry_cr3; the next inline
	 * IRET to CPL 3 calls vmm_pf_retry, which maps the page if the IRET returns there
	 * (monitor/signals.c) */
	uint8_t pf_retry;
	uint32_t pf_retry_la, pf_retry_eip, pf_retry_cr3;
};

/* The machine: RAM and what the run loop needs to stop. */
struct vm {
	uint8_t *ram;            /* host mapping of all guest RAM (the memfd) */
	uint32_t ram_size;       /* bytes, multiple of 4 KiB */
	int ram_fd;              /* memfd backing guest RAM */
	struct vcpu cpu;
	volatile int stop;       /* set by vm_stop (debug exit, reset, PV shutdown) */
	int exit_status;
	bool reset;              /* the stop was a guest reset (main.c restarts the machine) */
};

/* Process exit statuses (documented in README.md). */
#define EXIT_STATUS_OK        0   /* guest powered off without a status */
#define EXIT_STATUS_USAGE     2   /* bad option or bad input file */
#define EXIT_STATUS_HALTED    3   /* guest halted with interrupts off: nothing can wake it */
#define EXIT_STATUS_GUESTDEAD 4   /* triple fault / state the monitor cannot continue from */
/* isa-debug-exit: (value << 1) | 1, always odd */

/* Guest RAM access by physical address for the monitor (devices, loader, emulation).
 * Return NULL if [gpa, gpa+len) is not entirely RAM. */
static inline void *vm_gpa_ptr(struct vm *vm, gpa_t gpa, uint32_t len)
{
	if (len > vm->ram_size || gpa > vm->ram_size - len)
		return NULL;
	return vm->ram + gpa;
}

/* Debug-output categories for -d (QEMU names). */
enum {
	LOG_IN_ASM = 1 << 0, LOG_OUT_ASM = 1 << 1, LOG_INT = 1 << 2, LOG_EXEC = 1 << 3,
	LOG_CPU = 1 << 4, LOG_MMU = 1 << 5, LOG_IOPORT = 1 << 6, LOG_STATS = 1 << 7,
	LOG_GUEST_ERRORS = 1 << 8,
	LOG_PERFMAP = 1 << 9,     /* not a log: /tmp/perf-PID.map (monitor/perfmap.c) */
};
extern unsigned vmm_log_mask;
void vmm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define LOG_ON(cat) (__builtin_expect((vmm_log_mask & (cat)) != 0, 0))

/* A broken monitor invariant: message, backtrace, abort.  Never for guest errors. */
void vmm_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Monotonic host time in nanoseconds. */
uint64_t host_now_ns(void);

#endif
