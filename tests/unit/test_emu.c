/*
 * test_emu.c - unit tests of emulation/: segment loads, descriptor instructions, privilege
 * rules, exception and interrupt delivery (frames, TSS stack switch, #DF, triple fault),
 * far transfers, system registers, CPUID, port I/O, paging, and the decimal-adjust
 * instructions against the host CPU (tests/unit/bcd_native.c, built here with gcc -m32).
 *
 * Each test gets a fresh machine: 4 MiB of malloc'ed RAM holding a GDT, an IDT with one
 * handler per vector, a 32-bit TSS with an I/O bitmap, and code placed at CODE.  The
 * monitor's hooks (emu_mon) are a counting table installed by setup; the port bus is
 * stubbed here as weak symbols, so the real ones win when libvmm.a provides them to other
 * tests.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "emulation/emu.h"

/* --- stubs for the rest of the monitor --------------------------------------------- */
static unsigned mode_changes;
static uint32_t pio_last_port, pio_last_val, pio_reads, pio_writes;
static int pio_last_size;

static void stub_ram_written(struct vm *vm, gpa_t gpa, uint32_t len)
{
	(void)vm; (void)gpa; (void)len;
}

static void stub_mmio(struct vm *vm, gpa_t gpa, unsigned len)
{
	(void)vm; (void)gpa; (void)len;
}

static void stub_mode_changed(struct vcpu *c)
{
	(void)c;
	mode_changes++;
}

static void stub_tlb_flush(struct vcpu *c, gla_t la, bool all)
{
	(void)la; (void)all;
	stub_mode_changed(c);
}

static const struct emu_mon_ops stub_mon = {
	stub_ram_written, stub_mmio, stub_mode_changed, stub_tlb_flush,
};

__attribute__((weak)) uint32_t dev_pio_in(uint16_t port, int size)
{
	pio_last_port = port;
	pio_last_size = size;
	pio_reads++;
	return 0xA5A5A5A5u + pio_reads;
}

__attribute__((weak)) void dev_pio_out(uint16_t port, int size, uint32_t val)
{
	pio_last_port = port;
	pio_last_size = size;
	pio_last_val = val;
	pio_writes++;
}

/* Device memory and the local APIC's MSR, as an empty bus and a fixed APIC would answer;
 * stubs keep devices/ (and the monitor it pulls in) out of this binary. */
__attribute__((weak)) void dev_mmio_read(uint32_t gpa, void *buf, unsigned len)
{
	(void)gpa;
	memset(buf, 0xFF, len);
}

__attribute__((weak)) void dev_mmio_write(uint32_t gpa, const void *buf, unsigned len)
{
	(void)gpa; (void)buf; (void)len;
}

__attribute__((weak)) uint64_t dev_lapic_base_msr(void)
{
	return 0xFEE00900ull;
}

__attribute__((weak)) void dev_lapic_set_base_msr(uint64_t val)
{
	(void)val;
}

/* No block hooks: string I/O goes element by element through the stubs above. */
__attribute__((weak)) bool dev_pio_has_block(uint16_t port, int size)
{
	(void)port; (void)size;
	return false;
}

__attribute__((weak)) unsigned dev_pio_in_block(uint16_t port, int size, void *buf,
						unsigned count)
{
	(void)port; (void)size; (void)buf; (void)count;
	return 0;
}

__attribute__((weak)) unsigned dev_pio_out_block(uint16_t port, int size, const void *buf,
						 unsigned count)
{
	(void)port; (void)size; (void)buf; (void)count;
	return 0;
}

/* --- the test machine ------------------------------------------------------------- */
#define RAM_SIZE   (4u << 20)
#define GDT_BASE   0x1000u
#define IDT_BASE   0x2000u
#define TSS_BASE   0x3000u
#define LDT_BASE   0x4000u
#define TSS2_BASE  0x5000u
#define DATA       0x20000u
#define CODE       0x10000u
#define HANDLERS   0x30000u   /* handler for vector v at HANDLERS + 16 * v */
#define STACK0     0x80000u
#define STACK3     0x90000u
#define TSS_LIMIT  (0x68u + 128u)   /* I/O bitmap for ports 0..0x3FF plus the 0xFF byte */
#define NOT_RAM    0xF0000000u

enum {
	SEL_CODE0 = 0x08, SEL_DATA0 = 0x10, SEL_CODE3 = 0x18, SEL_DATA3 = 0x20, SEL_TSS = 0x28,
	SEL_NP = 0x30, SEL_RO = 0x38, SEL_XO = 0x40, SEL_EDOWN = 0x48, SEL_LDT = 0x50,
	SEL_CONF = 0x58, SEL_NP3 = 0x60, SEL_EDOWN16 = 0x68, SEL_GATE = 0x70, SEL_SMALL = 0x78,
	SEL_CODE16 = 0x80, SEL_TSS2 = 0x88, GDT_ENTRIES = 18,
};

static struct vm vm;
static struct vcpu *c;

static uint64_t mkdesc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xFFFFull) | (uint64_t)(base & 0xFFFFFF) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xF) << 48 |
	       (uint64_t)(flags & 0xF) << 52 | (uint64_t)(base >> 24) << 56;
}

static void put64(uint32_t gpa, uint64_t v) { memcpy(vm.ram + gpa, &v, 8); }
static void put32(uint32_t gpa, uint32_t v) { memcpy(vm.ram + gpa, &v, 4); }
static void put16(uint32_t gpa, uint16_t v) { memcpy(vm.ram + gpa, &v, 2); }
static uint32_t get32(uint32_t gpa) { uint32_t v; memcpy(&v, vm.ram + gpa, 4); return v; }
static uint16_t get16(uint32_t gpa) { uint16_t v; memcpy(&v, vm.ram + gpa, 2); return v; }

static void set_gdt(unsigned sel, uint64_t d) { put64(GDT_BASE + (sel & ~7u), d); }

/* IDT gate: type 0xE interrupt, 0xF trap, 0x5 task. */
static void set_gate(unsigned vec, uint16_t sel, uint32_t off, unsigned type, unsigned dpl)
{
	uint32_t lo = (off & 0xFFFF) | (uint32_t)sel << 16;
	uint32_t hi = (off & 0xFFFF0000u) | 0x8000u | dpl << 13 | type << 8;
	put64(IDT_BASE + vec * 8, (uint64_t)hi << 32 | lo);
}

static void build_gdt(void)
{
	set_gdt(SEL_CODE0, mkdesc(0, 0xFFFFF, 0x9A, 0xC));
	set_gdt(SEL_DATA0, mkdesc(0, 0xFFFFF, 0x92, 0xC));
	set_gdt(SEL_CODE3, mkdesc(0, 0xFFFFF, 0xFA, 0xC));
	set_gdt(SEL_DATA3, mkdesc(0, 0xFFFFF, 0xF2, 0xC));
	set_gdt(SEL_TSS, mkdesc(TSS_BASE, TSS_LIMIT, 0x89, 0));
	set_gdt(SEL_NP, mkdesc(0, 0xFFFFF, 0x12, 0xC));
	set_gdt(SEL_RO, mkdesc(0, 0xFFFFF, 0x90, 0xC));
	set_gdt(SEL_XO, mkdesc(0, 0xFFFFF, 0x98, 0xC));
	set_gdt(SEL_EDOWN, mkdesc(0, 0xFFF, 0x96, 0x4));
	set_gdt(SEL_LDT, mkdesc(LDT_BASE, 0x17, 0x82, 0));
	set_gdt(SEL_CONF, mkdesc(0, 0xFFFFF, 0x9E, 0xC));
	set_gdt(SEL_NP3, mkdesc(0, 0xFFFFF, 0x72, 0xC));
	set_gdt(SEL_EDOWN16, mkdesc(0, 0xFFF, 0x96, 0x0));
	set_gdt(SEL_GATE, (uint64_t)(0x8000u | 0xC00u | 3u << 13) << 32 | SEL_CODE0 << 16);
	set_gdt(SEL_SMALL, mkdesc(DATA, 0xFF, 0x92, 0x4));
	set_gdt(SEL_CODE16, mkdesc(0, 0xFFFF, 0x9A, 0x0));
	set_gdt(SEL_TSS2, mkdesc(TSS2_BASE, 0x67, 0x89, 0));
	put64(LDT_BASE + 8, mkdesc(DATA, 0xFFFF, 0x92, 0x4));
}

static void build_idt_tss(void)
{
	for (unsigned v = 0; v < 256; v++) {
		put16(HANDLERS + 16 * v, 0xFEEB);   /* jmp $ */
		set_gate(v, SEL_CODE0, HANDLERS + 16 * v, 0xE, v == 0x81 ? 3 : 0);
	}
	set_gate(0x82, SEL_CODE0, HANDLERS + 16 * 0x82, 0xF, 3);   /* trap gate, DPL 3 */
	put32(TSS_BASE + 4, STACK0);
	put32(TSS_BASE + 8, SEL_DATA0);
	put16(TSS_BASE + 0x66, 0x68);
	memset(vm.ram + TSS_BASE + 0x68, 0xFF, 129);
	vm.ram[TSS_BASE + 0x68 + 0x80 / 8] = 0xFE;      /* port 0x80 allowed */
	vm.ram[TSS_BASE + 0x68 + 0x3F8 / 8] = 0x00;     /* ports 0x3F8-0x3FF allowed */
}

static void setup(void)
{
	emu_mon = &stub_mon;
	memset(&vm, 0, sizeof(vm));
	vm.ram = calloc(1, RAM_SIZE);
	vm.ram_size = RAM_SIZE;
	c = &vm.cpu;
	c->vm = &vm;
	build_gdt();
	build_idt_tss();
	emu_reset_protected(c, GDT_BASE, GDT_ENTRIES * 8 - 1);
	c->idtr.base = IDT_BASE;
	c->idtr.limit = 256 * 8 - 1;
	c->regs[R_ESP] = STACK0;
	c->eip = CODE;
	ck_assert_int_eq(emu_load_seg(c, S_DS, SEL_DATA0), 0);
	mode_changes = 0;
	pio_reads = pio_writes = 0;
}

static void teardown(void)
{
	free(vm.ram);
}

/* Put instruction bytes at CODE, run one emu_step there. */
static int run_at(uint32_t eip, const uint8_t *b, unsigned n)
{
	memcpy(vm.ram + eip, b, n);
	c->eip = eip;
	return emu_step(c);
}
#define RUN(...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; run_at(CODE, b_, sizeof(b_)); })

static void expect_exc(int r, int vector, uint32_t err)
{
	ck_assert_int_eq(r, EXIT_EXCEPTION);
	ck_assert_int_eq(c->exc_vector, vector);
	if (c->exc_has_error)
		ck_assert_uint_eq(c->exc_error, err);
	ck_assert_uint_eq(c->eip, CODE);
}

static void expect_raise(int r, int vector, uint32_t err)
{
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(c->exc_vector, vector);
	ck_assert_uint_eq(c->exc_error, err);
}

static void load_tr(void)
{
	c->regs[R_EAX] = SEL_TSS;
	int r_ = RUN(0x0F, 0x00, 0xD8);   /* ltr ax */
	ck_assert_msg(r_ == EXIT_NONE, "ltr: %d vec %d err %x", r_, c->exc_vector, c->exc_error);
}

/* Ring 3 with flat segments and TR loaded, IOPL as given. */
static void go_ring3(unsigned iopl)
{
	struct seg cs = { SEL_CODE3 | 3, 0xCFFB, 0, 0xFFFFFFFFu };
	struct seg ds = { SEL_DATA3 | 3, 0xCFF3, 0, 0xFFFFFFFFu };

	if (c->tr.sel != SEL_TSS)
		load_tr();
	c->seg[S_CS] = cs;
	for (int s = 0; s < S_NR; s++)
		if (s != S_CS)
			c->seg[s] = ds;
	c->cpl = 3;
	c->regs[R_ESP] = STACK3;
	c->eflags = (c->eflags & ~FL_IOPL) | iopl << 12;
}

/* --- reset state and dump ----------------------------------------------------------- */
START_TEST(test_reset_and_dump)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_uint_eq(c->cr0, CR0_PE | CR0_ET);
	ck_assert_uint_eq(c->eflags, 0x2);
	ck_assert_uint_eq(c->seg[S_CS].sel, 0x08);
	ck_assert_uint_eq(c->seg[S_SS].sel, 0x10);
	ck_assert_uint_eq(c->idtr.limit, 256 * 8 - 1);
	emu_dump_state(c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "EIP=00010000 EFL=00000002 [-------] CPL=0"));
	ck_assert_ptr_nonnull(strstr(buf, "\nCS =0008 00000000 ffffffff 00cf9b00 DPL=0 CS32 [-RA]\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nES =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nGDT=     00001000 0000008f\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nCR0=00000011 CR2=00000000 CR3=00000000 CR4=00000000\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nDR6=ffff0ff0 DR7=00000400\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nTR =0000 00000000 0000ffff 00008b00 DPL=0 TSS32-busy\n"));
	free(buf);
}
END_TEST

