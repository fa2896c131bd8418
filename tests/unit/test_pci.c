/*
 * test_pci.c - unit tests for the PCI and QEMU-interface devices of devices/: configuration
 * mechanism #1 with the i440FX/PIIX3 functions (pci.c), fw_cfg (fwcfg.c), pc-testdev
 * (testdev.c), pci-testdev (pci_testdev.c), the HPET's main counter (hpet.c), and the CPU's NMI line a self-NMI IPI raises
 * (bus.c, lapic.c).  Kept apart from test_devices.c, which covers
 * the ISA and APIC devices and is long enough.
 *
 * Devices are driven through the port and MMIO buses only, the way a guest drives them.  The
 * machine's stop callback (a reset through 0xCF9) is a recording stub.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "devices/devices.h"

static int stop_calls, stop_status;

static void record_stop(void *cookie, int status)
{
	(void)cookie;
	stop_calls++;
	stop_status = status;
}

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void setup(void)
{
	fake_now = 1000000000ull;
	dev_set_clock(fake_clock);
	stop_calls = 0;
	stop_status = 0;
	dev_pio_reset();
	dev_pic_init();
	dev_ioapic_init();
	dev_misc_init((struct dev_stop){ record_stop, NULL });
	dev_pci_init();
}

static void teardown(void)
{
	dev_set_clock(NULL);
	dev_pio_reset();
}

/* Mechanism #1: CONFIG_ADDRESS for bus 0, device d, function f, register reg. */
static uint32_t cfg_addr(unsigned d, unsigned f, unsigned reg)
{
	return 0x80000000u | d << 11 | f << 8 | (reg & 0xFC);
}

static uint32_t cfg_read(unsigned d, unsigned f, unsigned reg, int size)
{
	dev_pio_out(0xCF8, 4, cfg_addr(d, f, reg));
	return dev_pio_in((uint16_t)(0xCFC + (reg & 3)), size);
}

static void cfg_write(unsigned d, unsigned f, unsigned reg, int size, uint32_t val)
{
	dev_pio_out(0xCF8, 4, cfg_addr(d, f, reg));
	dev_pio_out((uint16_t)(0xCFC + (reg & 3)), size, val);
}

/* --- PCI ------------------------------------------------------------------------- */

START_TEST(pci_ids_classes_headers)
{
	static const struct { unsigned d, f; uint32_t id, class_rev; uint8_t header; } fn[] = {
		{ 0, 0, 0x12378086u, 0x06000002u, 0x00 },   /* i440FX host bridge, rev 2 */
		{ 1, 0, 0x70008086u, 0x06010000u, 0x80 },   /* PIIX3 ISA bridge, multi-function */
		{ 1, 1, 0x70108086u, 0x01018000u, 0x00 },   /* PIIX3 IDE, compatibility mode */
	};

	for (unsigned i = 0; i < sizeof(fn) / sizeof(fn[0]); i++) {
		ck_assert_uint_eq(cfg_read(fn[i].d, fn[i].f, 0x00, 4), fn[i].id);
		ck_assert_uint_eq(cfg_read(fn[i].d, fn[i].f, 0x08, 4), fn[i].class_rev);
		ck_assert_uint_eq(cfg_read(fn[i].d, fn[i].f, 0x0E, 1), fn[i].header);
		ck_assert_uint_eq(cfg_read(fn[i].d, fn[i].f, 0x2C, 4), 0x11001AF4u);
	}
	/* bytes and words at every offset of the data window */
	ck_assert_uint_eq(cfg_read(0, 0, 0x00, 1), 0x86);
	ck_assert_uint_eq(cfg_read(0, 0, 0x01, 1), 0x80);
	ck_assert_uint_eq(cfg_read(0, 0, 0x02, 2), 0x1237);
	ck_assert_uint_eq(cfg_read(0, 0, 0x03, 1), 0x12);
	ck_assert_uint_eq(cfg_read(1, 1, 0x0A, 2), 0x0101);
	ck_assert_uint_eq(cfg_read(1, 1, 0x09, 1), 0x80);
	/* compatibility-mode IDE: BARs 0-4 read 0, decode enabled in IDETIM */
	for (unsigned bar = 0x10; bar <= 0x20; bar += 4)
		ck_assert_uint_eq(cfg_read(1, 1, bar, 4), 0);
	ck_assert_uint_eq(cfg_read(1, 1, 0x40, 2), 0x8000);
	ck_assert_uint_eq(cfg_read(1, 1, 0x42, 2), 0x8000);
}
END_TEST

