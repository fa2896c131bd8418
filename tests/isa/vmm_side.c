/*
 * vmm_side.c - runs a test case through vmm386 in this process: the real translator, code
 * cache, entry/exit trampolines, signal handling and emulation (libvmm.a), on a real guest
 * window, the same way tests/unit/test_translator.c does.
 *
 * Guest set-up: protected mode at CPL 0 with flat CS; FS and GS based at ISA_FS_BASE and
 * ISA_GS_BASE; in ISA_ENV_NONFLAT also DS/ES/SS based at ISA_NF_BASE; in ISA_ENV_LIMIT FS
 * limited to ISA_FS_LIMIT and GS read-only; CR0.NE/MP and
 * CR4.OSFXSR/OSXMMEXCPT set as Linux sets them for the native runner; the case's FXSAVE
 * image in vcpu->fpu (the translator loads it on entry and saves it on exit).
 *
 * The code page is all HLT except the instruction, so the guest stops at the first landing
 * offset it reaches: translated code exits with EXIT_EMULATE at that HLT.  An
 * EXIT_EMULATE at the instruction itself (BCD, PUSHA, device memory...) runs emu_step(),
 * as the run loop would; EXIT_EXCEPTION from translated code or from emu_step() is the
 * case's exception, with the state at the faulting instruction.  Nothing is delivered.
 */
#include <stdio.h>
#include <string.h>
#include "monitor/vmm.h"
#include "monitor/memory.h"
#include "monitor/run.h"
#include "translator/xl.h"
#include "translator/xl_asm.h"
#include "codecache/cc.h"
#include "emulation/emu.h"
#include "isa.h"
#include "vmm_side.h"

static struct vm vm;
static struct vcpu *const c = &vm.cpu;

int vmm_side_init(char *err, size_t errlen)
{
	if (vm_mem_init(&vm, ISA_GUEST_RAM, err, errlen) < 0)
		return -1;
	vm.cpu.vm = &vm;
	xl_init();
	if (cc_init(vm_protect_page, vm.ram_size) < 0 || vm_run_init(&vm, -1) < 0) {
		snprintf(err, errlen, "cannot initialise the code cache or the run loop");
		return -1;
	}
	memset(vm.ram + ISA_CODE, 0xF4, ISA_CODE_SIZE);
	for (uint32_t a = ISA_DATA; a < ISA_DATA + ISA_DATA_SIZE; a++)
		vm.ram[a] = isa_bg(a);
	return 0;
}

void vmm_side_flush(void)
{
	cc_flush();
}

static void set_based(int s, uint32_t base)
{
	c->seg[s].base = base;
}

static void setup_vcpu(const struct isa_in *in)
{
	emu_reset_protected(c, 0, 0);
	c->cr0 |= CR0_NE | CR0_MP;
	c->cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
	set_based(S_FS, ISA_FS_BASE);
	set_based(S_GS, ISA_GS_BASE);
	if (in->env == ISA_ENV_LIMIT) {
		c->seg[S_FS].limit = ISA_FS_LIMIT;
		c->seg[S_GS].attr = (uint16_t)((c->seg[S_GS].attr & ~0xFu) | 0x1);   /* read-only */
	}
	if (in->env == ISA_ENV_NONFLAT) {
		set_based(S_DS, ISA_NF_BASE);
		set_based(S_ES, ISA_NF_BASE);
		set_based(S_SS, ISA_NF_BASE);
	}
	memcpy(c->regs, in->regs, sizeof(c->regs));
	c->eflags = (in->eflags & ISA_FL_USER) | FL_FIXED;
	c->eip = ISA_CODE;
	memcpy(c->fpu, in->fpu, 512);
	vmm_mode_changed(c);
}

static void load_memory(const struct isa_in *in)
{
	uint32_t off = 0;
	memcpy(vm.ram + ISA_CODE, in->code, in->code_len);
	vmm_ram_written(&vm, ISA_CODE, ISA_CODE_DIRTY);
	for (uint32_t i = 0; i < in->nwin; i++) {
		memcpy(vm.ram + in->win[i].addr, in->mem + off, in->win[i].len);
		off += in->win[i].len;
	}
}

