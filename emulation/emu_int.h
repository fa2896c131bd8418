/*
 * emu_int.h - what the files of emulation/ share with each other (nothing outside includes it).
 *
 * Conventions, kept by every function declared here:
 *  - A function that can fault returns 0 on success, or -1 after emu_raise() recorded the
 *    exception; it changes no architectural state (registers, segment caches, EFLAGS, CPL)
 *    before its last check.  Memory below ESP may already hold a partly written frame.
 *  - Instruction handlers (emu_h_*) may also return a positive enum exit_reason (EXIT_HALT,
 *    EXIT_SHUTDOWN).  On success they leave vcpu->eip alone and put the next EIP in in->next;
 *    emu_step() commits it.
 *  - Guest-linear accesses carry an ACC_* kind: the page walk uses it for the U/S and R/W
 *    checks and the dirty bit.  ACC_SYS marks implicit supervisor accesses (descriptor tables,
 *    TSS, the ring-0 stack during delivery), which are never user accesses whatever the CPL.
 *  - Every change of a segment register goes through emu_seg_set()/emu_cs_set(), which keep
 *    vcpu->seg_base[] equal to seg[].base and tell the monitor (emu_mode_changed).
 */
#ifndef EMU_INT_H
#define EMU_INT_H

#include <string.h>
#include <Zydis/Zydis.h>
#include "emu.h"
#include "../monitor/param.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Access kinds for guest-linear accesses (combinable; see emu_translate in emu.h). */
#define ACC_R   EMU_ACC_READ
#define ACC_W   EMU_ACC_WRITE
#define ACC_X   EMU_ACC_FETCH
#define ACC_SYS EMU_ACC_SUPERVISOR

#define IOPL(c) (((c)->eflags >> 12) & 3u)
#define SEL_ERR(sel) ((uint32_t)(sel) & 0xFFFCu)  /* error code naming a selector */

/* Descriptor types (type field with the S bit: 0x10 | type for code/data). */
#define SEGT_CODE  0x8u
#define SEGT_CONF  0x4u   /* code: conforming */
#define SEGT_EDOWN 0x4u   /* data: expand-down */
#define SEGT_RW    0x2u   /* code: readable; data: writable */
#define SEGT_ACC   0x1u
#define SYST_TSS16  0x1u
#define SYST_LDT    0x2u
#define SYST_TSS16B 0x3u
#define SYST_TSS32  0x9u
#define SYST_TSS32B 0xBu

/* Descriptor bits set by the CPU in memory. */
#define DESC_A    (1ull << 40)   /* accessed (code/data) */
#define DESC_BUSY (1ull << 41)   /* busy (TSS) */

/* The TF single-step trap status bit in DR6. */
#define DR6_BS EMU_DR6_BS
#define DR6_BD 0x2000u
#define DR7_GD 0x2000u

/* mem.c */
void emu_phys_read(struct vm *vm, gpa_t gpa, void *buf, unsigned len);
int emu_lin_read_acc(struct vcpu *c, gla_t la, void *buf, unsigned len, int acc);
int emu_lin_write_acc(struct vcpu *c, gla_t la, const void *buf, unsigned len, int acc);
int emu_lin_probe(struct vcpu *c, gla_t la, unsigned len, int acc);
bool emu_seg_ok(const struct seg *s, uint32_t off, unsigned len, bool write);
int emu_seg_probe(struct vcpu *c, int sreg, uint32_t off, unsigned len, bool write);

/* stack.c: a stack seen through a segment cache that may not be loaded yet. */
struct stk {
	const struct seg *ss;
	uint32_t esp;      /* full ESP; only SP changes when ss is a 16-bit (B=0) segment */
	int acc;           /* ACC_SYS while building a frame on an inner-privilege stack */
	uint32_t ss_err;   /* #SS error code for a limit violation */
};
struct stk emu_stk_current(struct vcpu *c);
void emu_stk_adjust(struct stk *s, int32_t delta);
int emu_stk_push(struct vcpu *c, struct stk *s, const uint32_t *vals, unsigned n, unsigned size);
int emu_stk_read(struct vcpu *c, const struct stk *s, uint32_t off, uint32_t *vals, unsigned n,
	     unsigned size);

