/*
 * test_pv.c - the PV interface's mmu_update (pv/pv.c): validation of each entry, in-order
 * application, and rollback of the whole batch at the first invalid entry.  PV_HC_PORT_IO:
 * byte and word accesses reach the port bus, bad sizes, flags and ranges are refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "pv/pv.h"
#include "pv/abi.h"
#include "devices/devices.h"

#define RAM_SIZE (8u << 20)

static struct vm vm;

static uint32_t get32(uint32_t gpa) { uint32_t v; memcpy(&v, vm.ram + gpa, 4); return v; }
static void put32(uint32_t gpa, uint32_t v) { memcpy(vm.ram + gpa, &v, 4); }

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.ram = calloc(1, RAM_SIZE);
	vm.ram_size = RAM_SIZE;
	pv_init_for_test(&vm);
}

static void teardown(void) { free(vm.ram); }

START_TEST(applies_valid_batch)
{
	struct pv_mmu_update u[3] = {
		{ 0x10000, 0x200000 | 7 },             /* PTE -> frame in RAM */
		{ 0x10004, 0 },                        /* not present: any value */
		{ 0x11000 + 4, 0x400000 | 0x83 },      /* 4 MiB PDE inside RAM */
	};
	uint32_t idx = 99;
	put32(0x10004, 0xDEAD0001);
	ck_assert_int_eq(pv_mmu_update_apply(&vm, u, 3, &idx), 0);
	ck_assert_uint_eq(get32(0x10000), 0x200007);
	ck_assert_uint_eq(get32(0x10004), 0);
	ck_assert_uint_eq(get32(0x11004), 0x400083);
	ck_assert_uint_eq(idx, 99);
}
END_TEST

START_TEST(rejects_and_rolls_back)
{
	static const struct { uint32_t ptr, val; } bad[] = {
		{ 0x10002, 0x1000 | 1 },              /* misaligned pointer */
		{ RAM_SIZE, 0x1000 | 1 },             /* pointer outside RAM */
		{ RAM_SIZE - 2, 0 },                  /* pointer straddles the end of RAM */
		{ 0x10008, RAM_SIZE | 1 },            /* frame outside RAM */
		{ 0x10008, 0x800000 | 0x81 },         /* 4 MiB page past the end of RAM */
		{ 0x10008, 0xFFFFF000u | 1 },         /* frame at the top of the address space */
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		put32(0x10000, 0x11111111);
		put32(0x10004, 0x22222222);
		struct pv_mmu_update u[4] = {
			{ 0x10000, 0x3000 | 3 }, { 0x10004, 0x4000 | 3 },
			{ bad[k].ptr, bad[k].val }, { 0x1000C, 0x5000 | 3 },
		};
		uint32_t idx = 99;
		ck_assert_int_eq(pv_mmu_update_apply(&vm, u, 4, &idx), -PV_EINVAL);
		ck_assert_uint_eq(idx, 2);
		ck_assert_uint_eq(get32(0x10000), 0x11111111);   /* rolled back */
		ck_assert_uint_eq(get32(0x10004), 0x22222222);
		ck_assert_uint_eq(get32(0x1000C), 0);             /* never applied */
	}
}
END_TEST

START_TEST(same_entry_twice_rolls_back_to_original)
{
	put32(0x10000, 0xAAAA0001 & 0x7FFFFF);
	uint32_t orig = get32(0x10000);
	struct pv_mmu_update u[3] = {
		{ 0x10000, 0x1000 | 1 }, { 0x10000, 0x2000 | 1 }, { 0x10001, 0 },
	};
	uint32_t idx = 0;
	ck_assert_int_eq(pv_mmu_update_apply(&vm, u, 3, &idx), -PV_EINVAL);
	ck_assert_uint_eq(idx, 2);
	ck_assert_uint_eq(get32(0x10000), orig);
}
END_TEST

START_TEST(batch_too_large)
{
	static struct pv_mmu_update u[PV_MMU_BATCH_MAX + 1];
	uint32_t idx = 0;
	ck_assert_int_eq(pv_mmu_update_apply(&vm, u, PV_MMU_BATCH_MAX + 1, &idx), -PV_EINVAL);
	ck_assert_int_eq(pv_mmu_update_apply(&vm, u, 0, &idx), 0);
}
END_TEST

