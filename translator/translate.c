/*
 * translate.c - guest block -> host block: the per-instruction driver.
 *
 * xl_translate() decodes guest instructions from c->eip, asks classify.c how to handle each
 * one (translate_insn) and lets the emitter of that kind append host code, until a control
 * transfer, a page boundary, a monitor exit or the length limit ends the block; then the
 * block and its instruction map go into the code cache (or, for XM_SINGLE, into the
 * scratch area, never cached).  Also here: the mode key of a translation (xl_mode) and the
 * segment copies translated code reads (xl_sync_segments).
 *
 * Block layout:
 *   head:   mov r14, [r13+req_ptr] ; mov r14d, [r14]   (faults when an exit is requested)
 *   body:   translated guest instructions
 *   exits:  patchable rel32 jumps, each followed by its stub that returns to the dispatcher
 *
 * Invariants: a block with paging stays inside one linear page (an instruction straddling
 * two pages only ever starts a block and ends it); without paging it spans at most two
 * physical pages; imap[i] holds the host offset and fix-ups of instruction i, imap[ninsn]
 * the end.  Called by the monitor's run loop on the vCPU thread with the guest stopped.
 */
#include <time.h>
#include "xl_int.h"

struct xl_stats xl_stats;
bool (*xl_debug_break)(gla_t la);
ZydisDecoder xl_decoder;

void xl_init(void)
{
	ZydisDecoderInit(&xl_decoder, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	xl_emit_stubs();
}

/* The offsets translated code may access in segment sg (see struct vcpu: seg_lo/end). */
void xl_seg_ranges(const struct seg *sg, uint32_t *lo_out, uint64_t *end_r, uint64_t *end_w)
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
		xl_seg_ranges(&c->seg[s], &c->seg_lo[s], &c->seg_end_r[s], &c->seg_end_w[s]);
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
	if (c->cr4 & CR4_TSD) m |= XM_TSD;
	static const int segs[] = {S_CS, S_DS, S_ES, S_SS};
	for (unsigned i = 0; i < 4; i++) {
		int s = segs[i];
		if (c->seg_base[s] || c->seg_lo[s] || c->seg_end_r[s] != (1ull << 32) ||
		    (s != S_CS && c->seg_end_w[s] != (1ull << 32)))
			m |= XM_NONFLAT;
	}
	return m;
}

static bool decode(struct xl_ctx *x, struct ginsn *g, gla_t eip, gpa_t *pa)
{
	memset(g, 0, sizeof(*g));
	g->eip = eip;
	unsigned avail = vmm_fetch_code(x->c, x->c->seg[S_CS].base + eip, g->bytes, 15, pa,
					&g->next_page);
	if (avail == 0 || ZYAN_FAILED(ZydisDecoderDecodeFull(&xl_decoder, g->bytes, avail, &g->z, g->op)))
		return false;
	xl_fill_prefix_info(g);
	return true;
}

void xl_fill_prefix_info(struct ginsn *g)
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

