/*
 * translate.c - guest block -> host block.
 *
 * Register convention inside a block (DESIGN.md §2): guest EAX..EDI except ESP live in the
 * same host registers with their upper halves zero, guest ESP in R12D, guest arithmetic
 * flags and DF in RFLAGS, R13 = struct vcpu, R15 = GS base = window base.  R8-R11 and R14
 * are scratch between guest instructions.  Everything emitted between guest instructions
 * is flag-neutral (MOV, LEA, MOVZX, NOT, JRCXZ).
 *
 * Precise state: every lowering performs all accesses that can fault before it changes any
 * guest register, so a host fault anywhere inside the translation of instruction i leaves
 * the guest state of "before instruction i" in the host registers, modulo the fix-ups that
 * the per-instruction map records (string pointers held as host addresses, a borrowed
 * register parked in vcpu->spill[1]).
 *
 * Block layout:
 *   head:   mov r14, [r13+req_ptr] ; mov r14d, [r14]   (faults when an exit is requested)
 *   body:   translated guest instructions
 *   exits:  patchable rel32 jumps, each followed by its stub that returns to the dispatcher
 */
#include <Zydis/Zydis.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "xl.h"
#include "../monitor/memory.h"
#include "../emulation/emu.h"
#include "emit.h"
#include "../monitor/param.h"

struct xl_stats xl_stats;
static const uint8_t OP_GRP1[] = {0x81}, OP_PUSHF[] = {0x9C}, OP_POPF[] = {0x9D};
static ZydisDecoder decoder;

/* Decoded guest instruction with the pieces the rewriter needs. */
struct ginsn {
	ZydisDecodedInstruction z;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	uint8_t bytes[16];
	gla_t eip;
	unsigned opc;        /* offset of the first opcode byte */
	int seg;             /* segment override S_*, or -1 */
	bool a16;            /* 16-bit addressing (0x67) */
	bool o16;            /* 16-bit operand size (0x66) */
	gpa_t next_page;     /* next page's frame if the bytes ran into it (vmm_fetch_code): ~0u none, ~1u unmapped */
};

struct xl_ctx {
	struct vcpu *c;
	struct xbuf b;
	struct cc_block *blk;
	uint32_t mode;
	struct xl_imap imap[2 * XL_MAX_INSNS + 2];   /* + interrupt-probe entries */
	unsigned n;
	bool ended;
};

void xl_init(void)
{
	ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
}

/* The offsets translated code may access in segment sg (see struct vcpu: seg_lo/end). */
static void seg_ranges(const struct seg *sg, uint32_t *lo_out, uint64_t *end_r, uint64_t *end_w)
{
	bool usable = (sg->attr & SEGA_P) && (sg->attr & SEGA_S);
	bool code = sg->attr & 0x8;
	uint64_t lo = 0, end = (uint64_t)sg->limit + 1;
	if (!code && (sg->attr & 0x4)) {          /* expand-down data segment */
		lo = (uint64_t)sg->limit + 1;
		end = (sg->attr & SEGA_DB) ? (1ull << 32) : 0x10000;
	}
	if (!usable)
		end = 0;
	*lo_out = (uint32_t)(lo > 0xFFFFFFFFu ? 0xFFFFFFFFu : lo);
	*end_r = code && !(sg->attr & 0x2) ? 0 : end;   /* execute-only code */
	*end_w = code || !(sg->attr & 0x2) ? 0 : end;   /* code or read-only */
}

/* Refresh the segment copies translated code reads (bases, valid offset ranges). */
void xl_sync_segments(struct vcpu *c)
{
	for (int s = 0; s < S_NR; s++) {
		c->seg_base[s] = c->seg[s].base;
		seg_ranges(&c->seg[s], &c->seg_lo[s], &c->seg_end_r[s], &c->seg_end_w[s]);
	}
}

uint32_t xl_mode(const struct vcpu *c)
{
	uint32_t m = (uint32_t)c->cpl & XM_CPL_MASK;
	if ((c->cr0 & CR0_PE) && !(c->eflags & FL_VM)) m |= XM_PROT;
	if (c->cr0 & CR0_PG) m |= XM_PG;
	if (c->cr0 & CR0_TS) m |= XM_TS;
	if (c->cr0 & CR0_EM) m |= XM_EM;
	if (c->cr0 & CR0_MP) m |= XM_MP;
	static const int segs[] = {S_CS, S_DS, S_ES, S_SS};
	for (unsigned i = 0; i < 4; i++) {
		int s = segs[i];
		if (c->seg_base[s] || c->seg_lo[s] || c->seg_end_r[s] != (1ull << 32) ||
		    (s != S_CS && c->seg_end_w[s] != (1ull << 32)))
			m |= XM_NONFLAT;
	}
	return m;
}

static inline int hreg(int g) { return g == R_ESP ? H_R12 : g; }

/* ---- exits ----------------------------------------------------------------------- */

/* Unlinked path of a direct exit: record target and which exit, return to dispatcher. */
static uint8_t *emit_lookup_probe(struct xbuf *b);

static void emit_exit_stub(struct xl_ctx *x, struct cc_exit *e, gla_t target)
{
	e->stub = x->b.p;
	/*
	 * With paging, a jump to another linear page is never chained (see may_chain in
	 * monitor/run.c: the target page may map another frame in another window).  Such an
	 * exit (or one to a block that may straddle two pages, also never chained) probes the
	 * window's lookup table inline, as an indirect jump does - the table
	 * is per window and goes stale when a code page of that window changes mapping - and
	 * only a miss returns to the dispatcher.  Without this, a hot loop that straddles a
	 * page boundary left translated code two or three times per iteration.
	 */
	gla_t tl = x->blk->cs_base + target;
	if ((x->mode & XM_PG) && !(x->mode & XM_SINGLE) &&
	    ((tl >> 12) != ((x->blk->cs_base + x->blk->eip) >> 12) ||
	     (tl & (GUEST_PAGE - 1)) > GUEST_PAGE - 16)) {     /* the target may straddle */
		emit_mov_imm64(&x->b, H_R14, target);
		uint8_t *rel = emit_lookup_probe(&x->b);
		patch_rel32(rel, x->b.p);                   /* a miss falls into the stub */
		xl_stats.direct_probes++;
	}
	e->target = target;
	emit_vcpu_imm32(&x->b, VC_EIP, target);
	emit_mov_imm64(&x->b, H_R14, (uint64_t)(uintptr_t)e);
	emit_vcpu_store(&x->b, VC_SPILL, H_R14, 1);
	emit_vcpu_imm32(&x->b, VC_EXIT_REASON, EXIT_LOOKUP);
	emit_jmp32(&x->b, cc_exit_thunk());
}

static struct cc_exit *new_exit(struct xl_ctx *x)
{
	if (x->blk->nexit >= 2)
		vmm_panic("block with more than two direct exits");
	return &x->blk->exit[x->blk->nexit++];
}

/* jmp rel32 (patchable) + stub. */
static void emit_direct_exit(struct xl_ctx *x, gla_t target)
{
	struct cc_exit *e = new_exit(x);
	e->blk = x->blk;
	e->rel = emit_jmp32(&x->b, x->b.p + 5);
	emit_exit_stub(x, e, target);
	xl_stats.direct_exits++;
}

/* Leave with a reason at guest EIP (the instruction is not executed). */
static void emit_reason_exit(struct xl_ctx *x, gla_t eip, unsigned reason, uint32_t info)
{
	emit_vcpu_imm32(&x->b, VC_EIP, eip);
	emit_vcpu_imm32(&x->b, VC_EXIT_INFO, info);
	emit_vcpu_imm32(&x->b, VC_EXIT_REASON, reason);
	emit_jmp32(&x->b, cc_exit_thunk());
	x->ended = true;
}

/*
 * Jump to the block for the guest EIP in r14d if the window's inline lookup table has it
 * (flag-free; r8-r11 clobbered, vcpu->eip = r14d).  Returns the rel32 field of the jump
 * taken on a miss, for the caller to aim.
 */
static uint8_t *emit_lookup_probe(struct xbuf *b)
{
	static const uint8_t movzx16[] = {0x0F, 0xB7}, not_op[] = {0xF7};
	emit_vcpu_store(b, VC_EIP, H_R14, 0);                    /* for a miss */
	emit_rr(b, 0, movzx16, 2, H_R8, H_R14);                  /* r8d = eip & 0xffff */
	emit_vcpu_load(b, H_R9, VC_LOOKUP, 1);                   /* r9 = table */
	emit_mem(b, 0, OP_MOV_LD, 1, H_R10, H_R9, H_R8, 4, 0);   /* r10d = key */
	emit_rr(b, 0, OP_MOV_ST, 1, H_R14, H_R11);               /* r11d = ~eip */
	emit_rr(b, 0, not_op, 1, 2, H_R11);
	emit_mem(b, 0, OP_LEA, 1, H_R10, H_R10, H_R11, 1, 1);    /* r10d = key - eip */
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_RCX, H_R11);            /* r11 = rcx */
	emit_rr(b, 0, OP_MOV_ST, 1, H_R10, H_RCX);               /* ecx = r10d */
	e8(b, 0xE3); e8(b, 3 + 5);                               /* jrcxz hit */
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);            /* rcx = r11 (3 bytes) */
	uint8_t *miss = emit_jmp32(b, cc_miss_stub());           /* 5 bytes */
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);            /* hit: rcx = r11 */
	static const uint8_t jmp_ind[] = {0xFF};
	emit_mem(b, 0, jmp_ind, 1, 4, H_R9, H_R8, 8, (int32_t)offsetof(struct cc_lookup, host));
	return miss;
}

/* Indirect jump to the guest EIP in r14d through the inline lookup cache. */
static void emit_indirect_exit(struct xl_ctx *x)
{
	emit_lookup_probe(&x->b);
	xl_stats.indirect_exits++;
	x->ended = true;
}

/* ---- guest memory operands ------------------------------------------------------ */

/* The explicit (ModRM or moffs) memory operand, or NULL; hidden ones (stack) don't count. */
static const ZydisDecodedOperand *explicit_mem(const struct ginsn *g)
{
	for (unsigned i = 0; i < g->z.operand_count; i++)
		if (g->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    g->op[i].visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
			return &g->op[i];
	return NULL;
}

/* Default segment of the ModRM memory operand. */
static int mem_seg(const struct ginsn *g)
{
	if (g->seg >= 0)
		return g->seg;
	const ZydisDecodedOperand *o = explicit_mem(g);
	return o && o->mem.segment == ZYDIS_REGISTER_SS ? S_SS : S_DS;
}

/* Must the segment base be added for this access? */
static bool seg_needs_base(const struct xl_ctx *x, int seg)
{
	if (seg == S_FS || seg == S_GS || seg == S_CS)   /* cs: writes must #GP */
		return true;
	return (x->mode & XM_NONFLAT) != 0;
}

/*
 * Segment limit and type check of an access [dst, dst+size-1] (offset in dst, before the
 * base is added), as hardware does it for every data access.  Uses r10 and r11 only.  Flags are saved around the
 * compares; this path only runs for fs:/gs: and non-flat segments.  On failure the block
 * leaves with #GP(0), or #SS(0) for SS, at the instruction.
 */
static void emit_limit_check(struct xl_ctx *x, gla_t eip, int dst, int seg, unsigned size,
			     bool write)
{
	static const uint8_t cmp[] = {0x39}, pushf[] = {0x9C}, popf[] = {0x9D};
	struct xbuf *b = &x->b;
	ebytes(b, pushf, 1);
	emit_mem(b, EM_W, OP_LEA, 1, H_R11, dst, -1, 0, (int32_t)size);
	emit_vcpu_load(b, H_R10, (write ? VC_SEG_END_W : VC_SEG_END_R) + 8 * seg, 1);
	emit_rr(b, EM_W, cmp, 1, H_R10, H_R11);             /* cmp r11, r10 */
	e8(b, 0x77); uint8_t *ja = b->p; e8(b, 0);          /* ja fail */
	emit_vcpu_load(b, H_R10, VC_SEG_LO + 4 * seg, 0);
	emit_rr(b, EM_W, cmp, 1, H_R10, dst);               /* cmp dst, r10 */
	e8(b, 0x73); uint8_t *jae = b->p; e8(b, 0);         /* jae ok */
	*ja = (uint8_t)(b->p - ja - 1);
	ebytes(b, popf, 1);
	if (x->imap[x->n].spill >= 0)        /* give the borrowed register back */
		emit_vcpu_load(b, x->imap[x->n].spill, VC_SPILL + 8, 1);
	emit_vcpu_imm32(b, VC_EIP, eip);
	emit_vcpu_imm32(b, VC_EXIT_INFO, seg == S_SS ? EXC_SS : EXC_GP);
	emit_vcpu_imm32(b, VC_EXIT_REASON, EXIT_EXCEPTION);
	emit_jmp32(b, cc_exit_thunk());
	*jae = (uint8_t)(b->p - jae - 1);
	ebytes(b, popf, 1);
}

/* lea dst, [r + seg base]: flag-free add of the segment base kept in vcpu->seg_base. */
static void emit_add_segbase(struct xl_ctx *x, int dst, int seg)
{
	emit_vcpu_load(&x->b, H_R8, VC_SEG_BASE + 4 * seg, 0);
	emit_lea32(&x->b, dst, dst, H_R8, 0);
}

static int gpr_of(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI) return r - ZYDIS_REGISTER_EAX;
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_DI) return r - ZYDIS_REGISTER_AX;
	return -1;
}

/* Compute the guest linear address of the ModRM memory operand into host register dst. */
static void emit_seg_apply(struct xl_ctx *x, const struct ginsn *g, int dst);
static void emit_offset(struct xl_ctx *x, const struct ginsn *g, int dst, int32_t esp_adj);