static void unload_memory(const struct isa_in *in, struct isa_out *out)
{
	uint32_t off = 0;
	for (uint32_t i = 0; i < in->nwin; i++) {
		memcpy(out->mem + off, vm.ram + in->win[i].addr, in->win[i].len);
		off += in->win[i].len;
	}
	out->memlen = off;
	for (uint32_t i = 0; i < in->nwin; i++)
		for (uint32_t a = in->win[i].addr; a < in->win[i].addr + in->win[i].len; a++)
			vm.ram[a] = isa_bg(a);
	memset(vm.ram + ISA_CODE, 0xF4, ISA_CODE_DIRTY);
}

static struct cc_block *block_at_eip(void)
{
	xl_sync_segments(c);
	uint32_t mode = xl_mode(c);
	struct cc_block *b = cc_find(c->eip, ~0u, c->eip, mode, c->seg[S_CS].base);
	if (!b)
		b = xl_translate(c, mode);
	if (!b) {
		cc_flush();
		b = xl_translate(c, mode);
	}
	return b;
}

/* Run from ISA_CODE to a landing HLT or an exception.  Returns 0, or -1 if the guest left
 * in a way a single instruction cannot (then *why says how). */
static int run_guest(uint32_t *exc, const char **why)
{
	*exc = ISA_NO_EXC;
	for (int i = 0; i < 16; i++) {
		if (c->eip - ISA_CODE >= ISA_CODE_SIZE) {
			*exc = ISA_EXC_LEFT;
			return 0;
		}
		struct cc_block *b = block_at_eip();
		if (!b) {
			*why = "translation failed";
			return -1;
		}
		unsigned r = xl_enter(c, b->host, vm_window());
		if (r == EXIT_LOOKUP)
			continue;
		if (r == EXIT_EXCEPTION) {
			*exc = c->exit_info;
			return 0;
		}
		if (r != EXIT_EMULATE) {
			*why = "unexpected exit from translated code";
			return -1;
		}
		if (c->eip != ISA_CODE && c->eip - ISA_CODE < ISA_CODE_SIZE && vm.ram[c->eip] == 0xF4)
			return 0;
		int e = emu_step(c);
		if (e == EXIT_EXCEPTION) {
			*exc = (uint32_t)c->exc_vector;
			return 0;
		}
		if (e != EXIT_NONE) {
			*why = "emu_step() did not complete the instruction";
			return -1;
		}
	}
	*why = "no landing reached after 16 blocks";
	return -1;
}

int vmm_side_run(const struct isa_in *in, struct isa_out *out, const char **why)
{
	memset(out, 0, offsetof(struct isa_out, mem));
	load_memory(in);
	setup_vcpu(in);
	int r = run_guest(&out->exc, why);
	memcpy(out->regs, c->regs, sizeof(out->regs));
	out->eflags = c->eflags;
	out->eip = c->eip - ISA_CODE;
	memcpy(out->fpu, c->fpu, 512);
	unload_memory(in, out);
	return r;
}

/* Count (and repair) data-area bytes that differ from the background. */
uint32_t vmm_side_check(uint32_t *first)
{
	uint32_t n = 0;
	for (uint32_t a = ISA_DATA; a < ISA_DATA + ISA_DATA_SIZE; a++)
		if (vm.ram[a] != isa_bg(a)) {
			if (!n++)
				*first = a;
			vm.ram[a] = isa_bg(a);
		}
	return n;
}

/* How the translator classifies the instruction of a case (for the report). */
int vmm_side_classify(const struct isa_in *in)
{
	unsigned len;
	const char *mn;
	uint32_t mode = in->env == ISA_ENV_NONFLAT ? XM_NONFLAT : 0;
	return (int)xl_classify(in->code, in->code_len, mode, &len, &mn);
}
