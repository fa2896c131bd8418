/*
 * debug.c - the guest's own debugging in the run loop: DR0-DR7 breakpoints, the TF single
 * step and EFLAGS.RF, so that a kernel's own debugger works (Intel SDM vol. 3, ch. 17).
 * What the registers mean and which instruction meets them is emulation/debugreg.c; this
 * file decides where the checks happen.
 *
 * Instruction breakpoints are translated in: while DR7 enables one, the translator's
 * xl_debug_break (shared with the gdb stub) ends every block - one-instruction blocks
 * included - before an enabled breakpoint's linear address with EXIT_DEBUG, and the exit
 * raises #DB as a fault there (EIP of the instruction, DR6.Bn) unless gdb owns the
 * address.  With RF set the breakpoint is not translated in at all, which is exact because
 * RF only ever reaches a one-instruction translation (below).  Whenever the enabled
 * instruction breakpoints change (a MOV to DR7 or to an enabled DRn, reported as a mode
 * change), the whole translation cache is flushed: such writes are rare, and blocks are
 * shared by every address space, so no page-level invalidation would be exact.
 *
 * Everything else steps the guest one instruction at a time, with uncached one-instruction
 * blocks (XM_SINGLE), around which dbg_before/dbg_after do what the CPU does at
 * instruction boundaries.  The loop steps while
 *  - TF is set (a POPF that sets TF leaves translated code, translator/vif.c; IRET and
 *    everything else that can set it already runs in the monitor): after each instruction
 *    that completes, #DB as a trap with DR6.BS;
 *  - RF is set and could not be cleared at once (translator: xl_rf_clear, the inline
 *    IRET): the one instruction runs without its instruction breakpoint, and RF is
 *    cleared once it completes, so the breakpoint fires again next time;
 *  - a data breakpoint is enabled (R/W 01 or 11), or gdb has a watchpoint (gdbstub/): the
 *    accesses of each instruction are worked out before it runs (emu_insn_accesses); one
 *    that meets an enabled breakpoint raises #DB as a trap after the instruction with
 *    DR6.Bn (and BS too under TF), one that writes a gdb watchpoint stops the guest for gdb.
 *    This is exact for reads and writes alike (a store of the value already there counts)
 *    and needs no page protection, at the price of running the guest about as fast as an
 *    interpreter while a breakpoint is enabled.  Interrupts are taken between instructions.
 * An instruction "completes" when it leaves its block with no exception delivered; one the
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

/* RF only ever reaches a translation of the one-instruction kind (dbg_stepping), so
 * asking for it here keeps cached blocks independent of it. */
bool vm_debug_break(gla_t la)
{
	return gdb_break_at(la) ||
	       (d.c && !(d.c->eflags & FL_RF) && (emu_dr_exec_hits(d.c, la) & d.exec));
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
	if (c->ss_shadow && c->eip == c->ss_shadow_eip) {
		/* right after MOV/POP SS: Intel CPUs do not take a code breakpoint here; RF
		 * lets the instruction run past it, and it is cleared when it completes */
		c->ss_shadow = false;
		c->eflags |= FL_RF;
		return false;
	}
	unsigned hits = emu_dr_exec_hits(c, c->seg[S_CS].base + c->eip);
	if ((c->eflags & FL_RF) || !(hits & d.exec))
		return false;
	emu_dr_report(c, hits, 0);
	emu_raise(c, EXC_DB, 0);
	return true;
}

bool dbg_stepping(const struct vcpu *c)
{
	return (c->eflags & (FL_TF | FL_RF)) || d.data || gdb_watching();
}

/* One access of the instruction about to run: which data breakpoints, which gdb
 * watchpoint it meets. */
static void note_access(void *opaque, gla_t la, uint64_t len, bool write)
{
	struct dbg_step *s = opaque;
	if (d.data)
		s->data |= emu_dr_data_match(d.c, la, len, write);
	if (!s->gdb_hit)
		s->gdb_hit = gdb_watch_match(la, len, write, &s->gdb_addr);
}

void dbg_before(struct vcpu *c, struct dbg_step *s)
{
	*s = (struct dbg_step){ .tf = c->eflags & FL_TF, .exceptions = run_stats.exceptions };
	if (d.data || gdb_watching())
		emu_insn_accesses(c, note_access, s);
}

bool dbg_after(struct vcpu *c, const struct dbg_step *s, unsigned reason)
{
	if (run_stats.exceptions != s->exceptions || reason == EXIT_REQUEST ||
	    reason == EXIT_DEBUG || reason == EXIT_FETCH_PF)
		return false;                  /* the instruction did not complete */
	c->eflags &= ~FL_RF;
	if (s->gdb_hit)
		gdb_watch_hit(s->gdb_addr);
	if (!s->tf && !s->data)
		return false;
	emu_dr_report(c, s->data, s->tf ? EMU_DR6_BS : 0);
	emu_raise(c, EXC_DB, 0);
	return true;
}