/* --- segment loads --------------------------------------------------------------------- */
START_TEST(test_load_data_segments)
{
	uint32_t v;

	ck_assert_int_eq(vm.ram[GDT_BASE + SEL_DATA3 + 5] & 1, 0);
	ck_assert_int_eq(emu_load_seg(c, S_ES, SEL_DATA3 | 3), 0);
	ck_assert_int_eq(vm.ram[GDT_BASE + SEL_DATA3 + 5] & 1, 1);   /* accessed bit */
	ck_assert_uint_eq(c->seg[S_ES].attr, 0xCFF3);
	ck_assert_int_eq(emu_load_seg(c, S_FS, SEL_SMALL), 0);
	ck_assert_uint_eq(c->seg[S_FS].base, DATA);
	ck_assert_uint_eq(c->seg_base[S_FS], DATA);
	ck_assert_uint_eq(c->seg[S_FS].limit, 0xFF);
	ck_assert_uint_gt(mode_changes, 0);
	/* null: allowed, then unusable */
	ck_assert_int_eq(emu_load_seg(c, S_GS, 3), 0);
	ck_assert_int_eq(emu_seg_read(c, S_GS, 0, &v, 4), -1);
	ck_assert_int_eq(c->exc_vector, EXC_GP);
	ck_assert_uint_eq(c->exc_error, 0);
	/* the failures and their error codes */
	expect_raise(emu_load_seg(c, S_DS, GDT_ENTRIES * 8), EXC_GP, GDT_ENTRIES * 8);
	expect_raise(emu_load_seg(c, S_DS, SEL_NP), EXC_NP, SEL_NP);
	expect_raise(emu_load_seg(c, S_DS, SEL_XO), EXC_GP, SEL_XO);
	expect_raise(emu_load_seg(c, S_DS, SEL_TSS), EXC_GP, SEL_TSS);
	expect_raise(emu_load_seg(c, S_DS, SEL_DATA0 | 3), EXC_GP, SEL_DATA0);  /* RPL > DPL */
	ck_assert_int_eq(emu_load_seg(c, S_DS, SEL_CONF | 3), 0);   /* conforming readable code */
	ck_assert_uint_eq(c->seg[S_DS].sel, SEL_CONF | 3);
}
END_TEST

START_TEST(test_load_stack_segment)
{
	expect_raise(emu_load_seg(c, S_SS, 0), EXC_GP, 0);
	expect_raise(emu_load_seg(c, S_SS, SEL_RO), EXC_GP, SEL_RO);
	expect_raise(emu_load_seg(c, S_SS, SEL_CODE0), EXC_GP, SEL_CODE0);
	expect_raise(emu_load_seg(c, S_SS, SEL_DATA3 | 3), EXC_GP, SEL_DATA3);   /* RPL != CPL */
	expect_raise(emu_load_seg(c, S_SS, SEL_DATA3), EXC_GP, SEL_DATA3);       /* DPL != CPL */
	expect_raise(emu_load_seg(c, S_SS, SEL_NP), EXC_SS, SEL_NP);
	ck_assert_int_eq(emu_load_seg(c, S_SS, SEL_DATA0), 0);
}
END_TEST

START_TEST(test_load_segments_ring3)
{
	go_ring3(0);
	expect_raise(emu_load_seg(c, S_DS, SEL_DATA0), EXC_GP, SEL_DATA0);
	ck_assert_int_eq(emu_load_seg(c, S_DS, SEL_DATA3 | 3), 0);
	ck_assert_int_eq(emu_load_seg(c, S_SS, SEL_DATA3 | 3), 0);
	expect_raise(emu_load_seg(c, S_SS, SEL_DATA0), EXC_GP, SEL_DATA0);
	expect_raise(emu_load_seg(c, S_SS, SEL_NP3 | 3), EXC_SS, SEL_NP3);
	expect_raise(emu_load_seg(c, S_DS, SEL_NP3 | 3), EXC_NP, SEL_NP3);
	ck_assert_int_eq(emu_load_seg(c, S_ES, SEL_CONF | 3), 0);   /* conforming: no DPL check */
}
END_TEST

START_TEST(test_ldt)
{
	c->regs[R_EAX] = 0;
	ck_assert_int_eq(RUN(0x0F, 0x00, 0xD0), EXIT_NONE);            /* lldt ax (null) */
	expect_raise(emu_load_seg(c, S_DS, 0x0C), EXC_GP, 0x0C);        /* no LDT */
	c->regs[R_EAX] = SEL_LDT;
	ck_assert_int_eq(RUN(0x0F, 0x00, 0xD0), EXIT_NONE);
	ck_assert_uint_eq(c->ldtr.base, LDT_BASE);
	ck_assert_int_eq(emu_load_seg(c, S_DS, 0x0C), 0);
	ck_assert_uint_eq(c->seg[S_DS].base, DATA);
	expect_raise(emu_load_seg(c, S_DS, 0x1C), EXC_GP, 0x1C);        /* beyond LDT limit */
	c->regs[R_EAX] = SEL_DATA0;
	expect_exc(RUN(0x0F, 0x00, 0xD0), EXC_GP, SEL_DATA0);           /* not an LDT */
	c->regs[R_EAX] = SEL_LDT | 4;
	expect_exc(RUN(0x0F, 0x00, 0xD0), EXC_GP, SEL_LDT | 4);         /* TI = 1 */
	c->regs[R_EAX] = 0xDEADBEEF;
	ck_assert_int_eq(RUN(0x0F, 0x00, 0xC0), EXIT_NONE);             /* sldt eax */
	ck_assert_uint_eq(c->regs[R_EAX], SEL_LDT);
}
END_TEST

START_TEST(test_ltr_busy)
{
	ck_assert_int_eq(vm.ram[GDT_BASE + SEL_TSS + 5] & 0xF, 0x9);
	load_tr();
	ck_assert_int_eq(vm.ram[GDT_BASE + SEL_TSS + 5] & 0xF, 0xB);   /* busy */
	ck_assert_uint_eq(c->tr.base, TSS_BASE);
	c->regs[R_EAX] = SEL_TSS;
	expect_exc(RUN(0x0F, 0x00, 0xD8), EXC_GP, SEL_TSS);             /* already busy */
	c->regs[R_EAX] = 0;
	expect_exc(RUN(0x0F, 0x00, 0xD8), EXC_GP, 0);
	c->regs[R_EAX] = 0x12345678;
	ck_assert_int_eq(RUN(0x0F, 0x00, 0xC8), EXIT_NONE);             /* str eax */
	ck_assert_uint_eq(c->regs[R_EAX], SEL_TSS);
	go_ring3(0);
	c->regs[R_EAX] = SEL_TSS;
	expect_exc(RUN(0x0F, 0x00, 0xD8), EXC_GP, 0);                   /* ltr at CPL 3 */
}
END_TEST

/* --- limits and types on data accesses ------------------------------------------------- */
START_TEST(test_segment_limits)
{
	uint32_t v = 0x11223344;

	ck_assert_int_eq(emu_load_seg(c, S_FS, SEL_SMALL), 0);
	ck_assert_int_eq(emu_seg_write(c, S_FS, 0xFC, &v, 4), 0);
	ck_assert_uint_eq(get32(DATA + 0xFC), v);
	expect_raise(emu_seg_read(c, S_FS, 0xFD, &v, 4), EXC_GP, 0);
	expect_raise(emu_seg_read(c, S_FS, 0x100, &v, 1), EXC_GP, 0);
	ck_assert_int_eq(emu_load_seg(c, S_ES, SEL_RO), 0);
	ck_assert_int_eq(emu_seg_read(c, S_ES, 0x100, &v, 4), 0);
	expect_raise(emu_seg_write(c, S_ES, 0x100, &v, 4), EXC_GP, 0);
	/* expand-down, 32-bit: valid offsets are (0xFFF, 0xFFFFFFFF] */
	ck_assert_int_eq(emu_load_seg(c, S_GS, SEL_EDOWN), 0);
	expect_raise(emu_seg_read(c, S_GS, 0x800, &v, 4), EXC_GP, 0);
	expect_raise(emu_seg_read(c, S_GS, 0xFFE, &v, 4), EXC_GP, 0);
	ck_assert_int_eq(emu_seg_read(c, S_GS, 0x1000, &v, 4), 0);
	ck_assert_int_eq(emu_seg_read(c, S_GS, 0x3FFFFC, &v, 4), 0);
	/* expand-down, 16-bit (B = 0): upper bound 0xFFFF */
	ck_assert_int_eq(emu_load_seg(c, S_GS, SEL_EDOWN16), 0);
	ck_assert_int_eq(emu_seg_read(c, S_GS, 0xFFFE, &v, 2), 0);
	expect_raise(emu_seg_read(c, S_GS, 0xFFFE, &v, 4), EXC_GP, 0);
	expect_raise(emu_seg_read(c, S_GS, 0x10000, &v, 1), EXC_GP, 0);
	/* stack segment violations are #SS(0) */
	ck_assert_int_eq(emu_load_seg(c, S_SS, SEL_EDOWN), 0);
	expect_raise(emu_seg_write(c, S_SS, 0x10, &v, 4), EXC_SS, 0);
	/* code segments: never writable, readable only if R */
	expect_raise(emu_seg_write(c, S_CS, 0x100, &v, 4), EXC_GP, 0);
	ck_assert_int_eq(emu_seg_read(c, S_CS, 0x100, &v, 4), 0);
}
END_TEST

START_TEST(test_memory_edges)
{
	uint32_t v = 0xCAFEF00D;
	uint8_t b[8];

	/* device memory: reads give all ones, writes are dropped */
	ck_assert_int_eq(emu_lin_read(c, NOT_RAM, &v, 4), 0);
	ck_assert_uint_eq(v, 0xFFFFFFFFu);
	ck_assert_int_eq(emu_lin_write(c, NOT_RAM, &v, 4), 0);
	/* an access spanning two pages */
	v = 0x44332211;
	ck_assert_int_eq(emu_lin_write(c, 0x5FFE, &v, 4), 0);
	ck_assert_uint_eq(vm.ram[0x5FFE], 0x11);
	ck_assert_uint_eq(vm.ram[0x6001], 0x44);
	/* the last RAM page followed by device memory */
	memset(vm.ram + RAM_SIZE - 4, 0x5A, 4);
	ck_assert_int_eq(emu_lin_read(c, RAM_SIZE - 4, b, 8), 0);
	ck_assert_uint_eq(b[3], 0x5A);
	ck_assert_uint_eq(b[4], 0xFF);
}
END_TEST

/* --- LAR LSL VERR VERW ---------------------------------------------------------------- */
static void lar(uint32_t sel, bool zf, uint32_t val)
{
	c->regs[R_EAX] = 0xDEADBEEF;
	c->regs[R_ECX] = sel;
	ck_assert_int_eq(RUN(0x0F, 0x02, 0xC1), EXIT_NONE);
	ck_assert_int_eq(!!(c->eflags & FL_ZF), zf);
	ck_assert_uint_eq(c->regs[R_EAX], zf ? val : 0xDEADBEEF);
}

static void lsl(uint32_t sel, bool zf, uint32_t val)
{
	c->regs[R_EAX] = 0xDEADBEEF;
	c->regs[R_ECX] = sel;
	ck_assert_int_eq(RUN(0x0F, 0x03, 0xC1), EXIT_NONE);
	ck_assert_int_eq(!!(c->eflags & FL_ZF), zf);
	ck_assert_uint_eq(c->regs[R_EAX], zf ? val : 0xDEADBEEF);
}

static void verify(bool write, uint32_t sel, bool zf)
{
	c->regs[R_ECX] = sel;
	if (write)
		ck_assert_int_eq(RUN(0x0F, 0x00, 0xE9), EXIT_NONE);
	else
		ck_assert_int_eq(RUN(0x0F, 0x00, 0xE1), EXIT_NONE);
	ck_assert_int_eq(!!(c->eflags & FL_ZF), zf);
}

START_TEST(test_lar_lsl_verr_verw)
{
	lar(SEL_DATA0, true, 0x00CF9300);   /* accessed: DS was loaded with it */
	lar(SEL_RO, true, 0x00CF9000);
	lar(0, false, 0);
	lar(0x1000, false, 0);              /* beyond the GDT: no fault */
	lar(SEL_GATE, true, 0x0000EC00);    /* call gate */
	lar(SEL_TSS, true, 0x00008900);
	lsl(SEL_SMALL, true, 0xFF);
	lsl(SEL_DATA0, true, 0xFFFFFFFF);
	lsl(SEL_TSS, true, TSS_LIMIT);
	lsl(SEL_GATE, false, 0);
	lsl(SEL_NP, true, 0xFFFFFFFF);      /* LSL does not check P */
	verify(false, SEL_XO, false);
	verify(false, SEL_CODE0, true);
	verify(false, SEL_DATA0, true);
	verify(true, SEL_RO, false);
	verify(true, SEL_DATA0, true);
	verify(true, SEL_CODE0, false);
	verify(false, 0, false);
	verify(false, 0xFFF8, false);
	go_ring3(0);
	lar(SEL_DATA0, false, 0);
	lar(SEL_DATA3 | 3, true, 0x00CFF200);
	lar(SEL_CONF, true, 0x00CF9E00);    /* conforming: visible from ring 3 */
	verify(true, SEL_DATA3 | 3, true);
	verify(false, SEL_DATA0 | 3, false);
	/* 16-bit LAR keeps only the access byte */
	c->regs[R_EAX] = 0xDEADBEEF;
	c->regs[R_ECX] = SEL_DATA3 | 3;
	ck_assert_int_eq(RUN(0x66, 0x0F, 0x02, 0xC1), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_EAX], 0xDEADF200);
}
END_TEST

