/*
 * st_seg.c - self test: segment registers (MOV/PUSH/POP, LDS..LSS), descriptor checks on
 * segment loads, non-zero segment bases through fs:/gs:, segment limits and types on data
 * accesses, and far transfers (far JMP/CALL/RET, a call gate) through a second code selector.
 */
#include "selftest.h"

static uint32_t segbuf[2048] __attribute__((aligned(4096)));

struct farptr {
	uint32_t off;
	uint16_t sel;
} __attribute__((packed));

static uint16_t get_fs(void) { uint16_t s; asm volatile("movw %%fs, %0" : "=r"(s)); return s; }
static void set_fs(uint16_t s) { asm volatile("movw %0, %%fs" :: "r"(s) : "memory"); }
static void set_gs(uint16_t s) { asm volatile("movw %0, %%gs" :: "r"(s) : "memory"); }

static void sreg_moves(void)
{
	uint32_t v = 0xFFFFFFFF;
	asm volatile("movl %%ds, %0" : "+r"(v));
	st_eq("mov r32, ds zero-extends the selector", v, SEL_KDATA);
	v = 0xFFFF1234;
	asm volatile(".byte 0x66, 0x8c, 0xd0" : "+a"(v));          /* mov %ss, %ax */
	st_eq("mov r16, ss keeps the upper half", v, 0xFFFF0000u | SEL_KDATA);
	v = 0xFFFFFFFF;
	asm volatile("movl %%ss, %0; movl %%cs, %0" : "+r"(v));
	st_eq("mov r32, cs after mov r32, ss", v, SEL_KCODE);
	uint16_t cs, ss, es;
	asm volatile("movw %%cs, %0; movw %%ss, %1; movw %%es, %2" : "=r"(cs), "=r"(ss), "=r"(es));
	st_check(cs == SEL_KCODE && ss == SEL_KDATA && es == SEL_KDATA, "mov r16 from cs, ss, es",
		 "cs 0x%x ss 0x%x es 0x%x", cs, ss, es);

	uint32_t e0, e1, lo;
	asm volatile("movl %%esp, %0\n\tpushl %%ds\n\tmovl %%esp, %1\n\tmovzwl (%%esp), %2\n\tpopl %%es"
		     : "=&r"(e0), "=&r"(e1), "=&r"(lo) :: "memory");
	asm volatile("movw %%es, %0" : "=r"(es));
	st_check(e0 - e1 == 4 && lo == SEL_KDATA && es == SEL_KDATA,
		 "push ds moves ESP by 4 and stores the selector; pop es", "esp -%u low 0x%x es 0x%x",
		 e0 - e1, lo, es);
	uint16_t fs, gs;
	asm volatile("pushl $0xABCD0038\n\tpopl %%fs\n\tmovw %%fs, %0\n\t"
		     "pushl %%fs\n\tpopl %%gs\n\tmovw %%gs, %1" : "=r"(fs), "=r"(gs) :: "memory");
	set_fs(SEL_KDATA);
	set_gs(SEL_KDATA);
	st_check(fs == SEL_KDATA2 && gs == SEL_KDATA2, "pop fs uses the low word; push fs; pop gs",
		 "fs 0x%x gs 0x%x", fs, gs);
	asm volatile("pushl %1\n\tpopl %%ss\n\tmovw %%ss, %0\n\tpushl %2\n\tpopl %%ss"
		     : "=r"(ss) : "i"(SEL_KDATA2), "i"(SEL_KDATA) : "memory");
	st_eq("pop ss and push ss", ss, SEL_KDATA2);
	asm volatile("movw %w1, %%ss\n\tmovw %%ss, %0\n\tmovw %w2, %%ss"
		     : "=r"(ss) : "r"(SEL_KDATA2), "r"(SEL_KDATA) : "memory");
	st_eq("mov ss, r16", ss, SEL_KDATA2);

	gdt[SEL_TACC / 8] = seg_desc(0, 0xFFFFF, 0x92, 0xC);
	set_fs(SEL_TACC);
	set_fs(SEL_KDATA);
	st_eq("a segment load sets the accessed bit in the GDT", (uint32_t)(gdt[SEL_TACC / 8] >> 40) & 0xFF, 0x93);
}