/* esp_adj is added when ESP is the base (POP m32 addresses with the incremented ESP). */
static void emit_ea(struct xl_ctx *x, const struct ginsn *g, int dst, int32_t esp_adj)
{
	emit_offset(x, g, dst, esp_adj);
	emit_seg_apply(x, g, dst);
}

/* The offset (effective address before the segment) of the ModRM operand, into dst. */
static void emit_offset(struct xl_ctx *x, const struct ginsn *g, int dst, int32_t esp_adj)
{
	const ZydisDecodedInstruction *z = &g->z;
	int32_t disp = (int32_t)z->raw.disp.value;
	if (g->a16) {
		static const int8_t b16[8] = {R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX};
		static const int8_t i16[8] = {R_ESI, R_EDI, R_ESI, R_EDI, -1, -1, -1, -1};
		int rm = z->raw.modrm.rm, base = b16[rm], idx = i16[rm];
		if (z->raw.modrm.mod == 0 && rm == 6)
			base = -1;
		if (base < 0) {
			if (dst & 8) e8(&x->b, 0x41);
			e8(&x->b, (uint8_t)(0xB8 | (dst & 7)));
			e32(&x->b, (uint32_t)disp & 0xFFFF);
		} else {
			emit_lea32(&x->b, dst, base, idx, disp);
			emit_rr(&x->b, 0, OP_MOVZX16, 2, dst, dst);
		}
	} else {
		int base = -1, idx = -1, scale = 1;
		const ZydisDecodedOperand *o = explicit_mem(g);
		if (o) {
			base = gpr_of(o->mem.base);
			idx = gpr_of(o->mem.index);
			scale = o->mem.scale ? o->mem.scale : 1;
			disp = (int32_t)o->mem.disp.value + (base == R_ESP ? esp_adj : 0);
		}
		if (base < 0 && idx < 0) {
			if (dst & 8) e8(&x->b, 0x41);
			e8(&x->b, (uint8_t)(0xB8 | (dst & 7)));
			e32(&x->b, (uint32_t)disp);
		} else {
			emit_mem(&x->b, 0, OP_LEA, 1, dst, base < 0 ? -1 : hreg(base),
				 idx < 0 ? -1 : hreg(idx), scale, disp);
		}
	}
}

/* Offset in dst -> linear address: limit/type check and segment base when needed. */
static void emit_seg_apply(struct xl_ctx *x, const struct ginsn *g, int dst)
{
	int seg = mem_seg(g);
	const ZydisDecodedOperand *o = explicit_mem(g);
	if (!o || o->mem.type == ZYDIS_MEMOP_TYPE_AGEN || !seg_needs_base(x, seg))
		return;    /* LEA: an offset, no segment */
	emit_limit_check(x, g->eip, dst, seg, o->size / 8,
			 (o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0);
	emit_add_segbase(x, dst, seg);
}

/* Guest legacy prefixes to keep (all but segment overrides and 0x67), plus 0x66 if asked. */
static unsigned keep_prefixes(const struct ginsn *g, uint8_t *out, bool drop_rep)
{
	unsigned n = 0;
	for (unsigned i = 0; i < g->z.raw.prefix_count; i++) {
		uint8_t p = g->bytes[i];
		if (p == 0x26 || p == 0x2E || p == 0x36 || p == 0x3E || p == 0x64 || p == 0x65 ||
		    p == 0x67)
			continue;
		if (drop_rep && p == 0xF3)
			continue;
		out[n++] = p;
	}
	return n;
}

static bool is_high8(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
	       r == ZYDIS_REGISTER_BH;
}

static bool is_sp(ZydisRegister r) { return r == ZYDIS_REGISTER_ESP || r == ZYDIS_REGISTER_SP; }

/* Does the instruction mention guest register g (any width, including AH..BH)? */
static bool uses_greg(const struct ginsn *g, int r)
{
	for (unsigned i = 0; i < g->z.operand_count; i++) {
		const ZydisDecodedOperand *o = &g->op[i];
		ZydisRegister regs[3] = {ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE};
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) regs[0] = o->reg.value;
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) { regs[1] = o->mem.base; regs[2] = o->mem.index; }
		for (int k = 0; k < 3; k++) {
			ZydisRegister v = regs[k];
			if (v == ZYDIS_REGISTER_NONE) continue;
			ZydisRegister l = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LEGACY_32, v);
			if (gpr_of(l) == r) return true;
		}
	}
	return false;
}

struct rewrite {
	uint8_t rex;         /* R/B bits needed for ESP -> R12 (0 if none) */
	bool high8;          /* instruction names AH/CH/DH/BH */
	bool has_modrm_mem;  /* ModRM memory operand (mod != 3) */
	bool is_agen;        /* LEA-style: address only, no access */
	bool mem_access;     /* any memory access (ModRM, moffs, implicit) */
};

static void analyse(const struct ginsn *g, struct rewrite *rw)
{
	const ZydisDecodedInstruction *z = &g->z;
	memset(rw, 0, sizeof(*rw));
	rw->has_modrm_mem = (z->attributes & ZYDIS_ATTRIB_HAS_MODRM) && z->raw.modrm.mod != 3;
	for (unsigned i = 0; i < z->operand_count; i++) {
		const ZydisDecodedOperand *o = &g->op[i];
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			if (is_high8(o->reg.value)) rw->high8 = true;
			if (is_sp(o->reg.value)) {
				if (o->encoding == ZYDIS_OPERAND_ENCODING_MODRM_REG) rw->rex |= 0x44;
				else if (o->encoding == ZYDIS_OPERAND_ENCODING_MODRM_RM ||
					 o->encoding == ZYDIS_OPERAND_ENCODING_OPCODE) rw->rex |= 0x41;
			}
		} else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (o->mem.type == ZYDIS_MEMOP_TYPE_AGEN) rw->is_agen = true;
			else rw->mem_access = true;
			if (is_sp(o->mem.base) && o->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
				rw->rex |= 0x41;
		}
	}
}

static int borrow_reg(const struct ginsn *g);

/*
 * Emit the guest instruction with its ModRM memory operand made host-addressable.
 * pfx: prefixes to emit; opc: opcode bytes (up to, not including, ModRM); reg: the ModRM
 * reg field as a host register number (bit 3 -> REX.R); rexb_extra: REX bits the caller
 * needs besides R (normally 0); tail: the immediate bytes.
 */
static void emit_with_mem(struct xl_ctx *x, const struct ginsn *g, const uint8_t *pfx,
			  unsigned npfx, const uint8_t *opc, unsigned nopc, int reg,
			  bool high8, const uint8_t *tail, unsigned ntail)
{
	const ZydisDecodedInstruction *z = &g->z;
	struct rewrite rw;
	analyse(g, &rw);
	bool agen = rw.is_agen;
	bool via_ea = g->a16 || (!agen && seg_needs_base(x, mem_seg(g)));
	/* direct form: base ESP -> R12 needs REX.B; high byte registers forbid any REX */
	const ZydisDecodedOperand *mop = explicit_mem(g);
	bool base_sp = mop && is_sp(mop->mem.base);
	uint8_t rex = 0x40 | ((reg & 8) ? 4 : 0);
	int ea_reg = H_R14;
	if (!via_ea && base_sp) rex |= 1;
	if (via_ea) rex |= 1;
	if (high8 && rex != 0x40) {
		/* borrow a guest register the instruction does not use as the address register */
		ea_reg = borrow_reg(g);
		x->imap[x->n].spill = (int8_t)ea_reg;
		emit_vcpu_store(&x->b, VC_SPILL + 8, ea_reg, 1);
		via_ea = true;
		rex = 0x40;
		xl_stats.spills++;
	}
	if (via_ea)
		emit_ea(x, g, ea_reg, 0);
	if (!agen) e8(&x->b, 0x65);
	e8(&x->b, 0x67);
	ebytes(&x->b, pfx, npfx);
	if (rex != 0x40) e8(&x->b, rex);
	ebytes(&x->b, opc, nopc);
	if (via_ea) {
		e8(&x->b, (uint8_t)(((reg & 7) << 3) | (ea_reg & 7)));   /* mod 00, [ea_reg] */
	} else {
		unsigned m = z->raw.modrm.offset;
		uint8_t modrm = (uint8_t)((g->bytes[m] & 0xC7) | ((reg & 7) << 3));
		unsigned end = z->raw.imm[0].size ? z->raw.imm[0].offset : z->length;
		if ((modrm & 0xC7) == 0x05) {                /* [disp32]: absolute via SIB */
			e8(&x->b, (uint8_t)((modrm & 0x38) | 0x04));
			e8(&x->b, 0x25);
			ebytes(&x->b, g->bytes + m + 1, end - m - 1);
		} else {
			e8(&x->b, modrm);
			ebytes(&x->b, g->bytes + m + 1, end - m - 1);
		}
	}
	ebytes(&x->b, tail, ntail);
	if (x->imap[x->n].spill >= 0)
		emit_vcpu_load(&x->b, x->imap[x->n].spill, VC_SPILL + 8, 1);
}

/* Host register for the ModRM reg field of g (ESP -> R12 when it names a GPR). */
static int modrm_reg_host(const struct ginsn *g)
{
	int reg = g->z.raw.modrm.reg;
	for (unsigned i = 0; i < g->z.operand_count; i++) {
		const ZydisDecodedOperand *o = &g->op[i];
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    o->encoding == ZYDIS_OPERAND_ENCODING_MODRM_REG && is_sp(o->reg.value))
			return H_R12;
	}
	return reg;
}

/* ---- IDENT ---------------------------------------------------------------------- */

/* Pick a guest register the instruction does not mention, to lend to a rewrite. */
static int borrow_reg(const struct ginsn *g)
{
	static const int pick[] = {R_EBX, R_ESI, R_EDI, R_EDX, R_ECX, R_EAX};
	for (unsigned i = 0; i < 6; i++)
		if (!uses_greg(g, pick[i]))
			return pick[i];
	vmm_panic("no register to borrow at %08x", g->eip);
}

/*
 * Register forms naming ESP and AH..BH together (MOVZX/MOVSX esp, bh): REX would turn BH
 * into DIL, so ESP is swapped into a borrowed legacy register around the instruction.
 */
static void translate_ident_swap_esp(struct xl_ctx *x, const struct ginsn *g,
				     const struct rewrite *rw, const uint8_t *pfx, unsigned npfx)
{
	uint8_t bytes[16];
	int t = borrow_reg(g);
	const ZydisDecodedInstruction *z = &g->z;
	memcpy(bytes, g->bytes, sizeof(bytes));
	if (z->attributes & ZYDIS_ATTRIB_HAS_MODRM) {
		uint8_t *m = &bytes[z->raw.modrm.offset];
		if (rw->rex & 4) *m = (uint8_t)((*m & 0xC7) | (t << 3));
		if ((rw->rex & 1) && z->raw.modrm.mod == 3) *m = (uint8_t)((*m & 0xF8) | t);
	} else if (rw->rex & 1) {
		bytes[z->length - 1 - (z->raw.imm[0].size / 8)] =
			(uint8_t)((bytes[g->opc + (z->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)] & 0xF8) | t);
	}
	x->imap[x->n].spill = (int8_t)t;
	emit_vcpu_store(&x->b, VC_SPILL + 8, t, 1);
	emit_rr(&x->b, 0, OP_MOV_ST, 1, H_R12, t);                /* t = esp */
	ebytes(&x->b, pfx, npfx);
	ebytes(&x->b, bytes + g->opc, z->length - g->opc);
	emit_rr(&x->b, 0, OP_MOV_ST, 1, t, H_R12);                /* esp = t */
	emit_vcpu_load(&x->b, t, VC_SPILL + 8, 1);
	xl_stats.spills++;
}

static void translate_ident(struct xl_ctx *x, const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	struct rewrite rw;
	uint8_t pfx[16];
	bool drop_rep = z->mnemonic == ZYDIS_MNEMONIC_TZCNT || z->mnemonic == ZYDIS_MNEMONIC_LZCNT;
	unsigned npfx = keep_prefixes(g, pfx, drop_rep);
	analyse(g, &rw);
	xl_stats.ident++;
	if (rw.has_modrm_mem) {
		unsigned m = z->raw.modrm.offset;
		unsigned imm = z->raw.imm[0].size ? z->raw.imm[0].offset : z->length;
		emit_with_mem(x, g, pfx, npfx, g->bytes + g->opc, m - g->opc, modrm_reg_host(g),
			      rw.high8, g->bytes + imm, z->length - imm);
		return;
	}
	if (rw.rex && rw.high8 && !rw.mem_access)
		return translate_ident_swap_esp(x, g, &rw, pfx, npfx);
	/* register-only or implicit/moffs memory: prefixes + REX + bytes as they are */
	if (rw.mem_access) {
		if (g->seg == S_FS || g->seg == S_GS || g->a16 || (x->mode & XM_NONFLAT)) {
			emit_reason_exit(x, g->eip, EXIT_EMULATE, 0);  /* rare: monitor does it */
			return;
		}
		e8(&x->b, 0x65);
		e8(&x->b, 0x67);
	}
	ebytes(&x->b, pfx, npfx);
	if (rw.rex) e8(&x->b, rw.rex);
	ebytes(&x->b, g->bytes + g->opc, z->length - g->opc);
}

/* XLAT with fs:/gs: or non-flat DS: AL = [seg: EBX + AL] through the EA path. */
static void translate_xlat(struct xl_ctx *x, const struct ginsn *g)
{
	int seg = g->seg >= 0 ? g->seg : S_DS;
	emit_rr(&x->b, 0, OP_MOVZX8, 2, H_R14, H_RAX);          /* r14d = al */
	emit_lea32(&x->b, H_R14, H_RBX, H_R14, 0);
	if (g->a16)
		emit_rr(&x->b, 0, OP_MOVZX16, 2, H_R14, H_R14);
	emit_limit_check(x, g->eip, H_R14, seg, 1, false);
	emit_add_segbase(x, H_R14, seg);
	emit_mem(&x->b, EM_GUEST, OP_MOV_LD8, 1, H_RAX, H_R14, -1, 0, 0);   /* mov al, [r14d] */
	xl_stats.lowered++;
}

