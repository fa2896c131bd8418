/*
 * test_pv.c - the PV interface's mmu_update (pv/pv.c): validation of each entry, in-order
 * application, and rollback of the whole batch at the first invalid entry.  PV_HC_PORT_IO:
 * byte and word accesses reach the port bus, bad sizes, flags and ranges are refused.
 * Hypercalls through pv_hypercall(): multicall order, stop at the first failure (the
 * failed mmu_update rolled back, its index reported), limits, what may not be nested.
 * The console ring: bad set-up, output drained on notify, a corrupt producer index, input
 * from the monitor's input descriptor with one event per batch, a full ring.  Eager shadow
 * mapping (shadow-mmu/, PV windows): a window built from its directory (4 KiB and 4 MiB
 * pages, user/supervisor views, read-only pages, frames beyond RAM never mapped), updates
 * applied at once in every view with no fill, plain stores seen only at INVLPG, a reused
 * directory frame noticed at the next CR3 switch.  Mappings are probed with system calls
 * (EFAULT), never by touching them.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "pv/pv.h"
#include "pv/abi.h"
#include "devices/devices.h"
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include "monitor/memory.h"
#include "monitor/run.h"
#include "emulation/emu.h"
#include "shadow-mmu/smmu.h"

#define RAM_SIZE (8u << 20)

static struct vm vm;

static uint32_t get32(uint32_t gpa) { uint32_t v; memcpy(&v, vm.ram + gpa, 4); return v; }
static void put32(uint32_t gpa, uint32_t v) { memcpy(vm.ram + gpa, &v, 4); }

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.ram = calloc(1, RAM_SIZE);
	vm.ram_size = RAM_SIZE;
	pv_init_for_test(&vm, &vm_pv_mon);
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
		{ 0x10000, 0x1000 | 1 }, { 0x10000, 0x2000 | 1 }, { 0x10003, 0 },   /* command 3 */
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

/* --- hypercalls (paging off: linear == physical) ----------------------------------------- */

#define LIST 0x20000u          /* a multicall list */
#define UPD  0x21000u          /* mmu_update lists */
#define IDX  0x22000u          /* failing-index words */

static void hc_setup(void)
{
	setup();
	vm.cpu.vm = &vm;
	emu_reset_protected(&vm.cpu, 0, 0);
}

static int32_t hc(uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3)
{
	struct vcpu *c = &vm.cpu;
	c->regs[R_EAX] = nr;
	c->regs[R_EBX] = a1;
	c->regs[R_ECX] = a2;
	c->regs[R_EDX] = a3;
	c->regs[R_ESI] = 0x5E5E5E5E;
	ck_assert_int_eq(pv_hypercall(c), 0);
	ck_assert_uint_eq(c->regs[R_ESI], 0x5E5E5E5E);     /* other registers preserved */
	return (int32_t)c->regs[R_EAX];
}

static void put_upd(uint32_t gpa, uint32_t ptr, uint32_t val)
{
	struct pv_mmu_update u = { ptr, val };
	memcpy(vm.ram + gpa, &u, sizeof(u));
}

static void put_mc(unsigned i, uint32_t op, uint32_t a1, uint32_t a2, uint32_t a3)
{
	struct pv_multicall m = { op, { a1, a2, a3, 0 }, 0x7777 };
	memcpy(vm.ram + LIST + i * sizeof(m), &m, sizeof(m));
}

static int32_t mc_result(unsigned i)
{
	struct pv_multicall m;
	memcpy(&m, vm.ram + LIST + i * sizeof(m), sizeof(m));
	return m.result;
}

