/*
 * mmio_fast.c - adaptive sites that reach a device's register page without a monitor exit.
 *
 * An instruction that kept faulting on device memory becomes a monitor call (adaptive
 * translation, monitor/adaptive.c).  When it is a plain 32-bit MOV with flat segments it
 * (8B, 89, C7 /0, or the A1/A3 forms with a 32-bit address) is translated instead as:
 *
 *     r14d = offset; r14 = r15 + r14            host address in the current window
 *     pushfq
 *     (r14 & ~0xFFF) == vcpu->mmio_fast_page    the cached translation (adaptive.c);
 *                       (or _wpage, stores)     0 when none, never a window address
 *     r14 & 3 == 0                              an aligned word
 *   load, MOV r32, [mem]:
 *     (r14 & 0xFF0) != vcpu->mmio_fast_skip     not the register the mirror does not follow
 *     popfq; reg = [vcpu->mmio_fast_mirror + (r14 & 0xFFF)]; jump to the next instruction
 *   store, MOV [mem], r32 / imm32:
 *     the guest registers the C calling convention may clobber (EAX ECX EDX ESI EDI) are
 *     pushed, DF cleared, the stack aligned, and vmm_mmio_store(offset, value, vcpu)
 *     called; popfq; the next instruction, or a return to the run loop (EXIT_REQUEST at
 *     the next instruction) when vmm_mmio_store says an interrupt is waiting
 *   otherwise:
 *     popfq; the monitor call, as before (which may learn the translation for next time)
 *
 * R15 plus a 32-bit offset stays inside R15's own window, and windows never overlap, so a
 * page match means "this window, this linear page".  The guest's flags are saved around
 * the compares and the call (the host RFLAGS hold them, DF included); nothing here can
 * fault, so the instruction map needs no fix-up.  The block ends after the site, as it did
 * with the monitor call alone: the fast path leaves through a chained direct exit to the
 * next instruction.  Not used for single-step translations (gdb steps, traced stores).
 * Called from xl_translate (translate.c) for adaptive sites.
 */
#include "xl_int.h"

#define VCO(f) ((int32_t)offsetof(struct vcpu, f))

enum { MF_NONE, MF_LOAD, MF_STORE_REG, MF_STORE_IMM };

static int fast_kind(const struct xl_ctx *x, const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	bool moffs = z->opcode == 0xA1 || z->opcode == 0xA3;     /* MOV EAX, [disp32] and back */
	if (z->mnemonic != ZYDIS_MNEMONIC_MOV || z->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT ||
	    (!moffs && z->raw.modrm.mod == 3) || g->a16 || g->o16 ||
	    (x->mode & (XM_NONFLAT | XM_SINGLE)))
		return MF_NONE;
	if (g->seg == S_FS || g->seg == S_GS || g->seg == S_CS)
		return MF_NONE;
	if ((z->opcode == 0x8B || z->opcode == 0xA1) && g->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    xl_gpr_of(g->op[0].reg.value) >= 0)
		return MF_LOAD;
	if ((z->opcode == 0x89 || z->opcode == 0xA3) && g->op[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    xl_gpr_of(g->op[1].reg.value) >= 0)
		return MF_STORE_REG;
	if (z->opcode == 0xC7 && z->raw.modrm.reg == 0)
		return MF_STORE_IMM;
	return MF_NONE;
}

bool xl_mmio_fast_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	return fast_kind(x, g) != MF_NONE;
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

static const uint8_t pushf[] = {0x9C}, popf[] = {0x9D};

/* The store: r10d = value, r11d = offset, guest flags pushed.  Leaves r11d = the helper's
 * answer.  RSP is kept in r14 (callee-saved) across the call. */
static void emit_store_call(struct xbuf *b)
{
	static const uint8_t push[] = {0x50, 0x51, 0x52, 0x56, 0x57}, pop[] = {0x5F, 0x5E, 0x5A, 0x59, 0x58};
	static const uint8_t cld[] = {0xFC}, and_rsp[] = {0x48, 0x83, 0xE4, 0xF0}, call_rax[] = {0xFF, 0xD0};
	ebytes(b, push, sizeof(push));
	ebytes(b, cld, 1);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_RSP, H_R14);
	ebytes(b, and_rsp, sizeof(and_rsp));
	emit_rr(b, 0, OP_MOV_ST, 1, H_R11, H_RDI);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R10, H_RSI);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R13, H_RDX);
	emit_mov_imm64(b, H_RAX, (uint64_t)(uintptr_t)vmm_mmio_store);
	ebytes(b, call_rax, sizeof(call_rax));
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R14, H_RSP);
	emit_rr(b, 0, OP_MOV_ST, 1, H_RAX, H_R11);
	ebytes(b, pop, sizeof(pop));
}

