/*
 * xl_log.c - -d in_asm / out_asm: each new block's guest code and host code, disassembled
 * with Capstone (the project's independent decoder), in the spirit of QEMU's logs.
 */
#include <capstone/capstone.h>
#include <inttypes.h>
#include "xl.h"
#include "../monitor/run.h"
#include "../monitor/param.h"

static void disas(cs_mode mode, const uint8_t *code, size_t len, uint64_t addr)
{
	csh h;
	cs_insn *insn;
	if (cs_open(CS_ARCH_X86, mode, &h) != CS_ERR_OK)
		return;
	size_t n = cs_disasm(h, code, len, addr, 0, &insn);
	for (size_t i = 0; i < n; i++)
		vmm_log("0x%08" PRIx64 ":  %-8s %s\n", insn[i].address, insn[i].mnemonic, insn[i].op_str);
	if (n)
		cs_free(insn, n);
	cs_close(&h);
}

void xl_log_block(struct vcpu *c, const struct cc_block *b)
{
	if (LOG_ON(LOG_IN_ASM)) {
		uint8_t buf[XL_MAX_INSNS * 15];
		gpa_t pa;
		unsigned len = b->guest_len < sizeof(buf) ? b->guest_len : sizeof(buf);
		len = vmm_fetch_code(c, b->cs_base + b->eip, buf, len, &pa, NULL);
		vmm_log("----------------\nIN: [mode %#x]\n", b->mode);
		disas(CS_MODE_32, buf, len, b->eip);
		vmm_log("\n");
	}
	if (LOG_ON(LOG_OUT_ASM)) {
		vmm_log("OUT: [size=%u]\n", b->host_len);
		for (unsigned i = 0; i < b->ninsn; i++) {
			unsigned start = b->imap[i].host_off;
			unsigned end = i + 1 <= b->ninsn ? b->imap[i + 1].host_off : b->host_len;
			vmm_log("  -- guest %08x\n", b->imap[i].eip);
			disas(CS_MODE_64, b->host + start, end - start, (uint64_t)(uintptr_t)(b->host + start));
		}
		vmm_log("  -- exits\n");
		unsigned tail = b->imap[b->ninsn].host_off;
		disas(CS_MODE_64, b->host + tail, b->host_len - tail, (uint64_t)(uintptr_t)(b->host + tail));
		vmm_log("\n");
	}
}