/*
 * BT/BTS/BTR/BTC m, r on the lowered path (16-bit addressing, checked segments): the
 * operand is the word/dword at EA + (signed bit offset >> 4 or 5) * size, wrapped to the
 * address size, and the segment check applies to that address, not to EA.  The address
 * arithmetic clobbers flags, so it runs between PUSHFQ and POPFQ; the bit test itself is
 * the host instruction on [r14] with the bit number in r9.
 */
static unsigned opsz(const struct ginsn *g);

static void translate_bt_reg(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t pushf[] = {0x9C}, popf[] = {0x9D}, movsx16[] = {0x0F, 0xBF};
	static const uint8_t sar[] = {0xC1}, and_imm[] = {0x83};
	unsigned sz = opsz(g), f16 = sz == 2 ? EM_O16 : 0;
	int bitreg = hreg(g->z.raw.modrm.reg);
	uint8_t op[2] = {0x0F, g->bytes[g->opc + 1]};

	ebytes(&x->b, pushf, 1);
	emit_offset(x, g, H_R14, 0);
	if (sz == 2) emit_rr(&x->b, 0, movsx16, 2, H_R9, bitreg);     /* movsx r9d, r16 */
	else emit_rr(&x->b, 0, OP_MOV_ST, 1, bitreg, H_R9);            /* mov r9d, r32 */
	emit_rr(&x->b, 0, sar, 1, 7, H_R9); e8(&x->b, sz == 2 ? 4 : 5); /* sar r9d, 4|5 */
	emit_mem(&x->b, 0, OP_LEA, 1, H_R14, H_R14, H_R9, (int)sz, 0);
	if (g->a16) emit_rr(&x->b, 0, OP_MOVZX16, 2, H_R14, H_R14);
	emit_rr(&x->b, 0, OP_MOV_ST, 1, bitreg, H_R9);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R9); e8(&x->b, (uint8_t)(sz * 8 - 1));
	ebytes(&x->b, popf, 1);
	emit_seg_apply(x, g, H_R14);
	emit_mem(&x->b, EM_GUEST | f16, op, 2, H_R9, H_R14, -1, 0, 0);
	xl_stats.lowered++;
}

/* INC/DEC r32 short forms (0x40-0x4F) are REX in 64-bit mode: use FF /0, FF /1. */
static void translate_incdec(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	int r = hreg(op & 7);
	if (g->o16) e8(&x->b, 0x66);
	if (r & 8) e8(&x->b, 0x41);
	e8(&x->b, 0xFF);
	e8(&x->b, (uint8_t)(0xC0 | ((op & 8) ? 0x08 : 0) | (r & 7)));
	xl_stats.lowered++;
}

/* ---- stack ------------------------------------------------------------------------ */

/*
 * A stack access [base + disp] (SS): flat segments use gs:[base+disp] directly; in non-flat
 * mode the offset goes through r9 with the SS limit check and SS base.  An immediate, if
 * any, is appended by the caller.  Uses r8-r11.
 */
static void emit_stack_mem(struct xl_ctx *x, unsigned flags, const uint8_t *op, int reg,
			   int base, int32_t disp, unsigned size, bool write)
{
	if (!(x->mode & XM_NONFLAT)) {
		emit_mem(&x->b, EM_GUEST | flags, op, 1, reg, base, -1, 0, disp);
		return;
	}
	emit_lea32(&x->b, H_R9, base, -1, disp);
	emit_limit_check(x, x->imap[x->n].eip, H_R9, S_SS, size, write);
	emit_add_segbase(x, H_R9, S_SS);
	emit_mem(&x->b, EM_GUEST | flags, op, 1, reg, H_R9, -1, 0, 0);
}

static unsigned opsz(const struct ginsn *g) { return g->o16 ? 2 : 4; }

/* mov gs:[r12d - size + adj], reg */
static void emit_push_reg(struct xl_ctx *x, int hr, unsigned size)
{
	emit_stack_mem(x, size == 2 ? EM_O16 : 0, OP_MOV_ST, hr, H_R12, -(int32_t)size, size, true);
	emit_lea32(&x->b, H_R12, H_R12, -1, -(int32_t)size);
}

static void emit_push_imm(struct xl_ctx *x, uint32_t imm, unsigned size)
{
	emit_stack_mem(x, size == 2 ? EM_O16 : 0, OP_MOV_IMM, 0, H_R12, -(int32_t)size, size, true);
	if (size == 2) e16(&x->b, (uint16_t)imm); else e32(&x->b, imm);
	emit_lea32(&x->b, H_R12, H_R12, -1, -(int32_t)size);
}

/* Load the guest ModRM operand (register or memory) into host r14 (size 2 or 4). */
static void emit_load_rm(struct xl_ctx *x, const struct ginsn *g, unsigned size)
{
	if (g->z.raw.modrm.mod == 3) {
		emit_rr(&x->b, size == 2 ? EM_O16 : 0, OP_MOV_ST, 1, hreg(g->z.raw.modrm.rm), H_R14);
		return;
	}
	uint8_t pfx[1] = {0x66};
	emit_with_mem(x, g, pfx, size == 2 ? 1 : 0, OP_MOV_LD, 1, H_R14, false, NULL, 0);
}

static void translate_push(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	unsigned size = opsz(g);
	xl_stats.lowered++;
	if (op >= 0x50 && op <= 0x57) {
		emit_push_reg(x, hreg(op & 7), size);
	} else if (op == 0x68 || op == 0x6A) {
		emit_push_imm(x, (uint32_t)g->z.raw.imm[0].value.s, size);
	} else {                                                /* FF /6 */
		emit_load_rm(x, g, size);
		emit_push_reg(x, H_R14, size);
	}
}

/* PUSHA/PUSHAD (flat stack only): eight stores below ESP (ESP's slot gets the value before
 * the instruction), then ESP moves.  A fault on a store leaves ESP and every register as
 * they were, so the instruction simply restarts. */
static void translate_pusha(struct xl_ctx *x, const struct ginsn *g)
{
	unsigned size = opsz(g), f16 = size == 2 ? EM_O16 : 0;
	xl_stats.lowered++;
	for (int i = 0; i < 8; i++)
		emit_stack_mem(x, f16, OP_MOV_ST, hreg(i), H_R12, -(int32_t)(size * (unsigned)(i + 1)), size, true);
	emit_lea32(&x->b, H_R12, H_R12, -1, -(int32_t)(8 * size));
}

/* POPA/POPAD (flat stack only): EAX's slot, the highest, is loaded first into r14 and EDI's,
 * the lowest, next: both ends of the frame are touched before any other guest register
 * changes, so a fault (the frame can span two pages) leaves the state as it was. */
static void translate_popa(struct xl_ctx *x, const struct ginsn *g)
{
	unsigned size = opsz(g), f16 = size == 2 ? EM_O16 : 0;
	xl_stats.lowered++;
	emit_stack_mem(x, f16, OP_MOV_LD, H_R14, H_R12, (int32_t)(7 * size), size, false);
	for (int i = R_EDI; i >= R_ECX; i--)
		if (i != R_ESP)
			emit_stack_mem(x, f16, OP_MOV_LD, hreg(i), H_R12, (int32_t)((unsigned)(7 - i) * size), size, false);
	emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, hreg(R_EAX));
	emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)(8 * size));
}

/* PUSH Sreg: the selector comes from the vCPU (the monitor keeps it current), zero-extended
 * to 4 bytes with a 32-bit operand size, as insn_stack.c does. */
static void translate_push_sreg(struct xl_ctx *x, const struct ginsn *g)
{
	int s = g->op[0].reg.value - ZYDIS_REGISTER_ES;
	int32_t off = (int32_t)(offsetof(struct vcpu, seg) + (size_t)s * sizeof(struct seg) +
				offsetof(struct seg, sel));
	xl_stats.lowered++;
	emit_mem(&x->b, 0, OP_MOVZX16, 2, H_R14, H_R13, -1, 0, off);
	emit_push_reg(x, H_R14, opsz(g));
}

/* ---- segment-register loads in kernel code: a descriptor cache per site ------------ */
/*
 * A kernel's trap entry and exit load DS/ES/FS/GS on every system call and interrupt
 * (MOV Sreg from a register, POP Sreg); as monitor calls these were 8 of the 10 exits of a
 * null system call.  At CPL 0 in protected mode such a site is translated inline against a
 * one-entry cache (struct xl_sreg_slot) filled by the monitor after it emulated the site
 * once: if the selector equals the cached one, lies inside the current GDT limit, and the
 * 8 bytes now in the GDT equal the cached descriptor (read through the window, exactly as
 * the CPU reads them, so a guest that edits its GDT or reloads GDTR is seen at once), the
 * cached hidden part is stored and the block goes on.  Anything else - LDT or null
 * selectors, other CPLs, a descriptor that changed, a segment that would turn a flat block
 * non-flat - leaves through the monitor as before, which refills the slot.
 *
 * The outcome of loading (selector, descriptor) into a data segment register at CPL 0
 * depends on nothing else, so a slot can be shared or reused freely: the pool wraps.
 * The inline code uses host flags, so it saves the guest's (pushfq) first; the XI_PUSHF
 * fixup tells the signal handler where they are if the GDT read faults.
 */
struct xl_sreg_slot {
	uint32_t sel;        /* 0x00 cached selector, ~0 = empty */
	uint32_t idx;        /* 0x04 sel & ~7 */
	uint32_t idx7;       /* 0x08 idx + 7, the last descriptor byte (GDT limit check) */
	uint32_t flat;       /* 0x0c base 0, 4 GiB, writable expand-up data */
	uint64_t raw;        /* 0x10 the descriptor as it is in the GDT (accessed bit set) */
	struct seg seg;      /* 0x18 hidden part to load */
	uint32_t lo;         /* 0x24 seg_lo */
	uint64_t end_r;      /* 0x28 seg_end_r */
	uint64_t end_w;      /* 0x30 seg_end_w */
};
_Static_assert(offsetof(struct xl_sreg_slot, seg) == 0x18 && offsetof(struct xl_sreg_slot, end_w) == 0x30,
	       "xl_sreg_slot layout");
#define SREG_SLOTS 4096u
static struct xl_sreg_slot sreg_slot[SREG_SLOTS];
static unsigned sreg_next;

/* Reads of what the CPU just read successfully, with no side effect on the exception
 * state (a fault here is only "do not cache"). */
struct exc_state { int vec, has; uint32_t err; };
static struct exc_state exc_save(const struct vcpu *c)
{
	return (struct exc_state){ c->exc_vector, c->exc_has_error, c->exc_error };
}
static void exc_restore(struct vcpu *c, struct exc_state e)
{
	c->exc_vector = e.vec, c->exc_has_error = e.has, c->exc_error = e.err;
}

static bool quiet_read(struct vcpu *c, gla_t la, void *buf, unsigned n)
{
	struct exc_state e = exc_save(c);
	int r = emu_lin_read(c, la, buf, n);
	exc_restore(c, e);
	return r == 0;
}

/* The GDT descriptor of sel now, if it gives exactly the hidden part `want`. */
static bool quiet_desc(struct vcpu *c, uint16_t sel, uint64_t *raw, const struct seg *want)
{
	struct seg chk;
	struct exc_state e = exc_save(c);
	int r = emu_desc_fetch(c, sel, raw);
	exc_restore(c, e);
	if (r != 0 || (sel & 4))
		return false;
	emu_desc_to_seg(*raw, sel, &chk);
	return chk.attr == want->attr && chk.base == want->base && chk.limit == want->limit;
}

void xl_sreg_fill(struct vcpu *c, uint32_t info)
{
	uint32_t i = info - XL_INFO_SREG, sreg = i >> 12;
	struct xl_sreg_slot *sl = &sreg_slot[i & (SREG_SLOTS - 1)];
	const struct seg *sg = &c->seg[sreg];
	uint64_t raw;
	if (sreg >= S_NR || c->cpl != 0 || !(c->cr0 & CR0_PE) || (c->eflags & FL_VM) ||
	    !(sg->sel & 0xFFFC) || !quiet_desc(c, sg->sel, &raw, sg))
		return;                      /* not what a load of this selector gives now */
	sl->sel = ~0u;
	sl->idx = sg->sel & ~7u;
	sl->idx7 = sl->idx + 7;
	sl->raw = raw;
	sl->seg = *sg;
	seg_ranges(sg, &sl->lo, &sl->end_r, &sl->end_w);
	sl->flat = sg->base == 0 && sl->lo == 0 && sl->end_r == (1ull << 32) && sl->end_w == (1ull << 32);
	sl->sel = sg->sel;
	xl_stats.sreg_fills++;
}

/* Is g a MOV Sreg, r16 / POP Sreg this path handles in the current mode? */
static bool sreg_fast_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	if ((x->mode & (XM_PROT | XM_CPL_MASK | XM_SINGLE)) != XM_PROT)
		return false;
	const ZydisDecodedInstruction *z = &g->z;
	int s;
	if (z->mnemonic == ZYDIS_MNEMONIC_MOV && g->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    g->op[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    ZydisRegisterGetClass(g->op[0].reg.value) == ZYDIS_REGCLASS_SEGMENT)
		s = g->op[0].reg.value - ZYDIS_REGISTER_ES;
	else if (z->mnemonic == ZYDIS_MNEMONIC_POP && !(x->mode & XM_NONFLAT) && !g->a16 &&
		 g->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		 ZydisRegisterGetClass(g->op[0].reg.value) == ZYDIS_REGCLASS_SEGMENT)
		s = g->op[0].reg.value - ZYDIS_REGISTER_ES;
	else
		return false;
	return s == S_DS || s == S_ES || s == S_FS || s == S_GS;
}

