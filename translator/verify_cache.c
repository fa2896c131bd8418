/*
 * verify_cache.c - VERR and VERW in kernel code: the answer cached per site.
 *
 * Linux clears the CPU's buffers (MDS) on every return to user mode with `verw` of a
 * memory word holding __KERNEL_DS; as a monitor call that was one exit per system call.
 * VERR/VERW only set ZF: 1 if the segment the selector names is readable / writable at
 * CPL and RPL, else 0, and never fault on a bad selector (SDM vol. 2B; emu_verify in
 * emulation/segments.c is the reference).  At CPL 0 the answer is a function of the
 * selector and the 8 bytes of its descriptor only, so each site in protected mode at CPL 0
 * is translated inline against a one-entry cache (struct xl_verify_slot) that the monitor
 * fills after it ran the site once: the operand (register or memory, read as any operand
 * is, so its faults are the guest's) must be the cached selector, lie inside the current
 * GDT limit, and the descriptor now in the GDT (read through the running window, as the
 * CPU reads it, so a guest that edits its GDT or reloads GDTR is seen at once) must equal
 * the cached one; then ZF becomes the cached answer and no other flag changes.  Null and
 * LDT selectors, selectors beyond the limit and other CPLs take the monitor, as before.
 *
 * The slot's key is the selector with the instruction (VERR or VERW) in bit 16, so sites
 * may share a slot after the pool wrapped.  The inline code saves the guest's flags
 * (pushfq, XI_PUSHF) before its first access, so a fault on the operand or the GDT leaves
 * the state of "before the instruction".  A miss stores the operand's selector in the slot
 * and leaves with EXIT_EMULATE and info XL_INFO_VERIFY + slot; the monitor runs the
 * instruction and xl_sreg_fill hands the refill to xl_verify_fill().
 */
#include "xl_int.h"

struct xl_verify_slot {
	uint32_t key;        /* 0x00 selector | (VERW << 16), ~0 = empty */
	uint32_t idx;        /* 0x04 selector & ~7 */
	uint32_t idx7;       /* 0x08 idx + 7 (GDT limit check) */
	uint32_t zf;         /* 0x0c FL_ZF or 0: the answer */
	uint64_t raw;        /* 0x10 the descriptor the answer was computed from */
	uint32_t want;       /* 0x18 key of the last miss, for the fill */
};
_Static_assert(offsetof(struct xl_verify_slot, raw) == 0x10 && offsetof(struct xl_verify_slot, want) == 0x18,
	       "xl_verify_slot layout");
#define VERIFY_SLOTS 1024u
static struct xl_verify_slot verify_slot[VERIFY_SLOTS];
static unsigned verify_next;

bool xl_verify_fast_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	if ((x->mode & (XM_PROT | XM_CPL_MASK)) != XM_PROT)
		return false;
	return g->z.mnemonic == ZYDIS_MNEMONIC_VERR || g->z.mnemonic == ZYDIS_MNEMONIC_VERW;
}

void xl_translate_verify_fast(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t grp1[] = {0x81}, or_ld[] = {0x0B};
	struct xbuf *b = &x->b;
	uint32_t verw = g->z.mnemonic == ZYDIS_MNEMONIC_VERW ? 1u << 16 : 0;
	unsigned slot = verify_next++ & (VERIFY_SLOTS - 1);
	struct xl_verify_slot *sl = &verify_slot[slot];
	sl->key = ~0u;
	x->imap[x->n].fix |= XI_PUSHF;
	xl_stats.verify_sites++;

	ebytes(b, OP_PUSHF, 1);
	xl_emit_load_rm(x, g, 2);                                   /* r14w = selector */
	emit_rr(b, 0, OP_MOVZX16, 2, H_R14, H_R14);
	if (verw) {
		emit_rr(b, 0, grp1, 1, 1, H_R14);                   /* or r14d, 1 << 16 */
		e32(b, verw);
	}
	emit_mov_imm64(b, H_R9, (uint64_t)(uintptr_t)sl);
	uint8_t *miss[3];
	unsigned nmiss = 0;
	xl_emit_gdt_match(b, miss, &nmiss);
	/* hit: ZF of the saved guest flags = the cached answer */
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R10, H_RSP, -1, 0, 0);
	emit_rr(b, EM_W, grp1, 1, 4, H_R10); e32(b, ~(uint32_t)FL_ZF);   /* and r10, ~ZF */
	emit_mem(b, 0, or_ld, 1, H_R10, H_R9, -1, 0, 0x0c);
	emit_mem(b, EM_W, OP_MOV_ST, 1, H_R10, H_RSP, -1, 0, 0);
	ebytes(b, OP_POPF, 1);
	e8(b, 0xE9); uint8_t *done = b->p; e32(b, 0);
	for (unsigned i = 0; i < nmiss; i++)
		patch_rel32(miss[i], b->p);
	emit_mem(b, 0, OP_MOV_ST, 1, H_R14, H_R9, -1, 0, 0x18);     /* for the fill */
	ebytes(b, OP_POPF, 1);                                      /* miss: the monitor runs it */
	emit_vcpu_imm32(b, VC_EIP, g->eip);
	emit_vcpu_imm32(b, VC_EXIT_INFO, XL_INFO_VERIFY + slot);
	emit_vcpu_imm32(b, VC_EXIT_REASON, EXIT_EMULATE);
	emit_jmp32(b, cc_exit_thunk());
	patch_rel32(done, b->p);
}

/*
 * After the monitor ran VERR/VERW site `info` at CPL 0: cache the answer it gave (ZF) with
 * the descriptor it was computed from, if the selector names a GDT entry inside the limit.
 */
void xl_verify_fill(struct vcpu *c, uint32_t info)
{
	struct xl_verify_slot *sl = &verify_slot[(info - XL_INFO_VERIFY) & (VERIFY_SLOTS - 1)];
	uint32_t key = sl->want, sel = key & 0xFFFF;
	uint64_t raw;
	sl->key = ~0u;
	if (c->cpl != 0 || !(c->cr0 & CR0_PE) || (c->eflags & FL_VM) || !(sel & 0xFFFC) || (sel & 4) ||
	    (sel | 7) > c->gdtr.limit || !xl_quiet_read(c, c->gdtr.base + (sel & ~7u), &raw, 8))
		return;
	sl->idx = sel & ~7u;
	sl->idx7 = sl->idx + 7;
	sl->raw = raw;
	sl->zf = c->eflags & FL_ZF;
	sl->key = key;
	xl_stats.verify_fills++;
}
