/*
 * xl_int.h - what the translator's files share, and nobody else may include.
 *
 * The translator turns one guest block into one host block (translate.c drives it).  Every
 * guest instruction is decoded into a struct ginsn, classified (classify.c: the one decision
 * tree that vmm386-scan and the coverage report also use) and handed to one emitter:
 * ident.c (guest bytes copied or lightly re-encoded), stack.c, branch.c, string.c, vif.c
 * (hand lowerings), tsc.c (RDTSC), sreg_cache.c, verify_cache.c and ring_cache.c (inline
 * caches for segment loads, VERR/VERW and INT/IRET/SYSENTER/SYSEXIT), mmio_fast.c (adaptive
 * loads served from a device's read mirror), or an exit to the monitor (exit.c).  operand.c makes guest memory operands
 * host-addressable for all of them.
 *
 * Register convention inside a block (DESIGN.md §2): guest EAX..EDI except ESP live in the
 * same host registers with their upper halves zero, guest ESP in R12D, guest arithmetic
 * flags and DF in RFLAGS, R13 = struct vcpu, R15 = GS base = window base.  R8-R11 and R14
 * are scratch between guest instructions.  Everything emitted between guest instructions
 * is flag-neutral (MOV, LEA, MOVZX, NOT, JRCXZ) unless it saves the guest's flags first.
 *
 * Precise state: every emitter performs all accesses that can fault before it changes any
 * guest register, so a host fault anywhere inside the translation of instruction i leaves
 * the guest state of "before instruction i" in the host registers, modulo the fix-ups that
 * the per-instruction map (x->imap[x->n]) records: string pointers held as host addresses,
 * a borrowed register parked in vcpu->spill[1], guest flags pushed on the host stack.
 *
 * An emitter appends to x->b, may add exits to x->blk, and sets x->ended when the block
 * must stop after this instruction.  All of it runs on the vCPU thread at translation time.
 */
#ifndef XL_INT_H
#define XL_INT_H

#include <Zydis/Zydis.h>
#include <stdlib.h>
#include <string.h>
#include "xl.h"
#include "emit.h"
#include "../monitor/memory.h"
#include "../monitor/param.h"
#include "../emulation/emu.h"

/* Decoded guest instruction with the pieces the rewriter needs. */
struct ginsn {
	ZydisDecodedInstruction z;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	uint8_t bytes[16];
	gla_t eip;
	unsigned opc;        /* offset of the first opcode byte */
	int seg;             /* segment override S_*, or -1 */
	bool a16;            /* 16-bit addressing (0x67) */
	bool o16;            /* 16-bit operand size (0x66) */
	gpa_t next_page;     /* the next page's frame if the bytes ran into it (vmm_fetch_code):
			      * ~0u none, ~1u unmapped */
};

/* The block being translated. */
struct xl_ctx {
	struct vcpu *c;
	struct xbuf b;
	struct cc_block *blk;
	uint32_t mode;
	struct xl_imap imap[2 * XL_MAX_INSNS + 2];   /* + interrupt-probe entries */
	unsigned n;          /* index of the instruction being translated in imap */
	bool ended;
};

/* What the ModRM/implicit operands of an instruction need from the rewriter. */
struct rewrite {
	uint8_t rex;         /* R/B bits needed for ESP -> R12 (0 if none) */
	bool high8;          /* instruction names AH/CH/DH/BH */
	bool has_modrm_mem;  /* ModRM memory operand (mod != 3) */
	bool is_agen;        /* LEA-style: address only, no access */
	bool mem_access;     /* any memory access (ModRM, moffs, implicit) */
};

/* How one guest instruction is handled: the single decision tree (xl_kind) used both to
 * translate (translate_insn) and to report (xl_classify, vmm386-scan). */
enum xk {
	K_UD, K_FPU_FAULT, K_EMULATE, K_NOP, K_INCDEC, K_PUSH, K_POP, K_LEAVE, K_ENTER,
	K_JMP_REL, K_JMP_IND, K_CALL_REL, K_CALL_IND, K_RET, K_LOOP, K_JCC, K_STRING, K_XLAT,
	K_OP82, K_IDENT, K_CLI, K_STI, K_PUSHF, K_POPF, K_LOOP16, K_BT_REG, K_PUSHA, K_POPA,
	K_PUSH_SREG, K_SREG, K_INT_FAST, K_IRET_FAST, K_SYSENTER_FAST, K_SYSEXIT_FAST, K_VERIFY,
	K_RDTSC, K_MOV_FROM_SYS, K_INVLPG, K_CPUID, K_UD_FAST, K_DIV_FAST, K_PIO_IN,
};

