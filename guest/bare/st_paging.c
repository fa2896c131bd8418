/*
 * st_paging.c - self test: non-PAE paging (`-append "selftest paging"`).
 *
 * The group turns paging on with an identity map of the first 4 MiB (4 KiB pages, user and
 * writable, so the image, its stacks and the CPL-3 helper keep working) plus a test region
 * at TB = 0x40000000 whose entries each check rewrites, a 4 MiB page (CR4.PSE) and a
 * recursive PDE.  It checks what the architecture guarantees (SDM vol. 3 ch. 4):
 *  - accessed and dirty bits: a read sets A in the PDE and the PTE, a write sets D in the
 *    PTE only (the PDE of a page table has no dirty bit); a 4 MiB page keeps both in its PDE;
 *  - #PF: CR2 = the linear address, error code P (protection) W (write) U (CPL 3); CR0.WP=0
 *    lets CPL 0 write read-only pages, WP=1 does not; CPL 3 may not touch supervisor pages
 *    nor write read-only ones, and the PDE's U/S and R/W bits combine with the PTE's;
 *  - TLB: after INVLPG, a CR3 reload, or a CR4.PGE toggle (global pages) the new mapping is
 *    used; a not-present entry made present is used without any flush.  (Keeping a stale
 *    entry is allowed but never guaranteed, so it is never checked.)
 *  - instruction fetch from a not-present page, and an instruction crossing into one (CR2 =
 *    the page, saved EIP = the instruction); REP MOVS that faults part way (ECX/ESI/EDI
 *    count the finished elements); a CPL-3 PUSH onto a not-present page (ESP unchanged);
 *  - page tables reached through a recursive PDE and through a second mapping;
 *  - INT n, SYSENTER/SYSEXIT, RDTSC and VERR/VERW sites run again and again while what they
 *    depend on changes (gate, TSS, the SYSENTER MSRs, CR4.TSD, the GDT): each change is seen
 *    at the next execution (vmm386 runs these inline against caches);
 *  - the same for exceptions from CPL 3 (#DE by zero and by overflow, #UD, #BP): saved EIP,
 *    registers kept, the TSS stack, and a gate whose handler, P bit or DPL changed; and for
 *    IRET at CPL 0 back to CPL 0 when the descriptor of the CS it returns to changes.
 * At the end paging is off again, CR3 and CR4 as they were.
 */
#include "selftest.h"

#define PG_P   0x001u
#define PG_RW  0x002u
#define PG_US  0x004u
#define PG_A   0x020u
#define PG_D   0x040u
#define PG_PS  0x080u
#define PG_G   0x100u
#define CR0_WP 0x00010000u
#define CR0_PG 0x80000000u
#define CR4_PSE 0x10u
#define CR4_PGE 0x80u

#define TB     0x40000000u   /* test region: PDE 256 -> pt_test */
#define BIG    0x40400000u   /* PDE 257: a 4 MiB page at physical 4 MiB */
#define UPDE_S 0x40800000u   /* PDE 258: supervisor PDE over a user PTE */
#define UPDE_R 0x40C00000u   /* PDE 259: read-only user PDE over a writable user PTE */
#define NOPDE  0x50000000u   /* PDE 320: not present */
#define SELF   1023u         /* recursive PDE: page tables at 0xFFC00000 */