static void translate_sreg_fast(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t pushf[] = {0x9C}, popf[] = {0x9D}, cmp_ld[] = {0x3B}, add_ld[] = {0x03};
	static const uint8_t cmp_imm8[] = {0x83};
	struct xbuf *b = &x->b;
	int s = g->op[0].reg.value - ZYDIS_REGISTER_ES;
	bool pop = g->z.mnemonic == ZYDIS_MNEMONIC_POP;
	unsigned slot = sreg_next++ & (SREG_SLOTS - 1);
	struct xl_sreg_slot *sl = &sreg_slot[slot];
	sl->sel = ~0u;
	x->imap[x->n].fix |= XI_PUSHF;
	xl_stats.sreg_sites++;

	ebytes(b, pushf, 1);
	if (pop)                                                 /* movzx r14d, word gs:[r12d] */
		emit_mem(b, EM_GUEST, OP_MOVZX16, 2, H_R14, H_R12, -1, 0, 0);
	else
		emit_rr(b, 0, OP_MOVZX16, 2, H_R14, hreg(gpr_of(g->op[1].reg.value)));
	emit_mov_imm64(b, H_R9, (uint64_t)(uintptr_t)sl);
	uint8_t *miss[4];
	unsigned nmiss = 0;
	emit_mem(b, 0, cmp_ld, 1, H_R14, H_R9, -1, 0, 0x00);     /* selector */
	e8(b, 0x0F); e8(b, 0x85); miss[nmiss++] = b->p; e32(b, 0);        /* jne */
	emit_mem(b, 0, OP_MOVZX16, 2, H_R10, H_R13, -1, 0,
		 (int32_t)(offsetof(struct vcpu, gdtr) + offsetof(struct dtr, limit)));
	emit_mem(b, 0, cmp_ld, 1, H_R10, H_R9, -1, 0, 0x08);     /* limit >= idx + 7 */
	e8(b, 0x0F); e8(b, 0x82); miss[nmiss++] = b->p; e32(b, 0);        /* jb */
	emit_vcpu_load(b, H_R10, (int)(offsetof(struct vcpu, gdtr) + offsetof(struct dtr, base)), 0);
	emit_mem(b, 0, add_ld, 1, H_R10, H_R9, -1, 0, 0x04);     /* + idx, 32-bit wrap */
	emit_mem(b, EM_GUEST | EM_W, OP_MOV_LD, 1, H_R10, H_R10, -1, 0, 0);   /* the GDT now */
	emit_mem(b, EM_W, cmp_ld, 1, H_R10, H_R9, -1, 0, 0x10);
	e8(b, 0x0F); e8(b, 0x85); miss[nmiss++] = b->p; e32(b, 0);        /* jne */
	if ((s == S_DS || s == S_ES) && !(x->mode & XM_NONFLAT)) {
		emit_mem(b, 0, cmp_imm8, 1, 7, H_R9, -1, 0, 0x0c); e8(b, 0);   /* cmp flat, 0 */
		e8(b, 0x0F); e8(b, 0x84); miss[nmiss++] = b->p; e32(b, 0);    /* je */
	}
	int32_t seg_off = (int32_t)(offsetof(struct vcpu, seg) + (size_t)s * sizeof(struct seg));
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R10, H_R9, -1, 0, 0x18);
	emit_vcpu_store(b, seg_off, H_R10, 1);
	emit_mem(b, 0, OP_MOV_LD, 1, H_R10, H_R9, -1, 0, 0x20);
	emit_vcpu_store(b, seg_off + 8, H_R10, 0);
	emit_mem(b, 0, OP_MOV_LD, 1, H_R10, H_R9, -1, 0, 0x1c);  /* seg.base */
	emit_vcpu_store(b, VC_SEG_BASE + 4 * s, H_R10, 0);
	emit_mem(b, 0, OP_MOV_LD, 1, H_R10, H_R9, -1, 0, 0x24);
	emit_vcpu_store(b, VC_SEG_LO + 4 * s, H_R10, 0);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R10, H_R9, -1, 0, 0x28);
	emit_vcpu_store(b, VC_SEG_END_R + 8 * s, H_R10, 1);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R10, H_R9, -1, 0, 0x30);
	emit_vcpu_store(b, VC_SEG_END_W + 8 * s, H_R10, 1);
	ebytes(b, popf, 1);
	if (pop)
		emit_lea32(b, H_R12, H_R12, -1, (int32_t)opsz(g));
	e8(b, 0xE9); uint8_t *done = b->p; e32(b, 0);
	for (unsigned i = 0; i < nmiss; i++)
		patch_rel32(miss[i], b->p);
	ebytes(b, popf, 1);                                      /* miss: the monitor runs it */
	emit_vcpu_imm32(b, VC_EIP, g->eip);
	emit_vcpu_imm32(b, VC_EXIT_INFO, XL_INFO_SREG + ((uint32_t)s << 12) + slot);
	emit_vcpu_imm32(b, VC_EXIT_REASON, EXIT_EMULATE);
	emit_jmp32(b, cc_exit_thunk());
	patch_rel32(done, b->p);
}

/* ---- INT n from CPL 3 and IRET to CPL 3 without the monitor --------------------------- */
/*
 * A system call is INT 0x80 from user mode, then IRET back; as monitor calls they were the
 * last two exits of a null system call.  Like the segment loads above, each such site in
 * paged, flat protected-mode code is translated inline against a one-entry cache
 * (struct xl_ring_slot) that the monitor fills after running the site once:
 *
 * INT n at CPL 3: the cached IDT gate, the handler's code descriptor, TR, SS0 and the stack
 * descriptor are compared with the bytes in memory now (read through the supervisor view of
 * the current page directory, vcpu->win_view[0], as the CPU reads them), ESP0 is read from
 * the TSS, the 5-dword frame is pushed there, and the block switches CPL, CS, SS, GS base
 * (R15) and lookup table, and jumps to the handler through the kernel window's lookup
 * table if its tag says it holds blocks of the kernel's mode.  For a PV guest the pushed IF
 * is the virtual IF, which an interrupt gate clears (pv/abi.h), as the monitor does.
 *
 * IRET at CPL 0 to CPL 3: the frame is read from the kernel stack, the CS and SS selectors
 * and their descriptors must be the cached ones, NT, VM and TF must be clear, and no data
 * segment register may hold a DPL < 3 segment (IRET would null it); then the same switch
 * the other way.  If the new IF is 1 and an interrupt is pending, it leaves for the
 * dispatcher at the new EIP instead.
 *
 * Any difference takes the old path (the monitor runs the instruction and refills the
 * slot).  Every access to guest memory happens before the first change of guest state.  A
 * fault on the kernel view from user mode is a shadow fill of that window like any other
 * (smmu_fault finds the window by address); anything a fill cannot fix - a guest page
 * fault, a traced or code page - sends the site to the monitor (XI_FASTRING), which runs
 * the instruction with the architecture's full checks.
 */
struct xl_ring_slot {
	uint64_t gate_raw;    /* 0x00 INT: the IDT entry */
	uint64_t cs_raw;      /* 0x08 descriptor of the new CS */
	uint64_t ss_raw;      /* 0x10 descriptor of the new SS */
	uint64_t tr_key;      /* 0x18 INT: vcpu->tr's selector, attributes and base */
	uint32_t tr_limit;    /* 0x20 INT */
	uint32_t idt7;        /* 0x24 INT: 8n + 7 */
	uint32_t cs_idx, cs_idx7, ss_idx, ss_idx7;   /* 0x28 GDT offsets, last byte */
	uint32_t cs_sel;      /* 0x38 IRET: the CS selector in the frame */
	uint32_t ss_sel;      /* 0x3c INT: SS0 in the TSS; IRET: SS in the frame */
	uint32_t target;      /* 0x40 INT: handler EIP */
	uint32_t int_gate;    /* 0x44 INT: interrupt gate (clears IF) */
	struct seg cs;        /* 0x48 */
	struct seg ss;        /* 0x54 */
	uint32_t valid;       /* 0x60 */
	uint32_t vector;      /* 0x64 INT: n */
	uint64_t cs_end_r, cs_end_w, ss_end_r, ss_end_w;   /* 0x68 */
	uint64_t tag;         /* 0x88 CC_LK_TAG of the mode after the switch */
};
_Static_assert(offsetof(struct xl_ring_slot, cs) == 0x48 && offsetof(struct xl_ring_slot, valid) == 0x60 &&
	       offsetof(struct xl_ring_slot, cs_end_r) == 0x68 && offsetof(struct xl_ring_slot, tag) == 0x88,
	       "xl_ring_slot layout");
#define RING_SLOTS 1024u
static struct xl_ring_slot ring_slot[RING_SLOTS];
static unsigned ring_next;

#define VCO(f) ((int32_t)offsetof(struct vcpu, f))
#define SEGO(s, f) ((int32_t)(offsetof(struct vcpu, seg) + (size_t)(s) * sizeof(struct seg) + offsetof(struct seg, f)))

static uint8_t *jcc32(struct xbuf *b, uint8_t cc)
{
	e8(b, 0x0F); e8(b, (uint8_t)(0x80 | cc));
	uint8_t *r = b->p;
	e32(b, 0);
	return r;
}
enum { CC_B = 2, CC_E = 4, CC_NE = 5 };
static const uint8_t OP_CMP_LD[] = {0x3B}, OP_ADD_LD[] = {0x03}, OP_GRP1_IMM[] = {0x81};
static const uint8_t OP_TEST_IMM[] = {0xF7}, OP_TEST_RR[] = {0x85}, OP_OR_RR[] = {0x09};
static const uint8_t OP_CMP_IMM8[] = {0x83};

/* r = slot field at off compared with r (cmp r, [r9+off]) */
static void cmp_slot(struct xbuf *b, unsigned w, int r, int off)
{
	emit_mem(b, w ? EM_W : 0, OP_CMP_LD, 1, r, H_R9, -1, 0, off);
}

/* wrgsbase r; mov r15, r */
static void emit_switch_window(struct xbuf *b, int r)
{
	e8(b, 0xF3); e8(b, (uint8_t)(0x48 | ((r & 8) ? 1 : 0))); e8(b, 0x0F); e8(b, 0xAE);
	e8(b, (uint8_t)(0xD8 | (r & 7)));
	emit_rr(b, EM_W, OP_MOV_ST, 1, r, H_R15);
}

/* CS and SS from the slot: hidden parts, bases (0), ranges, CPL */
static void emit_ring_commit_segs(struct xbuf *b, int cpl)
{
	emit_vcpu_imm32(b, VCO(cpl), (uint32_t)cpl);
	static const int segs[2] = {S_CS, S_SS};
	for (int i = 0; i < 2; i++) {
		int s = segs[i], so = 0x48 + 12 * i;
		emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, so);
		emit_vcpu_store(b, SEGO(s, sel), H_R11, 1);
		emit_mem(b, 0, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, so + 8);
		emit_vcpu_store(b, SEGO(s, limit), H_R11, 0);
		emit_vcpu_imm32(b, VC_SEG_BASE + 4 * s, 0);
		emit_vcpu_imm32(b, VC_SEG_LO + 4 * s, 0);
		emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, 0x68 + 16 * i);
		emit_vcpu_store(b, VC_SEG_END_R + 8 * s, H_R11, 1);
		emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, 0x70 + 16 * i);
		emit_vcpu_store(b, VC_SEG_END_W + 8 * s, H_R11, 1);
	}
}

/* Common head: pushfq, r9 = slot, slot valid, view v's window in r10 and its table tagged. */
static void emit_ring_head(struct xl_ctx *x, struct xl_ring_slot *sl, unsigned slot, int view,
			   uint8_t **miss, unsigned *nm)
{
	struct xbuf *b = &x->b;
	emit_vcpu_imm32(b, VC_EXIT_INFO, XL_INFO_RING + slot);   /* for the signal handler */
	ebytes(b, OP_PUSHF, 1);
	emit_mov_imm64(b, H_R9, (uint64_t)(uintptr_t)sl);
	emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R9, -1, 0, 0x60); e8(b, 1);
	miss[(*nm)++] = jcc32(b, CC_NE);
	emit_vcpu_load(b, H_R10, VCO(win_view[view]), 1);
	emit_rr(b, EM_W, OP_TEST_RR, 1, H_R10, H_R10);
	miss[(*nm)++] = jcc32(b, CC_E);
	emit_vcpu_load(b, H_R11, VCO(lk_view[view]), 1);
	emit_rr(b, EM_W, OP_TEST_RR, 1, H_R11, H_R11);
	miss[(*nm)++] = jcc32(b, CC_E);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R11, -1, 0, (int32_t)offsetof(struct cc_lookup, tag));
	cmp_slot(b, 1, H_R11, 0x88);
	miss[(*nm)++] = jcc32(b, CC_NE);
}

/* GDT limit and descriptor checks of the slot's CS and SS, reading through window register wr
 * (r10 with an explicit base, or -1 for the running window through GS). */
