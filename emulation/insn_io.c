/*
 * insn_io.c - handlers for port I/O: IN, OUT, INS, OUTS (with REP), dispatched to the
 * port bus in devices/ (dev_pio_in / dev_pio_out).
 *
 * Permission: at CPL <= IOPL always; otherwise the I/O permission bitmap of the current
 * 32-bit TSS decides: every bit for the accessed ports must be clear.  The bitmap offset is
 * the word at TSS+0x66; the CPU reads two bitmap bytes, and either lying beyond the TSS limit
 * (or no 32-bit TSS at all) is #GP(0).
 *
 * String forms: INS stores to ES:(E)DI (no override), OUTS reads seg:(E)SI (override
 * allowed); the address size picks SI/DI/CX or ESI/EDI/ECX; DF picks the direction.  Each
 * element is checked before the port is touched, and registers advance per element, so a
 * fault in the middle of REP leaves ECX/ESI/EDI at the element that faulted (restartable).
 * A long REP stops after EMU_STRING_BATCH elements with EIP still on the instruction, so the run
 * loop can take interrupts and come back.
 *
 * Block transfers: a forward REP INS/OUTS on a port with a block hook (a disk's data
 * register) moves as many elements as lie in the current page in one bus call; the range is
 * checked first, and anything the fast path does not cover (a fault, a page-straddling
 * element, no hook, DF set) falls back to the element-by-element loop, so faults stay exact.
 */
#include "emu_int.h"
#include "../devices/devices.h"

#define TSS_IOMAP_OFF 0x66u
#define TSS32_MIN_LIMIT 0x67u

static int io_permitted(struct vcpu *c, uint16_t port, unsigned size)
{
	const struct seg *tr = &c->tr;
	uint16_t base;
	uint8_t bm[2];
	uint32_t off;

	if ((unsigned)c->cpl <= IOPL(c))
		return 0;
	if (unlikely(!(tr->attr & SEGA_P) || (SEGA_TYPE(tr->attr) & ~2u) != SYST_TSS32 ||
		     tr->limit < TSS32_MIN_LIMIT))
		return emu_raise(c, EXC_GP, 0);
	if (emu_lin_read_acc(c, tr->base + TSS_IOMAP_OFF, &base, 2, ACC_SYS))
		return -1;
	off = (uint32_t)base + port / 8;
	if (unlikely(off + 1 > tr->limit))
		return emu_raise(c, EXC_GP, 0);
	if (emu_lin_read_acc(c, tr->base + off, bm, 2, ACC_SYS))
		return -1;
	if (unlikely(((bm[0] | bm[1] << 8) >> (port & 7)) & ((1u << size) - 1)))
		return emu_raise(c, EXC_GP, 0);
	return 0;
}

/* Port operand of IN/OUT: imm8 or DX. */
static uint16_t io_port(const struct vcpu *c, const struct insn *in, int i)
{
	if (in->op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return (uint16_t)(in->op[i].imm.value.u & 0xFF);
	return (uint16_t)c->regs[R_EDX];
}

/* Port access through the bus, logged under -d ioport. */
static uint32_t pio_in(uint16_t port, unsigned size)
{
	uint32_t v = dev_pio_in(port, (int)size);
	if (LOG_ON(LOG_IOPORT))
		vmm_log("ioport: in%c  %#06x -> %#x\n", "bw?l"[size - 1], port, v);
	return v;
}

static void pio_out(uint16_t port, unsigned size, uint32_t v)
{
	if (LOG_ON(LOG_IOPORT))
		vmm_log("ioport: out%c %#06x <- %#x\n", "bw?l"[size - 1], port, v);
	dev_pio_out(port, (int)size, v);
}

EMU_HANDLER(in)
{
	unsigned size = in->op[0].size / 8;
	uint16_t port = io_port(c, in, 1);

	if (io_permitted(c, port, size))
		return -1;
	emu_reg_write(c, in->op[0].reg.value, pio_in(port, size));
	return 0;
}

EMU_HANDLER(out)
{
	unsigned size = in->op[1].size / 8;
	uint16_t port = io_port(c, in, 0);

	if (io_permitted(c, port, size))
		return -1;
	pio_out(port, size, emu_reg_read(c, in->op[1].reg.value));
	return 0;
}

static bool has_rep(const struct insn *in)
{
	return in->z.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
				   ZYDIS_ATTRIB_HAS_REPNE);
}

