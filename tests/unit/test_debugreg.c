/*
 * test_debugreg.c - unit tests of emulation/debugreg.c: which breakpoints DR7 enables,
 * instruction-breakpoint matches, the data accesses an instruction will make (explicit
 * operands, a push below ESP, REP string ranges, LEN and alignment, write vs read/write),
 * how DR6 is updated, and that MOV to DR0-DR3/DR7 is reported as a mode change.
 *
 * The machine: flat protected mode without paging (emu_reset_protected) over 1 MiB of
 * malloc'ed RAM; the instruction under test is placed at CODE.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "emulation/emu.h"

#define RAM_SIZE (1u << 20)
#define CODE     0x10000u
#define VAR      0x20000u
/* DR7 with breakpoint n enabled (L), R/W rw, LEN len */
#define BP(n, rw, len) (0x400u | (1u << (2 * (n))) | ((uint32_t)(rw) << (16 + 4 * (n))) | \
			((uint32_t)(len) << (18 + 4 * (n))))

static struct vm vm;
static struct vcpu *c;
static unsigned mode_changes;

static void no_ram(struct vm *v, gpa_t g, uint32_t l) { (void)v; (void)g; (void)l; }
static void no_mmio(struct vm *v, gpa_t g, unsigned l) { (void)v; (void)g; (void)l; }
static void count_mode(struct vcpu *v) { (void)v; mode_changes++; }
static void no_tlb(struct vcpu *v, gla_t la, bool all) { (void)v; (void)la; (void)all; }
static const struct emu_mon_ops mon = { no_ram, no_mmio, count_mode, no_tlb };

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.ram = calloc(1, RAM_SIZE);
	vm.ram_size = RAM_SIZE;
	c = &vm.cpu;
	c->vm = &vm;
	emu_mon = &mon;
	emu_reset_protected(c, 0, 0);
	c->eip = CODE;
	c->regs[R_ESP] = 0x80000;
	mode_changes = 0;
}

static void teardown(void)
{
	free(vm.ram);
}

static void place(const uint8_t *b, size_t n)
{
	memcpy(vm.ram + CODE, b, n);
}
#define PLACE(...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; place(b_, sizeof(b_)); })

START_TEST(enabled_kinds)
{
	c->dr[7] = BP(0, 0, 0) | BP(1, 1, 3) | BP(2, 3, 0) | BP(3, 2, 0);   /* 3: I/O */
	ck_assert_uint_eq(emu_dr_enabled(c, false), 1u);
	ck_assert_uint_eq(emu_dr_enabled(c, true), 6u);
	c->dr[7] = 0x400u | (3u << 16);                 /* R/W set, not enabled */
	ck_assert_uint_eq(emu_dr_enabled(c, false) | emu_dr_enabled(c, true), 0u);
	c->dr[7] = 0x400u | 2u;                         /* G0 enables too */
	ck_assert_uint_eq(emu_dr_enabled(c, false), 1u);
}
END_TEST

START_TEST(exec_hits)
{
	c->dr[0] = 0x1234; c->dr[1] = 0x1234; c->dr[2] = 0x1234;
	c->dr[7] = BP(0, 0, 0) | BP(2, 1, 0);           /* DR1 disabled exec, DR2 data */
	ck_assert_uint_eq(emu_dr_exec_hits(c, 0x1234), 3u);   /* disabled ones reported too */
	ck_assert_uint_eq(emu_dr_exec_hits(c, 0x1235), 0u);
}
END_TEST

