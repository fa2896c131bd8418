/*
 * ide.c - ATA/IDE disks driven by PIO: the primary channel (0x1F0-0x1F7, control 0x3F6,
 * IRQ 14) and the secondary (0x170-0x177, 0x376, IRQ 15), a master and a slave on each.
 *
 * Drive index n (QEMU's -drive index=n, -hda/-hdb) is channel n / 2, unit n % 2.  An image
 * is a raw file of whole 512-byte sectors, mapped into the monitor: shared, so every sector
 * the guest writes is in the host's page cache at once (a killed vmm386 loses nothing) and
 * FLUSH CACHE or exit makes it durable (msync + fdatasync); or private with -snapshot, so
 * writes stay in the monitor's memory and the file is never changed.
 *
 * Commands: IDENTIFY DEVICE, READ/WRITE SECTORS (with and without retry), READ/WRITE
 * MULTIPLE after SET MULTIPLE MODE (1-16 sectors a block), FLUSH CACHE, and the ones a
 * driver issues in passing (INITIALIZE DEVICE PARAMETERS, RECALIBRATE, SEEK, READ VERIFY,
 * SET FEATURES, IDLE, STANDBY, CHECK POWER MODE), which complete at once.  Anything else is
 * aborted (ERR, ABRT).  Addresses are LBA28, or CHS in the geometry IDENTIFY reports
 * (16 heads, 63 sectors a track, as QEMU guesses for an unpartitioned disk).
 *
 * Protocol, as on hardware but without the waiting: a command completes the moment it is
 * written.  Data-in: each block lands in the buffer with DRQ set and an interrupt; after the
 * last word of the last block, DRQ drops.  Data-out: DRQ is set with no interrupt for the
 * first block; each filled block goes to the image and interrupts, with DRQ again while
 * sectors remain.  INTRQ (held high while pending, unless nIEN) is cleared by reading the
 * status register, not the alternate status.  Registers are shared by both units and the
 * unit bit of the device register selects who answers; as under QEMU, a channel with no
 * drive reads 0 everywhere, an absent slave reads 0 and ignores commands, and an absent
 * master (with a slave present) reads DRDY and aborts commands.
 *
 * The data register also takes whole REP INSW/INSD/OUTSW/OUTSD strings through the port
 * bus's block hook, so a sector costs one monitor exit, not one per word.
 * Runs on the vCPU thread, except dev_ide_attach (start-up).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "devices/devices.h"

#define SECTOR       512u
#define MAX_MULT     16u
#define LBA28_MAX    0x0FFFFFFFull

/* Command block offsets. */
#define ATA_DATA     0
#define ATA_ERROR    1   /* write: features */
#define ATA_NSECT    2
#define ATA_SECT     3   /* LBA 7:0 */
#define ATA_LCYL     4   /* LBA 15:8 */
#define ATA_HCYL     5   /* LBA 23:16 */
#define ATA_DEVICE   6
#define ATA_STATUS   7   /* write: command */

#define ST_ERR   0x01
#define ST_DRQ   0x08
#define ST_DSC   0x10
#define ST_DRDY  0x40
#define ST_BSY   0x80
#define ER_ABRT  0x04
#define ER_IDNF  0x10
#define DEV_LBA  0x40
#define DEV_UNIT 0x10
#define CTL_NIEN 0x02
#define CTL_SRST 0x04

enum { CMD_READ = 0x20, CMD_READ_NR = 0x21, CMD_WRITE = 0x30, CMD_WRITE_NR = 0x31,
       CMD_VERIFY = 0x40, CMD_VERIFY_NR = 0x41, CMD_SEEK = 0x70, CMD_INIT_PARAMS = 0x91,
       CMD_READ_MULT = 0xC4, CMD_WRITE_MULT = 0xC5, CMD_SET_MULT = 0xC6,
       CMD_STANDBY_IMM = 0xE0, CMD_IDLE_IMM = 0xE1, CMD_STANDBY = 0xE2, CMD_IDLE = 0xE3,
       CMD_CHECK_POWER = 0xE5, CMD_FLUSH = 0xE7, CMD_IDENTIFY = 0xEC, CMD_SET_FEATURES = 0xEF };

