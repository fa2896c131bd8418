/*
 * decode.c - fetch and decode one guest instruction with Zydis, and reach its operands.
 *
 * Fetch reads CS.base + EIP with execute access: first up to the end of the page (and the CS
 * limit, and 15 bytes), then, only if Zydis needs more, the rest from the next page.  So an
 * instruction faults on its second page only if it really extends into it, and an
 * instruction running past the CS limit or longer than 15 bytes is #GP(0).  Anything Zydis
 * rejects (unknown opcode, bad register such as MOV CS, LOCK where not allowed) is #UD.
 * The decoder mode follows CS.D (32- or 16-bit code segment).
 *
 * Operands: registers are read and written by their Zydis name (AL..BH, AX..DI, EAX..EDI,
 * ES..GS); memory operands are computed from base + index * scale + displacement, wrapped to
 * the address size (0x67 selects 16-bit addressing), in the segment Zydis resolved (default
 * DS/SS or the override prefix), and accessed through emu_seg_read/emu_seg_write with their
 * limit and type checks.
 */
#include "emu_int.h"

static ZydisDecoder decoder32, decoder16;
static bool decoders_ready;

static void decoders_init(void)
{
	ZydisDecoderInit(&decoder32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	ZydisDecoderInit(&decoder16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
	decoders_ready = true;
}

static ZyanStatus zdecode(const struct vcpu *c, struct insn *in, const uint8_t *buf,
			  unsigned len)
{
	const ZydisDecoder *d = (c->seg[S_CS].attr & SEGA_DB) ? &decoder32 : &decoder16;
	return ZydisDecoderDecodeFull(d, buf, len, &in->z, in->op);
}

/* Returns 0, or -1 with #PF / #GP(0) / #UD raised.  Fills in->next, osz, asz. */
int emu_insn_decode(struct vcpu *c, struct insn *in)
{
	const struct seg *cs = &c->seg[S_CS];
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
	gla_t la = cs->base + c->eip;
	unsigned room, have;
	ZyanStatus st;

	if (unlikely(!decoders_ready))
		decoders_init();
	if (unlikely(c->eip > cs->limit))
		return emu_raise(c, EXC_GP, 0);
	room = cs->limit - c->eip >= sizeof(buf) - 1 ? sizeof(buf) : cs->limit - c->eip + 1;
	have = GUEST_PAGE - (la & (GUEST_PAGE - 1));
	if (have > room)
		have = room;
	if (emu_lin_read_acc(c, la, buf, have, ACC_X))
		return -1;
	st = zdecode(c, in, buf, have);
	if (st == ZYDIS_STATUS_NO_MORE_DATA && have < room) {
		if (emu_lin_read_acc(c, la + have, buf + have, room - have, ACC_X))
			return -1;
		st = zdecode(c, in, buf, room);
	}
	if (unlikely(st == ZYDIS_STATUS_NO_MORE_DATA || st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG))
		return emu_raise(c, EXC_GP, 0);
	if (unlikely(!ZYAN_SUCCESS(st)))
		return emu_raise(c, EXC_UD, 0);
	in->next = c->eip + in->z.length;
	if (!(cs->attr & SEGA_DB))
		in->next &= 0xFFFF;
	in->osz = in->z.operand_width / 8;
	in->asz = in->z.address_width / 8;
	return 0;
}

/* Segment register number of a Zydis segment register, or -1. */
int emu_zreg_sreg(ZydisRegister r)
{
	if (ZydisRegisterGetClass(r) != ZYDIS_REGCLASS_SEGMENT)
		return -1;
	return ZydisRegisterGetId(r);   /* ES CS SS DS FS GS: encoding order */
}

uint32_t emu_reg_read(const struct vcpu *c, ZydisRegister r)
{
	int id = ZydisRegisterGetId(r);

	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8:
		return id < 4 ? c->regs[id] & 0xFF : (c->regs[id - 4] >> 8) & 0xFF;
	case ZYDIS_REGCLASS_GPR16:
		return c->regs[id] & 0xFFFF;
	case ZYDIS_REGCLASS_GPR32:
		return c->regs[id];
	case ZYDIS_REGCLASS_SEGMENT:
		return c->seg[id].sel;
	default:
		vmm_panic("emulation: read of register %s", ZydisRegisterGetString(r));
	}
}

void emu_reg_write(struct vcpu *c, ZydisRegister r, uint32_t v)
{
	int id = ZydisRegisterGetId(r);

	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8:
		if (id < 4)
			c->regs[id] = (c->regs[id] & ~0xFFu) | (v & 0xFF);
		else
			c->regs[id - 4] = (c->regs[id - 4] & ~0xFF00u) | ((v & 0xFF) << 8);
		break;
	case ZYDIS_REGCLASS_GPR16:
		c->regs[id] = (c->regs[id] & ~0xFFFFu) | (v & 0xFFFF);
		break;
	case ZYDIS_REGCLASS_GPR32:
		c->regs[id] = v;
		break;
	default:
		vmm_panic("emulation: write of register %s", ZydisRegisterGetString(r));
	}
}