/* --- EFLAGS rules ------------------------------------------------------------------------- */
static void popf_with(uint32_t image, bool is16)
{
	c->regs[R_ESP] -= is16 ? 2 : 4;
	if (is16)
		put16(c->regs[R_ESP], (uint16_t)image);
	else
		put32(c->regs[R_ESP], image);
	if (is16)
		ck_assert_int_eq(RUN(0x66, 0x9D), EXIT_NONE);
	else
		ck_assert_int_eq(RUN(0x9D), EXIT_NONE);
}

START_TEST(test_popf_cpl0)
{
	uint32_t esp = c->regs[R_ESP];

	popf_with(FL_IF | FL_IOPL | FL_CF | FL_VM | FL_RF | FL_AC | FL_ID | FL_NT, false);
	ck_assert_uint_eq(c->regs[R_ESP], esp);
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_IF | FL_IOPL | FL_CF | FL_AC | FL_ID | FL_NT);
	popf_with(0, true);   /* 16-bit: the upper flags stay */
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_AC | FL_ID);
	/* PUSHF never shows VM or RF */
	c->eflags |= FL_RF;
	ck_assert_int_eq(RUN(0x9C), EXIT_NONE);
	ck_assert_uint_eq(get32(c->regs[R_ESP]), FL_FIXED | FL_AC | FL_ID);
}
END_TEST

START_TEST(test_popf_cpl3)
{
	go_ring3(0);
	c->eflags |= FL_IF;
	popf_with(FL_IOPL | FL_CF | FL_ZF, false);           /* IF kept, IOPL ignored */
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_IF | FL_CF | FL_ZF);
	go_ring3(3);
	popf_with(FL_SF, false);                               /* CPL <= IOPL: IF may change */
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_IOPL | FL_SF);
	popf_with(FL_IF, false);
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_IOPL | FL_IF);
}
END_TEST

START_TEST(test_cli_sti)
{
	go_ring3(0);
	c->eflags |= FL_IF;
	expect_exc(RUN(0xFA), EXC_GP, 0);
	ck_assert(c->eflags & FL_IF);
	expect_exc(RUN(0xFB), EXC_GP, 0);
	go_ring3(3);
	ck_assert_int_eq(RUN(0xFA), EXIT_NONE);
	ck_assert(!(c->eflags & FL_IF));
	ck_assert_uint_eq(c->eip, CODE + 1);
	ck_assert_int_eq(RUN(0xFB), EXIT_NONE);
	ck_assert(c->eflags & FL_IF);
	ck_assert(c->intr_inhibit);
	ck_assert_int_eq(RUN(0xFB), EXIT_NONE);                /* IF already set: no shadow */
	ck_assert(!c->intr_inhibit);
}
END_TEST

START_TEST(test_hlt)
{
	ck_assert_int_eq(RUN(0xF4), EXIT_HALT);
	ck_assert_uint_eq(c->eip, CODE + 1);
	go_ring3(3);
	expect_exc(RUN(0xF4), EXC_GP, 0);
}
END_TEST

/* --- exception and interrupt delivery ------------------------------------------------- */
static uint32_t handler(unsigned v) { return HANDLERS + 16 * v; }
static void clear_present(unsigned v) { vm.ram[IDT_BASE + v * 8 + 5] &= 0x7F; }

START_TEST(test_int_gate_dpl)
{
	go_ring3(0);
	expect_exc(RUN(0xCD, 0x80), EXC_GP, 0x80 * 8 + 2);
	ck_assert_int_eq(c->cpl, 3);
	expect_exc(RUN(0xCC), EXC_GP, 3 * 8 + 2);          /* INT3 checks the DPL too */
	c->eflags |= FL_OF;
	expect_exc(RUN(0xCE), EXC_GP, 4 * 8 + 2);          /* and INTO */
}
END_TEST

START_TEST(test_int_from_ring3)
{
	uint32_t f = STACK0 - 20;

	go_ring3(3);
	c->eflags |= FL_IF | FL_TF;
	ck_assert_int_eq(RUN(0xCD, 0x81), EXIT_NONE);
	ck_assert_int_eq(c->cpl, 0);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CODE0);
	ck_assert_uint_eq(c->seg[S_SS].sel, SEL_DATA0);
	ck_assert_uint_eq(c->eip, handler(0x81));
	ck_assert_uint_eq(c->regs[R_ESP], f);
	ck_assert_uint_eq(get32(f), CODE + 2);              /* trap-like: after INT */
	ck_assert_uint_eq(get32(f + 4), SEL_CODE3 | 3);
	ck_assert_uint_eq(get32(f + 8), FL_FIXED | FL_IF | FL_TF | FL_IOPL);
	ck_assert_uint_eq(get32(f + 12), STACK3);
	ck_assert_uint_eq(get32(f + 16), SEL_DATA3 | 3);
	ck_assert(!(c->eflags & (FL_IF | FL_TF)));         /* interrupt gate */
	ck_assert_uint_eq(c->seg[S_DS].sel, SEL_DATA3 | 3);  /* data segments untouched */
	/* trap gate keeps IF */
	go_ring3(3);
	c->eflags |= FL_IF;
	ck_assert_int_eq(RUN(0xCD, 0x82), EXIT_NONE);
	ck_assert(c->eflags & FL_IF);
	ck_assert_uint_eq(c->eip, handler(0x82));
}
END_TEST

START_TEST(test_exception_frame_cpl0)
{
	uint32_t f = STACK0 - 16;

	c->eflags |= FL_IF;
	emu_raise(c, EXC_GP, 0x1234);
	ck_assert(c->exc_has_error);
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_ESP], f);
	ck_assert_uint_eq(get32(f), 0x1234);
	ck_assert_uint_eq(get32(f + 4), CODE);
	ck_assert_uint_eq(get32(f + 8), SEL_CODE0);
	ck_assert_uint_eq(get32(f + 12), FL_FIXED | FL_IF | FL_RF);   /* RF=1 for faults */
	ck_assert_uint_eq(c->eip, handler(EXC_GP));
	ck_assert(!(c->eflags & FL_IF));
	/* no error code for #UD; EIP of the faulting instruction */
	c->regs[R_ESP] = STACK0;
	c->eip = CODE;
	expect_exc(RUN(0x0F, 0x0B), EXC_UD, 0);
	ck_assert(!c->exc_has_error);
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 12);
	ck_assert_uint_eq(get32(STACK0 - 12), CODE);
}
END_TEST

START_TEST(test_exception_from_ring3)
{
	uint32_t f = STACK0 - 24;

	go_ring3(0);
	c->eip = CODE;
	emu_raise(c, EXC_PF, 6);
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_NONE);
	ck_assert_int_eq(c->cpl, 0);
	ck_assert_uint_eq(c->regs[R_ESP], f);
	ck_assert_uint_eq(get32(f), 6);
	ck_assert_uint_eq(get32(f + 4), CODE);
	ck_assert_uint_eq(get32(f + 8), SEL_CODE3 | 3);
	ck_assert_uint_eq(get32(f + 12), FL_FIXED | FL_RF);
	ck_assert_uint_eq(get32(f + 16), STACK3);
	ck_assert_uint_eq(get32(f + 20), SEL_DATA3 | 3);
	ck_assert_uint_eq(c->eip, handler(EXC_PF));
	ck_assert_uint_eq(c->seg[S_SS].sel, SEL_DATA0);
}
END_TEST

START_TEST(test_bad_tss_stack)
{
	go_ring3(0);
	put32(TSS_BASE + 8, SEL_DATA3 | 3);        /* SS0 with RPL 3: #TS(SS0 | EXT) */
	emu_raise(c, EXC_UD, 0);
	set_gate(EXC_TS, SEL_CODE3, handler(EXC_TS), 0xE, 0);   /* handler at ring 3 */
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_NONE);
	ck_assert_uint_eq(c->eip, handler(EXC_TS));
	ck_assert_int_eq(c->cpl, 3);
	ck_assert_uint_eq(get32(STACK3 - 16), SEL_DATA3 + 1);      /* error code with EXT */
}
END_TEST

START_TEST(test_double_fault)
{
	clear_present(EXC_GP);                    /* #GP gate not present: #NP(13 | IDT | EXT) */
	clear_present(EXC_NP);                    /* and #NP's neither: #DF */
	emu_raise(c, EXC_GP, 0);
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_NONE);
	ck_assert_uint_eq(c->eip, handler(EXC_DF));
	ck_assert_uint_eq(get32(c->regs[R_ESP]), 0);              /* #DF error code */
	ck_assert_uint_eq(get32(c->regs[R_ESP] + 4), CODE);
	ck_assert_int_eq(c->delivering, 0);
}
END_TEST

START_TEST(test_page_fault_then_gp_is_double)
{
	set_gate(EXC_PF, 0x1000, handler(EXC_PF), 0xE, 0);   /* CS beyond the GDT */
	emu_raise(c, EXC_PF, 0);
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_NONE);
	ck_assert_uint_eq(c->eip, handler(EXC_DF));
}
END_TEST

START_TEST(test_benign_then_fault_is_serial)
{
	clear_present(EXC_UD);
	emu_raise(c, EXC_UD, 0);
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_NONE);
	ck_assert_uint_eq(c->eip, handler(EXC_NP));
	ck_assert_uint_eq(get32(c->regs[R_ESP]), EXC_UD * 8 + 2 + 1);
	/* an external interrupt whose gate is missing */
	c->regs[R_ESP] = STACK0;
	put64(IDT_BASE + 0x40 * 8, 0);                            /* not a gate: #GP */
	ck_assert_int_eq(emu_deliver_interrupt(c, 0x40), EXIT_NONE);
	ck_assert_uint_eq(c->eip, handler(EXC_GP));
	ck_assert_uint_eq(get32(c->regs[R_ESP]), 0x40 * 8 + 2 + 1);
	/* IRQ 0 on vector 8 (PIC not remapped) is an interrupt, not a #DF: no triple fault */
	c->regs[R_ESP] = STACK0;
	clear_present(EXC_DF);
	ck_assert_int_eq(emu_deliver_interrupt(c, EXC_DF), EXIT_NONE);
	ck_assert_uint_eq(c->eip, handler(EXC_NP));
	ck_assert_uint_eq(get32(c->regs[R_ESP]), EXC_DF * 8 + 2 + 1);
}
END_TEST

START_TEST(test_int_fault_stays_on_instruction)
{
	ck_assert_int_eq(emu_load_seg(c, S_SS, SEL_SMALL), 0);
	c->regs[R_ESP] = 8;
	expect_exc(RUN(0xCD, 0x81), EXC_SS, 0);          /* no room: #SS(0), not #DF */
	ck_assert_uint_eq(c->regs[R_ESP], 8);
	ck_assert_int_eq(c->cpl, 0);
}
END_TEST

START_TEST(test_pop_memory_uses_new_esp)
{
	put32(STACK0 - 4, 0xABCD1234);
	c->regs[R_ESP] = STACK0 - 4;
	ck_assert_int_eq(RUN(0x8F, 0x44, 0x24, 0x04), EXIT_NONE);   /* pop dword [esp+4] */
	ck_assert_uint_eq(c->regs[R_ESP], STACK0);
	ck_assert_uint_eq(get32(STACK0 + 4), 0xABCD1234);
	c->regs[R_EBX] = NOT_RAM - 0x20000;                          /* fs: limit 0xFF */
	ck_assert_int_eq(emu_load_seg(c, S_FS, SEL_SMALL), 0);
	c->regs[R_ESP] = STACK0 - 4;
	expect_exc(RUN(0x64, 0x8F, 0x03), EXC_GP, 0);               /* pop fs:[ebx]: ESP kept */
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 4);
}
END_TEST

START_TEST(test_triple_fault)
{
	c->idtr.limit = 8 * 8 - 1;                /* vectors 0-7 only */
	emu_raise(c, EXC_GP, 0);
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_SHUTDOWN);
}
END_TEST

START_TEST(test_stack_fault_chain_shuts_down)
{
	ck_assert_int_eq(emu_load_seg(c, S_SS, SEL_SMALL), 0);
	c->regs[R_ESP] = 8;                       /* no room for a frame */
	emu_raise(c, EXC_UD, 0);
	ck_assert_int_eq(emu_deliver_exception(c), EXIT_SHUTDOWN);
}
END_TEST

