/*
 * trap.c - where every interrupt and exception lands (guest/common/entry.S's isr_common).
 *
 * PIC IRQs count timer ticks (IRQ0) and are acknowledged; spurious IRQ 7/15 get no EOI.
 * The self test's software-interrupt vectors are recorded and return; the APIC test vectors
 * go to apic_irq_hook (the test acknowledges them itself).  An exception is either expected
 * by a test (trap_resume set: record it and continue at the resume address, with TF cleared
 * after a #DB; or, for a #DB with trap_db_restart set, record it and restart the
 * instruction with RF set), or unexpected inside the self test (trap_escape set: record it and
 * continue at trap_escape, which unwinds to the self test's runner), or a kernel bug, which
 * stops the machine with a report.
 */
#include "kernel.h"
#include "pvops.h"

volatile struct trap_rec trap_last;
volatile uint32_t trap_resume;
volatile uint32_t trap_db_restart;
void (*volatile trap_escape)(void);
void (*volatile apic_irq_hook)(int vector);
volatile uint32_t timer_ticks;
volatile uint32_t irq0_eflags;

void trap_reset(void)
{
	trap_last.vector = -1;
	trap_last.err = trap_last.eip = trap_last.cs = trap_last.eflags = 0;
	trap_last.handler_eflags = 0;
	trap_last.count = 0;
	trap_last.esp = trap_last.ss = trap_last.frame_end = 0;
	trap_resume = 0;
}

static void record(const struct trap_frame *f)
{
	trap_last.vector = (int)f->vector;
	trap_last.err = f->err;
	trap_last.eip = f->eip;
	trap_last.cs = f->cs;
	trap_last.eflags = f->eflags;
	trap_last.handler_eflags = pv_save_flags();
	trap_last.count++;
	if (f->cs & 3) {
		trap_last.esp = f->user_esp;
		trap_last.ss = f->user_ss;
		trap_last.frame_end = (uint32_t)&f->user_ss + 4;
	} else {
		trap_last.esp = trap_last.ss = 0;
		trap_last.frame_end = (uint32_t)&f->eflags + 4;
	}
}

static void irq_handle(int irq)
{
	if (pic_spurious(irq))
		return;
	if (irq == 0) {
		irq0_eflags = pv_save_flags();
		timer_ticks++;
	}
	pic_eoi(irq);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector >= VEC_IRQ0 && f->vector < VEC_IRQ0 + 16) {
		irq_handle((int)f->vector - VEC_IRQ0);
		return;
	}
	if ((f->vector >= VEC_APIC_FIRST && f->vector <= VEC_APIC_LAST) ||
	    f->vector == VEC_APIC_SPURIOUS) {
		if (apic_irq_hook)
			apic_irq_hook((int)f->vector);
		return;
	}
	if (f->vector == VEC_TEST_INT || f->vector == VEC_TEST_TRAP ||
	    f->vector == VEC_USER_INT || f->vector == VEC_USER_TRAP) {
		record(f);
		return;
	}
	if (f->vector == 1 && trap_db_restart) {   /* st_debug.c: past the breakpoint */
		record(f);
		f->eflags |= EFLAGS_RF;
		return;
	}
	if (trap_resume) {
		record(f);
		f->eip = trap_resume;
		if (f->vector == 1)
			f->eflags &= ~EFLAGS_TF;   /* a single-step trap: stop stepping */
		trap_resume = 0;
		return;
	}
	if (trap_escape) {               /* the self test recovers from anything */
		record(f);
		f->eip = (uint32_t)trap_escape;
		f->cs = SEL_KCODE;
		f->eflags &= ~(EFLAGS_IF | EFLAGS_DF | EFLAGS_TF | EFLAGS_NT);
		trap_escape = 0;
		return;
	}
	panic("unexpected exception %u, error code 0x%x, at %04x:%08x, eflags 0x%08x, "
	      "eax %08x ecx %08x edx %08x ebx %08x esi %08x edi %08x ebp %08x",
	      f->vector, f->err, f->cs, f->eip, f->eflags, f->eax, f->ecx, f->edx, f->ebx,
	      f->esi, f->edi, f->ebp);
}