static void emit_ring_gdt_checks(struct xbuf *b, int wr, uint8_t **miss, unsigned *nm)
{
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, VCO(gdtr.limit));
	cmp_slot(b, 0, H_R8, 0x2c);
	miss[(*nm)++] = jcc32(b, CC_B);
	cmp_slot(b, 0, H_R8, 0x34);
	miss[(*nm)++] = jcc32(b, CC_B);
	for (int i = 0; i < 2; i++) {
		emit_vcpu_load(b, H_R8, VCO(gdtr.base), 0);
		emit_mem(b, 0, OP_ADD_LD, 1, H_R8, H_R9, -1, 0, i ? 0x30 : 0x28);
		if (wr >= 0)
			emit_mem(b, EM_W, OP_MOV_LD, 1, H_R8, wr, H_R8, 1, 0);
		else
			emit_mem(b, EM_GUEST | EM_W, OP_MOV_LD, 1, H_R8, H_R8, -1, 0, 0);
		cmp_slot(b, 1, H_R8, i ? 0x10 : 0x08);
		miss[(*nm)++] = jcc32(b, CC_NE);
	}
}

/* The slow path of a ring site: restore flags, let the monitor run it and refill the slot. */
static void emit_ring_miss(struct xl_ctx *x, const struct ginsn *g, unsigned slot, uint8_t **miss, unsigned nm)
{
	struct xbuf *b = &x->b;
	for (unsigned i = 0; i < nm; i++)
		patch_rel32(miss[i], b->p);
	ebytes(b, OP_POPF, 1);
	emit_vcpu_imm32(b, VC_EIP, g->eip);
	emit_vcpu_imm32(b, VC_EXIT_INFO, XL_INFO_RING + slot);
	emit_vcpu_imm32(b, VC_EXIT_REASON, EXIT_EMULATE);
	emit_jmp32(b, cc_exit_thunk());
	x->ended = true;
}

static struct xl_ring_slot *ring_slot_new(unsigned *idx, uint64_t tag)
{
	*idx = ring_next++ & (RING_SLOTS - 1);
	struct xl_ring_slot *sl = &ring_slot[*idx];
	memset(sl, 0, sizeof(*sl));
	sl->tag = tag;
	xl_stats.ring_sites++;
	return sl;
}

static bool ring_fast_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	uint32_t m = x->mode;
	if ((m & (XM_PROT | XM_PG | XM_SINGLE | XM_NONFLAT)) != (XM_PROT | XM_PG) || g->o16 || g->a16)
		return false;
	if (g->z.mnemonic == ZYDIS_MNEMONIC_INT && g->bytes[g->opc] == 0xCD)
		return (m & XM_CPL_MASK) == 3;
	if (g->z.mnemonic == ZYDIS_MNEMONIC_IRETD)
		return (m & XM_CPL_MASK) == 0;
	return false;
}

static void translate_int_fast(struct xl_ctx *x, const struct ginsn *g)
{
	struct xbuf *b = &x->b;
	uint32_t n = (uint32_t)g->z.raw.imm[0].value.u & 0xFF, next = g->eip + g->z.length;
	uint32_t kmode = x->mode & (XM_PROT | XM_PG | XM_TS | XM_EM | XM_MP);
	unsigned slot;
	struct xl_ring_slot *sl = ring_slot_new(&slot, CC_LK_TAG(kmode, 0));
	uint8_t *miss[24];
	unsigned nm = 0;
	bool pv = emu_pv != NULL;
	sl->vector = n;
	x->imap[x->n].fix |= XI_PUSHF | XI_FASTRING;

	emit_ring_head(x, sl, slot, 0, miss, &nm);
	emit_mem(b, 0, OP_TEST_IMM, 1, 0, H_R13, -1, 0, VC_EFLAGS); e32(b, FL_TF);
	miss[nm++] = jcc32(b, CC_NE);
	if (pv) {
		emit_vcpu_load(b, H_R11, VCO(pv_vif), 1);
		emit_rr(b, EM_W, OP_TEST_RR, 1, H_R11, H_R11);
		miss[nm++] = jcc32(b, CC_E);
	}
	/* IDT entry n */
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, VCO(idtr.limit));
	cmp_slot(b, 0, H_R8, 0x24);
	miss[nm++] = jcc32(b, CC_B);
	emit_vcpu_load(b, H_R8, VCO(idtr.base), 0);
	emit_lea32(b, H_R8, H_R8, -1, (int32_t)(8 * n));
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R8, H_R10, H_R8, 1, 0);
	cmp_slot(b, 1, H_R8, 0x00);
	miss[nm++] = jcc32(b, CC_NE);
	/* TR unchanged since the fill */
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R8, H_R13, -1, 0, VCO(tr));
	cmp_slot(b, 1, H_R8, 0x18);
	miss[nm++] = jcc32(b, CC_NE);
	emit_vcpu_load(b, H_R8, VCO(tr.limit), 0);
	cmp_slot(b, 0, H_R8, 0x20);
	miss[nm++] = jcc32(b, CC_NE);
	emit_ring_gdt_checks(b, H_R10, miss, &nm);
	/* SS0 and ESP0 from the TSS */
	emit_vcpu_load(b, H_R8, VCO(tr.base), 0);
	emit_lea32(b, H_R8, H_R8, -1, 8);
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R10, H_R8, 1, 0);
	cmp_slot(b, 0, H_R8, 0x3c);
	miss[nm++] = jcc32(b, CC_NE);
	emit_vcpu_load(b, H_R8, VCO(tr.base), 0);
	emit_lea32(b, H_R8, H_R8, -1, 4);
	emit_mem(b, 0, OP_MOV_LD, 1, H_R14, H_R10, H_R8, 1, 0);         /* r14d = ESP0 */
	emit_rr(b, 0, OP_GRP1_IMM, 1, 7, H_R14); e32(b, 20);              /* cmp r14d, 20 */
	miss[nm++] = jcc32(b, CC_B);
	/* the frame: SS, ESP, EFLAGS, CS, EIP below ESP0 */
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, SEGO(S_SS, sel));
	emit_mem(b, 0, OP_MOV_ST, 1, H_R8, H_R10, H_R14, 1, -4);
	emit_mem(b, 0, OP_MOV_ST, 1, H_R12, H_R10, H_R14, 1, -8);
	emit_vcpu_load(b, H_R8, VC_EFLAGS, 0);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R8); e32(b, ~(uint32_t)FL_HOST);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_RSP, -1, 0, 0);       /* guest flags pushed */
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R11); e32(b, FL_HOST);
	emit_rr(b, 0, OP_OR_RR, 1, H_R11, H_R8);
	if (pv) {                                       /* pushed IF = virtual IF */
		emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R8); e32(b, ~(uint32_t)FL_IF);
		emit_vcpu_load(b, H_R11, VCO(pv_vif), 1);
		emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R11, -1, 0, 0); e8(b, 0);
		e8(b, 0x74); uint8_t *z = b->p; e8(b, 0);                  /* je: vif 0 */
		emit_rr(b, 0, OP_GRP1_IMM, 1, 1, H_R8); e32(b, FL_IF);
		*z = (uint8_t)(b->p - z - 1);
	}
	emit_mem(b, 0, OP_MOV_ST, 1, H_R8, H_R10, H_R14, 1, -12);
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, SEGO(S_CS, sel));
	emit_mem(b, 0, OP_MOV_ST, 1, H_R8, H_R10, H_R14, 1, -16);
	emit_mem(b, 0, OP_MOV_IMM, 1, 0, H_R10, H_R14, 1, -20); e32(b, next);
	/* commit */
	emit_vcpu_load(b, H_R8, VC_EFLAGS, 0);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R8); e32(b, ~(uint32_t)(FL_TF | FL_NT | FL_RF | FL_VM));
	emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R9, -1, 0, 0x44); e8(b, 0);
	e8(b, 0x74); uint8_t *tg = b->p; e8(b, 0);                          /* je: trap gate */
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R8); e32(b, ~(uint32_t)FL_IF);
	if (pv) {
		emit_vcpu_load(b, H_R11, VCO(pv_vif), 1);
		emit_mem(b, 0, OP_MOV_IMM, 1, 0, H_R11, -1, 0, 0); e32(b, 0);
	}
	*tg = (uint8_t)(b->p - tg - 1);
	emit_vcpu_store(b, VC_EFLAGS, H_R8, 0);
	emit_lea32(b, H_R12, H_R14, -1, -20);
	emit_ring_commit_segs(b, 0);
	emit_vcpu_load(b, H_R11, VCO(lk_view[0]), 1);
	emit_vcpu_store(b, VC_LOOKUP, H_R11, 1);
	emit_switch_window(b, H_R10);
	ebytes(b, OP_POPF, 1);
	emit_mem(b, 0, OP_MOV_LD, 1, H_R14, H_R9, -1, 0, 0x40);
	emit_lookup_probe(b);
	emit_ring_miss(x, g, slot, miss, nm);
}

static void translate_iret_fast(struct xl_ctx *x, const struct ginsn *g)
{
	struct xbuf *b = &x->b;
	uint32_t umode = (x->mode & (XM_PROT | XM_PG | XM_TS | XM_EM | XM_MP)) | 3;
	unsigned slot;
	struct xl_ring_slot *sl = ring_slot_new(&slot, CC_LK_TAG(umode, 0));
	uint8_t *miss[24];
	unsigned nm = 0;
	x->imap[x->n].fix |= XI_PUSHF | XI_FASTRING;

	emit_ring_head(x, sl, slot, 1, miss, &nm);
	emit_mem(b, 0, OP_TEST_IMM, 1, 0, H_R13, -1, 0, VC_EFLAGS); e32(b, FL_NT);
	miss[nm++] = jcc32(b, CC_NE);
	/* the frame, through the running (kernel) window: faults here are the guest's */
	emit_mem(b, EM_GUEST, OP_MOVZX16, 2, H_R8, H_R12, -1, 0, 4);
	cmp_slot(b, 0, H_R8, 0x38);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, EM_GUEST, OP_MOVZX16, 2, H_R8, H_R12, -1, 0, 16);
	cmp_slot(b, 0, H_R8, 0x3c);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R8, H_R12, -1, 0, 12);        /* new ESP */
	emit_vcpu_store(b, VC_SPILL + 16, H_R8, 0);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R8, H_R12, -1, 0, 0);         /* new EIP */
	emit_vcpu_store(b, VC_SPILL + 24, H_R8, 0);
	static const int dsegs[4] = {S_DS, S_ES, S_FS, S_GS};
	for (int i = 0; i < 4; i++) {               /* IRET would null a DPL < 3 data segment */
		emit_mem(b, 0, OP_MOVZX16, 2, H_R11, H_R13, -1, 0, SEGO(dsegs[i], attr));
		emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R11); e32(b, 0xE0);      /* P and DPL */
		emit_rr(b, 0, OP_GRP1_IMM, 1, 7, H_R11); e32(b, 0x80);
		miss[nm++] = jcc32(b, CC_E);
		emit_rr(b, 0, OP_GRP1_IMM, 1, 7, H_R11); e32(b, 0xA0);
		miss[nm++] = jcc32(b, CC_E);
		emit_rr(b, 0, OP_GRP1_IMM, 1, 7, H_R11); e32(b, 0xC0);
		miss[nm++] = jcc32(b, CC_E);
	}
	emit_ring_gdt_checks(b, -1, miss, &nm);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R8, H_R12, -1, 0, 8);         /* EFLAGS, kept in r8d */
	emit_rr(b, 0, OP_TEST_IMM, 1, 0, H_R8); e32(b, FL_VM | FL_TF | FL_NT);
	miss[nm++] = jcc32(b, CC_NE);
	/* commit: EFLAGS as IRET at CPL 0 loads them */
	const uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_RF | FL_AC | FL_ID | FL_IF | FL_IOPL |
			      FL_VIF | FL_VIP;
	emit_rr(b, 0, OP_MOV_ST, 1, H_R8, H_R11);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R11); e32(b, mask);
	emit_vcpu_load(b, H_R14, VC_EFLAGS, 0);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R14); e32(b, ~mask);
	emit_rr(b, 0, OP_OR_RR, 1, H_R11, H_R14);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 1, H_R14); e32(b, FL_FIXED);
	emit_vcpu_store(b, VC_EFLAGS, H_R14, 0);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_RSP, -1, 0, 0);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R11); e32(b, ~(uint32_t)FL_HOST);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R8, H_R14);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R14); e32(b, FL_HOST);
	emit_rr(b, 0, OP_OR_RR, 1, H_R14, H_R11);
	emit_mem(b, EM_W, OP_MOV_ST, 1, H_R11, H_RSP, -1, 0, 0);
	emit_ring_commit_segs(b, 3);
	emit_vcpu_load(b, H_R11, VCO(lk_view[1]), 1);
	emit_vcpu_store(b, VC_LOOKUP, H_R11, 1);
	emit_switch_window(b, H_R10);
	emit_vcpu_load(b, H_R12, VC_SPILL + 16, 0);
	emit_vcpu_load(b, H_R14, VC_SPILL + 24, 0);
	/* IF now 1 with an interrupt pending: the dispatcher delivers it before user code */
	emit_rr(b, 0, OP_TEST_IMM, 1, 0, H_R8); e32(b, FL_IF);
	e8(b, 0x74); uint8_t *noif = b->p; e8(b, 0);
	emit_vcpu_load(b, H_R11, VC_IRQ_PTR, 1);
	emit_mem(b, EM_W, OP_CMP_LD, 1, H_R11, H_R13, -1, 0, VC_REQ_PTR);
	e8(b, 0x74); uint8_t *noirq = b->p; e8(b, 0);
	ebytes(b, OP_POPF, 1);
	emit_vcpu_store(b, VC_EIP, H_R14, 0);
	emit_jmp32(b, cc_miss_stub());
	*noif = (uint8_t)(b->p - noif - 1);
	*noirq = (uint8_t)(b->p - noirq - 1);
	ebytes(b, OP_POPF, 1);
	emit_lookup_probe(b);
	emit_ring_miss(x, g, slot, miss, nm);
}