static void load_fault(const char *name, int ss, uint16_t sel, int vector, int32_t err)
{
	uint32_t at;
	trap_reset();
	if (ss)
		asm volatile(ST_ARM "8: movw %w1, %%ss" ST_DISARM "movl $8b, %0" : "=r"(at) : "r"(sel) : "memory");
	else
		asm volatile(ST_ARM "8: movw %w1, %%fs" ST_DISARM "movl $8b, %0" : "=r"(at) : "r"(sel) : "memory");
	set_fs(SEL_KDATA);
	st_fault(name, vector, err, at);
}

static void sreg_faults(void)
{
	load_fault("mov fs, selector beyond the GDT limit: #GP(selector)", 0, 0x3F8, 13, 0x3F8);
	load_fault("mov fs, the TSS (system descriptor): #GP(selector)", 0, SEL_TSS, 13, SEL_TSS);
	load_fault("mov fs, execute-only code: #GP(selector)", 0, SEL_XCODE, 13, SEL_XCODE);
	load_fault("mov fs, DPL 0 data with RPL 3: #GP(selector)", 0, SEL_KDATA | 3, 13, SEL_KDATA);
	load_fault("mov fs, not-present segment: #NP(selector)", 0, SEL_TNP, 11, SEL_TNP);
	load_fault("mov ss, null selector: #GP(0)", 1, 0, 13, 0);
	load_fault("mov ss, read-only data: #GP(selector)", 1, SEL_RODATA, 13, SEL_RODATA);
	load_fault("mov ss, DPL 3 data at CPL 0: #GP(selector)", 1, SEL_UDATA, 13, SEL_UDATA);
	load_fault("mov ss, not-present segment: #SS(selector)", 1, SEL_TNP, 12, SEL_TNP);

	uint32_t v;
	trap_reset();
	asm volatile(ST_ARM "8: movw %w1, %%fs\n\tmovl %%fs:(%2), %0" ST_DISARM
		     : "=r"(v) : "r"(SEL_KCODE), "r"(&segbuf[0]) : "memory");
	set_fs(SEL_KDATA);
	st_nofault("mov fs, readable code segment, and read through it");

	uint32_t at;
	trap_reset();
	asm volatile(ST_ARM "movw %w1, %%fs\n8:\tmovl %%fs:(%2), %%eax" ST_DISARM "movl $8b, %0"
		     : "=r"(at) : "r"(0), "r"(&segbuf[0]) : "eax", "memory");
	uint16_t fs = get_fs();
	set_fs(SEL_KDATA);
	st_fault_or_deviation("a null fs loads, a use of it raises #GP(0)", 13, 0, at,
			      "a data access through a null fs");
	st_eq("fs holds the null selector after the fault", fs, 0);
}

static void seg_base(void)
{
	for (int i = 0; i < 16; i++)
		segbuf[i] = 0x11111111u * (uint32_t)i + 0x01020304u;
	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)segbuf, 0xFFFFF, 0x93, 0xC);
	uint32_t v, w, x, y;
	set_fs(SEL_TBASE);
	set_gs(SEL_TBASE);
	asm volatile("movl %%fs:0, %0" : "=r"(v) :: "memory");
	asm volatile("movl %%gs:8, %0" : "=r"(w) :: "memory");
	asm volatile("movl %%fs:4(%1,%2,4), %0" : "=r"(x) : "r"(0), "r"(2) : "memory");
	asm volatile("movl %%fs:0x10, %%eax" : "=a"(y) :: "memory");   /* moffs form */
	st_eq("mov eax, fs:[0] reads base+0", v, segbuf[0]);
	st_eq("mov eax, gs:[8] reads base+8", w, segbuf[2]);
	st_eq("fs: with base, index and scale", x, segbuf[3]);
	st_eq("fs: moffs form (A1)", y, segbuf[4]);
	uint32_t old5 = segbuf[5], old0 = segbuf[0];
	asm volatile("movl %0, %%fs:(%1)" :: "r"(0x5EEDF00Du), "r"(7 * 4) : "memory");
	asm volatile("addl $5, %%fs:20" ::: "memory", "cc");
	asm volatile("pushl %%fs:0\n\tpopl %%gs:24" ::: "memory");
	asm volatile("movl %0, %%gs:0x24" :: "a"(0xA5A5A5A5u) : "memory");  /* moffs store */
	set_fs(SEL_KDATA);
	set_gs(SEL_KDATA);
	st_eq("store through fs: lands at base+offset", segbuf[7], 0x5EEDF00Du);
	st_eq("read-modify-write through fs:", segbuf[5], old5 + 5);
	st_eq("push fs:[0], pop gs:[24]", segbuf[6], old0);
	st_eq("moffs store through gs: (A3)", segbuf[9], 0xA5A5A5A5u);
}

