/*
 * ring_cache.c - INT n, INT3, #DE, #UD and SYSENTER from CPL 3, IRET and SYSEXIT to CPL 3 and
 * IRET at CPL 0 back to CPL 0, without the monitor.
 *
 * A system call is INT 0x80 from user mode, then IRET back; as monitor calls they were the
 * last two exits of a null system call.  Like the segment loads (sreg_cache.c), each such
 * site in paged, flat protected-mode code is translated inline against a one-entry cache
 * (struct xl_ring_slot) that the monitor fills after running the site once:
 *
 * INT n at CPL 3: the cached IDT gate, the handler's code descriptor, TR, SS0 and the stack
 * descriptor are compared with the bytes in memory now (read through the supervisor view of
 * the current page directory, vcpu->win_view[0], as the CPU reads them), ESP0 is read from
 * the TSS, the 5-dword frame is pushed there, and the block switches CPL, CS, SS, GS base
 * (R15) and lookup table, and jumps to the handler through the kernel window's lookup
 * table if its tag says it holds blocks of the kernel's mode.  For a PV guest the pushed IF
 * is the virtual IF, which an interrupt gate clears (pv/abi.h), as the monitor does.
 *
 * Exceptions from CPL 3 that the translator can see coming are delivered the same way, each
 * site with its own slot (kind RK_EXC): UD2 (#UD), and DIV/IDIV by a 32/16-bit register,
 * which first tests the divisor flag-free and jumps to the #DE delivery when it is zero
 * (an overflow still traps to the host: monitor/signals.c delivers it without an exit, as
 * it does #PF).  A fault pushes the EIP of the instruction itself and sets RF in the pushed
 * EFLAGS, as emulation/exceptions.c does; the slot's IDT offset is compared with the
 * site's vector, so a slot the pool handed to another site never delivers the wrong gate.
 * A miss raises the vector in the monitor (run.c: emulate), whose delivery does every
 * check (not-present gate: #NP, and #DF since #DE and #NP are contributory), then refills
 * the slot only if the frame's EIP and the handler are the ones this site delivers.
 *
 * IRET at CPL 0 to CPL 3 (after a user #PF, first a call that maps the faulting page, see
 * emit_pf_retry): the frame is read from the kernel stack, the CS and SS selectors
 * and their descriptors must be the cached ones, NT, VM and TF must be clear (the run
 * loop steps the guest while TF is set, monitor/debug.c), and no data segment register
 * may hold a DPL < 3 segment (IRET would null it); then the same switch the other way.
 * If the new IF is 1 and an interrupt is pending, it leaves for the dispatcher at the new
 * EIP instead.  RF (set in the frame of every fault) is cleared at once where that is
 * exact, see emit_rf_check; with an instruction breakpoint translated in, RF sends the
 * IRET to the monitor and the loop steps one instruction.
 *
 * IRET at CPL 0 whose frame's CS has RPL 0 (an interrupt taken in kernel mode returns)
 * branches to a second slot of the site (RK_IRET0): the CS selector and its GDT entry must be
 * the cached ones (flat, DPL 0), NT clear, the new EFLAGS without VM, TF, NT, RF (RF goes to
 * the run loop, monitor/debug.c, as for IRET to CPL 3); only EIP, CS
 * and EFLAGS change, so the window and the lookup table stay.
 *
 * SYSENTER at CPL 3 and SYSEXIT at CPL 0: the same switch, against the MSR IA32_SYSENTER_CS
 * that the slot was filled with (see emit_sys_checks); nothing is read from guest memory.
 *
 * Any difference takes the old path (the monitor runs the instruction and refills the
 * slot).  Every access to guest memory happens before the first change of guest state.  A
 * fault on the kernel view from user mode is a shadow fill of that window like any other
 * (smmu_fault finds the window by address); anything a fill cannot fix - a guest page
 * fault, a traced or code page - sends the site to the monitor (XI_FASTRING), which runs
 * the instruction with the architecture's full checks.
 *
 * A miss leaves with EXIT_EMULATE and info XL_INFO_RING + (kind << 12) + slot.  Called from translate_insn
 * (translate.c); xl_ring_fill() by the monitor after it ran a site that missed.
 */
#include "xl_int.h"

struct xl_ring_slot {
	uint64_t gate_raw;    /* 0x00 INT: the IDT entry */
	uint64_t cs_raw;      /* 0x08 descriptor of the new CS */
	uint64_t ss_raw;      /* 0x10 descriptor of the new SS */
	uint64_t tr_key;      /* 0x18 INT: vcpu->tr's selector, attributes and base */
	uint32_t tr_limit;    /* 0x20 INT */
	uint32_t idt7;        /* 0x24 INT: 8n + 7 */
	uint32_t cs_idx, cs_idx7, ss_idx, ss_idx7;   /* 0x28 GDT offsets, last byte */
	uint32_t cs_sel;      /* 0x38 IRET: the CS selector in the frame */
	uint32_t ss_sel;      /* 0x3c INT: SS0 in the TSS; IRET: SS in the frame */
	uint32_t target;      /* 0x40 INT: handler EIP */
	uint32_t int_gate;    /* 0x44 INT: interrupt gate (clears IF) */
	struct seg cs;        /* 0x48 */
	struct seg ss;        /* 0x54 */
	uint32_t valid;       /* 0x60 */
	uint32_t vector;      /* 0x64 INT: n */
	uint64_t cs_end_r, cs_end_w, ss_end_r, ss_end_w;   /* 0x68 */
	uint64_t tag;         /* 0x88 CC_LK_TAG of the mode after the switch */
	uint32_t kind;        /* 0x90 RK_*: the kind of site that filled it */
	uint32_t msr_cs;      /* 0x94 SYSENTER/SYSEXIT: IA32_SYSENTER_CS at the fill */
	uint32_t ret_off;     /* INT/exception: the frame's EIP minus the site's (2, 1, 0) */
	uint8_t rf_stop[32];  /* 0x9c IRET with RF: first bytes that send it to the monitor */
};
#define RF_STOP_OFF 0x9c
/* Site kinds, also in bits 12-13 of the exit info (XL_INFO_RING + (kind << 12) + slot). */
enum { RK_INT_IRET, RK_SYSENTER, RK_SYSEXIT, RK_EXC, RK_IRET0 };
_Static_assert(offsetof(struct xl_ring_slot, cs) == 0x48 && offsetof(struct xl_ring_slot, valid) == 0x60 &&
	       offsetof(struct xl_ring_slot, cs_end_r) == 0x68 && offsetof(struct xl_ring_slot, tag) == 0x88 &&
	       offsetof(struct xl_ring_slot, kind) == 0x90 && offsetof(struct xl_ring_slot, msr_cs) == 0x94 &&
	       offsetof(struct xl_ring_slot, rf_stop) == RF_STOP_OFF,
	       "xl_ring_slot layout");