/* The mode bits a CPL switch keeps (the inline ring transitions' target mode). */
#define XM_KEEP (XM_PROT | XM_PG | XM_TS | XM_EM | XM_MP | XM_TSD)

static const uint8_t OP_GRP1[] = {0x81}, OP_PUSHF[] = {0x9C}, OP_POPF[] = {0x9D};

/* Host register of guest register g. */
static inline int hreg(int g) { return g == R_ESP ? H_R12 : g; }
static inline bool is_sp(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_ESP || r == ZYDIS_REGISTER_SP;
}
/* Operand size of a stack access: 2 with 0x66, else 4. */
static inline unsigned opsz(const struct ginsn *g) { return g->o16 ? 2 : 4; }
static inline gla_t next_eip(const struct ginsn *g) { return g->eip + g->z.length; }
/* Target of a relative branch (wrapped to 16 bits with 0x66). */
static inline gla_t rel_target(const struct ginsn *g)
{
	gla_t t = next_eip(g) + (uint32_t)g->z.raw.imm[0].value.s;
	return g->o16 ? (t & 0xFFFF) : t;
}

/* translate.c: decoder, modes, segment ranges */
extern ZydisDecoder xl_decoder;
void xl_fill_prefix_info(struct ginsn *g);
void xl_seg_ranges(const struct seg *sg, uint32_t *lo_out, uint64_t *end_r, uint64_t *end_w);

/* classify.c */
enum xk xl_kind(const struct xl_ctx *x, const struct ginsn *g);
int xl_fpu_fault(const struct xl_ctx *x, const ZydisDecodedInstruction *z);

/* exit.c: leaving the block */
void xl_emit_stubs(void);
struct cc_exit *xl_new_exit(struct xl_ctx *x);
void xl_emit_exit_stub(struct xl_ctx *x, struct cc_exit *e, gla_t target);
void xl_emit_direct_exit(struct xl_ctx *x, gla_t target);
void xl_emit_reason_exit(struct xl_ctx *x, gla_t eip, unsigned reason, uint32_t info);
uint8_t *xl_emit_lookup_probe(struct xbuf *b);
uint8_t *xl_emit_lookup_probe_skip(struct xbuf *b, int32_t skip);
/* XL_HEAD_LEN (xl.h): bytes of a block's head (translate.c: emit_head), the exit-request check. */
/* The host has BMI2 (RORX in the lookup probe); set by xl_emit_stubs, tests may clear it. */
extern bool xl_host_bmi2;
void xl_emit_indirect_exit(struct xl_ctx *x);

/* operand.c: guest memory operands */
int xl_gpr_of(ZydisRegister r);
int xl_mem_seg(const struct ginsn *g);
bool xl_seg_needs_base(const struct xl_ctx *x, int seg);
void xl_emit_limit_check(struct xl_ctx *x, gla_t eip, int dst, int seg, unsigned size,
			 bool write);
void xl_emit_add_segbase(struct xl_ctx *x, int dst, int seg);
void xl_emit_ea(struct xl_ctx *x, const struct ginsn *g, int dst, int32_t esp_adj);
void xl_emit_offset(struct xl_ctx *x, const struct ginsn *g, int dst, int32_t esp_adj);
void xl_emit_seg_apply(struct xl_ctx *x, const struct ginsn *g, int dst);
unsigned xl_keep_prefixes(const struct ginsn *g, uint8_t *out, bool drop_rep);
void xl_analyse(const struct ginsn *g, struct rewrite *rw);
int xl_borrow_reg(const struct ginsn *g);
void xl_emit_with_mem(struct xl_ctx *x, const struct ginsn *g, const uint8_t *pfx,
		      unsigned npfx, const uint8_t *opc, unsigned nopc, int reg,
		      bool high8, const uint8_t *tail, unsigned ntail);