/* Translate one guest instruction; sets x->ended when the block must stop here. */
static void translate_insn(struct xl_ctx *x, const struct ginsn *g)
{
	switch (xl_kind(x, g)) {
	case K_UD: return xl_emit_reason_exit(x, g->eip, EXIT_EXCEPTION, EXC_UD);
	case K_FPU_FAULT:
		return xl_emit_reason_exit(x, g->eip, EXIT_EXCEPTION, (uint32_t)xl_fpu_fault(x, &g->z));
	case K_EMULATE:
		xl_stats.emulate_exits++;
		return xl_emit_reason_exit(x, g->eip, EXIT_EMULATE, 0);
	case K_NOP: return;
	case K_INCDEC: return xl_translate_incdec(x, g);
	case K_PUSH: return xl_translate_push(x, g);
	case K_POP: return xl_translate_pop(x, g);
	case K_LEAVE: return xl_translate_leave(x, g);
	case K_ENTER: xl_translate_enter(x, g); return;
	case K_JMP_REL:
		xl_emit_direct_exit(x, rel_target(g));
		x->ended = true;
		return;
	case K_JMP_IND: return xl_translate_indirect(x, g, false);
	case K_CALL_REL: return xl_translate_call_rel(x, g);
	case K_CALL_IND: return xl_translate_indirect(x, g, true);
	case K_RET: return xl_translate_ret(x, g);
	case K_LOOP: return xl_translate_loop(x, g);
	case K_LOOP16: return xl_translate_loop16(x, g);
	case K_BT_REG: return xl_translate_bt_reg(x, g);
	case K_PUSHA: return xl_translate_pusha(x, g);
	case K_POPA: return xl_translate_popa(x, g);
	case K_PUSH_SREG: return xl_translate_push_sreg(x, g);
	case K_SREG: return xl_translate_sreg_fast(x, g);
	case K_MOV_FROM_SYS: return xl_translate_mov_from_sys(x, g);
	case K_INVLPG: return xl_translate_invlpg(x, g);
	case K_CPUID: return xl_translate_cpuid(x);
	case K_INT_FAST: return xl_translate_int_fast(x, g);
	case K_IRET_FAST: return xl_translate_iret_fast(x, g);
	case K_SYSENTER_FAST: return xl_translate_sysenter_fast(x, g);
	case K_SYSEXIT_FAST: return xl_translate_sysexit_fast(x, g);
	case K_VERIFY: return xl_translate_verify_fast(x, g);
	case K_RDTSC: return xl_translate_rdtsc(x);
	case K_UD_FAST: return xl_translate_ud_fast(x, g);
	case K_DIV_FAST: return xl_translate_div_fast(x, g);
	case K_PIO_IN: return xl_translate_pio_in(x, g);
	case K_JCC: return xl_translate_jcc(x, g);
	case K_STRING: return xl_translate_string(x, g);
	case K_XLAT: return xl_translate_xlat(x, g);
	case K_OP82: {                                /* alias of 0x80, invalid in 64-bit mode */
		struct ginsn g2 = *g;
		g2.bytes[g2.opc] = 0x80;
		return xl_translate_ident(x, &g2);
	}
	case K_IDENT: return xl_translate_ident(x, g);
	case K_CLI: return xl_translate_cli(x);
	case K_STI: return xl_translate_sti(x, g);
	case K_PUSHF: return xl_translate_pushf(x);
	case K_POPF: return xl_translate_popf(x, g);
	}
}