#define RING_SLOTS 1024u
static struct xl_ring_slot ring_slot[RING_SLOTS];
static unsigned ring_next;

#define VCO(f) ((int32_t)offsetof(struct vcpu, f))
#define SEGO(s, f) ((int32_t)(offsetof(struct vcpu, seg) + (size_t)(s) * sizeof(struct seg) + offsetof(struct seg, f)))

static uint8_t *jcc32(struct xbuf *b, uint8_t cc)
{
	e8(b, 0x0F); e8(b, (uint8_t)(0x80 | cc));
	uint8_t *r = b->p;
	e32(b, 0);
	return r;
}
enum { CC_B = 2, CC_E = 4, CC_NE = 5 };
static const uint8_t OP_CMP_LD[] = {0x3B}, OP_ADD_LD[] = {0x03}, OP_GRP1_IMM[] = {0x81};
static const uint8_t OP_TEST_IMM[] = {0xF7}, OP_TEST_RR[] = {0x85}, OP_OR_RR[] = {0x09};
static const uint8_t OP_CMP_IMM8[] = {0x83}, OP_TEST_IMM8[] = {0xF6};

/* r = slot field at off compared with r (cmp r, [r9+off]) */
static void cmp_slot(struct xbuf *b, unsigned w, int r, int off)
{
	emit_mem(b, w ? EM_W : 0, OP_CMP_LD, 1, r, H_R9, -1, 0, off);
}

/* wrgsbase r; mov r15, r */
static void emit_switch_window(struct xbuf *b, int r)
{
	e8(b, 0xF3); e8(b, (uint8_t)(0x48 | ((r & 8) ? 1 : 0))); e8(b, 0x0F); e8(b, 0xAE);
	e8(b, (uint8_t)(0xD8 | (r & 7)));
	emit_rr(b, EM_W, OP_MOV_ST, 1, r, H_R15);
}

/* CS and SS from the slot: hidden parts, bases (0), ranges, CPL */
static void emit_ring_commit_segs(struct xbuf *b, int cpl)
{
	emit_vcpu_imm32(b, VCO(cpl), (uint32_t)cpl);
	static const int segs[2] = {S_CS, S_SS};
	for (int i = 0; i < 2; i++) {
		int s = segs[i], so = 0x48 + 12 * i;
		emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, so);
		emit_vcpu_store(b, SEGO(s, sel), H_R11, 1);
		emit_mem(b, 0, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, so + 8);
		emit_vcpu_store(b, SEGO(s, limit), H_R11, 0);
		emit_vcpu_imm32(b, VC_SEG_BASE + 4 * s, 0);
		emit_vcpu_imm32(b, VC_SEG_LO + 4 * s, 0);
		emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, 0x68 + 16 * i);
		emit_vcpu_store(b, VC_SEG_END_R + 8 * s, H_R11, 1);
		emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, 0x70 + 16 * i);
		emit_vcpu_store(b, VC_SEG_END_W + 8 * s, H_R11, 1);
	}
}

/* The head after pushfq: r9 = slot, slot valid, view v's window in r10 and its table tagged. */
static void emit_ring_head_rest(struct xl_ctx *x, struct xl_ring_slot *sl, int view, uint8_t **miss,
				unsigned *nm)
{
	struct xbuf *b = &x->b;
	emit_mov_imm64(b, H_R9, (uint64_t)(uintptr_t)sl);
	emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R9, -1, 0, 0x60); e8(b, 1);
	miss[(*nm)++] = jcc32(b, CC_NE);
	emit_vcpu_load(b, H_R10, VCO(win_view[view]), 1);
	emit_rr(b, EM_W, OP_TEST_RR, 1, H_R10, H_R10);
	miss[(*nm)++] = jcc32(b, CC_E);
	emit_vcpu_load(b, H_R11, VCO(lk_view[view]), 1);
	emit_rr(b, EM_W, OP_TEST_RR, 1, H_R11, H_R11);
	miss[(*nm)++] = jcc32(b, CC_E);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R11, -1, 0, (int32_t)offsetof(struct cc_lookup, tag));
	cmp_slot(b, 1, H_R11, 0x88);
	miss[(*nm)++] = jcc32(b, CC_NE);
}

/* Common head: exit info, pushfq, then emit_ring_head_rest. */
static void emit_ring_head(struct xl_ctx *x, struct xl_ring_slot *sl, uint32_t info, int view,
			   uint8_t **miss, unsigned *nm)
{
	emit_vcpu_imm32(&x->b, VC_EXIT_INFO, info);              /* for the signal handler */
	ebytes(&x->b, OP_PUSHF, 1);
	emit_ring_head_rest(x, sl, view, miss, nm);
}

/* GDT limit and descriptor checks of the slot's CS and SS, reading through window register wr
 * (r10 with an explicit base, or -1 for the running window through GS). */
static void emit_ring_gdt_checks(struct xbuf *b, int wr, uint8_t **miss, unsigned *nm)
{
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, VCO(gdtr.limit));
	cmp_slot(b, 0, H_R8, 0x2c);
	miss[(*nm)++] = jcc32(b, CC_B);
	cmp_slot(b, 0, H_R8, 0x34);
	miss[(*nm)++] = jcc32(b, CC_B);
	for (int i = 0; i < 2; i++) {
		emit_vcpu_load(b, H_R8, VCO(gdtr.base), 0);
		emit_mem(b, 0, OP_ADD_LD, 1, H_R8, H_R9, -1, 0, i ? 0x30 : 0x28);
		if (wr >= 0)
			emit_mem(b, EM_W, OP_MOV_LD, 1, H_R8, wr, H_R8, 1, 0);
		else
			emit_mem(b, EM_GUEST | EM_W, OP_MOV_LD, 1, H_R8, H_R8, -1, 0, 0);
		cmp_slot(b, 1, H_R8, i ? 0x10 : 0x08);
		miss[(*nm)++] = jcc32(b, CC_NE);
	}
}

