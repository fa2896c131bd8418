/*
 * classify.c - how each guest instruction is handled: the one decision tree.
 *
 * xl_kind() picks the emitter for a decoded instruction in a mode: #UD for what the guest's
 * CPUID does not advertise, #NM/#UD for x87/SSE under CR0.TS/EM, the inline caches for
 * segment loads, VERR/VERW and INT/IRET/SYSENTER/SYSEXIT where they apply, reads of a
 * segment selector into a register and of CR0/2/3/4 at CPL 0 as loads, INVLPG at CPL 0
 * and CPUID as calls (moncall.c), IN at CPL 0 as a call (pio.c), RDTSC inline
 * where CR4.TSD does not make it fault (XM_TSD), #DE/#UD/#BP from CPL 3 delivered inline
 * (ring_cache.c), the monitor for every instruction in the
 * project's own table of sensitive and privileged instructions (xl_sensitive; Zydis's
 * privilege flag misses LGDT, CLI, STI, IN, OUT, POPF and IRET), hand lowerings for what
 * 64-bit mode encodes differently, IDENT for the rest.  translate.c acts on the answer;
 * xl_classify() reports it for vmm386-scan and the coverage report, so what is reported is
 * exactly what is translated.  Pure functions of the instruction and the mode.
 */
#include "xl_int.h"

