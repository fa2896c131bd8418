/*
 * st_ide.c - self test: the primary ATA channel's master disk by PIO (ATA/ATAPI-6 PIO
 * data-in and data-out protocols), with its IRQ 14 routed through the I/O APIC.
 *
 * The test scripts attach a small raw image as drive index 0 (QEMU's spelling, the same
 * for both) whose first bytes are DISK_SIGNATURE.  The checks: IDENTIFY DEVICE (an ATA
 * disk, LBA, its size), READ SECTORS of what the script wrote, WRITE SECTORS of two
 * sectors by REP OUTSL with an interrupt after each, FLUSH CACHE, reading them back by
 * REP INSL, a read with nIEN set that completes without an interrupt, and a read past the
 * end that ends in an error.  Each interrupt is acknowledged by reading the status
 * register, as the protocol asks; the alternate status register is polled meanwhile.
 * Without a disk the group prints one note and one passing check (the scripts always
 * attach one, so their lines compare).
 */
#include "st_apic.h"

#define ATA_DATA    0x1F0
#define ATA_ERROR   0x1F1
#define ATA_NSECT   0x1F2
#define ATA_LBA0    0x1F3
#define ATA_LBA1    0x1F4
#define ATA_LBA2    0x1F5
#define ATA_DEVICE  0x1F6
#define ATA_STATUS  0x1F7           /* write: command */
#define ATA_ALTST   0x3F6           /* write: device control */
#define ST_ERR  0x01
#define ST_DRQ  0x08
#define ST_BSY  0x80
#define CTL_NIEN 0x02

#define VEC_IDE 0x6E
#define WAIT_LIMIT 50000000u
#define DISK_SIGNATURE "vmm386 selftest disk"
#define DISK_SECTORS 128u           /* the image the scripts make: 64 KiB */

static uint32_t buf[2][128];
static uint16_t ident[256];

/* Wait until BSY clears; returns the alternate status (0xFF: timed out). */
static uint8_t wait_ready(void)
{
	for (uint32_t n = 0; n < WAIT_LIMIT; n++) {
		uint8_t s = pv_inb(ATA_ALTST);
		if (!(s & ST_BSY))
			return s;
	}
	return 0xFF;
}

/* Wait for the drive's next interrupt (edge on pin 14), then read the status register,
 * which acknowledges it.  want: the IDE interrupt count to reach.  Returns the status, or
 * 0xFF when no interrupt came. */
static uint8_t wait_irq(uint32_t want)
{
	if (!apic_wait(VEC_IDE, want))
		return 0xFF;
	wait_ready();
	return pv_inb(ATA_STATUS);
}

static void command(uint8_t cmd, uint32_t lba, uint8_t count)
{
	wait_ready();
	pv_outb(ATA_DEVICE, 0xE0 | ((lba >> 24) & 0xF));
	pv_outb(ATA_NSECT, count);
	pv_outb(ATA_LBA0, (uint8_t)lba);
	pv_outb(ATA_LBA1, (uint8_t)(lba >> 8));
	pv_outb(ATA_LBA2, (uint8_t)(lba >> 16));
	pv_outb(ATA_STATUS, cmd);
}

static void insl(void *dst)
{
	uint32_t *d = dst, cx = 128;
	asm volatile("cld; rep insl" : "+D"(d), "+c"(cx) : "d"(ATA_DATA) : "memory");
}

static void outsl(const void *src)
{
	const uint32_t *s = src;
	uint32_t cx = 128;
	asm volatile("cld; rep outsl" : "+S"(s), "+c"(cx) : "d"(ATA_DATA) : "memory");
}

static int disk_present(void)
{
	pv_outb(ATA_DEVICE, 0xE0);
	uint8_t s = pv_inb(ATA_ALTST);
	return s != 0 && s != 0xFF;
}

static void ide_identify(void)
{
	command(0xEC, 0, 0);
	uint8_t st = wait_irq(1);
	int ok = st != 0xFF && (st & (ST_DRQ | ST_ERR)) == ST_DRQ;
	if (ok)
		insl(ident);
	uint8_t after = pv_inb(ATA_ALTST);
	st_check(ok, "IDENTIFY DEVICE: an interrupt, then DRQ without ERR", "status 0x%x", st);
	st_check(!(after & ST_DRQ), "DRQ drops after the last word of the data", "status 0x%x", after);
	char model[41];
	for (int i = 0; i < 20; i++) {
		model[2 * i] = (char)(ident[27 + i] >> 8);
		model[2 * i + 1] = (char)ident[27 + i];
	}
	model[40] = 0;
	uint32_t sectors = ident[60] | (uint32_t)ident[61] << 16;
	st_note("IDE: model \"%s\", %u LBA sectors", model, sectors);
	st_check(!(ident[0] & 0x8000) && (ident[49] & 0x200), "IDENTIFY: an ATA device with LBA",
		 "word 0 0x%x word 49 0x%x", ident[0], ident[49]);
	st_eq("IDENTIFY: LBA28 capacity is the image's size", sectors, DISK_SECTORS);
}