/* The slow path of a ring site: restore flags, let the monitor run it and refill the slot. */
static void emit_ring_miss(struct xl_ctx *x, const struct ginsn *g, uint32_t info, uint8_t **miss, unsigned nm)
{
	struct xbuf *b = &x->b;
	for (unsigned i = 0; i < nm; i++)
		patch_rel32(miss[i], b->p);
	ebytes(b, OP_POPF, 1);
	emit_vcpu_imm32(b, VC_EIP, g->eip);
	emit_vcpu_imm32(b, VC_EXIT_INFO, info);
	emit_vcpu_imm32(b, VC_EXIT_REASON, EXIT_EMULATE);
	emit_jmp32(b, cc_exit_thunk());
	x->ended = true;
}

/* First bytes of an instruction that may push EFLAGS with RF before it completes (INT n,
 * INT3, INTO, ICEBP), and every prefix: RF is kept for them (emit_rf_check, xl_rf_clear). */
static const uint8_t rf_stop[] = {0xCC, 0xCD, 0xCE, 0xF1, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67,
				  0xF0, 0xF2, 0xF3};

/* A fresh slot for a new site of kind k; *info = its exit info. */
static struct xl_ring_slot *ring_slot_new(uint32_t *info, uint64_t tag, unsigned k)
{
	unsigned idx = ring_next++ & (RING_SLOTS - 1);
	struct xl_ring_slot *sl = &ring_slot[idx];
	memset(sl, 0, sizeof(*sl));
	for (unsigned i = 0; i < sizeof(rf_stop); i++)
		sl->rf_stop[rf_stop[i] / 8] |= (uint8_t)(1u << (rf_stop[i] % 8));
	sl->tag = tag;
	sl->kind = k;
	*info = XL_INFO_RING + (k << 12) + idx;
	xl_stats.ring_sites++;
	return sl;
}

/* Which inline ring transition g is in this mode, or K_EMULATE for none. */
enum xk xl_ring_kind(const struct xl_ctx *x, const struct ginsn *g)
{
	uint32_t m = x->mode;
	unsigned cpl = m & XM_CPL_MASK;
	if ((m & (XM_PROT | XM_PG | XM_SINGLE | XM_NONFLAT)) != (XM_PROT | XM_PG) || g->o16 || g->a16)
		return K_EMULATE;
	switch (g->z.mnemonic) {
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT3:
		return (g->bytes[g->opc] == 0xCD || g->bytes[g->opc] == 0xCC) && cpl == 3 ? K_INT_FAST : K_EMULATE;
	case ZYDIS_MNEMONIC_IRETD: return cpl == 0 ? K_IRET_FAST : K_EMULATE;
	case ZYDIS_MNEMONIC_SYSENTER: return cpl == 3 ? K_SYSENTER_FAST : K_EMULATE;
	case ZYDIS_MNEMONIC_SYSEXIT: return cpl == 0 ? K_SYSEXIT_FAST : K_EMULATE;
	default: return K_EMULATE;
	}
}

/*
 * The delivery of vector sl->vector from CPL 3 through the slot's cached gate, TSS and
 * descriptors (after emit_ring_head): the 5-dword frame with return EIP ret_eip below
 * ESP0 (EFLAGS.RF set in it for a fault, as emulation/exceptions.c pushes it), then the
 * switch to CPL 0 and a jump to the handler.  Every miss leaves through *miss.
 */
static void emit_user_event(struct xl_ctx *x, struct xl_ring_slot *sl, uint32_t ret_eip, bool fault,
			    uint8_t **miss, unsigned *nmiss)
{
	struct xbuf *b = &x->b;
	uint32_t n = sl->vector;
	unsigned nm = *nmiss;
	bool pv = emu_pv != NULL;
	emit_mem(b, 0, OP_TEST_IMM, 1, 0, H_R13, -1, 0, VC_EFLAGS); e32(b, FL_TF);
	miss[nm++] = jcc32(b, CC_NE);
	if (pv) {
		emit_vcpu_load(b, H_R11, VCO(pv_vif), 1);
		emit_rr(b, EM_W, OP_TEST_RR, 1, H_R11, H_R11);
		miss[nm++] = jcc32(b, CC_E);
	}
	/* IDT entry n (a slot the pool gave another site since is filled for another n) */
	emit_mem(b, 0, OP_GRP1_IMM, 1, 7, H_R9, -1, 0, 0x24); e32(b, 8 * n + 7);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, VCO(idtr.limit));
	cmp_slot(b, 0, H_R8, 0x24);
	miss[nm++] = jcc32(b, CC_B);
	emit_vcpu_load(b, H_R8, VCO(idtr.base), 0);
	emit_lea32(b, H_R8, H_R8, -1, (int32_t)(8 * n));
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R8, H_R10, H_R8, 1, 0);
	cmp_slot(b, 1, H_R8, 0x00);
	miss[nm++] = jcc32(b, CC_NE);
	/* TR unchanged since the fill */
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R8, H_R13, -1, 0, VCO(tr));
	cmp_slot(b, 1, H_R8, 0x18);
	miss[nm++] = jcc32(b, CC_NE);
	emit_vcpu_load(b, H_R8, VCO(tr.limit), 0);
	cmp_slot(b, 0, H_R8, 0x20);
	miss[nm++] = jcc32(b, CC_NE);
	emit_ring_gdt_checks(b, H_R10, miss, &nm);
	/* SS0 and ESP0 from the TSS */
	emit_vcpu_load(b, H_R8, VCO(tr.base), 0);
	emit_lea32(b, H_R8, H_R8, -1, 8);
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R10, H_R8, 1, 0);
	cmp_slot(b, 0, H_R8, 0x3c);
	miss[nm++] = jcc32(b, CC_NE);
	emit_vcpu_load(b, H_R8, VCO(tr.base), 0);
	emit_lea32(b, H_R8, H_R8, -1, 4);
	emit_mem(b, 0, OP_MOV_LD, 1, H_R14, H_R10, H_R8, 1, 0);         /* r14d = ESP0 */
	emit_rr(b, 0, OP_GRP1_IMM, 1, 7, H_R14); e32(b, 20);              /* cmp r14d, 20 */
	miss[nm++] = jcc32(b, CC_B);
	/* the frame: SS, ESP, EFLAGS, CS, EIP below ESP0 */
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, SEGO(S_SS, sel));
	emit_mem(b, 0, OP_MOV_ST, 1, H_R8, H_R10, H_R14, 1, -4);
	emit_mem(b, 0, OP_MOV_ST, 1, H_R12, H_R10, H_R14, 1, -8);
	emit_vcpu_load(b, H_R8, VC_EFLAGS, 0);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R8); e32(b, ~(uint32_t)FL_HOST);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_RSP, -1, 0, 0);       /* guest flags pushed */
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R11); e32(b, FL_HOST);
	emit_rr(b, 0, OP_OR_RR, 1, H_R11, H_R8);
	if (fault) {
		emit_rr(b, 0, OP_GRP1_IMM, 1, 1, H_R8); e32(b, FL_RF);
	}
	if (pv) {                                       /* pushed IF = virtual IF */
		emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R8); e32(b, ~(uint32_t)FL_IF);
		emit_vcpu_load(b, H_R11, VCO(pv_vif), 1);
		emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R11, -1, 0, 0); e8(b, 0);
		e8(b, 0x74); uint8_t *z = b->p; e8(b, 0);                  /* je: vif 0 */
		emit_rr(b, 0, OP_GRP1_IMM, 1, 1, H_R8); e32(b, FL_IF);
		*z = (uint8_t)(b->p - z - 1);
	}
	emit_mem(b, 0, OP_MOV_ST, 1, H_R8, H_R10, H_R14, 1, -12);
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, SEGO(S_CS, sel));
	emit_mem(b, 0, OP_MOV_ST, 1, H_R8, H_R10, H_R14, 1, -16);
	emit_mem(b, 0, OP_MOV_IMM, 1, 0, H_R10, H_R14, 1, -20); e32(b, ret_eip);
	/* commit */
	emit_vcpu_load(b, H_R8, VC_EFLAGS, 0);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R8); e32(b, ~(uint32_t)(FL_TF | FL_NT | FL_RF | FL_VM));
	emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R9, -1, 0, 0x44); e8(b, 0);
	e8(b, 0x74); uint8_t *tg = b->p; e8(b, 0);                          /* je: trap gate */
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R8); e32(b, ~(uint32_t)FL_IF);
	if (pv) {
		emit_vcpu_load(b, H_R11, VCO(pv_vif), 1);
		emit_mem(b, 0, OP_MOV_IMM, 1, 0, H_R11, -1, 0, 0); e32(b, 0);
	}
	*tg = (uint8_t)(b->p - tg - 1);
	emit_vcpu_store(b, VC_EFLAGS, H_R8, 0);
	emit_lea32(b, H_R12, H_R14, -1, -20);
	emit_ring_commit_segs(b, 0);
	emit_vcpu_load(b, H_R11, VCO(lk_view[0]), 1);
	emit_vcpu_store(b, VC_LOOKUP, H_R11, 1);
	emit_switch_window(b, H_R10);
	ebytes(b, OP_POPF, 1);
	emit_mem(b, 0, OP_MOV_LD, 1, H_R14, H_R9, -1, 0, 0x40);
	xl_emit_lookup_probe(b);
	*nmiss = nm;
}

