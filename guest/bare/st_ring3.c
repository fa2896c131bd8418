/*
 * st_ring3.c - self test: sensitive and privileged instructions at CPL 3 (and the CPL-0
 * checks the other groups lack), the CPL 0 <-> 3 transitions and the TSS.
 *
 * The monitor's table of sensitive/privileged instructions (translator/translate.c
 * xl_sensitive(), emulation/insn.c) is covered instruction by instruction:
 *  - privileged ones (HLT, CLI/STI at CPL > IOPL, MOV CRn/DRn, CLTS, LMSW, LGDT/LIDT/LLDT/LTR,
 *    INVD/WBINVD/INVLPG, RDMSR/WRMSR, RDPMC with CR4.PCE=0, RDTSC with CR4.TSD=1, SYSEXIT,
 *    IN/OUT/INS/OUTS at CPL > IOPL unless the TSS I/O bitmap allows the port) raise #GP(0);
 *  - the 17 sensitive but unprivileged ones (Robin & Irvine) do not fault at CPL 3 on i386
 *    (no UMIP) and must show the guest's own state: SGDT SIDT SLDT STR SMSW, PUSHF/POPF (POPF
 *    silently keeps IF and IOPL), LAR LSL VERR VERW (DPL against CPL and RPL), PUSH/POP and
 *    MOV of segment registers (DPL checks, #GP(selector)), far CALL/JMP/RET (no transfer to
 *    ring-0 code, a conforming segment keeps CPL 3), INT n (gate DPL: #GP(n*8+2));
 *  - the transitions: events from CPL 3 switch to SS0:ESP0 of the TSS and push SS:ESP; IRET
 *    and far RET to CPL 3 pop SS:ESP and null DS/ES/FS/GS that CPL 3 may not use; SYSENTER
 *    and SYSEXIT.
 *
 * The CPL-3 code runs flat (base 0, no paging) and reports through memory; the CPL-0 side
 * prints the checks.  See selftest.h for ring3_call().
 */
#include "selftest.h"

#define CR4_TSD 0x4u
#define CR4_PCE 0x100u
#define TSS_BUSY (2ull << 40)

uint32_t ring3_saved_esp, ring3_exit_frame[5];
uint16_t ring3_entry_sregs[4];

/*
 * ring3_call(fn, eflags, via_lret): save the callee-saved registers and ESP, load FS with
 * USEL_DATA and GS with the conforming code segment (both usable at CPL 3; DS and ES keep
 * the ring-0 SEL_KDATA, which the return to CPL 3 must null), and enter ring3_entry at
 * CPL 3.  ring3_entry records DS ES FS GS, loads USEL_DATA everywhere and calls fn (in EAX).
 * ring3_exit_stub is the VEC_USER_EXIT handler: it records the CPL-3 frame and returns
 * from ring3_call on the saved stack.
 */
asm(".text\n"
    ".globl ring3_call\n"
    "ring3_call:\n\t"
    "pushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n\t"
    "movl %esp, ring3_saved_esp\n\t"
    "movl 20(%esp), %eax\n\tmovl 24(%esp), %edx\n\tmovl 28(%esp), %ecx\n\t"
    "movw $0x23, %bx\n\tmovw %bx, %fs\n\tmovw $0x90, %bx\n\tmovw %bx, %gs\n\t"
    "pushl $0x23\n\tpushl $ring3_ustack_top\n\t"
    "testl %ecx, %ecx\n\tjnz 1f\n\t"
    "pushl %edx\n\tpushl $0x1b\n\tpushl $ring3_entry\n\tiret\n"
    "1:\tpushl $0x1b\n\tpushl $ring3_entry\n\tlret\n"
    "ring3_entry:\n\t"
    "movw %ds, %ss:ring3_entry_sregs\n\tmovw %es, %ss:ring3_entry_sregs+2\n\t"
    "movw %fs, %ss:ring3_entry_sregs+4\n\tmovw %gs, %ss:ring3_entry_sregs+6\n\t"
    "movl $0x23, %ecx\n\tmovw %cx, %ds\n\tmovw %cx, %es\n\tmovw %cx, %fs\n\tmovw %cx, %gs\n\t"
    "call *%eax\n\t"
    "int $0x45\n"
    "1:\tjmp 1b\n"
    ".globl ring3_exit_stub\n"
    "ring3_exit_stub:\n\t"
    "popl %ss:ring3_exit_frame\n\tpopl %ss:ring3_exit_frame+4\n\tpopl %ss:ring3_exit_frame+8\n\t"
    "popl %ss:ring3_exit_frame+12\n\tpopl %ss:ring3_exit_frame+16\n\t"
    "movl $0x10, %ecx\n\tmovw %cx, %ds\n\tmovw %cx, %es\n\tmovw %cx, %fs\n\tmovw %cx, %gs\n\t"
    "movl ring3_saved_esp, %esp\n\t"
    "popl %edi\n\tpopl %esi\n\tpopl %ebx\n\tpopl %ebp\n\tret\n");
asm(".bss\n.align 16\n"
    ".space 4096\n.globl ring3_ustack_top\nring3_ustack_top:\n"
    ".space 4096\n.globl ring3_kstack_top\nring3_kstack_top:\n"
    ".space 1024\nr3_sysenter_top:\n.text\n");

void ring3_begin(void)
{
	tss_io.t.ss0 = SEL_KDATA;
	tss_io.t.esp0 = (uint32_t)ring3_kstack_top;
	gdt[SEL_TSS3 / 8] &= ~TSS_BUSY;
	pv_ltr(SEL_TSS3);
	gdt[SEL_TSS / 8] &= ~TSS_BUSY;
}

void ring3_end(void)
{
	gdt[SEL_TSS / 8] &= ~TSS_BUSY;
	pv_ltr(SEL_TSS);
	gdt[SEL_TSS3 / 8] &= ~TSS_BUSY;
}

static void io_allow(uint16_t port, int allow)
{
	if (allow)
		tss_io.map[port / 8] &= (uint8_t)~(1u << (port % 8));
	else
		tss_io.map[port / 8] |= (uint8_t)(1u << (port % 8));
}

/* What the CPL-3 code saw. */
/* (not static: the CPL-3 assembly names them) */
volatile uint32_t u_at, u_v[8];
struct pv_dtr u_dtr[2];
uint32_t k_cr0, k_cr3, k_cr4;
struct pv_dtr k_gdtr;

static void u_run(const char *name, uint32_t (*fn)(void), uint32_t eflags)
{
	(void)name;
	trap_reset();
	ring3_call(fn, eflags, 0);
}

/* --- entering and leaving CPL 3 ------------------------------------------------------ */

static uint32_t u_nothing(void)
{
	uint32_t cs, ss, esp;
	asm volatile("movl %%cs, %0\n\tmovl %%ss, %1\n\tmovl %%esp, %2" : "=r"(cs), "=r"(ss), "=r"(esp));
	u_v[0] = cs;
	u_v[1] = ss;
	u_v[2] = esp;
	return 0x600D;
}

