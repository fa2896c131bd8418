/*
 * moncall.c - sensitive instructions that call the monitor from translated code instead
 * of leaving it (the call itself: hostcall.c): INVLPG at CPL 0, and CPUID.
 *
 * A kernel flushes one page after every page-table store that takes rights away (a
 * copy-on-write fork, an munmap, mprotect), so INVLPG is frequent; as a monitor exit it
 * cost a run-loop pass and a decode each time.  What the monitor does for it needs no
 * guest state beyond the address and the vCPU: vmm_invlpg (monitor/memory.c) syncs the
 * page's entry in the current directory's windows (the shadow MMU: an unchanged entry
 * keeps its page, a changed one drops or lowers it) and drops the device-memory
 * translation cached by adaptive sites, exactly as the interpreted INVLPG does.  So the
 * site is translated as a call:
 *
 *     r10d = effective address            flat segments only: the linear address
 *     xl_emit_call_enter                  flags, caller-saved guest registers, XMM0-7,
 *     vmm_invlpg(la, vcpu)                on a stack of its own (hostcall.c)
 *     xl_emit_call_leave; popfq
 *     non-zero answer: leave for the run loop at the next instruction (EXIT_REQUEST)
 *
 * The answer is non-zero when the call dropped lookup entries of the running window: the
 * table must not be used before the run loop applies the drop (shadow-mmu: a lookup entry
 * lives only while its page is mapped), so translated code must not go on through an
 * indirect jump first.  The next instruction is reached by a chained direct exit, which is
 * not a lookup.  Only at CPL 0 (elsewhere INVLPG is #GP, left to the monitor), with flat
 * data segments, and not in one-instruction blocks (single steps, debug stepping).
 *
 * CPUID is a pure function of EAX and ECX here (emulation/cpuid.c: the CPU vmm386 offers
 * does not depend on the vCPU's state), so it is a call to emu_cpuid with a buffer, whose
 * four words are then loaded into EAX EBX ECX EDX.  A C library's start-up asks CPUID a
 * dozen times, in every process.  Any CPL; not in one-instruction blocks.
 *
 * Called from translate_insn; classified by xl_kind.
 */
#include "xl_int.h"

bool xl_invlpg_inline_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	return g->z.mnemonic == ZYDIS_MNEMONIC_INVLPG && !(x->mode & (XM_CPL_MASK | XM_NONFLAT | XM_SINGLE)) &&
	       (x->mode & XM_PROT) && !g->a16 && g->seg != S_FS && g->seg != S_GS && g->seg != S_CS;
}

void xl_translate_invlpg(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t popf[] = {0x9D}, call_rax[] = {0xFF, 0xD0}, test32[] = {0x85};
	struct xbuf *b = &x->b;
	xl_emit_offset(x, g, H_R10, 0);                              /* flat: linear */
	xl_emit_call_enter(b, false);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R10, H_RDI);                   /* la */
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R13, H_RSI);                /* vcpu */
	emit_mov_imm64(b, H_RAX, (uint64_t)(uintptr_t)vmm_invlpg);
	ebytes(b, call_rax, sizeof(call_rax));
	xl_emit_call_leave(b);
	emit_rr(b, 0, test32, 1, H_R11, H_R11);                      /* test r11d, r11d */
	e8(b, 0x0F); e8(b, 0x85);                                    /* jne look */
	uint8_t *look = b->p;
	e32(b, 0);
	ebytes(b, popf, 1);
	xl_emit_direct_exit(x, next_eip(g));
	patch_rel32(look, b->p);
	ebytes(b, popf, 1);
	xl_emit_reason_exit(x, next_eip(g), EXIT_REQUEST, 0);
	x->ended = true;
	xl_stats.invlpg_sites++;
}

bool xl_cpuid_inline_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	return g->z.mnemonic == ZYDIS_MNEMONIC_CPUID && !(x->mode & XM_SINGLE);
}

void xl_translate_cpuid(struct xl_ctx *x)
{
	static uint32_t out[4];
	static const uint8_t popf[] = {0x9D}, call_rax[] = {0xFF, 0xD0};
	struct xbuf *b = &x->b;
	emit_rr(b, 0, OP_MOV_ST, 1, H_RAX, H_R10);                   /* the leaf */
	emit_rr(b, 0, OP_MOV_ST, 1, H_RCX, H_R11);                   /* the subleaf */
	xl_emit_call_enter(b, false);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R10, H_RDI);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R11, H_RSI);
	emit_mov_imm64(b, H_RDX, (uint64_t)(uintptr_t)out);
	emit_mov_imm64(b, H_RAX, (uint64_t)(uintptr_t)emu_cpuid);
	ebytes(b, call_rax, sizeof(call_rax));
	xl_emit_call_leave(b);
	emit_mov_imm64(b, H_R10, (uint64_t)(uintptr_t)out);
	emit_mem(b, 0, OP_MOV_LD, 1, H_RAX, H_R10, -1, 0, 0);
	emit_mem(b, 0, OP_MOV_LD, 1, H_RBX, H_R10, -1, 0, 4);
	emit_mem(b, 0, OP_MOV_LD, 1, H_RCX, H_R10, -1, 0, 8);
	emit_mem(b, 0, OP_MOV_LD, 1, H_RDX, H_R10, -1, 0, 12);
	ebytes(b, popf, 1);
	xl_stats.cpuid_sites++;
}
