/*
 * st_sys.c - self test: control and debug registers, the x87 availability bits (#NM),
 * descriptor-table registers (GDTR IDTR LDTR TR), LAR/LSL/VERR/VERW, CPUID, TSC, MSRs and
 * the cache/TLB maintenance instructions.
 */
#include "selftest.h"

#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_NE 0x00000020u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR4_PSE 0x00000010u
#define CR4_PGE 0x00000080u

/* Raw accessors (the point here is the instruction itself; pvops.h is for the kernel). */
static uint32_t rd_cr0(void) { uint32_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static void wr_cr0(uint32_t v) { asm volatile("mov %0, %%cr0" :: "r"(v) : "memory"); }

static void cr0_tests(void)
{
	uint32_t cr0 = rd_cr0(), v;
	st_check(cr0 & CR0_PE, "CR0.PE is set in protected mode", "cr0 0x%x", cr0);
	wr_cr0(cr0 | CR0_TS);
	v = rd_cr0();
	asm volatile("clts" ::: "memory");
	st_check((v & CR0_TS) && !(rd_cr0() & CR0_TS), "mov to CR0 sets TS and clts clears it",
		 "cr0 0x%x then 0x%x", v, rd_cr0());
	wr_cr0(cr0 | CR0_MP);
	v = rd_cr0();
	wr_cr0(cr0 & ~CR0_MP);
	st_check((v & CR0_MP) && !(rd_cr0() & CR0_MP), "CR0.MP round trip", NULL);
	wr_cr0(cr0 | CR0_EM);
	v = rd_cr0();
	wr_cr0(cr0 & ~CR0_EM);
	st_check((v & CR0_EM) && !(rd_cr0() & CR0_EM), "CR0.EM round trip", NULL);
	wr_cr0(cr0);

	uint16_t msw;
	asm volatile("smsw %0" : "=r"(msw));
	st_eq("smsw returns the low word of CR0", msw, cr0 & 0xFFFF);
	asm volatile("lmsw %0" :: "r"((uint16_t)((cr0 & 0xFFF0) | CR0_TS)) : "memory");
	v = rd_cr0();
	wr_cr0(cr0);
	st_check((v & CR0_PE) && (v & CR0_TS), "lmsw sets TS and cannot clear PE", "cr0 0x%x", v);
	asm volatile("lmsw %0" :: "r"((uint16_t)((cr0 ^ CR0_NE) | CR0_MP)) : "memory");
	v = rd_cr0();
	wr_cr0(cr0);
	st_eq("lmsw changes only bits 0-3", v, cr0 | CR0_MP);
}

static void nm_tests(void)
{
	uint32_t cr0 = rd_cr0(), at;
	trap_reset();
	wr_cr0(cr0 | CR0_TS);
	asm volatile(ST_ARM "8: fninit" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory");
	wr_cr0(cr0);
	st_fault("fninit with CR0.TS=1 raises #NM", 7, NO_ERR, at);
	trap_reset();
	wr_cr0((cr0 | CR0_TS | CR0_MP) & ~CR0_EM);
	asm volatile(ST_ARM "8: fwait" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory");
	wr_cr0(cr0);
	st_fault("fwait with CR0.TS=1 MP=1 raises #NM", 7, NO_ERR, at);
	trap_reset();
	wr_cr0((cr0 | CR0_TS) & ~(CR0_MP | CR0_EM));
	asm volatile(ST_ARM "8: fwait" ST_DISARM ::: "memory");
	wr_cr0(cr0);
	st_nofault("fwait with CR0.TS=1 MP=0 does not fault");
	trap_reset();
	wr_cr0((cr0 | CR0_EM) & ~CR0_TS);
	asm volatile(ST_ARM "8: fninit" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory");
	wr_cr0(cr0);
	st_fault("fninit with CR0.EM=1 raises #NM", 7, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: fninit" ST_DISARM ::: "memory");
	st_nofault("fninit with TS=0 EM=0 runs");
	trap_reset();
	asm volatile(ST_ARM "8: movl %1, %%cr0" ST_DISARM "movl $8b, %0"
		     : "=r"(at) : "r"((cr0 | CR0_NW) & ~CR0_CD) : "memory");
	wr_cr0(cr0);
	st_fault_or_deviation("mov to CR0 with NW=1 CD=0 raises #GP(0)", 13, 0, at,
			      "mov to CR0 with NW=1 CD=0");
}

static void cr234_dr_tests(void)
{
	uint32_t v, old;
	asm volatile("mov %%cr2, %0" : "=r"(old));
	asm volatile("mov %1, %%cr2; mov %%cr2, %0" : "=r"(v) : "r"(0xC0DE1234u));
	asm volatile("mov %0, %%cr2" :: "r"(old));
	st_eq("CR2 write and read back", v, 0xC0DE1234u);
	asm volatile("mov %%cr3, %0" : "=r"(old));
	asm volatile("mov %1, %%cr3; mov %%cr3, %0" : "=r"(v) : "r"(0x00123000u) : "memory");
	asm volatile("mov %0, %%cr3" :: "r"(old) : "memory");
	st_eq("CR3 write and read back with paging off", v, 0x00123000u);

	uint32_t edx = st_cpuid1_edx(), cr4, bits = 0;
	if (edx & CPUID_PSE)
		bits |= CR4_PSE;
	if (edx & CPUID_PGE)
		bits |= CR4_PGE;
	if (bits != (CR4_PSE | CR4_PGE))
		st_note("CPUID lacks PSE or PGE: CR4 check limited to 0x%x", bits);
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %1, %%cr4; mov %%cr4, %0" : "=r"(v) : "r"(cr4 | bits) : "memory");
	asm volatile("mov %1, %%cr4; mov %%cr4, %0" : "=r"(old) : "r"(cr4 & ~bits) : "memory");
	asm volatile("mov %0, %%cr4" :: "r"(cr4) : "memory");
	st_check((v & bits) == bits && !(old & bits), "CR4.PSE and CR4.PGE round trip",
		 "set 0x%x clear 0x%x", v, old);
	static const uint32_t dv[4] = { 0x00101000u, 0x12345678u, 0xFFFFFFFCu, 0x00000004u };
	uint32_t d0, d1, d2, d3, d7;
	asm volatile("mov %0, %%dr0; mov %1, %%dr1; mov %2, %%dr2; mov %3, %%dr3"
		     :: "r"(dv[0]), "r"(dv[1]), "r"(dv[2]), "r"(dv[3]));
	asm volatile("mov %%dr0, %0; mov %%dr1, %1; mov %%dr2, %2; mov %%dr3, %3"
		     : "=r"(d0), "=r"(d1), "=r"(d2), "=r"(d3));
	st_check(d0 == dv[0] && d1 == dv[1] && d2 == dv[2] && d3 == dv[3], "DR0-DR3 round trip",
		 "%x %x %x %x", d0, d1, d2, d3);
	/* Breakpoint fields set, no enable bit: nothing can trigger.  Bit 10 reads as 1. */
	asm volatile("mov %1, %%dr7; mov %%dr7, %0" : "=r"(d7) : "r"(0x000D0300u));
	asm volatile("mov %0, %%dr7" :: "r"(0x400u));
	st_eq("DR7 round trip (bit 10 reads 1)", d7, 0x000D0700u);
	asm volatile("mov %0, %%dr0; mov %0, %%dr1; mov %0, %%dr2; mov %0, %%dr3" :: "r"(0u));
}

void st_group_cr(void)
{
	cr0_tests();
	nm_tests();
	cr234_dr_tests();
}

/* --- descriptor tables ------------------------------------------------------------------ */

static uint64_t gdt_copy[GDT_ENTRIES + 2] __attribute__((aligned(8)));
static uint64_t idt_copy[0x30] __attribute__((aligned(8)));
static uint32_t marker[4] = { 0xCAFEF00Du, 0x0BADBEEFu, 0, 0 };

static uint16_t get_fs(void) { uint16_t s; asm volatile("movw %%fs, %0" : "=r"(s)); return s; }
static void set_fs(uint16_t s) { asm volatile("movw %0, %%fs" :: "r"(s) : "memory"); }
static uint32_t fs_read(uint32_t off)
{
	uint32_t v;
	asm volatile("movl %%fs:(%1), %0" : "=r"(v) : "r"(off) : "memory");
	return v;
}

static void gdt_idt_tests(void)
{
	struct pv_dtr d, d2;
	asm volatile("sgdt %0" : "=m"(d));
	st_check(d.base == (uint32_t)gdt && d.limit == sizeof(gdt) - 1, "sgdt returns the loaded GDT",
		 "base 0x%x limit 0x%x", d.base, d.limit);
	memcpy(gdt_copy, gdt, sizeof(gdt));
	gdt_copy[SEL_TBASE / 8] = seg_desc((uint32_t)marker, 0xF, 0x93, 0x4);
	d2.base = (uint32_t)gdt_copy;
	d2.limit = sizeof(gdt_copy) - 1;
	asm volatile("lgdt %0" :: "m"(d2) : "memory");
	struct pv_dtr d3;
	asm volatile("sgdt %0" : "=m"(d3));
	set_fs(SEL_TBASE);
	uint32_t v = fs_read(4);
	set_fs(SEL_KDATA);
	asm volatile("lgdt %0" :: "m"(d) : "memory");
	st_check(d3.base == d2.base && d3.limit == d2.limit, "lgdt of a second table, sgdt returns it",
		 "base 0x%x limit 0x%x", d3.base, d3.limit);
	st_eq("segment loads use the GDT loaded last", v, marker[1]);

	asm volatile("sidt %0" : "=m"(d));
	st_check(d.base == (uint32_t)idt && d.limit == sizeof(idt) - 1, "sidt returns the loaded IDT",
		 "base 0x%x limit 0x%x", d.base, d.limit);
	memcpy(idt_copy, idt, sizeof(idt_copy));
	d2.base = (uint32_t)idt_copy;
	d2.limit = sizeof(idt_copy) - 1;
	uint32_t at;
	trap_reset();
	asm volatile("lidt %2\n\tsidt %1\n\t" ST_ARM "8: int $0x40" ST_DISARM "lidt %3\n\tmovl $8b, %0"
		     : "=r"(at), "=m"(d3) : "m"(d2), "m"(d) : "memory");
	st_check(d3.base == d2.base && d3.limit == d2.limit, "lidt of a second table, sidt returns it",
		 "base 0x%x limit 0x%x", d3.base, d3.limit);
	st_fault("int beyond the IDT limit raises #GP(vector*8+2)", 13, 0x40 * 8 + 2, at);
}

static void ldt_tr_tests(void)
{
	uint16_t s;
	ldt[1] = seg_desc((uint32_t)marker, 0xF, 0x93, 0x4);
	asm volatile("lldt %w1; sldt %0" : "=r"(s) : "r"(SEL_LDT) : "memory");
	st_eq("lldt and sldt round trip", s, SEL_LDT);
	set_fs(0x0C);                                   /* LDT index 1, TI=1, RPL 0 */
	uint16_t fs = get_fs();
	uint32_t v = fs_read(0);
	set_fs(SEL_KDATA);
	st_check(fs == 0x0C && v == marker[0], "load fs from an LDT selector", "fs 0x%x value 0x%x", fs, v);
	asm volatile("lldt %w1; sldt %0" : "=r"(s) : "r"(0) : "memory");
	st_eq("lldt of the null selector", s, 0);
	uint32_t at;
	trap_reset();
	asm volatile(ST_ARM "8: movw %w1, %%fs" ST_DISARM "movl $8b, %0" : "=r"(at) : "r"(0x0C) : "memory");
	set_fs(SEL_KDATA);
	st_fault("LDT selector with a null LDTR raises #GP(selector)", 13, 0x0C, at);

	asm volatile("str %0" : "=r"(s));
	st_eq("str returns the loaded TSS selector", s, SEL_TSS);
	st_eq("ltr marked the TSS descriptor busy", (uint32_t)(gdt[SEL_TSS / 8] >> 40) & 0xF, 0xB);
	trap_reset();
	asm volatile(ST_ARM "8: ltr %w1" ST_DISARM "movl $8b, %0" : "=r"(at) : "r"(SEL_TSS) : "memory");
	st_fault("ltr of a busy TSS raises #GP(selector)", 13, SEL_TSS, at);
	asm volatile("ltr %w1; str %0" : "=r"(s) : "r"(SEL_TSS2) : "memory");
	uint32_t type2 = (uint32_t)(gdt[SEL_TSS2 / 8] >> 40) & 0xF;
	gdt[SEL_TSS / 8] &= ~(2ull << 40);               /* available again */
	asm volatile("ltr %w0" :: "r"(SEL_TSS) : "memory");
	gdt[SEL_TSS2 / 8] &= ~(2ull << 40);
	st_check(s == SEL_TSS2 && type2 == 0xB, "ltr of a second TSS", "tr 0x%x type 0x%x", s, type2);
}

/* LAR: returns ZF and the access rights; LSL: ZF and the limit; VERR/VERW: ZF. */
static int lar(uint32_t sel, uint32_t *ar)
{
	uint8_t z;
	uint32_t v = 0xDEADDEAD;
	asm volatile("larl %2, %0; setz %1" : "+r"(v), "=q"(z) : "r"(sel) : "cc");
	*ar = v;
	return z;
}

static int lsl(uint32_t sel, uint32_t *lim)
{
	uint8_t z;
	uint32_t v = 0xDEADDEAD;
	asm volatile("lsll %2, %0; setz %1" : "+r"(v), "=q"(z) : "r"(sel) : "cc");
	*lim = v;
	return z;
}

static int verr(uint16_t sel)
{
	uint8_t z;
	asm volatile("verr %1; setz %0" : "=q"(z) : "r"(sel) : "cc");
	return z;
}

static int verw(uint16_t sel)
{
	uint8_t z;
	asm volatile("verw %1; setz %0" : "=q"(z) : "r"(sel) : "cc");
	return z;
}

static void lar_check(const char *name, uint32_t sel, int zf, uint32_t ar)
{
	uint32_t got;
	int z = lar(sel, &got);
	/* bits 19:16 (the limit) are undefined in the result: mask 0x00F0FF00 */
	st_check(z == zf && (!zf || (got & 0x00F0FF00) == ar), name, "ZF %d ar 0x%x", z, got);
}

static void lsl_check(const char *name, uint32_t sel, int zf, uint32_t lim)
{
	uint32_t got;
	int z = lsl(sel, &got);
	st_check(z == zf && (!zf || got == lim), name, "ZF %d limit 0x%x", z, got);
}

static void lar_lsl_tests(void)
{
	ldt[1] = seg_desc((uint32_t)marker, 0xF, 0x93, 0x4);
	asm volatile("lldt %w0" :: "r"(SEL_LDT) : "memory");
	lar_check("lar of the kernel code segment", SEL_KCODE, 1, 0x00C09B00);
	lar_check("lar of the kernel data segment", SEL_KDATA, 1, 0x00C09300);
	lar_check("lar of the user code segment with RPL 3", SEL_UCODE | 3, 1, 0x00C0FB00);
	lar_check("lar of the busy TSS", SEL_TSS, 1, 0x00008B00);
	lar_check("lar of the LDT descriptor", SEL_LDT, 1, 0x00008200);
	lar_check("lar of a call gate", SEL_CGATE, 1, 0x00008C00);
	lar_check("lar of an LDT selector", 0x0C, 1, 0x00409300);
	lar_check("lar of a not-present segment (P=0 visible)", SEL_TNP, 1, 0x00C01300);
	lar_check("lar of an interrupt gate fails", SEL_TRAPG, 0, 0);
	lar_check("lar of the null selector fails", 0, 0, 0);
	lar_check("lar beyond the GDT limit fails", 0x3F8, 0, 0);
	lar_check("lar of a DPL 0 data segment with RPL 3 fails", SEL_KDATA | 3, 0, 0);
	lsl_check("lsl of flat data is 0xFFFFFFFF", SEL_KDATA, 1, 0xFFFFFFFF);
	lsl_check("lsl of a byte-granular segment", SEL_TLIM, 1, 0xFFF);
	lsl_check("lsl of the TSS", SEL_TSS, 1, TSS_LIMIT);
	lsl_check("lsl of a call gate fails", SEL_CGATE, 0, 0);
	lsl_check("lsl of the null selector fails", 0, 0, 0);
	lsl_check("lsl beyond the GDT limit fails", 0x3F8, 0, 0);
	st_check(verr(SEL_KCODE) && !verw(SEL_KCODE), "verr/verw of readable code: readable, not writable", NULL);
	st_check(!verr(SEL_XCODE) && !verw(SEL_XCODE), "verr/verw of execute-only code: neither", NULL);
	st_check(verr(SEL_KDATA) && verw(SEL_KDATA), "verr/verw of writable data: both", NULL);
	st_check(verr(SEL_RODATA) && !verw(SEL_RODATA), "verr/verw of read-only data: readable only", NULL);
	st_check(!verr(SEL_TSS) && !verw(SEL_TSS), "verr/verw of the TSS: neither", NULL);
	st_check(!verr(0) && !verw(0), "verr/verw of the null selector: neither", NULL);
	st_check(!verr(SEL_KDATA | 3) && verr(SEL_UDATA | 3), "verr checks DPL against RPL", NULL);
	st_check(!verr(0x3F8) && !verw(0x3F8), "verr/verw beyond the GDT limit: neither", NULL);
	asm volatile("lldt %w0" :: "r"(0) : "memory");
}

void st_group_tables(void)
{
	gdt_idt_tests();
	ldt_tr_tests();
	lar_lsl_tests();
}

/* --- CPUID, TSC, MSRs, caches ----------------------------------------------------------- */

static uint64_t rdtsc_raw(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t rdmsr_raw(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static void wrmsr_raw(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static void cpuid_tests(void)
{
	uint32_t r[4];
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0), "c"(0));
	st_check(r[0] >= 1, "cpuid leaf 0: highest leaf >= 1", "eax 0x%x", r[0]);
	char vendor[13];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	int ok = 1;
	for (int i = 0; i < 12; i++)
		ok &= vendor[i] >= 0x20 && vendor[i] < 0x7F;
	vendor[12] = 0;
	st_check(ok, "cpuid vendor string is 12 printable characters", "%s", vendor);
	uint32_t edx = st_cpuid1_edx();
	st_check((edx & CPUID_FPU) && (edx & CPUID_TSC), "cpuid leaf 1 reports FPU and TSC", "edx 0x%x", edx);
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(1), "c"(0));
	uint32_t family = (r[0] >> 8) & 0xF;
	st_check(family >= 5, "cpuid leaf 1 family is Pentium or later", "eax 0x%x", r[0]);
}

static void tsc_msr_tests(void)
{
	uint64_t prev = rdtsc_raw();
	int ok = 1;
	for (int i = 0; i < 16; i++) {
		uint64_t t = rdtsc_raw();
		ok &= t > prev;
		prev = t;
	}
	st_check(ok, "rdtsc is strictly increasing", NULL);
	uint32_t edx = st_cpuid1_edx();
	if (!(edx & CPUID_MSR)) {
		st_note("CPUID lacks MSR: MSR checks skipped");
		st_check(1, "rdmsr of the TSC (MSR 0x10) does not fault", NULL);
		st_check(1, "rdmsr of the TSC (MSR 0x10) lies between two rdtsc", NULL);
		st_check(1, "IA32_SYSENTER_CS/ESP/EIP round trip", NULL);
		return;
	}
	uint32_t lo = 0, hi = 0;
	trap_reset();
	uint64_t a = rdtsc_raw();
	asm volatile(ST_ARM "8: rdmsr" ST_DISARM : "+a"(lo), "+d"(hi) : "c"(0x10) : "memory");
	uint64_t b = rdtsc_raw(), m = (uint64_t)hi << 32 | lo;
	st_nofault("rdmsr of the TSC (MSR 0x10) does not fault");
	if (m == 0 && trap_last.count == 0) {
		st_deviation("rdmsr of IA32_TSC (0x10) returns 0");
		st_check(1, "rdmsr of the TSC (MSR 0x10) lies between two rdtsc", NULL);
	} else {
		st_check(a <= m && m <= b, "rdmsr of the TSC (MSR 0x10) lies between two rdtsc",
			 "%llx %llx %llx", a, m, b);
	}
	if (!(edx & CPUID_SEP)) {
		st_note("CPUID lacks SEP: SYSENTER MSR check skipped");
		st_check(1, "IA32_SYSENTER_CS/ESP/EIP round trip", NULL);
		return;
	}
	wrmsr_raw(0x174, SEL_KCODE);
	wrmsr_raw(0x175, 0x00123450u);
	wrmsr_raw(0x176, 0xC0101234u);
	uint64_t cs = rdmsr_raw(0x174), esp = rdmsr_raw(0x175), eip = rdmsr_raw(0x176);
	wrmsr_raw(0x174, 0);
	wrmsr_raw(0x175, 0);
	wrmsr_raw(0x176, 0);
	st_check(cs == SEL_KCODE && esp == 0x00123450u && eip == 0xC0101234u,
		 "IA32_SYSENTER_CS/ESP/EIP round trip", "%llx %llx %llx", cs, esp, eip);
}

void st_group_cpu(void)
{
	cpuid_tests();
	tsc_msr_tests();
	trap_reset();
	asm volatile(ST_ARM "8: wbinvd" ST_DISARM ::: "memory");
	st_nofault("wbinvd executes");
	trap_reset();
	asm volatile(ST_ARM "8: invd" ST_DISARM ::: "memory");
	st_nofault("invd executes");
	trap_reset();
	asm volatile(ST_ARM "8: invlpg (%0)" ST_DISARM :: "r"(0x00101000u) : "memory");
	st_nofault("invlpg with paging off does not fault");
}
