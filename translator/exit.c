/*
 * exit.c - leaving a block: direct exits, reason exits, the inline lookup probe, and the
 * two shared stubs the code cache keeps at the start of its arena.
 *
 * A direct exit is a patchable rel32 jump followed by its own stub; the code cache links
 * it to the target block (cc_link) and unlinks it back to the stub on invalidation.  The
 * stub stores the target EIP and the exit (vcpu->spill[0]) and leaves with EXIT_LOOKUP.
 * Indirect transfers probe the window's lookup table inline (flag-free) and leave through
 * the miss stub when it does not hold the target.  A reason exit stores EIP, info and
 * reason and leaves without executing the instruction.  Everything here is flag-neutral.
 * Called by the emitters; xl_emit_stubs() by xl_init() before cc_init().
 */
#include "xl_int.h"

/*
 * The shared stubs, as position-independent code the code cache copies to the start of
 * its arena: at 0 the exit thunk (jmp *[rip+0]; .quad xl_exit: leave translated code, the
 * reason already stored), at 32 the lookup-miss stub (vcpu->eip already stored by the
 * probe: leave with EXIT_LOOKUP and no exit to link).
 */
bool xl_host_bmi2;

void xl_emit_stubs(void)
{
	xl_host_bmi2 = __builtin_cpu_supports("bmi2");
	static uint8_t code[64];
	struct xbuf b = { code, code, code + sizeof(code) };
	e8(&b, 0xFF); e8(&b, 0x25); e32(&b, 0);
	e64(&b, (uint64_t)(uintptr_t)xl_exit);
	b.p = code + 32;
	emit_vcpu_imm32(&b, VC_EXIT_REASON, EXIT_LOOKUP);
	emit_mov_imm64(&b, H_R14, 0);
	emit_vcpu_store(&b, VC_SPILL, H_R14, 1);
	emit_jmp32(&b, code);
	cc_set_stubs(&(struct cc_stubs){ .code = code, .len = (unsigned)(b.p - code),
					 .exit_off = 0, .miss_off = 32 });
}

/* Unlinked path of a direct exit: record target and which exit, return to dispatcher. */
void xl_emit_exit_stub(struct xl_ctx *x, struct cc_exit *e, gla_t target)
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
		uint8_t *rel = xl_emit_lookup_probe(&x->b);
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

struct cc_exit *xl_new_exit(struct xl_ctx *x)
{
	if (x->blk->nexit >= 2)
		vmm_panic("block with more than two direct exits");
	return &x->blk->exit[x->blk->nexit++];
}

/* jmp rel32 (patchable) + stub. */
void xl_emit_direct_exit(struct xl_ctx *x, gla_t target)
{
	struct cc_exit *e = xl_new_exit(x);
	e->blk = x->blk;
	e->rel = emit_jmp32(&x->b, x->b.p + 5);
	xl_emit_exit_stub(x, e, target);
	xl_stats.direct_exits++;
}

/* Leave with a reason at guest EIP (the instruction is not executed). */
void xl_emit_reason_exit(struct xl_ctx *x, gla_t eip, unsigned reason, uint32_t info)
{
	emit_vcpu_imm32(&x->b, VC_EIP, eip);
	emit_vcpu_imm32(&x->b, VC_EXIT_INFO, info);
	emit_vcpu_imm32(&x->b, VC_EXIT_REASON, reason);
	emit_jmp32(&x->b, cc_exit_thunk());
	x->ended = true;
}

/*
 * Jump to the block for the guest EIP in r14d if the window's inline lookup table has it
 * (flag-free; r8-r11 clobbered, vcpu->eip = r14d).  The table is two-way: an EIP lives in
 * its slot cc_lk_index or the next one (codecache/cc.h), so the probe compares the key at
 * the first and, when that is another EIP, at the second.  Returns the rel32 field of the
 * jump taken on a miss, for the caller to aim.
 */