START_TEST(multicall_in_order)
{
	put_upd(UPD, 0x10000, 0x1000 | 3);
	put_upd(UPD + 8, 0x10000, 0x2000 | 3);            /* the same entry again: last wins */
	put_mc(0, PV_HC_VERSION, 0, 0, 0);
	put_mc(1, PV_HC_MMU_UPDATE, UPD, 2, IDX);
	put_mc(2, PV_HC_NEW_BASEPTR, 0x30000, 0, 0);
	put_mc(3, PV_HC_INVLPG, 0x1000, 0, 0);
	ck_assert_int_eq(hc(PV_HC_MULTICALL, LIST, 4, 0), 4);
	ck_assert_int_eq(mc_result(0), PV_ABI_VERSION);
	ck_assert_int_eq(mc_result(1), 0);
	ck_assert_int_eq(mc_result(2), 0);
	ck_assert_int_eq(mc_result(3), 0);
	ck_assert_uint_eq(get32(0x10000), 0x2003);
	ck_assert_uint_eq(vm.cpu.cr3, 0x30000);
	ck_assert_int_eq(hc(PV_HC_MULTICALL, LIST, 0, 0), 0);
}
END_TEST

START_TEST(multicall_stops_at_failure)
{
	put32(0x10004, 0x44444444);
	put32(IDX, 99);
	put_upd(UPD, 0x10000, 0x1000 | 3);
	put_upd(UPD + 16, 0x10004, 0x2000 | 3);
	put_upd(UPD + 24, 0x10008, RAM_SIZE | 1);         /* frame outside RAM */
	put_mc(0, PV_HC_MMU_UPDATE, UPD, 1, 0);
	put_mc(1, PV_HC_MMU_UPDATE, UPD + 16, 2, IDX);
	put_mc(2, PV_HC_NEW_BASEPTR, 0x30000, 0, 0);
	ck_assert_int_eq(hc(PV_HC_MULTICALL, LIST, 3, 0), 1);   /* one entry succeeded */
	ck_assert_int_eq(mc_result(0), 0);
	ck_assert_int_eq(mc_result(1), -PV_EINVAL);
	ck_assert_int_eq(mc_result(2), 0x7777);                  /* never ran */
	ck_assert_uint_eq(get32(0x10000), 0x1003);              /* entry 0 stays */
	ck_assert_uint_eq(get32(0x10004), 0x44444444);          /* entry 1 rolled back */
	ck_assert_uint_eq(get32(0x10008), 0);
	ck_assert_uint_eq(get32(IDX), 1);                       /* index within its list */
	ck_assert_uint_eq(vm.cpu.cr3, 0);
}
END_TEST

START_TEST(multicall_limits)
{
	ck_assert_int_eq(hc(PV_HC_MULTICALL, LIST, PV_MULTICALL_MAX + 1, 0), -PV_EINVAL);
	ck_assert_int_eq(hc(PV_HC_MULTICALL, RAM_SIZE - 8, 2, 0), -PV_EFAULT);
	ck_assert_int_eq(hc(PV_HC_MULTICALL, 0xFFFFFFF0u, 1, 0), -PV_EFAULT);
	/* nested multicall, sched_op (would halt or stop), others: refused, nothing after */
	static const uint32_t refused[] = { PV_HC_MULTICALL, PV_HC_SCHED_OP, PV_HC_PAGING_ENABLE, 200 };
	for (unsigned k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
		put_mc(0, PV_HC_VERSION, 0, 0, 0);
		put_mc(1, refused[k], refused[k] == PV_HC_SCHED_OP ? PV_SCHED_SHUTDOWN : LIST, 1, 0);
		put_mc(2, PV_HC_NEW_BASEPTR, 0x30000, 0, 0);
		ck_assert_int_eq(hc(PV_HC_MULTICALL, LIST, 3, 0), 1);
		ck_assert_int_eq(mc_result(1), -PV_EINVAL);
		ck_assert_int_eq(mc_result(2), 0x7777);
		ck_assert_int_eq(vm.stop, 0);
		ck_assert_uint_eq(vm.cpu.cr3, 0);
	}
	/* a full list is fine */
	for (unsigned i = 0; i < PV_MULTICALL_MAX; i++)
		put_mc(i, PV_HC_VERSION, 0, 0, 0);
	ck_assert_int_eq(hc(PV_HC_MULTICALL, LIST, PV_MULTICALL_MAX, 0), PV_MULTICALL_MAX);
}
END_TEST