START_TEST(pci_absent_and_disabled)
{
	ck_assert_uint_eq(cfg_read(2, 0, 0x00, 4), 0xFFFFFFFFu);   /* empty slot */
	ck_assert_uint_eq(cfg_read(0, 1, 0x00, 2), 0xFFFF);        /* no such function */
	ck_assert_uint_eq(cfg_read(31, 7, 0x08, 1), 0xFF);
	dev_pio_out(0xCF8, 4, 0x80010000u);                        /* bus 1 */
	ck_assert_uint_eq(dev_pio_in(0xCFC, 4), 0xFFFFFFFFu);
	dev_pio_out(0xCF8, 4, 0x00000000u);                        /* enable bit clear */
	ck_assert_uint_eq(dev_pio_in(0xCFC, 4), 0xFFFFFFFFu);
	dev_pio_out(0xCFC, 4, 0);                                   /* dropped */
	ck_assert_uint_eq(cfg_read(0, 0, 0x00, 4), 0x12378086u);
	/* writes to an empty slot go nowhere */
	cfg_write(2, 0, 0x04, 2, 0xFFFF);
	ck_assert_uint_eq(cfg_read(2, 0, 0x04, 2), 0xFFFF);
}
END_TEST

START_TEST(pci_address_register)
{
	dev_pio_out(0xCF8, 4, 0xFFFFFFFFu);
	ck_assert_uint_eq(dev_pio_in(0xCF8, 4), 0x80FFFFFCu);   /* reserved bits read 0 */
	dev_pio_out(0xCF8, 4, 0x80000000u);
	ck_assert_uint_eq(dev_pio_in(0xCF8, 4), 0x80000000u);   /* Linux's type 1 check */
	/* byte and word accesses do not reach CONFIG_ADDRESS */
	dev_pio_out(0xCFB, 1, 0x01);
	dev_pio_out(0xCF8, 2, 0x1234);
	ck_assert_uint_eq(dev_pio_in(0xCF8, 4), 0x80000000u);
	ck_assert_uint_eq(dev_pio_in(0xCFA, 1), 0xFF);
}
END_TEST

START_TEST(pci_command_status_masks)
{
	ck_assert_uint_eq(cfg_read(0, 0, 0x04, 2), 0x0006);
	cfg_write(0, 0, 0x04, 2, 0xFFFF);
	ck_assert_uint_eq(cfg_read(0, 0, 0x04, 2), 0x0547);     /* only the writable bits */
	cfg_write(0, 0, 0x04, 2, 0x0000);
	ck_assert_uint_eq(cfg_read(0, 0, 0x04, 2), 0x0000);
	cfg_write(0, 0, 0x05, 1, 0x04);                         /* byte at offset 5: INTx disable */
	ck_assert_uint_eq(cfg_read(0, 0, 0x04, 2), 0x0400);
	/* IDs, class, header type and status bits are read-only */
	cfg_write(1, 0, 0x00, 4, 0);
	cfg_write(1, 0, 0x08, 4, 0);
	cfg_write(1, 0, 0x0E, 1, 0);
	cfg_write(1, 0, 0x06, 2, 0xFFFF);
	ck_assert_uint_eq(cfg_read(1, 0, 0x00, 4), 0x70008086u);
	ck_assert_uint_eq(cfg_read(1, 0, 0x08, 4), 0x06010000u);
	ck_assert_uint_eq(cfg_read(1, 0, 0x0E, 1), 0x80);
	ck_assert_uint_eq(cfg_read(1, 0, 0x06, 2), 0x0200);
	/* interrupt line and the chipset registers keep what is written */
	cfg_write(1, 1, 0x3C, 1, 0x0E);
	ck_assert_uint_eq(cfg_read(1, 1, 0x3C, 1), 0x0E);
	ck_assert_uint_eq(cfg_read(1, 0, 0x60, 4), 0x80808080u); /* PIRQ routing off */
	cfg_write(1, 0, 0x61, 1, 0x0B);
	ck_assert_uint_eq(cfg_read(1, 0, 0x60, 4), 0x80800B80u);
}
END_TEST