struct ide_drive {
	bool present, snapshot;
	int fd;
	uint8_t *image;          /* the mapped file */
	uint64_t sectors;
	uint32_t cyls, heads, spt;
	uint8_t mult;            /* sectors per block for READ/WRITE MULTIPLE (0: off) */
};

struct ide_channel {
	uint16_t base, ctl_port;
	int irq;
	struct ide_drive drive[2];
	uint8_t feature, nsect, sect, lcyl, hcyl, device, status, error, ctl;
	bool irq_pending;
	/* the transfer in progress (DRQ set) */
	bool writing;
	uint32_t lba, remaining, block, pos, len;
	uint8_t buf[MAX_MULT * SECTOR];
};

static struct ide_channel chans[2] = {
	{ .base = 0x1F0, .ctl_port = 0x3F6, .irq = 14 },
	{ .base = 0x170, .ctl_port = 0x376, .irq = 15 },
};

/* --- interrupt line and status ------------------------------------------------------- */

static void update_irq(struct ide_channel *ch)
{
	dev_pic_set_irq(ch->irq, ch->irq_pending && !(ch->ctl & CTL_NIEN));
}

static void raise_irq(struct ide_channel *ch)
{
	if (ch->irq_pending) {          /* a new event on a line already high: a new edge */
		ch->irq_pending = false;
		update_irq(ch);
	}
	ch->irq_pending = true;
	update_irq(ch);
}

static struct ide_drive *selected(struct ide_channel *ch)
{
	return &ch->drive[(ch->device & DEV_UNIT) ? 1 : 0];
}

static bool channel_empty(const struct ide_channel *ch)
{
	return !ch->drive[0].present && !ch->drive[1].present;
}

static uint8_t status(struct ide_channel *ch)
{
	if (channel_empty(ch) || (!selected(ch)->present && (ch->device & DEV_UNIT)))
		return 0;
	return ch->status;
}

static void finish(struct ide_channel *ch, bool irq)
{
	ch->status = ST_DRDY | ST_DSC;
	ch->pos = ch->len = 0;
	if (irq)
		raise_irq(ch);
}

static void abort_cmd(struct ide_channel *ch, uint8_t err)
{
	ch->error = err;
	ch->status = ST_DRDY | ST_DSC | ST_ERR;
	ch->pos = ch->len = 0;
	raise_irq(ch);
}

/* --- addressing and the image -------------------------------------------------------- */

static uint32_t cmd_lba(struct ide_channel *ch, const struct ide_drive *d)
{
	if (ch->device & DEV_LBA)
		return (uint32_t)(ch->device & 0xF) << 24 | (uint32_t)ch->hcyl << 16 |
		       (uint32_t)ch->lcyl << 8 | ch->sect;
	uint32_t cyl = (uint32_t)ch->hcyl << 8 | ch->lcyl;
	if (ch->sect == 0)
		return UINT32_MAX;      /* sectors count from 1 */
	return (cyl * d->heads + (ch->device & 0xF)) * d->spt + ch->sect - 1;
}

static void drive_flush(struct ide_drive *d)
{
	if (!d->present || d->snapshot)
		return;
	msync(d->image, d->sectors * SECTOR, MS_SYNC);
	fdatasync(d->fd);
}

void dev_ide_flush_all(void)
{
	for (int c = 0; c < 2; c++)
		for (int u = 0; u < 2; u++)
			drive_flush(&chans[c].drive[u]);
}

/* --- IDENTIFY DEVICE ------------------------------------------------------------------ */

/* ATA strings: space padded, two characters a word, the first in the high byte. */
static void id_string(uint16_t *w, const char *s, unsigned words)
{
	for (unsigned i = 0; i < words * 2; i++) {
		char ch = *s ? *s++ : ' ';
		w[i / 2] |= (uint16_t)((uint8_t)ch << ((i & 1) ? 0 : 8));
	}
}