START_TEST(test_interrupt_delivery)
{
	c->eflags |= FL_IF;
	c->halted = true;
	ck_assert_int_eq(emu_deliver_interrupt(c, 0x20), EXIT_NONE);
	ck_assert_uint_eq(c->eip, handler(0x20));
	ck_assert_uint_eq(get32(STACK0 - 12), CODE);
	ck_assert_uint_eq(get32(STACK0 - 4), FL_FIXED | FL_IF);   /* no RF for interrupts */
	ck_assert(!c->halted);
	ck_assert(!(c->eflags & FL_IF));
}
END_TEST

/* A task switch through a task gate, back with IRET (NT), and the busy-TSS check. */
START_TEST(test_task_switch)
{
	static const uint32_t segs[6] = { SEL_DATA0, SEL_CODE0, SEL_DATA0, SEL_DATA0, 0, 0 };

	put32(TSS2_BASE + 0x20, HANDLERS);                  /* EIP */
	put32(TSS2_BASE + 0x24, FL_FIXED | FL_ZF);          /* EFLAGS */
	put32(TSS2_BASE + 0x28, 0x1234);                    /* EAX */
	put32(TSS2_BASE + 0x38, STACK3);                    /* ESP */
	for (int i = 0; i < 6; i++)
		put32(TSS2_BASE + 0x48 + 4 * i, segs[i]);
	load_tr();
	set_gate(0x83, SEL_TSS2, 0, 0x5, 0);
	c->regs[R_EAX] = 0x99;
	ck_assert_int_eq(RUN(0xCD, 0x83), EXIT_NONE);       /* int 0x83 */
	ck_assert_uint_eq(c->tr.sel, SEL_TSS2);
	ck_assert_uint_eq(c->eip, HANDLERS);
	ck_assert_uint_eq(c->regs[R_EAX], 0x1234);
	ck_assert_uint_eq(c->regs[R_ESP], STACK3);
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_ZF | FL_NT);
	ck_assert(c->cr0 & CR0_TS);
	ck_assert_uint_eq(c->seg[S_FS].sel, 0);
	ck_assert_uint_eq(get32(TSS2_BASE), SEL_TSS);        /* back link */
	ck_assert_uint_eq(get32(TSS_BASE + 0x20), CODE + 2); /* the old task's EIP and EAX */
	ck_assert_uint_eq(get32(TSS_BASE + 0x28), 0x99);
	ck_assert_int_eq(vm.ram[GDT_BASE + SEL_TSS2 + 5] & 0xF, 0xB);
	ck_assert_int_eq(vm.ram[GDT_BASE + SEL_TSS + 5] & 0xF, 0xB);
	/* the old task is busy: a JMP to it is #GP(selector) */
	expect_exc(RUN(0xEA, 0x00, 0x00, 0x00, 0x00, SEL_TSS, 0x00), EXC_GP, SEL_TSS);
	ck_assert_int_eq(RUN(0xCF), EXIT_NONE);              /* iret: back through the link */
	ck_assert_uint_eq(c->tr.sel, SEL_TSS);
	ck_assert_uint_eq(c->eip, CODE + 2);
	ck_assert_uint_eq(c->regs[R_EAX], 0x99);
	ck_assert_uint_eq(get32(TSS2_BASE + 0x20), CODE + 1);
	ck_assert_uint_eq(get32(TSS2_BASE + 0x24) & FL_NT, 0);
	ck_assert_int_eq(vm.ram[GDT_BASE + SEL_TSS2 + 5] & 0xF, 0x9);
	/* a far JMP to the (now available) TSS switches without a link */
	ck_assert_int_eq(RUN(0xEA, 0x00, 0x00, 0x00, 0x00, SEL_TSS2, 0x00), EXIT_NONE);
	ck_assert_uint_eq(c->tr.sel, SEL_TSS2);
	ck_assert_uint_eq(c->eflags & FL_NT, 0);
	ck_assert_int_eq(vm.ram[GDT_BASE + SEL_TSS + 5] & 0xF, 0x9);
}
END_TEST

/* --- IRET and far transfers -------------------------------------------------------------- */
static void push_frame(const uint32_t *v, unsigned n)
{
	for (unsigned i = n; i-- > 0;) {
		c->regs[R_ESP] -= 4;
		put32(c->regs[R_ESP], v[i]);
	}
}

START_TEST(test_iret_to_ring3)
{
	uint32_t f[5] = { 0x1234, SEL_CODE3 | 3, FL_FIXED | FL_IF | FL_IOPL | FL_CF,
			  STACK3 - 8, SEL_DATA3 | 3 };

	ck_assert_int_eq(emu_load_seg(c, S_ES, SEL_DATA3 | 3), 0);
	ck_assert_int_eq(emu_load_seg(c, S_FS, SEL_CONF), 0);
	push_frame(f, 5);
	ck_assert_int_eq(RUN(0xCF), EXIT_NONE);
	ck_assert_int_eq(c->cpl, 3);
	ck_assert_uint_eq(c->eip, 0x1234);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CODE3 | 3);
	ck_assert_uint_eq(c->seg[S_SS].sel, SEL_DATA3 | 3);
	ck_assert_uint_eq(c->regs[R_ESP], STACK3 - 8);
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_IF | FL_IOPL | FL_CF);
	ck_assert_uint_eq(c->seg[S_DS].sel, 0);               /* DPL 0 data: nulled */
	ck_assert(!(c->seg[S_DS].attr & SEGA_P));
	ck_assert_uint_eq(c->seg[S_ES].sel, SEL_DATA3 | 3);   /* DPL 3: kept */
	ck_assert_uint_eq(c->seg[S_FS].sel, SEL_CONF);        /* conforming code: kept */
	ck_assert_uint_eq(vm.ram[GDT_BASE + SEL_CODE3 + 5] & 1, 1);
}
END_TEST

START_TEST(test_iret_rules)
{
	uint32_t same[3] = { 0x2000, SEL_CODE0, FL_FIXED | FL_IOPL | FL_IF | FL_VIF };
	uint32_t up[3] = { 0x2000, SEL_CODE0, FL_FIXED };
	uint32_t r3[3] = { 0x3000, SEL_CODE3 | 3, FL_FIXED | FL_IOPL | FL_IF | FL_ZF };

	push_frame(same, 3);
	ck_assert_int_eq(RUN(0xCF), EXIT_NONE);
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_IOPL | FL_IF | FL_VIF);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0);
	go_ring3(0);
	c->eflags = FL_FIXED;
	push_frame(r3, 3);                                     /* ring 3 to ring 3 */
	ck_assert_int_eq(RUN(0xCF), EXIT_NONE);
	ck_assert_uint_eq(c->eflags, FL_FIXED | FL_ZF);        /* no IOPL, no IF */
	push_frame(up, 3);                                     /* to ring 0: #GP(CS) */
	expect_exc(RUN(0xCF), EXC_GP, SEL_CODE0);
	ck_assert_uint_eq(c->regs[R_ESP], STACK3 - 12);
	c->eflags |= FL_NT;
	expect_exc(RUN(0xCF), EXC_TS, 0);                      /* task return: link 0 is #TS */
}
END_TEST

START_TEST(test_far_jmp)
{
	ck_assert_int_eq(RUN(0xEA, 0x00, 0x50, 0x00, 0x00, SEL_CODE0, 0x00), EXIT_NONE);
	ck_assert_uint_eq(c->eip, 0x5000);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CODE0);
	ck_assert_uint_eq(vm.ram[GDT_BASE + SEL_CODE0 + 5] & 1, 1);
	ck_assert_int_eq(RUN(0xEA, 0x00, 0x01, 0x00, 0x00, SEL_CONF | 3, 0x00), EXIT_NONE);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CONF);          /* RPL replaced by CPL */
	expect_exc(RUN(0xEA, 0, 0, 0, 0, SEL_DATA0, 0), EXC_GP, SEL_DATA0);
	/* a call gate to the current privilege: its target and offset replace the operand */
	ck_assert_int_eq(RUN(0xEA, 0x34, 0x12, 0, 0, SEL_GATE, 0), EXIT_NONE);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CODE0);
	ck_assert_uint_eq(c->eip, 0);
	expect_exc(RUN(0xEA, 0, 0, 0, 0, 0, 0), EXC_GP, 0);
	expect_exc(RUN(0xEA, 0, 0, 2, 0, SEL_CODE16, 0), EXC_GP, 0);   /* beyond the limit */
	go_ring3(0);
	expect_exc(RUN(0xEA, 0, 0, 0, 0, SEL_CODE0 | 3, 0), EXC_GP, SEL_CODE0);
	ck_assert_int_eq(RUN(0xEA, 0x00, 0x01, 0x00, 0x00, SEL_CONF | 3, 0x00), EXIT_NONE);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CONF | 3);      /* conforming: CPL stays 3 */
	ck_assert_int_eq(c->cpl, 3);
}
END_TEST

START_TEST(test_far_call_ret)
{
	/* indirect far call through m16:32 */
	put32(DATA, 0x6000);
	put16(DATA + 4, SEL_CODE0);
	c->regs[R_EBX] = DATA;
	ck_assert_int_eq(RUN(0xFF, 0x1B), EXIT_NONE);
	ck_assert_uint_eq(c->eip, 0x6000);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 8);
	ck_assert_uint_eq(get32(STACK0 - 8), CODE + 2);
	ck_assert_uint_eq(get32(STACK0 - 4), SEL_CODE0);
	/* retf 8 */
	c->regs[R_ESP] -= 8;
	put32(c->regs[R_ESP], CODE + 2);
	put32(c->regs[R_ESP] + 4, SEL_CODE0);
	ck_assert_int_eq(RUN(0xCA, 0x08, 0x00), EXIT_NONE);
	ck_assert_uint_eq(c->eip, CODE + 2);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0);
	/* direct far call */
	ck_assert_int_eq(RUN(0x9A, 0x00, 0x70, 0x00, 0x00, SEL_CODE0, 0x00), EXIT_NONE);
	ck_assert_uint_eq(c->eip, 0x7000);
	ck_assert_uint_eq(get32(STACK0 - 8), CODE + 7);
}
END_TEST

START_TEST(test_retf_to_ring3)
{
	uint32_t f[5] = { 0x4000, SEL_CODE3 | 3, 0xAAAA, STACK3 - 4, SEL_DATA3 | 3 };

	push_frame(f, 5);
	ck_assert_int_eq(RUN(0xCA, 0x04, 0x00), EXIT_NONE);     /* retf 4: skip one parameter */
	ck_assert_int_eq(c->cpl, 3);
	ck_assert_uint_eq(c->eip, 0x4000);
	ck_assert_uint_eq(c->regs[R_ESP], STACK3);              /* new ESP + 4 */
	ck_assert_uint_eq(c->seg[S_SS].sel, SEL_DATA3 | 3);
	ck_assert_uint_eq(c->seg[S_DS].sel, 0);
	/* an outer SS that does not match the new CPL */
	f[4] = SEL_DATA0;
	f[1] = SEL_CODE3 | 3;
	c->cpl = 0;
	c->seg[S_CS] = (struct seg){ SEL_CODE0, 0xCF9B, 0, 0xFFFFFFFFu };
	c->seg[S_SS] = (struct seg){ SEL_DATA0, 0xCF93, 0, 0xFFFFFFFFu };
	c->regs[R_ESP] = STACK0;
	push_frame(f, 5);
	expect_exc(RUN(0xCA, 0x04, 0x00), EXC_GP, SEL_DATA0);
	ck_assert_int_eq(c->cpl, 0);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 20);
}
END_TEST

START_TEST(test_call_gate_inner)
{
	/* ring 3 calls through a DPL-3 32-bit gate (2 parameters) to ring-0 code at 0x6000 */
	set_gdt(SEL_GATE, (uint64_t)(0x8000u | 0xC00u | 3u << 13 | 2u) << 32 | SEL_CODE0 << 16 | 0x6000);
	go_ring3(0);
	c->regs[R_ESP] = STACK3 - 8;
	put32(STACK3 - 8, 0x11111111);
	put32(STACK3 - 4, 0x22222222);
	ck_assert_int_eq(RUN(0x9A, 0, 0, 0, 0, SEL_GATE | 3, 0), EXIT_NONE);    /* call far gate:0 */
	ck_assert_int_eq(c->cpl, 0);
	ck_assert_uint_eq(c->eip, 0x6000);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CODE0);
	ck_assert_uint_eq(c->seg[S_SS].sel, SEL_DATA0);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 24);
	ck_assert_uint_eq(get32(STACK0 - 4), SEL_DATA3 | 3);      /* old SS */
	ck_assert_uint_eq(get32(STACK0 - 8), STACK3 - 8);         /* old ESP */
	ck_assert_uint_eq(get32(STACK0 - 12), 0x22222222);        /* parameters, same layout */
	ck_assert_uint_eq(get32(STACK0 - 16), 0x11111111);
	ck_assert_uint_eq(get32(STACK0 - 20), SEL_CODE3 | 3);     /* old CS */
	ck_assert_uint_eq(get32(STACK0 - 24), CODE + 7);          /* return EIP */
	/* retf 8 back to ring 3 releases the parameters on both stacks */
	ck_assert_int_eq(RUN(0xCA, 0x08, 0x00), EXIT_NONE);
	ck_assert_int_eq(c->cpl, 3);
	ck_assert_uint_eq(c->eip, CODE + 7);
	ck_assert_uint_eq(c->regs[R_ESP], STACK3);
	/* a DPL-0 gate from ring 3, and the same gate by JMP (no privilege change): #GP */
	set_gdt(SEL_GATE, (uint64_t)(0x8000u | 0xC00u) << 32 | SEL_CODE0 << 16);
	expect_exc(RUN(0x9A, 0, 0, 0, 0, SEL_GATE | 3, 0), EXC_GP, SEL_GATE);
	set_gdt(SEL_GATE, (uint64_t)(0x8000u | 0xC00u | 3u << 13) << 32 | SEL_CODE0 << 16);
	expect_exc(RUN(0xEA, 0, 0, 0, 0, SEL_GATE | 3, 0), EXC_GP, SEL_CODE0);
	ck_assert_int_eq(c->cpl, 3);
}
END_TEST