START_TEST(pci_reset_control)
{
	ck_assert_uint_eq(dev_pio_in(0xCF9, 1), 0);
	dev_pio_out(0xCF9, 1, 0x02);                            /* hard reset selected */
	ck_assert_int_eq(stop_calls, 0);
	ck_assert_uint_eq(dev_pio_in(0xCF9, 1), 0x02);
	dev_pio_out(0xCF9, 1, 0x06);                            /* reset CPU */
	ck_assert_int_eq(stop_calls, 1);
	ck_assert_int_eq(stop_status, DEV_STOP_RESET);
}
END_TEST

/* BAR sizing on pci-testdev's BARs: all ones reads back the size mask with the type bits, and
 * the first address comes back when rewritten. */
START_TEST(pci_testdev_bars)
{
	dev_pci_testdev_init();
	ck_assert_uint_eq(cfg_read(2, 0, 0x00, 4), 0x00051B36u);
	ck_assert_uint_eq(cfg_read(2, 0, 0x08, 4), 0xFF000000u);
	uint32_t mem = cfg_read(2, 0, 0x10, 4), io = cfg_read(2, 0, 0x14, 4);
	ck_assert_uint_eq(mem & 0xF, 0);                        /* 32-bit memory BAR */
	ck_assert_uint_eq(io & 0x3, 1);                         /* I/O BAR */
	cfg_write(2, 0, 0x10, 4, 0xFFFFFFFFu);
	cfg_write(2, 0, 0x14, 4, 0xFFFFFFFFu);
	ck_assert_uint_eq(cfg_read(2, 0, 0x10, 4), 0xFFFFF000u);   /* 4 KiB */
	ck_assert_uint_eq(cfg_read(2, 0, 0x14, 4), 0xFFFFFF01u);   /* 256 ports */
	ck_assert_uint_eq(cfg_read(2, 0, 0x18, 4), 0);             /* BAR 2 not implemented */
	cfg_write(2, 0, 0x18, 4, 0xFFFFFFFFu);
	ck_assert_uint_eq(cfg_read(2, 0, 0x18, 4), 0);
	/* a moved BAR no longer decodes at the old place; restored, it does again */
	ck_assert_uint_eq(dev_pio_in((uint16_t)(io & ~3u), 1), 0xFF);
	cfg_write(2, 0, 0x10, 4, mem);
	cfg_write(2, 0, 0x14, 4, io);
	ck_assert_uint_eq(cfg_read(2, 0, 0x14, 4), io);
	dev_pio_out((uint16_t)(io & ~3u), 1, 0);                  /* select test 0 */
	ck_assert_uint_eq(dev_pio_in((uint16_t)((io & ~3u) + 1), 1), 1);   /* width */
	cfg_write(2, 0, 0x04, 2, 0);                               /* I/O decode off */
	ck_assert_uint_eq(dev_pio_in((uint16_t)((io & ~3u) + 1), 1), 0xFF);
}
END_TEST