START_TEST(mmu_update_hypercall_limits)
{
	put32(IDX, 99);
	ck_assert_int_eq(hc(PV_HC_MMU_UPDATE, UPD, PV_MMU_BATCH_MAX + 1, IDX), -PV_EINVAL);
	ck_assert_int_eq(hc(PV_HC_MMU_UPDATE, RAM_SIZE - 8, 2, IDX), -PV_EFAULT);
	put_upd(UPD, 0x10000, 0x3000 | 1);
	put_upd(UPD + 8, 0x10004, 0xFFFFF000u | 1);       /* frame at 4 GiB - 4 KiB */
	ck_assert_int_eq(hc(PV_HC_MMU_UPDATE, UPD, 2, IDX), -PV_EINVAL);
	ck_assert_uint_eq(get32(IDX), 1);
	ck_assert_uint_eq(get32(0x10000), 0);
	ck_assert_int_eq(hc(PV_HC_MMU_UPDATE, UPD, 1, 0), 0);
	ck_assert_uint_eq(get32(0x10000), 0x3001);
	/* a whole batch of the largest size: every entry applied */
	for (uint32_t i = 0; i < PV_MMU_BATCH_MAX; i++)
		put_upd(0x40000 + i * 8, 0x50000 + i * 4, (i << 12) | 1);
	ck_assert_int_eq(hc(PV_HC_MMU_UPDATE, 0x40000, PV_MMU_BATCH_MAX, IDX), 0);
	ck_assert_uint_eq(get32(0x50000 + 4 * (PV_MMU_BATCH_MAX - 1)), ((PV_MMU_BATCH_MAX - 1) << 12) | 1);
	ck_assert_int_eq(hc(12345, 0, 0, 0), -PV_ENOSYS);
}
END_TEST

/* --- the console ring ------------------------------------------------------------------------ */

#define RING 0x60000u
#define SHARED 0x61000u

static struct pv_console_ring *ring(void) { return (struct pv_console_ring *)(vm.ram + RING); }

/* Run notify with stdout - COM1's host side, as -serial stdio makes it - redirected into a
 * pipe; returns the bytes written there. */
static int notify_capture(char *out, int max, int32_t *r)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	dup2(p[1], STDOUT_FILENO);
	*r = hc(PV_HC_CONSOLE_RING, PV_CONSRING_NOTIFY, 0, 0);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[1]);
	int n = (int)read(p[0], out, (size_t)max);
	close(p[0]);
	return n < 0 ? 0 : n;
}

START_TEST(console_ring_output)
{
	ck_assert_int_eq(hc(PV_HC_CONSOLE_RING, PV_CONSRING_SETUP, RING + 4, 0), -PV_EINVAL);
	ck_assert_int_eq(hc(PV_HC_CONSOLE_RING, PV_CONSRING_SETUP, RAM_SIZE, 0), -PV_EINVAL);
	ck_assert_int_eq(hc(PV_HC_CONSOLE_RING, PV_CONSRING_NOTIFY, 0, 0), -PV_EINVAL);  /* no ring */
	ck_assert_int_eq(hc(PV_HC_CONSOLE_RING, 7, RING, 0), -PV_EINVAL);
	ck_assert_int_eq(hc(PV_HC_CONSOLE_RING, PV_CONSRING_SETUP, RING, 0), 0);
	dev_uart_init(-1, STDOUT_FILENO);
	/* "hello" written across the end of out[] */
	struct pv_console_ring *cr = ring();
	cr->out_prod = cr->out_cons = PV_CONS_OUT_SIZE - 2;
	for (int i = 0; i < 5; i++)
		cr->out[(cr->out_prod + i) % PV_CONS_OUT_SIZE] = (uint8_t)"hello"[i];
	cr->out_prod += 5;
	char buf[64];
	int32_t r;
	int n = notify_capture(buf, sizeof(buf), &r);
	ck_assert_int_eq(r, 5);
	ck_assert_int_eq(n, 5);
	ck_assert(!memcmp(buf, "hello", 5));
	ck_assert_uint_eq(cr->out_cons, cr->out_prod);
	/* nothing new: nothing written */
	ck_assert_int_eq(notify_capture(buf, sizeof(buf), &r), 0);
	ck_assert_int_eq(r, 0);
	/* a producer index no ring can hold: refused, nothing read, the consumer catches up */
	cr->out_prod += PV_CONS_OUT_SIZE + 1;
	ck_assert_int_eq(notify_capture(buf, sizeof(buf), &r), 0);
	ck_assert_int_eq(r, -PV_EINVAL);
	ck_assert_uint_eq(cr->out_cons, cr->out_prod);
	/* a full ring goes out whole */
	for (unsigned i = 0; i < PV_CONS_OUT_SIZE; i++)
		cr->out[(cr->out_prod + i) % PV_CONS_OUT_SIZE] = 'x';
	cr->out_prod += PV_CONS_OUT_SIZE;
	static char big[PV_CONS_OUT_SIZE + 16];
	ck_assert_int_eq(notify_capture(big, sizeof(big), &r), (int)PV_CONS_OUT_SIZE);
	ck_assert_int_eq(r, (int32_t)PV_CONS_OUT_SIZE);
}
END_TEST