START_TEST(test_rdpmc)
{
	c->regs[R_ECX] = 1;
	c->regs[R_EAX] = c->regs[R_EDX] = 0x5555;
	ck_assert_int_eq(RUN(0x0F, 0x33), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_EAX], 0);
	ck_assert_uint_eq(c->regs[R_EDX], 0);
	c->regs[R_ECX] = 2;
	expect_exc(RUN(0x0F, 0x33), EXC_GP, 0);                 /* no such counter */
	go_ring3(3);
	c->regs[R_ECX] = 0;
	expect_exc(RUN(0x0F, 0x33), EXC_GP, 0);                 /* CR4.PCE = 0 */
	c->cr4 |= CR4_PCE;
	ck_assert_int_eq(RUN(0x0F, 0x33), EXIT_NONE);
}
END_TEST

START_TEST(test_sysenter_sysexit)
{
	go_ring3(0);
	expect_exc(RUN(0x0F, 0x34), EXC_GP, 0);                 /* SYSENTER_CS = 0 */
	c->msr_sysenter_cs = SEL_CODE0;
	c->msr_sysenter_esp = STACK0;
	c->msr_sysenter_eip = 0x6000;
	c->eflags |= FL_IF;
	ck_assert_int_eq(RUN(0x0F, 0x34), EXIT_NONE);
	ck_assert_int_eq(c->cpl, 0);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CODE0);
	ck_assert_uint_eq(c->seg[S_SS].sel, SEL_DATA0);
	ck_assert_uint_eq(c->seg[S_SS].attr, 0xCF93);
	ck_assert_uint_eq(c->eip, 0x6000);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0);
	ck_assert(!(c->eflags & FL_IF));
	c->regs[R_ECX] = STACK3;
	c->regs[R_EDX] = 0x7000;
	ck_assert_int_eq(RUN(0x0F, 0x35), EXIT_NONE);
	ck_assert_int_eq(c->cpl, 3);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CODE3 | 3);
	ck_assert_uint_eq(c->seg[S_SS].sel, SEL_DATA3 | 3);
	ck_assert_uint_eq(c->eip, 0x7000);
	ck_assert_uint_eq(c->regs[R_ESP], STACK3);
	expect_exc(RUN(0x0F, 0x35), EXC_GP, 0);                 /* SYSEXIT at CPL 3 */
}
END_TEST

/* --- system registers ----------------------------------------------------------------- */
static int mov_cr(int n, uint32_t v)
{
	uint8_t b[3] = { 0x0F, 0x22, (uint8_t)(0xC0 | n << 3) };   /* mov crN, eax */
	c->regs[R_EAX] = v;
	return run_at(CODE, b, 3);
}

START_TEST(test_mov_cr)
{
	expect_exc(mov_cr(0, CR0_PG), EXC_GP, 0);                 /* PG without PE */
	expect_exc(mov_cr(0, CR0_PE | CR0_NW), EXC_GP, 0);        /* NW without CD */
	ck_assert_int_eq(mov_cr(0, CR0_PE | CR0_TS | 0x40), EXIT_NONE);
	ck_assert_uint_eq(c->cr0, CR0_PE | CR0_TS | CR0_ET);      /* ET forced, bit 6 ignored */
	ck_assert_int_eq(RUN(0x0F, 0x06), EXIT_NONE);              /* clts */
	ck_assert_uint_eq(c->cr0, CR0_PE | CR0_ET);
	expect_exc(mov_cr(4, CR4_PAE), EXC_GP, 0);
	expect_exc(mov_cr(4, CR4_VME), EXC_GP, 0);
	expect_exc(mov_cr(4, CR4_DE), EXC_GP, 0);
	ck_assert_int_eq(mov_cr(4, CR4_PSE | CR4_PGE | CR4_OSFXSR), EXIT_NONE);
	ck_assert_uint_eq(c->cr4, CR4_PSE | CR4_PGE | CR4_OSFXSR);
	ck_assert_int_eq(mov_cr(3, 0x123000), EXIT_NONE);
	ck_assert_int_eq(mov_cr(2, 0xDEAD), EXIT_NONE);
	c->regs[R_EAX] = 0;
	ck_assert_int_eq(RUN(0x0F, 0x20, 0xD8), EXIT_NONE);        /* mov eax, cr3 */
	ck_assert_uint_eq(c->regs[R_EAX], 0x123000);
	ck_assert_int_eq(RUN(0x0F, 0x20, 0xD0), EXIT_NONE);        /* mov eax, cr2 */
	ck_assert_uint_eq(c->regs[R_EAX], 0xDEAD);
	expect_exc(RUN(0x0F, 0x22, 0xC8), EXC_UD, 0);              /* mov cr1, eax */
	ck_assert_int_eq(mov_cr(0, 0), EXIT_SHUTDOWN);             /* real mode: unsupported */
	go_ring3(3);
	expect_exc(RUN(0x0F, 0x20, 0xC0), EXC_GP, 0);
	expect_exc(mov_cr(3, 0), EXC_GP, 0);
}
END_TEST

START_TEST(test_msw_and_dr)
{
	c->regs[R_EAX] = 0xFFFFFFFF;
	ck_assert_int_eq(RUN(0x0F, 0x01, 0xE0), EXIT_NONE);        /* smsw eax */
	ck_assert_uint_eq(c->regs[R_EAX], CR0_PE | CR0_ET);
	c->regs[R_EAX] = CR0_TS;
	ck_assert_int_eq(RUN(0x0F, 0x01, 0xF0), EXIT_NONE);        /* lmsw ax: PE stays */
	ck_assert_uint_eq(c->cr0, CR0_PE | CR0_ET | CR0_TS);
	c->regs[R_EAX] = 0xFFFFDFFF;
	ck_assert_int_eq(RUN(0x0F, 0x23, 0xF8), EXIT_NONE);        /* mov dr7, eax */
	ck_assert_uint_eq(c->dr[7], 0xFFFF07FF);                   /* fixed bits kept */
	ck_assert_int_eq(RUN(0x0F, 0x21, 0xE0), EXIT_NONE);        /* mov eax, dr4 = dr6 */
	ck_assert_uint_eq(c->regs[R_EAX], 0xFFFF0FF0);
	c->regs[R_EAX] = 0x2000;
	ck_assert_int_eq(RUN(0x0F, 0x23, 0xF8), EXIT_NONE);        /* DR7.GD = 1 */
	ck_assert_uint_eq(c->dr[7], 0x2400);
	/* the next debug-register access is #DB with DR6.BD */
	expect_exc(RUN(0x0F, 0x21, 0xF0), EXC_DB, 0);
	ck_assert(c->dr[6] & 0x2000);
	ck_assert(!(c->dr[7] & 0x2000));
	go_ring3(0);
	c->regs[R_EAX] = 0;
	ck_assert_int_eq(RUN(0x0F, 0x01, 0xE0), EXIT_NONE);        /* smsw works at CPL 3 */
	ck_assert_uint_eq(c->regs[R_EAX], CR0_PE | CR0_ET | CR0_TS);
	expect_exc(RUN(0x0F, 0x01, 0xF0), EXC_GP, 0);              /* lmsw does not */
}
END_TEST

START_TEST(test_descriptor_tables)
{
	uint8_t want[6] = { 0x8F, 0x00, 0x00, 0x10, 0x00, 0x00 };

	c->gdtr.base = 0x00001000;
	c->regs[R_EBX] = DATA;
	memset(vm.ram + DATA, 0xEE, 8);
	ck_assert_int_eq(RUN(0x0F, 0x01, 0x03), EXIT_NONE);        /* sgdt [ebx] */
	ck_assert_mem_eq(vm.ram + DATA, want, 6);
	ck_assert_uint_eq(vm.ram[DATA + 6], 0xEE);
	c->idtr.base = 0xC1234000;
	ck_assert_int_eq(RUN(0x66, 0x0F, 0x01, 0x0B), EXIT_NONE);  /* o16 sidt: full base */
	ck_assert_uint_eq(get16(DATA), 256 * 8 - 1);
	ck_assert_uint_eq(get32(DATA + 2), 0xC1234000);
	put16(DATA, 0x27);
	put32(DATA + 2, 0xAB123456);
	ck_assert_int_eq(RUN(0x66, 0x0F, 0x01, 0x13), EXIT_NONE);  /* o16 lgdt: 24-bit base */
	ck_assert_uint_eq(c->gdtr.base, 0x00123456);
	ck_assert_uint_eq(c->gdtr.limit, 0x27);
	ck_assert_int_eq(RUN(0x0F, 0x01, 0x1B), EXIT_NONE);        /* lidt [ebx] */
	ck_assert_uint_eq(c->idtr.base, 0xAB123456);
	c->gdtr = (struct dtr){ GDT_BASE, GDT_ENTRIES * 8 - 1 };
	go_ring3(0);
	ck_assert_int_eq(RUN(0x0F, 0x01, 0x03), EXIT_NONE);        /* sgdt at CPL 3: allowed */
	expect_exc(RUN(0x0F, 0x01, 0x13), EXC_GP, 0);
	c->cr4 |= CR4_UMIP;                                          /* ... unless UMIP */
	expect_exc(RUN(0x0F, 0x01, 0x03), EXC_GP, 0);
	expect_exc(RUN(0x0F, 0x01, 0x0B), EXC_GP, 0);               /* sidt */
	expect_exc(RUN(0x0F, 0x01, 0x23), EXC_GP, 0);               /* smsw [ebx] */
	expect_exc(RUN(0x0F, 0x00, 0x03), EXC_GP, 0);               /* sldt [ebx] */
	expect_exc(RUN(0x0F, 0x00, 0x0B), EXC_GP, 0);               /* str [ebx] */
}
END_TEST

START_TEST(test_cpuid)
{
	uint32_t o[4], o1[4], b[12];
	char brand[49];

	emu_cpuid(0, 0, o);
	ck_assert_uint_eq(o[0], 0x15);          /* the highest basic leaf: 0x15, the TSC ratio */
	ck_assert_mem_eq(&o[1], "Genu", 4);
	ck_assert_mem_eq(&o[3], "ineI", 4);
	ck_assert_mem_eq(&o[2], "ntel", 4);
	emu_cpuid(1, 0, o1);
	ck_assert_uint_eq((o1[0] >> 8) & 0xF, 6);
	ck_assert_uint_eq((o1[0] >> 4) & 0xF, 3);
	ck_assert_uint_eq(o1[2], 0);
	ck_assert_uint_eq(o1[3], 0x0780AB39);   /* FPU PSE TSC MSR CX8 APIC SEP PGE CMOV MMX FXSR SSE SSE2 */
	ck_assert(!(o1[3] & (1u << 6)));        /* no PAE */
	ck_assert(o1[3] & (1u << 9));           /* the local APIC (devices/lapic.c) */
	emu_cpuid(7, 0, o1);
	ck_assert_uint_eq(o1[2], 1u << 2);       /* leaf 7: UMIP only */
	ck_assert_uint_eq(o1[0] | o1[1] | o1[3], 0);
	emu_cpuid(8, 0, o);                     /* inside the range, nothing to say */
	ck_assert_uint_eq(o[0] | o[1] | o[2] | o[3], 0);
	emu_cpuid(0, 0, o);
	ck_assert_uint_eq(o[0], 0x15);
	emu_set_tsc_khz(2596138);               /* leaf 0x15: Linux's crystal_khz * EBX / EAX */
	emu_cpuid(0x15, 0, o1);
	ck_assert_uint_eq(o1[2], 1000000000u);  /* the LAPIC timer's clock */
	uint64_t prod = o1[2] / 1000 * (uint64_t)o1[1];
	ck_assert_uint_le(prod, 0xFFFFFFFFu);
	ck_assert_uint_ge(prod / o1[0], 2596138 - 3);
	ck_assert_uint_le(prod / o1[0], 2596138 + 3);
	emu_cpuid(0x16, 0, o);                  /* above the maximum: the highest basic leaf */
	ck_assert_mem_eq(o, o1, 16);
	emu_set_tsc_khz(0);
	emu_cpuid(0x15, 0, o1);
	ck_assert_uint_eq(o1[0] | o1[1] | o1[2] | o1[3], 0);
	emu_cpuid(0x80000000u, 0, o);
	ck_assert_uint_eq(o[0], 0x80000004u);
	for (unsigned i = 0; i < 3; i++)
		emu_cpuid(0x80000002u + i, 0, &b[4 * i]);
	memcpy(brand, b, 48);
	brand[48] = 0;
	ck_assert_str_eq(brand, "vmm386 virtual i686 CPU");
	/* through emu_step */
	c->regs[R_EAX] = 0;
	ck_assert_int_eq(RUN(0x0F, 0xA2), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_EAX], 0x15);
	ck_assert_uint_eq(c->regs[R_EBX], 0x756E6547);   /* "Genu" */
}
END_TEST