/* QEMU's test protocol: select, read the header, trigger, count. */
START_TEST(pci_testdev_protocol)
{
	dev_pci_testdev_init();
	uint16_t io = (uint16_t)(cfg_read(2, 0, 0x14, 4) & ~3u);
	uint32_t mem = cfg_read(2, 0, 0x10, 4) & ~15u, v = 0;
	char name[32];

	for (unsigned t = 0; t < 3; t++) {
		dev_pio_out(io, 1, t);
		ck_assert_uint_eq(dev_pio_in(io, 1), 3 + t);            /* test index, I/O kind */
		uint32_t off = dev_pio_in((uint16_t)(io + 4), 4), data = dev_pio_in((uint16_t)(io + 8), 1);
		ck_assert_uint_eq(off, 128 + 3 + t);
		ck_assert_uint_eq(dev_pio_in((uint16_t)(io + 12), 4), 0);
		for (int i = 0; i < 5; i++)
			dev_pio_out((uint16_t)(io + off), 1, data);
		dev_pio_out((uint16_t)(io + off), 1, data ^ 1);        /* counts only if wildcard */
		ck_assert_uint_eq(dev_pio_in((uint16_t)(io + 12), 4), t == 1 ? 6 : 5);
	}
	for (unsigned i = 0; i < sizeof(name); i++)
		name[i] = (char)dev_pio_in((uint16_t)(io + 16 + i), 1);
	ck_assert_str_eq(name, "portio-datamatch-eventfd");
	dev_mmio_write(mem, &v, 1);                                 /* memory BAR, test 0 */
	dev_mmio_read(mem + 16, name, 16);
	name[15] = '\0';
	ck_assert_str_eq(name, "mmio-no-eventfd");
	dev_mmio_read(mem + 4, &v, 4);
	ck_assert_uint_eq(v, 2048);
}
END_TEST

/* The ACPI DSDT names the PCI root bridge (an OS that takes its buses from ACPI scans only
 * the ones named there), with its resources, and still sums to zero. */
START_TEST(pci_root_in_dsdt)
{
	static const uint8_t pnp0a03[] = { 0x0C, 0x41, 0xD0, 0x0A, 0x03 };
	uint32_t ram_bytes = 2u << 20, dsdt, len;
	uint8_t *ram = calloc(1, ram_bytes), sum = 0;

	ck_assert_ptr_nonnull(ram);
	dev_acpi_init(ram, ram_bytes, (struct dev_stop){ record_stop, NULL });
	memcpy(&dsdt, ram + ACPI_RSDP_ADDR + 0x80 + 40, 4);        /* FADT.DSDT */
	ck_assert_mem_eq(ram + dsdt, "DSDT", 4);
	memcpy(&len, ram + dsdt + 4, 4);
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + ram[dsdt + i]);
	ck_assert_uint_eq(sum, 0);
	ck_assert_ptr_nonnull(memmem(ram + dsdt, len, "PCI0", 4));
	ck_assert_ptr_nonnull(memmem(ram + dsdt, len, pnp0a03, sizeof(pnp0a03)));
	ck_assert_ptr_nonnull(memmem(ram + dsdt, len, "_CRS", 4));
	free(ram);
}
END_TEST

/* --- fw_cfg ------------------------------------------------------------------------ */

static void fw_select(uint16_t key)
{
	dev_pio_out(0x510, 2, key);
}

static uint64_t fw_le(uint16_t key, int bytes)
{
	uint64_t v = 0;

	fw_select(key);
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)dev_pio_in(0x511, 1) << (8 * i);
	return v;
}

START_TEST(fwcfg_items)
{
	char sig[5] = { 0 }, cmd[16] = { 0 };

	dev_fwcfg_init(256u << 20, "console=ttyS0");
	fw_select(0x0000);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)dev_pio_in(0x511, 1);
	ck_assert_str_eq(sig, "QEMU");
	ck_assert_uint_eq(fw_le(0x01, 4), 1);                     /* traditional interface only */
	ck_assert_uint_eq(fw_le(0x03, 8), 256ull << 20);          /* RAM_SIZE */
	ck_assert_uint_eq(fw_le(0x05, 2), 1);                     /* NB_CPUS */
	ck_assert_uint_eq(fw_le(0x0F, 2), 1);                     /* MAX_CPUS */
	ck_assert_uint_eq(fw_le(0x14, 4), 14);                    /* CMDLINE_SIZE, with the NUL */
	fw_select(0x15);
	for (int i = 0; i < 16; i++)
		cmd[i] = (char)dev_pio_in(i & 1 ? 0x511 : 0x510, 1);   /* both ports read data */
	ck_assert_str_eq(cmd, "console=ttyS0");
	ck_assert_uint_eq(fw_le(0x8002, 4), 1);                   /* IRQ0_OVERRIDE */
	ck_assert_uint_eq(fw_le(0x19, 4), 0);                     /* no files */
	/* past the end, an unknown key, and a re-select that rewinds */
	ck_assert_uint_eq(fw_le(0x05, 4), 1);
	ck_assert_uint_eq(fw_le(0x1234, 4), 0);
	fw_select(0x0000);
	dev_pio_in(0x511, 1);
	dev_pio_out(0x511, 1, 'X');                               /* writes are ignored */
	fw_select(0x0000);
	ck_assert_uint_eq(dev_pio_in(0x511, 1), 'Q');
	ck_assert_uint_eq(dev_pio_in(0x510, 2), 0xFFFF);         /* not a valid access size */
	/* a byte write to the selector does not select */
	dev_pio_out(0x510, 1, 0x05);
	ck_assert_uint_eq(dev_pio_in(0x511, 1), 'E');
}
END_TEST