static void transitions(void)
{
	uint32_t fl;
	trap_reset();
	uint32_t r = ring3_call(u_nothing, 0x2, 0);
	st_check(r == 0x600D && u_v[0] == USEL_CODE && u_v[1] == USEL_DATA,
		 "iret to CPL 3 loads CS and SS with RPL 3", "ret 0x%x cs 0x%x ss 0x%x", r, u_v[0], u_v[1]);
	st_check(ring3_entry_sregs[0] == 0 && ring3_entry_sregs[1] == 0,
		 "iret to CPL 3 nulls DS and ES holding DPL-0 data", "ds 0x%x es 0x%x",
		 ring3_entry_sregs[0], ring3_entry_sregs[1]);
	st_check(ring3_entry_sregs[2] == USEL_DATA && ring3_entry_sregs[3] == SEL_CONF,
		 "iret to CPL 3 keeps FS (DPL-3 data) and GS (conforming code)", "fs 0x%x gs 0x%x",
		 ring3_entry_sregs[2], ring3_entry_sregs[3]);
	uint32_t *f = ring3_exit_frame;
	st_check(f[1] == USEL_CODE && f[4] == USEL_DATA && f[3] == (uint32_t)ring3_ustack_top,
		 "int from CPL 3 pushes SS:ESP of CPL 3 on the TSS stack", "cs 0x%x ss:esp %x:%x",
		 f[1], f[4], f[3]);
	st_eq("CPL-3 EFLAGS on the frame: IF and IOPL as iret loaded them", f[2] & (EFLAGS_IF | EFLAGS_IOPL | 2), 2);
	uint32_t esp_iret = u_v[2];

	trap_reset();
	asm volatile("pushfl; popl %0" : "=r"(fl));
	r = ring3_call(u_nothing, 0, 1);
	st_check(r == 0x600D && u_v[0] == USEL_CODE && u_v[1] == USEL_DATA && u_v[2] == esp_iret,
		 "far ret to CPL 3 pops CS:EIP and SS:ESP", "cs 0x%x ss 0x%x esp 0x%x", u_v[0], u_v[1], u_v[2]);
	st_check(ring3_entry_sregs[0] == 0 && ring3_entry_sregs[1] == 0 &&
		 ring3_entry_sregs[2] == USEL_DATA && ring3_entry_sregs[3] == SEL_CONF,
		 "far ret to CPL 3 nulls DS/ES (DPL 0), keeps FS/GS", "%x %x %x %x", ring3_entry_sregs[0],
		 ring3_entry_sregs[1], ring3_entry_sregs[2], ring3_entry_sregs[3]);
	st_eq("far ret to CPL 3 keeps EFLAGS", ring3_exit_frame[2] & (EFLAGS_IF | EFLAGS_IOPL),
	      fl & (EFLAGS_IF | EFLAGS_IOPL));
}

/* --- privileged instructions: #GP(0) at CPL 3 ---------------------------------------- */

#define UPRIV(fn, setup, insn)                                                              \
	static uint32_t fn(void)                                                            \
	{                                                                                   \
		asm volatile(setup "\n\t" ST_ARM "8: " insn ST_DISARM "movl $8b, u_at"      \
			     ::: "eax", "ecx", "edx", "memory");                              \
		return 0;                                                                   \
	}

UPRIV(u_hlt, "", "hlt")
UPRIV(u_cli, "", "cli")
UPRIV(u_sti, "", "sti")
UPRIV(u_rd_cr0, "", "movl %%cr0, %%eax")
UPRIV(u_rd_cr2, "", "movl %%cr2, %%eax")
UPRIV(u_rd_cr3, "", "movl %%cr3, %%eax")
UPRIV(u_rd_cr4, "", "movl %%cr4, %%eax")
UPRIV(u_wr_cr0, "movl k_cr0, %%eax", "movl %%eax, %%cr0")
UPRIV(u_wr_cr3, "movl k_cr3, %%eax", "movl %%eax, %%cr3")
UPRIV(u_wr_cr4, "movl k_cr4, %%eax", "movl %%eax, %%cr4")
UPRIV(u_rd_dr7, "", "movl %%dr7, %%eax")
UPRIV(u_wr_dr7, "movl $0x400, %%eax", "movl %%eax, %%dr7")
UPRIV(u_rd_dr0, "", "movl %%dr0, %%eax")
UPRIV(u_clts, "", "clts")
UPRIV(u_lmsw, "movl k_cr0, %%eax", "lmsw %%ax")
UPRIV(u_lgdt, "", "lgdt k_gdtr")
UPRIV(u_lidt, "", "lidt u_dtr+6")
UPRIV(u_lldt, "xorl %%eax, %%eax", "lldt %%ax")
UPRIV(u_ltr, "movl $0x78, %%eax", "ltr %%ax")
UPRIV(u_invd, "", "invd")
UPRIV(u_wbinvd, "", "wbinvd")
UPRIV(u_invlpg, "", "invlpg u_at")
UPRIV(u_rdmsr, "movl $0x10, %%ecx", "rdmsr")
UPRIV(u_wrmsr, "movl $0x174, %%ecx; xorl %%eax, %%eax; xorl %%edx, %%edx", "wrmsr")
UPRIV(u_rdpmc, "xorl %%ecx, %%ecx", "rdpmc")
UPRIV(u_rdtsc, "", "rdtsc")
UPRIV(u_sysexit, "movl %%esp, %%ecx; movl $9f, %%edx", "sysexit")
UPRIV(u_inb_imm, "", "inb $0x21, %%al")
UPRIV(u_outb_imm, "movb $0xFB, %%al", "outb %%al, $0x21")
UPRIV(u_inb_dx, "movl $0x21, %%edx", "inb %%dx, %%al")
UPRIV(u_outb_dx, "movl $0x21, %%edx; movb $0xFB, %%al", "outb %%al, %%dx")
UPRIV(u_inw_straddle, "movl $0x2F1, %%edx", "inw %%dx, %%ax")      /* 0x2F1 allowed, 0x2F2 not */
UPRIV(u_inl_straddle, "movl $0x2EC, %%edx", "inl %%dx, %%eax")     /* 0x2EC-0x2EE allowed, 0x2EF not */
UPRIV(u_in_beyond, "movl $0x400, %%edx", "inb %%dx, %%al")          /* bitmap beyond the limit */
UPRIV(u_ins, "movl $0x21, %%edx; movl $u_v, %%edi; movl $2, %%ecx; cld", "rep insb")
UPRIV(u_outs, "movl $0x21, %%edx; movl $k_cr0, %%esi; movl $2, %%ecx; cld", "rep outsb")

/* rep outsb to a denied port: the fault comes before the first element. */
static uint32_t u_outs_regs(void)
{
	asm volatile("movl $0x21, %%edx; movl $k_cr0, %%esi; movl $3, %%ecx; cld\n\t"
		     ST_ARM "8: rep outsb" ST_DISARM "movl $8b, u_at\n\tmovl %%ecx, u_v\n\tmovl %%esi, u_v+4"
		     ::: "ecx", "edx", "esi", "memory");
	return 0;
}

static const struct {
	uint32_t (*fn)(void);
	const char *name;
} privileged[] = {
	{ u_hlt, "hlt" }, { u_cli, "cli with IOPL 0" }, { u_sti, "sti with IOPL 0" },
	{ u_rd_cr0, "mov eax, cr0" }, { u_rd_cr2, "mov eax, cr2" }, { u_rd_cr3, "mov eax, cr3" },
	{ u_rd_cr4, "mov eax, cr4" }, { u_wr_cr0, "mov cr0, eax" }, { u_wr_cr3, "mov cr3, eax" },
	{ u_wr_cr4, "mov cr4, eax" }, { u_rd_dr7, "mov eax, dr7" }, { u_wr_dr7, "mov dr7, eax" },
	{ u_rd_dr0, "mov eax, dr0" }, { u_clts, "clts" }, { u_lmsw, "lmsw" }, { u_lgdt, "lgdt" },
	{ u_lidt, "lidt" }, { u_lldt, "lldt" }, { u_ltr, "ltr" }, { u_invd, "invd" },
	{ u_wbinvd, "wbinvd" }, { u_invlpg, "invlpg" }, { u_rdmsr, "rdmsr" }, { u_wrmsr, "wrmsr" },
	{ u_rdpmc, "rdpmc with CR4.PCE=0" }, { u_sysexit, "sysexit" },
	{ u_inb_imm, "in al, imm8 (port denied by the bitmap)" },
	{ u_outb_imm, "out imm8, al (port denied)" }, { u_inb_dx, "in al, dx (port denied)" },
	{ u_outb_dx, "out dx, al (port denied)" },
	{ u_inw_straddle, "in ax, dx: second port denied" },
	{ u_inl_straddle, "in eax, dx: last port denied" },
	{ u_in_beyond, "in al, dx: bitmap byte beyond the TSS limit" },
	{ u_ins, "rep insb (port denied)" }, { u_outs, "rep outsb (port denied)" },
};

