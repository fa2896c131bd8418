/*
 * fwcfg.c - QEMU's firmware configuration interface (fw_cfg), the I/O-port flavour of a PC:
 * selector at 0x510, data at 0x511.
 *
 * Kernels written for QEMU ask it how the machine was configured instead of probing: the
 * kvm-unit-tests library reads the CPU count (it waits for that many CPUs to come up) and
 * the RAM size; firmware and Linux's qemu_fw_cfg driver check the signature first.  The items
 * offered are the ones QEMU's PC machine offers for those questions, filled in from vmm386's
 * own configuration: signature "QEMU", ID (bit 0: the traditional interface; no DMA
 * interface, so bit 1 is clear and port 0x514 is not claimed), UUID (zero), RAM_SIZE (u64),
 * NOGRAPHIC (1: there is no display), NB_CPUS and MAX_CPUS (1), BOOT_MENU (0),
 * CMDLINE_SIZE/CMDLINE_DATA (the -append string with its NUL), IRQ0_OVERRIDE (1, the
 * arch-local item SeaBIOS reads) and an empty file directory.  Integers are little-endian;
 * the file directory's count is big-endian as QEMU's spec says.
 *
 * Port semantics follow QEMU's combined region: a 16-bit write to 0x510 selects an item and
 * rewinds its offset; each byte read at 0x510 or 0x511 returns the next byte of the item,
 * and 0 past its end or for an item that does not exist; byte writes (the old write channel)
 * are ignored, as in QEMU since 2.4.  Other access sizes are not valid on this device: reads
 * return all ones and writes are ignored.  vCPU thread only.
 */
#include <stdlib.h>
#include <string.h>
#include "devices/devices.h"

#define FWCFG_PORT      0x510
#define FWCFG_ITEMS     16
#define FWCFG_MAX_BYTES 4096

#define KEY_SIGNATURE     0x00
#define KEY_ID            0x01
#define KEY_UUID          0x02
#define KEY_RAM_SIZE      0x03
#define KEY_NOGRAPHIC     0x04
#define KEY_NB_CPUS       0x05
#define KEY_BOOT_MENU     0x0E
#define KEY_MAX_CPUS      0x0F
#define KEY_CMDLINE_SIZE  0x14
#define KEY_CMDLINE_DATA  0x15
#define KEY_FILE_DIR      0x19
#define KEY_IRQ0_OVERRIDE 0x8002
#define KEY_ENTRY_MASK    0xBFFFu     /* bit 14 (the write channel) does not name an item */

struct fwcfg_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;
};

static struct fwcfg {
	struct fwcfg_item item[FWCFG_ITEMS];
	int nitems;
	const struct fwcfg_item *cur;   /* selected item, NULL if none */
	uint32_t off;                   /* next byte of it */
} fw;

/* Items own their bytes; a re-init frees the previous set. */
static void add_bytes(uint16_t key, const void *data, uint32_t len)
{
	struct fwcfg_item *it = &fw.item[fw.nitems++];

	it->key = key;
	it->len = len;
	it->data = malloc(len ? len : 1);
	if (!it->data)
		abort();
	memcpy(it->data, data, len);
}

static void add_le(uint16_t key, uint64_t val, unsigned bytes)
{
	uint8_t b[8];

	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	add_bytes(key, b, bytes);
}

static void fwcfg_select(uint16_t key)
{
	fw.cur = NULL;
	fw.off = 0;
	for (int i = 0; i < fw.nitems; i++)
		if (fw.item[i].key == (key & KEY_ENTRY_MASK))
			fw.cur = &fw.item[i];
}

static uint32_t fwcfg_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	(void)off;
	if (size != 1)
		return 0xFFFFFFFFu;
	if (!fw.cur || fw.off >= fw.cur->len)
		return 0;
	return fw.cur->data[fw.off++];
}

static void fwcfg_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	(void)opaque;
	if (size == 2 && off == 0)
		fwcfg_select((uint16_t)val);
}

void dev_fwcfg_init(uint32_t ram_bytes, const char *cmdline)
{
	static const uint8_t no_files[4] = { 0, 0, 0, 0 };   /* count 0, big-endian */
	static const uint8_t uuid[16];
	size_t cmdlen = cmdline ? strnlen(cmdline, FWCFG_MAX_BYTES - 1) : 0;
	char cmd[FWCFG_MAX_BYTES];

	for (int i = 0; i < fw.nitems; i++)
		free(fw.item[i].data);
	memset(&fw, 0, sizeof(fw));
	memcpy(cmd, cmdline ? cmdline : "", cmdlen);
	cmd[cmdlen] = '\0';
	add_bytes(KEY_SIGNATURE, "QEMU", 4);
	add_le(KEY_ID, 1, 4);
	add_bytes(KEY_UUID, uuid, sizeof(uuid));
	add_le(KEY_RAM_SIZE, ram_bytes, 8);
	add_le(KEY_NOGRAPHIC, 1, 2);
	add_le(KEY_NB_CPUS, 1, 2);
	add_le(KEY_BOOT_MENU, 0, 2);
	add_le(KEY_MAX_CPUS, 1, 2);
	add_le(KEY_CMDLINE_SIZE, cmdlen + 1, 4);
	add_bytes(KEY_CMDLINE_DATA, cmd, (uint32_t)cmdlen + 1);
	add_bytes(KEY_FILE_DIR, no_files, sizeof(no_files));
	add_le(KEY_IRQ0_OVERRIDE, 1, 4);
	dev_pio_claim(FWCFG_PORT, 2, fwcfg_read, fwcfg_write, NULL);
}