START_TEST(fwcfg_no_cmdline)
{
	dev_fwcfg_init(32u << 20, NULL);
	ck_assert_uint_eq(fw_le(0x14, 4), 1);
	ck_assert_uint_eq(fw_le(0x15, 2), 0);
	ck_assert_uint_eq(fw_le(0x03, 8), 32u << 20);
}
END_TEST

/* --- pc-testdev ----------------------------------------------------------------------- */

START_TEST(testdev_latch_and_memory)
{
	uint32_t v;

	dev_testdev_init();
	dev_pio_out(0xE0, 4, 0x11223344u);
	ck_assert_uint_eq(dev_pio_in(0xE0, 4), 0x11223344u);
	ck_assert_uint_eq(dev_pio_in(0xE2, 2), 0x1122);
	ck_assert_uint_eq(dev_pio_in(0xE1, 1), 0x33);
	dev_pio_out(0xE2, 2, 0xAABB);
	ck_assert_uint_eq(dev_pio_in(0xE0, 4), 0xAABB3344u);
	ck_assert_uint_eq(dev_pio_in(0xE8, 4), 0xAABB3344u);     /* the byte window: same latch */
	dev_pio_out(0xE9, 2, 0x5566);
	ck_assert_uint_eq(dev_pio_in(0xE0, 4), 0xAA556644u);
	dev_pio_out(0xE4, 4, 0x1000);                             /* flush page: no effect */
	ck_assert_uint_eq(dev_pio_in(0xE4, 4), 0);
	v = 0x99887766u;
	dev_mmio_write(TESTDEV_MEM_BASE + 0xFFC, &v, 4);
	v = 0;
	dev_mmio_read(TESTDEV_MEM_BASE + 0xFFE, &v, 2);
	ck_assert_uint_eq(v, 0x9988);
}
END_TEST

START_TEST(testdev_irq_lines)
{
	dev_testdev_init();
	dev_pio_out(0x20, 1, 0x11); dev_pio_out(0x21, 1, 0x20); dev_pio_out(0x21, 1, 0x04);
	dev_pio_out(0x21, 1, 0x01); dev_pio_out(0x21, 1, 0x00);
	ck_assert_int_eq(dev_pic_pending(), -1);
	dev_pio_out(0x2003, 1, 1);                                  /* IRQ 3 up */
	ck_assert_int_eq(dev_pic_pending(), 0x23);
	ck_assert_int_eq(dev_pic_ack(), 0x23);
	dev_pio_out(0x20, 1, 0x20);                                 /* EOI */
	dev_pio_out(0x2003, 1, 2);                                  /* still up: no new edge */
	ck_assert_int_eq(dev_pic_pending(), -1);
	dev_pio_out(0x2003, 1, 0);
	dev_pio_out(0x2003, 2, 1);                                  /* not a byte: ignored */
	ck_assert_int_eq(dev_pic_pending(), -1);
	dev_pio_out(0x2003, 1, 1);                                  /* down and up: a new edge */
	ck_assert_int_eq(dev_pic_pending(), 0x23);
	ck_assert_uint_eq(dev_pio_in(0x2003, 1), 0);
}
END_TEST