/*
 * The same load instruction run again after the descriptor behind its selector changed:
 * a translator that caches what a selector loads (vmm386 does, per site, at CPL 0) must
 * see the new GDT bytes, a smaller GDTR limit, and a segment that would make flat code
 * non-flat.  Every load below goes through the one instruction in fs_site / ds_site.
 */
static __attribute__((noinline)) uint32_t fs_site(uint16_t sel)
{
	uint32_t v = 0;
	asm volatile(ST_ARM "8: movw %w1, %%fs\n\tmovl %%fs:0, %0" ST_DISARM
		     : "+r"(v) : "r"(sel) : "memory");
	return v;
}

static __attribute__((noinline)) uint32_t ds_site(uint16_t sel, uint32_t off)
{
	uint32_t v;
	asm volatile("movw %w2, %%ds\n\tmovl (%1), %0\n\tmovw %w3, %%ds"
		     : "=&r"(v) : "r"(off), "r"(sel), "r"(SEL_KDATA) : "memory");
	return v;
}

static void sreg_cache(void)
{
	for (int i = 0; i < 16; i++)
		segbuf[i] = 0xC0DE0000u + (uint32_t)i;
	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)segbuf, 0xFFFFF, 0x93, 0xC);
	uint32_t a = 0, b;
	for (int i = 0; i < 4; i++)
		a |= fs_site(SEL_TBASE) ^ segbuf[0];
	st_eq("the same mov fs four times reads base+0", a, 0);
	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)&segbuf[3], 0xFFFFF, 0x93, 0xC);
	b = fs_site(SEL_TBASE);
	st_eq("the same mov fs after the descriptor's base changed", b, segbuf[3]);
	set_fs(SEL_KDATA);           /* the trap handler reloads the FS it interrupted */
	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)&segbuf[3], 0xFFFFF, 0x13, 0xC);  /* not present */
	trap_reset();
	fs_site(SEL_TBASE);
	set_fs(SEL_KDATA);
	st_fault("the same mov fs after the descriptor became not present: #NP", 11, SEL_TBASE, ANY_EIP);
	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)&segbuf[5], 0xFFFFF, 0x93, 0xC);
	b = fs_site(SEL_TBASE);
	st_eq("present again with another base", b, segbuf[5]);
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) g, small;
	asm volatile("sgdt %0" : "=m"(g));
	small = g;
	small.limit = (uint16_t)(SEL_TBASE - 1);
	set_fs(SEL_KDATA);
	trap_reset();
	asm volatile("lgdt %0" :: "m"(small) : "memory");
	fs_site(SEL_TBASE);
	asm volatile("lgdt %0" :: "m"(g) : "memory");
	set_fs(SEL_KDATA);
	st_fault("the same mov fs with GDTR's limit below the selector: #GP(selector)", 13, SEL_TBASE, ANY_EIP);
	/* null selectors through the same site, each twice (the second load from the
	 * translator's cache): the register holds the selector, its use raises #GP(0), and a
	 * real selector after them is loaded again */
	static const uint16_t nulls[] = { 0, 0, 3, 3 };
	for (int i = 0; i < 4; i++) {
		trap_reset();
		fs_site(nulls[i]);
		uint16_t f = get_fs();
		set_fs(SEL_KDATA);
		st_fault_or_deviation(i & 1 ? "the same mov fs with that null selector again: #GP(0) on use" :
			 "mov fs with a null selector at the same site: #GP(0) on use", 13, 0, ANY_EIP,
			 "a data access through a null fs");
		st_eq("fs holds the null selector and its RPL", f, nulls[i]);
	}
	b = fs_site(SEL_TBASE);
	set_fs(SEL_KDATA);
	st_eq("the same mov fs to a real segment after the null ones", b, segbuf[5]);
	gdt[SEL_TBASE / 8] = seg_desc((uint32_t)&segbuf[2], 0xFFFFF, 0x93, 0xC);
	a = 0;
	for (int i = 0; i < 3; i++)
		a |= ds_site(SEL_TBASE, 4) ^ segbuf[3];
	st_eq("mov ds to a segment with a base, three times, in flat code", a, 0);
	b = ds_site(SEL_KDATA, (uint32_t)&segbuf[9]);
	st_eq("the same mov ds back to the flat segment", b, segbuf[9]);
}