START_TEST(data_store_and_len)
{
	c->dr[1] = VAR + 2;                             /* 4 bytes: aligned down to VAR */
	c->dr[7] = BP(1, 1, 3);
	c->regs[R_EBX] = VAR + 3;
	PLACE(0xC6, 0x03, 0x07);                        /* mov byte [ebx], 7 */
	ck_assert_uint_eq(emu_dr_data_hits(c), 2u);
	c->regs[R_EBX] = VAR + 4;
	ck_assert_uint_eq(emu_dr_data_hits(c), 0u);     /* the next dword */
	c->regs[R_EBX] = VAR - 1;
	PLACE(0x66, 0xC7, 0x03, 0x01, 0x00);            /* mov word [ebx], 1: overlaps VAR */
	ck_assert_uint_eq(emu_dr_data_hits(c), 2u);
	PLACE(0x8B, 0x43, 0x01);                        /* mov eax, [ebx+1]: a read */
	ck_assert_uint_eq(emu_dr_data_hits(c), 0u);
	c->dr[7] = BP(1, 3, 3);                         /* read or write */
	ck_assert_uint_eq(emu_dr_data_hits(c), 2u);
	c->dr[1] = VAR + 6;                             /* 4 bytes: VAR+4 .. VAR+7 */
	ck_assert_uint_eq(emu_dr_data_hits(c), 0u);
	c->dr[7] = BP(1, 3, 2);                         /* 8 bytes: VAR .. VAR+7 */
	ck_assert_uint_eq(emu_dr_data_hits(c), 2u);
	c->dr[7] = BP(1, 3, 0);                         /* 1 byte at VAR+6 */
	ck_assert_uint_eq(emu_dr_data_hits(c), 0u);
}
END_TEST

START_TEST(data_push_and_string)
{
	c->dr[0] = 0x80000 - 4;
	c->dr[7] = BP(0, 1, 3);
	PLACE(0x50);                                    /* push eax: the slot below ESP */
	ck_assert_uint_eq(emu_dr_data_hits(c), 1u);
	PLACE(0x58);                                    /* pop eax: reads at ESP */
	ck_assert_uint_eq(emu_dr_data_hits(c), 0u);
	c->dr[0] = VAR + 12;
	c->regs[R_EDI] = VAR; c->regs[R_ECX] = 4;
	PLACE(0xF3, 0xAB);                              /* rep stosd: VAR .. VAR+15 */
	ck_assert_uint_eq(emu_dr_data_hits(c), 1u);
	c->regs[R_ECX] = 3;
	ck_assert_uint_eq(emu_dr_data_hits(c), 0u);
	c->regs[R_EDI] = VAR + 24; c->eflags |= FL_DF;  /* backwards: VAR+16 .. VAR+27 */
	ck_assert_uint_eq(emu_dr_data_hits(c), 0u);
	c->regs[R_ECX] = 4;                             /* VAR+12 .. VAR+27 */
	ck_assert_uint_eq(emu_dr_data_hits(c), 1u);
}
END_TEST

START_TEST(dr6_and_mode_change)
{
	c->dr[6] = 0xFFFF0FF0u | 0x2000u | 0x5u;
	emu_dr_report(c, 2u, 0);
	ck_assert_uint_eq(c->dr[6], 0xFFFF0FF0u | 0x2000u | 0x2u);   /* B0-B3 replaced, BD kept */
	emu_dr_report(c, 0, EMU_DR6_BS);
	ck_assert_uint_eq(c->dr[6], 0xFFFF0FF0u | 0x6000u | 0x2u);   /* BS added, B1 kept */
	c->regs[R_EAX] = 0x1000;
	PLACE(0x0F, 0x23, 0xC0);                        /* mov dr0, eax */
	ck_assert_int_eq(emu_step(c), EXIT_NONE);
	ck_assert_uint_eq(mode_changes, 1);
	c->eip = CODE;
	PLACE(0x0F, 0x23, 0xF0);                        /* mov dr6, eax: no breakpoint change */
	ck_assert_int_eq(emu_step(c), EXIT_NONE);
	ck_assert_uint_eq(mode_changes, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("debugreg");
	TCase *t = tcase_create("core");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, enabled_kinds);
	tcase_add_test(t, exec_hits);
	tcase_add_test(t, data_store_and_len);
	tcase_add_test(t, data_push_and_string);
	tcase_add_test(t, dr6_and_mode_change);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