bool emu_op_is_reg(const struct insn *in, int i, ZydisRegisterClass cls)
{
	return in->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       ZydisRegisterGetClass(in->op[i].reg.value) == cls;
}

/* Segment and offset of memory operand i. */
void emu_op_addr(const struct vcpu *c, const struct insn *in, int i, int *sreg, uint32_t *off)
{
	const ZydisDecodedOperand *o = &in->op[i];
	uint32_t ea = (uint32_t)o->mem.disp.value;

	if (o->mem.base != ZYDIS_REGISTER_NONE)
		ea += emu_reg_read(c, o->mem.base);
	if (o->mem.index != ZYDIS_REGISTER_NONE)
		ea += emu_reg_read(c, o->mem.index) * o->mem.scale;
	if (in->asz == 2)
		ea &= 0xFFFF;
	*off = ea;
	*sreg = emu_zreg_sreg(o->mem.segment);
	if (unlikely(*sreg < 0))
		*sreg = S_DS;
}

/* Operand i as a value: register, immediate (sign-extended as encoded) or memory. */
int emu_op_read(struct vcpu *c, const struct insn *in, int i, uint32_t *v)
{
	const ZydisDecodedOperand *o = &in->op[i];
	uint32_t off;
	int sreg;

	switch (o->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		*v = emu_reg_read(c, o->reg.value);
		return 0;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		*v = (uint32_t)o->imm.value.u;
		return 0;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		if (unlikely(o->size > 32))
			vmm_panic("emulation: %u-bit operand read as a value", o->size);
		emu_op_addr(c, in, i, &sreg, &off);
		*v = 0;
		return emu_seg_read(c, sreg, off, v, o->size / 8);
	default:
		vmm_panic("emulation: operand type %d", o->type);
	}
}

int emu_op_write(struct vcpu *c, const struct insn *in, int i, uint32_t v)
{
	const ZydisDecodedOperand *o = &in->op[i];
	uint32_t off;
	int sreg;

	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		emu_reg_write(c, o->reg.value, v);
		return 0;
	}
	if (unlikely(o->type != ZYDIS_OPERAND_TYPE_MEMORY))
		vmm_panic("emulation: write to operand type %d", o->type);
	emu_op_addr(c, in, i, &sreg, &off);
	return emu_seg_write(c, sreg, off, &v, o->size / 8);
}

/* ESI/EDI/ECX update of string instructions: only the low 16 bits with 16-bit addressing. */
void emu_addr_reg_add(struct vcpu *c, int reg, int32_t delta, unsigned asz)
{
	uint32_t m = asz == 2 ? 0xFFFFu : 0xFFFFFFFFu;
	c->regs[reg] = (c->regs[reg] & ~m) | ((c->regs[reg] + (uint32_t)delta) & m);
}

uint32_t emu_parity(uint32_t v)
{
	return (__builtin_popcount(v & 0xFF) & 1) ? 0 : FL_PF;
}