static uint32_t u_rdtsc_ok(void)
{
	uint32_t lo, hi;
	asm volatile(ST_ARM "8: rdtsc" ST_DISARM : "=a"(lo), "=d"(hi) :: "memory");
	return lo | hi;
}

static uint32_t u_io_ok(void)
{
	asm volatile(ST_ARM "movl $0x2F0, %%edx\n\tinb %%dx, %%al\n\t"
		     "movl $0x2E7, %%edx\n\tinw %%dx, %%ax\n\t"        /* two bitmap bytes */
		     "movl $0x2EC, %%edx\n\tinb %%dx, %%al\n\t"
		     "movl $0x3FF, %%edx\n\tmovb $0x5A, %%al\n\toutb %%al, %%dx\n\t"
		     "movb $0, %%al\n\tinb %%dx, %%al\n\tmovzbl %%al, %%eax\n\tmovl %%eax, u_v+16\n\t"
		     "movl $0x2F0, %%edx\n\tmovl $u_v, %%edi\n\tmovl $2, %%ecx\n\tcld\n\trep insb\n\t"
		     "movl %%ecx, u_v+20" ST_DISARM ::: "eax", "ecx", "edx", "edi", "memory");
	return 0;
}

static uint32_t u_io_iopl3(void)
{
	uint32_t v, f0, f1;
	asm volatile(ST_ARM "inb $0x21, %%al\n\toutb %%al, $0x21\n\tmovzbl %%al, %0\n\t"
		     "movl $0x400, %%edx\n\tinb %%dx, %%al\n\t"
		     "cli\n\tpushfl\n\tpopl %1\n\tsti\n\tpushfl\n\tpopl %2\n\tcli" ST_DISARM
		     : "=r"(v), "=r"(f0), "=r"(f1) :: "eax", "edx", "memory");
	u_v[1] = f0;
	u_v[2] = f1;
	return v;
}

static void privileged_tests(void)
{
	char name[96];
	asm volatile("mov %%cr0, %0; mov %%cr3, %1; mov %%cr4, %2" : "=r"(k_cr0), "=r"(k_cr3), "=r"(k_cr4));
	pv_sgdt(&k_gdtr);
	pv_sidt(&u_dtr[1]);
	memset(tss_io.map, 0xFF, sizeof(tss_io.map));
	io_allow(0x2E7, 1);
	io_allow(0x2E8, 1);
	io_allow(0x2EC, 1);
	io_allow(0x2ED, 1);
	io_allow(0x2EE, 1);
	io_allow(0x2F0, 1);
	io_allow(0x2F1, 1);
	io_allow(0x3FF, 1);
	for (unsigned i = 0; i < ARRAY_SIZE(privileged); i++) {
		u_at = 0;
		u_run(privileged[i].name, privileged[i].fn, 0x2);
		ksnprintf(name, sizeof(name), "CPL 3: %s raises #GP(0)", privileged[i].name);
		st_ufault(name, 13, 0, u_at);
	}
	u_run("", u_outs_regs, 0x2);
	st_check(trap_last.count == 1 && u_v[0] == 3 && u_v[1] == (uint32_t)&k_cr0,
		 "CPL 3: a rep outsb denied by the bitmap leaves ECX and ESI", "ecx %u esi 0x%x",
		 u_v[0], u_v[1]);

	u_run("", u_io_ok, 0x2);
	st_check(trap_last.count == 0 && u_v[4] == 0x5A && u_v[5] == 0,
		 "CPL 3 IOPL 0: in/out/ins on ports the bitmap allows", "exceptions %u vector %d scr 0x%x ecx %u at %x",
		 trap_last.count, trap_last.vector, u_v[4], u_v[5], trap_last.eip);
	trap_reset();
	ring3_call(u_io_iopl3, 0x3002, 0);
	st_check(trap_last.count == 0 && !(u_v[1] & EFLAGS_IF) && (u_v[2] & EFLAGS_IF),
		 "CPL 3 IOPL 3: any port, cli and sti work", "exceptions %u vector %d flags %x %x",
		 trap_last.count, trap_last.vector, u_v[1], u_v[2]);

	trap_reset();
	ring3_call(u_rdtsc_ok, 0x2, 0);
	st_nofault("CPL 3: rdtsc with CR4.TSD=0 works");
	uint32_t cr4 = pv_read_cr4();
	pv_write_cr4(cr4 | CR4_TSD);
	trap_reset();
	u_at = 0;
	ring3_call(u_rdtsc, 0x2, 0);
	pv_write_cr4(cr4);
	st_ufault("CPL 3: rdtsc with CR4.TSD=1 raises #GP(0)", 13, 0, u_at);
	pv_write_cr4(cr4 | CR4_TSD);
	trap_reset();
	asm volatile(ST_ARM "8: rdtsc" ST_DISARM ::: "eax", "edx", "memory");
	pv_write_cr4(cr4);
	st_nofault("CPL 0: rdtsc with CR4.TSD=1 works");
}

/* --- sensitive but unprivileged: the guest's own state at CPL 3 ------------------------ */

static uint32_t u_tables(void)
{
	uint16_t ldtr, tr, msw, msw_m = 0;
	asm volatile("sgdt u_dtr\n\tsidt u_dtr+6\n\tsldt %0\n\tstr %1\n\tsmsw %2\n\tsmsw %3"
		     : "=r"(ldtr), "=r"(tr), "=r"(msw), "=m"(msw_m) :: "memory");
	u_v[0] = ldtr;
	u_v[1] = tr;
	u_v[2] = msw;
	u_v[3] = msw_m;
	return 0;
}

static void tables_tests(void)
{
	struct pv_dtr g, i;
	pv_sgdt(&g);
	pv_sidt(&i);
	ldt[1] = seg_desc(0, 0xFFFFF, 0xF3, 0xC);
	pv_lldt(SEL_LDT);
	memset(u_dtr, 0, sizeof(u_dtr));
	u_run("", u_tables, 0x2);
	pv_lldt(0);
	st_check(trap_last.count == 0 && u_dtr[0].base == g.base && u_dtr[0].limit == g.limit,
		 "CPL 3: sgdt returns the guest's GDTR", "base 0x%x limit 0x%x", u_dtr[0].base, u_dtr[0].limit);
	st_check(u_dtr[1].base == i.base && u_dtr[1].limit == i.limit,
		 "CPL 3: sidt returns the guest's IDTR", "base 0x%x limit 0x%x", u_dtr[1].base, u_dtr[1].limit);
	st_eq("CPL 3: sldt returns the guest's LDTR", u_v[0], SEL_LDT);
	st_eq("CPL 3: str returns the guest's TR", u_v[1], SEL_TSS3);
	st_eq("CPL 3: smsw r16 returns the low word of CR0", u_v[2], pv_read_cr0() & 0xFFFF);
	st_eq("CPL 3: smsw m16 returns the low word of CR0", u_v[3], pv_read_cr0() & 0xFFFF);
}

/* PUSHF; POPF of v; PUSHF; POPFW of v; PUSHF. */
static uint32_t u_flags(void)
{
	uint32_t f0, f1, f2, v = u_v[7];
	asm volatile("pushfl\n\tpopl %0\n\tpushl %3\n\tpopfl\n\tpushfl\n\tpopl %1\n\t"
		     "pushw %w3\n\tpopfw\n\tpushfl\n\tpopl %2"
		     : "=&r"(f0), "=&r"(f1), "=&r"(f2) : "r"(v) : "cc", "memory");
	u_v[0] = f0;
	u_v[1] = f1;
	u_v[2] = f2;
	return 0;
}