START_TEST(console_ring_input)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	dev_uart_init(p[0], -1);
	ck_assert_int_eq(hc(PV_HC_SET_SHARED, SHARED, 0, 0), 0);
	struct pv_shared_info *si = (struct pv_shared_info *)(vm.ram + SHARED);
	uint64_t now = 1000000000ull;
	pv_poll(now);                                       /* no ring yet: nothing read */
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	pv_poll(now += 1000000);
	ck_assert_uint_eq(si->pending, 0);
	ck_assert_int_eq(hc(PV_HC_CONSOLE_RING, PV_CONSRING_SETUP, RING, 0), 0);
	pv_poll(now += 1000000);
	struct pv_console_ring *cr = ring();
	ck_assert_uint_eq(cr->in_prod, 3);
	ck_assert(!memcmp(cr->in, "abc", 3));
	ck_assert_uint_eq(si->pending, 1u << PV_EVENT_CONSOLE);   /* one event for the batch */
	ck_assert(pv_events_pending());
	si->pending = 0;
	pv_poll(now += 1000000);                            /* nothing new: no event */
	ck_assert_uint_eq(si->pending, 0);
	/* more than fits: the ring fills up, the rest waits in the pipe */
	static char lots[3000];
	memset(lots, 'z', sizeof(lots));
	ck_assert_int_eq(write(p[1], lots, sizeof(lots)), (int)sizeof(lots));
	pv_poll(now += 1000000);
	ck_assert_uint_eq(cr->in_prod, PV_CONS_IN_SIZE);     /* in_cons is still 0 */
	pv_poll(now += 1000000);
	ck_assert_uint_eq(cr->in_prod, PV_CONS_IN_SIZE);
	cr->in_cons = 1000;                                 /* the guest took 1000 bytes */
	ck_assert_int_eq(hc(PV_HC_CONSOLE_RING, PV_CONSRING_NOTIFY, 0, 0), 0);  /* tops up too */
	ck_assert_uint_eq(cr->in_prod, 1000 + PV_CONS_IN_SIZE);
	/* a guest that corrupts in_cons stalls its own input, nothing else */
	cr->in_cons = cr->in_prod + 5;
	uint32_t before = cr->in_prod;
	pv_poll(now += 1000000);
	ck_assert_uint_eq(cr->in_prod, before);
	close(p[1]);
	close(p[0]);
}
END_TEST

/* --- eager shadow mapping ------------------------------------------------------------------- */
/*
 * Guest memory (16 MiB): directory at PD, its table PT for linear 0-4 MiB; user pages at
 * 0x200000.., all RAM at 0xC0000000 with supervisor 4 MiB pages (like the guest kernel).
 * Mappings are probed through a pipe: write() from an address fails with EFAULT when it
 * is not readable in the window, read() into it when it is not writable.
 */
#define EM_RAM   (16u << 20)
#define PD       0x100000u
#define PD2      0x101000u
#define PT       0x102000u
#define PT2      0x103000u
#define KB       0xC0000000u

static int probe_pipe[2];

