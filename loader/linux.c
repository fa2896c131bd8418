/*
 * linux.c - load a Linux bzImage the way a boot loader using the 32-bit boot protocol does
 * (the kernel's Documentation/arch/x86/boot.rst), so that `vmm386 -kernel bzImage -initrd
 * initramfs -append ARGS` boots the same files as `qemu-system-i386` does.
 *
 * What the kernel finds at its 32-bit entry:
 *   - the protected-mode part of the image (the file from (setup_sects + 1) * 512 on) at
 *     the load address: pref_address when the kernel is relocatable (protocol 2.10+) and
 *     init_size bytes fit there, otherwise code32_start (1 MiB); the real-mode setup code
 *     is not used and not loaded;
 *   - a zeroed boot_params ("zero page") with the image's setup header copied in, and the
 *     fields a loader owns filled: type_of_loader 0xFF (no assigned ID), cmd_line_ptr,
 *     ramdisk_image/size, the e820 map below, ext_mem_k/alt_mem_k, acpi_rsdp_addr when the
 *     platform has ACPI tables (devices/acpi.c), no video (screen_info zero);
 *   - the initrd placed at the highest page-aligned address below min(initrd_addr_max,
 *     end of RAM) and above the kernel's init_size area;
 *   - ESI = boot_params, EBP = EDI = EBX = 0, interrupts off, paging off, a GDT whose
 *     __BOOT_CS (0x10) and __BOOT_DS (0x18) are flat 4 GiB code and data, CS = 0x10,
 *     DS = ES = FS = GS = SS = 0x18.
 *
 * The e820 map describes the RAM vmm386 gives and the PC holes a kernel expects:
 *   [0, 0x9FC00) usable, [0x9FC00, 0xA0000) reserved (EBDA), [0xE0000, 0x100000) reserved
 *   (BIOS area: the ACPI and MP tables live there), [1 MiB, RAM end) usable.
 *
 * Low memory the loader uses (all of it in usable RAM the kernel copies from early and
 * then reclaims, as after any boot loader): GDT at 0x8000, boot_params at 0x10000, the
 * command line at 0x20000.
 *
 * Like multiboot.c, every header, size and address is checked before the first byte is
 * written to RAM, and each problem is one line in err.  Called once before the vCPU starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loader/loader.h"
#include "loader/ld_local.h"
#include "monitor/param.h"

#define LX_GDT_ADDR     0x8000u
#define LX_PARAMS_ADDR  0x10000u
#define LX_CMDLINE_ADDR 0x20000u
#define LX_CMDLINE_MAX  0x7F000u     /* up to 0x9F000: below the EBDA */
#define LX_LOW_END      0x9FC00u
#define LX_BIOS_START   0xE0000u
#define LX_HIGH_START   0x100000u
#define LX_MIN_PROTOCOL 0x0206u      /* cmdline_size and a sane initrd_addr_max */
#define LX_LOADER_ID    0xFFu        /* type_of_loader: no ID assigned */

/* Setup header offsets (in the file and in boot_params alike). */
#define HDR_SETUP_SECTS  0x1F1
#define HDR_SYSSIZE      0x1F4
#define HDR_BOOT_FLAG    0x1FE
#define HDR_JUMP         0x200
#define HDR_MAGIC        0x202
#define HDR_VERSION      0x206
#define HDR_TYPE_LOADER  0x210
#define HDR_LOADFLAGS    0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMG  0x218
#define HDR_RAMDISK_SIZE 0x21C
#define HDR_CMDLINE_PTR  0x228
#define HDR_INITRD_MAX   0x22C
#define HDR_KERNEL_ALIGN 0x230
#define HDR_RELOCATABLE  0x234
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE    0x260
#define HDR_END_MAX      0x280       /* the header we read (protocol 2.15 ends at 0x270) */

/* boot_params fields outside the setup header. */
#define BP_EXT_MEM_K     0x002
#define BP_ACPI_RSDP     0x070
#define BP_ALT_MEM_K     0x1E0
#define BP_E820_ENTRIES  0x1E8
#define BP_E820_TABLE    0x2D0

#define LOADFLAG_LOADED_HIGH 0x01
#define E820_RAM         1
#define E820_RESERVED    2

struct lx_job {
	struct ld_ctx c;
	struct ld_file kernel, initrd;
	uint8_t hdr[HDR_END_MAX];
	uint16_t version;
	uint64_t pm_off, pm_size;   /* the protected-mode part of the file */
	gpa_t load;                 /* where it goes */
	uint32_t init_size;         /* bytes the kernel needs from load on */
	gpa_t initrd_at;
	const char *cmdline;
	uint32_t cmdline_len;       /* with the terminating NUL */
	uint8_t *ram;
};

static uint32_t rd16(const uint8_t *h, unsigned off) { uint16_t v; memcpy(&v, h + off, 2); return v; }
static uint32_t rd32(const uint8_t *h, unsigned off) { uint32_t v; memcpy(&v, h + off, 4); return v; }
static uint64_t rd64(const uint8_t *h, unsigned off) { uint64_t v; memcpy(&v, h + off, 8); return v; }
static void wr16(uint8_t *p, unsigned off, uint16_t v) { memcpy(p + off, &v, 2); }
static void wr32(uint8_t *p, unsigned off, uint32_t v) { memcpy(p + off, &v, 4); }
static void wr64(uint8_t *p, unsigned off, uint64_t v) { memcpy(p + off, &v, 8); }