static uint32_t u_iret_same(void)
{
	uint32_t f;
	asm volatile("pushl %1\n\tpushl %%cs\n\tpushl $1f\n\tiret\n1:\tpushfl\n\tpopl %0"
		     : "=r"(f) : "r"(u_v[7]) : "cc", "memory");
	u_v[0] = f;
	return 0;
}

static uint32_t u_iret_inner(void)
{
	asm volatile(ST_ARM "pushfl\n\tpushl $0x08\n\tpushl $1f\n8:\tiret\n1:\tnop" ST_DISARM
		     "addl $12, %%esp\n\tmovl $8b, u_at" ::: "memory");
	return 0;
}

static void flags_tests(void)
{
	const uint32_t IFL = EFLAGS_IF | EFLAGS_IOPL;
	u_v[7] = 0x3000 | EFLAGS_CF | 2;           /* IF=0, IOPL=3, CF=1 */
	u_run("", u_flags, 0x202);
	st_check(trap_last.count == 0 && (u_v[0] & IFL) == EFLAGS_IF,
		 "CPL 3 IOPL 0: pushf shows IF=1 and IOPL 0", "eflags 0x%x", u_v[0]);
	st_check((u_v[1] & IFL) == EFLAGS_IF && (u_v[1] & EFLAGS_CF),
		 "CPL 3 IOPL 0: popf silently keeps IF and IOPL, loads CF", "eflags 0x%x", u_v[1]);
	st_check((u_v[2] & IFL) == EFLAGS_IF && (u_v[2] & EFLAGS_CF),
		 "CPL 3 IOPL 0: popfw silently keeps IF and IOPL", "eflags 0x%x", u_v[2]);
	u_v[7] = 0x1000 | 2;                        /* IF=0, IOPL=1 */
	u_run("", u_flags, 0x3202);
	st_check(trap_last.count == 0 && (u_v[0] & IFL) == (EFLAGS_IF | 0x3000),
		 "CPL 3 IOPL 3: pushf shows IF=1 and IOPL 3", "eflags 0x%x", u_v[0]);
	st_eq("CPL 3 IOPL 3: popf changes IF but never IOPL", u_v[1] & IFL, 0x3000);
	u_v[7] = 0x202;
	u_run("", u_flags, 0x3002);
	st_eq("CPL 3 IOPL 3: popfw sets IF, keeps IOPL", u_v[2] & IFL, 0x3000 | EFLAGS_IF);
	u_v[7] = 0x30002 | EFLAGS_ZF;                /* VM and RF: never set by POPF */
	u_run("", u_flags, 0x2);
	st_check((u_v[1] & (EFLAGS_VM | EFLAGS_RF)) == 0 && (u_v[1] & EFLAGS_ZF),
		 "CPL 3: popf never sets VM or RF", "eflags 0x%x", u_v[1]);

	u_v[7] = 0x3002 | EFLAGS_OF;                /* IF=0, IOPL=3 */
	u_run("", u_iret_same, 0x202);
	st_check(trap_last.count == 0 && (u_v[0] & IFL) == EFLAGS_IF && (u_v[0] & EFLAGS_OF),
		 "CPL 3 IOPL 0: iret to CPL 3 keeps IF and IOPL, loads OF", "eflags 0x%x", u_v[0]);
	u_v[7] = 0x1002;
	u_run("", u_iret_same, 0x3202);
	st_eq("CPL 3 IOPL 3: iret to CPL 3 changes IF but not IOPL", u_v[0] & IFL, 0x3000);
	u_at = 0;
	u_run("", u_iret_inner, 0x2);
	st_ufault("CPL 3: iret to a CPL-0 code segment raises #GP(selector)", 13, SEL_KCODE, u_at);
}

/* LAR/LSL/VERR/VERW at CPL 3: u_v[0] = selector in, results out. */
static uint32_t u_lar(void)
{
	uint32_t v = 0xDEADDEAD, sel = u_v[0];
	uint8_t z;
	asm volatile("larl %2, %0\n\tsetz %1" : "+r"(v), "=q"(z) : "r"(sel) : "cc");
	u_v[1] = z;
	u_v[2] = v;
	v = 0xDEADDEAD;
	asm volatile("lsll %2, %0\n\tsetz %1" : "+r"(v), "=q"(z) : "r"(sel) : "cc");
	u_v[3] = z;
	u_v[4] = v;
	asm volatile("verr %w1\n\tsetz %0" : "=q"(z) : "r"(sel) : "cc");
	u_v[5] = z;
	asm volatile("verw %w1\n\tsetz %0" : "=q"(z) : "r"(sel) : "cc");
	u_v[6] = z;
	return 0;
}

static void lar_tests(void)
{
	static const struct {
		uint16_t sel;
		uint8_t lar, lsl, verr, verw;
		uint32_t ar, limit;
		const char *what;
	} t[] = {
		{ USEL_CODE, 1, 1, 1, 0, 0x00C0FB00, 0xFFFFFFFF, "DPL-3 code" },
		{ USEL_DATA, 1, 1, 1, 1, 0x00C0F300, 0xFFFFFFFF, "DPL-3 data" },
		{ SEL_UDATA, 1, 1, 1, 1, 0x00C0F300, 0xFFFFFFFF, "DPL-3 data with RPL 0" },
		{ SEL_KCODE | 3, 0, 0, 0, 0, 0, 0, "DPL-0 code" },
		{ SEL_KDATA, 0, 0, 0, 0, 0, 0, "DPL-0 data (RPL 0)" },
		{ SEL_CONF | 3, 1, 1, 1, 0, 0x00C09F00, 0xFFFFFFFF, "DPL-0 conforming code" },
		{ SEL_TSS, 0, 0, 0, 0, 0, 0, "a DPL-0 TSS" },
		{ SEL_UGATE | 3, 1, 0, 0, 0, 0x0000EC00, 0, "a DPL-3 call gate" },
		{ SEL_CGATE | 3, 0, 0, 0, 0, 0, 0, "a DPL-0 call gate" },
		{ 0x3FB, 0, 0, 0, 0, 0, 0, "a selector beyond the GDT" },
	};
	char name[96];
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
		u_v[0] = t[i].sel;
		u_run("", u_lar, 0x2);
		int ok = trap_last.count == 0 && u_v[1] == t[i].lar && u_v[3] == t[i].lsl &&
			 u_v[5] == t[i].verr && u_v[6] == t[i].verw &&
			 (!t[i].lar || (u_v[2] & 0x00F0FF00) == t[i].ar) &&
			 (!t[i].lsl || u_v[4] == t[i].limit);
		ksnprintf(name, sizeof(name), "CPL 3: lar/lsl/verr/verw of %s: %d%d%d%d", t[i].what,
			  t[i].lar, t[i].lsl, t[i].verr, t[i].verw);
		st_check(ok, name, "ZF %u %u %u %u ar 0x%x limit 0x%x exceptions %u", u_v[1], u_v[3],
			 u_v[5], u_v[6], u_v[2], u_v[4], trap_last.count);
	}
}

/* --- segment registers at CPL 3 --------------------------------------------------------- */

static uint32_t u_sreg_read(void)
{
	uint32_t cs = 0xFFFFFFFF, ss, e0, e1, lo;
	asm volatile("movl %%cs, %0\n\tmovw %%ss, %w1" : "+r"(cs), "=r"(ss));
	asm volatile("movl %%esp, %0\n\tpushl %%cs\n\tmovl %%esp, %1\n\tmovl (%%esp), %2\n\tpopl %%es"
		     : "=&r"(e0), "=&r"(e1), "=&r"(lo) :: "memory");
	u_v[0] = cs;
	u_v[1] = ss & 0xFFFF;
	u_v[2] = e0 - e1;
	u_v[3] = lo;
	return 0;
}

/* Load u_v[0] into the register u_v[1] names (0 ES, 1 SS, 2 by POP ES, 3 by POP SS, 4 by
 * LFS, 5 by LSS); u_v[2] = the register afterwards. */