static void em_setup(void)
{
	char err[256];
	memset(&vm, 0, sizeof(vm));
	ck_assert_msg(vm_mem_init(&vm, EM_RAM, err, sizeof(err)) == 0, "%s", err);
	vm.cpu.vm = &vm;
	emu_reset_protected(&vm.cpu, 0, 0);
	pv_init_for_test(&vm, &vm_pv_mon);
	ck_assert_int_eq(smmu_init(&vm, vm_window(), pv_enabled()), 0);
	ck_assert_int_eq(pipe(probe_pipe), 0);
	/* the tables: user pages 0..3 (page 1 read-only, page 3 not present), page 4 beyond RAM */
	put32(PD + 0 * 4, PT | 7);
	put32(PT + 0 * 4, 0x200000 | 7);
	put32(PT + 1 * 4, 0x201000 | 5);
	put32(PT + 2 * 4, 0x202000 | 7);
	put32(PT + 4 * 4, 0x40000000u | 7);              /* not RAM: checked by the monitor */
	for (uint32_t r = 0; r < EM_RAM >> 22; r++)
		put32(PD + (768 + r) * 4, (r << 22) | 0x83);    /* supervisor, writable, 4 MiB */
	put32(PD + 1023 * 4, 0xFFC00000u | 0x83);        /* 4 MiB beyond RAM */
	vm.cpu.cr4 = 0x10;                               /* PSE */
	vm.cpu.cr0 |= 0x80010000u;                       /* PG | WP */
	vm.cpu.cr3 = PD;
}

static void em_teardown(void)
{
	close(probe_pipe[0]);
	close(probe_pipe[1]);
}

static uint8_t *view(int cpl)
{
	vm.cpu.cpl = cpl;
	return smmu_select(&vm.cpu);
}

static bool readable(uint8_t *p)
{
	if (write(probe_pipe[1], p, 1) != 1)
		return false;
	char c;
	ck_assert_int_eq(read(probe_pipe[0], &c, 1), 1);
	return true;
}

static bool writable(uint8_t *p)
{
	char c = 0;
	ck_assert_int_eq(write(probe_pipe[1], &c, 1), 1);
	if (read(probe_pipe[0], p, 1) == 1)
		return true;
	ck_assert_int_eq(read(probe_pipe[0], &c, 1), 1);
	return false;
}

/* mmu_update through the hypercall, its list in kernel memory (linear KB + gpa). */
static int32_t em_update(uint32_t n, const struct pv_mmu_update *u)
{
	memcpy(vm.ram + UPD, u, n * sizeof(*u));
	vm.cpu.cpl = 0;
	return hc(PV_HC_MMU_UPDATE, KB + UPD, n, KB + IDX);
}

START_TEST(eager_window_build)
{
	uint64_t fills = smmu_stats.fills;
	uint8_t *s = view(0);
	ck_assert(readable(s + 0x0000) && writable(s + 0x0000));
	ck_assert(readable(s + 0x1000) && !writable(s + 0x1000));   /* read-only (CR0.WP) */
	ck_assert(readable(s + 0x2000) && writable(s + 0x2000));
	ck_assert(!readable(s + 0x3000));                           /* not present */
	ck_assert(!readable(s + 0x4000));                           /* frame beyond RAM */
	ck_assert(readable(s + KB) && writable(s + KB + 0x123000));
	ck_assert(readable(s + KB + EM_RAM - 4096));
	ck_assert(!readable(s + KB + EM_RAM));                      /* no 5th region of RAM */
	ck_assert(!readable(s + 0xFFC00000u));                      /* 4 MiB page beyond RAM */
	ck_assert(!readable(s + 0x400000));                         /* no table there */
	/* the same bytes through the window and through RAM */
	put32(0x201000 + 8, 0xCAFEF00D);
	ck_assert_uint_eq(*(volatile uint32_t *)(s + 0x1008), 0xCAFEF00D);
	ck_assert_uint_eq(*(volatile uint32_t *)(s + KB + 0x201008), 0xCAFEF00D);
	uint8_t *u = view(3);
	ck_assert(u != s);
	ck_assert(readable(u) && writable(u));
	ck_assert(readable(u + 0x1000) && !writable(u + 0x1000));
	ck_assert(!readable(u + KB) && !readable(u + KB + 0x200000));  /* supervisor only */
	ck_assert_uint_eq(smmu_stats.fills, fills);                   /* all without a fill */
	ck_assert_uint_eq(smmu_stats.traced_writes + smmu_stats.traced_monitor_writes, 0);
	ck_assert_uint_ge(smmu_stats.eager_builds, 2);
}
END_TEST