static void seg_limits(void)
{
	gdt[SEL_TLIM / 8] = seg_desc((uint32_t)segbuf, 0xFFF, 0x93, 0x4);
	segbuf[1023] = 0x600DCAFEu;
	uint32_t v, at;
	trap_reset();
	set_fs(SEL_TLIM);
	asm volatile(ST_ARM "8: movl %%fs:0xFFC, %0" ST_DISARM : "=r"(v) :: "memory");
	set_fs(SEL_KDATA);
	st_check(trap_last.count == 0 && v == 0x600DCAFEu, "read of the last dword inside the limit",
		 "value 0x%x exceptions %u", v, trap_last.count);
	trap_reset();
	set_fs(SEL_TLIM);
	asm volatile(ST_ARM "8: movl %%fs:0xFFD, %%eax" ST_DISARM "movl $8b, %0"
		     : "=r"(at) :: "eax", "memory");
	set_fs(SEL_KDATA);
	st_fault_or_deviation("read crossing the data segment limit raises #GP(0)", 13, 0, at,
			      "read crossing a data segment limit");
	trap_reset();
	set_fs(SEL_TLIM);
	asm volatile(ST_ARM "8: movb $1, %%fs:0x1000" ST_DISARM "movl $8b, %0" : "=r"(at) :: "memory");
	set_fs(SEL_KDATA);
	st_fault_or_deviation("write beyond the data segment limit raises #GP(0)", 13, 0, at,
			      "write beyond a data segment limit");
	trap_reset();
	set_fs(SEL_RODATA);
	asm volatile(ST_ARM "8: movl $1, %%fs:(%1)" ST_DISARM "movl $8b, %0"
		     : "=r"(at) : "r"(&segbuf[1500]) : "memory");
	set_fs(SEL_KDATA);
	st_fault_or_deviation("write through a read-only data segment raises #GP(0)", 13, 0, at,
			      "write through a read-only data segment");
}

static void far_pointer_loads(void)
{
	static struct farptr fp;
	uint32_t r;
	uint16_t s;
	fp.off = 0x12345678u;
	fp.sel = SEL_KDATA2;
	asm volatile("lfs %2, %0\n\tmovw %%fs, %1\n\tmovw %3, %%fs"
		     : "=r"(r), "=r"(s) : "m"(fp), "r"((uint16_t)SEL_KDATA) : "memory");
	st_check(r == fp.off && s == SEL_KDATA2, "lfs loads offset and selector", "0x%x 0x%x", r, s);
	asm volatile("lgs %2, %0\n\tmovw %%gs, %1\n\tmovw %3, %%gs"
		     : "=r"(r), "=r"(s) : "m"(fp), "r"((uint16_t)SEL_KDATA) : "memory");
	st_check(r == fp.off && s == SEL_KDATA2, "lgs loads offset and selector", "0x%x 0x%x", r, s);
	asm volatile("les %2, %0\n\tmovw %%es, %1\n\tmovw %3, %%es"
		     : "=r"(r), "=r"(s) : "m"(fp), "r"((uint16_t)SEL_KDATA) : "memory");
	st_check(r == fp.off && s == SEL_KDATA2, "les loads offset and selector", "0x%x 0x%x", r, s);
	asm volatile("lds %2, %0\n\tmovw %%ds, %1\n\tmovw %3, %%ds"
		     : "=r"(r), "=r"(s) : "m"(fp), "r"((uint16_t)SEL_KDATA) : "memory");
	st_check(r == fp.off && s == SEL_KDATA2, "lds loads offset and selector", "0x%x 0x%x", r, s);
	uint32_t e0, e1;
	asm volatile("movl %%esp, %0\n\tmovl %%esp, %3\n\tmovw %4, 4+%3\n\tlss %3, %%esp\n\t"
		     "movl %%esp, %1\n\tmovw %%ss, %2\n\tmovw %5, %%ss"
		     : "=&r"(e0), "=&r"(e1), "=&r"(s), "=m"(fp)
		     : "i"(SEL_KDATA2), "r"((uint16_t)SEL_KDATA) : "memory");
	st_check(e0 == e1 && s == SEL_KDATA2, "lss loads esp and ss", "esp %x/%x ss 0x%x", e0, e1, s);

	fp.sel = SEL_TNP;
	r = 0x5555;
	uint32_t at;
	trap_reset();
	asm volatile(ST_ARM "8: lfs %2, %0" ST_DISARM "movl $8b, %1" : "+r"(r), "=r"(at) : "m"(fp) : "memory");
	set_fs(SEL_KDATA);
	st_fault("lfs of a not-present segment raises #NP(selector)", 11, SEL_TNP, at);
	st_eq("a faulting lfs leaves its destination register unchanged", r, 0x5555);
}