/* ident.c */
void xl_translate_ident(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_xlat(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_bt_reg(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_incdec(struct xl_ctx *x, const struct ginsn *g);

/* stack.c */
void xl_emit_stack_mem(struct xl_ctx *x, unsigned flags, const uint8_t *op, int reg,
		       int base, int32_t disp, unsigned size, bool write);
void xl_emit_push_reg(struct xl_ctx *x, int hr, unsigned size);
void xl_emit_push_imm(struct xl_ctx *x, uint32_t imm, unsigned size);
void xl_emit_load_rm(struct xl_ctx *x, const struct ginsn *g, unsigned size);
void xl_translate_push(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_pop(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_pusha(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_popa(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_push_sreg(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_leave(struct xl_ctx *x, const struct ginsn *g);
bool xl_translate_enter(struct xl_ctx *x, const struct ginsn *g);

/* branch.c */
void xl_translate_jcc(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_loop(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_loop16(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_call_rel(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_ret(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_indirect(struct xl_ctx *x, const struct ginsn *g, bool call);

/* string.c */
void xl_translate_string(struct xl_ctx *x, const struct ginsn *g);

/* vif.c */
void xl_translate_cli(struct xl_ctx *x);
void xl_translate_sti(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_pushf(struct xl_ctx *x);
void xl_translate_popf(struct xl_ctx *x, const struct ginsn *g);

/* sreg_cache.c (the quiet reads are shared with ring_cache.c, the GDT match with
 * verify_cache.c) */
bool xl_quiet_read(struct vcpu *c, gla_t la, void *buf, unsigned n);
bool xl_quiet_desc(struct vcpu *c, uint16_t sel, uint64_t *raw, const struct seg *want);
void xl_emit_gdt_match(struct xbuf *b, uint8_t **miss, unsigned *nmiss);
bool xl_sreg_fast_ok(const struct xl_ctx *x, const struct ginsn *g);
bool xl_mov_from_sys_ok(const struct xl_ctx *x, const struct ginsn *g);
bool xl_invlpg_inline_ok(const struct xl_ctx *x, const struct ginsn *g);
void xl_emit_call_enter(struct xbuf *b, bool flags_pushed);
void xl_emit_call_leave(struct xbuf *b);
void xl_translate_invlpg(struct xl_ctx *x, const struct ginsn *g);
bool xl_cpuid_inline_ok(const struct xl_ctx *x, const struct ginsn *g);
void xl_translate_cpuid(struct xl_ctx *x);
void xl_translate_mov_from_sys(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_sreg_fast(struct xl_ctx *x, const struct ginsn *g);

/* verify_cache.c */
bool xl_verify_fast_ok(const struct xl_ctx *x, const struct ginsn *g);
void xl_translate_verify_fast(struct xl_ctx *x, const struct ginsn *g);
void xl_verify_fill(struct vcpu *c, uint32_t info);

/* tsc.c */
bool xl_rdtsc_inline_ok(const struct xl_ctx *x, const struct ginsn *g);
void xl_translate_rdtsc(struct xl_ctx *x);

/* pio.c */
bool xl_pio_in_ok(const struct xl_ctx *x, const struct ginsn *g);
void xl_translate_pio_in(struct xl_ctx *x, const struct ginsn *g);

/* mmio_fast.c */
bool xl_mmio_fast_ok(const struct xl_ctx *x, const struct ginsn *g);
void xl_translate_mmio_fast(struct xl_ctx *x, const struct ginsn *g);

/* ring_cache.c */
enum xk xl_ring_kind(const struct xl_ctx *x, const struct ginsn *g);
void xl_translate_int_fast(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_iret_fast(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_sysenter_fast(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_sysexit_fast(struct xl_ctx *x, const struct ginsn *g);
void xl_emit_exc_fast(struct xl_ctx *x, const struct ginsn *g, uint32_t vector);

/* exc_fast.c */
enum xk xl_exc_kind(const struct xl_ctx *x, const struct ginsn *g);
void xl_translate_ud_fast(struct xl_ctx *x, const struct ginsn *g);
void xl_translate_div_fast(struct xl_ctx *x, const struct ginsn *g);

#endif
