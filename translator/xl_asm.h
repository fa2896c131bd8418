/*
 * xl_asm.h - offsets into struct vcpu used by translated code and by xl_entry.S, and the
 * host register assignment of DESIGN.md §2.  Shared between C and assembly.
 */
#ifndef XL_ASM_H
#define XL_ASM_H

#define VC_REGS        0x00
#define VC_EIP         0x20
#define VC_EFLAGS      0x24
#define VC_REQ_PTR     0x28
#define VC_HOST_RSP    0x30
#define VC_EXIT_REASON 0x38
#define VC_EXIT_INFO   0x3c
#define VC_SPILL       0x40
#define VC_LOOKUP      0x60
#define VC_SEG_BASE    0x68
#define VC_SEG_LO      0x80
#define VC_SEG_END_R   0x98
#define VC_SEG_END_W   0xc8
#define VC_IRQ_PTR     0xf8
#define VC_FPU         0x200

#ifndef __ASSEMBLER__
#include <stddef.h>
#include "../monitor/vmm.h"
_Static_assert(offsetof(struct vcpu, regs) == VC_REGS, "vcpu layout");
_Static_assert(offsetof(struct vcpu, eip) == VC_EIP, "vcpu layout");
_Static_assert(offsetof(struct vcpu, eflags) == VC_EFLAGS, "vcpu layout");
_Static_assert(offsetof(struct vcpu, req_ptr) == VC_REQ_PTR, "vcpu layout");
_Static_assert(offsetof(struct vcpu, host_rsp) == VC_HOST_RSP, "vcpu layout");
_Static_assert(offsetof(struct vcpu, exit_reason) == VC_EXIT_REASON, "vcpu layout");
_Static_assert(offsetof(struct vcpu, exit_info) == VC_EXIT_INFO, "vcpu layout");
_Static_assert(offsetof(struct vcpu, spill) == VC_SPILL, "vcpu layout");
_Static_assert(offsetof(struct vcpu, lookup_table) == VC_LOOKUP, "vcpu layout");
_Static_assert(offsetof(struct vcpu, seg_base) == VC_SEG_BASE, "vcpu layout");
_Static_assert(offsetof(struct vcpu, fpu) == VC_FPU, "vcpu layout");
_Static_assert(offsetof(struct vcpu, irq_ptr) == VC_IRQ_PTR, "vcpu layout");
_Static_assert(offsetof(struct vcpu, seg_lo) == VC_SEG_LO, "vcpu layout");
_Static_assert(offsetof(struct vcpu, seg_end_r) == VC_SEG_END_R, "vcpu layout");
_Static_assert(offsetof(struct vcpu, seg_end_w) == VC_SEG_END_W, "vcpu layout");

/* Host register numbers (x86-64 encoding) as translated code uses them. */
enum {
	H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
	H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15,
};
#define H_GUEST_ESP H_R12  /* guest ESP */
#define H_VCPU      H_R13  /* struct vcpu * */
#define H_SCRATCH   H_R14  /* lowering scratch (also r8-r11) */
#define H_WINDOW    H_R15  /* window base, = GS base */

/* Enter translated code at `code` with the guest state from c and GS = window.
 * Returns c->exit_reason when the guest leaves translated code. */
unsigned xl_enter(struct vcpu *c, const void *code, void *window);
/* Exit points inside xl_entry.S that translated code and the signal handler use. */
extern const char xl_exit[];        /* store guest state, leave (reason already set) */
extern const char xl_leave[];       /* guest state already stored: just leave */
#endif
#endif
