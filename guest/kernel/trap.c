/*
 * trap.c - where every interrupt, exception and system call lands (isr_common in
 * guest/common/entry.S).
 *
 * IRQ0 is the scheduler's tick, IRQ4 the console's input; other IRQs are masked (spurious IRQ 7/15 get no EOI).
 * INT 0x80 is a system call.  An exception from user mode is the process's problem: a page
 * fault is first offered to mm_fault() (demand-zero, copy-on-write), and anything it cannot
 * resolve - like every other exception - kills only that process, except a #DE the
 * process asked to survive (SYS_DIVSKIP: the divide-error nanobenchmark).  An exception in kernel
 * mode is a kernel bug: panic, which leaves through port 0xF4 with PANIC_EXIT.
 */
#include "kernel.h"

static const char *const exc_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check", "machine check", "SIMD error",
};

void trap_dispatch(struct trap_frame *f)
{
	uint32_t v = f->vector;
	if (v >= VEC_IRQ0 && v < VEC_IRQ0 + 16) {
		int irq = (int)(v - VEC_IRQ0);
		if (irq == 7 || irq == 15)
			return;                    /* masked: spurious */
		pic_eoi(irq);
		if (irq == 4)
			console_irq();
		if (irq == 0)
			timer_tick(f);
		return;
	}
	if (v == VEC_SYSCALL && from_user(f)) {
		syscall_dispatch(f);
		return;
	}
	if (!from_user(f)) {
		uint32_t cr2 = pv_read_cr2();
		panic("%s (vector %u) in kernel mode, error 0x%x, eip 0x%08x, cr2 0x%08x, pid %d",
		      v < 32 && exc_names[v] ? exc_names[v] : "exception", v, f->err, f->eip, cr2,
		      cur ? cur->pid : -1);
	}
	if (v == 0 && cur->de_skip) {
		f->eip += cur->de_skip;        /* SYS_DIVSKIP: step over the faulting DIV */
		return;
	}
	char why[96];
	if (v == 14) {
		uint32_t cr2 = pv_read_cr2();
		if (mm_fault(cr2, f->err & 2, 1) == 0)
			return;
		ksnprintf(why, sizeof(why), "page fault at 0x%08x eip 0x%08x (%s)", cr2, f->eip,
			  cr2 >= KBASE ? "kernel address"
			  : !(f->err & 1) ? "not mapped"
			  : f->err & 2 ? "write to read-only page" : "protection");
		proc_kill(f, SIGSEGV, why);
	}
	ksnprintf(why, sizeof(why), "%s (vector %u) at eip 0x%08x",
		  v < 32 && exc_names[v] ? exc_names[v] : "exception", v, f->eip);
	proc_kill(f, v == 0 ? SIGFPE : v == 6 ? SIGILL : SIGSEGV, why);
}