START_TEST(test_msr_tsc)
{
	c->regs[R_ECX] = 0x174;
	c->regs[R_EAX] = SEL_CODE0;
	c->regs[R_EDX] = 0;
	ck_assert_int_eq(RUN(0x0F, 0x30), EXIT_NONE);
	ck_assert_uint_eq(c->msr_sysenter_cs, SEL_CODE0);
	c->regs[R_EAX] = 0;
	ck_assert_int_eq(RUN(0x0F, 0x32), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_EAX], SEL_CODE0);
	c->regs[R_ECX] = 0x1234;
	expect_exc(RUN(0x0F, 0x32), EXC_GP, 0);
	expect_exc(RUN(0x0F, 0x30), EXC_GP, 0);
	c->regs[R_ECX] = 0x10;                 /* TSC := 0 */
	c->regs[R_EAX] = c->regs[R_EDX] = 0;
	ck_assert_int_eq(RUN(0x0F, 0x30), EXIT_NONE);
	ck_assert_int_eq(RUN(0x0F, 0x31), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_EDX], 0);
	ck_assert_uint_lt(c->regs[R_EAX], 0x80000000u);
	go_ring3(0);
	ck_assert_int_eq(RUN(0x0F, 0x31), EXIT_NONE);
	c->cr4 |= CR4_TSD;
	expect_exc(RUN(0x0F, 0x31), EXC_GP, 0);
	c->regs[R_ECX] = 0x10;
	expect_exc(RUN(0x0F, 0x32), EXC_GP, 0);
}
END_TEST

/* --- port I/O --------------------------------------------------------------------------- */
START_TEST(test_in_out)
{
	c->regs[R_EAX] = 0x12345678;
	ck_assert_int_eq(RUN(0xE6, 0x80), EXIT_NONE);              /* out 0x80, al */
	ck_assert_uint_eq(pio_last_port, 0x80);
	ck_assert_int_eq(pio_last_size, 1);
	ck_assert_uint_eq(pio_last_val, 0x78);
	c->regs[R_EDX] = 0x3F8;
	ck_assert_int_eq(RUN(0xEC), EXIT_NONE);                    /* in al, dx */
	ck_assert_uint_eq(c->regs[R_EAX], 0x123456A6);
	ck_assert_int_eq(RUN(0x66, 0xED), EXIT_NONE);              /* in ax, dx */
	ck_assert_uint_eq(c->regs[R_EAX], 0x1234A5A7);
	ck_assert_int_eq(pio_last_size, 2);
	ck_assert_int_eq(RUN(0xED), EXIT_NONE);                    /* in eax, dx */
	ck_assert_uint_eq(c->regs[R_EAX], 0xA5A5A5A8);
	ck_assert_int_eq(RUN(0xEF), EXIT_NONE);                    /* out dx, eax */
	ck_assert_int_eq(pio_last_size, 4);
	ck_assert_uint_eq(pio_last_val, 0xA5A5A5A8);
}
END_TEST

START_TEST(test_io_bitmap)
{
	go_ring3(0);
	ck_assert_int_eq(RUN(0xE6, 0x80), EXIT_NONE);              /* allowed in the bitmap */
	expect_exc(RUN(0xE6, 0x81), EXC_GP, 0);
	c->regs[R_EDX] = 0x3FF;
	ck_assert_int_eq(RUN(0xEC), EXIT_NONE);
	expect_exc(RUN(0x66, 0xED), EXC_GP, 0);                    /* 0x3FF-0x400: 0x400 denied */
	c->regs[R_EDX] = 0x3FC;
	ck_assert_int_eq(RUN(0xED), EXIT_NONE);                    /* 0x3FC-0x3FF */
	c->regs[R_EDX] = 0x408;
	expect_exc(RUN(0xEC), EXC_GP, 0);                          /* beyond the TSS limit */
	pio_writes = 0;
	go_ring3(3);                                               /* CPL <= IOPL: no bitmap */
	ck_assert_int_eq(RUN(0xE6, 0x81), EXIT_NONE);
	ck_assert_uint_eq(pio_writes, 1);
}
END_TEST

START_TEST(test_string_io)
{
	memcpy(vm.ram + DATA, "abc", 3);
	c->regs[R_ESI] = DATA;
	c->regs[R_ECX] = 3;
	c->regs[R_EDX] = 0x80;
	ck_assert_int_eq(RUN(0xF3, 0x6E), EXIT_NONE);              /* rep outsb */
	ck_assert_uint_eq(pio_writes, 3);
	ck_assert_uint_eq(pio_last_val, 'c');
	ck_assert_uint_eq(c->regs[R_ECX], 0);
	ck_assert_uint_eq(c->regs[R_ESI], DATA + 3);
	ck_assert_uint_eq(c->eip, CODE + 2);
	c->regs[R_EDI] = DATA + 0x100;
	c->regs[R_ECX] = 2;
	c->eflags |= FL_DF;
	ck_assert_int_eq(RUN(0xF3, 0x66, 0x6D), EXIT_NONE);        /* rep insw, backwards */
	ck_assert_uint_eq(get16(DATA + 0x100), 0xA5A6);
	ck_assert_uint_eq(get16(DATA + 0xFE), 0xA5A7);
	ck_assert_uint_eq(c->regs[R_EDI], DATA + 0xFC);
	/* a fault stops before the port is read, ECX/EDI at the faulting element */
	ck_assert_int_eq(emu_load_seg(c, S_ES, SEL_SMALL), 0);
	c->eflags &= ~FL_DF;
	c->regs[R_EDI] = 0xFC;
	c->regs[R_ECX] = 4;
	pio_reads = 0;
	expect_exc(RUN(0xF3, 0x6D), EXC_GP, 0);                    /* rep insd */
	ck_assert_uint_eq(pio_reads, 1);
	ck_assert_uint_eq(c->regs[R_EDI], 0x100);
	ck_assert_uint_eq(c->regs[R_ECX], 3);
	/* fs: override on outs */
	ck_assert_int_eq(emu_load_seg(c, S_FS, SEL_SMALL), 0);
	vm.ram[DATA + 5] = 'z';
	c->regs[R_ESI] = 5;
	ck_assert_int_eq(RUN(0x64, 0x6E), EXIT_NONE);
	ck_assert_uint_eq(pio_last_val, 'z');
}
END_TEST

/* --- segment-register instructions and the stack ----------------------------------------- */
START_TEST(test_push_pop_segments)
{
	put32(STACK0 - 4, 0xFFFFFFFF);
	ck_assert_int_eq(RUN(0x1E), EXIT_NONE);                    /* push ds: 4 bytes */
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 4);
	ck_assert_uint_eq(get32(STACK0 - 4), SEL_DATA0);
	ck_assert_int_eq(RUN(0x0F, 0xA1), EXIT_NONE);              /* pop fs */
	ck_assert_uint_eq(c->seg[S_FS].sel, SEL_DATA0);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0);
	put32(STACK0 - 4, SEL_NP);
	c->regs[R_ESP] = STACK0 - 4;
	expect_exc(RUN(0x1F), EXC_NP, SEL_NP);                     /* pop ds: fault, ESP kept */
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 4);
	put32(STACK0 - 4, SEL_DATA0);
	ck_assert_int_eq(RUN(0x17), EXIT_NONE);                    /* pop ss */
	ck_assert(c->intr_inhibit);
	ck_assert_int_eq(RUN(0x66, 0x06), EXIT_NONE);              /* o16 push es */
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 2);
	ck_assert_uint_eq(get16(STACK0 - 2), SEL_DATA0);
	ck_assert(!c->intr_inhibit);
}
END_TEST

START_TEST(test_mov_sreg)
{
	c->regs[R_EAX] = SEL_SMALL;
	ck_assert_int_eq(RUN(0x8E, 0xE0), EXIT_NONE);              /* mov fs, ax */
	ck_assert_uint_eq(c->seg[S_FS].base, DATA);
	c->regs[R_EAX] = 0xFFFFFFFF;
	ck_assert_int_eq(RUN(0x8C, 0xE0), EXIT_NONE);              /* mov eax, fs: zero-extended */
	ck_assert_uint_eq(c->regs[R_EAX], SEL_SMALL);
	c->regs[R_EAX] = 0xFFFFFFFF;
	ck_assert_int_eq(RUN(0x66, 0x8C, 0xE0), EXIT_NONE);        /* mov ax, fs */
	ck_assert_uint_eq(c->regs[R_EAX], 0xFFFF0000u | SEL_SMALL);
	put32(DATA, 0xFFFFFFFF);
	c->regs[R_EBX] = DATA;
	ck_assert_int_eq(RUN(0x8C, 0x23), EXIT_NONE);              /* mov [ebx], fs: 2 bytes */
	ck_assert_uint_eq(get32(DATA), 0xFFFF0000u | SEL_SMALL);
	c->regs[R_EAX] = SEL_DATA0;
	ck_assert_int_eq(RUN(0x8E, 0xD0), EXIT_NONE);              /* mov ss, ax */
	ck_assert(c->intr_inhibit);
	c->regs[R_EAX] = SEL_XO;
	expect_exc(RUN(0x8E, 0xD8), EXC_GP, SEL_XO);
	/* segment override and 16-bit addressing in effective addresses */
	put32(DATA + 0x10, 0xA1B2C3D4);
	ck_assert_int_eq(RUN(0x64, 0xA1, 0x10, 0x00, 0x00, 0x00), EXIT_NONE);  /* mov eax, fs:[0x10] */
	ck_assert_uint_eq(c->regs[R_EAX], 0xA1B2C3D4);
	expect_exc(RUN(0x64, 0xA1, 0x00, 0x01, 0x00, 0x00), EXC_GP, 0);        /* beyond limit */
	put32(0x130, 0x55667788);
	c->regs[R_EBP] = 0x100;
	c->regs[R_ESI] = 0x10020;
	ck_assert_int_eq(RUN(0x67, 0x8B, 0x42, 0x10), EXIT_NONE);  /* mov eax, [bp+si+0x10] */
	ck_assert_uint_eq(c->regs[R_EAX], 0x55667788);
}
END_TEST

START_TEST(test_lds)
{
	put32(DATA, 0x12345678);
	put16(DATA + 4, SEL_SMALL);
	c->regs[R_EBX] = DATA;
	ck_assert_int_eq(RUN(0xC5, 0x33), EXIT_NONE);              /* lds esi, [ebx] */
	ck_assert_uint_eq(c->regs[R_ESI], 0x12345678);
	ck_assert_uint_eq(c->seg[S_DS].base, DATA);
	ck_assert_int_eq(emu_load_seg(c, S_DS, SEL_DATA0), 0);
	put16(DATA + 4, SEL_RO);
	c->regs[R_ESI] = 0;
	expect_exc(RUN(0x0F, 0xB2, 0x33), EXC_GP, SEL_RO);         /* lss: read-only */
	ck_assert_uint_eq(c->regs[R_ESI], 0);
	put16(DATA + 2, SEL_DATA0);
	ck_assert_int_eq(RUN(0x66, 0x0F, 0xB4, 0x33), EXIT_NONE);  /* o16 lfs si, [ebx] */
	ck_assert_uint_eq(c->regs[R_ESI], 0x5678);
	ck_assert_uint_eq(c->seg[S_FS].sel, SEL_DATA0);
}
END_TEST

START_TEST(test_pusha_popa)
{
	uint32_t v[8] = { 1, 2, 3, 4, 0, 6, 7, 8 };

	memcpy(c->regs, v, sizeof(v));
	c->regs[R_ESP] = STACK0;
	ck_assert_int_eq(RUN(0x60), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 32);
	ck_assert_uint_eq(get32(STACK0 - 4), 1);                    /* EAX first */
	ck_assert_uint_eq(get32(STACK0 - 20), STACK0);              /* original ESP */
	ck_assert_uint_eq(get32(STACK0 - 32), 8);                   /* EDI last */
	put32(STACK0 - 20, 0xBAD);
	memset(c->regs, 0, 16);
	c->regs[R_EDI] = 0;
	ck_assert_int_eq(RUN(0x61), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_EAX], 1);
	ck_assert_uint_eq(c->regs[R_EDI], 8);
	ck_assert_uint_eq(c->regs[R_ESP], STACK0);                  /* not the popped 0xBAD */
	c->regs[R_EAX] = 0xFFFF0001;
	ck_assert_int_eq(RUN(0x66, 0x60), EXIT_NONE);               /* pushaw */
	ck_assert_uint_eq(c->regs[R_ESP], STACK0 - 16);
	ck_assert_uint_eq(get16(STACK0 - 2), 1);
	c->regs[R_EAX] = 0xFFFF0000;
	ck_assert_int_eq(RUN(0x66, 0x61), EXIT_NONE);               /* popaw */
	ck_assert_uint_eq(c->regs[R_EAX], 0xFFFF0001);
}
END_TEST