void st_group_seg(void)
{
	sreg_moves();
	sreg_faults();
	seg_base();
	sreg_cache();
	seg_limits();
	far_pointer_loads();
	set_fs(SEL_KDATA);
	set_gs(SEL_KDATA);
}

/* --- far transfers ---------------------------------------------------------------------- */

/* Far-called helpers: return the CS they ran with in EAX. */
asm(".text\n"
    "st_far_target:\n\tmovl %cs, %eax\n\tlret\n"
    "st_far_target_imm:\n\tmovl %cs, %eax\n\tlret $8\n");

static uint16_t get_cs(void) { uint16_t s; asm volatile("movw %%cs, %0" : "=r"(s)); return s; }

void st_group_far(void)
{
	uint32_t cs_in, e0, e1;
	asm volatile("ljmp %1, $1f\n1:\tmovl %%cs, %0\n\tljmp %2, $2f\n2:"
		     : "=r"(cs_in) : "i"(SEL_KCODE2), "i"(SEL_KCODE) : "memory");
	st_check(cs_in == SEL_KCODE2 && get_cs() == SEL_KCODE, "far jmp to a second code selector and back",
		 "cs 0x%x", cs_in);

	asm volatile("movl %%esp, %1\n\tlcall %3, $st_far_target\n\tmovl %%esp, %2"
		     : "=a"(cs_in), "=&r"(e0), "=&r"(e1) : "i"(SEL_KCODE2) : "memory");
	st_check(cs_in == SEL_KCODE2 && e0 == e1 && get_cs() == SEL_KCODE, "far call and far ret",
		 "callee cs 0x%x esp %x/%x", cs_in, e0, e1);

	asm volatile("movl %%esp, %1\n\tpushl $1\n\tpushl $2\n\tlcall %3, $st_far_target_imm\n\tmovl %%esp, %2"
		     : "=a"(cs_in), "=&r"(e0), "=&r"(e1) : "i"(SEL_KCODE2) : "memory");
	st_check(cs_in == SEL_KCODE2 && e0 == e1, "far ret imm16 releases the parameters",
		 "cs 0x%x esp %x/%x", cs_in, e0, e1);

	static struct farptr fp;
	asm volatile("movl $1f, %1\n\tmovw %2, 4+%1\n\tljmp *%1\n1:\tmovl %%cs, %0\n\tljmp %3, $2f\n2:"
		     : "=r"(cs_in), "=m"(fp) : "i"(SEL_KCODE2), "i"(SEL_KCODE) : "memory");
	st_eq("far jmp through a memory pointer", cs_in, SEL_KCODE2);
	fp.off = 0;
	asm volatile("movl $st_far_target, %1\n\tmovw %2, 4+%1\n\tlcall *%1"
		     : "=a"(cs_in), "=m"(fp) : "i"(SEL_KCODE2) : "memory");
	st_check(cs_in == SEL_KCODE2 && get_cs() == SEL_KCODE, "far call through a memory pointer",
		 "cs 0x%x", cs_in);

	asm volatile("pushl %1\n\tpushl $1f\n\tlret\n1:\tmovl %%cs, %0\n\tljmp %2, $2f\n2:"
		     : "=r"(cs_in) : "i"(SEL_KCODE2), "i"(SEL_KCODE) : "memory");
	st_eq("far ret to a second code selector", cs_in, SEL_KCODE2);

	extern char st_far_target[];
	uint64_t saved = gdt[SEL_CGATE / 8];
	uint32_t off = (uint32_t)st_far_target;
	gdt[SEL_CGATE / 8] = (uint64_t)((off & 0xFFFF0000u) | 0x8C00u) << 32 |
			     ((uint32_t)SEL_KCODE2 << 16 | (off & 0xFFFF));
	asm volatile("movl %%esp, %1\n\tlcall %3, $0\n\tmovl %%esp, %2"
		     : "=a"(cs_in), "=&r"(e0), "=&r"(e1) : "i"(SEL_CGATE) : "memory");
	gdt[SEL_CGATE / 8] = saved;
	st_check(cs_in == SEL_KCODE2 && e0 == e1 && get_cs() == SEL_KCODE,
		 "far call through a call gate to the same privilege", "cs 0x%x esp %x/%x", cs_in, e0, e1);
}
