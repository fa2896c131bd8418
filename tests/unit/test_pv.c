/*
 * test_pv.c - the PV interface's mmu_update (pv/pv.c): validation of each entry, in-order
 * application, and rollback of the whole batch at the first invalid entry.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "pv/pv.h"
#include "pv/abi.h"

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
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