START_TEST(test_misc_instructions)
{
	c->regs[R_EAX] = 0x10;
	c->regs[R_ECX] = 3;
	ck_assert_int_eq(RUN(0x63, 0xC8), EXIT_NONE);              /* arpl ax, cx */
	ck_assert_uint_eq(c->regs[R_EAX], 0x13);
	ck_assert(c->eflags & FL_ZF);
	ck_assert_int_eq(RUN(0x63, 0xC8), EXIT_NONE);
	ck_assert(!(c->eflags & FL_ZF));
	put32(DATA, 0);
	put32(DATA + 4, 4);
	c->regs[R_EBX] = DATA;
	c->regs[R_EAX] = 4;
	ck_assert_int_eq(RUN(0x62, 0x03), EXIT_NONE);              /* bound eax, [ebx] */
	c->regs[R_EAX] = 5;
	expect_exc(RUN(0x62, 0x03), EXC_BR, 0);
	c->regs[R_EAX] = 0xFFFFFFFF;
	expect_exc(RUN(0x62, 0x03), EXC_BR, 0);                    /* signed: -1 < 0 */
	c->regs[R_EAX] = 0x1B;
	expect_exc(RUN(0xD4, 0x00), EXC_DE, 0);                    /* aam 0 */
	ck_assert_int_eq(RUN(0xD4, 0x0A), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_EAX] & 0xFFFF, 0x0207);
	c->eflags |= FL_CF;
	ck_assert_int_eq(RUN(0xD6), EXIT_NONE);                    /* salc */
	ck_assert_uint_eq(c->regs[R_EAX] & 0xFF, 0xFF);
	c->eflags &= ~FL_OF;
	ck_assert_int_eq(RUN(0xCE), EXIT_NONE);                    /* into, OF = 0 */
	ck_assert_uint_eq(c->eip, CODE + 1);
	c->eflags |= FL_OF;
	ck_assert_int_eq(RUN(0xCE), EXIT_NONE);
	ck_assert_uint_eq(c->eip, handler(EXC_OF));
	ck_assert_uint_eq(get32(c->regs[R_ESP]), CODE + 1);        /* trap: EIP after INTO */
	expect_exc(RUN(0x0F, 0x0B), EXC_UD, 0);                    /* ud2 */
	expect_exc(RUN(0xF0, 0x89, 0x03), EXC_UD, 0);              /* lock mov */
	expect_exc(RUN(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		       0x66, 0x66, 0x66, 0x90), EXC_GP, 0);                /* 16 bytes */
	ck_assert_int_eq(RUN(0x0F, 0x01, 0x38), EXIT_NONE);   /* invlpg [eax] */
}
END_TEST

START_TEST(test_single_step)
{
	c->eflags |= FL_TF | FL_IF;
	ck_assert_int_eq(RUN(0xFA), EXIT_EXCEPTION);               /* cli completes, then #DB */
	ck_assert_int_eq(c->exc_vector, EXC_DB);
	ck_assert_uint_eq(c->eip, CODE + 1);
	ck_assert(!(c->eflags & FL_IF));
	ck_assert(c->dr[6] & 0x4000);
}
END_TEST

/* --- paging and instruction fetch -------------------------------------------------------- */
#define PD 0x100000u
#define PT 0x101000u

static void enable_paging(void)
{
	put32(PD, 0x000000E7);                 /* 4 MiB identity page: P W U PS (+A D) */
	put32(PD + 4, PT | 0x7);               /* 0x400000-0x7FFFFF through PT */
	put32(PT + 0, 0x200000 | 0x3);         /* 0x400000: supervisor, writable */
	put32(PT + 4, 0x201000 | 0x5);         /* 0x401000: user, read-only */
	ck_assert_int_eq(mov_cr(4, CR4_PSE), EXIT_NONE);
	ck_assert_int_eq(mov_cr(3, PD), EXIT_NONE);
	ck_assert_int_eq(mov_cr(0, CR0_PE | CR0_PG), EXIT_NONE);
}

static void expect_pf(int r, uint32_t cr2, uint32_t err)
{
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(c->exc_vector, EXC_PF);
	ck_assert_uint_eq(c->exc_error, err);
	ck_assert_uint_eq(c->cr2, cr2);
}

START_TEST(test_paging)
{
	uint32_t v = 0;

	enable_paging();
	put32(0x200010, 0x31415926);
	ck_assert_int_eq(emu_lin_read(c, 0x400010, &v, 4), 0);
	ck_assert_uint_eq(v, 0x31415926);
	ck_assert_uint_eq(get32(PD + 4) & 0x60, 0x20);             /* PDE accessed */
	ck_assert_uint_eq(get32(PT) & 0x60, 0x20);                 /* PTE accessed, not dirty */
	ck_assert_int_eq(emu_lin_write(c, 0x400010, &v, 4), 0);
	ck_assert_uint_eq(get32(PT) & 0x60, 0x60);                 /* now dirty */
	expect_pf(emu_lin_read(c, 0x402000, &v, 4), 0x402000, 0);  /* not present */
	expect_pf(emu_lin_read(c, 0x401FFE, &v, 4), 0x402000, 0);  /* second page */
	ck_assert_int_eq(emu_lin_write(c, 0x401000, &v, 4), 0);    /* WP = 0 */
	ck_assert_int_eq(mov_cr(0, CR0_PE | CR0_PG | CR0_WP), EXIT_NONE);
	expect_pf(emu_lin_write(c, 0x401000, &v, 4), 0x401000, 3);
	go_ring3(0);
	expect_pf(emu_lin_read(c, 0x400000, &v, 4), 0x400000, 5);
	expect_pf(emu_lin_write(c, 0x401000, &v, 4), 0x401000, 7);
	ck_assert_int_eq(emu_lin_read(c, 0x401000, &v, 4), 0);
	expect_pf(emu_lin_write(c, 0x402000, &v, 4), 0x402000, 6);
}
END_TEST

START_TEST(test_fetch)
{
	static const uint8_t mov_eax_cr0[3] = { 0x0F, 0x20, 0xC0 }, cpuid[2] = { 0x0F, 0xA2 };

	enable_paging();
	/* an instruction ending exactly at a page end: its next page is never touched */
	memcpy(vm.ram + 0x201FFE, cpuid, 2);
	c->eip = 0x401FFE;
	ck_assert_int_eq(emu_step(c), EXIT_NONE);
	ck_assert_uint_eq(c->eip, 0x402000);
	/* one running into the missing page faults there, EIP unchanged */
	memcpy(vm.ram + 0x201FFE, mov_eax_cr0, 2);
	c->eip = 0x401FFE;
	ck_assert_int_eq(emu_step(c), EXIT_EXCEPTION);
	ck_assert_int_eq(c->exc_vector, EXC_PF);
	ck_assert_uint_eq(c->exc_error, 0);
	ck_assert_uint_eq(c->cr2, 0x402000);
	ck_assert_uint_eq(c->eip, 0x401FFE);
	/* the CS limit */
	c->seg[S_CS].limit = CODE + 1;
	expect_exc(run_at(CODE, mov_eax_cr0, 3), EXC_GP, 0);
	c->seg[S_CS].limit = CODE - 1;
	expect_exc(run_at(CODE, cpuid, 2), EXC_GP, 0);
}
END_TEST

START_TEST(test_code16)
{
	/* a 16-bit code segment decodes with 16-bit defaults */
	ck_assert_int_eq(RUN(0xEA, 0x00, 0x80, 0x00, 0x00, SEL_CODE16, 0x00), EXIT_NONE);
	ck_assert_uint_eq(c->seg[S_CS].sel, SEL_CODE16);
	c->regs[R_EAX] = 0xFFFF0000;
	c->regs[R_EBX] = DATA;
	put32(DATA, 0x11112222);
	ck_assert_int_eq(run_at(0x8000, (const uint8_t[]){ 0x67, 0x8B, 0x03 }, 3), EXIT_NONE);
	ck_assert_uint_eq(c->regs[R_EAX], 0xFFFF2222);             /* mov ax, [ebx] */
	ck_assert_uint_eq(c->eip, 0x8003);
}
END_TEST

/* --- arithmetic against the host CPU ------------------------------------------------------- */
#define HOST_OP(name, insn)                                                             \
	static uint32_t name(uint32_t a, uint32_t b, uint64_t *fl)                     \
	{                                                                               \
		uint64_t f = *fl;                                                       \
		__asm__("push %[f]\n\tpopfq\n\t" insn "\n\tpushfq\n\tpop %[f]"          \
			: [a] "+r"(a), [f] "+r"(f) : [b] "r"(b) : "cc");                \
		*fl = f;                                                                \
		return a;                                                               \
	}
