/*
 * stack.c - pushes and pops for the emulator: PUSH/POP, far CALL/RET, IRET, PUSHA/POPA and
 * the frames of interrupt delivery.
 *
 * A struct stk is a private copy of SS:ESP: callers push and read through it and copy esp
 * back to vcpu->regs[R_ESP] only once every check of the instruction has passed, so a fault
 * halfway leaves ESP untouched.  The segment cache may be one not loaded yet (the ring-0
 * stack from the TSS during delivery).  With a 16-bit stack segment (B = 0) only SP moves
 * and offsets wrap at 64 KiB.  A push is one checked write of the whole group of values,
 * so a frame is either entirely written or not at all.
 */
#include "emu_int.h"

static uint32_t sp_mask(const struct seg *ss)
{
	return (ss->attr & SEGA_DB) ? 0xFFFFFFFFu : 0xFFFFu;
}

struct stk emu_stk_current(struct vcpu *c)
{
	struct stk s = { &c->seg[S_SS], c->regs[R_ESP], ACC_R, 0 };
	return s;
}

void emu_stk_adjust(struct stk *s, int32_t delta)
{
	uint32_t m = sp_mask(s->ss);
	s->esp = (s->esp & ~m) | ((s->esp + (uint32_t)delta) & m);
}

/* Push vals[0..n) in that order (vals[0] ends up highest), `size` (2 or 4) bytes each. */
int emu_stk_push(struct vcpu *c, struct stk *s, const uint32_t *vals, unsigned n, unsigned size)
{
	uint8_t buf[8 * 4];
	unsigned len = n * size;
	uint32_t m = sp_mask(s->ss), off = (s->esp - len) & m;

	if (unlikely(len > sizeof(buf)))
		vmm_panic("emulation: push of %u bytes", len);
	for (unsigned i = 0; i < n; i++)
		memcpy(buf + (n - 1 - i) * size, &vals[i], size);
	if (unlikely(!emu_seg_ok(s->ss, off, len, true)))
		return emu_raise(c, EXC_SS, s->ss_err);
	if (emu_lin_write_acc(c, s->ss->base + off, buf, len, s->acc))
		return -1;
	s->esp = (s->esp & ~m) | off;
	return 0;
}

/* Read n values of `size` bytes at SS:ESP+off, vals[0] from the lowest address. */
int emu_stk_read(struct vcpu *c, const struct stk *s, uint32_t off, uint32_t *vals, unsigned n,
	     unsigned size)
{
	uint8_t buf[8 * 4];
	unsigned len = n * size;
	uint32_t a = (s->esp + off) & sp_mask(s->ss);

	if (unlikely(len > sizeof(buf)))
		vmm_panic("emulation: pop of %u bytes", len);
	if (unlikely(!emu_seg_ok(s->ss, a, len, false)))
		return emu_raise(c, EXC_SS, s->ss_err);
	if (emu_lin_read_acc(c, s->ss->base + a, buf, len, s->acc))
		return -1;
	for (unsigned i = 0; i < n; i++) {
		vals[i] = 0;
		memcpy(&vals[i], buf + i * size, size);
	}
	return 0;
}
