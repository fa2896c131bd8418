/*
 * exc_fast.c - which exceptions from CPL 3 the translator delivers inline, and the code
 * around them: UD2 (#UD every time) and DIV/IDIV by a 32- or 16-bit register (#DE when the
 * divisor is zero, tested flag-free before the instruction).  The delivery itself is
 * ring_cache.c's (xl_emit_exc_fast: the cached IDT gate, TSS and descriptors, as INT n);
 * its code gets an instruction-map entry of its own at the same EIP, marked XI_PUSHF and
 * XI_FASTRING, so a host fault while it pushes the frame sends the instruction to the
 * monitor, while the DIV that follows has a plain entry (its overflow #DE comes as SIGFPE
 * and monitor/signals.c delivers it).  Called from translate_insn (translate.c) when
 * classify.c chose K_UD_FAST or K_DIV_FAST.
 */
#include "xl_int.h"

/* New instruction-map entry for g from here on, with fix-ups fix. */
static void new_imap_entry(struct xl_ctx *x, const struct ginsn *g, uint16_t fix)
{
	x->n++;
	x->imap[x->n] = (struct xl_imap){ .eip = g->eip, .host_off = (uint16_t)(x->b.p - x->b.start),
		.fix = fix, .spill = -1 };
}

/* Which inline exception g may raise in this mode: K_UD_FAST (UD2), K_DIV_FAST (DIV/IDIV by
 * a 32- or 16-bit register, #DE on a zero divisor) or K_EMULATE for none. */
enum xk xl_exc_kind(const struct xl_ctx *x, const struct ginsn *g)
{
	if ((x->mode & (XM_PROT | XM_PG | XM_SINGLE | XM_NONFLAT | XM_CPL_MASK)) != (XM_PROT | XM_PG | 3))
		return K_EMULATE;
	if (g->z.mnemonic == ZYDIS_MNEMONIC_UD2)
		return K_UD_FAST;
	if ((g->z.mnemonic == ZYDIS_MNEMONIC_DIV || g->z.mnemonic == ZYDIS_MNEMONIC_IDIV) &&
	    g->bytes[g->opc] == 0xF7 && g->z.raw.modrm.mod == 3)
		return K_DIV_FAST;
	return K_EMULATE;
}

void xl_translate_ud_fast(struct xl_ctx *x, const struct ginsn *g)
{
	x->imap[x->n].fix |= XI_PUSHF | XI_FASTRING;
	xl_emit_exc_fast(x, g, EXC_UD);
}

/*
 * DIV/IDIV r32 or r16: a flag-free test of the divisor (JRCXZ on a copy in ECX, RCX kept
 * in R11), the #DE delivery for zero out of the way, then the instruction itself (whose
 * own #DE on an overflow still comes as SIGFPE).  Three map entries, all at g's EIP.
 */
void xl_translate_div_fast(struct xl_ctx *x, const struct ginsn *g)
{
	struct xbuf *b = &x->b;
	static const uint8_t movzx16[] = {0x0F, 0xB7};
	int src = hreg(g->z.raw.modrm.rm);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_RCX, H_R11);               /* mov r11, rcx */
	if (g->o16)
		emit_rr(b, 0, movzx16, 2, H_RCX, src);              /* movzx ecx, src16 */
	else
		emit_rr(b, 0, OP_MOV_ST, 1, src, H_RCX);            /* mov ecx, src32 */
	e8(b, 0xE3); e8(b, 3 + 5);                                  /* jrcxz zero */
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);               /* mov rcx, r11 */
	uint8_t *over = emit_jmp32(b, b->p + 5);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R11, H_RCX);               /* zero: mov rcx, r11 */
	new_imap_entry(x, g, XI_PUSHF | XI_FASTRING);
	xl_emit_exc_fast(x, g, EXC_DE);
	x->ended = false;
	patch_rel32(over, b->p);
	new_imap_entry(x, g, 0);
	xl_translate_ident(x, g);
}