/* --- HPET ------------------------------------------------------------------------------ */

static uint32_t hpet_rd(uint32_t off)
{
	uint32_t v;

	dev_mmio_read(HPET_BASE + off, &v, 4);
	return v;
}

static void hpet_wr(uint32_t off, uint32_t v)
{
	dev_mmio_write(HPET_BASE + off, &v, 4);
}

START_TEST(hpet_counter)
{
	dev_hpet_init();
	ck_assert_uint_eq(hpet_rd(0x00), 0x8086A201u);          /* vendor, legacy, 64-bit, 3 timers */
	ck_assert_uint_eq(hpet_rd(0x04), 10000000u);            /* 10 ns in fs */
	ck_assert_uint_eq(hpet_rd(0xF0), 0);
	fake_now += 1000;
	ck_assert_uint_eq(hpet_rd(0xF0), 0);                    /* stopped */
	hpet_wr(0x10, 1);                                       /* ENABLE_CNF */
	ck_assert_uint_eq(hpet_rd(0x10), 1);
	fake_now += 1000;
	ck_assert_uint_eq(hpet_rd(0xF0), 100);                  /* 100 MHz */
	fake_now += 42949672960ull;                             /* 2^32 ticks later */
	ck_assert_uint_eq(hpet_rd(0xF0), 100);
	ck_assert_uint_eq(hpet_rd(0xF4), 1);
	hpet_wr(0x10, 0);                                       /* stop: the value holds */
	fake_now += 5000;
	ck_assert_uint_eq(hpet_rd(0xF0), 100);
	hpet_wr(0xF0, 7);                                       /* written while stopped */
	hpet_wr(0xF4, 0);
	ck_assert_uint_eq(hpet_rd(0xF0), 7);
	ck_assert_uint_eq(hpet_rd(0xF4), 0);
	hpet_wr(0x100, 0xFFFFFFFFu);                            /* timer 0: not implemented */
	ck_assert_uint_eq(hpet_rd(0x100), 0);
}
END_TEST

/* --- NMI line -------------------------------------------------------------------------- */

static void icr_write(uint32_t v)
{
	dev_mmio_write(LAPIC_BASE + 0x300, &v, 4);
}

START_TEST(nmi_self_ipi)
{
	uint32_t svr = 0x1FF;

	dev_lapic_init();
	dev_mmio_write(LAPIC_BASE + 0xF0, &svr, 4);               /* software enable */
	ck_assert(!dev_nmi_take());
	icr_write(0x00044000u | 0x400);                            /* self, NMI, assert */
	ck_assert(dev_nmi_take());
	ck_assert(!dev_nmi_take());                                /* taken once */
	icr_write(0x00004000u | 0x400);                            /* physical dest 0 = us */
	icr_write(0x00004000u | 0x400);                            /* a second before taking: one */
	ck_assert(dev_nmi_take());
	ck_assert(!dev_nmi_take());
	icr_write(0x00044000u | 0x30);                             /* a fixed IPI is no NMI */
	ck_assert(!dev_nmi_take());
}
END_TEST

static Suite *pci_suite(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("pci");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pci_ids_classes_headers);
	tcase_add_test(tc, pci_absent_and_disabled);
	tcase_add_test(tc, pci_address_register);
	tcase_add_test(tc, pci_command_status_masks);
	tcase_add_test(tc, pci_reset_control);
	tcase_add_test(tc, pci_testdev_bars);
	tcase_add_test(tc, pci_testdev_protocol);
	tcase_add_test(tc, pci_root_in_dsdt);
	tcase_add_test(tc, fwcfg_items);
	tcase_add_test(tc, fwcfg_no_cmdline);
	tcase_add_test(tc, testdev_latch_and_memory);
	tcase_add_test(tc, testdev_irq_lines);
	tcase_add_test(tc, nmi_self_ipi);
	tcase_add_test(tc, hpet_counter);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pci_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
