/*
 * selftest.h - the self test's check list and helpers.
 *
 * Each check prints one line, "ok N - name" or "not ok N - name (detail)", and only the
 * detail of a failing check may contain machine-specific values: the check lines must be
 * identical under qemu-system-i386, vmm386 and bare metal.  Lines starting with "#" are
 * comments (notes on skipped features, known emulator deviations) and are not compared.
 *
 * Expected exceptions: put ST_ARM before the instruction that should fault, label the
 * instruction "8:", and put ST_DISARM after it; label 9 (inside ST_DISARM) is where
 * execution resumes after the exception, so for a trap (INT3, INTO) the saved EIP is "9b".
 * Call trap_reset() first and check trap_last afterwards with st_fault()/st_nofault().
 */
#ifndef GUEST_SELFTEST_H
#define GUEST_SELFTEST_H

#include "kernel.h"
#include "pvops.h"

#define ST_ARM    "movl $9f, trap_resume\n\t"
#define ST_DISARM "\n9:\n\tmovl $0, trap_resume\n\t"

#define NO_ERR  (-1)   /* st_fault: do not check the error code */
#define ANY_EIP 0u     /* st_fault: do not check the saved EIP */

void st_check(int ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void st_eq(const char *name, uint32_t got, uint32_t want);
void st_fault(const char *name, int vector, int32_t err, uint32_t eip);
void st_nofault(const char *name);
void st_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A known deviation of the platform from the manual: the check passes with a "# deviation"
 * comment, which test_guest_2vmm.sh does not accept from vmm386. */
void st_deviation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* st_fault(), except that no exception at all is a deviation ("what: no exception"). */
void st_fault_or_deviation(const char *name, int vector, int32_t err, uint32_t eip, const char *what);

/* CPUID.1:EDX */
uint32_t st_cpuid1_edx(void);
#define CPUID_FPU (1u << 0)
#define CPUID_DE  (1u << 2)
#define CPUID_PSE (1u << 3)
#define CPUID_TSC (1u << 4)
#define CPUID_MSR (1u << 5)
#define CPUID_CX8 (1u << 8)
#define CPUID_SEP (1u << 11)
#define CPUID_PGE (1u << 13)

/*
 * CPL 3 (st_ring3.c).  ring3_call() enters fn at CPL 3 (flat USEL_CODE/USEL_DATA, its own
 * stack) through IRET with the given EFLAGS (or through a far RET to the outer level, which
 * keeps the current EFLAGS), and comes back when fn returns (int $VEC_USER_EXIT through a
 * DPL-3 gate); it returns fn's value.  Between ring3_begin() and ring3_end() TR names the
 * TSS with the I/O bitmap, whose SS0:ESP0 is ring3_kstack_top.  CPL-3 code cannot print:
 * it stores what it saw, and the caller checks.  Expected exceptions use ST_ARM/ST_DISARM as
 * at CPL 0; st_ufault() then also checks that the event came from CPL 3 (CS, SS pushed) and
 * that the handler ran on the TSS stack.
 */
#define USEL_CODE (SEL_UCODE | 3)
#define USEL_DATA (SEL_UDATA | 3)
void ring3_begin(void);
void ring3_end(void);
uint32_t ring3_call(uint32_t (*fn)(void), uint32_t eflags, int via_lret);
extern uint32_t ring3_exit_frame[5];   /* EIP CS EFLAGS ESP SS of the exit int */
extern uint16_t ring3_entry_sregs[4];  /* DS ES FS GS as the CPL-3 code found them */
extern char ring3_kstack_top[], ring3_ustack_top[];
void st_ufault(const char *name, int vector, int32_t err, uint32_t eip);

/* Flags after POPF of v (then the caller's flags are restored). */
uint32_t st_popf_pushf(uint32_t v);

/* The groups, in the order they run. */
void st_group_flags(void);
void st_group_io(void);
void st_group_timer(void);
void st_group_cr(void);
void st_group_debug(void);
void st_group_tables(void);
void st_group_cpu(void);
void st_group_seg(void);
void st_group_far(void);
void st_group_exc(void);
void st_group_insn(void);
void st_group_bcd(void);
void st_group_string(void);
void st_group_16bit(void);
void st_group_smc(void);
void st_group_ring3(void);
void st_group_mp(void);
void st_group_lapic(void);
void st_group_ioapic(void);
void st_group_ide(void);
void st_group_paging(void);
/* The APICs quiet again (timer and I/O APIC entries masked) after a group was cut short. */
void st_apic_quiet(void);

#endif
