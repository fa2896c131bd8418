/*
 * emit.h - a tiny x86-64 assembler for the handful of host instruction forms that the
 * translator generates around guest instructions.  Only flag-neutral forms are used in
 * code that runs between guest instructions (MOV, LEA, MOVZX, NOT, JMP, JRCXZ).
 */
#ifndef EMIT_H
#define EMIT_H

#include <stdint.h>
#include <string.h>
#include "xl_asm.h"
#include "../codecache/patch.h"   /* patch_rel32 */

struct xbuf {
	uint8_t *p;     /* next byte */
	uint8_t *start; /* first byte of the block */
	uint8_t *end;   /* limit */
};

static inline void e8(struct xbuf *b, uint8_t v) { *b->p++ = v; }
static inline void e16(struct xbuf *b, uint16_t v) { memcpy(b->p, &v, 2); b->p += 2; }
static inline void e32(struct xbuf *b, uint32_t v) { memcpy(b->p, &v, 4); b->p += 4; }
static inline void e64(struct xbuf *b, uint64_t v) { memcpy(b->p, &v, 8); b->p += 8; }
static inline void ebytes(struct xbuf *b, const uint8_t *s, unsigned n) { if (n) memcpy(b->p, s, n); b->p += n; }

/* Prefix flags for emit_mem: GS segment and 32-bit address size (guest memory). */
#define EM_GS   1
#define EM_A32  2
#define EM_O16  4
#define EM_W    8   /* REX.W */
#define EM_GUEST (EM_GS | EM_A32)

/*
 * Emit [prefixes] [REX] op... ModRM [SIB] [disp] for `reg, [base + index*scale + disp]`.
 * base/index are host register numbers or -1 (index 4 = RSP is not allowed as index).
 * Returns nothing; the caller appends any immediate.
 */
static inline void emit_mem(struct xbuf *b, unsigned flags, const uint8_t *op, unsigned oplen,
			    int reg, int base, int index, int scale, int32_t disp)
{
	uint8_t rex = 0x40;
	if (flags & EM_GS) e8(b, 0x65);
	if (flags & EM_A32) e8(b, 0x67);
	if (flags & EM_O16) e8(b, 0x66);
	if (flags & EM_W) rex |= 8;
	if (reg & 8) rex |= 4;
	if (index >= 0 && (index & 8)) rex |= 2;
	if (base >= 0 && (base & 8)) rex |= 1;
	if (rex != 0x40) e8(b, rex);
	ebytes(b, op, oplen);
	int mod;
	if (base < 0) mod = 0;
	else if (disp == 0 && (base & 7) != 5) mod = 0;
	else if (disp >= -128 && disp <= 127) mod = 1;
	else mod = 2;
	if (base < 0 || index >= 0 || (base & 7) == 4) {
		int sbase = base < 0 ? 5 : (base & 7);
		int sidx = index < 0 ? 4 : (index & 7);
		int ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
		e8(b, (uint8_t)((mod << 6) | ((reg & 7) << 3) | 4));
		e8(b, (uint8_t)((ss << 6) | (sidx << 3) | sbase));
	} else {
		e8(b, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (base & 7)));
	}
	if (base < 0 || mod == 2) e32(b, (uint32_t)disp);
	else if (mod == 1) e8(b, (uint8_t)disp);
}

/* op reg, rm (register form), 32-bit unless EM_W. */
static inline void emit_rr(struct xbuf *b, unsigned flags, const uint8_t *op, unsigned oplen,
			   int reg, int rm)
{
	uint8_t rex = 0x40 | ((flags & EM_W) ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rm & 8) ? 1 : 0);
	if (flags & EM_O16) e8(b, 0x66);
	if (rex != 0x40) e8(b, rex);
	ebytes(b, op, oplen);
	e8(b, (uint8_t)(0xC0 | ((reg & 7) << 3) | (rm & 7)));
}

static const uint8_t OP_MOV_ST[] = {0x89}, OP_MOV_LD[] = {0x8B}, OP_LEA[] = {0x8D};
static const uint8_t OP_MOV_IMM[] = {0xC7}, OP_MOVZX16[] = {0x0F, 0xB7};
static const uint8_t OP_MOVZX8[] = {0x0F, 0xB6}, OP_MOV_LD8[] = {0x8A};

/* mov dword [r13 + off], imm32 */
static inline void emit_vcpu_imm32(struct xbuf *b, int off, uint32_t imm)
{
	emit_mem(b, 0, OP_MOV_IMM, 1, 0, H_R13, -1, 0, off);
	e32(b, imm);
}
/* mov [r13 + off], reg (64-bit when w) */
static inline void emit_vcpu_store(struct xbuf *b, int off, int reg, int w)
{
	emit_mem(b, w ? EM_W : 0, OP_MOV_ST, 1, reg, H_R13, -1, 0, off);
}
static inline void emit_vcpu_load(struct xbuf *b, int reg, int off, int w)
{
	emit_mem(b, w ? EM_W : 0, OP_MOV_LD, 1, reg, H_R13, -1, 0, off);
}
/* lea r32, [base + disp] (32-bit wrap) */
static inline void emit_lea32(struct xbuf *b, int reg, int base, int index, int32_t disp)
{
	emit_mem(b, 0, OP_LEA, 1, reg, base, index, 1, disp);
}
/* mov r64, imm64 */
static inline void emit_mov_imm64(struct xbuf *b, int reg, uint64_t imm)
{
	e8(b, (uint8_t)(0x48 | ((reg & 8) ? 1 : 0)));
	e8(b, (uint8_t)(0xB8 | (reg & 7)));
	e64(b, imm);
}
/* jmp rel32 to target; returns the address of the rel32 field. */
static inline uint8_t *emit_jmp32(struct xbuf *b, const void *target)
{
	e8(b, 0xE9);
	uint8_t *rel = b->p;
	e32(b, (uint32_t)((const uint8_t *)target - (rel + 4)));
	return rel;
}
#endif
