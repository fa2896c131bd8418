/*
 * insn.c - emu_step(): run the one guest instruction at vcpu->eip in the monitor.
 *
 * The translator hands over every sensitive or privileged instruction, the instructions that
 * do not exist in 64-bit mode, and memory accesses that hit device memory.  emu_step decodes
 * the instruction (decode.c), looks its mnemonic up in the table below and runs the handler.
 * Anything not in the table is #UD.
 *
 * Rules the handlers keep (see emu_int.h): all checks before the first state change; EIP
 * moves to in->next only when the handler succeeds, so a faulting instruction is restarted.
 * Around every instruction emu_step also does what the CPU does at instruction boundaries:
 *  - the STI / MOV SS / POP SS interrupt shadow covers exactly one instruction: it is cleared
 *    on entry, and the handlers of those instructions set it again;
 *  - RF is cleared at the start of the instruction (IRET may load it again);
 *  - with TF set before the instruction, a single-step #DB trap (DR6.BS) follows a successful
 *    instruction, except INT n / INT3 / INTO / INT1, whose handlers start with TF clear.
 */
#include "emu_int.h"

typedef int (*emu_handler)(struct vcpu *c, struct insn *in);

static const emu_handler handlers[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {
	/* interrupt flag, halt, system registers (insn_sys.c) */
	[ZYDIS_MNEMONIC_CLI] = emu_h_cli, [ZYDIS_MNEMONIC_STI] = emu_h_sti,
	[ZYDIS_MNEMONIC_HLT] = emu_h_hlt, [ZYDIS_MNEMONIC_CLTS] = emu_h_clts,
	[ZYDIS_MNEMONIC_LMSW] = emu_h_lmsw, [ZYDIS_MNEMONIC_SMSW] = emu_h_smsw,
	[ZYDIS_MNEMONIC_LGDT] = emu_h_lgdt, [ZYDIS_MNEMONIC_LIDT] = emu_h_lgdt,
	[ZYDIS_MNEMONIC_SGDT] = emu_h_sgdt, [ZYDIS_MNEMONIC_SIDT] = emu_h_sgdt,
	[ZYDIS_MNEMONIC_LLDT] = emu_h_lldt, [ZYDIS_MNEMONIC_LTR] = emu_h_ltr,
	[ZYDIS_MNEMONIC_SLDT] = emu_h_sldt, [ZYDIS_MNEMONIC_STR] = emu_h_str,
	[ZYDIS_MNEMONIC_INVD] = emu_h_invd, [ZYDIS_MNEMONIC_WBINVD] = emu_h_invd,
	[ZYDIS_MNEMONIC_INVLPG] = emu_h_invlpg, [ZYDIS_MNEMONIC_CPUID] = emu_h_cpuid,
	[ZYDIS_MNEMONIC_RDTSC] = emu_h_rdtsc, [ZYDIS_MNEMONIC_RDPMC] = emu_h_rdpmc,
	[ZYDIS_MNEMONIC_RDMSR] = emu_h_rdmsr,
	[ZYDIS_MNEMONIC_WRMSR] = emu_h_wrmsr, [ZYDIS_MNEMONIC_SYSENTER] = emu_h_sysenter,
	[ZYDIS_MNEMONIC_SYSEXIT] = emu_h_sysexit,
	/* segments (insn_seg.c) */
	[ZYDIS_MNEMONIC_LDS] = emu_h_lxs, [ZYDIS_MNEMONIC_LES] = emu_h_lxs,
	[ZYDIS_MNEMONIC_LFS] = emu_h_lxs, [ZYDIS_MNEMONIC_LGS] = emu_h_lxs,
	[ZYDIS_MNEMONIC_LSS] = emu_h_lxs, [ZYDIS_MNEMONIC_LAR] = emu_h_lar,
	[ZYDIS_MNEMONIC_LSL] = emu_h_lsl, [ZYDIS_MNEMONIC_VERR] = emu_h_verr,
	[ZYDIS_MNEMONIC_VERW] = emu_h_verw, [ZYDIS_MNEMONIC_ARPL] = emu_h_arpl,
	/* control flow (insn_flow.c) */
	[ZYDIS_MNEMONIC_JMP] = emu_h_jmp, [ZYDIS_MNEMONIC_CALL] = emu_h_call,
	[ZYDIS_MNEMONIC_RET] = emu_h_ret, [ZYDIS_MNEMONIC_IRET] = emu_h_iret,
	[ZYDIS_MNEMONIC_IRETD] = emu_h_iret, [ZYDIS_MNEMONIC_INT] = emu_h_int,
	[ZYDIS_MNEMONIC_INT3] = emu_h_int3, [ZYDIS_MNEMONIC_INTO] = emu_h_into,
	[ZYDIS_MNEMONIC_INT1] = emu_h_int1, [ZYDIS_MNEMONIC_BOUND] = emu_h_bound,
	/* stack (insn_stack.c) */
	[ZYDIS_MNEMONIC_PUSH] = emu_h_push, [ZYDIS_MNEMONIC_POP] = emu_h_pop,
	[ZYDIS_MNEMONIC_PUSHF] = emu_h_pushf, [ZYDIS_MNEMONIC_PUSHFD] = emu_h_pushf,
	[ZYDIS_MNEMONIC_POPF] = emu_h_popf, [ZYDIS_MNEMONIC_POPFD] = emu_h_popf,
	[ZYDIS_MNEMONIC_PUSHA] = emu_h_pusha, [ZYDIS_MNEMONIC_PUSHAD] = emu_h_pusha,
	[ZYDIS_MNEMONIC_POPA] = emu_h_popa, [ZYDIS_MNEMONIC_POPAD] = emu_h_popa,
	/* port I/O (insn_io.c) */
	[ZYDIS_MNEMONIC_IN] = emu_h_in, [ZYDIS_MNEMONIC_OUT] = emu_h_out,
	[ZYDIS_MNEMONIC_INSB] = emu_h_ins, [ZYDIS_MNEMONIC_INSW] = emu_h_ins,
	[ZYDIS_MNEMONIC_INSD] = emu_h_ins, [ZYDIS_MNEMONIC_OUTSB] = emu_h_outs,
	[ZYDIS_MNEMONIC_OUTSW] = emu_h_outs, [ZYDIS_MNEMONIC_OUTSD] = emu_h_outs,
	/* data movement and arithmetic (insn_alu.c, bcd.c) */
	[ZYDIS_MNEMONIC_MOV] = emu_h_mov, [ZYDIS_MNEMONIC_MOVZX] = emu_h_movx,
	[ZYDIS_MNEMONIC_MOVSX] = emu_h_movx, [ZYDIS_MNEMONIC_ADD] = emu_h_alu,
	[ZYDIS_MNEMONIC_OR] = emu_h_alu, [ZYDIS_MNEMONIC_ADC] = emu_h_alu,
	[ZYDIS_MNEMONIC_SBB] = emu_h_alu, [ZYDIS_MNEMONIC_AND] = emu_h_alu,
	[ZYDIS_MNEMONIC_SUB] = emu_h_alu, [ZYDIS_MNEMONIC_XOR] = emu_h_alu,
	[ZYDIS_MNEMONIC_CMP] = emu_h_alu, [ZYDIS_MNEMONIC_TEST] = emu_h_alu,
	[ZYDIS_MNEMONIC_SALC] = emu_h_salc, [ZYDIS_MNEMONIC_DAA] = emu_h_daa,
	[ZYDIS_MNEMONIC_DAS] = emu_h_das, [ZYDIS_MNEMONIC_AAA] = emu_h_aaa,
	[ZYDIS_MNEMONIC_AAS] = emu_h_aas, [ZYDIS_MNEMONIC_AAM] = emu_h_aam,
	[ZYDIS_MNEMONIC_AAD] = emu_h_aad,
	/* string instructions (insn_string.c) */
	[ZYDIS_MNEMONIC_MOVSB] = emu_h_string, [ZYDIS_MNEMONIC_MOVSW] = emu_h_string,
	[ZYDIS_MNEMONIC_MOVSD] = emu_h_string, [ZYDIS_MNEMONIC_CMPSB] = emu_h_string,
	[ZYDIS_MNEMONIC_CMPSW] = emu_h_string, [ZYDIS_MNEMONIC_CMPSD] = emu_h_string,
	[ZYDIS_MNEMONIC_STOSB] = emu_h_string, [ZYDIS_MNEMONIC_STOSW] = emu_h_string,
	[ZYDIS_MNEMONIC_STOSD] = emu_h_string, [ZYDIS_MNEMONIC_LODSB] = emu_h_string,
	[ZYDIS_MNEMONIC_LODSW] = emu_h_string, [ZYDIS_MNEMONIC_LODSD] = emu_h_string,
	[ZYDIS_MNEMONIC_SCASB] = emu_h_string, [ZYDIS_MNEMONIC_SCASW] = emu_h_string,
	[ZYDIS_MNEMONIC_SCASD] = emu_h_string, [ZYDIS_MNEMONIC_FXSAVE] = emu_h_fxsave,
	/* insn_rmw.c: only ever here for a device-memory operand */
	[ZYDIS_MNEMONIC_INC] = emu_h_unary, [ZYDIS_MNEMONIC_DEC] = emu_h_unary,
	[ZYDIS_MNEMONIC_NOT] = emu_h_unary, [ZYDIS_MNEMONIC_NEG] = emu_h_unary,
	[ZYDIS_MNEMONIC_BT] = emu_h_bittest, [ZYDIS_MNEMONIC_BTS] = emu_h_bittest,
	[ZYDIS_MNEMONIC_BTR] = emu_h_bittest, [ZYDIS_MNEMONIC_BTC] = emu_h_bittest,
	[ZYDIS_MNEMONIC_BSF] = emu_h_bitscan, [ZYDIS_MNEMONIC_BSR] = emu_h_bitscan,
	[ZYDIS_MNEMONIC_IMUL] = emu_h_imul, [ZYDIS_MNEMONIC_SHLD] = emu_h_shiftd,
	[ZYDIS_MNEMONIC_SHRD] = emu_h_shiftd, [ZYDIS_MNEMONIC_XCHG] = emu_h_xchg,
	[ZYDIS_MNEMONIC_XADD] = emu_h_xadd, [ZYDIS_MNEMONIC_CMPXCHG] = emu_h_cmpxchg,
	[ZYDIS_MNEMONIC_MOVDQU] = emu_h_ssemov, [ZYDIS_MNEMONIC_MOVDQA] = emu_h_ssemov,
	[ZYDIS_MNEMONIC_MOVUPS] = emu_h_ssemov, [ZYDIS_MNEMONIC_MOVAPS] = emu_h_ssemov,
	[ZYDIS_MNEMONIC_MOVUPD] = emu_h_ssemov, [ZYDIS_MNEMONIC_MOVAPD] = emu_h_ssemov,
};

/* Instructions after which no single-step trap is taken (their handlers clear TF). */
static bool starts_handler(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_INT || m == ZYDIS_MNEMONIC_INT3 ||
	       m == ZYDIS_MNEMONIC_INTO || m == ZYDIS_MNEMONIC_INT1;
}

_Static_assert(ZYDIS_MNEMONIC_MAX_VALUE < EMU_MNEMONIC_COUNT, "EMU_MNEMONIC_COUNT too small");
uint64_t emu_mnemonic_count[EMU_MNEMONIC_COUNT];

const char *emu_mnemonic_name(unsigned m)
{
	return ZydisMnemonicGetString((ZydisMnemonic)m);
}

bool emu_can_step(unsigned mnemonic)
{
	return mnemonic < sizeof(handlers) / sizeof(handlers[0]) && handlers[mnemonic] != NULL;
}

static int execute(struct vcpu *c, struct insn *in)
{
	emu_handler h;

	if (emu_insn_decode(c, in))
		return -1;
	emu_mnemonic_count[in->z.mnemonic]++;
	h = handlers[in->z.mnemonic];
	if (unlikely(h == NULL)) {
		if (LOG_ON(LOG_GUEST_ERRORS))
			vmm_log("emulation: %s at %08x not emulated: #UD\n",
				ZydisMnemonicGetString(in->z.mnemonic), c->eip);
		return emu_raise(c, EXC_UD, 0);
	}
	return h(c, in);
}

/* MOV SS / POP SS: no interrupt before the next instruction, and (as on Intel CPUs) no
 * instruction breakpoint on it either (monitor/debug.c dbg_exec_fault). */
void emu_ss_shadow(struct vcpu *c)
{
	c->intr_inhibit = true;
	c->ss_shadow = true;                  /* (emu_step records the next EIP) */
}

int emu_step(struct vcpu *c)
{
	uint32_t tf = c->eflags & FL_TF;
	struct insn in;
	int r;

	c->intr_inhibit = false;
	c->ss_shadow = false;
	c->eflags &= ~FL_RF;
	r = execute(c, &in);
	if (r < 0)
		return EXIT_EXCEPTION;
	if (r == EXIT_SHUTDOWN)
		return r;
	c->eip = in.next;
	c->ss_shadow_eip = c->eip;
	if (unlikely(tf) && !starts_handler(in.z.mnemonic)) {
		c->dr[6] |= DR6_BS;
		emu_raise(c, EXC_DB, 0);
		return EXIT_EXCEPTION;
	}
	return r;
}