/* Move one INS/OUTS element at offset `off`: 0, or -1 with a fault raised. */
typedef int (*string_elem)(struct vcpu *c, const struct insn *in, uint16_t port,
			   unsigned size, uint32_t off);

static int ins_elem(struct vcpu *c, const struct insn *in, uint16_t port, unsigned size,
		    uint32_t off)
{
	uint32_t v;

	(void)in;
	if (emu_seg_probe(c, S_ES, off, size, true))
		return -1;
	v = pio_in(port, size);
	return emu_seg_write(c, S_ES, off, &v, size);
}

static int outs_elem(struct vcpu *c, const struct insn *in, uint16_t port, unsigned size,
		     uint32_t off)
{
	int sreg = emu_zreg_sreg(in->op[1].mem.segment);
	uint32_t v = 0;

	if (emu_seg_read(c, sreg < 0 ? S_DS : sreg, off, &v, size))
		return -1;
	pio_out(port, size, v);
	return 0;
}

/* Up to count elements in one bus call within the page at the index register: the number
 * moved, 0 if the fast path does not apply. */
static unsigned string_block(struct vcpu *c, struct insn *in, uint16_t port, unsigned size,
			     int idx, uint32_t count, uint32_t amask)
{
	bool ins = idx == R_EDI;
	int sreg = ins ? S_ES : emu_zreg_sreg(in->op[1].mem.segment);
	uint32_t off = c->regs[idx] & amask;
	uint8_t buf[GUEST_PAGE];
	uint32_t n;

	if (!dev_pio_has_block(port, (int)size))
		return 0;        /* an ordinary port: element by element, no page read ahead */
	if (sreg < 0)
		sreg = S_DS;
	n = (GUEST_PAGE - ((c->seg[sreg].base + off) & (GUEST_PAGE - 1))) / size;
	n = n < count ? n : count;
	if (n < 2 || (c->eflags & FL_DF) || off + n * size - 1 > amask ||
	    emu_seg_probe(c, sreg, off, n * size, ins))
		return 0;        /* the element loop raises the fault at the exact element */
	if (ins) {
		n = dev_pio_in_block(port, (int)size, buf, n);
		if (n)
			emu_seg_write(c, sreg, off, buf, n * size);
	} else {
		emu_seg_read(c, sreg, off, buf, n * size);
		n = dev_pio_out_block(port, (int)size, buf, n);
	}
	return n;
}

static int string_io(struct vcpu *c, struct insn *in, unsigned size, int idx, string_elem f)
{
	uint16_t port = (uint16_t)c->regs[R_EDX];
	uint32_t amask = in->asz == 2 ? 0xFFFFu : 0xFFFFFFFFu;
	int32_t step = (c->eflags & FL_DF) ? -(int32_t)size : (int32_t)size;
	bool rep = has_rep(in);

	if (io_permitted(c, port, size))
		return -1;
	for (unsigned n = 0; !rep || (c->regs[R_ECX] & amask) != 0; n++) {
		if (n >= EMU_STRING_BATCH) {
			in->next = c->eip;   /* come back for the rest */
			return 0;
		}
		uint32_t moved = rep && !LOG_ON(LOG_IOPORT) ?
			string_block(c, in, port, size, idx, c->regs[R_ECX] & amask, amask) : 0;
		if (moved) {
			emu_addr_reg_add(c, idx, (int32_t)(moved * size), in->asz);
			emu_addr_reg_add(c, R_ECX, -(int32_t)moved, in->asz);
			n += moved - 1;
			continue;
		}
		if (f(c, in, port, size, c->regs[idx] & amask))
			return -1;
		emu_addr_reg_add(c, idx, step, in->asz);
		if (!rep)
			break;
		emu_addr_reg_add(c, R_ECX, -1, in->asz);
	}
	return 0;
}

EMU_HANDLER(ins)
{
	return string_io(c, in, in->op[0].size / 8, R_EDI, ins_elem);
}

EMU_HANDLER(outs)
{
	return string_io(c, in, in->op[1].size / 8, R_ESI, outs_elem);
}
