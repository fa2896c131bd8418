/*
 * sreg_cache.c - segment-register loads in kernel code: a descriptor cache per site.
 *
 * A kernel's trap entry and exit load DS/ES/FS/GS on every system call and interrupt
 * (MOV Sreg from a register, POP Sreg); as monitor calls these were 8 of the 10 exits of a
 * null system call.  At CPL 0 in protected mode such a site is translated inline against a
 * one-entry cache (struct xl_sreg_slot) filled by the monitor after it emulated the site
 * once: if the selector equals the cached one, lies inside the current GDT limit, and the
 * 8 bytes now in the GDT equal the cached descriptor (read through the window, exactly as
 * the CPU reads them, so a guest that edits its GDT or reloads GDTR is seen at once), the
 * cached hidden part is stored and the block goes on.  A null selector (which Linux
 * loads into FS or GS on every return to user mode) is cached the same way, as the
 * unusable register it gives.  Anything else - LDT selectors, other CPLs, a descriptor
 * that changed, a segment that would turn a flat block non-flat - leaves through the
 * monitor as before, which refills the slot.
 *
 * The outcome of loading (selector, descriptor) into a data segment register at CPL 0
 * depends on nothing else, so a slot can be shared or reused freely: the pool wraps.
 * The inline code uses host flags, so it saves the guest's (pushfq) first; the XI_PUSHF
 * fixup tells the signal handler where they are if the GDT read faults.
 *
 * A miss leaves with EXIT_EMULATE and info XL_INFO_SREG + slot.  The quiet reads here
 * (guest memory and descriptors read with no effect on the exception state) are shared
 * with ring_cache.c.  Called from translate_insn (translate.c); xl_sreg_fill() by the
 * monitor after it ran a site that missed.
 */
#include "xl_int.h"

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

bool xl_quiet_read(struct vcpu *c, gla_t la, void *buf, unsigned n)
{
	struct exc_state e = exc_save(c);
	int r = emu_lin_read(c, la, buf, n);
	exc_restore(c, e);
	return r == 0;
}

/* The GDT descriptor of sel now, if it gives exactly the hidden part `want`. */
bool xl_quiet_desc(struct vcpu *c, uint16_t sel, uint64_t *raw, const struct seg *want)
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
	if (info >= XL_INFO_VERIFY)                 /* a VERR/VERW site (xl.h) */
		return xl_verify_fill(c, info);
	uint32_t i = info - XL_INFO_SREG, sreg = i >> 12;
	struct xl_sreg_slot *sl = &sreg_slot[i & (SREG_SLOTS - 1)];
	const struct seg *sg = &c->seg[sreg];
	uint64_t raw;
	if (sreg >= S_NR || c->cpl != 0 || !(c->cr0 & CR0_PE) || (c->eflags & FL_VM))
		return;
	if (!(sg->sel & 0xFFFC)) {
		/* a null selector: an unusable register, whatever GDT entry 0 holds (the inline
		 * check still compares it, and the limit check holds for any real GDT); its
		 * ranges are empty, so every access through it leaves, and a flat block misses */
		struct exc_state e = exc_save(c);
		int r = emu_desc_fetch(c, sg->sel, &raw);
		exc_restore(c, e);
		if (r != 0 || sg->attr || sg->base || sg->limit)
			return;
	} else if (!xl_quiet_desc(c, sg->sel, &raw, sg))
		return;                      /* not what a load of this selector gives now */
	sl->sel = ~0u;
	sl->idx = sg->sel & ~7u;
	sl->idx7 = sl->idx + 7;
	sl->raw = raw;
	sl->seg = *sg;
	xl_seg_ranges(sg, &sl->lo, &sl->end_r, &sl->end_w);
	sl->flat = sg->base == 0 && sl->lo == 0 && sl->end_r == (1ull << 32) && sl->end_w == (1ull << 32);
	sl->sel = sg->sel;
	xl_stats.sreg_fills++;
}

/* Is g a MOV Sreg, r16 / POP Sreg this path handles in the current mode? */
bool xl_sreg_fast_ok(const struct xl_ctx *x, const struct ginsn *g)
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

/*
 * Reads that need no monitor: MOV r, Sreg (8C with a register destination, any CPL: the
 * selector is the vCPU's; a 32-bit destination is zero-extended as P6 and later processors
 * do, a 16-bit one keeps its upper half) and MOV r32, CR0/CR2/CR3/CR4 at CPL 0 (the
 * vCPU's values are what the monitor's MOV would return; other CRs, CPL > 0 and the LOCK
 * form that some CPUs read as CR8 still go to the monitor for their #UD/#GP).  The
 * kernel's exception entry reads SS and CR2 on every page fault.
 */