/* segments.c */
static inline uint16_t desc_attr(uint64_t d) { return (uint16_t)(d >> 40); }
int emu_desc_mark(struct vcpu *c, uint16_t sel, uint64_t *d, uint64_t bit);
void emu_seg_set(struct vcpu *c, int sreg, const struct seg *s);
void emu_seg_set_null(struct vcpu *c, int sreg, uint16_t sel);
void emu_ss_shadow(struct vcpu *c);
void emu_cs_set(struct vcpu *c, const struct seg *s, int cpl);
void emu_seg_flat(struct seg *s, uint16_t sel, int dpl, bool code);
int emu_lldt(struct vcpu *c, uint16_t sel);
int emu_lar(struct vcpu *c, uint16_t sel, uint32_t *val);
int emu_lsl(struct vcpu *c, uint16_t sel, uint32_t *val);
int emu_verify(struct vcpu *c, uint16_t sel, bool write);

/* transfer.c: far control transfers.  osz is the operand size in bytes (2 or 4). */
int emu_far_jmp(struct vcpu *c, uint16_t sel, uint32_t off, unsigned osz, uint32_t ret);
int emu_far_call(struct vcpu *c, uint16_t sel, uint32_t off, unsigned osz, uint32_t ret);
int emu_far_ret(struct vcpu *c, unsigned osz, uint16_t imm);
int emu_iret(struct vcpu *c, unsigned osz, uint32_t ret);
int emu_sysenter(struct vcpu *c);
int emu_sysexit(struct vcpu *c);

/* task.c: a task switch; ret_eip is the old task's EIP to save.  has_err: push err on the
 * new task's stack (an exception through a task gate).  0, -1 or EXIT_SHUTDOWN. */
enum emu_task { TASK_JMP, TASK_CALL, TASK_IRET, TASK_INT };
int emu_task_switch(struct vcpu *c, uint16_t sel, enum emu_task why, uint32_t ret_eip,
		    bool has_err, uint32_t err);

/* exceptions.c */
enum { DV_SOFT = 1, DV_EXT = 2, DV_ERR = 4, DV_INTR = 8 };
int emu_deliver(struct vcpu *c, int vector, uint32_t err, int flags, uint32_t ret_eip);
int emu_inner_stack(struct vcpu *c, unsigned cpl, uint32_t ext, struct seg *ss, struct stk *stk);
int emu_stop(struct vcpu *c, const char *why);

/* sysregs.c */
int emu_write_dr(struct vcpu *c, int n, uint32_t v);
uint32_t emu_read_dr(struct vcpu *c, int n);

/* msr.c */
uint64_t emu_guest_tsc(struct vcpu *c);
int emu_rdmsr(struct vcpu *c, uint32_t msr, uint64_t *val);
int emu_wrmsr(struct vcpu *c, uint32_t msr, uint64_t val);

/*
 * The monitor's hooks (emu_mon, emu.h).  TLB flush: INVLPG (la, all = false), CR3 writes
 * (all = false, la = 0 with c->cr3 already updated) and paging-mode changes (all = true);
 * the monitor decides what its shadow windows and translations must forget.
 */
static inline void emu_hook_tlb_flush(struct vcpu *c, gla_t la, bool all)
{
	emu_mon->tlb_flush(c, la, all);
}

/* State that translations depend on (segments, CPL, CR0/CR4) changed. */
static inline void emu_mode_changed(struct vcpu *c)
{
	emu_mon->mode_changed(c);
}

/* --- the one-instruction interpreter (decode.c, insn*.c) --- */
struct insn {
	ZydisDecodedInstruction z;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	uint32_t next;     /* EIP after the instruction (branches replace it) */
	unsigned osz;      /* operand size in bytes: 1, 2 or 4 (z.operand_width / 8) */
	unsigned asz;      /* address size in bytes: 2 or 4 */
};