/* INT n (CD ib) or INT3 (CC) from CPL 3: a software interrupt, the frame's EIP after it. */
void xl_translate_int_fast(struct xl_ctx *x, const struct ginsn *g)
{
	bool int3 = g->bytes[g->opc] == 0xCC;
	uint32_t info;
	struct xl_ring_slot *sl = ring_slot_new(&info, CC_LK_TAG(x->mode & XM_KEEP, 0), RK_INT_IRET);
	uint8_t *miss[24];
	unsigned nm = 0;
	sl->vector = int3 ? 3 : (uint32_t)g->z.raw.imm[0].value.u & 0xFF;
	sl->ret_off = g->z.length;
	x->imap[x->n].fix |= XI_PUSHF | XI_FASTRING;
	emit_ring_head(x, sl, info, 0, miss, &nm);
	emit_user_event(x, sl, next_eip(g), false, miss, &nm);
	emit_ring_miss(x, g, info, miss, nm);
}

/*
 * An exception that instruction g raises from CPL 3 whenever this code runs (UD2: #UD), or
 * when the check emitted before it sends it here (a zero divisor: #DE), delivered through
 * the slot's gate like INT n; a miss leaves with the slot's info and the monitor raises the
 * vector at g (run.c: emulate) and refills the slot.  The code gets its own instruction-map
 * entry (EIP of g, pushed flags): a fault while pushing the frame is a miss too.
 */
void xl_emit_exc_fast(struct xl_ctx *x, const struct ginsn *g, uint32_t vector)
{
	uint32_t info;
	struct xl_ring_slot *sl = ring_slot_new(&info, CC_LK_TAG(x->mode & XM_KEEP, 0), RK_EXC);
	uint8_t *miss[24];
	unsigned nm = 0;
	sl->vector = vector;
	sl->ret_off = 0;
	xl_stats.exc_sites++;
	emit_ring_head(x, sl, info, 0, miss, &nm);
	emit_user_event(x, sl, g->eip, true, miss, &nm);
	emit_ring_miss(x, g, info, miss, nm);
}

/* IRET commit, new EFLAGS in r8d: vcpu->eflags gets what IRET at CPL 0 loads, the guest
 * flags pushed at [rsp] (popped at the end) the arithmetic ones and DF. */
static void emit_iret_eflags(struct xbuf *b)
{
	const uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_RF | FL_AC | FL_ID | FL_IF | FL_IOPL |
			      FL_VIF | FL_VIP;
	emit_rr(b, 0, OP_MOV_ST, 1, H_R8, H_R11);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R11); e32(b, mask);
	emit_vcpu_load(b, H_R14, VC_EFLAGS, 0);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R14); e32(b, ~mask);
	emit_rr(b, 0, OP_OR_RR, 1, H_R11, H_R14);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 1, H_R14); e32(b, FL_FIXED);
	emit_vcpu_store(b, VC_EFLAGS, H_R14, 0);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_RSP, -1, 0, 0);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R11); e32(b, ~(uint32_t)FL_HOST);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R8, H_R14);
	emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R14); e32(b, FL_HOST);
	emit_rr(b, 0, OP_OR_RR, 1, H_R14, H_R11);
	emit_mem(b, EM_W, OP_MOV_ST, 1, H_R11, H_RSP, -1, 0, 0);
}

/* Go on at the new EIP in r14d (new EFLAGS in r8d): if IF is now 1 with an interrupt
 * pending, through the dispatcher, which delivers it first; else through the lookup table. */
