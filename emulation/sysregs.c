/*
 * sysregs.c - control and debug registers (MOV CRn/DRn, CLTS, LMSW share these).
 *
 * CR0: ET always reads 1 (i486 and later), other reserved bits are ignored; PG without PE
 * and NW without CD are #GP(0).  Clearing PE would enter real mode, which vmm386 does not
 * support: the guest is stopped with a clear message.  CR4 accepts only the bits of features
 * CPUID reports (TSD PSE PGE PCE OSFXSR OSXMMEXCPT); any other bit is #GP(0), so the guest
 * cannot turn on PAE, VME or DE behind the translator's back.  CR3 is stored as written.
 * Changes that affect address translation go to the TLB hook (shadow-mmu/ later); any other
 * change of CR0/CR4 is reported with emu_mode_changed().
 *
 * Debug registers: DR4/DR5 alias DR6/DR7 (CR4.DE cannot be set: CPUID has no DE, so the
 * #UD that DR4/DR5 give under CR4.DE never applies); DR6 and DR7 keep their fixed bits.
 * DR7.GD makes the next access #DB (insn_sys.c).  A write to DR0-DR3 or DR7 may change the
 * breakpoints, which translations depend on: it is reported as a mode change, and the
 * monitor decides what to drop (monitor/debug.c); what matches is debugreg.c.
 */
#include "emu_int.h"

#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
		   CR0_NW | CR0_CD | CR0_PG)
#define CR4_VALID (CR4_TSD | CR4_PSE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT)

static int write_cr0(struct vcpu *c, uint32_t v)
{
	uint32_t old = c->cr0;

	v = (v & CR0_VALID) | CR0_ET;
	if (unlikely((v & CR0_PG) && !(v & CR0_PE)) || unlikely((v & CR0_NW) && !(v & CR0_CD)))
		return emu_raise(c, EXC_GP, 0);
	if (unlikely(!(v & CR0_PE)))
		return emu_stop(c, "CR0.PE cleared: real mode is not supported");
	c->cr0 = v;
	if ((old ^ v) & (CR0_PG | CR0_WP))
		emu_hook_tlb_flush(c, 0, true);
	else if (old != v)
		emu_mode_changed(c);
	return 0;
}

static int write_cr4(struct vcpu *c, uint32_t v)
{
	uint32_t old = c->cr4;

	if (unlikely(v & ~CR4_VALID))
		return emu_raise(c, EXC_GP, 0);
	c->cr4 = v;
	if ((old ^ v) & (CR4_PSE | CR4_PGE))
		emu_hook_tlb_flush(c, 0, true);
	else if (old != v)
		emu_mode_changed(c);
	return 0;
}

/* MOV CRn, r32 at CPL 0 (the caller checked CPL).  0, -1 or EXIT_SHUTDOWN. */
int emu_write_cr(struct vcpu *c, int n, uint32_t v)
{
	switch (n) {
	case 0:
		return write_cr0(c, v);
	case 2:
		c->cr2 = v;
		return 0;
	case 3:
		c->cr3 = v;
		emu_hook_tlb_flush(c, 0, false);
		return 0;
	case 4:
		return write_cr4(c, v);
	default:
		return emu_raise(c, EXC_UD, 0);
	}
}

uint32_t emu_read_dr(struct vcpu *c, int n)
{
	if (n == 4 || n == 5)
		n += 2;
	return c->dr[n & 7];
}

int emu_write_dr(struct vcpu *c, int n, uint32_t v)
{
	if (n == 4 || n == 5)
		n += 2;
	if (n == 6)
		v = (v & 0x0000E00Fu) | 0xFFFF0FF0u;
	else if (n == 7)
		v = (v & 0xFFFF23FFu) | 0x400u;
	c->dr[n & 7] = v;
	if (n != 6)
		emu_mode_changed(c);
	return 0;
}