/* The project's table of sensitive and privileged instructions: the monitor runs them. */
static bool xl_sensitive(const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	switch (z->mnemonic) {
	case ZYDIS_MNEMONIC_CLI: case ZYDIS_MNEMONIC_STI:
	case ZYDIS_MNEMONIC_PUSHFD: case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_POPFD: case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_IN: case ZYDIS_MNEMONIC_OUT:
	case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD:
	case ZYDIS_MNEMONIC_OUTSB: case ZYDIS_MNEMONIC_OUTSW: case ZYDIS_MNEMONIC_OUTSD:
	case ZYDIS_MNEMONIC_HLT: case ZYDIS_MNEMONIC_CLTS: case ZYDIS_MNEMONIC_LMSW:
	case ZYDIS_MNEMONIC_SMSW: case ZYDIS_MNEMONIC_LGDT: case ZYDIS_MNEMONIC_LIDT:
	case ZYDIS_MNEMONIC_LLDT: case ZYDIS_MNEMONIC_LTR: case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT: case ZYDIS_MNEMONIC_SLDT: case ZYDIS_MNEMONIC_STR:
	case ZYDIS_MNEMONIC_LAR: case ZYDIS_MNEMONIC_LSL: case ZYDIS_MNEMONIC_VERR:
	case ZYDIS_MNEMONIC_VERW: case ZYDIS_MNEMONIC_LDS: case ZYDIS_MNEMONIC_LES:
	case ZYDIS_MNEMONIC_LFS: case ZYDIS_MNEMONIC_LGS: case ZYDIS_MNEMONIC_LSS:
	case ZYDIS_MNEMONIC_INT: case ZYDIS_MNEMONIC_INT1: case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO: case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_BOUND: case ZYDIS_MNEMONIC_CPUID: case ZYDIS_MNEMONIC_RDTSC:
	case ZYDIS_MNEMONIC_RDTSCP: case ZYDIS_MNEMONIC_RDPMC:
	case ZYDIS_MNEMONIC_RDMSR: case ZYDIS_MNEMONIC_WRMSR: case ZYDIS_MNEMONIC_INVD:
	case ZYDIS_MNEMONIC_WBINVD: case ZYDIS_MNEMONIC_INVLPG: case ZYDIS_MNEMONIC_SYSENTER:
	case ZYDIS_MNEMONIC_SYSEXIT: case ZYDIS_MNEMONIC_SYSCALL: case ZYDIS_MNEMONIC_SYSRET:
	case ZYDIS_MNEMONIC_ARPL: case ZYDIS_MNEMONIC_DAA: case ZYDIS_MNEMONIC_DAS:
	case ZYDIS_MNEMONIC_AAA: case ZYDIS_MNEMONIC_AAS: case ZYDIS_MNEMONIC_AAM:
	case ZYDIS_MNEMONIC_AAD: case ZYDIS_MNEMONIC_SALC: case ZYDIS_MNEMONIC_PUSHA:
	case ZYDIS_MNEMONIC_PUSHAD: case ZYDIS_MNEMONIC_POPA: case ZYDIS_MNEMONIC_POPAD:
	case ZYDIS_MNEMONIC_RSM: case ZYDIS_MNEMONIC_IRETQ:
		return true;
	default:
		break;
	}
	/* MOV to/from CRn, DRn, Sreg; PUSH/POP Sreg; far CALL/JMP/RET */
	for (unsigned i = 0; i < z->operand_count; i++) {
		const ZydisDecodedOperand *o = &g->op[i];
		if (o->type != ZYDIS_OPERAND_TYPE_REGISTER || o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			continue;
		ZydisRegisterClass rc = ZydisRegisterGetClass(o->reg.value);
		if (rc == ZYDIS_REGCLASS_CONTROL || rc == ZYDIS_REGCLASS_DEBUG ||
		    rc == ZYDIS_REGCLASS_SEGMENT || rc == ZYDIS_REGCLASS_TEST)
			return true;
	}
	if (z->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return true;
	if (z->mnemonic == ZYDIS_MNEMONIC_RET && (g->bytes[g->opc] == 0xCA || g->bytes[g->opc] == 0xCB))
		return true;
	return false;
}

/* ISA extensions the guest's CPUID advertises (emu_cpuid): anything else is #UD. */
static bool xl_isa_ok(const ZydisDecodedInstruction *z)
{
	if (z->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return false;
	switch (z->meta.isa_ext) {
	case ZYDIS_ISA_EXT_BASE: case ZYDIS_ISA_EXT_X87: case ZYDIS_ISA_EXT_MMX:
	case ZYDIS_ISA_EXT_SSE: case ZYDIS_ISA_EXT_SSE2: case ZYDIS_ISA_EXT_PAUSE:
		return true;
	case ZYDIS_ISA_EXT_LZCNT: case ZYDIS_ISA_EXT_BMI1:   /* F3 0F BC/BD: BSF/BSR on i686 */
		return z->mnemonic == ZYDIS_MNEMONIC_TZCNT || z->mnemonic == ZYDIS_MNEMONIC_LZCNT;
	case ZYDIS_ISA_EXT_CET:                              /* ENDBR32 is a hint NOP */
		return z->mnemonic == ZYDIS_MNEMONIC_ENDBR32;
	default:
		return false;
	}
}

static bool uses_fpu(const ZydisDecodedInstruction *z)
{
	return z->meta.isa_ext == ZYDIS_ISA_EXT_X87 || z->meta.isa_ext == ZYDIS_ISA_EXT_MMX ||
	       z->meta.isa_ext == ZYDIS_ISA_EXT_SSE || z->meta.isa_ext == ZYDIS_ISA_EXT_SSE2;
}

/* CR0.TS/EM/MP: #NM or #UD instead of the instruction (SDM vol. 3 §2.5, table 12-8). */
int xl_fpu_fault(const struct xl_ctx *x, const ZydisDecodedInstruction *z)
{
	bool x87 = z->meta.isa_ext == ZYDIS_ISA_EXT_X87;
	if (z->mnemonic == ZYDIS_MNEMONIC_FWAIT)
		return (x->mode & XM_TS) && (x->mode & XM_MP) ? EXC_NM : -1;
	if (!uses_fpu(z))
		return -1;
	if (x->mode & XM_EM)
		return x87 ? EXC_NM : EXC_UD;
	if (x->mode & XM_TS)
		return EXC_NM;
	return -1;
}

/* CLI/STI/PUSHFD/POPFD handled inline (CPL 0, 32-bit operand size). */
static enum xk vif_kind(const struct xl_ctx *x, const struct ginsn *g)
{
	if ((x->mode & XM_CPL_MASK) != 0)
		return K_EMULATE;
	switch (g->z.mnemonic) {
	case ZYDIS_MNEMONIC_CLI: return K_CLI;
	case ZYDIS_MNEMONIC_STI: return K_STI;
	case ZYDIS_MNEMONIC_PUSHFD: return K_PUSHF;
	case ZYDIS_MNEMONIC_POPFD: return K_POPF;
	default: return K_EMULATE;
	}
}

enum xk xl_kind(const struct xl_ctx *x, const struct ginsn *g)
{
	const ZydisDecodedInstruction *z = &g->z;
	uint8_t op = g->bytes[g->opc];
	bool map0 = z->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;

	if (!xl_isa_ok(z) || z->mnemonic == ZYDIS_MNEMONIC_UD0 || z->mnemonic == ZYDIS_MNEMONIC_UD1 ||
	    z->mnemonic == ZYDIS_MNEMONIC_UD2)
		return xl_exc_kind(x, g) == K_UD_FAST ? K_UD_FAST : K_UD;
	if (xl_fpu_fault(x, z) >= 0) return K_FPU_FAULT;
	/* not sensitive, only awkward: lowered inline rather than sent to the monitor */
	switch (z->mnemonic) {
	case ZYDIS_MNEMONIC_PUSHA: case ZYDIS_MNEMONIC_PUSHAD:
		if (!(x->mode & XM_NONFLAT)) return K_PUSHA;
		break;
	case ZYDIS_MNEMONIC_POPA: case ZYDIS_MNEMONIC_POPAD:
		if (!(x->mode & XM_NONFLAT)) return K_POPA;
		break;
	case ZYDIS_MNEMONIC_PUSH:
		if (g->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    ZydisRegisterGetClass(g->op[0].reg.value) == ZYDIS_REGCLASS_SEGMENT)
			return K_PUSH_SREG;
		break;
	default:
		break;
	}
	if (xl_sreg_fast_ok(x, g)) return K_SREG;
	if (xl_mov_from_sys_ok(x, g)) return K_MOV_FROM_SYS;
	if (xl_invlpg_inline_ok(x, g)) return K_INVLPG;
	if (xl_cpuid_inline_ok(x, g)) return K_CPUID;
	enum xk rk = xl_ring_kind(x, g);
	if (rk != K_EMULATE) return rk;
	if (xl_verify_fast_ok(x, g)) return K_VERIFY;
	if (xl_rdtsc_inline_ok(x, g)) return K_RDTSC;
	if (xl_pio_in_ok(x, g)) return K_PIO_IN;
	if (xl_sensitive(g)) return vif_kind(x, g);
	if (z->mnemonic == ZYDIS_MNEMONIC_FXSAVE) return K_EMULATE;  /* 64-bit form adds XMM8-15 */
	if (z->mnemonic == ZYDIS_MNEMONIC_ENDBR32) return K_NOP;
	if (map0 && op >= 0x40 && op <= 0x4F) return K_INCDEC;
	switch (z->mnemonic) {
	case ZYDIS_MNEMONIC_PUSH: return K_PUSH;
	case ZYDIS_MNEMONIC_POP: return K_POP;
	case ZYDIS_MNEMONIC_LEAVE: return K_LEAVE;
	case ZYDIS_MNEMONIC_ENTER: return K_ENTER;
	case ZYDIS_MNEMONIC_JMP: return op == 0xE9 || op == 0xEB ? K_JMP_REL : K_JMP_IND;
	case ZYDIS_MNEMONIC_CALL: return op == 0xE8 ? K_CALL_REL : K_CALL_IND;
	case ZYDIS_MNEMONIC_RET: return K_RET;
	case ZYDIS_MNEMONIC_LOOP: case ZYDIS_MNEMONIC_LOOPE: case ZYDIS_MNEMONIC_LOOPNE:
	case ZYDIS_MNEMONIC_JECXZ: case ZYDIS_MNEMONIC_JCXZ:
		return g->a16 ? K_LOOP16 : K_LOOP;
	default:
		break;
	}
	if (z->meta.category == ZYDIS_CATEGORY_COND_BR) return K_JCC;
	if (map0 && ((op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF))) return K_STRING;
	if (map0 && op == 0xD7 && (g->seg == S_FS || g->seg == S_GS || g->a16 ||
				    (x->mode & XM_NONFLAT)))
		return K_XLAT;
	if (map0 && op == 0x82) return K_OP82;
	if (z->opcode_map == ZYDIS_OPCODE_MAP_0F && (z->opcode & 0xE7) == 0xA3 &&
	    z->raw.modrm.mod != 3 && (g->a16 || xl_seg_needs_base(x, xl_mem_seg(g))))
		return K_BT_REG;          /* 0F A3/AB/B3/BB with a memory operand, lowered path */
	if (xl_exc_kind(x, g) == K_DIV_FAST) return K_DIV_FAST;
	return K_IDENT;
}

/* Public classification for reports (vmm386-scan, the coverage report). */
enum xl_class xl_classify(const uint8_t *bytes, unsigned avail, uint32_t mode,
			  unsigned *len, const char **mnemonic)
{
	struct xl_ctx x = { .mode = mode };
	struct ginsn g;
	memset(&g, 0, sizeof(g));
	*len = 0;
	*mnemonic = "(bad)";
	if (avail > 15) avail = 15;
	memcpy(g.bytes, bytes, avail);
	if (avail == 0 || ZYAN_FAILED(ZydisDecoderDecodeFull(&xl_decoder, g.bytes, avail, &g.z, g.op)))
		return XC_INVALID;
	xl_fill_prefix_info(&g);
	*len = g.z.length;
	*mnemonic = ZydisMnemonicGetString(g.z.mnemonic);
	struct rewrite rw;
	xl_analyse(&g, &rw);
	switch (xl_kind(&x, &g)) {
	case K_UD: case K_UD_FAST: return XC_UNSUPPORTED;
	case K_DIV_FAST: return XC_IDENT;          /* the instruction itself, after a check */
	case K_FPU_FAULT: case K_EMULATE: return XC_MONITOR;
	case K_INCDEC: case K_OP82: return XC_REENCODED;
	case K_CLI: case K_STI: case K_PUSHF: case K_POPF: return XC_LOWERED;
	case K_PUSHA: case K_POPA: case K_PUSH_SREG: case K_SREG: case K_MOV_FROM_SYS: case K_INVLPG: case K_CPUID: return XC_LOWERED;
	case K_INT_FAST: case K_IRET_FAST: case K_SYSENTER_FAST: case K_SYSEXIT_FAST:
	case K_VERIFY:
		return XC_MONITOR;                              /* inline only while cached */
	case K_RDTSC: case K_PIO_IN: return XC_LOWERED;
	case K_NOP: return XC_IDENT;
	case K_IDENT: {
		bool disp32 = rw.has_modrm_mem && g.z.raw.modrm.mod == 0 && g.z.raw.modrm.rm == 5 && !g.a16;
		bool lowered = (rw.has_modrm_mem || rw.mem_access) &&
			       (g.a16 || g.seg == S_FS || g.seg == S_GS || (mode & XM_NONFLAT));
		if (lowered) return rw.has_modrm_mem ? XC_LOWERED : XC_MONITOR;
		if (disp32 || (rw.high8 && rw.rex) || g.z.mnemonic == ZYDIS_MNEMONIC_TZCNT ||
		    g.z.mnemonic == ZYDIS_MNEMONIC_LZCNT)
			return XC_REENCODED;
		return XC_IDENT;
	}
	default: return XC_LOWERED;
	}
}