static void emit_iret_go(struct xbuf *b, bool rf_ok)
{
	emit_rr(b, 0, OP_TEST_IMM, 1, 0, H_R8); e32(b, FL_IF);
	e8(b, 0x74); uint8_t *noif = b->p; e8(b, 0);
	emit_vcpu_load(b, H_R11, VC_IRQ_PTR, 1);
	emit_mem(b, EM_W, OP_CMP_LD, 1, H_R11, H_R13, -1, 0, VC_REQ_PTR);
	e8(b, 0x74); uint8_t *noirq = b->p; e8(b, 0);
	uint8_t *disp = b->p;
	ebytes(b, OP_POPF, 1);
	emit_vcpu_store(b, VC_EIP, H_R14, 0);
	emit_jmp32(b, cc_miss_stub());
	*noif = (uint8_t)(b->p - noif - 1);
	*noirq = (uint8_t)(b->p - noirq - 1);
	if (rf_ok) {
		/* RF: cleared, as it is once the first instruction completes, which it will
		 * before anything can push EFLAGS (emit_rf_check); the block is entered past
		 * its exit-request check, so no interrupt comes in before it; a lookup miss
		 * (or EIP 0, the key of an empty slot) leaves with RF still set */
		emit_rr(b, 0, OP_TEST_IMM, 1, 0, H_R8); e32(b, FL_RF);
		uint8_t *norf = jcc32(b, CC_E);
		emit_rr(b, 0, OP_TEST_RR, 1, H_R14, H_R14);
		patch_rel32(jcc32(b, CC_E), disp);
		emit_vcpu_load(b, H_R11, VC_EFLAGS, 0);
		emit_vcpu_store(b, VC_SPILL + 16, H_R11, 0);
		emit_mem(b, 0, OP_GRP1_IMM, 1, 4, H_R13, -1, 0, VC_EFLAGS); e32(b, ~(uint32_t)FL_RF);
		ebytes(b, OP_POPF, 1);
		uint8_t *miss = xl_emit_lookup_probe_skip(b, XL_HEAD_LEN);
		patch_rel32(miss, b->p);
		emit_vcpu_load(b, H_R11, VC_SPILL + 16, 0);
		emit_vcpu_store(b, VC_EFLAGS, H_R11, 0);
		emit_jmp32(b, cc_miss_stub());
		patch_rel32(norf, b->p);
	}
	ebytes(b, OP_POPF, 1);
	xl_emit_lookup_probe(b);
}

/*
 * IRET whose new EFLAGS has RF (the return from a fault: the CPU pushed RF = 1): RF only
 * keeps an instruction breakpoint at the target from firing, and is pushed by an event
 * taken before the target instruction completes.  With no instruction breakpoint
 * translated in (xl_debug_break unset; setting one flushes every translation) only the
 * pushing matters: a fault pushes RF = 1 anyway, interrupts are kept out (emit_iret_go),
 * and a target whose first byte is a software interrupt or a prefix (rf_stop) goes to the
 * monitor.  Byte at the new EIP in r14d, read through window wr (-1: GS); a fault is a miss.
 */
static void emit_rf_check(struct xbuf *b, int wr, uint8_t **miss, unsigned *nm)
{
	static const uint8_t movzx8[] = {0x0F, 0xB6}, bt_mem[] = {0x0F, 0xA3};
	emit_rr(b, 0, OP_TEST_IMM, 1, 0, H_R8); e32(b, FL_RF);
	e8(b, 0x74); uint8_t *norf = b->p; e8(b, 0);
	if (wr >= 0)
		emit_mem(b, 0, movzx8, 2, H_R11, wr, H_R14, 1, 0);
	else
		emit_mem(b, EM_GUEST, movzx8, 2, H_R11, H_R14, -1, 0, 0);
	emit_mem(b, 0, bt_mem, 2, H_R11, H_R9, -1, 0, RF_STOP_OFF);
	miss[(*nm)++] = jcc32(b, CC_B);                                     /* jc */
	*norf = (uint8_t)(b->p - norf - 1);
}

/*
 * IRET at CPL 0 back to CPL 0 (an interrupt or exception taken in kernel mode): its own
 * slot (kind RK_IRET0), filled with the CS it returned to.  The frame's CS selector must be
 * the slot's and its GDT entry the cached one (flat, DPL 0); NT clear; the new EFLAGS
 * without VM, TF, NT or RF.  EIP, CS, EFLAGS are popped; SS, the data segments, the window and
 * the lookup table stay (same mode).  Reached from the IRET site when the frame's CS has
 * RPL 0; guest flags already pushed.
 */
static void emit_iret0(struct xl_ctx *x, const struct ginsn *g)
{
	struct xbuf *b = &x->b;
	uint32_t info;
	struct xl_ring_slot *sl = ring_slot_new(&info, CC_LK_NOTAG, RK_IRET0);
	uint8_t *miss[12];
	unsigned nm = 0;
	bool rf_ok = xl_debug_break == NULL;
	emit_vcpu_imm32(b, VC_EXIT_INFO, info);
	emit_mov_imm64(b, H_R9, (uint64_t)(uintptr_t)sl);
	emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R9, -1, 0, 0x60); e8(b, 1);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R9, -1, 0, 0x90); e8(b, RK_IRET0);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, 0, OP_TEST_IMM, 1, 0, H_R13, -1, 0, VC_EFLAGS); e32(b, FL_NT);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, EM_GUEST, OP_MOVZX16, 2, H_R8, H_R12, -1, 0, 4);
	cmp_slot(b, 0, H_R8, 0x38);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, 0, OP_MOVZX16, 2, H_R8, H_R13, -1, 0, VCO(gdtr.limit));
	cmp_slot(b, 0, H_R8, 0x2c);
	miss[nm++] = jcc32(b, CC_B);
	emit_vcpu_load(b, H_R8, VCO(gdtr.base), 0);
	emit_mem(b, 0, OP_ADD_LD, 1, H_R8, H_R9, -1, 0, 0x28);
	emit_mem(b, EM_GUEST | EM_W, OP_MOV_LD, 1, H_R8, H_R8, -1, 0, 0);
	cmp_slot(b, 1, H_R8, 0x08);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R8, H_R12, -1, 0, 8);         /* EFLAGS, kept in r8d */
	emit_rr(b, 0, OP_TEST_IMM, 1, 0, H_R8); e32(b, FL_VM | FL_TF | FL_NT | (rf_ok ? 0 : FL_RF));
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R10, H_R12, -1, 0, 0);        /* new EIP in r10d */
	if (rf_ok) {
		emit_rr(b, 0, OP_MOV_ST, 1, H_R10, H_R14);
		emit_rf_check(b, -1, miss, &nm);
	}
	/* commit */
	emit_iret_eflags(b);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, 0x48);
	emit_vcpu_store(b, SEGO(S_CS, sel), H_R11, 1);
	emit_mem(b, 0, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, 0x50);
	emit_vcpu_store(b, SEGO(S_CS, limit), H_R11, 0);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, 0x68);
	emit_vcpu_store(b, VC_SEG_END_R + 8 * S_CS, H_R11, 1);
	emit_mem(b, EM_W, OP_MOV_LD, 1, H_R11, H_R9, -1, 0, 0x70);
	emit_vcpu_store(b, VC_SEG_END_W + 8 * S_CS, H_R11, 1);
	emit_lea32(b, H_R12, H_R12, -1, 12);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R10, H_R14);
	emit_iret_go(b, rf_ok);
	emit_ring_miss(x, g, info, miss, nm);
}

