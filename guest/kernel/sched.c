/*
 * sched.c - round-robin scheduling, sleeping and waking, the timer tick.
 *
 * The scheduler has no thread of its own: schedule() runs on the kernel stack of the process
 * that gives up the CPU, scans the process table round-robin from the slot after the current
 * one, and switches directly to the next runnable process (swtch() in boot.S, a new kernel
 * stack in the TSS, CR3 loaded when the address space differs).  When nothing can run it
 * idles right there (STI;HLT) until an interrupt makes something runnable, so an exiting
 * process may idle on its own stack: its slot is not reused before its parent has reaped it,
 * which can only happen after we switched away.
 *
 * Preemption: the timer interrupt (HZ per second) wakes timed sleepers and, when it
 * interrupted user mode, makes the current process yield: a quantum is one tick.  Kernel
 * code is never preempted (kernel.h).
 */
#include "kernel.h"

struct proc *cur;
volatile uint32_t ticks;

static struct proc *pick_next(void)
{
	int start = cur ? (int)(cur - procs) : NPROC - 1;
	for (int k = 1; k <= NPROC; k++) {
		struct proc *p = &procs[(start + k) % NPROC];
		if (p->state == P_RUNNABLE)
			return p;
	}
	return NULL;
}

static void switch_to(struct proc *p)
{
	struct proc *old = cur;
	p->state = P_RUNNING;
	if (p == old)
		return;
	cur = p;
	pv_mmu_batch_begin();                   /* PV: both in one multicall */
	pv_set_kernel_stack((uint32_t)(p->kstack + KSTACK_SIZE));
	mmu_switch(p->pd ? p->pd : kernel_pd_pa);
	pv_mmu_batch_end();
	swtch(&old->kesp, p->kesp);
}

void schedule(void)
{
	for (;;) {
		struct proc *p = pick_next();
		if (p) {
			switch_to(p);
			return;
		}
		pv_idle();
	}
}

void yield(void)
{
	cur->state = P_RUNNABLE;
	schedule();
}

void sleep_on(const void *chan)
{
	cur->chan = chan;
	cur->state = P_SLEEPING;
	schedule();
	cur->chan = NULL;
}

void wakeup(const void *chan)
{
	for (int i = 0; i < NPROC; i++)
		if (procs[i].state == P_SLEEPING && procs[i].chan == chan)
			procs[i].state = P_RUNNABLE;
}

void sleep_on_timeout(const void *chan, uint32_t n)
{
	cur->wake_tick = ticks + n;
	sleep_on(chan);
	cur->wake_tick = 0;
}

void sleep_ticks(uint32_t n)
{
	uint32_t start = ticks;
	while (ticks - start < n)
		sleep_on_timeout((const void *)&ticks, n - (ticks - start));
}

void timer_tick(struct trap_frame *f)
{
	ticks++;
	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &procs[i];
		if (p->state == P_SLEEPING && p->wake_tick && (int32_t)(ticks - p->wake_tick) >= 0)
			p->state = P_RUNNABLE;
	}
	if (cur && from_user(f) && cur->state == P_RUNNING)
		yield();
}
