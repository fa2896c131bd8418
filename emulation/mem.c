/*
 * mem.c - guest memory as the emulation layer sees it: physical, linear, segment-relative.
 *
 * Physical: RAM through vm_gpa_ptr(); every other address is device memory.  Device memory
 * goes through mmio_read/mmio_write below to the MMIO bus (devices/mmio.c), and a linear
 * access to it is remembered in emu_last_mmio_read/write (monitor/adaptive.c reads them); an address
 * no device claims reads as all ones and ignores writes.  The monitor hears of each
 * access (emu_mon->mmio), and every write that lands in RAM is reported with
 * emu_mon->ram_written, so translations of that code (and shadows of those page tables)
 * can be dropped.
 *
 * Linear: an access is split at page boundaries; all pages are translated (and checked)
 * before the first byte moves, so a faulting access changes no memory.  Accesses are at most
 * one page long, which covers every operand and frame the emulator builds.
 *
 * Segment-relative: the checks the CPU makes on every data access through a segment register:
 * an unusable (null) segment, a write to code or to read-only data, a read of execute-only
 * code, and the limit, with expand-down segments valid above the limit up to 0xFFFF or
 * 0xFFFFFFFF (B bit).  A violation is #GP(0), or #SS(0) through SS.
 */
#include "emu_int.h"
#include "../devices/devices.h"

/* --- the monitor's hooks: nothing until the monitor installs its own (emu.h) --- */
static void no_ram_written(struct vm *vm, gpa_t gpa, uint32_t len) { (void)vm; (void)gpa; (void)len; }
static void no_mmio(struct vm *vm, gpa_t gpa, unsigned len) { (void)vm; (void)gpa; (void)len; }
static void no_mode_changed(struct vcpu *c) { (void)c; }
static void no_tlb_flush(struct vcpu *c, gla_t la, bool all) { (void)c; (void)la; (void)all; }
static const struct emu_mon_ops no_mon = { no_ram_written, no_mmio, no_mode_changed, no_tlb_flush };
const struct emu_mon_ops *emu_mon = &no_mon;

/* --- device memory hook (MMIO bus goes here) --- */
uint64_t emu_mmio_count;
struct emu_mmio_access emu_last_mmio_read, emu_last_mmio_write;

static void mmio_read(struct vm *vm, gpa_t gpa, void *buf, unsigned len)
{
	emu_mmio_count++;
	emu_mon->mmio(vm, gpa, len);
	dev_mmio_read(gpa, buf, len);
}

static void mmio_write(struct vm *vm, gpa_t gpa, const void *buf, unsigned len)
{
	emu_mmio_count++;
	emu_mon->mmio(vm, gpa, len);
	dev_mmio_write(gpa, buf, len);
}

/* Physical accesses never cross a page: RAM is a whole number of pages. */
void emu_phys_read(struct vm *vm, gpa_t gpa, void *buf, unsigned len)
{
	void *p = vm_gpa_ptr(vm, gpa, len);
	if (likely(p != NULL))
		memcpy(buf, p, len);
	else
		mmio_read(vm, gpa, buf, len);
}

void emu_phys_write(struct vm *vm, gpa_t gpa, const void *buf, unsigned len)
{
	void *p = vm_gpa_ptr(vm, gpa, len);
	if (likely(p != NULL)) {
		memcpy(p, buf, len);
		emu_mon->ram_written(vm, gpa, len);
	} else {
		mmio_write(vm, gpa, buf, len);
	}
}

/* Translate the (at most two) pages of [la, la+len); *first = bytes in the first page. */
static int lin_map(struct vcpu *c, gla_t la, unsigned len, int acc, gpa_t gpa[2],
		   unsigned *first)
{
	if (unlikely(len > GUEST_PAGE))
		vmm_panic("emulation: linear access of %u bytes", len);
	*first = GUEST_PAGE - (la & (GUEST_PAGE - 1));
	if (*first > len)
		*first = len;
	if (emu_translate(c, la, acc, &gpa[0]))
		return -1;
	if (*first < len && emu_translate(c, la + *first, acc, &gpa[1]))
		return -1;
	return 0;
}