static uint32_t u_sreg_load(void)
{
	uint32_t sel = u_v[0], how = u_v[1], after = 0;
	static struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp;
	fp.off = 0;
	fp.sel = (uint16_t)sel;
	switch (how) {
	case 0:
		asm volatile(ST_ARM "8: movw %w1, %%es" ST_DISARM "movl $8b, u_at\n\tmovl %%es, %0\n\t"
			     "movw %w2, %%es" : "=&r"(after) : "r"(sel), "r"(USEL_DATA) : "memory");
		break;
	case 1:
		asm volatile(ST_ARM "8: movw %w1, %%ss" ST_DISARM "movl $8b, u_at\n\tmovl %%ss, %0\n\t"
			     "movw %w2, %%ss" : "=&r"(after) : "r"(sel), "r"(USEL_DATA) : "memory");
		break;
	case 2:
		asm volatile("movl %%esp, %%edx\n\tpushl %1\n\t" ST_ARM "8: popl %%es" ST_DISARM "movl $8b, u_at\n\t"
			     "movl %%es, %0\n\tmovw %w2, %%es\n\tmovl %%edx, %%esp"
			     : "=&r"(after) : "r"(sel), "r"(USEL_DATA) : "edx", "memory");
		break;
	case 3:
		asm volatile("movl %%esp, %%edx\n\tpushl %1\n\t" ST_ARM "8: popl %%ss" ST_DISARM "movl $8b, u_at\n\t"
			     "movl %%ss, %0\n\tmovw %w2, %%ss\n\tmovl %%edx, %%esp"
			     : "=&r"(after) : "r"(sel), "r"(USEL_DATA) : "edx", "memory");
		break;
	case 4:
		asm volatile(ST_ARM "8: lfs %1, %%eax" ST_DISARM "movl $8b, u_at\n\tmovl %%fs, %0\n\t"
			     "movw %w2, %%fs" : "=&r"(after) : "m"(fp), "r"(USEL_DATA) : "eax", "memory");
		break;
	default:
		asm volatile("movl %%esp, %%eax\n\tmovl %%esp, %1\n\t" ST_ARM "8: lss %1, %%esp" ST_DISARM
			     "movl $8b, u_at\n\tmovl %%ss, %0\n\tmovw %w2, %%ss\n\tmovl %%eax, %%esp"
			     : "=&r"(after), "+m"(fp) : "r"(USEL_DATA) : "eax", "memory");
		break;
	}
	u_v[2] = after;
	return 0;
}

static void sreg_load(const char *name, uint16_t sel, int how, int vector, int32_t err, uint32_t want)
{
	u_v[0] = sel;
	u_v[1] = (uint32_t)how;
	u_v[2] = 0xFFFF;
	u_at = 0;
	u_run(name, u_sreg_load, 0x2);
	if (vector < 0)
		st_check(trap_last.count == 0 && u_v[2] == want, name, "exceptions %u vector %d error 0x%x; reg 0x%x",
			 trap_last.count, trap_last.vector, trap_last.err, u_v[2]);
	else
		st_ufault(name, vector, err, u_at);
}

static void sreg_tests(void)
{
	u_run("", u_sreg_read, 0x2);
	st_check(u_v[0] == USEL_CODE && u_v[1] == USEL_DATA, "CPL 3: mov r32, cs and mov r16, ss",
		 "cs 0x%x ss 0x%x", u_v[0], u_v[1]);
	st_check(u_v[2] == 4 && (u_v[3] & 0xFFFF) == USEL_CODE, "CPL 3: push cs; pop es of a code selector",
		 "esp -%u value 0x%x exceptions %u", u_v[2], u_v[3], trap_last.count);
	gdt[SEL_UDATA16 / 8] = seg_desc(0, 0xFFFFF, 0x73, 0xC);    /* DPL 3, P = 0 */
	sreg_load("CPL 3: mov es, DPL-3 data", USEL_DATA, 0, -1, 0, USEL_DATA);
	sreg_load("CPL 3: mov es, DPL-3 data with RPL 0", SEL_UDATA, 0, -1, 0, SEL_UDATA);
	sreg_load("CPL 3: mov es, the null selector", 3, 0, -1, 0, 3);
	sreg_load("CPL 3: mov es, conforming readable code", SEL_CONF | 3, 0, -1, 0, SEL_CONF | 3);
	sreg_load("CPL 3: mov es, DPL-0 data: #GP(selector)", SEL_KDATA | 3, 0, 13, SEL_KDATA, 0);
	sreg_load("CPL 3: mov es, DPL-0 code: #GP(selector)", SEL_KCODE | 3, 0, 13, SEL_KCODE, 0);
	sreg_load("CPL 3: mov es, DPL-0 not-present data: #GP(selector) before #NP", SEL_TNP | 3, 0, 13, SEL_TNP, 0);
	sreg_load("CPL 3: mov es, DPL-3 not-present data: #NP(selector)", SEL_UDATA16 | 3, 0, 11, SEL_UDATA16, 0);
	sreg_load("CPL 3: mov es, the TSS: #GP(selector)", SEL_TSS3 | 3, 0, 13, SEL_TSS3, 0);
	sreg_load("CPL 3: mov ss, DPL-3 data with RPL 3", USEL_DATA, 1, -1, 0, USEL_DATA);
	sreg_load("CPL 3: mov ss, RPL 0: #GP(selector)", SEL_UDATA, 1, 13, SEL_UDATA, 0);
	sreg_load("CPL 3: mov ss, DPL-0 data: #GP(selector)", SEL_KDATA | 3, 1, 13, SEL_KDATA, 0);
	sreg_load("CPL 3: mov ss, the null selector: #GP(0)", 3, 1, 13, 0, 0);
	sreg_load("CPL 3: mov ss, DPL-3 not-present data: #SS(selector)", SEL_UDATA16 | 3, 1, 12, SEL_UDATA16, 0);
	sreg_load("CPL 3: pop es, DPL-3 data", USEL_DATA, 2, -1, 0, USEL_DATA);
	sreg_load("CPL 3: pop es, DPL-0 data: #GP(selector)", SEL_KDATA, 2, 13, SEL_KDATA, 0);
	sreg_load("CPL 3: pop ss, DPL-3 data", USEL_DATA, 3, -1, 0, USEL_DATA);
	sreg_load("CPL 3: pop ss, DPL-0 data: #GP(selector)", SEL_KDATA, 3, 13, SEL_KDATA, 0);
	sreg_load("CPL 3: lfs, DPL-3 data", USEL_DATA, 4, -1, 0, USEL_DATA);
	sreg_load("CPL 3: lfs, DPL-0 data: #GP(selector)", SEL_KDATA, 4, 13, SEL_KDATA, 0);
	sreg_load("CPL 3: lss, DPL-3 data", USEL_DATA, 5, -1, 0, USEL_DATA);
	sreg_load("CPL 3: lss, DPL-0 data: #GP(selector)", SEL_KDATA, 5, 13, SEL_KDATA, 0);
	gdt[SEL_UDATA16 / 8] = seg_desc(0, 0xFFFFF, 0xF3, 0xC);
}

/* --- far transfers at CPL 3 ------------------------------------------------------------- */

asm(".text\n"
    "u_far_target:\n\tmovl %cs, %eax\n\tlret\n");
extern char u_far_target[];