/*
 * IRET to CPL 3 while vcpu->pf_retry is set (a user #PF was delivered in the signal handler,
 * monitor/signals.c): call vmm_pf_retry(vcpu, the frame's EIP) first, which maps the page
 * the guest's handler just made present if the IRET returns to the faulting instruction, so
 * that its retry does not fault on the host again.  Before every check of the site: the
 * call changes no guest state the IRET reads (it may set an A bit) and the window and
 * lookup table are loaded after it.  Guest flags already pushed.
 */
static void emit_pf_retry(struct xbuf *b)
{
	static const uint8_t cmp_m8_imm8[] = {0x80}, call_rax[] = {0xFF, 0xD0};
	emit_mem(b, 0, cmp_m8_imm8, 1, 7, H_R13, -1, 0, VCO(pf_retry)); e8(b, 0);
	uint8_t *none = jcc32(b, CC_E);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R10, H_R12, -1, 0, 0);        /* the frame's EIP */
	xl_emit_call_enter(b, true);
	emit_rr(b, EM_W, OP_MOV_ST, 1, H_R13, H_RDI);
	emit_rr(b, 0, OP_MOV_ST, 1, H_R10, H_RSI);
	emit_mov_imm64(b, H_RAX, (uint64_t)(uintptr_t)vmm_pf_retry);
	ebytes(b, call_rax, sizeof(call_rax));
	xl_emit_call_leave(b);
	patch_rel32(none, b->p);
}

void xl_translate_iret_fast(struct xl_ctx *x, const struct ginsn *g)
{
	struct xbuf *b = &x->b;
	uint32_t umode = (x->mode & XM_KEEP) | 3;
	uint32_t info;
	struct xl_ring_slot *sl = ring_slot_new(&info, CC_LK_TAG(umode, 0), RK_INT_IRET);
	uint8_t *miss[26];
	unsigned nm = 0;
	bool rf_ok = xl_debug_break == NULL;
	x->imap[x->n].fix |= XI_PUSHF | XI_FASTRING;

	/* RPL of the frame's CS: 0 goes to emit_iret0, anything else here */
	emit_vcpu_imm32(b, VC_EXIT_INFO, info);
	ebytes(b, OP_PUSHF, 1);
	/* in an NMI handler the IRET ends the NMI blocking: the monitor runs that one */
	static const uint8_t cmp_m8_imm8[] = {0x80};
	emit_mem(b, 0, cmp_m8_imm8, 1, 7, H_R13, -1, 0, VCO(nmi_blocked)); e8(b, 0);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, EM_GUEST, OP_TEST_IMM8, 1, 0, H_R12, -1, 0, 4); e8(b, 3);
	uint8_t *to0 = jcc32(b, CC_E);
	emit_pf_retry(b);
	emit_ring_head_rest(x, sl, 1, miss, &nm);
	emit_mem(b, 0, OP_TEST_IMM, 1, 0, H_R13, -1, 0, VC_EFLAGS); e32(b, FL_NT);
	miss[nm++] = jcc32(b, CC_NE);
	/* the frame, through the running (kernel) window: faults here are the guest's */
	emit_mem(b, EM_GUEST, OP_MOVZX16, 2, H_R8, H_R12, -1, 0, 4);
	cmp_slot(b, 0, H_R8, 0x38);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, EM_GUEST, OP_MOVZX16, 2, H_R8, H_R12, -1, 0, 16);
	cmp_slot(b, 0, H_R8, 0x3c);
	miss[nm++] = jcc32(b, CC_NE);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R8, H_R12, -1, 0, 12);        /* new ESP */
	emit_vcpu_store(b, VC_SPILL + 16, H_R8, 0);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R8, H_R12, -1, 0, 0);         /* new EIP */
	emit_vcpu_store(b, VC_SPILL + 24, H_R8, 0);
	static const int dsegs[4] = {S_DS, S_ES, S_FS, S_GS};
	for (int i = 0; i < 4; i++) {               /* IRET would null a DPL < 3 data segment */
		emit_mem(b, 0, OP_MOVZX16, 2, H_R11, H_R13, -1, 0, SEGO(dsegs[i], attr));
		emit_rr(b, 0, OP_GRP1_IMM, 1, 4, H_R11); e32(b, 0xE0);      /* P and DPL */
		emit_rr(b, 0, OP_GRP1_IMM, 1, 7, H_R11); e32(b, 0x80);
		miss[nm++] = jcc32(b, CC_E);
		emit_rr(b, 0, OP_GRP1_IMM, 1, 7, H_R11); e32(b, 0xA0);
		miss[nm++] = jcc32(b, CC_E);
		emit_rr(b, 0, OP_GRP1_IMM, 1, 7, H_R11); e32(b, 0xC0);
		miss[nm++] = jcc32(b, CC_E);
	}
	emit_ring_gdt_checks(b, -1, miss, &nm);
	emit_mem(b, EM_GUEST, OP_MOV_LD, 1, H_R8, H_R12, -1, 0, 8);         /* EFLAGS, kept in r8d */
	emit_rr(b, 0, OP_TEST_IMM, 1, 0, H_R8); e32(b, FL_VM | FL_TF | FL_NT | (rf_ok ? 0 : FL_RF));
	miss[nm++] = jcc32(b, CC_NE);
	if (rf_ok) {
		emit_vcpu_load(b, H_R14, VC_SPILL + 24, 0);
		emit_rf_check(b, H_R10, miss, &nm);
	}
	/* commit: EFLAGS as IRET at CPL 0 loads them */
	emit_iret_eflags(b);
	emit_ring_commit_segs(b, 3);
	emit_vcpu_load(b, H_R11, VCO(lk_view[1]), 1);
	emit_vcpu_store(b, VC_LOOKUP, H_R11, 1);
	emit_switch_window(b, H_R10);
	emit_vcpu_load(b, H_R12, VC_SPILL + 16, 0);
	emit_vcpu_load(b, H_R14, VC_SPILL + 24, 0);
	emit_iret_go(b, rf_ok);
	emit_ring_miss(x, g, info, miss, nm);
	patch_rel32(to0, b->p);
	emit_iret0(x, g);
}