void xl_translate_mmio_fast(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t cmp_ld[] = {0x3B}, test8[] = {0xF6}, test32[] = {0x85};
	struct xbuf *b = &x->b;
	int kind = fast_kind(x, g);
	uint8_t *slow[3], *wait = NULL;
	unsigned nslow = 0;

	if (kind == MF_STORE_REG)                                    /* the value, first */
		emit_rr(b, 0, OP_MOV_ST, 1, hreg(xl_gpr_of(g->op[1].reg.value)), H_R10);
	else if (kind == MF_STORE_IMM) {
		e8(b, 0x41);                                         /* mov r10d, imm32 */
		e8(b, 0xBA);
		e32(b, (uint32_t)g->z.raw.imm[0].value.u);
	}
	xl_emit_offset(x, g, H_R14, 0);                              /* flat: linear */
	emit_mem(b, EM_W, OP_LEA, 1, H_R14, H_R15, H_R14, 1, 0);     /* r14 = host address */
	ebytes(b, pushf, 1);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R14, H_R11);
	emit_rr(b, EM_W, OP_GRP1, 1, 4, H_R11);                      /* and r11, -4096 */
	e32(b, ~(GUEST_PAGE - 1));
	emit_mem(b, EM_W, cmp_ld, 1, H_R11, H_R13, -1, 0,
		 kind == MF_LOAD ? VCO(mmio_fast_page) : VCO(mmio_fast_wpage));
	slow[nslow++] = jcc32(b, 0x85);                              /* jne */
	emit_rr(b, 0, OP_MOV_ST, 1, H_R14, H_R11);
	emit_rr(b, 0, OP_GRP1, 1, 4, H_R11);                         /* and r11d, 0xFFF */
	e32(b, GUEST_PAGE - 1);
	emit_rr(b, 0, test8, 1, 0, H_R11);                           /* test r11b, 3 */
	e8(b, 3);
	slow[nslow++] = jcc32(b, 0x85);
	if (kind == MF_LOAD) {
		int dst = hreg(xl_gpr_of(g->op[0].reg.value));
		emit_rr(b, 0, OP_MOV_ST, 1, H_R11, H_R10);
		emit_rr(b, 0, OP_GRP1, 1, 4, H_R10);                 /* and r10d, 0xFF0 */
		e32(b, 0xFF0);
		emit_mem(b, 0, cmp_ld, 1, H_R10, H_R13, -1, 0, VCO(mmio_fast_skip));
		slow[nslow++] = jcc32(b, 0x84);                      /* je */
		ebytes(b, popf, 1);
		emit_vcpu_load(b, H_R10, VCO(mmio_fast_mirror), 1);
		emit_mem(b, 0, OP_MOV_LD, 1, dst, H_R10, H_R11, 1, 0);
		xl_stats.mmio_fast_sites++;
	} else {
		emit_store_call(b);
		emit_rr(b, 0, test32, 1, H_R11, H_R11);              /* test r11d, r11d */
		wait = jcc32(b, 0x85);
		ebytes(b, popf, 1);
		xl_stats.mmio_store_sites++;
	}
	xl_emit_direct_exit(x, next_eip(g));
	if (wait) {                                                  /* an interrupt waits */
		patch_rel32(wait, b->p);
		ebytes(b, popf, 1);
		xl_emit_reason_exit(x, next_eip(g), EXIT_REQUEST, 0);
	}
	for (unsigned i = 0; i < nslow; i++)
		patch_rel32(slow[i], b->p);
	ebytes(b, popf, 1);
	xl_emit_reason_exit(x, g->eip, EXIT_EMULATE, EMULATE_ADAPTIVE);
}