/* volatile: the CPU writes A and D behind the compiler's back */
static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt0[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_test[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_user[1024] __attribute__((aligned(4096)));
static uint8_t tp[8][4096] __attribute__((aligned(4096)));

extern volatile uint32_t u_at, u_v[8];

static uint32_t rd_cr2(void) { uint32_t v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static void invlpg(uint32_t va) { asm volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static void reload_cr3(void) { pv_write_cr3(pv_read_cr3()); }
static uint32_t pa(const volatile void *p) { return (uint32_t)p; }
static uint32_t rd(uint32_t va) { return *(volatile uint32_t *)va; }
static void wr(uint32_t va, uint32_t v) { *(volatile uint32_t *)va = v; }

/* Map TB + i * 4 KiB (0 = not present). */
static void map(unsigned i, uint32_t pte)
{
	pt_test[i] = pte;
	invlpg(TB + i * 4096);
}

/* Read / write at va expecting a #PF or none; *at = the faulting instruction. */
static uint32_t try_read(uint32_t va, uint32_t *at)
{
	uint32_t v = 0xDEADBEEF;
	trap_reset();
	asm volatile(ST_ARM "8: movl (%2), %0" ST_DISARM "movl $8b, %1" : "+r"(v), "=r"(*at) : "r"(va) : "memory");
	return v;
}

static void try_write(uint32_t va, uint32_t v, uint32_t *at)
{
	trap_reset();
	asm volatile(ST_ARM "8: movl %2, (%1)" ST_DISARM "movl $8b, %0" : "=r"(*at) : "r"(va), "r"(v) : "memory");
}

static void pf_check(const char *name, uint32_t err, uint32_t at, uint32_t cr2)
{
	uint32_t got = rd_cr2();
	st_check(trap_last.count == 1 && trap_last.vector == 14 && trap_last.err == err &&
		 trap_last.eip == at && trap_last.cs == SEL_KCODE && got == cr2, name,
		 "%u exceptions, vector %d error 0x%x at %x:%x cr2 0x%x; want error 0x%x at %x cr2 0x%x",
		 trap_last.count, trap_last.vector, trap_last.err, trap_last.cs, trap_last.eip, got,
		 err, at, cr2);
}

static void upf_check(const char *name, uint32_t err, uint32_t cr2)
{
	uint32_t got = rd_cr2();
	st_ufault(name, 14, (int32_t)err, u_at);
	(void)got;
	st_eq("  ... and CR2 holds the linear address", got, cr2);
}

/* --- CPL-3 accesses: u_v[0] address, u_v[1] value, u_v[2] result ------------------------ */

static uint32_t u_pg_read(void)
{
	uint32_t v = 0xDEADBEEF;
	asm volatile(ST_ARM "8: movl (%1), %0" ST_DISARM "movl $8b, u_at" : "+r"(v) : "r"(u_v[0]) : "memory");
	u_v[2] = v;
	return 0;
}

static uint32_t u_pg_write(void)
{
	asm volatile(ST_ARM "8: movl %1, (%0)" ST_DISARM "movl $8b, u_at" :: "r"(u_v[0]), "r"(u_v[1]) : "memory");
	return 0;
}

static uint32_t u_pg_push(void)
{
	asm volatile("movl %%esp, %%edx\n\tmovl %0, %%esp\n\t" ST_ARM "8: pushl $0x1234" ST_DISARM
		     "movl $8b, u_at\n\tmovl %%esp, u_v+8\n\tmovl %%edx, %%esp" :: "r"(u_v[0]) : "edx", "memory");
	return 0;
}

static void u_access(uint32_t (*fn)(void), uint32_t va, uint32_t v)
{
	u_v[0] = va;
	u_v[1] = v;
	u_v[2] = 0;
	u_at = 0;
	trap_reset();
	ring3_call(fn, 0x2, 0);
}

/*
 * INT n from CPL 3 with paging, the same instruction again and again, while the kernel
 * changes what it depends on: the gate's handler, the gate's DPL, ESP0 in the TSS.  A
 * translator that delivers such an INT inline from a cache (vmm386 does) must notice each
 * change as the CPU does, reading the IDT, GDT and TSS at every delivery.
 */
static uint32_t u_int_site(void)
{
	for (uint32_t i = 0; i < u_v[3]; i++)
		asm volatile(ST_ARM "8: int $0x43" ST_DISARM "movl $8b, u_at" ::: "memory");
	return 0;
}

static char alt_kstack[2048] __attribute__((aligned(16)));

static void int_site(uint32_t times)
{
	u_v[3] = times;
	u_at = 0;
	trap_reset();
	ring3_call(u_int_site, 0x202, 0);
}

static void int_cache_tests(void)
{
	uint64_t saved = idt[VEC_USER_INT];
	int_site(6);
	st_check(trap_last.count == 6 && trap_last.vector == VEC_USER_INT &&
		 trap_last.frame_end == (uint32_t)ring3_kstack_top,
		 "paging, CPL 3: the same int n six times through its gate", "count %u vector %d frame end %x",
		 trap_last.count, trap_last.vector, trap_last.frame_end);
	tss_io.t.esp0 = (uint32_t)alt_kstack + sizeof(alt_kstack);
	int_site(2);
	tss_io.t.esp0 = (uint32_t)ring3_kstack_top;
	st_check(trap_last.count == 2 && trap_last.frame_end == (uint32_t)alt_kstack + sizeof(alt_kstack),
		 "paging, CPL 3: the same int n after ESP0 in the TSS changed", "count %u frame end %x",
		 trap_last.count, trap_last.frame_end);
	idt_set_gate(VEC_USER_INT, (uint32_t)isr_stubs + 16 * VEC_USER_TRAP, 0xEE);
	int_site(2);
	idt[VEC_USER_INT] = saved;
	st_check(trap_last.count == 2 && trap_last.vector == VEC_USER_TRAP,
		 "paging, CPL 3: the same int n after its gate's handler changed", "count %u vector %d",
		 trap_last.count, trap_last.vector);
	idt_set_gate(VEC_USER_INT, (uint32_t)isr_stubs + 16 * VEC_USER_INT, 0x8E);
	int_site(1);
	idt[VEC_USER_INT] = saved;
	st_ufault("paging, CPL 3: the same int n after its gate's DPL became 0: #GP(n*8+2)", 13,
		  VEC_USER_INT * 8 + 2, u_at);
	int_site(3);
	st_check(trap_last.count == 3 && trap_last.vector == VEC_USER_INT,
		 "paging, CPL 3: and again through the restored gate", "count %u vector %d",
		 trap_last.count, trap_last.vector);
}

/*
 * Exceptions from CPL 3 with paging at one site again and again (u_v[4]: 0 DIV ECX with
 * ECX = u_v[6], EDX = u_v[5], EAX = 7; 1 UD2; 2 INT3), while the kernel changes the gate
 * and ESP0: vmm386 delivers #DE, #UD and #BP inline from a cache of the gate and the TSS.
 * u_v[2]: EAX after the last one (7 unless a division completed).
 */
static uint32_t u_exc_site(void)
{
	for (uint32_t i = 0; i < u_v[3]; i++) {
		uint32_t a = 7, d = u_v[5];
		if (u_v[4] == 0)
			asm volatile(ST_ARM "8: divl %%ecx" ST_DISARM "movl $8b, u_at"
				     : "+a"(a), "+d"(d) : "c"(u_v[6]) : "memory", "cc");
		else if (u_v[4] == 1)
			asm volatile(ST_ARM "8: ud2" ST_DISARM "movl $8b, u_at" ::: "memory");
		else
			asm volatile(ST_ARM "8: int3" ST_DISARM "movl $9b, u_at" ::: "memory");
		u_v[2] = a;
	}
	return 0;
}

static void exc_site(uint32_t kind, uint32_t times, uint32_t divisor, uint32_t hi)
{
	u_v[2] = 0;
	u_v[3] = times;
	u_v[4] = kind;
	u_v[5] = hi;
	u_v[6] = divisor;
	u_at = 0;
	trap_reset();
	ring3_call(u_exc_site, 0x202, 0);
}

/* count events of `vector` (error code err & ~1 unless NO_ERR: EXT may differ) at u_at, frame
 * ending at frame_end, EAX kept */
static void exc_check(const char *name, uint32_t count, int vector, int32_t err, uint32_t frame_end)
{
	st_check(trap_last.count == count && trap_last.vector == vector && trap_last.eip == u_at &&
		 trap_last.cs == USEL_CODE && trap_last.ss == USEL_DATA && trap_last.frame_end == frame_end &&
		 (err == NO_ERR || (trap_last.err & ~1u) == (uint32_t)err) && u_v[2] == 7, name,
		 "count %u vector %d error 0x%x at %x:%x frame end %x eax %x; want %u, %d at %x, end %x",
		 trap_last.count, trap_last.vector, trap_last.err, trap_last.cs, trap_last.eip,
		 trap_last.frame_end, u_v[2], count, vector, u_at, frame_end);
}

static void exc_cache_tests(void)
{
	const uint32_t top = (uint32_t)ring3_kstack_top, alt = (uint32_t)alt_kstack + sizeof(alt_kstack);
	const uint32_t de = (uint32_t)isr_stubs, ud = (uint32_t)isr_stubs + 16 * 6;
	uint64_t saved0 = idt[0], saved3 = idt[3], saved6 = idt[6];
	exc_site(0, 6, 0, 0);
	exc_check("paging, CPL 3: the same div by zero six times: #DE at the div, EAX kept", 6, 0, NO_ERR, top);
	tss_io.t.esp0 = alt;
	exc_site(0, 2, 0, 0);
	tss_io.t.esp0 = top;
	exc_check("paging, CPL 3: the same div by zero after ESP0 in the TSS changed", 2, 0, NO_ERR, alt);
	idt_set_gate(0, ud, 0x8E);
	exc_site(0, 2, 0, 0);
	exc_check("paging, CPL 3: the same div by zero after the #DE gate's handler changed", 2, 6, NO_ERR, top);
	idt_set_gate(0, de, 0x0E);
	exc_site(0, 1, 0, 0);
	idt[0] = saved0;
	exc_check("paging, CPL 3: the same div by zero through a not-present gate: #NP in #DE is #DF(0)", 1, 8, 0,
		  top);
	exc_site(0, 3, 0, 0);
	exc_check("paging, CPL 3: the same div by zero through the restored gate", 3, 0, NO_ERR, top);
	exc_site(0, 2, 1, 1);
	exc_check("paging, CPL 3: the same div overflowing (EDX:EAX / 1 >= 2^32): #DE", 2, 0, NO_ERR, top);
	exc_site(0, 2, 7, 0);
	st_check(trap_last.count == 0 && u_v[2] == 1, "paging, CPL 3: the same div by a nonzero register divides",
		 "count %u eax %x", trap_last.count, u_v[2]);
	exc_site(1, 3, 0, 0);
	exc_check("paging, CPL 3: the same ud2 three times: #UD at it", 3, 6, NO_ERR, top);
	idt_set_gate(6, de, 0x8E);
	exc_site(1, 2, 0, 0);
	idt[6] = saved6;
	exc_check("paging, CPL 3: the same ud2 after the #UD gate's handler changed", 2, 0, NO_ERR, top);
	exc_site(2, 1, 0, 0);
	u_at -= 1;                               /* #GP is a fault: at the int3 itself */
	exc_check("paging, CPL 3: int3 through a DPL-0 gate: #GP(3*8+2)", 1, 13, 3 * 8 + 2, top);
	idt_set_gate(3, (uint32_t)isr_stubs + 16 * 3, 0xEE);
	exc_site(2, 3, 0, 0);
	exc_check("paging, CPL 3: the same int3 through a DPL-3 gate: #BP after it", 3, 3, NO_ERR, top);
	idt[3] = saved3;
	exc_site(2, 1, 0, 0);
	u_at -= 1;
	exc_check("paging, CPL 3: the same int3 after the gate's DPL became 0 again: #GP(3*8+2)", 1, 13,
		  3 * 8 + 2, top);
}

/*
 * IRET at CPL 0 back to CPL 0 (vmm386 runs it inline against a cache of the CS descriptor):
 * INT VEC_TEST_INT `times` times from code running on SEL_KCODE2, whose handler's IRET
 * returns there; an exception resumes at label 9 (CS = SEL_KCODE) and the stack is reset.
 * Returns CS after the last one.
 */
static uint32_t k2_saved_esp __attribute__((used));
static uint64_t k2_desc_then __attribute__((used));   /* if not 0: GDT entry of SEL_KCODE2 once on it */

static uint32_t iret0_site(uint32_t times)
{
	uint32_t cs;
	trap_reset();
	asm volatile("movl %%esp, k2_saved_esp\n\t"
		     "ljmp %[k2], $1f\n"
		     "1:\tcmpl $0, k2_desc_then+4\n\tje 4f\n\t"
		     "movl k2_desc_then, %%eax\n\tmovl %%eax, gdt+%c[k2]\n\t"
		     "movl k2_desc_then+4, %%eax\n\tmovl %%eax, gdt+%c[k2]+4\n"
		     "4:\t" ST_ARM
		     "2:\tint %[v]\n\tdecl %%ecx\n\tjnz 2b\n\t" ST_DISARM
		     "movl k2_saved_esp, %%esp\n\t"
		     "movl %%cs, %%eax\n\t"
		     "ljmp %[k1], $3f\n"
		     "3:\n"
		     : "=a"(cs), "+c"(times)
		     : [k2] "i"(SEL_KCODE2), [k1] "i"(SEL_KCODE), [v] "i"(VEC_TEST_INT) : "memory", "cc");
	return cs & 0xFFFF;
}

static void iret0_tests(void)
{
	uint64_t saved = gdt[SEL_KCODE2 / 8];
	uint32_t cs = iret0_site(6);
	st_check(trap_last.count == 6 && trap_last.vector == VEC_TEST_INT && trap_last.cs == SEL_KCODE2 &&
		 cs == SEL_KCODE2, "paging, CPL 0: the same iret back to CPL 0 six times", "count %u vector %d "
		 "cs %x, after %x", trap_last.count, trap_last.vector, trap_last.cs, cs);
	k2_desc_then = seg_desc(0, 0xFFFFF, 0x1B, 0xC);   /* not present (qemu skips CS limits) */
	cs = iret0_site(1);
	k2_desc_then = 0;
	gdt[SEL_KCODE2 / 8] = saved;
	st_check(trap_last.count == 2 && trap_last.vector == 11 && trap_last.err == SEL_KCODE2 && cs == SEL_KCODE,
		 "paging, CPL 0: the same iret after its CS became not present: #NP(selector)",
		 "count %u vector %d error 0x%x, cs after %x", trap_last.count, trap_last.vector, trap_last.err, cs);
	cs = iret0_site(3);
	st_check(trap_last.count == 3 && trap_last.vector == VEC_TEST_INT && cs == SEL_KCODE2,
		 "paging, CPL 0: and again with the descriptor restored", "count %u vector %d cs after %x",
		 trap_last.count, trap_last.vector, cs);
}

/*
 * SYSENTER from CPL 3 and SYSEXIT back, the same two instructions again and again, while the
 * kernel rewrites the MSRs they depend on.  vmm386 runs both inline against a cache of
 * IA32_SYSENTER_CS: a WRMSR must take effect on the very next SYSENTER or SYSEXIT.
 * k_se_target (or k_se_target2) counts the entry, records ESP and which target ran, and
 * returns with the SYSEXIT at k_se_exit to EDX with ESP = ECX.
 */
uint32_t k_se_count, k_se_esp, k_se_tag;
asm(".text\n"
    "k_se_target:\n\t"
    "movl $1, %ss:k_se_tag\n"
    "k_se_common:\n\t"
    "incl %ss:k_se_count\n\t"
    "movl %esp, %ss:k_se_esp\n"
    "k_se_exit:\n\t"
    "sysexit\n"
    "k_se_target2:\n\t"
    "movl $2, %ss:k_se_tag\n\t"
    "jmp k_se_common\n");
extern char k_se_target[], k_se_target2[], k_se_exit[];
static char se_stack[2][256] __attribute__((aligned(16)));
#define SE_TOP(i) ((uint32_t)se_stack[i] + sizeof(se_stack[i]))

static uint32_t u_se_site(void)
{
	for (uint32_t i = 0; i < u_v[3]; i++)
		asm volatile("movl %%esp, %%ecx\n\tmovl $1f, %%edx\n\t" ST_ARM "8: sysenter\n1:" ST_DISARM
			     "movl $8b, u_at" ::: "ecx", "edx", "memory");
	return 0;
}

static void se_site(uint32_t times)
{
	u_v[3] = times;
	u_at = 0;
	k_se_count = k_se_esp = k_se_tag = 0;
	trap_reset();
	ring3_call(u_se_site, 0x202, 0);
}

static void sysenter_cache_tests(void)
{
	static const char *const names[] = {
		"paging, CPL 3: the same sysenter six times, and sysexit back",
		"paging, CPL 3: the same sysenter after SYSENTER_ESP changed",
		"paging, CPL 3: the same sysenter after SYSENTER_EIP changed",
		"paging, CPL 3: the same sysenter after SYSENTER_CS became 0: #GP(0)",
		"paging, CPL 0: the same sysexit after SYSENTER_CS became 0: #GP(0)",
		"paging, CPL 3: sysenter and sysexit again with SYSENTER_CS restored",
	};
	if (!(st_cpuid1_edx() & CPUID_SEP)) {
		st_note("CPUID lacks SEP: SYSENTER cache checks skipped");
		for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
			st_check(1, names[i], NULL);
		return;
	}
	pv_wrmsr(0x174, SEL_KCODE);
	pv_wrmsr(0x175, SE_TOP(0));
	pv_wrmsr(0x176, (uint32_t)k_se_target);
	se_site(6);
	st_check(trap_last.count == 0 && k_se_count == 6 && k_se_esp == SE_TOP(0) && k_se_tag == 1, names[0],
		 "exceptions %u entries %u esp %x target %u", trap_last.count, k_se_count, k_se_esp, k_se_tag);
	pv_wrmsr(0x175, SE_TOP(1));
	se_site(2);
	st_check(trap_last.count == 0 && k_se_count == 2 && k_se_esp == SE_TOP(1), names[1],
		 "exceptions %u entries %u esp %x", trap_last.count, k_se_count, k_se_esp);
	pv_wrmsr(0x176, (uint32_t)k_se_target2);
	se_site(2);
	st_check(trap_last.count == 0 && k_se_count == 2 && k_se_tag == 2, names[2],
		 "exceptions %u entries %u target %u", trap_last.count, k_se_count, k_se_tag);
	pv_wrmsr(0x174, 0);
	se_site(1);
	st_ufault(names[3], 13, 0, u_at);
	trap_reset();
	asm volatile(ST_ARM "jmp k_se_exit" ST_DISARM ::: "ecx", "edx", "memory");
	st_fault(names[4], 13, 0, (uint32_t)k_se_exit);
	pv_wrmsr(0x174, SEL_KCODE);
	pv_wrmsr(0x176, (uint32_t)k_se_target);
	se_site(3);
	st_check(trap_last.count == 0 && k_se_count == 3 && k_se_tag == 1 && k_se_esp == SE_TOP(1), names[5],
		 "exceptions %u entries %u target %u esp %x", trap_last.count, k_se_count, k_se_tag, k_se_esp);
	pv_wrmsr(0x174, 0);
	pv_wrmsr(0x175, 0);
	pv_wrmsr(0x176, 0);
}

/*
 * RDTSC at CPL 3, the same instruction again and again: it counts up, and once CR4.TSD is
 * set it raises #GP(0) - also after it ran (and was translated) with TSD clear.
 */
static uint32_t u_rdtsc_site(void)
{
	uint64_t prev = 0;
	u_v[4] = 1;
	for (uint32_t i = 0; i < u_v[3]; i++) {
		uint32_t lo = 0, hi = 0;
		asm volatile(ST_ARM "8: rdtsc" ST_DISARM "movl $8b, u_at" : "+a"(lo), "+d"(hi) :: "memory");
		uint64_t t = (uint64_t)hi << 32 | lo;
		if (t < prev)
			u_v[4] = 0;
		prev = t;
	}
	return 0;
}

static void rdtsc_site(uint32_t times)
{
	u_v[3] = times;
	u_at = 0;
	trap_reset();
	ring3_call(u_rdtsc_site, 0x202, 0);
}

static void rdtsc_tests(void)
{
	uint32_t cr4 = pv_read_cr4();
	rdtsc_site(50);
	st_check(trap_last.count == 0 && u_v[4] == 1, "paging, CPL 3: the same rdtsc fifty times counts up",
		 "exceptions %u monotonic %u", trap_last.count, u_v[4]);
	pv_write_cr4(cr4 | 0x4);
	rdtsc_site(1);
	pv_write_cr4(cr4);
	st_ufault("paging, CPL 3: the same rdtsc with CR4.TSD=1: #GP(0)", 13, 0, u_at);
	rdtsc_site(3);
	st_check(trap_last.count == 0 && u_v[4] == 1, "paging, CPL 3: the same rdtsc with CR4.TSD=0 again",
		 "exceptions %u monotonic %u", trap_last.count, u_v[4]);
}

/*
 * VERW and VERR at CPL 0 of a selector in memory (Linux clears the CPU buffers with such a
 * VERW on every return to user mode), again and again while the kernel rewrites the
 * descriptor in the GDT: ZF follows the descriptor at every execution, no other flag moves.
 */
static volatile uint16_t verify_sel;

/* bit 0: VERW's ZF, bit 1: VERR's ZF, bit 2: CF kept (set before both) */
static uint32_t verify_site(void)
{
	uint8_t w, r, cf;
	asm volatile("stc\n\tverw %3\n\tsetz %0\n\tverr %3\n\tsetz %1\n\tsetc %2"
		     : "=&q"(w), "=&q"(r), "=&q"(cf) : "m"(verify_sel) : "cc");
	return w | r << 1 | cf << 2;
}

static void verify_case(const char *name, uint16_t sel, uint8_t access, uint32_t want)
{
	gdt[SEL_TACC / 8] = seg_desc(0, 0xFFFFF, access, 0xC);
	verify_sel = sel;
	uint32_t got[3];
	for (unsigned i = 0; i < 3; i++)
		got[i] = verify_site();
	st_check(got[0] == want && got[1] == want && got[2] == want, name, "got %u %u %u, want %u",
		 got[0], got[1], got[2], want);
}

static void verify_tests(void)
{
	verify_case("paging, CPL 0: the same verw/verr of writable data: ZF 1 1", SEL_TACC, 0x92, 7);
	verify_case("paging, CPL 0: the same verw/verr after the descriptor became read-only: ZF 0 1",
		    SEL_TACC, 0x90, 6);
	verify_case("paging, CPL 0: ... after it became execute/read code: ZF 0 1", SEL_TACC, 0x9A, 6);
	verify_case("paging, CPL 0: ... after it became execute-only code: ZF 0 0", SEL_TACC, 0x98, 4);
	verify_case("paging, CPL 0: ... writable data with RPL 3 over DPL 0: ZF 0 0", SEL_TACC | 3, 0x92, 4);
	verify_case("paging, CPL 0: ... writable DPL-3 data with RPL 3: ZF 1 1", SEL_TACC | 3, 0xF2, 7);
	verify_case("paging, CPL 0: ... writable data again: ZF 1 1", SEL_TACC, 0x92, 7);
	gdt[SEL_TACC / 8] = seg_desc(0, 0xFFFFF, 0x92, 0xC);
}

/* --- setup ------------------------------------------------------------------------------- */

static uint32_t saved_cr0, saved_cr3, saved_cr4;

static void paging_on(void)
{
	for (unsigned i = 0; i < 1024; i++)
		pt0[i] = i * 4096 | PG_P | PG_RW | PG_US;
	for (unsigned i = 0; i < 1024; i++)
		pd[i] = pt_test[i] = pt_user[i] = 0;
	pd[0] = pa(pt0) | PG_P | PG_RW | PG_US;
	pd[TB >> 22] = pa(pt_test) | PG_P | PG_RW | PG_US;
	pd[BIG >> 22] = 0x400000u | PG_PS | PG_P | PG_RW;
	pd[UPDE_S >> 22] = pa(pt_user) | PG_P | PG_RW;             /* supervisor PDE */
	pd[UPDE_R >> 22] = pa(pt_user) | PG_P | PG_US;             /* read-only PDE */
	pd[SELF] = pa(pd) | PG_P | PG_RW;
	pt_user[0] = pa(tp[4]) | PG_P | PG_RW | PG_US;
	for (unsigned i = 0; i < 8; i++)
		for (unsigned j = 0; j < 1024; j++)
			((uint32_t *)tp[i])[j] = 0x11111111u * i + j;
	pt_test[0] = pa(tp[0]) | PG_P | PG_RW;
	pt_test[2] = pa(tp[1]) | PG_P | PG_RW;
	pt_test[3] = pa(pt_test) | PG_P | PG_RW;                 /* second mapping of pt_test */
	pt_test[4] = pa(tp[3]) | PG_P;                           /* read-only supervisor */
	pt_test[5] = pa(tp[4]) | PG_P | PG_US;                   /* read-only user */
	pt_test[6] = pa(tp[5]) | PG_P | PG_RW;                   /* supervisor */
	pt_test[8] = pa(tp[2]) | PG_P | PG_RW | PG_US;           /* user stack page; 7 not present */
	pt_test[9] = pa(tp[6]) | PG_P | PG_RW;                   /* code; 10 not present */
	pt_test[11] = pa(tp[7]) | PG_P | PG_RW;                  /* REP MOVS target; 12 not present */
	/* 13: set by ad_tests */

	saved_cr0 = pv_read_cr0();
	saved_cr3 = pv_read_cr3();
	saved_cr4 = pv_read_cr4();
	pv_write_cr4(saved_cr4 | CR4_PSE);
	pv_write_cr3(pa(pd));
	pv_write_cr0((saved_cr0 & ~CR0_WP) | CR0_PG);
	uint32_t cr0 = pv_read_cr0();
	st_check((cr0 & CR0_PG) && pv_read_cr3() == pa(pd), "paging on: identity-mapped code keeps running",
		 "cr0 0x%x cr3 0x%x", cr0, pv_read_cr3());
}

static void paging_off(void)
{
	pv_write_cr0(saved_cr0 & ~(CR0_PG | CR0_WP));
	pv_write_cr3(saved_cr3);
	pv_write_cr4(saved_cr4);
	st_check(!(pv_read_cr0() & CR0_PG), "paging off again", "cr0 0x%x", pv_read_cr0());
}

/* --- accessed and dirty bits ----------------------------------------------------------- */

static void ad_tests(void)
{
	volatile uint32_t *pde = &pd[TB >> 22], *pte = &pt_test[0];
	*pde &= ~(PG_A | PG_D);
	*pte &= ~(PG_A | PG_D);
	invlpg(TB);
	(void)rd(TB + 8);
	st_check((*pde & PG_A) && (*pte & PG_A) && !(*pte & PG_D) && !(*pde & PG_D),
		 "a read sets A in the PDE and the PTE, not D", "pde 0x%x pte 0x%x", *pde, *pte);
	wr(TB + 8, 0x5A5A5A5A);
	st_check((*pte & PG_D) && !(*pde & PG_D), "a write sets D in the PTE only",
		 "pde 0x%x pte 0x%x", *pde, *pte);
	st_eq("the write reached the physical page", ((uint32_t *)tp[0])[2], 0x5A5A5A5A);
	*pte &= ~(PG_A | PG_D);
	invlpg(TB);
	wr(TB + 12, 1);
	st_check((*pte & (PG_A | PG_D)) == (PG_A | PG_D), "a first write sets both A and D in the PTE",
		 "pte 0x%x", *pte);

	volatile uint32_t *big = &pd[BIG >> 22];
	*big &= ~(PG_A | PG_D);
	invlpg(BIG);
	uint32_t v = rd(BIG + 0x1234 * 4);
	st_check((*big & PG_A) && !(*big & PG_D), "4 MiB page: a read sets A in the PDE, not D",
		 "pde 0x%x", *big);
	wr(BIG + 0x1234 * 4, v ^ 0xFFFF);
	st_check(*big & PG_D, "4 MiB page: a write sets D in the PDE", "pde 0x%x", *big);
	map(13, (0x400000u + ((0x1234 * 4) & ~0xFFFu)) | PG_P | PG_RW);   /* the same physical page */
	st_eq("4 MiB page maps linear BIG+x to physical 4 MiB+x", rd(TB + 0xD000 + ((0x1234 * 4) & 0xFFF)),
	      v ^ 0xFFFF);
	v = rd(BIG + 0x3FFFFC);
	st_eq("4 MiB page: INVLPG of another address in it is allowed", (invlpg(BIG + 0x200000), rd(BIG + 0x3FFFFC)), v);
}

/* --- #PF error codes at CPL 0 ----------------------------------------------------------- */

static void pf_cpl0_tests(void)
{
	uint32_t at;
	try_read(TB + 0x1008, &at);
	pf_check("read of a not-present page: #PF error 0, CR2", 0, at, TB + 0x1008);
	try_write(TB + 0x1010, 1, &at);
	pf_check("write to a not-present page: #PF error 2 (W)", 2, at, TB + 0x1010);
	try_read(NOPDE + 0x123, &at);
	pf_check("read through a not-present PDE: #PF error 0", 0, at, NOPDE + 0x123);
	try_write(NOPDE + 0x456, 1, &at);
	pf_check("write through a not-present PDE: #PF error 2", 2, at, NOPDE + 0x456);

	try_write(TB + 0x4010, 0x0BADF00D, &at);
	st_check(trap_last.count == 0 && ((uint32_t *)tp[3])[4] == 0x0BADF00D,
		 "CR0.WP=0: CPL 0 writes a read-only page", "exceptions %u value 0x%x", trap_last.count,
		 ((uint32_t *)tp[3])[4]);
	pv_write_cr0(pv_read_cr0() | CR0_WP);
	try_write(TB + 0x4014, 2, &at);
	pf_check("CR0.WP=1: CPL 0 write to a read-only page: #PF error 3 (P|W)", 3, at, TB + 0x4014);
	try_write(UPDE_R + 0x20, 3, &at);
	pf_check("CR0.WP=1: CPL 0 write under a read-only PDE: #PF error 3", 3, at, UPDE_R + 0x20);
	uint32_t v = try_read(TB + 0x4010, &at);
	st_check(trap_last.count == 0 && v == 0x0BADF00D, "CR0.WP=1: CPL 0 reads a read-only page", NULL);
	pv_write_cr0(pv_read_cr0() & ~CR0_WP);
	try_write(UPDE_R + 0x24, 4, &at);
	st_nofault("CR0.WP=0: CPL 0 writes under a read-only PDE");
}

/* --- #PF error codes at CPL 3 ----------------------------------------------------------- */

static void pf_cpl3_tests(void)
{
	u_access(u_pg_read, TB + 0x6000, 0);
	upf_check("CPL 3 read of a supervisor page: #PF error 5 (P|U)", 5, TB + 0x6000);
	u_access(u_pg_write, TB + 0x6004, 1);
	upf_check("CPL 3 write to a supervisor page: #PF error 7 (P|W|U)", 7, TB + 0x6004);
	u_access(u_pg_read, TB + 0x5008, 0);
	st_check(trap_last.count == 0 && u_v[2] == ((uint32_t *)tp[4])[2], "CPL 3 reads a read-only user page",
		 "exceptions %u value 0x%x", trap_last.count, u_v[2]);
	u_access(u_pg_write, TB + 0x500C, 1);
	upf_check("CPL 3 write to a read-only user page (WP=0): #PF error 7", 7, TB + 0x500C);
	u_access(u_pg_read, TB + 0x1000, 0);
	upf_check("CPL 3 read of a not-present page: #PF error 4 (U)", 4, TB + 0x1000);
	u_access(u_pg_write, TB + 0x1FFC, 1);
	upf_check("CPL 3 write to a not-present page: #PF error 6 (W|U)", 6, TB + 0x1FFC);
	u_access(u_pg_read, UPDE_S + 0x10, 0);
	upf_check("CPL 3 read, user PTE under a supervisor PDE: #PF error 5", 5, UPDE_S + 0x10);
	u_access(u_pg_read, UPDE_R + 0x10, 0);
	st_check(trap_last.count == 0 && u_v[2] == ((uint32_t *)tp[4])[4],
		 "CPL 3 reads under a read-only user PDE", "exceptions %u value 0x%x", trap_last.count, u_v[2]);
	u_access(u_pg_write, UPDE_R + 0x14, 1);
	upf_check("CPL 3 write, writable PTE under a read-only PDE: #PF error 7", 7, UPDE_R + 0x14);
	u_access(u_pg_push, TB + 0x8000, 0);
	upf_check("CPL 3 push onto a not-present stack page: #PF error 6", 6, TB + 0x7FFC);
	st_check(trap_last.esp == TB + 0x8000 && u_v[2] == TB + 0x8000,
		 "a faulting push leaves ESP unchanged", "saved esp 0x%x esp after 0x%x", trap_last.esp, u_v[2]);
}

/* --- TLB maintenance ------------------------------------------------------------------- */

static void tlb_tests(void)
{
	const uint32_t va = TB + 0x2000, v1 = ((uint32_t *)tp[1])[0], v2 = ((uint32_t *)tp[2])[0];
	map(2, pa(tp[1]) | PG_P | PG_RW);
	st_eq("mapping to page 1", rd(va), v1);
	pt_test[2] = pa(tp[2]) | PG_P | PG_RW;
	invlpg(va);
	st_eq("after a PTE change and INVLPG the new page is used", rd(va), v2);
	pt_test[2] = pa(tp[1]) | PG_P | PG_RW;
	reload_cr3();
	st_eq("after a PTE change and a CR3 reload the new page is used", rd(va), v1);

	uint32_t at;
	pt_test[1] = 0;
	invlpg(TB + 0x1000);
	try_read(TB + 0x1000, &at);
	uint32_t faulted = trap_last.count;
	pt_test[1] = pa(tp[7]) | PG_P | PG_RW;     /* no flush: not-present entries are not cached */
	uint32_t v = try_read(TB + 0x1000, &at);
	st_check(faulted == 1 && trap_last.count == 0 && v == ((uint32_t *)tp[7])[0],
		 "a not-present PTE made present is used without a flush", "faulted %u then %u value 0x%x",
		 faulted, trap_last.count, v);
	pt_test[1] = 0;
	invlpg(TB + 0x1000);

	uint32_t edx = st_cpuid1_edx();
	if (!(edx & CPUID_PGE)) {
		st_note("CPUID lacks PGE: global-page checks skipped");
		st_check(1, "global page: INVLPG makes the new mapping visible", NULL);
		st_check(1, "global page: a CR4.PGE toggle makes the new mapping visible", NULL);
		return;
	}
	uint32_t cr4 = pv_read_cr4();
	pv_write_cr4(cr4 | CR4_PGE);
	map(2, pa(tp[1]) | PG_P | PG_RW | PG_G);
	(void)rd(va);
	pt_test[2] = pa(tp[2]) | PG_P | PG_RW | PG_G;
	invlpg(va);
	st_eq("global page: INVLPG makes the new mapping visible", rd(va), v2);
	pt_test[2] = pa(tp[1]) | PG_P | PG_RW | PG_G;
	pv_write_cr4(cr4 & ~CR4_PGE);
	pv_write_cr4(cr4 | CR4_PGE);
	st_eq("global page: a CR4.PGE toggle makes the new mapping visible", rd(va), v1);
	pv_write_cr4(cr4);
	map(2, pa(tp[1]) | PG_P | PG_RW);
}

/* --- instruction fetch, REP MOVS, page-table aliases ---------------------------------- */

/* One indirect call site for every call below: what a translator remembers per site or
 * per target must follow the page tables and their flushes. */
static __attribute__((noinline)) uint32_t call_at(uint32_t va)
{
	uint32_t v;
	asm volatile("call *%1" : "=a"(v) : "r"(va) : "ecx", "edx", "memory");
	return v;
}

static void fetch_tests(void)
{
	static const uint8_t code[] = { 0xB8, 0x78, 0x56, 0x34, 0x12, 0xC3 };   /* mov eax, imm; ret */
	memcpy(tp[6], code, sizeof(code));
	memcpy(tp[6] + 4094, code, 2);                                     /* mov crossing the page */
	invlpg(TB + 0x9000);
	uint32_t v = 0;
	trap_reset();
	asm volatile(ST_ARM "call *%1" ST_DISARM : "=a"(v) : "r"(TB + 0x9000) : "ecx", "edx", "memory");
	st_check(trap_last.count == 0 && v == 0x12345678, "code runs from a test page", "eax 0x%x exceptions %u",
		 v, trap_last.count);
	/* the page remapped to other code and flushed: the same call site runs the new code,
	 * and the old code again once the old mapping is back and flushed */
	static const uint8_t code2[] = { 0xB8, 0x21, 0x43, 0x65, 0x87, 0xC3 };
	uint32_t old = pt_test[9], r1, r2, r3;
	memcpy(tp[7], code2, sizeof(code2));
	r1 = call_at(TB + 0x9000);
	pt_test[9] = pa(tp[7]) | PG_P | PG_RW;     /* (stores of their own, not map()'s) */
	invlpg(TB + 0x9000);
	r2 = call_at(TB + 0x9000);
	pt_test[9] = old;
	invlpg(TB + 0x9000);
	r3 = call_at(TB + 0x9000);
	st_check(r1 == 0x12345678 && r2 == 0x87654321 && r3 == 0x12345678,
		 "a code page remapped and flushed by INVLPG: the same call site follows it",
		 "0x%x 0x%x 0x%x", r1, r2, r3);
	trap_reset();
	asm volatile(ST_ARM "jmp *%0" ST_DISARM :: "r"(TB + 0xA000) : "memory");
	pf_check("fetch from a not-present page: #PF error 0, CR2 = EIP", 0, TB + 0xA000, TB + 0xA000);
	trap_reset();
	asm volatile(ST_ARM "jmp *%0" ST_DISARM :: "r"(TB + 0x9FFE) : "memory");
	pf_check("an instruction crossing into a not-present page: CR2 = the page, EIP = the instruction",
		 0, TB + 0x9FFE, TB + 0xA000);
}

static void rep_movs_tests(void)
{
	uint32_t si = TB, di = TB + 0xBFF0, cx = 0x20, at;
	memset(tp[7] + 0xFF0, 0, 16);
	trap_reset();
	asm volatile("cld\n\t" ST_ARM "8: rep movsb" ST_DISARM "movl $8b, %3"
		     : "+S"(si), "+D"(di), "+c"(cx), "=r"(at) :: "memory");
	pf_check("rep movsb into a not-present page: #PF error 2 at the rep movsb", 2, at, TB + 0xC000);
	st_check(cx == 0x10 && si == TB + 0x10 && di == TB + 0xC000 && !memcmp(tp[7] + 0xFF0, tp[0], 16),
		 "rep movsb fault: ECX/ESI/EDI count the 16 bytes copied", "ecx 0x%x esi 0x%x edi 0x%x", cx, si, di);
	si = TB + 0xFF8;
	di = TB + 0xB000;
	cx = 4;
	trap_reset();
	asm volatile("cld\n\t" ST_ARM "8: rep movsl" ST_DISARM "movl $8b, %3"
		     : "+S"(si), "+D"(di), "+c"(cx), "=r"(at) :: "memory");
	pf_check("rep movsl from a not-present page: #PF error 0", 0, at, TB + 0x1000);
	st_check(cx == 2 && si == TB + 0x1000 && di == TB + 0xB008, "rep movsl fault: two dwords done",
		 "ecx %u esi 0x%x edi 0x%x", cx, si, di);
}

static void alias_tests(void)
{
	const uint32_t va = TB + 0x2000;
	const uint32_t self_pt = 0xFFC00000u + (TB >> 22) * 4096;       /* pt_test via pd[SELF] */
	st_eq("recursive PDE: the page table appears at 0xFFC00000 + 4 KiB * index", rd(self_pt + 2 * 4), pt_test[2]);
	st_eq("recursive PDE: the directory appears at 0xFFFFF000", rd(0xFFFFF000u + (TB >> 22) * 4), pd[TB >> 22]);
	wr(self_pt + 2 * 4, pa(tp[2]) | PG_P | PG_RW);
	invlpg(va);
	st_eq("a PTE written through the recursive mapping takes effect after INVLPG", rd(va), ((uint32_t *)tp[2])[0]);
	wr(TB + 0x3000 + 2 * 4, pa(tp[1]) | PG_P | PG_RW);
	invlpg(va);
	st_eq("a PTE written through a second mapping of its table takes effect after INVLPG", rd(va),
	      ((uint32_t *)tp[1])[0]);
	st_eq("  ... and the table itself holds it", pt_test[2], pa(tp[1]) | PG_P | PG_RW | PG_A);
}

void st_group_paging(void)
{
	ring3_begin();
	paging_on();
	ad_tests();
	pf_cpl0_tests();
	pf_cpl3_tests();
	tlb_tests();
	fetch_tests();
	rep_movs_tests();
	alias_tests();
	int_cache_tests();
	exc_cache_tests();
	iret0_tests();
	sysenter_cache_tests();
	rdtsc_tests();
	verify_tests();
	paging_off();
	ring3_end();
}