#define HOST_OPS(op)                                                                     \
	HOST_OP(host_##op##b, #op "b %b[b], %b[a]")                                     \
	HOST_OP(host_##op##w, #op "w %w[b], %w[a]")                                     \
	HOST_OP(host_##op##l, #op "l %k[b], %k[a]")
HOST_OPS(add) HOST_OPS(or) HOST_OPS(adc) HOST_OPS(sbb) HOST_OPS(and) HOST_OPS(sub)
HOST_OPS(xor) HOST_OPS(cmp) HOST_OPS(test)

typedef uint32_t (*host_fn)(uint32_t, uint32_t, uint64_t *);
static const struct { uint8_t opc; host_fn f[3]; } alu_ops[] = {
	{ 0x00, { host_addb, host_addw, host_addl } }, { 0x08, { host_orb, host_orw, host_orl } },
	{ 0x10, { host_adcb, host_adcw, host_adcl } }, { 0x18, { host_sbbb, host_sbbw, host_sbbl } },
	{ 0x20, { host_andb, host_andw, host_andl } }, { 0x28, { host_subb, host_subw, host_subl } },
	{ 0x30, { host_xorb, host_xorw, host_xorl } }, { 0x38, { host_cmpb, host_cmpw, host_cmpl } },
	{ 0x84, { host_testb, host_testw, host_testl } },
};

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) ^ (rnd_state << 13);
}

START_TEST(test_alu_vs_host)
{
	static const uint32_t edge[] = { 0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
					 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 0x0F, 0x10 };
	c->regs[R_EBX] = DATA;
	for (unsigned i = 0; i < 20000; i++) {
		unsigned op = i % 9, sz = (i / 9) % 3, bytes = 1u << sz;
		uint32_t a = i < 2000 ? edge[i % 13] : rnd(), b = i < 2000 ? edge[(i / 13) % 13] : rnd();
		uint64_t hf = (rnd() & 1) | 0x2;
		uint32_t m = bytes == 4 ? 0xFFFFFFFFu : (1u << (8 * bytes)) - 1, want, got = 0;
		uint8_t code[3] = { 0x66, (uint8_t)(alu_ops[op].opc | (sz ? 1 : 0)), 0x03 };

		memset(vm.ram + DATA, 0xA5, 8);
		memcpy(vm.ram + DATA, &a, bytes);
		c->regs[R_EAX] = b;
		c->eflags = FL_FIXED | (uint32_t)(hf & FL_CF);
		want = alu_ops[op].f[sz](a, b, &hf) & m;
		if (alu_ops[op].opc == 0x38 || alu_ops[op].opc == 0x84)
			want = a & m;
		ck_assert_int_eq(run_at(CODE, sz == 1 ? code : code + 1, sz == 1 ? 3 : 2), EXIT_NONE);
		memcpy(&got, vm.ram + DATA, bytes);
		ck_assert_msg(got == want && (c->eflags & 0x8D5) == (hf & 0x8D5),
			      "op %02x size %u a %x b %x: got %x fl %x, host %x fl %x",
			      alu_ops[op].opc, bytes, a, b, got, c->eflags & 0x8D5, want,
			      (unsigned)(hf & 0x8D5));
		ck_assert_uint_eq(vm.ram[DATA + bytes], 0xA5);          /* nothing beyond */
	}
}
END_TEST

START_TEST(test_mov_device_memory)
{
	c->regs[R_EBX] = NOT_RAM;
	c->regs[R_EAX] = 0;
	ck_assert_int_eq(RUN(0x8B, 0x03), EXIT_NONE);              /* mov eax, [ebx] */
	ck_assert_uint_eq(c->regs[R_EAX], 0xFFFFFFFF);
	ck_assert_int_eq(RUN(0x89, 0x03), EXIT_NONE);              /* mov [ebx], eax: dropped */
	ck_assert_int_eq(RUN(0x0F, 0xB6, 0x03), EXIT_NONE);        /* movzx eax, byte [ebx] */
	ck_assert_uint_eq(c->regs[R_EAX], 0xFF);
	ck_assert_int_eq(RUN(0x0F, 0xBF, 0x03), EXIT_NONE);        /* movsx eax, word [ebx] */
	ck_assert_uint_eq(c->regs[R_EAX], 0xFFFFFFFF);
	c->regs[R_EBX] = DATA;
	ck_assert_int_eq(RUN(0xC7, 0x03, 0x78, 0x56, 0x34, 0x12), EXIT_NONE);  /* mov [ebx], imm */
	ck_assert_uint_eq(get32(DATA), 0x12345678);
	ck_assert_int_eq(RUN(0xA0, 0x01, 0x00, 0x02, 0x00), EXIT_NONE);        /* mov al, [moffs] */
	ck_assert_uint_eq(c->regs[R_EAX] & 0xFF, 0x56);
	ck_assert_int_eq(RUN(0x83, 0x03, 0xFF), EXIT_NONE);        /* add dword [ebx], -1 */
	ck_assert_uint_eq(get32(DATA), 0x12345677);
	ck_assert(c->eflags & FL_CF);
}
END_TEST

/* The read-modify-write, bit, multiply, exchange and SSE forms the interpreter has for device
 * memory (insn_rmw.c), on RAM where the results can be read back. */
START_TEST(test_rmw_forms)
{
	c->regs[R_EBX] = DATA;
	put32(DATA, 0x7FFFFFFF);
	c->eflags |= FL_CF;
	ck_assert_int_eq(RUN(0xFF, 0x03), EXIT_NONE);                /* inc dword [ebx] */
	ck_assert_uint_eq(get32(DATA), 0x80000000u);
	ck_assert_uint_eq(c->eflags & (FL_OF | FL_SF | FL_ZF | FL_CF), FL_OF | FL_SF | FL_CF);
	put32(DATA, 0);
	ck_assert_int_eq(RUN(0xFE, 0x0B), EXIT_NONE);                /* dec byte [ebx] */
	ck_assert_uint_eq(get32(DATA), 0xFF);
	put32(DATA, 5);
	ck_assert_int_eq(RUN(0xF7, 0x1B), EXIT_NONE);                /* neg dword [ebx] */
	ck_assert_uint_eq(get32(DATA), 0xFFFFFFFBu);
	ck_assert(c->eflags & FL_CF);
	put32(DATA, 0x00FF);
	ck_assert_int_eq(RUN(0x66, 0xF7, 0x13), EXIT_NONE);          /* not word [ebx] */
	ck_assert_uint_eq(get32(DATA), 0xFF00);
	put32(DATA + 4, 0x8);
	c->regs[R_EAX] = 35;
	ck_assert_int_eq(RUN(0x0F, 0xBB, 0x03), EXIT_NONE);          /* btc [ebx], eax: bit string */
	ck_assert_uint_eq(get32(DATA + 4), 0);
	ck_assert(c->eflags & FL_CF);
	put32(DATA - 4, 0);
	c->regs[R_EAX] = (uint32_t)-1;
	ck_assert_int_eq(RUN(0x0F, 0xAB, 0x03), EXIT_NONE);          /* bts [ebx], eax: below */
	ck_assert_uint_eq(get32(DATA - 4), 0x80000000u);
	ck_assert_int_eq(RUN(0x0F, 0xBA, 0x2B, 33), EXIT_NONE);      /* bts [ebx], 33: bit 1 */
	ck_assert_uint_eq(get32(DATA), 0xFF02);
	put32(DATA, 0x00010001);
	ck_assert_int_eq(RUN(0x0F, 0xBD, 0x03), EXIT_NONE);          /* bsr eax, [ebx] */
	ck_assert_uint_eq(c->regs[R_EAX], 16);
	ck_assert_int_eq(RUN(0x0F, 0xBC, 0x03), EXIT_NONE);          /* bsf eax, [ebx] */
	ck_assert_uint_eq(c->regs[R_EAX], 0);
	put32(DATA, 0x1234);
	ck_assert_int_eq(RUN(0x6B, 0x03, 0x33), EXIT_NONE);          /* imul eax, [ebx], 0x33 */
	ck_assert_uint_eq(c->regs[R_EAX], 0x3A05C);
	put32(DATA, 0x10000);
	c->regs[R_EAX] = 0x10000;
	ck_assert_int_eq(RUN(0x0F, 0xAF, 0x03), EXIT_NONE);          /* imul eax, [ebx] */
	ck_assert_uint_eq(c->regs[R_EAX], 0);
	ck_assert_uint_eq(c->eflags & (FL_CF | FL_OF), FL_CF | FL_OF);
	put32(DATA, 3);
	c->regs[R_EAX] = (uint32_t)-2;
	ck_assert_int_eq(RUN(0xF7, 0x2B), EXIT_NONE);                /* imul dword [ebx] */
	ck_assert_uint_eq(c->regs[R_EAX], 0xFFFFFFFAu);
	ck_assert_uint_eq(c->regs[R_EDX], 0xFFFFFFFFu);
	put32(DATA, 0x12345678);
	c->regs[R_ECX] = 0x9ABCDEF0;
	ck_assert_int_eq(RUN(0x0F, 0xA4, 0x0B, 4), EXIT_NONE);       /* shld [ebx], ecx, 4 */
	ck_assert_uint_eq(get32(DATA), 0x23456789);
	put32(DATA, 5);
	c->regs[R_EAX] = 7;
	ck_assert_int_eq(RUN(0x0F, 0xC1, 0x03), EXIT_NONE);          /* xadd [ebx], eax */
	ck_assert_uint_eq(get32(DATA), 12);
	ck_assert_uint_eq(c->regs[R_EAX], 5);
	ck_assert_int_eq(RUN(0x87, 0x03), EXIT_NONE);                /* xchg [ebx], eax */
	ck_assert_uint_eq(get32(DATA), 5);
	ck_assert_uint_eq(c->regs[R_EAX], 12);
	c->regs[R_ECX] = 99;
	ck_assert_int_eq(RUN(0x0F, 0xB1, 0x0B), EXIT_NONE);          /* cmpxchg [ebx], ecx: differ */
	ck_assert_uint_eq(c->regs[R_EAX], 5);
	ck_assert(!(c->eflags & FL_ZF));
	ck_assert_int_eq(RUN(0x0F, 0xB1, 0x0B), EXIT_NONE);          /* now equal */
	ck_assert_uint_eq(get32(DATA), 99);
	ck_assert(c->eflags & FL_ZF);
	/* device memory: reads all ones, the store is dropped */
	c->regs[R_EBX] = NOT_RAM;
	ck_assert_int_eq(RUN(0xFF, 0x03), EXIT_NONE);                /* inc: 0xFFFFFFFF + 1 */
	ck_assert(c->eflags & FL_ZF);
}
END_TEST

START_TEST(test_sse_moves)
{
	uint8_t x1[16];

	for (int i = 0; i < 16; i++)
		x1[i] = (uint8_t)(0x10 + i);
	memcpy(&c->fpu[160 + 16], x1, 16);                           /* XMM1 */
	c->regs[R_EBX] = DATA + 4;
	expect_exc(RUN(0xF3, 0x0F, 0x7F, 0x0B), EXC_UD, 0);          /* movdqu: CR4.OSFXSR clear */
	c->cr4 |= CR4_OSFXSR;
	ck_assert_int_eq(RUN(0xF3, 0x0F, 0x7F, 0x0B), EXIT_NONE);    /* movdqu [ebx], xmm1 */
	ck_assert_mem_eq(vm.ram + DATA + 4, x1, 16);
	expect_exc(RUN(0x0F, 0x29, 0x0B), EXC_GP, 0);                /* movaps: misaligned */
	c->regs[R_EBX] = DATA + 4 - 4 + 16;
	ck_assert_int_eq(RUN(0x0F, 0x28, 0x13), EXIT_NONE);          /* movaps xmm2, [ebx] */
	ck_assert_mem_eq(&c->fpu[160 + 32], vm.ram + DATA + 16, 16);
	c->cr0 |= CR0_TS;
	expect_exc(RUN(0x0F, 0x28, 0x13), EXC_NM, 0);
}
END_TEST

/* --- decimal adjust against the host CPU ---------------------------------------------------- */
static FILE *open_native_table(char *bin)
{
	char cmd[512], src[256];
	const char *here = __FILE__, *slash = strrchr(here, '/');
	int fd = mkstemp(bin);

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(src, sizeof(src), "%.*sbcd_native.c", slash ? (int)(slash - here + 1) : 0, here);
	ck_assert_msg(access(src, R_OK) == 0, "%s not found: run from the repository root", src);
	snprintf(cmd, sizeof(cmd), "gcc -m32 -O1 -o %s %s", bin, src);
	ck_assert_msg(system(cmd) == 0, "cannot build %s with gcc -m32 (gcc-multilib?)", src);
	return popen(bin, "r");
}

START_TEST(test_bcd_vs_native)
{
	char bin[] = "/tmp/vmm386-bcd-XXXXXX", line[128];
	unsigned lines = 0, bad = 0;
	FILE *p = open_native_table(bin);

	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p)) {
		unsigned op, imm, eax, fl, eo = 0, fo = 0;
		bool de = strstr(line, " DE") != NULL;
		uint8_t code[2];
		int r;

		ck_assert_int_ge(sscanf(line, "%x %x %x %x %x %x", &op, &imm, &eax, &fl, &eo, &fo), 4);
		code[0] = (uint8_t)op;
		code[1] = (uint8_t)imm;
		c->regs[R_EAX] = eax;
		c->eflags = FL_FIXED | fl;
		r = run_at(CODE, code, op >= 0xD4 ? 2 : 1);
		lines++;
		if (de ? (r == EXIT_EXCEPTION && c->exc_vector == EXC_DE && c->regs[R_EAX] == eax)
		       : (r == EXIT_NONE && c->regs[R_EAX] == eo && (c->eflags & 0x8D5) == fo))
			continue;
		if (bad++ < 10)
			fprintf(stderr, "bcd mismatch: %s  emu: eax %08x fl %03x r %d\n", strtok(line, "\n"),
				c->regs[R_EAX], c->eflags & 0x8D5, r);
	}
	pclose(p);
	unlink(bin);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_gt(lines, 290000);
}
END_TEST

/* --- the suite -------------------------------------------------------------------------------- */
static Suite *emu_suite(void)
{
	Suite *s = suite_create("emulation");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_reset_and_dump);
	tcase_add_test(t, test_load_data_segments);
	tcase_add_test(t, test_load_stack_segment);
	tcase_add_test(t, test_load_segments_ring3);
	tcase_add_test(t, test_ldt);
	tcase_add_test(t, test_ltr_busy);
	tcase_add_test(t, test_segment_limits);
	tcase_add_test(t, test_memory_edges);
	tcase_add_test(t, test_lar_lsl_verr_verw);
	tcase_add_test(t, test_popf_cpl0);
	tcase_add_test(t, test_popf_cpl3);
	tcase_add_test(t, test_cli_sti);
	tcase_add_test(t, test_hlt);
	tcase_add_test(t, test_int_gate_dpl);
	tcase_add_test(t, test_int_from_ring3);
	tcase_add_test(t, test_exception_frame_cpl0);
	tcase_add_test(t, test_exception_from_ring3);
	tcase_add_test(t, test_bad_tss_stack);
	tcase_add_test(t, test_double_fault);
	tcase_add_test(t, test_page_fault_then_gp_is_double);
	tcase_add_test(t, test_benign_then_fault_is_serial);
	tcase_add_test(t, test_int_fault_stays_on_instruction);
	tcase_add_test(t, test_pop_memory_uses_new_esp);
	tcase_add_test(t, test_triple_fault);
	tcase_add_test(t, test_stack_fault_chain_shuts_down);
	tcase_add_test(t, test_interrupt_delivery);
	tcase_add_test(t, test_task_switch);
	tcase_add_test(t, test_rmw_forms);
	tcase_add_test(t, test_sse_moves);
	tcase_add_test(t, test_call_gate_inner);
	tcase_add_test(t, test_rdpmc);
	tcase_add_test(t, test_iret_to_ring3);
	tcase_add_test(t, test_iret_rules);
	tcase_add_test(t, test_far_jmp);
	tcase_add_test(t, test_far_call_ret);
	tcase_add_test(t, test_retf_to_ring3);
	tcase_add_test(t, test_sysenter_sysexit);
	tcase_add_test(t, test_mov_cr);
	tcase_add_test(t, test_msw_and_dr);
	tcase_add_test(t, test_descriptor_tables);
	tcase_add_test(t, test_cpuid);
	tcase_add_test(t, test_msr_tsc);
	tcase_add_test(t, test_in_out);
	tcase_add_test(t, test_io_bitmap);
	tcase_add_test(t, test_string_io);
	tcase_add_test(t, test_push_pop_segments);
	tcase_add_test(t, test_mov_sreg);
	tcase_add_test(t, test_lds);
	tcase_add_test(t, test_pusha_popa);
	tcase_add_test(t, test_misc_instructions);
	tcase_add_test(t, test_single_step);
	tcase_add_test(t, test_paging);
	tcase_add_test(t, test_fetch);
	tcase_add_test(t, test_code16);
	tcase_add_test(t, test_alu_vs_host);
	tcase_add_test(t, test_mov_device_memory);
	tcase_add_test(t, test_bcd_vs_native);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(emu_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