/* --- PV_HC_PORT_IO ------------------------------------------------------------------- */
static uint32_t last_off, last_size, last_val, dev_writes;

static uint32_t tdev_rd(void *o, uint16_t off, int size)
{
	(void)o;
	return 0xA500u + off + (uint32_t)size;
}

static void tdev_wr(void *o, uint16_t off, int size, uint32_t val)
{
	(void)o;
	last_off = off, last_size = (uint32_t)size, last_val = val;
	dev_writes++;
}

static struct vcpu cpu;

static int32_t port_hc(uint32_t port, uint32_t op, uint32_t val)
{
	cpu.vm = &vm;
	cpu.regs[R_EAX] = PV_HC_PORT_IO;
	cpu.regs[R_EBX] = port;
	cpu.regs[R_ECX] = op;
	cpu.regs[R_EDX] = val;
	ck_assert_int_eq(pv_hypercall(&cpu), 0);
	return (int32_t)cpu.regs[R_EAX];
}

static void port_setup(void)
{
	setup();
	dev_pio_reset();
	dev_writes = 0;
	ck_assert_int_eq(dev_pio_register(0x300, 4, tdev_rd, tdev_wr, NULL), 0);
}

static void port_teardown(void)
{
	dev_pio_reset();
	teardown();
}

START_TEST(port_io_reads_and_writes)
{
	ck_assert_int_eq(port_hc(0x301, 1, 0), (0xA500 + 1 + 1) & 0xFF);
	ck_assert_int_eq(port_hc(0x302, 2, 0), 0xA500 + 2 + 2);
	ck_assert_int_eq(port_hc(0x303, 1 | PV_PORTIO_WRITE, 0x1234), 0);
	ck_assert_uint_eq(last_off, 3);
	ck_assert_uint_eq(last_size, 1);
	ck_assert_uint_eq(last_val, 0x34);                /* truncated to the access size */
	ck_assert_int_eq(port_hc(0x300, 2 | PV_PORTIO_WRITE, 0xBEEF), 0);
	ck_assert_uint_eq(last_val, 0xBEEF);
	ck_assert_int_eq(port_hc(0x310, 1, 0), 0xFF);     /* nobody there: all ones */
	ck_assert_int_eq(port_hc(0x310, 2, 0), 0xFFFF);
}
END_TEST

START_TEST(port_io_rejects_bad_arguments)
{
	ck_assert_int_eq(port_hc(0x300, 4, 0), -PV_EINVAL);                 /* dword: no */
	ck_assert_int_eq(port_hc(0x300, 0, 0), -PV_EINVAL);
	ck_assert_int_eq(port_hc(0x300, 3 | PV_PORTIO_WRITE, 0), -PV_EINVAL);
	ck_assert_int_eq(port_hc(0x300, 1 | 0x200, 0), -PV_EINVAL);         /* unknown flag */
	ck_assert_int_eq(port_hc(0x10000, 1, 0), -PV_EINVAL);               /* past 0xFFFF */
	ck_assert_int_eq(port_hc(0xFFFF, 2, 0), -PV_EINVAL);
	ck_assert_int_eq(port_hc(0xFFFFFFFFu, 1 | PV_PORTIO_WRITE, 0), -PV_EINVAL);
	ck_assert_int_eq(port_hc(0xFFFF, 1, 0), 0xFF);                      /* last port: fine */
	ck_assert_uint_eq(dev_writes, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pv");
	TCase *t = tcase_create("mmu_update");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, applies_valid_batch);
	tcase_add_test(t, rejects_and_rolls_back);
	tcase_add_test(t, same_entry_twice_rolls_back_to_original);
	tcase_add_test(t, batch_too_large);
	suite_add_tcase(s, t);
	TCase *tp = tcase_create("port_io");
	tcase_add_checked_fixture(tp, port_setup, port_teardown);
	tcase_add_test(tp, port_io_reads_and_writes);
	tcase_add_test(tp, port_io_rejects_bad_arguments);
	suite_add_tcase(s, tp);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
