/*
 * debugreg.c - the guest's own breakpoints: what DR0-DR3 and DR7 ask for, and whether an
 * instruction meets them (Intel SDM vol. 3, ch. 17).  The monitor (monitor/debug.c)
 * decides when to ask; this file only knows the architecture.
 *
 * DR7 holds, per breakpoint n, the enables Ln (bit 2n) and Gn (bit 2n+1) - both mean
 * "enabled" here, as there are no task switches that would clear the local ones - and R/Wn
 * (bits 16+4n) and LENn (bits 18+4n).  R/W 00 is an instruction breakpoint (LEN is taken
 * as 1 byte), 01 a data write breakpoint, 11 a data read-or-write breakpoint; 10 (I/O) is
 * defined only with CR4.DE, which this CPU does not offer (cpuid.c), so it never matches.
 * A data breakpoint covers LEN bytes (1, 2, 4; LEN 10 is 8 bytes as on later CPUs) at DRn
 * with its low bits cleared, as the CPU aligns it.
 *
 * When a breakpoint condition is met, DR6 B0-B3 are replaced by the breakpoints that
 * matched (as QEMU and the CPUs do; a matching breakpoint that is not enabled is reported
 * too, but does not by itself raise #DB); BS, BD and the reserved bits are kept, so BS
 * (single step) accumulates with a data breakpoint hit on the same instruction.
 *
 * Data accesses are found from the instruction before it runs: every memory operand
 * Zydis reports, explicit or hidden (the stack slot of PUSH/CALL/PUSHA, below ESP; the
 * ESI/EDI elements of string instructions), with its read/write action, at the linear
 * address its segment gives.  A REP string instruction is taken as one access covering
 * all its remaining elements, so its #DB comes after the whole instruction rather than
 * after the element that touched the breakpoint (a deviation).  Accesses the CPU makes on
 * its own (descriptor tables, the TSS, an exception frame) are not checked.
 */
#include "emu_int.h"

#define DR7_RW(dr7, n)  (((dr7) >> (16 + 4 * (n))) & 3u)
#define DR7_LEN(dr7, n) (((dr7) >> (18 + 4 * (n))) & 3u)
#define DR7_EN(dr7, n)  (((dr7) >> (2 * (n))) & 3u)
enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RDWR = 3 };

static unsigned dr_len(uint32_t dr7, int n)
{
	static const unsigned len[4] = { 1, 2, 8, 4 };
	return len[DR7_LEN(dr7, n)];
}

unsigned emu_dr_enabled(const struct vcpu *c, bool data)
{
	unsigned bits = 0;
	for (int n = 0; n < 4; n++) {
		unsigned rw = DR7_RW(c->dr[7], n);
		if (DR7_EN(c->dr[7], n) && (data ? (rw == RW_WRITE || rw == RW_RDWR) : rw == RW_EXEC))
			bits |= 1u << n;
	}
	return bits;
}

unsigned emu_dr_exec_hits(const struct vcpu *c, gla_t la)
{
	unsigned bits = 0;
	for (int n = 0; n < 4; n++)
		if (DR7_RW(c->dr[7], n) == RW_EXEC && c->dr[n] == la)
			bits |= 1u << n;
	return bits;
}

/* Breakpoints of kind `write` (or read-or-write) that [la, la+len) overlaps. */
static unsigned data_hits(const struct vcpu *c, uint32_t la, uint64_t len, bool write)
{
	unsigned bits = 0;
	for (int n = 0; n < 4; n++) {
		unsigned rw = DR7_RW(c->dr[7], n), blen = dr_len(c->dr[7], n);
		uint64_t lo = c->dr[n] & ~(uint32_t)(blen - 1);
		if (!DR7_EN(c->dr[7], n) || !(rw == RW_RDWR || (rw == RW_WRITE && write)))
			continue;
		if ((uint64_t)la < lo + blen && lo < (uint64_t)la + len)
			bits |= 1u << n;
	}
	return bits;
}

/* The bytes memory operand i covers: [*la, *la + *len), all REP elements included. */
static void operand_range(const struct vcpu *c, const struct insn *in, int i, uint32_t *la,
			  uint64_t *len)
{
	const ZydisDecodedOperand *o = &in->op[i];
	int sreg;
	uint32_t off;
	emu_op_addr(c, in, i, &sreg, &off);
	*len = o->size / 8;
	if (o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN && (o->actions & ZYDIS_OPERAND_ACTION_WRITE) &&
	    (o->mem.base == ZYDIS_REGISTER_ESP || o->mem.base == ZYDIS_REGISTER_SP))
		off -= (uint32_t)*len;                 /* a push: the slot below ESP */
	if (in->z.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) {
		uint64_t n = in->asz == 2 ? (c->regs[R_ECX] & 0xFFFF) : c->regs[R_ECX];
		if (c->eflags & FL_DF)
			off -= (uint32_t)((n - 1) * *len);
		*len *= n;
	}
	*la = c->seg[sreg].base + off;
}

bool emu_insn_accesses(struct vcpu *c, emu_access_fn fn, void *opaque)
{
	struct insn in;
	int vec = c->exc_vector;
	bool has = c->exc_has_error;
	uint32_t err = c->exc_error, cr2 = c->cr2;
	if (emu_insn_decode(c, &in)) {         /* it faults when it runs: nothing to report */
		c->exc_vector = vec, c->exc_has_error = has, c->exc_error = err, c->cr2 = cr2;
		return false;
	}
	for (int i = 0; i < in.z.operand_count; i++) {
		const ZydisDecodedOperand *o = &in.op[i];
		uint32_t la;
		uint64_t len;
		if (o->type != ZYDIS_OPERAND_TYPE_MEMORY || o->mem.type != ZYDIS_MEMOP_TYPE_MEM)
			continue;
		operand_range(c, &in, i, &la, &len);
		fn(opaque, la, len, (o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0);
	}
	return true;
}

static void add_hits(void *opaque, gla_t la, uint64_t len, bool write)
{
	struct { const struct vcpu *c; unsigned bits; } *h = opaque;
	h->bits |= data_hits(h->c, la, len, write);
}

unsigned emu_dr_data_hits(struct vcpu *c)
{
	struct { const struct vcpu *c; unsigned bits; } h = { c, 0 };
	emu_insn_accesses(c, add_hits, &h);
	return h.bits;
}

unsigned emu_dr_data_match(const struct vcpu *c, gla_t la, uint64_t len, bool write)
{
	return data_hits(c, la, len, write);
}

void emu_dr_report(struct vcpu *c, unsigned bits, uint32_t status)
{
	if (bits)
		c->dr[6] = (c->dr[6] & ~0xFu) | (bits & 0xFu);
	c->dr[6] |= status;
}