/* u_v[0] selector, u_v[1] offset, u_v[2] kind (0 jmp, 1 call, 2 ret); u_v[3] = CS seen. */
static uint32_t u_far(void)
{
	static struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp;
	uint32_t cs = 0, kind = u_v[2];
	fp.off = u_v[1];
	fp.sel = (uint16_t)u_v[0];
	if (kind == 0)
		asm volatile(ST_ARM "movl $1f, %1\n8:\tljmp *%1\n1:\tmovl %%cs, %0\n\tljmp $0x1b, $2f\n2:"
			     ST_DISARM "movl $8b, u_at" : "=&r"(cs), "+m"(fp) :: "memory");
	else if (kind == 1)
		asm volatile(ST_ARM "8: lcall *%1" ST_DISARM "movl $8b, u_at" : "=a"(cs) : "m"(fp) : "memory");
	else
		asm volatile("movl %%esp, %%edx\n\t" ST_ARM "pushl %2\n\tpushl $1f\n8:\tlret\n1:\tmovl %%cs, %0"
			     ST_DISARM "movl $8b, u_at\n\tmovl %%edx, %%esp\n\tljmp $0x1b, $2f\n2:"
			     : "=&r"(cs) : "m"(fp), "r"(u_v[0]) : "edx", "memory");
	u_v[3] = cs;
	return 0;
}

static void far_case(const char *name, int kind, uint16_t sel, uint32_t off, int vector, int32_t err,
		     uint32_t want_cs)
{
	u_v[0] = sel;
	u_v[1] = off;
	u_v[2] = (uint32_t)kind;
	u_v[3] = 0;
	u_at = 0;
	u_run(name, u_far, 0x2);
	if (vector < 0)
		st_check(trap_last.count == 0 && u_v[3] == want_cs, name,
			 "exceptions %u vector %d error 0x%x; cs 0x%x", trap_last.count, trap_last.vector,
			 trap_last.err, u_v[3]);
	else
		st_ufault(name, vector, err, u_at);
}

/* Ring-0 target of a call gate from CPL 3: record CS SS ESP and the 6 dwords of the frame
 * (EIP CS p0 p1 ESP SS), return with lret $8 (the parameters go on both stacks). */
uint32_t k_gate_seen[9];
asm(".text\n"
    "k_gate_target:\n\t"
    "movl %cs, %eax\n\tmovl %eax, %ss:k_gate_seen\n\t"
    "movl %ss, %eax\n\tmovl %eax, %ss:k_gate_seen+4\n\t"
    "movl %esp, %ss:k_gate_seen+8\n\t"
    "pushl %esi\n\tpushl %edi\n\tpushl %ecx\n\t"
    "leal 12(%esp), %esi\n\tmovl $k_gate_seen+12, %edi\n\tmovl $6, %ecx\n\t"
    "1:\tmovl %ss:(%esi), %eax\n\tmovl %eax, %ss:(%edi)\n\taddl $4, %esi\n\taddl $4, %edi\n\tloop 1b\n\t"
    "popl %ecx\n\tpopl %edi\n\tpopl %esi\n\t"
    "lret $8\n");
extern char k_gate_target[];

static uint32_t u_gate_call(void)
{
	uint32_t e0, e1, e2, cs;
	asm volatile("movl %%esp, %0\n\tpushl $0x22222222\n\tpushl $0x11111111\n\tmovl %%esp, %1\n\t"
		     "lcall $0x9B, $0\n\tmovl %%esp, %2\n\tmovl %%cs, %3\n\tmovl %0, %%esp"
		     : "=&r"(e0), "=&r"(e1), "=&r"(e2), "=&r"(cs) :: "eax", "memory");
	u_v[0] = e0;
	u_v[1] = e1;
	u_v[2] = e2;
	u_v[3] = cs;
	return 0;
}

static void gate_inner_test(void)
{
	uint64_t ugate = gdt[SEL_UGATE / 8];
	uint32_t tgt = (uint32_t)k_gate_target;
	gdt[SEL_UGATE / 8] = (uint64_t)((tgt & 0xFFFF0000u) | 0xEC02u) << 32 |   /* 2 dwords */
			     ((uint32_t)SEL_KCODE << 16 | (tgt & 0xFFFF));
	memset(k_gate_seen, 0, sizeof(k_gate_seen));
	u_run("", u_gate_call, 0x2);
	gdt[SEL_UGATE / 8] = ugate;
	const uint32_t *k = k_gate_seen, top = (uint32_t)ring3_kstack_top;
	st_check(trap_last.count == 0 && k[0] == SEL_KCODE && k[1] == SEL_KDATA && k[2] == top - 24,
		 "CPL 3: far call through a DPL-3 call gate to DPL-0 code switches to SS0:ESP0",
		 "exceptions %u vector %d error 0x%x; cs 0x%x ss 0x%x esp 0x%x", trap_last.count,
		 trap_last.vector, trap_last.err, k[0], k[1], k[2]);
	st_check(k[4] == USEL_CODE && k[5] == 0x11111111 && k[6] == 0x22222222 && k[7] == u_v[1] &&
		 k[8] == USEL_DATA, "CPL 3: the inner stack holds SS, ESP, 2 copied parameters, CS, EIP",
		 "%x %x %x %x %x %x", k[3], k[4], k[5], k[6], k[7], k[8]);
	st_check(u_v[3] == USEL_CODE && u_v[2] == u_v[0], "CPL 3: lret $8 from the gate's target returns to CPL 3",
		 "cs 0x%x esp 0x%x want 0x%x", u_v[3], u_v[2], u_v[0]);
}

static void far_tests(void)
{
	uint32_t tgt = (uint32_t)u_far_target;
	uint64_t ugate = gdt[SEL_UGATE / 8];
	far_case("CPL 3: far jmp to DPL-3 code", 0, USEL_CODE, 0, -1, 0, USEL_CODE);
	far_case("CPL 3: far jmp to conforming DPL-0 code keeps CPL 3", 0, SEL_CONF | 3, 0, -1, 0, SEL_CONF | 3);
	far_case("CPL 3: far jmp to DPL-0 code: #GP(selector)", 0, SEL_KCODE, 0, 13, SEL_KCODE, 0);
	far_case("CPL 3: far jmp to DPL-0 code with RPL 3: #GP(selector)", 0, SEL_KCODE | 3, 0, 13, SEL_KCODE, 0);
	far_case("CPL 3: far jmp to DPL-0 data: #GP(selector)", 0, SEL_KDATA | 3, 0, 13, SEL_KDATA, 0);
	far_case("CPL 3: far call to DPL-3 code", 1, USEL_CODE, tgt, -1, 0, USEL_CODE);
	far_case("CPL 3: far call to conforming DPL-0 code runs at CPL 3", 1, SEL_CONF | 3, tgt, -1, 0, SEL_CONF | 3);
	far_case("CPL 3: far call to DPL-0 code: #GP(selector)", 1, SEL_KCODE | 3, tgt, 13, SEL_KCODE, 0);
	far_case("CPL 3: far call through a DPL-0 call gate: #GP(gate)", 1, SEL_CGATE | 3, 0, 13, SEL_CGATE, 0);
	gdt[SEL_UGATE / 8] = (uint64_t)((tgt & 0xFFFF0000u) | 0xEC00u) << 32 |
			     ((uint32_t)USEL_CODE << 16 | (tgt & 0xFFFF));
	far_case("CPL 3: far call through a DPL-3 call gate to DPL-3 code", 1, SEL_UGATE | 3, 0, -1, 0, USEL_CODE);
	gdt[SEL_UGATE / 8] = (uint64_t)((tgt & 0xFFFF0000u) | 0xEC00u) << 32 |
			     ((uint32_t)SEL_KCODE << 16 | (tgt & 0xFFFF));
	far_case("CPL 3: far jmp through a DPL-3 call gate to DPL-0 code: #GP(code selector)", 0,
		 SEL_UGATE | 3, 0, 13, SEL_KCODE, 0);
	gdt[SEL_UGATE / 8] = ugate;
	far_case("CPL 3: far ret to DPL-3 code", 2, USEL_CODE, 0, -1, 0, USEL_CODE);
	far_case("CPL 3: far ret to CPL 0: #GP(selector)", 2, SEL_KCODE, 0, 13, SEL_KCODE, 0);
	far_case("CPL 3: far ret to DPL-0 code with RPL 3: #GP(selector)", 2, SEL_KCODE | 3, 0, 13, SEL_KCODE, 0);
	gate_inner_test();
}