/*
 * SYSENTER from CPL 3 and SYSEXIT to CPL 3 read nothing from memory: CS and SS are flat
 * descriptors made from IA32_SYSENTER_CS alone (SDM vol. 2B; emulation/transfer.c), so the
 * slot holds their hidden parts for one value of that MSR, which the site compares with
 * the vCPU's MSR at every use (a WRMSR is seen at once).  ESP and EIP are read from the
 * MSRs (SYSENTER) or taken from ECX and EDX (SYSEXIT) as they are now.  Common part: the
 * slot belongs to this kind of site, TF is clear, the MSR is the cached one.
 */
static void emit_sys_checks(struct xl_ctx *x, struct xl_ring_slot *sl, uint32_t info, unsigned kind,
			    int view, uint8_t **miss, unsigned *nm)
{
	struct xbuf *b = &x->b;
	x->imap[x->n].fix |= XI_PUSHF;
	emit_ring_head(x, sl, info, view, miss, nm);
	emit_mem(b, 0, OP_CMP_IMM8, 1, 7, H_R9, -1, 0, 0x90); e8(b, (uint8_t)kind);
	miss[(*nm)++] = jcc32(b, CC_NE);
	emit_mem(b, 0, OP_TEST_IMM, 1, 0, H_R13, -1, 0, VC_EFLAGS); e32(b, FL_TF);
	miss[(*nm)++] = jcc32(b, CC_NE);
	emit_vcpu_load(b, H_R8, VCO(msr_sysenter_cs), 0);
	cmp_slot(b, 0, H_R8, 0x94);
	miss[(*nm)++] = jcc32(b, CC_NE);
}

/* Switch to CPL cpl and view `view` (new ESP and EIP already in r12d and r14d), then go on
 * at the new EIP through that view's lookup table. */
static void emit_sys_switch(struct xl_ctx *x, const struct ginsn *g, uint32_t info, int cpl, int view,
			    uint8_t **miss, unsigned nm)
{
	struct xbuf *b = &x->b;
	emit_ring_commit_segs(b, cpl);
	emit_vcpu_load(b, H_R11, VCO(lk_view[view]), 1);
	emit_vcpu_store(b, VC_LOOKUP, H_R11, 1);
	emit_switch_window(b, H_R10);
	ebytes(b, OP_POPF, 1);
	xl_emit_lookup_probe(b);
	emit_ring_miss(x, g, info, miss, nm);
}

void xl_translate_sysenter_fast(struct xl_ctx *x, const struct ginsn *g)
{
	struct xbuf *b = &x->b;
	uint32_t info;
	struct xl_ring_slot *sl = ring_slot_new(&info, CC_LK_TAG(x->mode & XM_KEEP, 0), RK_SYSENTER);
	uint8_t *miss[8];
	unsigned nm = 0;
	emit_sys_checks(x, sl, info, RK_SYSENTER, 0, miss, &nm);
	emit_mem(b, 0, OP_GRP1_IMM, 1, 4, H_R13, -1, 0, VC_EFLAGS);
	e32(b, ~(uint32_t)(FL_VM | FL_IF | FL_RF));
	emit_vcpu_load(b, H_R12, VCO(msr_sysenter_esp), 0);
	emit_vcpu_load(b, H_R14, VCO(msr_sysenter_eip), 0);
	emit_sys_switch(x, g, info, 0, 0, miss, nm);
}

void xl_translate_sysexit_fast(struct xl_ctx *x, const struct ginsn *g)
{
	struct xbuf *b = &x->b;
	uint32_t info;
	struct xl_ring_slot *sl = ring_slot_new(&info, CC_LK_TAG((x->mode & XM_KEEP) | 3, 0), RK_SYSEXIT);
	uint8_t *miss[8];
	unsigned nm = 0;
	emit_sys_checks(x, sl, info, RK_SYSEXIT, 1, miss, &nm);
	emit_rr(b, 0, OP_MOV_ST, 1, H_RCX, H_R12);                /* ESP = ECX */
	emit_rr(b, 0, OP_MOV_ST, 1, H_RDX, H_R14);                /* EIP = EDX */
	emit_sys_switch(x, g, info, 3, 1, miss, nm);
}

static void ring_fill_segs(struct xl_ring_slot *sl, const struct vcpu *c)
{
	uint32_t lo;
	sl->cs = c->seg[S_CS];
	sl->ss = c->seg[S_SS];
	xl_seg_ranges(&sl->cs, &lo, &sl->cs_end_r, &sl->cs_end_w);
	xl_seg_ranges(&sl->ss, &lo, &sl->ss_end_r, &sl->ss_end_w);
	sl->cs_idx = c->seg[S_CS].sel & ~7u;
	sl->cs_idx7 = sl->cs_idx + 7;
	sl->ss_idx = c->seg[S_SS].sel & ~7u;
	sl->ss_idx7 = sl->ss_idx + 7;
}

static bool flat_seg(const struct seg *s)
{
	return s->base == 0 && s->limit == 0xFFFFFFFFu && (s->attr & SEGA_DB);
}

/* INT n from CPL 3, delivered through the gate from this site (not a fault instead): the
 * frame's return EIP follows the 2-byte INT imm8. */
