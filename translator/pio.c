/*
 * pio.c - IN at CPL 0 as a direct call from translated code: a monitor call without an exit
 * and without a decode.
 *
 * A port read was a monitor exit (XSAVEOPT/XRSTOR of the guest FPU state, the run loop, a
 * Zydis decode in the emulator, a device poll with clock reads after it).  At CPL 0 the
 * I/O permission check always passes (CPL <= IOPL), so the translator emits a call with a
 * descriptor made at translation time (port or "DX", size) to xl_pio_in_call, which asks
 * the port bus (xl_pio_in_hook: the monitor sets it to devices/ dev_pio_in) and merges the
 * value into EAX as IN does (AL, AX or EAX).  The call is made as hostcall.c says (the
 * guest's flags in the one host-stack slot, a stack of its own, the caller-saved guest
 * registers and XMM0-7 kept: a device may call libc functions that use SIMD registers).
 * Nothing can fault.
 *
 * Only IN: a read changes no device deadline and raises no interrupt, so the run loop has
 * nothing to redo before the next instruction (a device that lowers its line only costs the
 * interrupt probe a needless exit).  OUT, INS/OUTS, CPL > 0 (the TSS bitmap), -d ioport
 * logging and single-step translations stay monitor calls.  Called from translate_insn
 * (translate.c) when classify.c chose K_PIO_IN.
 */
#include "xl_int.h"

uint32_t (*xl_pio_in_hook)(uint16_t port, int size);
uint64_t xl_pio_calls;

#define PIO_DX 0x10000u     /* descriptor: the port is DX */

bool xl_pio_in_ok(const struct xl_ctx *x, const struct ginsn *g)
{
	uint8_t op = g->bytes[g->opc];
	return g->z.mnemonic == ZYDIS_MNEMONIC_IN && (op == 0xE4 || op == 0xE5 || op == 0xEC || op == 0xED) &&
	       (x->mode & (XM_CPL_MASK | XM_SINGLE)) == 0 && xl_pio_in_hook && !(vmm_log_mask & LOG_IOPORT);
}

/* The new EAX after IN with descriptor desc (size << 20 | port, or PIO_DX). */
static uint32_t xl_pio_in_call(uint32_t desc, uint32_t eax, uint32_t edx)
{
	uint16_t port = (desc & PIO_DX) ? (uint16_t)edx : (uint16_t)desc;
	int size = (int)(desc >> 20);
	uint32_t v = xl_pio_in_hook(port, size);
	xl_pio_calls++;
	uint32_t keep = size == 4 ? 0 : size == 2 ? 0xFFFF0000u : 0xFFFFFF00u;
	return (eax & keep) | (v & ~keep);
}

void xl_translate_pio_in(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t call_rax[] = {0xFF, 0xD0};
	struct xbuf *b = &x->b;
	uint8_t op = g->bytes[g->opc];
	unsigned size = (op == 0xE4 || op == 0xEC) ? 1 : g->o16 ? 2 : 4;
	uint32_t desc = (size << 20) | (op == 0xEC || op == 0xED ? PIO_DX : (uint32_t)g->z.raw.imm[0].value.u & 0xFF);
	xl_emit_call_enter(b, false);
	emit_rr(b, 0, OP_MOV_ST, 1, H_RAX, H_RSI);              /* esi = EAX */
	emit_mov_imm64(b, H_RDI, desc);                          /* (edx = EDX already) */
	emit_mov_imm64(b, H_RAX, (uint64_t)(uintptr_t)xl_pio_in_call);
	ebytes(b, call_rax, 2);
	xl_emit_call_leave(b);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R11, H_RAX);              /* EAX = the answer */
	ebytes(b, OP_POPF, 1);
	xl_stats.pio_sites++;
}