uint8_t *xl_emit_lookup_probe(struct xbuf *b)
{
	return xl_emit_lookup_probe_skip(b, 0);
}

/* The same, entering a block that hits `skip` bytes past its start (XL_HEAD_LEN: after its
 * exit-request check; the hit path then uses r9 too). */
uint8_t *xl_emit_lookup_probe_skip(struct xbuf *b, int32_t skip)
{
	static const uint8_t movzx16[] = {0x0F, 0xB7}, not_op[] = {0xF7};
	emit_vcpu_store(b, VC_EIP, H_R14, 0);                    /* for a miss */
	/* r8d = cc_lk_index(eip) = (eip + (eip >> 8)) & 0xffff, flag-free: eip >> 8 by RORX
	 * where the host has BMI2, else as the dword at the EIP just stored plus one byte */
	if (xl_host_bmi2) {
		e8(b, 0xC4); e8(b, 0x43); e8(b, 0x7B); e8(b, 0xF0); e8(b, 0xC6); e8(b, 8);   /* rorx r8d, r14d, 8 */
	} else
		emit_vcpu_load(b, H_R8, VC_EIP + 1, 0);
	emit_mem(b, 0, OP_LEA, 1, H_R8, H_R8, H_R14, 1, 0);     /* r8d += eip */
	emit_rr(b, 0, movzx16, 2, H_R8, H_R8);                   /* r8d &= 0xffff */
	emit_vcpu_load(b, H_R9, VC_LOOKUP, 1);                   /* r9 = table */
	emit_rr(b, 0, OP_MOV_ST, 1, H_R14, H_R10);               /* r10d = ~eip */
	emit_rr(b, 0, not_op, 1, 2, H_R10);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_RCX, H_R11);            /* r11 = rcx */
	emit_mem(b, 0, OP_MOV_LD, 1, H_RCX, H_R9, H_R8, 4, 0);   /* ecx = key */
	emit_mem(b, 0, OP_LEA, 1, H_RCX, H_RCX, H_R10, 1, 1);    /* ecx = key - eip */
	e8(b, 0xE3); uint8_t *hit1 = b->p; e8(b, 0);             /* jrcxz hit */
	emit_mem(b, 0, OP_LEA, 1, H_R8, H_R8, -1, 0, 1);         /* the second slot */
	emit_rr(b, 0, movzx16, 2, H_R8, H_R8);
	emit_mem(b, 0, OP_MOV_LD, 1, H_RCX, H_R9, H_R8, 4, 0);
	emit_mem(b, 0, OP_LEA, 1, H_RCX, H_RCX, H_R10, 1, 1);
	e8(b, 0xE3); uint8_t *hit2 = b->p; e8(b, 0);             /* jrcxz hit */
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);            /* rcx = r11 */
	uint8_t *miss = emit_jmp32(b, cc_miss_stub());
	*hit1 = (uint8_t)(b->p - (hit1 + 1));
	*hit2 = (uint8_t)(b->p - (hit2 + 1));
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);            /* hit: rcx = r11 */
	static const uint8_t jmp_ind[] = {0xFF};
	if (skip) {
		emit_mem(b, EM_W, OP_MOV_LD, 1, H_R9, H_R9, H_R8, 8, (int32_t)offsetof(struct cc_lookup, host));
		emit_mem(b, EM_W, OP_LEA, 1, H_R9, H_R9, -1, 0, skip);
		emit_rr(b, 0, jmp_ind, 1, 4, H_R9);                  /* jmp r9 */
		return miss;
	}
	emit_mem(b, 0, jmp_ind, 1, 4, H_R9, H_R8, 8, (int32_t)offsetof(struct cc_lookup, host));
	return miss;
}

/* Indirect jump to the guest EIP in r14d through the inline lookup cache. */
void xl_emit_indirect_exit(struct xl_ctx *x)
{
	xl_emit_lookup_probe(&x->b);
	xl_stats.indirect_exits++;
	x->ended = true;
}