static void ring_fill_segs(struct xl_ring_slot *sl, const struct vcpu *c)
{
	uint32_t lo;
	sl->cs = c->seg[S_CS];
	sl->ss = c->seg[S_SS];
	seg_ranges(&sl->cs, &lo, &sl->cs_end_r, &sl->cs_end_w);
	seg_ranges(&sl->ss, &lo, &sl->ss_end_r, &sl->ss_end_w);
	sl->cs_idx = c->seg[S_CS].sel & ~7u;
	sl->cs_idx7 = sl->cs_idx + 7;
	sl->ss_idx = c->seg[S_SS].sel & ~7u;
	sl->ss_idx7 = sl->ss_idx + 7;
}

static bool flat_seg(const struct seg *s)
{
	return s->base == 0 && s->limit == 0xFFFFFFFFu && (s->attr & SEGA_DB);
}

/*
 * After the monitor ran ring site `info` (an INT from CPL 3 or an IRET to CPL 3) with the
 * vcpu now on the other side: refill the site's slot from what the CPU just used.
 */
void xl_ring_fill(struct vcpu *c, uint32_t info, int old_cpl, uint32_t old_eip)
{
	struct xl_ring_slot *sl = &ring_slot[(info - XL_INFO_RING) & (RING_SLOTS - 1)];
	sl->valid = 0;
	if (c->regs[R_ESP] < 20 || !(c->cr0 & CR0_PE) || !(c->cr0 & CR0_PG) || (c->eflags & FL_VM) ||
	    !flat_seg(&c->seg[S_CS]) || !flat_seg(&c->seg[S_SS]))
		return;
	if (!quiet_desc(c, c->seg[S_CS].sel, &sl->cs_raw, &c->seg[S_CS]) ||
	    !quiet_desc(c, c->seg[S_SS].sel, &sl->ss_raw, &c->seg[S_SS]))
		return;
	ring_fill_segs(sl, c);
	if (old_cpl == 3 && c->cpl == 0) {               /* INT n */
		/* delivered through the gate from this site (not a fault instead): the frame's
		 * return EIP follows the 2-byte INT imm8 */
		uint32_t frame[5];
		if (c->regs[R_ESP] > 0xFFFFFFFFu - 20 ||
		    !quiet_read(c, c->regs[R_ESP], frame, sizeof(frame)) || frame[0] != old_eip + 2)
			return;
		uint32_t n = sl->vector;
		gla_t ga = c->idtr.base + 8 * n;
		uint16_t ss0;
		if (8 * n + 7 > c->idtr.limit || !quiet_read(c, ga, &sl->gate_raw, 8) ||
		    !quiet_read(c, c->tr.base + 8, &ss0, 2) || ss0 != c->seg[S_SS].sel)
			return;
		unsigned type = (unsigned)(sl->gate_raw >> 40) & 0x1F;
		if (type != 0x0E && type != 0x0F)
			return;
		sl->idt7 = 8 * n + 7;
		sl->int_gate = type == 0x0E;
		sl->target = c->eip;
		memcpy(&sl->tr_key, &c->tr, 8);
		sl->tr_limit = c->tr.limit;
		sl->ss_sel = ss0;
	} else if (old_cpl == 0 && c->cpl == 3) {        /* IRET */
		sl->cs_sel = c->seg[S_CS].sel;
		sl->ss_sel = c->seg[S_SS].sel;
	} else
		return;
	sl->valid = 1;
	xl_stats.ring_fills++;
}

static void translate_pop(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	unsigned size = opsz(g);
	unsigned f16 = size == 2 ? EM_O16 : 0;
	xl_stats.lowered++;
	if (op >= 0x58 && op <= 0x5F && (op & 7) == R_ESP) {
		emit_stack_mem(x, f16, OP_MOV_LD, H_R12, H_R12, 0, size, false);
		return;
	}
	emit_stack_mem(x, f16, OP_MOV_LD, H_R14, H_R12, 0, size, false);
	if (op >= 0x58 && op <= 0x5F) {
		emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)size);
		emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, op & 7);
		return;
	}
	/* 8F /0: the address uses the incremented ESP; store before ESP changes */
	if (g->z.raw.modrm.mod == 3) {
		emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)size);
		emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, hreg(g->z.raw.modrm.rm));
		return;
	}
	/* the address uses the incremented ESP, but nothing may change before the store */
	emit_ea(x, g, H_R9, (int32_t)size);
	emit_mem(&x->b, EM_GUEST | f16, OP_MOV_ST, 1, H_R14, H_R9, -1, 0, 0);
	emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)size);
}

/* LEAVE: ESP = EBP; EBP = pop().  ENTER imm16, 0: push EBP; EBP = ESP; ESP -= imm16. */
static void translate_leave(struct xl_ctx *x, const struct ginsn *g)
{
	unsigned size = opsz(g);
	unsigned f16 = size == 2 ? EM_O16 : 0;
	emit_stack_mem(x, f16, OP_MOV_LD, H_R14, H_RBP, 0, size, false);
	emit_lea32(&x->b, H_R12, H_RBP, -1, (int32_t)size);
	emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, H_RBP);
	xl_stats.lowered++;
}

/* ENTER size, level: every store happens before ESP and EBP change (sz = 2 or 4).
 *   [esp-sz] = ebp; for i in 1..level-1: [esp-sz-sz*i] = [ebp-sz*i];
 *   temp = esp-sz; if level: [esp-sz-sz*level] = temp; (e)bp = temp;
 *   esp = temp - sz*level - size */
static bool translate_enter(struct xl_ctx *x, const struct ginsn *g)
{
	uint32_t frame = (uint32_t)g->z.raw.imm[0].value.u & 0xFFFF;
	unsigned level = (unsigned)g->z.raw.imm[1].value.u & 31;
	int32_t sz = (int32_t)opsz(g);
	unsigned f16 = sz == 2 ? EM_O16 : 0;
	emit_stack_mem(x, f16, OP_MOV_ST, H_RBP, H_R12, -sz, (unsigned)sz, true);
	for (unsigned i = 1; i < level; i++) {
		emit_stack_mem(x, f16, OP_MOV_LD, H_R14, H_RBP, -(int32_t)(sz * (int32_t)i), (unsigned)sz, false);
		emit_stack_mem(x, f16, OP_MOV_ST, H_R14, H_R12, -(sz + sz * (int32_t)i), (unsigned)sz, true);
	}
	emit_lea32(&x->b, H_R14, H_R12, -1, -sz);
	if (level)
		emit_stack_mem(x, f16, OP_MOV_ST, H_R14, H_R12, -(sz + sz * (int32_t)level), (unsigned)sz, true);
	emit_rr(&x->b, f16, OP_MOV_ST, 1, H_R14, H_RBP);
	emit_lea32(&x->b, H_R12, H_R14, -1, -(int32_t)((unsigned)sz * level + frame));
	xl_stats.lowered++;
	return true;
}

/* ---- control transfers ------------------------------------------------------------ */

static gla_t next_eip(const struct ginsn *g) { return g->eip + g->z.length; }

static gla_t rel_target(const struct ginsn *g)
{
	gla_t t = next_eip(g) + (uint32_t)g->z.raw.imm[0].value.s;
	return g->o16 ? (t & 0xFFFF) : t;
}

static void translate_jcc(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	uint8_t cc = (op == 0x0F ? g->bytes[g->opc + 1] : op) & 0xF;
	struct cc_exit *taken = new_exit(x);
	taken->blk = x->blk;
	e8(&x->b, 0x0F);
	e8(&x->b, (uint8_t)(0x80 | cc));
	taken->rel = x->b.p;
	e32(&x->b, 0);
	emit_direct_exit(x, next_eip(g));
	patch_rel32(taken->rel, x->b.p);
	emit_exit_stub(x, taken, rel_target(g));
	xl_stats.direct_exits++;
	x->ended = true;
}

/* LOOP/LOOPE/LOOPNE/JECXZ with ECX (guest 32-bit addressing only).
 *   67 op +5 ; jmp F (patchable) ; jmp T (patchable) ; stub F ; stub T */
static void translate_loop(struct xl_ctx *x, const struct ginsn *g)
{
	e8(&x->b, 0x67);
	e8(&x->b, g->bytes[g->opc]);
	e8(&x->b, 5);
	struct cc_exit *f = new_exit(x), *t = new_exit(x);
	f->blk = t->blk = x->blk;
	f->rel = emit_jmp32(&x->b, x->b.p);
	t->rel = emit_jmp32(&x->b, x->b.p);
	patch_rel32(f->rel, x->b.p);
	emit_exit_stub(x, f, next_eip(g));
	patch_rel32(t->rel, x->b.p);
	emit_exit_stub(x, t, rel_target(g));
	xl_stats.direct_exits += 2;
	x->ended = true;
}

/* The same with a 16-bit counter (0x67): CX is decremented and tested without touching
 * the upper half of ECX or the flags (JRCXZ on a zero-extended copy in RCX).
 *   [lea r14d,[rcx-1]; mov cx,r14w]; mov r11,rcx; movzx ecx,cx; jrcxz zero;
 *   mov rcx,r11; [loope: jnz F | loopne: jz F]; jmp T|F; zero: mov rcx,r11; jmp F|T */
static void translate_loop16(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t movzx_cx[] = {0x0F, 0xB7, 0xC9};
	uint8_t op = g->bytes[g->opc];
	bool jcxz = op == 0xE3;
	struct cc_exit *f = new_exit(x), *t = new_exit(x);
	f->blk = t->blk = x->blk;
	if (!jcxz) {
		emit_lea32(&x->b, H_R14, H_RCX, -1, -1);
		emit_rr(&x->b, EM_O16, OP_MOV_ST, 1, H_R14, H_RCX);
	}
	emit_rr(&x->b, EM_W, OP_MOV_ST, 1, H_RCX, H_R11);
	ebytes(&x->b, movzx_cx, 3);
	e8(&x->b, 0xE3); uint8_t *zero = x->b.p; e8(&x->b, 0);
	emit_rr(&x->b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);
	uint8_t *cond = NULL;
	if (op == 0xE1 || op == 0xE0) {                /* loope: exit if !ZF; loopne: if ZF */
		e8(&x->b, 0x0F); e8(&x->b, op == 0xE1 ? 0x85 : 0x84);
		cond = x->b.p; e32(&x->b, 0);
	}
	uint8_t *nz = emit_jmp32(&x->b, x->b.p);       /* counter != 0 */
	*zero = (uint8_t)(x->b.p - zero - 1);
	emit_rr(&x->b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);
	uint8_t *z = emit_jmp32(&x->b, x->b.p);        /* counter == 0 */
	struct cc_exit *taken_if_nz = jcxz ? f : t, *taken_if_z = jcxz ? t : f;
	taken_if_nz->rel = nz;
	taken_if_z->rel = z;
	patch_rel32(f->rel, x->b.p);
	if (cond) patch_rel32(cond, x->b.p);
	emit_exit_stub(x, f, next_eip(g));
	patch_rel32(t->rel, x->b.p);
	emit_exit_stub(x, t, rel_target(g));
	xl_stats.direct_exits += 2;
	x->ended = true;
}

static void translate_call_rel(struct xl_ctx *x, const struct ginsn *g)
{
	emit_push_imm(x, next_eip(g), 4);
	emit_direct_exit(x, rel_target(g));
	x->ended = true;
	xl_stats.lowered++;
}

static void translate_ret(struct xl_ctx *x, const struct ginsn *g)
{
	uint32_t extra = g->bytes[g->opc] == 0xC2 ? (uint32_t)g->z.raw.imm[0].value.u : 0;
	emit_stack_mem(x, 0, OP_MOV_LD, H_R14, H_R12, 0, 4, false);
	emit_lea32(&x->b, H_R12, H_R12, -1, (int32_t)(4 + extra));
	emit_indirect_exit(x);
	xl_stats.lowered++;
}

/* FF /2 (call) and FF /4 (jmp) near indirect. */
static void translate_indirect(struct xl_ctx *x, const struct ginsn *g, bool call)
{
	emit_load_rm(x, g, 4);
	if (call)
		emit_push_imm(x, next_eip(g), 4);
	emit_indirect_exit(x);
	xl_stats.lowered++;
}

/* ---- string instructions --------------------------------------------------------- */

/* lea rX, [r15 + rX] (64-bit): guest offset -> host pointer. */
static void emit_to_host_ptr(struct xl_ctx *x, int r)
{
	emit_mem(&x->b, EM_W, OP_LEA, 1, r, H_R15, r, 1, 0);
}
/* rX = rX - r15 (flag-free: r8 = ~r15; rX = rX + r8 + 1), then zero-extend 32 bits. */
static void emit_from_host_ptr(struct xl_ctx *x, int r)
{
	static const uint8_t not_op[] = {0xF7};
	emit_rr(&x->b, EM_W, OP_MOV_ST, 1, H_R15, H_R8);
	emit_rr(&x->b, EM_W, not_op, 1, 2, H_R8);
	emit_mem(&x->b, EM_W, OP_LEA, 1, r, r, H_R8, 1, 1);
	emit_rr(&x->b, 0, OP_MOV_ST, 1, r, r);
}