int emu_lin_read_acc(struct vcpu *c, gla_t la, void *buf, unsigned len, int acc)
{
	gpa_t gpa[2];
	unsigned first;

	if (len == 0)
		return 0;
	if (lin_map(c, la, len, acc & ~ACC_W, gpa, &first))
		return -1;
	if (first == len && !vm_gpa_ptr(c->vm, gpa[0], len))
		emu_last_mmio_read = (struct emu_mmio_access){ la, gpa[0], len };
	emu_phys_read(c->vm, gpa[0], buf, first);
	if (first < len)
		emu_phys_read(c->vm, gpa[1], (uint8_t *)buf + first, len - first);
	return 0;
}

int emu_lin_write_acc(struct vcpu *c, gla_t la, const void *buf, unsigned len, int acc)
{
	gpa_t gpa[2];
	unsigned first;

	if (len == 0)
		return 0;
	if (lin_map(c, la, len, acc | ACC_W, gpa, &first))
		return -1;
	if (first == len && !vm_gpa_ptr(c->vm, gpa[0], len))
		emu_last_mmio_write = (struct emu_mmio_access){ la, gpa[0], len };
	emu_phys_write(c->vm, gpa[0], buf, first);
	if (first < len)
		emu_phys_write(c->vm, gpa[1], (const uint8_t *)buf + first, len - first);
	return 0;
}

/* Check that an access would succeed (and set accessed/dirty bits) without moving data. */
int emu_lin_probe(struct vcpu *c, gla_t la, unsigned len, int acc)
{
	gpa_t gpa[2];
	unsigned first;

	return len ? lin_map(c, la, len, acc, gpa, &first) : 0;
}

int emu_lin_read(struct vcpu *c, gla_t la, void *buf, unsigned len)
{
	return emu_lin_read_acc(c, la, buf, len, ACC_R);
}

int emu_lin_write(struct vcpu *c, gla_t la, const void *buf, unsigned len)
{
	return emu_lin_write_acc(c, la, buf, len, ACC_W);
}

/* Is [off, off+len) a valid data access through segment cache s? */
bool emu_seg_ok(const struct seg *s, uint32_t off, unsigned len, bool write)
{
	unsigned t = SEGA_TYPE(s->attr);
	uint32_t last = off + len - 1;

	if (!(s->attr & SEGA_P) || !(s->attr & SEGA_S))
		return false;
	if (t & SEGT_CODE) {
		if (write || !(t & SEGT_RW))
			return false;
	} else if (write && !(t & SEGT_RW)) {
		return false;
	}
	if (!(t & SEGT_CODE) && (t & SEGT_EDOWN)) {
		uint32_t upper = (s->attr & SEGA_DB) ? 0xFFFFFFFFu : 0xFFFFu;
		return off > s->limit && last >= off && last <= upper;
	}
	return off <= s->limit && len - 1 <= s->limit - off;
}

static int seg_fault(struct vcpu *c, int sreg)
{
	return emu_raise(c, sreg == S_SS ? EXC_SS : EXC_GP, 0);
}

int emu_seg_read(struct vcpu *c, int sreg, uint32_t off, void *buf, unsigned len)
{
	const struct seg *s = &c->seg[sreg];
	if (unlikely(!emu_seg_ok(s, off, len, false)))
		return seg_fault(c, sreg);
	return emu_lin_read_acc(c, s->base + off, buf, len, ACC_R);
}

int emu_seg_write(struct vcpu *c, int sreg, uint32_t off, const void *buf, unsigned len)
{
	const struct seg *s = &c->seg[sreg];
	if (unlikely(!emu_seg_ok(s, off, len, true)))
		return seg_fault(c, sreg);
	return emu_lin_write_acc(c, s->base + off, buf, len, ACC_W);
}

int emu_seg_probe(struct vcpu *c, int sreg, uint32_t off, unsigned len, bool write)
{
	const struct seg *s = &c->seg[sreg];
	if (unlikely(!emu_seg_ok(s, off, len, write)))
		return seg_fault(c, sreg);
	return emu_lin_probe(c, s->base + off, len, write ? ACC_W : ACC_R);
}