static void identify(struct ide_channel *ch, const struct ide_drive *d, int index)
{
	uint16_t w[256] = {0};
	char serial[21];
	uint64_t lba28 = d->sectors < LBA28_MAX ? d->sectors : LBA28_MAX;
	uint32_t chs = d->cyls * d->heads * d->spt;

	snprintf(serial, sizeof(serial), "VMM386-HD%d", index);
	w[0] = 0x0040;                          /* fixed disk */
	w[1] = (uint16_t)d->cyls, w[3] = (uint16_t)d->heads, w[6] = (uint16_t)d->spt;
	id_string(&w[10], serial, 10);
	id_string(&w[23], "1.0", 4);
	id_string(&w[27], "VMM386 HARDDISK", 20);
	w[47] = 0x8000 | MAX_MULT;
	w[49] = 1u << 9;                        /* LBA; no DMA */
	w[51] = 0x200;
	w[53] = 0x0003;                         /* words 54-58 and 64-70 valid */
	w[54] = (uint16_t)d->cyls, w[55] = (uint16_t)d->heads, w[56] = (uint16_t)d->spt;
	w[57] = (uint16_t)chs, w[58] = (uint16_t)(chs >> 16);
	w[59] = d->mult ? 0x100 | d->mult : 0;
	w[60] = (uint16_t)lba28, w[61] = (uint16_t)(lba28 >> 16);
	w[64] = 0x03;                           /* PIO modes 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[80] = 0x007E;                         /* ATA-1 to ATA-6 */
	w[82] = 1u << 14;                       /* NOP */
	w[83] = 1u << 14 | 1u << 12;            /* FLUSH CACHE */
	w[84] = 1u << 14;
	w[85] = w[82], w[86] = w[83] & ~(1u << 14), w[87] = w[84];
	memcpy(ch->buf, w, SECTOR);
	ch->writing = false;
	ch->remaining = 1, ch->block = 1, ch->pos = 0, ch->len = SECTOR;
	ch->status = ST_DRDY | ST_DSC | ST_DRQ;
	raise_irq(ch);
}

/* --- READ/WRITE ----------------------------------------------------------------------- */

/* Set up the next block of the transfer in progress. */
static void next_block(struct ide_channel *ch)
{
	const struct ide_drive *d = selected(ch);
	uint32_t n = ch->remaining < ch->block ? ch->remaining : ch->block;

	ch->pos = 0;
	ch->len = n * SECTOR;
	ch->status = ST_DRDY | ST_DSC | ST_DRQ;
	if (!ch->writing) {
		memcpy(ch->buf, d->image + (uint64_t)ch->lba * SECTOR, ch->len);
		raise_irq(ch);
	}
}

static void start_transfer(struct ide_channel *ch, bool write, uint32_t block)
{
	struct ide_drive *d = selected(ch);
	uint32_t count = ch->nsect ? ch->nsect : 256;
	uint32_t lba = cmd_lba(ch, d);

	if (lba == UINT32_MAX || (uint64_t)lba + count > d->sectors) {
		abort_cmd(ch, ER_IDNF | ER_ABRT);
		return;
	}
	ch->writing = write;
	ch->lba = lba, ch->remaining = count, ch->block = block;
	next_block(ch);
}

/* The guest has read or written the whole buffer. */
static void block_done(struct ide_channel *ch)
{
	struct ide_drive *d = selected(ch);
	uint32_t n = ch->len / SECTOR;

	if (ch->writing && ch->remaining > 0)
		memcpy(d->image + (uint64_t)ch->lba * SECTOR, ch->buf, ch->len);
	ch->lba += n;
	ch->remaining -= n < ch->remaining ? n : ch->remaining;
	if (ch->remaining) {
		next_block(ch);
		if (ch->writing)
			raise_irq(ch);
		return;
	}
	finish(ch, ch->writing);
}

static void set_multiple(struct ide_channel *ch, struct ide_drive *d)
{
	uint8_t n = ch->nsect;

	if (n > MAX_MULT || (n & (n - 1))) {
		abort_cmd(ch, ER_ABRT);
		return;
	}
	d->mult = n;
	finish(ch, true);
}

