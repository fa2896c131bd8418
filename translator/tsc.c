/*
 * tsc.c - RDTSC without the monitor.
 *
 * The guest's time stamp counter is the host's minus vcpu->tsc_offset (emulation/msr.c:
 * emu_guest_tsc; a WRMSR to IA32_TIME_STAMP_COUNTER moves the offset).  Translated code
 * reads the host TSC and subtracts the offset it finds in the vCPU at that moment, so a
 * WRMSR is seen at once and nothing is cached.  Linux's boot-time delay loops and clock
 * reads made this the most frequent monitor exit of a Linux boot.
 *
 * RDTSC faults (#GP(0)) at CPL > 0 when CR4.TSD is set.  The mode key holds CR4.TSD
 * (XM_TSD, translate.c: xl_mode), so a translation made with TSD clear is never run with
 * TSD set: a CR4 write that changes TSD changes the mode, and the blocks and lookup tables
 * of the old mode are not used any more.  Where the mode says RDTSC faults, classify.c
 * leaves it to the monitor, which raises the fault.
 *
 * Flag-neutral: the host RFLAGS hold the guest's flags, so the 64-bit subtraction is
 * LEA with the offset's complement (NOT) plus one, and the halves go through vcpu->spill[3]
 * (free between guest instructions) instead of shifts.  No access here can fault.
 * Called from translate_insn (translate.c) when classify.c chose K_RDTSC.
 */
#include "xl_int.h"

#define VCO(f) ((int32_t)offsetof(struct vcpu, f))
#define TSC_SPILL (VC_SPILL + 24)

bool xl_rdtsc_inline_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	if (g->z.mnemonic != ZYDIS_MNEMONIC_RDTSC)
		return false;
	return !((x->mode & XM_TSD) && (x->mode & XM_CPL_MASK) != 0);
}

void xl_translate_rdtsc(struct xl_ctx *x)
{
	static const uint8_t rdtsc[] = {0x0F, 0x31}, not_op[] = {0xF7};
	struct xbuf *b = &x->b;
	xl_stats.tsc_sites++;
	ebytes(b, rdtsc, 2);                                      /* edx:eax = host TSC */
	emit_vcpu_store(b, TSC_SPILL, H_RAX, 0);
	emit_vcpu_store(b, TSC_SPILL + 4, H_RDX, 0);
	emit_vcpu_load(b, H_R14, TSC_SPILL, 1);
	emit_vcpu_load(b, H_R11, VCO(tsc_offset), 1);
	emit_rr(b, EM_W, not_op, 1, 2, H_R11);                    /* r11 = ~offset */
	emit_mem(b, EM_W, OP_LEA, 1, H_R14, H_R14, H_R11, 1, 1);  /* r14 = host - offset */
	emit_vcpu_store(b, TSC_SPILL, H_R14, 1);
	emit_vcpu_load(b, H_RAX, TSC_SPILL, 0);
	emit_vcpu_load(b, H_RDX, TSC_SPILL + 4, 0);
}