/* --- software interrupts and exceptions from CPL 3 --------------------------------------- */

static uint32_t u_int_user(void)
{
	uint32_t esp, after;
	if (u_v[2])
		asm volatile("movl %%esp, %0\n\tint $0x44\n1:\tmovl $1b, %1" : "=&r"(esp), "=r"(after) :: "memory");
	else
		asm volatile("movl %%esp, %0\n\tint $0x43\n1:\tmovl $1b, %1" : "=&r"(esp), "=r"(after) :: "memory");
	u_v[0] = esp;
	u_v[1] = after;
	return 0;
}

#define UEXC(fn, setup, insn)                                                              \
	static uint32_t fn(void)                                                            \
	{                                                                                   \
		asm volatile(setup "\n\t" ST_ARM "8: " insn ST_DISARM "movl $8b, u_at\n\t"  \
			     "movl $9b, u_v+28" ::: "eax", "ecx", "edx", "memory", "cc");    \
		return 0;                                                                   \
	}

UEXC(u_int_k, "", "int $0x40")
UEXC(u_int_np, "", "int $0x42")
UEXC(u_int3, "", "int3")
UEXC(u_int_3, "", ".byte 0xCD, 0x03")
UEXC(u_into, "movb $0x7F, %%al; addb $1, %%al", "into")
UEXC(u_into_nof, "movb $0x10, %%al; addb $1, %%al", "into")
UEXC(u_bound, "movl $21, %%eax", "boundl %%eax, u_bounds")
UEXC(u_ud2, "", "ud2")
UEXC(u_div0, "xorl %%ecx, %%ecx; movl $1, %%eax; xorl %%edx, %%edx", "divl %%ecx")
UEXC(u_gp_write, "", "movl $0, %%cs:u_at")
UEXC(u_icebp, "", ".byte 0xF1")
const int32_t u_bounds[2] = { -5, 20 };

static void int_tests(void)
{
	u_v[2] = 0;
	u_run("", u_int_user, 0x202);
	st_check(trap_last.count == 1 && trap_last.vector == VEC_USER_INT && trap_last.eip == u_v[1] &&
		 trap_last.cs == USEL_CODE, "CPL 3: int n through a DPL-3 interrupt gate saves CS:EIP after it",
		 "count %u vector %d at %x:%x", trap_last.count, trap_last.vector, trap_last.cs, trap_last.eip);
	st_check(trap_last.ss == USEL_DATA && trap_last.esp == u_v[0],
		 "CPL 3: the handler finds SS:ESP of CPL 3 on its stack", "ss:esp %x:%x want %x", trap_last.ss,
		 trap_last.esp, u_v[0]);
	st_eq("CPL 3: the handler runs on SS0:ESP0 of the TSS", trap_last.frame_end, (uint32_t)ring3_kstack_top);
	st_check((trap_last.eflags & EFLAGS_IF) && !(trap_last.handler_eflags & EFLAGS_IF),
		 "CPL 3: an interrupt gate saves IF=1 and clears it", "saved 0x%x handler 0x%x",
		 trap_last.eflags, trap_last.handler_eflags);
	u_v[2] = 1;
	u_run("", u_int_user, 0x202);
	st_check(trap_last.count == 1 && trap_last.vector == VEC_USER_TRAP &&
		 (trap_last.handler_eflags & EFLAGS_IF) && trap_last.ss == USEL_DATA,
		 "CPL 3: int n through a DPL-3 trap gate keeps IF", "count %u vector %d eflags 0x%x",
		 trap_last.count, trap_last.vector, trap_last.handler_eflags);

	u_run("", u_int_k, 0x2);
	st_ufault("CPL 3: int n through a DPL-0 gate raises #GP(n*8+2)", 13, VEC_TEST_INT * 8 + 2, u_at);
	u_run("", u_int_np, 0x2);
	st_ufault("CPL 3: int n, DPL-0 not-present gate: #GP(n*8+2) before #NP", 13, VEC_TEST_NP * 8 + 2, u_at);
	u_run("", u_int3, 0x2);
	st_ufault("CPL 3: int3 through a DPL-0 gate raises #GP(3*8+2)", 13, 3 * 8 + 2, u_at);
	u_run("", u_int_3, 0x2);
	st_ufault("CPL 3: int 3 (CD 03) through a DPL-0 gate raises #GP(3*8+2)", 13, 3 * 8 + 2, u_at);
	u_run("", u_into, 0x2);
	st_ufault("CPL 3: into (OF=1) through a DPL-0 gate raises #GP(4*8+2)", 13, 4 * 8 + 2, u_at);
	uint64_t g3 = idt[3], g4 = idt[4];
	idt_set_gate(3, (uint32_t)isr_stubs + 16 * 3, 0xEE);
	idt_set_gate(4, (uint32_t)isr_stubs + 16 * 4, 0xEE);
	u_run("", u_int3, 0x2);
	st_ufault("CPL 3: int3 through a DPL-3 gate: #BP with the EIP after it", 3, NO_ERR, u_v[7]);
	u_run("", u_int_3, 0x2);
	st_ufault("CPL 3: int 3 (CD 03) through a DPL-3 gate: #BP", 3, NO_ERR, u_v[7]);
	u_run("", u_into, 0x2);
	st_ufault("CPL 3: into (OF=1) through a DPL-3 gate: #OF with the EIP after it", 4, NO_ERR, u_v[7]);
	u_run("", u_into_nof, 0x2);
	st_nofault("CPL 3: into with OF=0 does nothing");
	idt[3] = g3;
	idt[4] = g4;
	/* Exceptions the CPU raises are not subject to the gate DPL (all gates here are DPL 0). */
	u_run("", u_bound, 0x2);
	st_ufault("CPL 3: bound out of range raises #BR through a DPL-0 gate", 5, NO_ERR, u_at);
	u_run("", u_ud2, 0x2);
	st_ufault("CPL 3: ud2 raises #UD through a DPL-0 gate", 6, NO_ERR, u_at);
	u_run("", u_div0, 0x2);
	st_ufault("CPL 3: div by zero raises #DE through a DPL-0 gate", 0, NO_ERR, u_at);
	u_run("", u_gp_write, 0x2);
	if (trap_last.count == 0) {
		/* QEMU's TCG does not check segment types on data accesses (see st_seg.c). */
		st_deviation("a write through CS at CPL 3: no exception");
		st_check(1, "CPL 3: a write through CS raises #GP(0)", NULL);
	} else {
		st_ufault("CPL 3: a write through CS raises #GP(0)", 13, 0, u_at);
	}
	u_run("", u_icebp, 0x2);
	if (trap_last.count == 1 && trap_last.vector == 6 && trap_last.eip == u_at) {
		st_deviation("icebp (F1) at CPL 3 raises #UD instead of #DB");
		st_check(1, "CPL 3: icebp (F1) raises #DB through a DPL-0 gate (no DPL check)", NULL);
	} else {
		st_ufault("CPL 3: icebp (F1) raises #DB through a DPL-0 gate (no DPL check)", 1, NO_ERR, u_v[7]);
	}
}

/* --- SYSENTER / SYSEXIT ------------------------------------------------------------------ */

uint32_t k_sysenter_seen[4];
/* Ring-0 SYSENTER target: record CS, SS, ESP, EFLAGS; SYSEXIT to EDX with ESP = ECX. */
asm(".text\n"
    "k_sysenter_target:\n\t"
    "movl %cs, %eax\n\tmovl %eax, %ss:k_sysenter_seen\n\t"
    "movl %ss, %eax\n\tmovl %eax, %ss:k_sysenter_seen+4\n\t"
    "movl %esp, %ss:k_sysenter_seen+8\n\t"
    "pushfl\n\tpopl %ss:k_sysenter_seen+12\n\t"
    "sysexit\n");