static void command(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_drive *d = selected(ch);
	int index = (int)(ch - chans) * 2 + (d - ch->drive);

	if (channel_empty(ch) || (!d->present && (ch->device & DEV_UNIT)))
		return;                 /* nobody there to take it */
	ch->error = 0;
	if (!d->present) {
		abort_cmd(ch, ER_ABRT);
		return;
	}
	switch (cmd) {
	case CMD_IDENTIFY:   identify(ch, d, index); break;
	case CMD_READ: case CMD_READ_NR:   start_transfer(ch, false, 1); break;
	case CMD_WRITE: case CMD_WRITE_NR: start_transfer(ch, true, 1); break;
	case CMD_READ_MULT: case CMD_WRITE_MULT:
		if (!d->mult)
			abort_cmd(ch, ER_ABRT);
		else
			start_transfer(ch, cmd == CMD_WRITE_MULT, d->mult);
		break;
	case CMD_SET_MULT:   set_multiple(ch, d); break;
	case CMD_FLUSH:      drive_flush(d); finish(ch, true); break;
	case CMD_INIT_PARAMS:
		if (ch->nsect)
			d->spt = ch->nsect, d->heads = (ch->device & 0xFu) + 1;
		finish(ch, true);
		break;
	case CMD_CHECK_POWER: ch->nsect = 0xFF; finish(ch, true); break;
	case CMD_VERIFY: case CMD_VERIFY_NR: case CMD_SEEK: case CMD_SET_FEATURES:
	case CMD_STANDBY_IMM: case CMD_IDLE_IMM: case CMD_STANDBY: case CMD_IDLE:
		finish(ch, true);
		break;
	default:
		if ((cmd & 0xF0) == 0x10) {     /* RECALIBRATE */
			finish(ch, true);
			break;
		}
		abort_cmd(ch, ER_ABRT);
	}
}

/* --- registers ------------------------------------------------------------------------ */

static uint32_t data_read(struct ide_channel *ch, int size)
{
	uint32_t v = 0;

	if (!(ch->status & ST_DRQ) || ch->writing || ch->pos + (unsigned)size > ch->len)
		return size == 4 ? 0xFFFFFFFFu : 0xFFFFu;
	memcpy(&v, ch->buf + ch->pos, (size_t)size);
	ch->pos += (unsigned)size;
	if (ch->pos == ch->len)
		block_done(ch);
	return v;
}

static void data_write(struct ide_channel *ch, int size, uint32_t v)
{
	if (!(ch->status & ST_DRQ) || !ch->writing || ch->pos + (unsigned)size > ch->len)
		return;
	memcpy(ch->buf + ch->pos, &v, (size_t)size);
	ch->pos += (unsigned)size;
	if (ch->pos == ch->len)
		block_done(ch);
}

static unsigned data_block(void *opaque, uint16_t off, int size, void *buf, unsigned count,
			   bool write)
{
	struct ide_channel *ch = opaque;
	unsigned bytes;

	(void)off;
	if (!(ch->status & ST_DRQ) || ch->writing != write)
		return 0;
	bytes = ch->len - ch->pos;
	if (bytes > count * (unsigned)size)
		bytes = count * (unsigned)size;
	bytes -= bytes % (unsigned)size;
	if (write)
		memcpy(ch->buf + ch->pos, buf, bytes);
	else
		memcpy(buf, ch->buf + ch->pos, bytes);
	ch->pos += bytes;
	if (ch->pos == ch->len)
		block_done(ch);
	return bytes / (unsigned)size;
}

static uint32_t ide_read(void *opaque, uint16_t off, int size)
{
	struct ide_channel *ch = opaque;

	if (off == ATA_DATA)
		return data_read(ch, size);
	if (size != 1)
		return dev_pio_split_in(ide_read, opaque, off, size);
	if (channel_empty(ch))
		return 0;
	switch (off) {
	case ATA_ERROR:  return ch->error;
	case ATA_NSECT:  return ch->nsect;
	case ATA_SECT:   return ch->sect;
	case ATA_LCYL:   return ch->lcyl;
	case ATA_HCYL:   return ch->hcyl;
	case ATA_DEVICE: return ch->device | 0xA0;
	default:
		ch->irq_pending = false;        /* reading status acknowledges the interrupt */
		update_irq(ch);
		return status(ch);
	}
}

