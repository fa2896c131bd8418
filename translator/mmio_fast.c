/*
 * mmio_fast.c - adaptive load sites that read a device's register mirror inline.
 *
 * An instruction that kept faulting on device memory becomes a monitor call (adaptive
 * translation, monitor/adaptive.c).  When it is a plain 32-bit load, MOV r32, [mem] with
 * flat segments, it is translated instead as:
 *
 *     r14d = offset; r14 = r15 + r14            host address in the current window
 *     pushfq
 *     (r14 & ~0xFFF) == vcpu->mmio_fast_page    the cached translation (adaptive.c)
 *     r14 & 3 == 0                              an aligned word
 *     (r14 & 0xFF0) != vcpu->mmio_fast_skip     not the register the mirror does not follow
 *     popfq; reg = [vcpu->mmio_fast_mirror + (r14 & 0xFFF)]; jump to the next instruction
 *   else
 *     popfq; the monitor call, as before (which may learn the translation for next time)
 *
 * mmio_fast_page is 0 when nothing is cached, and a window base plus a page otherwise; R15
 * plus a 32-bit offset stays inside R15's own window, and windows never overlap, so a
 * match means "this window, this linear page".  The guest's flags are saved around the
 * compares (the host RFLAGS hold them); nothing here can fault, so the instruction map
 * needs no fix-up.  The block ends after the site, as it did with the monitor call alone:
 * the fast path leaves through a chained direct exit to the next instruction.
 * Called from xl_translate (translate.c) for adaptive sites.
 */
#include "xl_int.h"

#define VCO(f) ((int32_t)offsetof(struct vcpu, f))

bool xl_mmio_fast_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	if (z->mnemonic != ZYDIS_MNEMONIC_MOV || z->opcode != 0x8B || z->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT ||
	    z->raw.modrm.mod == 3 || g->a16 || g->o16 || (x->mode & XM_NONFLAT))
		return false;
	if (g->seg == S_FS || g->seg == S_GS || g->seg == S_CS)
		return false;
	return g->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER && xl_gpr_of(g->op[0].reg.value) >= 0;
}

/* jcc rel32 to be aimed later: returns the rel32 field. */
static uint8_t *jcc32(struct xbuf *b, uint8_t cc)
{
	e8(b, 0x0F);
	e8(b, cc);
	uint8_t *rel = b->p;
	e32(b, 0);
	return rel;
}

void xl_translate_mmio_fast(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t cmp_ld[] = {0x3B}, test8[] = {0xF6}, pushf[] = {0x9C}, popf[] = {0x9D};
	struct xbuf *b = &x->b;
	uint8_t *slow[3];
	int dst = hreg(xl_gpr_of(g->op[0].reg.value));

	xl_emit_offset(x, g, H_R14, 0);                              /* flat: linear */
	emit_mem(b, EM_W, OP_LEA, 1, H_R14, H_R15, H_R14, 1, 0);     /* r14 = host address */
	ebytes(b, pushf, 1);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R14, H_R11);
	emit_rr(b, EM_W, OP_GRP1, 1, 4, H_R11);                      /* and r11, -4096 */
	e32(b, ~(GUEST_PAGE - 1));
	emit_mem(b, EM_W, cmp_ld, 1, H_R11, H_R13, -1, 0, VCO(mmio_fast_page));
	slow[0] = jcc32(b, 0x85);                                    /* jne */
	emit_rr(b, 0, OP_MOV_ST, 1, H_R14, H_R11);
	emit_rr(b, 0, OP_GRP1, 1, 4, H_R11);                         /* and r11d, 0xFFF */
	e32(b, GUEST_PAGE - 1);
	emit_rr(b, 0, test8, 1, 0, H_R11);                           /* test r11b, 3 */
	e8(b, 3);
	slow[1] = jcc32(b, 0x85);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R11, H_R10);
	emit_rr(b, 0, OP_GRP1, 1, 4, H_R10);                         /* and r10d, 0xFF0 */
	e32(b, 0xFF0);
	emit_mem(b, 0, cmp_ld, 1, H_R10, H_R13, -1, 0, VCO(mmio_fast_skip));
	slow[2] = jcc32(b, 0x84);                                    /* je */
	ebytes(b, popf, 1);
	emit_vcpu_load(b, H_R10, VCO(mmio_fast_mirror), 1);
	emit_mem(b, 0, OP_MOV_LD, 1, dst, H_R10, H_R11, 1, 0);
	xl_emit_direct_exit(x, next_eip(g));
	for (int i = 0; i < 3; i++)
		patch_rel32(slow[i], b->p);
	ebytes(b, popf, 1);
	xl_emit_reason_exit(x, g->eip, EXIT_EMULATE, EMULATE_ADAPTIVE);
	xl_stats.mmio_fast_sites++;
}