int emu_insn_decode(struct vcpu *c, struct insn *in);
uint32_t emu_reg_read(const struct vcpu *c, ZydisRegister r);
void emu_reg_write(struct vcpu *c, ZydisRegister r, uint32_t v);
int emu_zreg_sreg(ZydisRegister r);
bool emu_op_is_reg(const struct insn *in, int i, ZydisRegisterClass cls);
void emu_op_addr(const struct vcpu *c, const struct insn *in, int i, int *sreg, uint32_t *off);
int emu_op_read(struct vcpu *c, const struct insn *in, int i, uint32_t *v);
int emu_op_write(struct vcpu *c, const struct insn *in, int i, uint32_t v);
void emu_addr_reg_add(struct vcpu *c, int reg, int32_t delta, unsigned asz);
uint32_t emu_cmp_flags(uint32_t a, uint32_t b, unsigned bits);
#define EMU_STRING_BATCH 4096u   /* REP elements per emu_step before the run loop looks */
uint32_t emu_parity(uint32_t v);

#define EMU_HANDLER(name) int emu_h_##name(struct vcpu *c, struct insn *in)
EMU_HANDLER(string); EMU_HANDLER(fxsave);
/* insn_sys.c */
EMU_HANDLER(cli); EMU_HANDLER(sti); EMU_HANDLER(hlt); EMU_HANDLER(mov_crdr);
EMU_HANDLER(clts); EMU_HANDLER(lmsw); EMU_HANDLER(smsw); EMU_HANDLER(lgdt);
EMU_HANDLER(sgdt); EMU_HANDLER(lldt); EMU_HANDLER(ltr); EMU_HANDLER(sldt);
EMU_HANDLER(str); EMU_HANDLER(invd); EMU_HANDLER(invlpg); EMU_HANDLER(cpuid);
EMU_HANDLER(rdtsc); EMU_HANDLER(rdpmc); EMU_HANDLER(rdmsr); EMU_HANDLER(wrmsr);
EMU_HANDLER(sysenter); EMU_HANDLER(sysexit);
/* insn_seg.c */
EMU_HANDLER(mov_sreg); EMU_HANDLER(lxs); EMU_HANDLER(lar); EMU_HANDLER(lsl);
EMU_HANDLER(verr); EMU_HANDLER(verw); EMU_HANDLER(arpl);
/* insn_flow.c */
EMU_HANDLER(jmp); EMU_HANDLER(call); EMU_HANDLER(ret); EMU_HANDLER(iret);
EMU_HANDLER(int); EMU_HANDLER(int3); EMU_HANDLER(into); EMU_HANDLER(int1);
EMU_HANDLER(bound);
/* insn_stack.c */
EMU_HANDLER(push); EMU_HANDLER(pop); EMU_HANDLER(pushf); EMU_HANDLER(popf);
EMU_HANDLER(pusha); EMU_HANDLER(popa);
/* insn_io.c */
EMU_HANDLER(in); EMU_HANDLER(out); EMU_HANDLER(ins); EMU_HANDLER(outs);
/* insn_alu.c */
EMU_HANDLER(mov); EMU_HANDLER(movx); EMU_HANDLER(alu); EMU_HANDLER(salc);
/* insn_rmw.c */
EMU_HANDLER(unary); EMU_HANDLER(bittest); EMU_HANDLER(bitscan); EMU_HANDLER(imul);
EMU_HANDLER(shiftd); EMU_HANDLER(xchg); EMU_HANDLER(xadd); EMU_HANDLER(cmpxchg);
EMU_HANDLER(ssemov);
/* bcd.c */
EMU_HANDLER(daa); EMU_HANDLER(das); EMU_HANDLER(aaa); EMU_HANDLER(aas);
EMU_HANDLER(aam); EMU_HANDLER(aad);

#endif
