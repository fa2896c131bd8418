/*
 * hostcall.c - calling monitor C code from translated code without a monitor exit.
 *
 * Some instructions need the monitor but no run-loop pass (INVLPG, a store to a device's
 * register page): translated code calls a C function directly.  What the call must keep:
 *  - the guest's flags: they live in the host RFLAGS, so they are pushed (the one slot of
 *    the host stack translated code may use: tests/fuzz puts a canary below it) and DF is
 *    cleared for the C ABI;
 *  - the host stack: the call runs on a stack of its own (RSP kept in R14, callee-saved),
 *    16-byte aligned at the call as the ABI wants;
 *  - the guest registers held in caller-saved host registers: EAX ECX EDX ESI EDI (RAX RCX
 *    RDX RSI RDI) are pushed; EBX EBP ESP (RBX RBP R12) and R13 (vCPU) R15 (window) are
 *    callee-saved;
 *  - the guest's XMM0-7: the monitor is built without SIMD, but it calls libc (memcmp,
 *    memset, malloc) whose string functions use XMM/YMM registers (and end with VZEROUPPER),
 *    so the eight are stored on the call's stack and loaded back; MXCSR and the x87 state
 *    are not touched by those functions.
 * (xl_emit_call_enter(b, true) when the caller pushed the flags itself, to compare first.)
 * Between xl_emit_call_enter and xl_emit_call_leave the caller loads the arguments (RDI,
 * RSI, RDX; R10 and R11 survive enter, R14 does not) and calls; leave puts the answer (EAX)
 * in R11D and restores everything but the flags, which the caller pops (popfq) after it
 * looked at R11D.  Nothing between can fault.  Not reentrant, and it needs none: the
 * functions called never run guest code.  A signal taken meanwhile runs on this stack
 * (64 KiB) unless it has an alternate one.
 */
#include "xl_int.h"

static uint8_t call_stack[64 * 1024] __attribute__((aligned(16)));

void xl_emit_call_enter(struct xbuf *b, bool flags_pushed)
{
	static const uint8_t push[] = {0x50, 0x51, 0x52, 0x56, 0x57};
	static const uint8_t pushf[] = {0x9C}, cld[] = {0xFC}, sub_rsp[] = {0x48, 0x81, 0xEC};
	if (!flags_pushed)
		ebytes(b, pushf, 1);
	ebytes(b, cld, 1);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_RSP, H_R14);                /* r14 = rsp */
	/* 8 below an aligned top: five pushes and 128 bytes later RSP is aligned */
	emit_mov_imm64(b, H_RSP, (uint64_t)(uintptr_t)(call_stack + sizeof(call_stack) - 8));
	ebytes(b, push, sizeof(push));
	ebytes(b, sub_rsp, sizeof(sub_rsp));
	e32(b, 128);
	for (int i = 0; i < 8; i++) {                                /* movdqu [rsp+16i], xmm_i */
		e8(b, 0xF3); e8(b, 0x0F); e8(b, 0x7F);
		e8(b, (uint8_t)(0x44 | (i << 3))); e8(b, 0x24); e8(b, (uint8_t)(16 * i));
	}
}

void xl_emit_call_leave(struct xbuf *b)
{
	static const uint8_t pop[] = {0x5F, 0x5E, 0x5A, 0x59, 0x58}, add_rsp[] = {0x48, 0x81, 0xC4};
	emit_rr(b, 0, OP_MOV_ST, 1, H_RAX, H_R11);                   /* r11d = the answer */
	for (int i = 0; i < 8; i++) {                                /* movdqu xmm_i, [rsp+16i] */
		e8(b, 0xF3); e8(b, 0x0F); e8(b, 0x6F);
		e8(b, (uint8_t)(0x44 | (i << 3))); e8(b, 0x24); e8(b, (uint8_t)(16 * i));
	}
	ebytes(b, add_rsp, sizeof(add_rsp));
	e32(b, 128);
	ebytes(b, pop, sizeof(pop));
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R14, H_RSP);                /* back on the block's stack */
}