static bool ring_fill_int(struct xl_ring_slot *sl, struct vcpu *c, uint32_t old_eip)
{
	uint32_t frame[5];
	if (c->regs[R_ESP] > 0xFFFFFFFFu - 20 ||
	    !xl_quiet_read(c, c->regs[R_ESP], frame, sizeof(frame)) || frame[0] != old_eip + sl->ret_off)
		return false;
	uint32_t n = sl->vector;
	gla_t ga = c->idtr.base + 8 * n;
	uint16_t ss0;
	if (8 * n + 7 > c->idtr.limit || !xl_quiet_read(c, ga, &sl->gate_raw, 8) ||
	    !xl_quiet_read(c, c->tr.base + 8, &ss0, 2) || ss0 != c->seg[S_SS].sel)
		return false;
	unsigned type = (unsigned)(sl->gate_raw >> 40) & 0x1F;
	uint32_t off = (uint32_t)(sl->gate_raw & 0xFFFF) | ((uint32_t)(sl->gate_raw >> 32) & 0xFFFF0000u);
	if ((type != 0x0E && type != 0x0F) || off != c->eip || (uint16_t)(sl->gate_raw >> 16) != (c->seg[S_CS].sel & ~3u))
		return false;
	sl->idt7 = 8 * n + 7;
	sl->int_gate = type == 0x0E;
	sl->target = c->eip;
	memcpy(&sl->tr_key, &c->tr, 8);
	sl->tr_limit = c->tr.limit;
	sl->ss_sel = ss0;
	return true;
}

/* INT from CPL 3 or IRET to CPL 3: the descriptors of the new CS and SS are in the GDT. */
static bool ring_fill_int_iret(struct xl_ring_slot *sl, struct vcpu *c, int old_cpl, uint32_t old_eip)
{
	if (c->regs[R_ESP] < 20 ||
	    !xl_quiet_desc(c, c->seg[S_CS].sel, &sl->cs_raw, &c->seg[S_CS]) ||
	    !xl_quiet_desc(c, c->seg[S_SS].sel, &sl->ss_raw, &c->seg[S_SS]))
		return false;
	if (old_cpl == 3 && c->cpl == 0)
		return ring_fill_int(sl, c, old_eip);
	if (old_cpl == 0 && c->cpl == 3) {               /* IRET */
		sl->cs_sel = c->seg[S_CS].sel;
		sl->ss_sel = c->seg[S_SS].sel;
		return true;
	}
	return false;
}

/* SYSENTER from CPL 3 or SYSEXIT to CPL 3 (not a fault delivered instead): CS is the one the
 * MSR names.  The slot's IDT and GDT fields are zeroed and its selectors made ~0, so an INT
 * or IRET site that shares the slot after the pool wrapped never matches it. */
static bool ring_fill_sys(struct xl_ring_slot *sl, const struct vcpu *c, unsigned kind, int old_cpl)
{
	uint16_t msr = (uint16_t)c->msr_sysenter_cs;
	bool ok = kind == RK_SYSENTER
		? old_cpl == 3 && c->cpl == 0 && (msr & 0xFFFC) && c->seg[S_CS].sel == (msr & 0xFFFC) &&
		  c->eip == (uint32_t)c->msr_sysenter_eip
		: old_cpl == 0 && c->cpl == 3 && (msr & 0xFFFC) && c->seg[S_CS].sel == (uint16_t)((msr + 16) | 3);
	sl->msr_cs = (uint32_t)c->msr_sysenter_cs;
	sl->gate_raw = sl->cs_raw = sl->ss_raw = 0;
	sl->cs_sel = sl->ss_sel = ~0u;
	return ok;
}

/*
 * After the monitor ran ring site `info` (an INT from CPL 3, an IRET to CPL 3, a SYSENTER
 * or a SYSEXIT) with the vcpu now on the other side: refill the site's slot from what the
 * CPU just used.
 */
void xl_ring_fill(struct vcpu *c, uint32_t info, int old_cpl, uint32_t old_eip)
{
	uint32_t i = info - XL_INFO_RING;
	unsigned kind = i >> 12;
	struct xl_ring_slot *sl = &ring_slot[i & (RING_SLOTS - 1)];
	sl->valid = 0;
	if (!(c->cr0 & CR0_PE) || !(c->cr0 & CR0_PG) || (c->eflags & FL_VM) ||
	    !flat_seg(&c->seg[S_CS]) || !flat_seg(&c->seg[S_SS]))
		return;
	ring_fill_segs(sl, c);
	sl->kind = kind;
	bool ok;
	if (kind == RK_IRET0)           /* IRET at CPL 0 to CPL 0: the CS it loaded */
		ok = old_cpl == 0 && c->cpl == 0 && (c->seg[S_CS].sel & 3) == 0 &&
		     xl_quiet_desc(c, c->seg[S_CS].sel, &sl->cs_raw, &c->seg[S_CS]) &&
		     (sl->cs_sel = c->seg[S_CS].sel, true);
	else if (kind == RK_INT_IRET || kind == RK_EXC)
		ok = ring_fill_int_iret(sl, c, old_cpl, old_eip);
	else
		ok = ring_fill_sys(sl, c, kind, old_cpl);
	if (!ok)
		return;
	sl->valid = 1;
	xl_stats.ring_fills++;
}

/* The vector an inline exception site raises (its slot's info), or -1 for another site. */
int xl_ring_exc_vector(uint32_t info)
{
	uint32_t i = info - XL_INFO_RING;
	if (info < XL_INFO_RING || (i >> 12) != RK_EXC)
		return -1;
	return (int)ring_slot[i & (RING_SLOTS - 1)].vector;
}

/*
 * The run loop is about to enter translated code at CS:EIP with RF set (an IRET that went
 * through the monitor, or a lookup miss after an inline one): clear RF now, as the CPU
 * will once the instruction completes, when nothing could tell the difference - no
 * instruction breakpoint translated in, no TF, no interrupt shadow, and the instruction
 * not one that pushes EFLAGS first (rf_stop).  The caller then enters the block past its
 * exit-request check (XL_HEAD_LEN), so no interrupt comes in before the instruction.
 * True if RF was cleared.  CR2 is kept if the byte cannot be read.
 */
bool xl_rf_clear(struct vcpu *c)
{
	if (!(c->eflags & FL_RF) || (c->eflags & FL_TF) || xl_debug_break || c->intr_inhibit)
		return false;
	uint8_t op;
	uint32_t cr2 = c->cr2;
	bool ok = xl_quiet_read(c, c->seg[S_CS].base + c->eip, &op, 1);
	c->cr2 = cr2;
	if (!ok || memchr(rf_stop, op, sizeof(rf_stop)))
		return false;
	c->eflags &= ~FL_RF;
	return true;
}
