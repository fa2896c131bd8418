/*
 * x86.h - architectural constants of IA-32 as the SDM names them: EFLAGS, CR0/CR4, page-table
 * entry bits, page-fault error codes, exception vectors.  The one definition on the monitor
 * side; every folder (emulation, shadow MMU, translator, PV) takes its bit names from here.
 * Guest-side code (guest/) has its own copy, because it is built for i386 and never
 * includes monitor headers.
 */
#ifndef X86_H
#define X86_H

/* EFLAGS bits. */
#define FL_CF   0x00000001u
#define FL_FIXED 0x00000002u /* bit 1 always reads as 1 */
#define FL_PF   0x00000004u
#define FL_AF   0x00000010u
#define FL_ZF   0x00000040u
#define FL_SF   0x00000080u
#define FL_TF   0x00000100u
#define FL_IF   0x00000200u
#define FL_DF   0x00000400u
#define FL_OF   0x00000800u
#define FL_IOPL 0x00003000u
#define FL_NT   0x00004000u
#define FL_RF   0x00010000u
#define FL_VM   0x00020000u
#define FL_AC   0x00040000u
#define FL_VIF  0x00080000u
#define FL_VIP  0x00100000u
#define FL_ID   0x00200000u
/* Flags that live in host RFLAGS while translated code runs. */
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define FL_HOST  (FL_ARITH | FL_DF)

/* CR0 / CR4 bits. */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u
#define CR4_VME 0x001u
#define CR4_PVI 0x002u
#define CR4_TSD 0x004u
#define CR4_DE  0x008u
#define CR4_PSE 0x010u
#define CR4_PAE 0x020u
#define CR4_MCE 0x040u
#define CR4_PGE 0x080u
#define CR4_PCE 0x100u
#define CR4_OSFXSR 0x200u
#define CR4_OSXMMEXCPT 0x400u
#define CR4_UMIP 0x800u

/* Page-directory and page-table entry bits (non-PAE). */
#define PTE_P  0x001u   /* present */
#define PTE_W  0x002u   /* writable */
#define PTE_U  0x004u   /* user */
#define PTE_PWT 0x008u
#define PTE_PCD 0x010u
#define PTE_A  0x020u   /* accessed */
#define PTE_D  0x040u   /* dirty */
#define PTE_PS 0x080u   /* 4 MiB page (in a PDE with CR4.PSE) */
#define PTE_G  0x100u   /* global (CR4.PGE) */

/* Page-fault error code bits. */
#define PFEC_P 0x1u     /* the page was present (protection fault) */
#define PFEC_W 0x2u     /* write access */
#define PFEC_U 0x4u     /* CPL 3 access */

/* Exception vectors. */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
	EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13,
	EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

#endif