static void translate_string(struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	bool src = (op >= 0xA4 && op <= 0xA7) || op == 0xAC || op == 0xAD;
	bool dst = (op >= 0xA4 && op <= 0xA7) || op == 0xAA || op == 0xAB || op == 0xAE || op == 0xAF;
	int sseg = g->seg >= 0 ? g->seg : S_DS;
	bool sbase = src && seg_needs_base(x, sseg);
	bool dbase = dst && (x->mode & XM_NONFLAT);
	uint8_t pfx[16];
	unsigned npfx = keep_prefixes(g, pfx, false);
	if (g->a16 || sbase || dbase) {
		/* 16-bit addressing, or segments to check per element: the monitor does it */
		emit_reason_exit(x, g->eip, EXIT_EMULATE, 0);
		return;
	}
	x->imap[x->n].fix = (uint8_t)((src ? XI_STR_SRC : 0) | (dst ? XI_STR_DST : 0) |
				      (sbase ? XI_SRC_SEG | (sseg << 4) : 0));
	if (src) {
		if (sbase) emit_add_segbase(x, H_RSI, sseg);
		emit_to_host_ptr(x, H_RSI);
	}
	if (dst) {
		if (dbase) emit_add_segbase(x, H_RDI, S_ES);
		emit_to_host_ptr(x, H_RDI);
	}
	ebytes(&x->b, pfx, npfx);
	e8(&x->b, op);
	if (src) {
		emit_from_host_ptr(x, H_RSI);
		if (sbase) {   /* subtract the base again: esi = esi + ~base + 1 */
			static const uint8_t not_op[] = {0xF7};
			emit_vcpu_load(&x->b, H_R8, VC_SEG_BASE + 4 * sseg, 0);
			emit_rr(&x->b, 0, not_op, 1, 2, H_R8);
			emit_mem(&x->b, 0, OP_LEA, 1, H_RSI, H_RSI, H_R8, 1, 1);
		}
	}
	if (dst) {
		emit_from_host_ptr(x, H_RDI);
		if (dbase) {
			static const uint8_t not_op[] = {0xF7};
			emit_vcpu_load(&x->b, H_R8, VC_SEG_BASE + 4 * S_ES, 0);
			emit_rr(&x->b, 0, not_op, 1, 2, H_R8);
			emit_mem(&x->b, 0, OP_LEA, 1, H_RDI, H_RDI, H_R8, 1, 1);
		}
	}
	xl_stats.lowered++;
}

/* ---- virtual interrupt flag (CPL 0) ------------------------------------------------ */

/*
 * At CPL 0, CLI/STI/PUSHF/POPF work on vcpu->eflags (the virtual IF, IOPL, ...) and the
 * host RFLAGS (arithmetic flags, DF) without leaving translated code.  After STI and POPF
 * an interrupt may have become deliverable: a flag-free probe loads through
 * vcpu->irq_ptr, which the run loop points at the fault page while the PIC holds a pending
 * interrupt.  The probe has its own instruction-map entry (EIP of the next instruction),
 * marked XI_INHIBIT after STI so that the next instruction still runs first.
 */
#define POPF_KEEP (FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | FL_AC | FL_ID)

static void emit_irq_probe(struct xl_ctx *x, gla_t next, bool inhibit)
{
	x->n++;
	x->imap[x->n] = (struct xl_imap){ .eip = next, .host_off = (uint16_t)(x->b.p - x->b.start),
		.fix = inhibit ? XI_INHIBIT : 0, .spill = -1 };
	emit_vcpu_load(&x->b, H_R14, VC_IRQ_PTR, 1);
	emit_mem(&x->b, 0, OP_MOV_LD, 1, H_R14, H_R14, -1, 0, 0);
}

/* and/or dword [r13+eflags], imm with the host flags preserved around it */
static void emit_vflags_op(struct xl_ctx *x, int ext, uint32_t imm)
{
	ebytes(&x->b, OP_PUSHF, 1);
	emit_mem(&x->b, 0, OP_GRP1, 1, ext, H_R13, -1, 0, VC_EFLAGS);
	e32(&x->b, imm);
	ebytes(&x->b, OP_POPF, 1);
}

static void translate_cli(struct xl_ctx *x) { emit_vflags_op(x, 4, ~FL_IF); }

static void translate_sti(struct xl_ctx *x, const struct ginsn *g)
{
	emit_vflags_op(x, 1, FL_IF);
	emit_irq_probe(x, g->eip + g->z.length, true);
}

/* push (vcpu->eflags without RF/VM, host arithmetic flags and DF merged in) */
static void translate_pushf(struct xl_ctx *x)
{
	static const uint8_t and_imm[] = {0x81}, or_rr[] = {0x09};
	ebytes(&x->b, OP_PUSHF, 1);
	emit_mem(&x->b, 0, OP_MOV_LD, 1, H_R14, H_RSP, -1, 0, 0);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R14); e32(&x->b, FL_HOST);
	emit_vcpu_load(&x->b, H_R9, VC_EFLAGS, 0);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R9); e32(&x->b, ~(FL_HOST | FL_RF | FL_VM));
	emit_rr(&x->b, 0, or_rr, 1, H_R9, H_R14);
	ebytes(&x->b, OP_POPF, 1);
	emit_push_reg(x, H_R14, 4);
}

static void translate_popf(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t and_imm[] = {0x81}, push_r14[] = {0x41, 0x56};
	emit_stack_mem(x, 0, OP_MOV_LD, H_R14, H_R12, 0, 4, false);
	emit_lea32(&x->b, H_R12, H_R12, -1, 4);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R14); e32(&x->b, POPF_KEEP);
	emit_rr(&x->b, 0, and_imm, 1, 1, H_R14); e32(&x->b, FL_FIXED);   /* or r14d, 2 */
	emit_vcpu_store(&x->b, VC_EFLAGS, H_R14, 0);
	emit_rr(&x->b, 0, and_imm, 1, 4, H_R14); e32(&x->b, FL_HOST);
	ebytes(&x->b, push_r14, 2);
	ebytes(&x->b, OP_POPF, 1);
	emit_irq_probe(x, g->eip + g->z.length, false);
}

/* ---- classification -------------------------------------------------------------- */

/* The project's table of sensitive and privileged instructions: the monitor runs them. */
static bool xl_sensitive(const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	switch (z->mnemonic) {
	case ZYDIS_MNEMONIC_CLI: case ZYDIS_MNEMONIC_STI:
	case ZYDIS_MNEMONIC_PUSHFD: case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_POPFD: case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_IN: case ZYDIS_MNEMONIC_OUT:
	case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD:
	case ZYDIS_MNEMONIC_OUTSB: case ZYDIS_MNEMONIC_OUTSW: case ZYDIS_MNEMONIC_OUTSD:
	case ZYDIS_MNEMONIC_HLT: case ZYDIS_MNEMONIC_CLTS: case ZYDIS_MNEMONIC_LMSW:
	case ZYDIS_MNEMONIC_SMSW: case ZYDIS_MNEMONIC_LGDT: case ZYDIS_MNEMONIC_LIDT:
	case ZYDIS_MNEMONIC_LLDT: case ZYDIS_MNEMONIC_LTR: case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT: case ZYDIS_MNEMONIC_SLDT: case ZYDIS_MNEMONIC_STR:
	case ZYDIS_MNEMONIC_LAR: case ZYDIS_MNEMONIC_LSL: case ZYDIS_MNEMONIC_VERR:
	case ZYDIS_MNEMONIC_VERW: case ZYDIS_MNEMONIC_LDS: case ZYDIS_MNEMONIC_LES:
	case ZYDIS_MNEMONIC_LFS: case ZYDIS_MNEMONIC_LGS: case ZYDIS_MNEMONIC_LSS:
	case ZYDIS_MNEMONIC_INT: case ZYDIS_MNEMONIC_INT1: case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO: case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_BOUND: case ZYDIS_MNEMONIC_CPUID: case ZYDIS_MNEMONIC_RDTSC:
	case ZYDIS_MNEMONIC_RDTSCP: case ZYDIS_MNEMONIC_RDPMC:
	case ZYDIS_MNEMONIC_RDMSR: case ZYDIS_MNEMONIC_WRMSR: case ZYDIS_MNEMONIC_INVD:
	case ZYDIS_MNEMONIC_WBINVD: case ZYDIS_MNEMONIC_INVLPG: case ZYDIS_MNEMONIC_SYSENTER:
	case ZYDIS_MNEMONIC_SYSEXIT: case ZYDIS_MNEMONIC_SYSCALL: case ZYDIS_MNEMONIC_SYSRET:
	case ZYDIS_MNEMONIC_ARPL: case ZYDIS_MNEMONIC_DAA: case ZYDIS_MNEMONIC_DAS:
	case ZYDIS_MNEMONIC_AAA: case ZYDIS_MNEMONIC_AAS: case ZYDIS_MNEMONIC_AAM:
	case ZYDIS_MNEMONIC_AAD: case ZYDIS_MNEMONIC_SALC: case ZYDIS_MNEMONIC_PUSHA:
	case ZYDIS_MNEMONIC_PUSHAD: case ZYDIS_MNEMONIC_POPA: case ZYDIS_MNEMONIC_POPAD:
	case ZYDIS_MNEMONIC_RSM: case ZYDIS_MNEMONIC_IRETQ:
		return true;
	default:
		break;
	}
	/* MOV to/from CRn, DRn, Sreg; PUSH/POP Sreg; far CALL/JMP/RET */
	for (unsigned i = 0; i < z->operand_count; i++) {
		const ZydisDecodedOperand *o = &g->op[i];
		if (o->type != ZYDIS_OPERAND_TYPE_REGISTER || o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			continue;
		ZydisRegisterClass rc = ZydisRegisterGetClass(o->reg.value);
		if (rc == ZYDIS_REGCLASS_CONTROL || rc == ZYDIS_REGCLASS_DEBUG ||
		    rc == ZYDIS_REGCLASS_SEGMENT || rc == ZYDIS_REGCLASS_TEST)
			return true;
	}
	if (z->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return true;
	if (z->mnemonic == ZYDIS_MNEMONIC_RET && (g->bytes[g->opc] == 0xCA || g->bytes[g->opc] == 0xCB))
		return true;
	return false;
}

/* ISA extensions the guest's CPUID advertises (emu_cpuid): anything else is #UD. */
static bool xl_isa_ok(const ZydisDecodedInstruction *z)
{
	if (z->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return false;
	switch (z->meta.isa_ext) {
	case ZYDIS_ISA_EXT_BASE: case ZYDIS_ISA_EXT_X87: case ZYDIS_ISA_EXT_MMX:
	case ZYDIS_ISA_EXT_SSE: case ZYDIS_ISA_EXT_SSE2: case ZYDIS_ISA_EXT_PAUSE:
		return true;
	case ZYDIS_ISA_EXT_LZCNT: case ZYDIS_ISA_EXT_BMI1:   /* F3 0F BC/BD: BSF/BSR on i686 */
		return z->mnemonic == ZYDIS_MNEMONIC_TZCNT || z->mnemonic == ZYDIS_MNEMONIC_LZCNT;
	case ZYDIS_ISA_EXT_CET:                              /* ENDBR32 is a hint NOP */
		return z->mnemonic == ZYDIS_MNEMONIC_ENDBR32;
	default:
		return false;
	}
}

static bool uses_fpu(const ZydisDecodedInstruction *z)
{
	return z->meta.isa_ext == ZYDIS_ISA_EXT_X87 || z->meta.isa_ext == ZYDIS_ISA_EXT_MMX ||
	       z->meta.isa_ext == ZYDIS_ISA_EXT_SSE || z->meta.isa_ext == ZYDIS_ISA_EXT_SSE2;
}

/* CR0.TS/EM/MP: #NM or #UD instead of the instruction (SDM vol. 3 §2.5, table 12-8). */
static int fpu_fault(const struct xl_ctx *x, const ZydisDecodedInstruction *z)
{
	bool x87 = z->meta.isa_ext == ZYDIS_ISA_EXT_X87;
	if (z->mnemonic == ZYDIS_MNEMONIC_FWAIT)
		return (x->mode & XM_TS) && (x->mode & XM_MP) ? EXC_NM : -1;
	if (!uses_fpu(z))
		return -1;
	if (x->mode & XM_EM)
		return x87 ? EXC_NM : EXC_UD;
	if (x->mode & XM_TS)
		return EXC_NM;
	return -1;
}

static void fill_prefix_info(struct ginsn *g);

static bool decode(struct xl_ctx *x, struct ginsn *g, gla_t eip, gpa_t *pa)
{
	memset(g, 0, sizeof(*g));
	g->eip = eip;
	unsigned avail = vmm_fetch_code(x->c, x->c->seg[S_CS].base + eip, g->bytes, 15, pa, &g->next_page);
	if (avail == 0 || ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, g->bytes, avail, &g->z, g->op)))
		return false;
	fill_prefix_info(g);
	return true;
}

static void fill_prefix_info(struct ginsn *g)
{
	g->opc = g->z.raw.prefix_count;
	g->seg = -1;
	uint64_t a = g->z.attributes;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES) g->seg = S_ES;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS) g->seg = S_CS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS) g->seg = S_SS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_DS) g->seg = S_DS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS) g->seg = S_FS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS) g->seg = S_GS;
	g->a16 = (a & ZYDIS_ATTRIB_HAS_ADDRESSSIZE) != 0;
	g->o16 = g->z.operand_width == 16;
}

/* How one guest instruction is handled: the single decision tree used both to translate
 * (translate_insn) and to report (xl_classify, vmm386-scan). */
enum xk {
	K_UD, K_FPU_FAULT, K_EMULATE, K_NOP, K_INCDEC, K_PUSH, K_POP, K_LEAVE, K_ENTER,
	K_JMP_REL, K_JMP_IND, K_CALL_REL, K_CALL_IND, K_RET, K_LOOP, K_JCC, K_STRING, K_XLAT,
	K_OP82, K_IDENT, K_CLI, K_STI, K_PUSHF, K_POPF, K_LOOP16, K_BT_REG, K_PUSHA, K_POPA,
	K_PUSH_SREG, K_SREG, K_INT_FAST, K_IRET_FAST,
};

/* CLI/STI/PUSHFD/POPFD handled inline (CPL 0, 32-bit operand size). */
static enum xk vif_kind(const struct xl_ctx *x, const struct ginsn *g)
{
	if ((x->mode & XM_CPL_MASK) != 0)
		return K_EMULATE;
	switch (g->z.mnemonic) {
	case ZYDIS_MNEMONIC_CLI: return K_CLI;
	case ZYDIS_MNEMONIC_STI: return K_STI;
	case ZYDIS_MNEMONIC_PUSHFD: return K_PUSHF;
	case ZYDIS_MNEMONIC_POPFD: return K_POPF;
	default: return K_EMULATE;
	}
}