/* Does the file start like a bzImage (boot flag and "HdrS")?  Reads nothing else. */
bool ld_is_linux(const uint8_t *head, size_t len)
{
	return len >= HDR_VERSION + 2 && rd16(head, HDR_BOOT_FLAG) == 0xAA55 &&
	       memcmp(head + HDR_MAGIC, "HdrS", 4) == 0;
}

static int read_header(struct lx_job *j)
{
	struct ld_file *f = &j->kernel;
	if (f->size < sizeof(j->hdr))
		return ld_fail(&j->c, f, "truncated bzImage (%llu bytes)", (unsigned long long)f->size);
	if (ld_pread(&j->c, f, j->hdr, 0, sizeof(j->hdr)) < 0)
		return -1;
	if (!ld_is_linux(j->hdr, sizeof(j->hdr)))
		return ld_fail(&j->c, f, "not a Linux bzImage (no HdrS setup header)");
	j->version = (uint16_t)rd16(j->hdr, HDR_VERSION);
	if (j->version < LX_MIN_PROTOCOL)
		return ld_fail(&j->c, f, "boot protocol %u.%02u is too old (2.06 or later needed)",
			       j->version >> 8, j->version & 0xFF);
	if (!(j->hdr[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
		return ld_fail(&j->c, f, "a zImage (loaded low) is not supported; use a bzImage");
	unsigned sects = j->hdr[HDR_SETUP_SECTS] ? j->hdr[HDR_SETUP_SECTS] : 4;
	j->pm_off = (uint64_t)(sects + 1) * 512;
	uint64_t syssize = (uint64_t)rd32(j->hdr, HDR_SYSSIZE) * 16;
	if (j->pm_off >= f->size || syssize == 0)
		return ld_fail(&j->c, f, "truncated bzImage: no protected-mode kernel after the setup code");
	if (j->pm_off + syssize > f->size)
		return ld_fail(&j->c, f, "truncated bzImage: %llu bytes, the header says %llu",
			       (unsigned long long)f->size, (unsigned long long)(j->pm_off + syssize));
	j->pm_size = f->size - j->pm_off;
	return 0;
}

/* Where the protected-mode kernel goes, and how much room it needs there. */
static int place_kernel(struct lx_job *j)
{
	uint64_t ram = j->c.ram_size;
	j->init_size = j->version >= 0x020A ? rd32(j->hdr, HDR_INIT_SIZE) : 0;
	uint64_t need = j->init_size > j->pm_size ? j->init_size : j->pm_size;
	uint64_t pref = j->version >= 0x020A ? rd64(j->hdr, HDR_PREF_ADDRESS) : 0;
	j->load = rd32(j->hdr, HDR_CODE32_START);
	if (j->hdr[HDR_RELOCATABLE] && pref >= LX_HIGH_START && pref + need <= ram)
		j->load = (gpa_t)pref;
	if (j->load < LX_HIGH_START)
		return ld_fail(&j->c, &j->kernel, "code32_start 0x%x is below 1 MiB", j->load);
	if ((uint64_t)j->load + need > ram)
		return ld_fail(&j->c, &j->kernel,
			       "needs %llu MiB of RAM from 0x%x to decompress; -m %u is too small",
			       (unsigned long long)(need >> 20) + 1, j->load, (unsigned)(ram >> 20));
	j->init_size = (uint32_t)need;
	return 0;
}

static int place_initrd(struct lx_job *j)
{
	if (!j->initrd.path)
		return 0;
	if (ld_open(&j->c, &j->initrd) < 0)
		return -1;
	uint64_t top = (uint64_t)rd32(j->hdr, HDR_INITRD_MAX) + 1;
	if (top > j->c.ram_size)
		top = j->c.ram_size;
	uint64_t lowest = (uint64_t)j->load + j->init_size;
	uint64_t size = j->initrd.size;
	if (size > top || ((top - size) & ~0xFFFull) < lowest)
		return ld_fail(&j->c, &j->initrd,
			       "%llu bytes do not fit between the kernel (up to 0x%llx) and 0x%llx;"
			       " give more RAM with -m", (unsigned long long)size,
			       (unsigned long long)lowest, (unsigned long long)top);
	j->initrd_at = (gpa_t)((top - size) & ~0xFFFull);
	return 0;
}

static int check_cmdline(struct lx_job *j)
{
	uint32_t max = rd32(j->hdr, HDR_CMDLINE_SIZE);
	size_t len = j->cmdline ? strlen(j->cmdline) : 0;
	if (max > LX_CMDLINE_MAX - 1)
		max = LX_CMDLINE_MAX - 1;
	if (len > max)
		return ld_fail(&j->c, NULL, "-append: %zu bytes, this kernel takes at most %u",
			       len, max);
	j->cmdline_len = (uint32_t)len + 1;
	return 0;
}

static void write_gdt(uint8_t *ram)
{
	static const uint64_t gdt[4] = {
		0, 0,
		0x00CF9A000000FFFFull,    /* 0x10 __BOOT_CS: flat 32-bit code */
		0x00CF92000000FFFFull,    /* 0x18 __BOOT_DS: flat data */
	};
	memcpy(ram + LX_GDT_ADDR, gdt, sizeof(gdt));
}

static void e820_add(uint8_t *bp, uint64_t base, uint64_t len, uint32_t type)
{
	unsigned n = bp[BP_E820_ENTRIES];
	uint8_t *e = bp + BP_E820_TABLE + 20 * n;
	wr64(e, 0, base);
	wr64(e, 8, len);
	wr32(e, 16, type);
	bp[BP_E820_ENTRIES] = (uint8_t)(n + 1);
}

static void write_params(struct lx_job *j, uint32_t rsdp)
{
	uint8_t *bp = j->ram + LX_PARAMS_ADDR;
	uint32_t ram = j->c.ram_size;
	unsigned hdr_end = HDR_JUMP + 2 + j->hdr[HDR_JUMP + 1];   /* jump's offset ends it */
	if (hdr_end > HDR_END_MAX)
		hdr_end = HDR_END_MAX;
	memset(bp, 0, 4096);
	memcpy(bp + HDR_SETUP_SECTS, j->hdr + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	bp[HDR_TYPE_LOADER] = LX_LOADER_ID;
	wr32(bp, HDR_CODE32_START, j->load);
	wr32(bp, HDR_CMDLINE_PTR, LX_CMDLINE_ADDR);
	if (j->initrd.path) {
		wr32(bp, HDR_RAMDISK_IMG, j->initrd_at);
		wr32(bp, HDR_RAMDISK_SIZE, (uint32_t)j->initrd.size);
	}
	uint32_t ext_k = (ram - LX_HIGH_START) >> 10;
	wr16(bp, BP_EXT_MEM_K, (uint16_t)(ext_k > 0xFC00 ? 0xFC00 : ext_k));
	wr32(bp, BP_ALT_MEM_K, ext_k);
	if (rsdp && j->version >= 0x020E)
		wr64(bp, BP_ACPI_RSDP, rsdp);
	e820_add(bp, 0, LX_LOW_END, E820_RAM);
	e820_add(bp, LX_LOW_END, 0xA0000 - LX_LOW_END, E820_RESERVED);
	e820_add(bp, LX_BIOS_START, LX_HIGH_START - LX_BIOS_START, E820_RESERVED);
	e820_add(bp, LX_HIGH_START, ram - LX_HIGH_START, E820_RAM);
	memcpy(j->ram + LX_CMDLINE_ADDR, j->cmdline ? j->cmdline : "", j->cmdline_len);
}

static int load_files(struct lx_job *j)
{
	if (ld_pread(&j->c, &j->kernel, j->ram + j->load, j->pm_off, j->pm_size) < 0)
		return -1;
	if (j->initrd.path &&
	    ld_pread(&j->c, &j->initrd, j->ram + j->initrd_at, 0, j->initrd.size) < 0)
		return -1;
	return 0;
}

static int lx_prepare(struct lx_job *j, const char *initrd)
{
	if (initrd && strchr(initrd, ','))
		return ld_fail(&j->c, NULL, "-initrd: a Linux kernel takes one initrd file, not a list");
	if (initrd)
		j->initrd.path = initrd;
	if (ld_open(&j->c, &j->kernel) < 0 || read_header(j) < 0 || place_kernel(j) < 0 ||
	    check_cmdline(j) < 0 || place_initrd(j) < 0)
		return -1;
	return 0;
}

int ld_load_linux(const char *kernel, const char *cmdline, const char *initrd,
		  uint8_t *ram, uint32_t ram_size, uint32_t rsdp, struct ld_boot *boot,
		  char *err, size_t errlen)
{
	struct lx_job j;
	int rc = -1;

	memset(&j, 0, sizeof(j));
	j.c = (struct ld_ctx){ err, errlen, ram_size };
	j.kernel = (struct ld_file){ "kernel", kernel ? kernel : "", -1, 0 };
	j.initrd = (struct ld_file){ "initrd", NULL, -1, 0 };
	j.cmdline = cmdline;
	j.ram = ram;
	if (err && errlen)
		err[0] = '\0';
	if (!kernel || !ram || !boot)
		ld_fail(&j.c, NULL, "no kernel given");
	else if (lx_prepare(&j, initrd) == 0 && load_files(&j) == 0) {
		write_gdt(ram);
		write_params(&j, rsdp);
		*boot = (struct ld_boot){
			.entry = j.load, .esi = LX_PARAMS_ADDR,
			.gdt_base = LX_GDT_ADDR, .gdt_limit = 4 * 8 - 1,
			.cs_sel = 0x10, .ds_sel = 0x18,
			.load_end = j.load + j.init_size, .is_linux = 1,
		};
		rc = 0;
	}
	ld_close(&j.kernel);
	ld_close(&j.initrd);
	return rc;
}