bool xl_mov_from_sys_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	if (z->mnemonic != ZYDIS_MNEMONIC_MOV || (x->mode & XM_SINGLE) ||
	    g->op[0].type != ZYDIS_OPERAND_TYPE_REGISTER || g->op[1].type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    ZydisRegisterGetClass(g->op[0].reg.value) == ZYDIS_REGCLASS_SEGMENT)
		return false;
	ZydisRegisterClass rc = ZydisRegisterGetClass(g->op[1].reg.value);
	if (rc == ZYDIS_REGCLASS_SEGMENT)
		return g->bytes[g->opc] == 0x8C;
	if (rc != ZYDIS_REGCLASS_CONTROL || (x->mode & XM_CPL_MASK) || (z->attributes & ZYDIS_ATTRIB_HAS_LOCK))
		return false;
	int n = ZydisRegisterGetId(g->op[1].reg.value);
	return n == 0 || n == 2 || n == 3 || n == 4;
}

void xl_translate_mov_from_sys(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t OP_MOV_LD32[] = {0x8B};
	int d = hreg(ZydisRegisterGetId(g->op[0].reg.value) & 7);
	ZydisRegister src = g->op[1].reg.value;
	xl_stats.lowered++;
	if (ZydisRegisterGetClass(src) == ZYDIS_REGCLASS_CONTROL) {
		int n = ZydisRegisterGetId(src);
		size_t off = n == 0 ? offsetof(struct vcpu, cr0) : n == 2 ? offsetof(struct vcpu, cr2) :
			     n == 3 ? offsetof(struct vcpu, cr3) : offsetof(struct vcpu, cr4);
		emit_mem(&x->b, 0, OP_MOV_LD32, 1, d, H_R13, -1, 0, (int32_t)off);
		return;
	}
	int s = src - ZYDIS_REGISTER_ES;
	int32_t off = (int32_t)(offsetof(struct vcpu, seg) + (size_t)s * sizeof(struct seg) +
				offsetof(struct seg, sel));
	if (ZydisRegisterGetClass(g->op[0].reg.value) == ZYDIS_REGCLASS_GPR32) {
		emit_mem(&x->b, 0, OP_MOVZX16, 2, d, H_R13, -1, 0, off);
		return;
	}
	emit_mem(&x->b, 0, OP_MOVZX16, 2, H_R14, H_R13, -1, 0, off);
	emit_rr(&x->b, EM_O16, OP_MOV_ST, 1, H_R14, d);
}

/*
 * The check every descriptor-cache site makes (host flags already saved): r14d holds the
 * site's key, r9 its slot, whose words at 0x00, 0x04, 0x08 and 0x10 are the cached key, the
 * descriptor's GDT offset, that offset + 7, and the descriptor.  Misses (three jumps added
 * to miss[]) unless the key is the cached one, the descriptor lies inside the GDT limit and
 * the 8 bytes now in the GDT (read through the running window) are the cached descriptor.
 * Uses r10.
 */
void xl_emit_gdt_match(struct xbuf *b, uint8_t **miss, unsigned *nmiss)
{
	static const uint8_t cmp_ld[] = {0x3B}, add_ld[] = {0x03};
	emit_mem(b, 0, cmp_ld, 1, H_R14, H_R9, -1, 0, 0x00);     /* key */
	e8(b, 0x0F); e8(b, 0x85); miss[(*nmiss)++] = b->p; e32(b, 0);     /* jne */
	emit_mem(b, 0, OP_MOVZX16, 2, H_R10, H_R13, -1, 0,
		 (int32_t)(offsetof(struct vcpu, gdtr) + offsetof(struct dtr, limit)));
	emit_mem(b, 0, cmp_ld, 1, H_R10, H_R9, -1, 0, 0x08);     /* limit >= idx + 7 */
	e8(b, 0x0F); e8(b, 0x82); miss[(*nmiss)++] = b->p; e32(b, 0);     /* jb */
	emit_vcpu_load(b, H_R10, (int)(offsetof(struct vcpu, gdtr) + offsetof(struct dtr, base)), 0);
	emit_mem(b, 0, add_ld, 1, H_R10, H_R9, -1, 0, 0x04);     /* + idx, 32-bit wrap */
	emit_mem(b, EM_GUEST | EM_W, OP_MOV_LD, 1, H_R10, H_R10, -1, 0, 0);   /* the GDT now */
	emit_mem(b, EM_W, cmp_ld, 1, H_R10, H_R9, -1, 0, 0x10);
	e8(b, 0x0F); e8(b, 0x85); miss[(*nmiss)++] = b->p; e32(b, 0);     /* jne */
}

void xl_translate_sreg_fast(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t pushf[] = {0x9C}, popf[] = {0x9D}, cmp_imm8[] = {0x83};
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
		emit_rr(b, 0, OP_MOVZX16, 2, H_R14, hreg(xl_gpr_of(g->op[1].reg.value)));
	emit_mov_imm64(b, H_R9, (uint64_t)(uintptr_t)sl);
	uint8_t *miss[4];
	unsigned nmiss = 0;
	xl_emit_gdt_match(b, miss, &nmiss);
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
