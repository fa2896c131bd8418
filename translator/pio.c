/*
 * pio.c - IN at CPL 0 as a direct call from translated code: a monitor call without an exit
 * and without a decode.
 *
 * A port read was a monitor exit (XSAVEOPT/XRSTOR of the guest FPU state, the run loop, a
 * Zydis decode in the emulator, a device poll with clock reads after it).  At CPL 0 the
 * I/O permission check always passes (CPL <= IOPL), so the translator emits a call with a
 * descriptor made at translation time (port or "DX", size) to xl_pio_in_call, which asks
 * the port bus (xl_pio_in_hook: the monitor sets it to devices/ dev_pio_in) and merges the
 * value into EAX as IN does (AL, AX or EAX).  Around the call: the guest's RFLAGS pushed
 * (the one host-stack slot translated code may use; DF cleared for the C ABI), then a
 * switch to a private stack (RSP kept in R14, callee-saved), where the caller-saved
 * registers that hold guest state (RAX, RCX, RDX, RSI, RDI) are pushed (five pushes from 8
 * below a 16-byte aligned top: the call is aligned as the ABI wants), and the guest's XMM0-7
 * saved around the bus call, since a device
 * may call libc functions that use SIMD registers (the monitor itself is built without
 * them; libc's string functions touch neither x87 nor MXCSR and end with VZEROUPPER).
 * FXSAVE/FXRSTOR instead cost 300 ns a call here.  Nothing can fault.
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
/* The call's own stack: translated code may use one slot of the host stack, no more
 * (tests/fuzz checks it with a canary). */
static uint8_t pio_stack[64 * 1024] __attribute__((aligned(16)));

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
	static uint8_t xmm[8][16] __attribute__((aligned(16)));
	uint16_t port = (desc & PIO_DX) ? (uint16_t)edx : (uint16_t)desc;
	int size = (int)(desc >> 20);
	__asm__ volatile("movdqa %%xmm0, 0(%0)\n\tmovdqa %%xmm1, 16(%0)\n\tmovdqa %%xmm2, 32(%0)\n\t"
			 "movdqa %%xmm3, 48(%0)\n\tmovdqa %%xmm4, 64(%0)\n\tmovdqa %%xmm5, 80(%0)\n\t"
			 "movdqa %%xmm6, 96(%0)\n\tmovdqa %%xmm7, 112(%0)" : : "r"(xmm) : "memory");
	uint32_t v = xl_pio_in_hook(port, size);
	__asm__ volatile("movdqa 0(%0), %%xmm0\n\tmovdqa 16(%0), %%xmm1\n\tmovdqa 32(%0), %%xmm2\n\t"
			 "movdqa 48(%0), %%xmm3\n\tmovdqa 64(%0), %%xmm4\n\tmovdqa 80(%0), %%xmm5\n\t"
			 "movdqa 96(%0), %%xmm6\n\tmovdqa 112(%0), %%xmm7" : : "r"(xmm) : "memory");
	xl_pio_calls++;
	uint32_t keep = size == 4 ? 0 : size == 2 ? 0xFFFF0000u : 0xFFFFFF00u;
	return (eax & keep) | (v & ~keep);
}

void xl_translate_pio_in(struct xl_ctx *x, const struct ginsn *g)
{
	static const uint8_t cld[] = {0xFC}, call_rax[] = {0xFF, 0xD0};
	static const uint8_t push[] = {0x50}, pop[] = {0x58};
	static const int saved[5] = {H_RAX, H_RCX, H_RDX, H_RSI, H_RDI};
	struct xbuf *b = &x->b;
	uint8_t op = g->bytes[g->opc];
	unsigned size = (op == 0xE4 || op == 0xEC) ? 1 : g->o16 ? 2 : 4;
	uint32_t desc = (size << 20) | (op == 0xEC || op == 0xED ? PIO_DX : (uint32_t)g->z.raw.imm[0].value.u & 0xFF);
	ebytes(b, OP_PUSHF, 1);
	ebytes(b, cld, 1);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_RSP, H_R14);            /* r14 = rsp (callee-saved) */
	emit_mov_imm64(b, H_RSP, (uint64_t)(uintptr_t)(pio_stack + sizeof(pio_stack) - 8));
	for (int i = 0; i < 5; i++)
		e8(b, (uint8_t)(push[0] + saved[i]));
	emit_rr(b, 0, OP_MOV_ST, 1, H_RAX, H_RSI);              /* esi = EAX */
	emit_mov_imm64(b, H_RDI, desc);                          /* (edx = EDX already) */
	emit_mov_imm64(b, H_RAX, (uint64_t)(uintptr_t)xl_pio_in_call);
	ebytes(b, call_rax, 2);
	for (int i = 4; i >= 1; i--)
		e8(b, (uint8_t)(pop[0] + saved[i]));
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R14, H_RSP);            /* back on the block's stack */
	ebytes(b, OP_POPF, 1);
	xl_stats.pio_sites++;
}
