/*
 * debug.c - the guest's own debugging in the run loop: DR0-DR7 breakpoints, the TF single
 * step and EFLAGS.RF, so that a kernel's own debugger works (Intel SDM vol. 3, ch. 17).
 * What the registers mean and which instruction meets them is emulation/debugreg.c; this
 * file decides where the checks happen.
 *
 * Instruction breakpoints are translated in: while DR7 enables one, the translator's
 * xl_debug_break (shared with the gdb stub) ends every cached block before an enabled
 * breakpoint's linear address with EXIT_DEBUG, and the exit raises #DB as a fault there
 * (EIP of the instruction, DR6.Bn) unless gdb owns the address or RF is set.  Whenever the
 * enabled instruction breakpoints change (a MOV to DR7 or to an enabled DRn, reported as a
 * mode change), the whole translation cache is flushed: such writes are rare, and blocks
 * are shared by every address space, so no page-level invalidation would be exact.
 *
 * Everything else steps the guest one instruction at a time, with uncached one-instruction
 * blocks (XM_SINGLE, which ignore EXIT_DEBUG), around which dbg_before/dbg_after do what
 * the CPU does at instruction boundaries.  The loop steps while
 *  - TF is set (a POPF that sets TF leaves translated code, translator/vif.c; IRET and
 *    everything else that can set it already runs in the monitor): after each instruction
 *    that completes, #DB as a trap with DR6.BS;
 *  - RF is set (an IRET of a #DB handler that wants to restart past a breakpoint): the one
 *    instruction runs without its instruction breakpoint, and RF is cleared once it
 *    completes, so the breakpoint fires again next time;
 *  - a data breakpoint is enabled (R/W 01 or 11): the accesses of each instruction are
 *    worked out before it runs, and if one touches an enabled breakpoint, #DB follows as a
 *    trap after it with DR6.Bn (and BS too under TF).  This is exact for reads and writes
 *    alike and needs no page protection, at the price of running the guest about as fast
 *    as an interpreter while the breakpoint is enabled.  (The gdb stub's watchpoints step
 *    the same way; they compare values instead, as gdb wants to see a change.)
 * A stepped instruction also meets its instruction breakpoint in dbg_before.  An
 * instruction "completes" when it leaves its block with no exception delivered; one the
 * monitor runs itself (EXIT_EMULATE) takes its TF trap in emu_step, which then also wins
 * over a data breakpoint hit by the same instruction (DR6.Bn is not set: a deviation).
 */
#include <string.h>
#include "vmm.h"
#include "mon_int.h"
#include "memory.h"
#include "run.h"
#include "../codecache/cc.h"
#include "../emulation/emu.h"
#include "../gdbstub/gdb.h"
#include "../translator/xl.h"

static struct {
	struct vcpu *c;
	unsigned exec, data;     /* enabled instruction and data breakpoints (bit n: DRn) */
	uint32_t exec_at[4];     /* the addresses of the enabled instruction breakpoints */
} d;

bool vm_debug_break(gla_t la)
{
	return gdb_break_at(la) || (d.c && (emu_dr_exec_hits(d.c, la) & d.exec));
}

void vm_debug_changed(struct vcpu *c)
{
	unsigned exec = emu_dr_enabled(c, false);
	uint32_t at[4];
	for (int n = 0; n < 4; n++)
		at[n] = exec & (1u << n) ? c->dr[n] : 0;
	d.c = c;
	d.data = emu_dr_enabled(c, true);
	if (exec == d.exec && !memcmp(at, d.exec_at, sizeof(at)))
		return;
	d.exec = exec;
	memcpy(d.exec_at, at, sizeof(at));
	if (exec)
		xl_debug_break = vm_debug_break;
	cc_flush();
}

/* The enabled instruction breakpoint at CS:EIP, unless RF is set: DR6, #DB raised. */
bool dbg_exec_fault(struct vcpu *c)
{
	unsigned hits = emu_dr_exec_hits(c, c->seg[S_CS].base + c->eip);
	if ((c->eflags & FL_RF) || !(hits & d.exec))
		return false;
	emu_dr_report(c, hits, 0);
	emu_raise(c, EXC_DB, 0);
	return true;
}

bool dbg_stepping(const struct vcpu *c)
{
	return (c->eflags & (FL_TF | FL_RF)) || d.data;
}

bool dbg_armed(const struct vcpu *c)
{
	return d.exec || dbg_stepping(c);
}

bool dbg_before(struct vcpu *c, struct dbg_step *s)
{
	s->tf = c->eflags & FL_TF;
	s->exceptions = run_stats.exceptions;
	if (d.exec && dbg_exec_fault(c))
		return true;
	s->data = d.data ? emu_dr_data_hits(c) : 0;
	return false;
}

bool dbg_after(struct vcpu *c, const struct dbg_step *s, unsigned reason)
{
	if (run_stats.exceptions != s->exceptions || reason == EXIT_REQUEST ||
	    reason == EXIT_DEBUG || reason == EXIT_FETCH_PF)
		return false;                  /* the instruction did not complete */
	c->eflags &= ~FL_RF;
	if (!s->tf && !s->data)
		return false;
	emu_dr_report(c, s->data, s->tf ? EMU_DR6_BS : 0);
	emu_raise(c, EXC_DB, 0);
	return true;
}