static void ide_rw(void)
{
	uint32_t irqs = apic_count(VEC_IDE);
	command(0x20, 0, 1);                                   /* READ SECTORS, LBA 0 */
	uint8_t st = wait_irq(++irqs);
	if ((st & (ST_DRQ | ST_ERR)) == ST_DRQ && st != 0xFF)
		insl(buf[0]);
	st_check(st != 0xFF && !memcmp(buf[0], DISK_SIGNATURE, sizeof(DISK_SIGNATURE) - 1),
		 "READ SECTORS of LBA 0 returns what the test script wrote", "status 0x%x", st);

	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < 128; i++)
			buf[s][i] = 0x9E3779B9u * (s * 128 + i + 1);
	command(0x30, 5, 2);                                   /* WRITE SECTORS, LBA 5-6 */
	int ok = 1;
	for (unsigned s = 0; s < 2 && ok; s++) {
		st = wait_ready();
		ok = (st & (ST_DRQ | ST_ERR)) == ST_DRQ;
		if (ok)
			outsl(buf[s]);
		st = wait_irq(++irqs);
		ok &= st != 0xFF && !(st & ST_ERR) && ((st & ST_DRQ) != 0) == (s == 0);
	}
	st_check(ok, "WRITE SECTORS: two sectors by REP OUTSL, an interrupt after each",
		 "status 0x%x", st);
	command(0xE7, 0, 0);                                   /* FLUSH CACHE */
	st = wait_irq(++irqs);
	st_check(st != 0xFF && !(st & (ST_ERR | ST_DRQ)), "FLUSH CACHE completes with an interrupt",
		 "status 0x%x", st);

	static uint32_t back[2][128];
	command(0x20, 5, 2);
	ok = 1;
	for (unsigned s = 0; s < 2 && ok; s++) {
		st = wait_irq(++irqs);
		ok = st != 0xFF && (st & (ST_DRQ | ST_ERR)) == ST_DRQ;
		if (ok)
			insl(back[s]);
	}
	st_check(ok && !memcmp(back, buf, sizeof(buf)),
		 "READ SECTORS by REP INSL returns the two sectors written", "status 0x%x", st);
	st_eq("one interrupt per command or data block, no more", apic_count(VEC_IDE), irqs);
}

static void ide_nien(void)
{
	uint32_t irqs = apic_count(VEC_IDE);
	pv_outb(ATA_ALTST, CTL_NIEN);
	command(0x20, 0, 1);
	uint8_t st = wait_ready();
	int ok = (st & (ST_DRQ | ST_ERR)) == ST_DRQ;
	if (ok)
		insl(buf[0]);
	apic_wait(VEC_IDE, irqs + 1);                          /* gives it the chance */
	(void)pv_inb(ATA_STATUS);
	pv_outb(ATA_ALTST, 0);
	st_check(ok && apic_count(VEC_IDE) == irqs,
		 "with nIEN set a read completes with no interrupt", "status 0x%x, %u interrupts",
		 st, apic_count(VEC_IDE) - irqs);

	command(0x20, DISK_SECTORS, 1);                        /* past the end */
	st = wait_irq(irqs + 1);
	st_check(st != 0xFF && (st & ST_ERR) && !(st & ST_DRQ), "a read past the last sector ends in ERR",
		 "status 0x%x", st);
}

void st_group_ide(void)
{
	if (!disk_present()) {
		st_note("skipped: no disk on the primary channel (the test scripts attach one)");
		st_check(1, "IDE group skipped without a disk", NULL);
		return;
	}
	apic_irq_begin();
	lapic_wr(APIC_SVR, 0x100 | VEC_APIC_SPURIOUS);
	uint8_t m2 = pv_inb(0xA1);
	pv_outb(0xA1, 0xFF);
	pv_outb(ATA_ALTST, 0);                                 /* nIEN clear */
	(void)pv_inb(ATA_STATUS);
	ioapic_wr(IOAPIC_RTE(14) + 1, lapic_rd(APIC_ID) & 0xFF000000u);
	ioapic_wr(IOAPIC_RTE(14), VEC_IDE);                    /* edge, active high */
	ide_identify();
	ide_rw();
	ide_nien();
	ioapic_wr(IOAPIC_RTE(14), RTE_MASKED | VEC_IDE);
	pv_outb(0xA1, m2);
	apic_irq_end();
}