extern char k_sysenter_target[], r3_sysenter_top[];

static uint32_t u_sysenter(void)
{
	uint32_t cs, ss;
	asm volatile("movl %%esp, %%ecx\n\tmovl $1f, %%edx\n\tsysenter\n1:\tmovl %%cs, %0\n\tmovl %%ss, %1"
		     : "=r"(cs), "=r"(ss) :: "ecx", "edx", "memory");
	u_v[0] = cs;
	u_v[1] = ss;
	return 0;
}

UEXC(u_sysenter_fault, "", "sysenter")

static void sysenter_tests(void)
{
	if (!(st_cpuid1_edx() & CPUID_SEP)) {
		st_note("CPUID lacks SEP: SYSENTER checks skipped");
		st_check(1, "CPL 3: sysenter enters CPL 0 with the MSRs' CS, SS, ESP; IF cleared", NULL);
		st_check(1, "CPL 3: sysexit returns to CPL 3 with CS and SS at SYSENTER_CS+16/+24", NULL);
		st_check(1, "CPL 3: sysenter with SYSENTER_CS = 0 raises #GP(0)", NULL);
		return;
	}
	pv_wrmsr(0x174, SEL_KCODE);
	pv_wrmsr(0x175, (uint32_t)r3_sysenter_top);
	pv_wrmsr(0x176, (uint32_t)k_sysenter_target);
	memset(k_sysenter_seen, 0, sizeof(k_sysenter_seen));
	u_run("", u_sysenter, 0x202);
	uint32_t *k = k_sysenter_seen;
	st_check(trap_last.count == 0 && k[0] == SEL_KCODE && k[1] == SEL_KDATA && k[2] == (uint32_t)r3_sysenter_top &&
		 !(k[3] & EFLAGS_IF), "CPL 3: sysenter enters CPL 0 with the MSRs' CS, SS, ESP; IF cleared",
		 "cs 0x%x ss 0x%x esp 0x%x eflags 0x%x exceptions %u", k[0], k[1], k[2], k[3], trap_last.count);
	st_check(u_v[0] == USEL_CODE && u_v[1] == USEL_DATA,
		 "CPL 3: sysexit returns to CPL 3 with CS and SS at SYSENTER_CS+16/+24", "cs 0x%x ss 0x%x",
		 u_v[0], u_v[1]);
	pv_wrmsr(0x174, 0);
	u_run("", u_sysenter_fault, 0x2);
	st_ufault("CPL 3: sysenter with SYSENTER_CS = 0 raises #GP(0)", 13, 0, u_at);
	pv_wrmsr(0x175, 0);
	pv_wrmsr(0x176, 0);
}

/* --- CPL-0 checks of the table's remaining instructions --------------------------------- */

static void cpl0_tests(void)
{
	uint32_t at, lo = 0x1234, hi = 0x5678;
	/* RDPMC: CPL 0 may read counters 0 and 1 of a P6; ECX out of range is #GP(0). */
	trap_reset();
	asm volatile(ST_ARM "8: rdpmc" ST_DISARM "movl $8b, %0" : "=r"(at), "+a"(lo), "+d"(hi) : "c"(0x1234) : "memory");
	if (trap_last.count == 1 && trap_last.vector == 6) {
		/* QEMU 7.2 (target/i386 helper_rdpmc) implements no counters: always #UD at CPL 0. */
		st_deviation("rdpmc at CPL 0 raises #UD instead of #GP(0) for a bad counter");
		st_check(1, "CPL 0: rdpmc of a counter that does not exist raises #GP(0)", NULL);
	} else {
		st_fault("CPL 0: rdpmc of a counter that does not exist raises #GP(0)", 13, 0, at);
	}
	trap_reset();
	asm volatile(ST_ARM "8: rdpmc" ST_DISARM "movl $8b, %0" : "=r"(at), "+a"(lo), "+d"(hi) : "c"(0) : "memory");
	if (trap_last.count == 1 && trap_last.vector == 6) {
		st_deviation("rdpmc of counter 0 at CPL 0 raises #UD");
		st_check(1, "CPL 0: rdpmc of counter 0 works", NULL);
	} else {
		st_nofault("CPL 0: rdpmc of counter 0 works");
	}

	/* Instructions an i686 without them must reject: #UD. */
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0x0F, 0x01, 0xF9" ST_DISARM "movl $8b, %0" : "=r"(at) :: "eax", "ecx", "edx", "memory");
	st_fault("CPL 0: rdtscp (not in CPUID) raises #UD", 6, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0x0F, 0x05" ST_DISARM "movl $8b, %0" : "=r"(at) :: "eax", "ecx", "edx", "memory");
	st_fault("CPL 0: syscall raises #UD", 6, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0x0F, 0x07" ST_DISARM "movl $8b, %0" : "=r"(at) :: "eax", "ecx", "edx", "memory");
	st_fault("CPL 0: sysret raises #UD", 6, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: rsm" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory");
	st_fault("CPL 0: rsm outside SMM raises #UD", 6, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0x0F, 0x20, 0xC8" ST_DISARM "movl $8b, %0" : "=r"(at) :: "eax", "memory");
	st_fault("CPL 0: mov eax, cr1 raises #UD", 6, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0x0F, 0x22, 0xE8" ST_DISARM "movl $8b, %0" : "=r"(at) :: "eax", "memory");
	st_fault("CPL 0: mov cr5, eax raises #UD", 6, NO_ERR, at);
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0x0F, 0x24, 0xF0" ST_DISARM "movl $8b, %0" : "=r"(at) :: "eax", "memory");
	st_fault("CPL 0: mov eax, tr6 (no test registers on P6) raises #UD", 6, NO_ERR, at);

	/* ICEBP (F1): #DB as a trap, no gate-DPL check. */
	uint32_t after;
	trap_reset();
	asm volatile(ST_ARM "8: .byte 0xF1" ST_DISARM "movl $9b, %0\n\tmovl $8b, %1"
		     : "=r"(after), "=r"(at) :: "memory");
	if (trap_last.count == 1 && trap_last.vector == 6 && trap_last.eip == at) {
		/* QEMU 7.2 decodes F1 only when built with WANT_ICEBP (translate.c): #UD. */
		st_deviation("icebp (F1) raises #UD instead of #DB");
		st_check(1, "CPL 0: icebp (F1) raises #DB with the EIP after it", NULL);
	} else {
		st_fault("CPL 0: icebp (F1) raises #DB with the EIP after it", 1, NO_ERR, after);
	}

	/* SYSENTER/SYSEXIT with IA32_SYSENTER_CS = 0: #GP(0). */
	if (st_cpuid1_edx() & CPUID_SEP) {
		pv_wrmsr(0x174, 0);
		trap_reset();
		asm volatile(ST_ARM "8: sysenter" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory");
		st_fault("CPL 0: sysenter with SYSENTER_CS = 0 raises #GP(0)", 13, 0, at);
		trap_reset();
		asm volatile(ST_ARM "8: sysexit" ST_DISARM "movl $8b, %0" : "=r"(at) :: "ecx", "edx", "memory");
		st_fault("CPL 0: sysexit with SYSENTER_CS = 0 raises #GP(0)", 13, 0, at);
	} else {
		st_note("CPUID lacks SEP: SYSENTER checks skipped");
		st_check(1, "CPL 0: sysenter with SYSENTER_CS = 0 raises #GP(0)", NULL);
		st_check(1, "CPL 0: sysexit with SYSENTER_CS = 0 raises #GP(0)", NULL);
	}
}

void st_group_ring3(void)
{
	ring3_begin();
	transitions();
	privileged_tests();
	tables_tests();
	flags_tests();
	lar_tests();
	sreg_tests();
	far_tests();
	int_tests();
	sysenter_tests();
	cpl0_tests();
	ring3_end();
}