START_TEST(eager_updates_every_view)
{
	uint8_t *s = view(0), *u = view(3);
	uint64_t fills = smmu_stats.fills;
	struct pv_mmu_update up[] = {
		{ PT + 3 * 4, 0x203000 | 7 },                /* a new page */
		{ PT + 0 * 4, 0 },                           /* a page goes */
		{ PT + 2 * 4, 0x202000 | 5 },                /* write permission goes */
		{ PT + 5 * 4, 0x205000 | 3 },                /* a supervisor-only page */
	};
	ck_assert_int_eq(em_update(4, up), 0);
	for (int v = 0; v < 2; v++) {
		uint8_t *w = v ? u : s;
		ck_assert(readable(w + 0x3000) && writable(w + 0x3000));
		ck_assert(!readable(w + 0x0000));
		ck_assert(readable(w + 0x2000) && !writable(w + 0x2000));
	}
	ck_assert(readable(s + 0x5000) && !readable(u + 0x5000));
	/* a directory entry: a second table, linked in one batch with its entries */
	put32(PT2 + 7 * 4, 0x207000 | 7);                  /* written before it is linked */
	struct pv_mmu_update pde[] = { { PD + 1 * 4, PT2 | 7 }, { PT2 + 8 * 4, 0x208000 | 7 } };
	ck_assert_int_eq(em_update(2, pde), 0);
	ck_assert(readable(u + 0x407000) && readable(u + 0x408000) && !readable(u + 0x409000));
	ck_assert(readable(s + 0x407000) && readable(s + 0x408000));
	ck_assert_uint_eq(smmu_stats.fills, fills);
	/* a refused batch leaves the windows as they were */
	struct pv_mmu_update bad[] = { { PT + 6 * 4, 0x206000 | 7 }, { PT + 7 * 4, EM_RAM | 7 } };
	ck_assert_int_eq(em_update(2, bad), -PV_EINVAL);
	ck_assert_uint_eq(get32(IDX), 1);
	ck_assert(!readable(u + 0x6000) && !readable(u + 0x7000));
	/* write permission granted again: given on the first write (one dirty upgrade) */
	struct pv_mmu_update rw[] = { { PT + 2 * 4, 0x202000 | 7 } };
	ck_assert_int_eq(em_update(1, rw), 0);
	ck_assert(readable(u + 0x2000));
	uint32_t info;
	vm.cpu.cpl = 3;
	smmu_select(&vm.cpu);
	ck_assert_int_eq(smmu_fault(&vm.cpu, (uintptr_t)(u + 0x2000), true, &info), SMF_RETRY);
	ck_assert(writable(u + 0x2000));
	/* unlinking the table drops its region in both views */
	struct pv_mmu_update unlink[] = { { PD + 1 * 4, 0 } };
	ck_assert_int_eq(em_update(1, unlink), 0);
	ck_assert(!readable(u + 0x407000) && !readable(s + 0x408000));
	/* a guest #PF still comes back as one, with the architecture's error code */
	vm.cpu.cpl = 3;
	smmu_select(&vm.cpu);
	ck_assert_int_eq(smmu_fault(&vm.cpu, (uintptr_t)(u + 0x1000), true, &info), SMF_PF);
	ck_assert_uint_eq(info, 7);                       /* present, write, user */
	ck_assert_uint_eq(vm.cpu.cr2, 0x1000);
	ck_assert_int_eq(smmu_fault(&vm.cpu, (uintptr_t)(u + KB), false, &info), SMF_PF);
	ck_assert_uint_eq(info, 5);                       /* present, read, user */
	ck_assert_uint_eq(smmu_stats.traced_writes + smmu_stats.traced_monitor_writes, 0);
}
END_TEST