static void emit_head(struct xl_ctx *x)
{
	emit_vcpu_load(&x->b, H_R14, VC_REQ_PTR, 1);
	emit_mem(&x->b, 0, OP_MOV_LD, 1, H_R14, H_R14, -1, 0, 0);
	if (x->b.p - x->b.start != XL_HEAD_LEN)    /* ring_cache.c enters blocks past it */
		vmm_panic("block head is %d bytes, not XL_HEAD_LEN", (int)(x->b.p - x->b.start));
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

/* Start the block for c->eip in code[0..room): a fresh record, or the reused
 * one-instruction block (its imap buffer kept); emit the head. */
static struct cc_block *begin_block(struct xl_ctx *x, uint8_t *code, size_t room, bool single)
{
	struct vcpu *c = x->c;
	struct cc_block *blk = single ? &single_blk : cc_block_new();
	if (!blk)
		vmm_panic("out of memory");
	if (single) {
		struct xl_imap *keep = blk->imap;
		memset(blk, 0, sizeof(*blk));
		blk->imap = keep;
	}
	x->blk = blk;
	x->b = (struct xbuf){ code, code, code + room };
	blk->eip = c->eip; blk->mode = x->mode; blk->cs_base = c->seg[S_CS].base;
	blk->host = code; blk->page[1] = ~0u; blk->valid = true;
	emit_head(x);
	return blk;
}

/* The instruction at eip (linear lin, physical pa) could not be fetched or decoded: the
 * block ends before it, or with #PF (it runs into an unmapped page) or #UD at run time. */
static void end_undecodable(struct xl_ctx *x, const struct ginsn *g, gla_t eip, gpa_t pa,
			    gla_t lin)
{
	struct cc_block *blk = x->blk;
	if ((x->mode & XM_PG) && g->next_page == ~1u) {
		/* the instruction runs into an unmapped page: #PF there, at run time */
		if (x->n > 0) {
			xl_emit_direct_exit(x, eip);
			return;
		}
		blk->page[0] = pa & ~(GUEST_PAGE - 1);
		blk->page[1] = ~1u;
		xl_emit_reason_exit(x, eip, EXIT_FETCH_PF, (lin | (GUEST_PAGE - 1)) + 1);
		x->n++;
		return;
	}
	if (x->n == 0) blk->page[0] = pa & ~(GUEST_PAGE - 1);
	xl_emit_reason_exit(x, eip, EXIT_EXCEPTION, EXC_UD);
	x->n++;
}

/* Record the code page(s) of g (at physical pa, linear lin; the block starts at linear
 * lin0).  True, after a direct exit to g, if g belongs to the next block instead. */
static bool page_ends_block(struct xl_ctx *x, const struct ginsn *g, gpa_t pa, gla_t lin,
			    gla_t lin0)
{
	struct cc_block *blk = x->blk;
	bool paged = x->mode & XM_PG;
	gpa_t first = pa & ~(GUEST_PAGE - 1);
	gpa_t last = (pa + g->z.length - 1) & ~(GUEST_PAGE - 1);
	if (paged) {
		/* with paging a block stays in one linear page; an instruction that
		 * straddles two pages only ever starts a block, and ends it */
		bool straddle = (lin & (GUEST_PAGE - 1)) + g->z.length > GUEST_PAGE;
		if (x->n == 0) {
			blk->page[0] = first;
			if (straddle) blk->page[1] = g->next_page;
		} else if ((lin >> 12) != (lin0 >> 12) || straddle) {
			xl_emit_direct_exit(x, g->eip);
			return true;
		}
	} else if (x->n == 0) blk->page[0] = first;
	else if (first != blk->page[0] || (last != blk->page[0] && blk->page[1] != ~0u)) {
		xl_emit_direct_exit(x, g->eip);   /* next page: new block */
		return true;
	}
	if (!paged && last != blk->page[0]) blk->page[1] = last;
	return false;
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
	struct cc_block *blk = begin_block(&x, code, room, single);
	gla_t eip = c->eip;
	gpa_t pa;
	gla_t lin0 = blk->cs_base + eip;
	for (;;) {
		x.imap[x.n] = (struct xl_imap){ .eip = eip,
			.host_off = (uint16_t)(x.b.p - code), .spill = -1 };
		gla_t lin = blk->cs_base + eip;
		if (!decode(&x, &g, eip, &pa)) {
			end_undecodable(&x, &g, eip, pa, lin);
			break;
		}
		if (page_ends_block(&x, &g, pa, lin, lin0))
			break;
		if (xl_debug_break && xl_debug_break(lin)) {
			xl_emit_reason_exit(&x, eip, EXIT_DEBUG, 0);
			x.n++;
			break;
		}
		if (vmm_adaptive_emulate(pa) && emu_can_step(g.z.mnemonic)) {
			/* this store kept faulting (a traced page table, device memory):
			 * a direct monitor call is cheaper than a host signal every time */
			if (xl_mmio_fast_ok(&x, &g))
				xl_translate_mmio_fast(&x, &g);   /* a load: maybe from a mirror */
			else
				xl_emit_reason_exit(&x, eip, EXIT_EMULATE, EMULATE_ADAPTIVE);
			xl_stats.adaptive++;
			x.n++;
			break;
		}
		translate_insn(&x, &g);
		x.n++;
		eip += g.z.length;
		if (x.ended) break;
		if (single || x.n >= XL_MAX_INSNS || x.b.p - code > XL_MAX_HOST_BYTES) {
			xl_emit_direct_exit(&x, eip);
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