static enum xk classify(const struct xl_ctx *x, const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	uint8_t op = g->bytes[g->opc];
	bool map0 = z->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;

	if (!xl_isa_ok(z) || z->mnemonic == ZYDIS_MNEMONIC_UD0 || z->mnemonic == ZYDIS_MNEMONIC_UD1 ||
	    z->mnemonic == ZYDIS_MNEMONIC_UD2)
		return K_UD;
	if (fpu_fault(x, z) >= 0) return K_FPU_FAULT;
	/* not sensitive, only awkward: lowered inline rather than sent to the monitor */
	switch (z->mnemonic) {
	case ZYDIS_MNEMONIC_PUSHA: case ZYDIS_MNEMONIC_PUSHAD:
		if (!(x->mode & XM_NONFLAT)) return K_PUSHA;
		break;
	case ZYDIS_MNEMONIC_POPA: case ZYDIS_MNEMONIC_POPAD:
		if (!(x->mode & XM_NONFLAT)) return K_POPA;
		break;
	case ZYDIS_MNEMONIC_PUSH:
		if (g->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    ZydisRegisterGetClass(g->op[0].reg.value) == ZYDIS_REGCLASS_SEGMENT)
			return K_PUSH_SREG;
		break;
	default:
		break;
	}
	if (sreg_fast_ok(x, g)) return K_SREG;
	if (ring_fast_ok(x, g)) return g->z.mnemonic == ZYDIS_MNEMONIC_INT ? K_INT_FAST : K_IRET_FAST;
	if (xl_sensitive(g)) return vif_kind(x, g);
	if (z->mnemonic == ZYDIS_MNEMONIC_FXSAVE) return K_EMULATE;  /* 64-bit form adds XMM8-15 */
	if (z->mnemonic == ZYDIS_MNEMONIC_ENDBR32) return K_NOP;
	if (map0 && op >= 0x40 && op <= 0x4F) return K_INCDEC;
	switch (z->mnemonic) {
	case ZYDIS_MNEMONIC_PUSH: return K_PUSH;
	case ZYDIS_MNEMONIC_POP: return K_POP;
	case ZYDIS_MNEMONIC_LEAVE: return K_LEAVE;
	case ZYDIS_MNEMONIC_ENTER: return K_ENTER;
	case ZYDIS_MNEMONIC_JMP: return op == 0xE9 || op == 0xEB ? K_JMP_REL : K_JMP_IND;
	case ZYDIS_MNEMONIC_CALL: return op == 0xE8 ? K_CALL_REL : K_CALL_IND;
	case ZYDIS_MNEMONIC_RET: return K_RET;
	case ZYDIS_MNEMONIC_LOOP: case ZYDIS_MNEMONIC_LOOPE: case ZYDIS_MNEMONIC_LOOPNE:
	case ZYDIS_MNEMONIC_JECXZ: case ZYDIS_MNEMONIC_JCXZ:
		return g->a16 ? K_LOOP16 : K_LOOP;
	default:
		break;
	}
	if (z->meta.category == ZYDIS_CATEGORY_COND_BR) return K_JCC;
	if (map0 && ((op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF))) return K_STRING;
	if (map0 && op == 0xD7 && (g->seg == S_FS || g->seg == S_GS || g->a16 ||
				    (x->mode & XM_NONFLAT)))
		return K_XLAT;
	if (map0 && op == 0x82) return K_OP82;
	if (z->opcode_map == ZYDIS_OPCODE_MAP_0F && (z->opcode & 0xE7) == 0xA3 &&
	    z->raw.modrm.mod != 3 && (g->a16 || seg_needs_base(x, mem_seg(g))))
		return K_BT_REG;          /* 0F A3/AB/B3/BB with a memory operand, lowered path */
	return K_IDENT;
}

/* Translate one guest instruction; sets x->ended when the block must stop here. */
static void translate_insn(struct xl_ctx *x, const struct ginsn *g)
{
	switch (classify(x, g)) {
	case K_UD: return emit_reason_exit(x, g->eip, EXIT_EXCEPTION, EXC_UD);
	case K_FPU_FAULT:
		return emit_reason_exit(x, g->eip, EXIT_EXCEPTION, (uint32_t)fpu_fault(x, &g->z));
	case K_EMULATE:
		xl_stats.emulate_exits++;
		return emit_reason_exit(x, g->eip, EXIT_EMULATE, 0);
	case K_NOP: return;
	case K_INCDEC: return translate_incdec(x, g);
	case K_PUSH: return translate_push(x, g);
	case K_POP: return translate_pop(x, g);
	case K_LEAVE: return translate_leave(x, g);
	case K_ENTER: translate_enter(x, g); return;
	case K_JMP_REL:
		emit_direct_exit(x, rel_target(g));
		x->ended = true;
		return;
	case K_JMP_IND: return translate_indirect(x, g, false);
	case K_CALL_REL: return translate_call_rel(x, g);
	case K_CALL_IND: return translate_indirect(x, g, true);
	case K_RET: return translate_ret(x, g);
	case K_LOOP: return translate_loop(x, g);
	case K_LOOP16: return translate_loop16(x, g);
	case K_BT_REG: return translate_bt_reg(x, g);
	case K_PUSHA: return translate_pusha(x, g);
	case K_POPA: return translate_popa(x, g);
	case K_PUSH_SREG: return translate_push_sreg(x, g);
	case K_SREG: return translate_sreg_fast(x, g);
	case K_INT_FAST: return translate_int_fast(x, g);
	case K_IRET_FAST: return translate_iret_fast(x, g);
	case K_JCC: return translate_jcc(x, g);
	case K_STRING: return translate_string(x, g);
	case K_XLAT: return translate_xlat(x, g);
	case K_OP82: {                                /* alias of 0x80, invalid in 64-bit mode */
		struct ginsn g2 = *g;
		g2.bytes[g2.opc] = 0x80;
		return translate_ident(x, &g2);
	}
	case K_IDENT: return translate_ident(x, g);
	case K_CLI: return translate_cli(x);
	case K_STI: return translate_sti(x, g);
	case K_PUSHF: return translate_pushf(x);
	case K_POPF: return translate_popf(x, g);
	}
}

/* Public classification for reports (vmm386-scan, the coverage report). */
enum xl_class xl_classify(const uint8_t *bytes, unsigned avail, uint32_t mode,
			  unsigned *len, const char **mnemonic)
{
	struct xl_ctx x = { .mode = mode };
	struct ginsn g;
	memset(&g, 0, sizeof(g));
	*len = 0;
	*mnemonic = "(bad)";
	if (avail > 15) avail = 15;
	memcpy(g.bytes, bytes, avail);
	if (avail == 0 || ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder, g.bytes, avail, &g.z, g.op)))
		return XC_INVALID;
	fill_prefix_info(&g);
	*len = g.z.length;
	*mnemonic = ZydisMnemonicGetString(g.z.mnemonic);
	struct rewrite rw;
	analyse(&g, &rw);
	switch (classify(&x, &g)) {
	case K_UD: return XC_UNSUPPORTED;
	case K_FPU_FAULT: case K_EMULATE: return XC_MONITOR;
	case K_INCDEC: case K_OP82: return XC_REENCODED;
	case K_CLI: case K_STI: case K_PUSHF: case K_POPF: return XC_LOWERED;
	case K_PUSHA: case K_POPA: case K_PUSH_SREG: case K_SREG: return XC_LOWERED;
	case K_INT_FAST: case K_IRET_FAST: return XC_MONITOR;   /* inline only while cached */
	case K_NOP: return XC_IDENT;
	case K_IDENT: {
		bool disp32 = rw.has_modrm_mem && g.z.raw.modrm.mod == 0 && g.z.raw.modrm.rm == 5 && !g.a16;
		bool lowered = (rw.has_modrm_mem || rw.mem_access) &&
			       (g.a16 || g.seg == S_FS || g.seg == S_GS || (mode & XM_NONFLAT));
		if (lowered) return rw.has_modrm_mem ? XC_LOWERED : XC_MONITOR;
		if (disp32 || (rw.high8 && rw.rex) || g.z.mnemonic == ZYDIS_MNEMONIC_TZCNT ||
		    g.z.mnemonic == ZYDIS_MNEMONIC_LZCNT)
			return XC_REENCODED;
		return XC_IDENT;
	}
	default: return XC_LOWERED;
	}
}

static void emit_head(struct xl_ctx *x)
{
	emit_vcpu_load(&x->b, H_R14, VC_REQ_PTR, 1);
	emit_mem(&x->b, 0, OP_MOV_LD, 1, H_R14, H_R14, -1, 0, 0);
}

static void finish_block(struct xl_ctx *x, struct cc_block *blk, gla_t end_eip)
{
	blk->host_len = (uint32_t)(x->b.p - blk->host);
	blk->guest_len = end_eip - blk->eip;
	blk->ninsn = (uint16_t)x->n;
	free(blk->imap);
	blk->imap = malloc(sizeof(struct xl_imap) * (x->n + 1));
	if (!blk->imap)
		vmm_panic("out of memory");
	memcpy(blk->imap, x->imap, sizeof(struct xl_imap) * (x->n + 1));
}

static struct cc_block single_blk;

struct cc_block *xl_single_block(uintptr_t h)
{
	struct cc_block *b = &single_blk;
	if (b->host && h >= (uintptr_t)b->host && h < (uintptr_t)b->host + b->host_len)
		return b;
	return NULL;
}

struct cc_block *xl_translate(struct vcpu *c, uint32_t mode)
{
	struct xl_ctx x = { .c = c, .mode = mode };
	struct ginsn g;
	size_t room;
	uint64_t t0 = host_now_ns();
	bool single = mode & XM_SINGLE;
	uint8_t *code = single ? cc_scratch(&room) : cc_code_begin(&room);
	if (!code)
		return NULL;
	struct cc_block *blk = single ? &single_blk : cc_block_new();
	if (!blk)
		vmm_panic("out of memory");
	if (single) {
		struct xl_imap *keep = blk->imap;
		memset(blk, 0, sizeof(*blk));
		blk->imap = keep;
	}
	x.blk = blk;
	x.b = (struct xbuf){ code, code, code + room };
	blk->eip = c->eip; blk->mode = mode; blk->cs_base = c->seg[S_CS].base;
	blk->host = code; blk->page[1] = ~0u; blk->valid = true;
	emit_head(&x);
	gla_t eip = c->eip;
	gpa_t pa;
	bool paged = mode & XM_PG;
	gla_t lin0 = blk->cs_base + eip;
	for (;;) {
		x.imap[x.n] = (struct xl_imap){ .eip = eip,
			.host_off = (uint16_t)(x.b.p - code), .spill = -1 };
		gla_t lin = blk->cs_base + eip;
		if (!decode(&x, &g, eip, &pa)) {
			if (paged && g.next_page == ~1u) {
				/* the instruction runs into an unmapped page: #PF there, at run time */
				if (x.n > 0) {
					emit_direct_exit(&x, eip);
					break;
				}
				blk->page[0] = pa & ~(GUEST_PAGE - 1);
				blk->page[1] = ~1u;
				emit_reason_exit(&x, eip, EXIT_FETCH_PF, (lin | (GUEST_PAGE - 1)) + 1);
				x.n++;
				break;
			}
			if (x.n == 0) blk->page[0] = pa & ~(GUEST_PAGE - 1);
			emit_reason_exit(&x, eip, EXIT_EXCEPTION, EXC_UD);
			x.n++;
			break;
		}
		gpa_t first = pa & ~(GUEST_PAGE - 1);
		gpa_t last = (pa + g.z.length - 1) & ~(GUEST_PAGE - 1);
		if (paged) {
			/* with paging a block stays in one linear page; an instruction that
			 * straddles two pages only ever starts a block, and ends it */
			bool straddle = (lin & (GUEST_PAGE - 1)) + g.z.length > GUEST_PAGE;
			if (x.n == 0) {
				blk->page[0] = first;
				if (straddle) blk->page[1] = g.next_page;
			} else if ((lin >> 12) != (lin0 >> 12) || straddle) {
				emit_direct_exit(&x, eip);
				break;
			}
		} else if (x.n == 0) blk->page[0] = first;
		else if (first != blk->page[0] || (last != blk->page[0] && blk->page[1] != ~0u)) {
			emit_direct_exit(&x, eip);   /* next page: new block */
			break;
		}
		if (!paged && last != blk->page[0]) blk->page[1] = last;
		if (vmm_adaptive_emulate(pa) && emu_can_step(g.z.mnemonic)) {
			/* this store kept faulting (a traced page table, device memory):
			 * a direct monitor call is cheaper than a host signal every time */
			emit_reason_exit(&x, eip, EXIT_EMULATE, EMULATE_ADAPTIVE);
			xl_stats.adaptive++;
			x.n++;
			break;
		}
		translate_insn(&x, &g);
		x.n++;
		eip += g.z.length;
		if (x.ended) break;
		if (single || x.n >= XL_MAX_INSNS || x.b.p - code > XL_MAX_HOST_BYTES) {
			emit_direct_exit(&x, eip);
			break;
		}
	}
	x.imap[x.n] = (struct xl_imap){ .eip = eip, .host_off = (uint16_t)(x.b.p - code), .spill = -1 };
	finish_block(&x, blk, eip);
	if (!single) {
		cc_code_commit(x.b.p);
		cc_block_insert(blk);
	}
	cc_stats.xl_ns += host_now_ns() - t0;
	return blk;
}