START_TEST(eager_plain_stores_and_reuse)
{
	uint8_t *s = view(0), *u = view(3);
	/* a plain store to a live entry is not seen (the guest's bug) until INVLPG */
	put32(PT + 3 * 4, 0x203000 | 7);
	ck_assert(!readable(u + 0x3000));
	vm.cpu.cpl = 0;
	ck_assert_int_eq(hc(PV_HC_INVLPG, 0x3000, 0, 0), 0);
	ck_assert(readable(u + 0x3000) && readable(s + 0x3000));
	/* a store the monitor makes (an emulated instruction) is applied at once */
	uint32_t v = 0x20A000 | 7;
	emu_phys_write(&vm, PT + 10 * 4, &v, 4);
	ck_assert(readable(u + 0xA000) && readable(s + 0xA000));
	/* ... and never maps what is not RAM */
	put32(PT + 9 * 4, 0x80000000u | 7);
	ck_assert_int_eq(hc(PV_HC_INVLPG, 0x9000, 0, 0), 0);
	ck_assert(!readable(u + 0x9000) && !readable(s + 0x9000));
	/* the directory is released (not while loaded), its frame reused: zeroed with plain
	 * stores, a new user table linked while it was not loaded; loaded again, the same
	 * windows come back with the old user mappings gone and the new ones there */
	struct pv_mmu_update rel[] = { { PD | PV_MMU_RELEASE, 0 } };
	ck_assert_int_eq(em_update(1, rel), -PV_EINVAL);       /* the loaded directory */
	ck_assert_uint_eq(get32(IDX), 0);
	put32(PD2 + 768 * 4, 0x83);
	vm.cpu.cr3 = PD2;
	view(0);
	struct pv_mmu_update badrel[] = { { PD | PV_MMU_RELEASE, 1 }, { PD | 5, 0 },
					  { EM_RAM | PV_MMU_RELEASE, 0 } };
	for (unsigned k = 0; k < 3; k++)
		ck_assert_int_eq(em_update(1, &badrel[k]), -PV_EINVAL);
	ck_assert_int_eq(em_update(1, rel), 0);
	for (uint32_t i = 0; i < 768; i++)
		put32(PD + i * 4, 0);
	put32(PT2 + 0 * 4, 0x20B000 | 7);
	struct pv_mmu_update relink[] = { { PD + 2 * 4, PT2 | 7 } };
	ck_assert_int_eq(em_update(1, relink), 0);
	vm.cpu.cr3 = PD;
	uint8_t *s2 = view(0), *u2 = view(3);
	ck_assert(s2 == s && u2 == u);                    /* the same windows, kept */
	ck_assert(!readable(u + 0x0000) && !readable(u + 0x2000) && !readable(s + 0x2000));
	ck_assert(readable(u + 0x800000) && readable(s + 0x800000));
	ck_assert(readable(s + KB));
	ck_assert_uint_ge(smmu_stats.pv_rechecks, 2);
	ck_assert_uint_eq(smmu_stats.pv_releases, 2);
	/* from then on they follow updates again */
	struct pv_mmu_update more[] = { { PT2 + 1 * 4, 0x20C000 | 7 } };
	ck_assert_int_eq(em_update(1, more), 0);
	ck_assert(readable(u + 0x801000));
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
	TCase *h = tcase_create("hypercalls");
	tcase_add_checked_fixture(h, hc_setup, teardown);
	tcase_add_test(h, multicall_in_order);
	tcase_add_test(h, multicall_stops_at_failure);
	tcase_add_test(h, multicall_limits);
	tcase_add_test(h, mmu_update_hypercall_limits);
	tcase_add_test(h, console_ring_output);
	tcase_add_test(h, console_ring_input);
	suite_add_tcase(s, h);
	TCase *e = tcase_create("eager");
	tcase_add_checked_fixture(e, em_setup, em_teardown);
	tcase_add_test(e, eager_window_build);
	tcase_add_test(e, eager_updates_every_view);
	tcase_add_test(e, eager_plain_stores_and_reuse);
	suite_add_tcase(s, e);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