static void ide_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	struct ide_channel *ch = opaque;
	uint8_t v = (uint8_t)val;

	if (off == ATA_DATA) {
		data_write(ch, size, val);
		return;
	}
	if (size != 1) {
		dev_pio_split_out(ide_write, opaque, off, size, val);
		return;
	}
	switch (off) {
	case ATA_ERROR:  ch->feature = v; break;
	case ATA_NSECT:  ch->nsect = v; break;
	case ATA_SECT:   ch->sect = v; break;
	case ATA_LCYL:   ch->lcyl = v; break;
	case ATA_HCYL:   ch->hcyl = v; break;
	case ATA_DEVICE: ch->device = v & 0x5F; break;
	default:         command(ch, v); break;
	}
}

/* Software reset: the registers take their power-on values and the signature of a disk. */
static void soft_reset(struct ide_channel *ch)
{
	ch->nsect = ch->sect = 1;
	ch->lcyl = ch->hcyl = 0;
	ch->device = 0;
	ch->error = 0x01;               /* diagnostics passed */
	ch->pos = ch->len = 0;
	ch->irq_pending = false;
	finish(ch, false);
}

static uint32_t ctl_read(void *opaque, uint16_t off, int size)
{
	(void)off; (void)size;
	struct ide_channel *ch = opaque;
	return channel_empty(ch) ? 0 : status(ch);
}

static void ctl_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)off; (void)size;
	struct ide_channel *ch = opaque;
	bool was_reset = ch->ctl & CTL_SRST;

	ch->ctl = (uint8_t)val & (CTL_NIEN | CTL_SRST);
	if (was_reset && !(ch->ctl & CTL_SRST))
		soft_reset(ch);
	update_irq(ch);
}

/* --- attach and init ------------------------------------------------------------------ */

static void geometry(struct ide_drive *d)
{
	uint64_t cyls = d->sectors / (16 * 63);

	d->heads = 16, d->spt = 63;
	d->cyls = (uint32_t)(cyls > 16383 ? 16383 : cyls < 2 ? 2 : cyls);
}

int dev_ide_attach(int index, const char *path, bool snapshot, char *err, unsigned errlen)
{
	struct ide_drive *d;
	struct stat st;
	int fd;

	if (index < 0 || index >= IDE_DRIVES)
		return snprintf(err, errlen, "drive index %d is not 0-3", index), -1;
	d = &chans[index / 2].drive[index % 2];
	if (d->present)
		return snprintf(err, errlen, "drive index %d is already in use", index), -1;
	fd = open(path, snapshot ? O_RDONLY : O_RDWR);
	if (fd < 0)
		return snprintf(err, errlen, "cannot open disk image '%s': %s", path,
				strerror(errno)), -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    st.st_size % SECTOR) {
		snprintf(err, errlen, "disk image '%s': size %lld is not a whole, non-zero number "
			 "of 512-byte sectors", path, (long long)st.st_size);
		return close(fd), -1;
	}
	d->image = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
			snapshot ? MAP_PRIVATE : MAP_SHARED, fd, 0);
	if (d->image == MAP_FAILED) {
		snprintf(err, errlen, "cannot map disk image '%s': %s", path, strerror(errno));
		return close(fd), -1;
	}
	d->present = true, d->snapshot = snapshot, d->fd = fd;
	d->sectors = (uint64_t)st.st_size / SECTOR;
	geometry(d);
	return 0;
}

void dev_ide_reset(void)
{
	for (int c = 0; c < 2; c++) {
		for (int u = 0; u < 2; u++) {
			struct ide_drive *d = &chans[c].drive[u];
			if (d->present) {
				munmap(d->image, d->sectors * SECTOR);
				close(d->fd);
			}
			memset(d, 0, sizeof(*d));
		}
	}
}

void dev_ide_init(void)
{
	static bool registered_exit;

	for (int c = 0; c < 2; c++) {
		struct ide_channel *ch = &chans[c];
		ch->ctl = 0;
		soft_reset(ch);
		ch->error = 0x01;
		dev_pio_claim(ch->base, 8, ide_read, ide_write, ch);
		dev_pio_claim(ch->ctl_port, 1, ctl_read, ctl_write, ch);
		dev_pio_set_block(ch->base + ATA_DATA, data_block, ch);
	}
	if (!registered_exit)
		registered_exit = atexit(dev_ide_flush_all) == 0;
}
