/*
 * test_loader.c - unit tests of the multiboot v1 loader and the Linux bzImage loader
 * (loader/).
 *
 * Every kernel image is built here, in memory, and written to a temporary directory: a good
 * ELF (.text holding the multiboot header, .data with a .bss tail, optionally the vmm386 PV
 * note), an a.out-kludge binary, and one broken variant for each reason the loader must
 * refuse a kernel.  Guest RAM is a host buffer filled with 0xAA before each test so that
 * loaded bytes, zeroed bss and untouched memory can all be told apart.
 */
#include <check.h>
#include <elf.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loader/loader.h"

#define RAM_SIZE  (8u << 20)
#define TEXT_PA   0x100000u
#define TEXT_OFF  0x1000u
#define TEXT_SZ   0x100u
#define DATA_PA   0x102000u
#define DATA_OFF  0x2000u
#define DATA_SZ   0x80u
#define DATA_MEM  0x2F00u            /* bss: DATA_PA + 0x80 .. DATA_PA + 0x2F00 */
#define NOTE_OFF  0x2100u
#define ENTRY     (TEXT_PA + 0x20u)
#define IMG_END   (DATA_PA + DATA_MEM)
#define MBI       0x9500u
#define PV_TYPE   0x564Du

struct image {
	uint8_t b[0x4000];
	size_t len;
};

static uint8_t *ram;
static char tmpdir[256];
static char err[256];
static struct ld_boot boot;

/* --- helpers -------------------------------------------------------------------------- */

static Elf32_Ehdr *EH(struct image *im) { return (Elf32_Ehdr *)im->b; }
static Elf32_Phdr *PH(struct image *im, int i)
{
	return (Elf32_Phdr *)(im->b + sizeof(Elf32_Ehdr)) + i;
}
static uint32_t ld32(uint32_t a) { uint32_t v; memcpy(&v, ram + a, 4); return v; }
static uint64_t ld64(uint32_t a) { uint64_t v; memcpy(&v, ram + a, 8); return v; }
static const char *gstr(uint32_t a) { return (const char *)ram + a; }

static void mb_header(uint8_t *at, uint32_t flags)
{
	uint32_t h[3] = { 0x1BADB002u, flags, -(0x1BADB002u + flags) };
	memcpy(at, h, sizeof(h));
}

static size_t pv_note(uint8_t *at, uint32_t type)
{
	uint32_t h[3] = { 7, 4, type };
	memcpy(at, h, 12);
	memcpy(at + 12, "vmm386\0\0", 8);
	memcpy(at + 20, "\x01\x02\x03\x04", 4);
	return 24;
}

static uint8_t text_byte(unsigned i) { return (uint8_t)(i * 7 + 1); }
static uint8_t data_byte(unsigned i) { return (uint8_t)(i * 13 + 5); }

static void set_phdr(Elf32_Phdr *p, uint32_t type, uint32_t off, uint32_t pa, uint32_t filesz,
		     uint32_t memsz, uint32_t flags)
{
	*p = (Elf32_Phdr){ .p_type = type, .p_offset = off, .p_vaddr = pa, .p_paddr = pa,
			   .p_filesz = filesz, .p_memsz = memsz, .p_flags = flags,
			   .p_align = 0x1000 };
}

/* The good kernel: .text (multiboot header first) and .data+.bss; with_note adds PT_NOTE. */
static void build_elf(struct image *im, int with_note)
{
	memset(im, 0, sizeof(*im));
	Elf32_Ehdr *eh = EH(im);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ENTRY;
	eh->e_phoff = sizeof(Elf32_Ehdr);
	eh->e_ehsize = sizeof(Elf32_Ehdr);
	eh->e_phentsize = sizeof(Elf32_Phdr);
	eh->e_phnum = with_note ? 3 : 2;
	set_phdr(PH(im, 0), PT_LOAD, TEXT_OFF, TEXT_PA, TEXT_SZ, TEXT_SZ, PF_R | PF_X);
	set_phdr(PH(im, 1), PT_LOAD, DATA_OFF, DATA_PA, DATA_SZ, DATA_MEM, PF_R | PF_W);
	for (unsigned i = 0; i < TEXT_SZ; i++)
		im->b[TEXT_OFF + i] = text_byte(i);
	mb_header(im->b + TEXT_OFF, 0x3);
	for (unsigned i = 0; i < DATA_SZ; i++)
		im->b[DATA_OFF + i] = data_byte(i);
	im->len = DATA_OFF + DATA_SZ;
	if (with_note) {
		size_t n = pv_note(im->b + NOTE_OFF, PV_TYPE);
		set_phdr(PH(im, 2), PT_NOTE, NOTE_OFF, 0, n, 0, PF_R);
		im->len = NOTE_OFF + n;
	}
}

/* Rewrite the multiboot header of a built ELF (flags, checksum). */
static void elf_mb_flags(struct image *im, uint32_t flags)
{
	mb_header(im->b + TEXT_OFF, flags);
}

static const char *path_of(const char *name)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static const char *put_file(const char *name, const void *buf, size_t len)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	return p;
}

static const char *put_image(const char *name, const struct image *im)
{
	return put_file(name, im->b, im->len);
}

static int load(const char *kernel, const char *cmdline, const char *mods)
{
	memset(&boot, 0, sizeof(boot));
	memset(err, 'X', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	int rc = ld_load_multiboot(kernel, cmdline, mods, ram, RAM_SIZE, &boot, err,
				   sizeof(err));
	return rc;
}

static void assert_ok(const char *kernel, const char *cmdline, const char *mods)
{
	int rc = load(kernel, cmdline, mods);
	ck_assert_msg(rc == 0, "load failed: %s", err);
}

/* The load must fail with one non-empty line that mentions `why`, leaving RAM alone. */
static void assert_fails(const char *kernel, const char *mods, const char *why)
{
	int rc = load(kernel, "args", mods);
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(err[0] != '\0' && err[0] != 'X', "empty error message");
	ck_assert_msg(strchr(err, '\n') == NULL, "error has a newline: %s", err);
	ck_assert_msg(strstr(err, why) != NULL, "error '%s' does not mention '%s'", err, why);
	for (uint32_t a = 0x8000; a < 0x10000; a += 0x100)
		ck_assert_uint_eq(ram[a], 0xAA);
	ck_assert_uint_eq(ram[TEXT_PA], 0xAA);
	ck_assert_uint_eq(ram[DATA_PA], 0xAA);
}

static void fails_image(const struct image *im, const char *why)
{
	assert_fails(put_image("bad.elf", im), NULL, why);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void setup(void)
{
	ram = malloc(RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	memset(ram, 0xAA, RAM_SIZE);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_loader.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(ram);
}

/* --- good kernels --------------------------------------------------------------------- */

START_TEST(elf_loads_segments)
{
	struct image im;
	build_elf(&im, 0);
	assert_ok(put_image("k.elf", &im), "console=ttyS0 x=1", NULL);
	for (unsigned i = 12; i < TEXT_SZ; i++)
		ck_assert_uint_eq(ram[TEXT_PA + i], text_byte(i));
	ck_assert_uint_eq(ld32(TEXT_PA), 0x1BADB002u);
	for (unsigned i = 0; i < DATA_SZ; i++)
		ck_assert_uint_eq(ram[DATA_PA + i], data_byte(i));
	for (unsigned i = DATA_SZ; i < DATA_MEM; i++)
		ck_assert_uint_eq(ram[DATA_PA + i], 0);          /* bss zeroed */
	ck_assert_uint_eq(ram[IMG_END], 0xAA);                    /* nothing past the image */
	ck_assert_uint_eq(ram[TEXT_PA + TEXT_SZ], 0xAA);          /* nor between segments */
	ck_assert_uint_eq(boot.entry, ENTRY);
	ck_assert_uint_eq(boot.eax, 0x2BADB002u);
	ck_assert_uint_eq(boot.ebx, MBI);
	ck_assert_uint_eq(boot.load_end, IMG_END);
	ck_assert_int_eq(boot.is_pv, 0);
}
END_TEST

START_TEST(elf_gdt)
{
	struct image im;
	build_elf(&im, 0);
	assert_ok(put_image("k.elf", &im), NULL, NULL);
	ck_assert_uint_eq(boot.gdt_limit, 23);
	ck_assert_uint_lt(boot.gdt_base + 24, 0x9000);
	ck_assert_uint_eq(ld64(boot.gdt_base), 0);
	/* 0x08: present, DPL 0, code exec/read, 32-bit, 4 KiB granular, base 0, limit max */
	uint64_t cs = ld64(boot.gdt_base + 8), ds = ld64(boot.gdt_base + 16);
	ck_assert_uint_eq(cs & 0xFFFF00FFFFFFFFFFull, 0x00CF00000000FFFFull);
	ck_assert_uint_eq((cs >> 40) & 0xFE, 0x9A);
	ck_assert_uint_eq(ds & 0xFFFF00FFFFFFFFFFull, 0x00CF00000000FFFFull);
	ck_assert_uint_eq((ds >> 40) & 0xFE, 0x92);
}
END_TEST

START_TEST(elf_info_struct)
{
	struct image im;
	build_elf(&im, 0);
	const char *k = put_image("k.elf", &im);
	assert_ok(k, "console=ttyS0 x=1", NULL);
	ck_assert_uint_eq(ld32(MBI + 0), 0x24Fu);        /* MEM BOOTDEV CMDLINE MODS MMAP NAME */
	ck_assert_uint_eq(ld32(MBI + 4), 639);           /* below the EBDA, as QEMU reports */
	ck_assert_uint_eq(ld32(MBI + 8), (RAM_SIZE - 0x100000u) / 1024);
	ck_assert_uint_eq(ld32(MBI + 12), 0x8000FFFFu);
	char want[600];
	snprintf(want, sizeof(want), "%s console=ttyS0 x=1", k);
	ck_assert_str_eq(gstr(ld32(MBI + 16)), want);
	ck_assert_uint_eq(ld32(MBI + 20), 0);
	ck_assert_str_eq(gstr(ld32(MBI + 64)), "vmm386");
	/* everything the info points at lies in low memory, below the EBDA */
	ck_assert_uint_lt(ld32(MBI + 16), 0x9FC00);
	ck_assert_uint_lt(ld32(MBI + 64), 0x9FC00);
}
END_TEST

START_TEST(elf_mmap)
{
	static const struct { uint64_t base, len; uint32_t type; } want[] = {
		{ 0, 0x9FC00, 1 }, { 0x9FC00, 0x400, 2 }, { 0xF0000, 0x10000, 2 },
		{ 0x100000, RAM_SIZE - 0x100000, 1 },
	};
	struct image im;
	build_elf(&im, 0);
	assert_ok(put_image("k.elf", &im), NULL, NULL);
	ck_assert_uint_eq(ld32(MBI + 44), 4 * 24);
	uint32_t e = ld32(MBI + 48);
	ck_assert_uint_lt(e, 0x9FC00);
	for (int i = 0; i < 4; i++, e += 24) {
		ck_assert_uint_eq(ld32(e), 20);
		ck_assert_uint_eq(ld64(e + 4), want[i].base);
		ck_assert_uint_eq(ld64(e + 12), want[i].len);
		ck_assert_uint_eq(ld32(e + 20), want[i].type);
	}
}
END_TEST

START_TEST(elf_no_append_is_qemu_cmdline)
{
	struct image im;
	build_elf(&im, 0);
	const char *k = put_image("k.elf", &im);
	assert_ok(k, NULL, NULL);
	char want[600];
	snprintf(want, sizeof(want), "%s ", k);     /* QEMU: "%s %s" with an empty -append */
	ck_assert_str_eq(gstr(ld32(MBI + 16)), want);
}
END_TEST

START_TEST(elf_modules)
{
	static const char one[] = "hello module one";
	static uint8_t two[5000];
	for (unsigned i = 0; i < sizeof(two); i++)
		two[i] = (uint8_t)(i ^ 0x5A);
	struct image im;
	build_elf(&im, 0);
	const char *k = put_image("k.elf", &im);
	char m1[512], m2[512], arg[1200];
	snprintf(m1, sizeof(m1), "%s", put_file("m1", one, sizeof(one) - 1));
	snprintf(m2, sizeof(m2), "%s", put_file("m2", two, sizeof(two)));
	snprintf(arg, sizeof(arg), "%s arg1 arg2,%s", m1, m2);
	assert_ok(k, "", arg);
	ck_assert_uint_eq(ld32(MBI + 20), 2);
	uint32_t l = ld32(MBI + 24);
	ck_assert_uint_lt(l, 0x9FC00);
	uint32_t s0 = ld32(l), e0 = ld32(l + 4), s1 = ld32(l + 16), e1 = ld32(l + 20);
	ck_assert_uint_eq(s0, (IMG_END + 0xFFF) & ~0xFFFu);
	ck_assert_uint_eq(e0, s0 + sizeof(one) - 1);
	ck_assert_uint_eq(s1, (e0 + 0xFFF) & ~0xFFFu);
	ck_assert_uint_eq(e1, s1 + sizeof(two));
	ck_assert_mem_eq(ram + s0, one, sizeof(one) - 1);
	ck_assert_mem_eq(ram + s1, two, sizeof(two));
	char want[600];
	snprintf(want, sizeof(want), "%s arg1 arg2", m1);
	ck_assert_str_eq(gstr(ld32(l + 8)), want);
	ck_assert_str_eq(gstr(ld32(l + 24)), m2);
}
END_TEST

START_TEST(elf_module_comma_escape)
{
	struct image im;
	build_elf(&im, 0);
	const char *k = put_image("k.elf", &im);
	put_file("a,b", "xyz", 3);
	char arg[600];
	snprintf(arg, sizeof(arg), "%s/a,,b p", tmpdir);   /* ",," is a literal comma */
	assert_ok(k, NULL, arg);
	ck_assert_uint_eq(ld32(MBI + 20), 1);
	uint32_t l = ld32(MBI + 24);
	ck_assert_mem_eq(ram + ld32(l), "xyz", 3);
	char want[600];
	snprintf(want, sizeof(want), "%s/a,b p", tmpdir);
	ck_assert_str_eq(gstr(ld32(l + 8)), want);
}
END_TEST

START_TEST(elf_higher_half_entry)
{
	struct image im;
	build_elf(&im, 0);
	PH(&im, 0)->p_vaddr = 0xC0000000u + TEXT_PA;
	PH(&im, 1)->p_vaddr = 0xC0000000u + DATA_PA;
	EH(&im)->e_entry = 0xC0000000u + ENTRY;
	assert_ok(put_image("k.elf", &im), NULL, NULL);
	ck_assert_uint_eq(boot.entry, ENTRY);
	ck_assert_uint_eq(ram[TEXT_PA + 20], text_byte(20));    /* loaded by p_paddr */
	ck_assert_uint_eq(ram[DATA_PA], data_byte(0));
}
END_TEST

START_TEST(elf_low_and_rom_area_segments_allowed)
{
	/* A kernel below 1 MiB clear of the boot information is fine, and so is a header-only
	 * segment in the BIOS area such as `ld -Ttext=0x100000` makes (QEMU loads both). */
	struct image im;
	build_elf(&im, 0);
	PH(&im, 0)->p_paddr = PH(&im, 0)->p_vaddr = 0x20000;
	EH(&im)->e_entry = 0x20020;
	set_phdr(PH(&im, 2), PT_LOAD, 0, 0xFF000, 0xB4, 0xB4, PF_R);
	EH(&im)->e_phnum = 3;
	assert_ok(put_image("k.elf", &im), NULL, NULL);
	ck_assert_uint_eq(boot.entry, 0x20020);
	ck_assert_uint_eq(ram[0x20000 + 30], text_byte(30));
	ck_assert_mem_eq(ram + 0xFF000, ELFMAG, SELFMAG);
}
END_TEST

START_TEST(elf_video_flag_ignored)
{
	struct image im;
	build_elf(&im, 0);
	elf_mb_flags(&im, 0x7);
	assert_ok(put_image("k.elf", &im), NULL, NULL);
	ck_assert_uint_eq(boot.entry, ENTRY);
}
END_TEST

START_TEST(elf_pv_note_segment)
{
	struct image im;
	build_elf(&im, 1);
	assert_ok(put_image("k.elf", &im), NULL, NULL);
	ck_assert_int_eq(boot.is_pv, 1);
	pv_note(im.b + NOTE_OFF, 0x1234);                    /* wrong type: not PV */
	assert_ok(put_image("k2.elf", &im), NULL, NULL);
	ck_assert_int_eq(boot.is_pv, 0);
}
END_TEST

START_TEST(elf_pv_note_section)
{
	/* No PT_NOTE: the note is only reachable through an SHT_NOTE section header. */
	struct image im;
	build_elf(&im, 0);
	size_t n = pv_note(im.b + NOTE_OFF, PV_TYPE);
	Elf32_Shdr sh[2] = { { 0 } };
	sh[1].sh_type = SHT_NOTE;
	sh[1].sh_offset = NOTE_OFF;
	sh[1].sh_size = n;
	uint32_t shoff = 0x2200;
	memcpy(im.b + shoff, sh, sizeof(sh));
	EH(&im)->e_shoff = shoff;
	EH(&im)->e_shentsize = sizeof(Elf32_Shdr);
	EH(&im)->e_shnum = 2;
	im.len = shoff + sizeof(sh);
	assert_ok(put_image("k.elf", &im), NULL, NULL);
	ck_assert_int_eq(boot.is_pv, 1);
}
END_TEST

/* An a.out-kludge binary: header at 0x40, loaded at 0x100000, bss to 0x104000. */
static void build_aout(struct image *im, uint32_t load_end, uint32_t bss_end)
{
	memset(im, 0, sizeof(*im));
	for (unsigned i = 0; i < 0x1000; i++)
		im->b[i] = text_byte(i);
	uint32_t h[8] = { 0x1BADB002u, 0x10003u, 0, TEXT_PA + 0x40, TEXT_PA, load_end, bss_end,
			  TEXT_PA + 0x80 };
	h[2] = -(h[0] + h[1]);
	memcpy(im->b + 0x40, h, sizeof(h));
	im->len = 0x1000;
}

START_TEST(aout_kludge_loads)
{
	struct image im;
	build_aout(&im, 0, TEXT_PA + 0x4000);
	assert_ok(put_image("k.bin", &im), "a b", NULL);
	ck_assert_mem_eq(ram + TEXT_PA, im.b, 0x1000);
	for (unsigned i = 0x1000; i < 0x4000; i++)
		ck_assert_uint_eq(ram[TEXT_PA + i], 0);
	ck_assert_uint_eq(ram[TEXT_PA + 0x4000], 0xAA);
	ck_assert_uint_eq(boot.entry, TEXT_PA + 0x80);
	ck_assert_uint_eq(boot.load_end, TEXT_PA + 0x4000);
	ck_assert_uint_eq(boot.eax, 0x2BADB002u);
	ck_assert_uint_eq(ld32(MBI + 0), 0x24Fu);
}
END_TEST

START_TEST(aout_kludge_load_end_and_offset)
{
	/* The file starts 0x20 bytes before load_addr's data; load_end cuts the rest. */
	struct image im;
	build_aout(&im, TEXT_PA + 0x800, 0);
	uint32_t h[8];
	memcpy(h, im.b + 0x40, sizeof(h));
	h[3] = TEXT_PA + 0x20;     /* header_addr: the header is 0x20 into the loaded image */
	h[5] = TEXT_PA + 0x800;
	memcpy(im.b + 0x40, h, sizeof(h));
	assert_ok(put_image("k.bin", &im), NULL, NULL);
	ck_assert_mem_eq(ram + TEXT_PA, im.b + 0x20, 0x800);
	ck_assert_uint_eq(ram[TEXT_PA + 0x800], 0xAA);
	ck_assert_uint_eq(boot.load_end, TEXT_PA + 0x800);
}
END_TEST

/* --- bad input ------------------------------------------------------------------------ */

START_TEST(bad_files)
{
	assert_fails(path_of("does-not-exist"), NULL, "cannot open");
	assert_fails(tmpdir, NULL, "not a regular file");
	assert_fails(put_file("empty", "", 0), NULL, "empty file");
	assert_fails(put_file("text", "hello, world\n", 13), NULL, "not a multiboot kernel");
	if (geteuid() != 0) {
		struct image im;
		build_elf(&im, 0);
		const char *p = put_image("noperm.elf", &im);
		chmod(p, 0);
		assert_fails(p, NULL, "cannot open");
	}
}
END_TEST

START_TEST(bad_truncated)
{
	struct image im;
	/* ELF magic, multiboot header at 16, 40 bytes in all: the ELF header is cut. */
	memset(&im, 0, sizeof(im));
	memcpy(im.b, ELFMAG, SELFMAG);
	im.b[EI_CLASS] = ELFCLASS32;
	mb_header(im.b + 16, 0);
	im.len = 40;
	fails_image(&im, "truncated ELF header");

	build_elf(&im, 0);
	EH(&im)->e_phoff = im.len - 40;
	fails_image(&im, "program headers past end of file");

	build_elf(&im, 0);
	im.len = DATA_OFF + DATA_SZ / 2;
	fails_image(&im, "segment 1 data");

	build_elf(&im, 0);
	PH(&im, 1)->p_offset = 0xFFFFFFF0u;                  /* offset + size wraps 32 bits */
	fails_image(&im, "past end of file");
}
END_TEST

START_TEST(bad_elf_kind)
{
	struct image im;
	build_elf(&im, 0);
	elf_mb_flags(&im, 0);
	memcpy(im.b, "\x7f" "ELG", 4);
	fails_image(&im, "not an ELF file");

	build_elf(&im, 0);
	EH(&im)->e_ident[EI_CLASS] = ELFCLASS64;
	fails_image(&im, "64-bit");
	build_elf(&im, 0);
	EH(&im)->e_ident[EI_CLASS] = 7;
	fails_image(&im, "not a 32-bit ELF");
	build_elf(&im, 0);
	EH(&im)->e_ident[EI_DATA] = ELFDATA2MSB;
	fails_image(&im, "little-endian");
	build_elf(&im, 0);
	EH(&im)->e_machine = EM_X86_64;
	fails_image(&im, "not an i386 ELF");
	build_elf(&im, 0);
	EH(&im)->e_type = ET_DYN;
	fails_image(&im, "not an executable ELF");
	build_elf(&im, 0);
	EH(&im)->e_type = ET_REL;
	fails_image(&im, "not an executable ELF");
}
END_TEST

START_TEST(bad_multiboot_header)
{
	struct image im;
	build_elf(&im, 0);
	memset(im.b + TEXT_OFF, 0, 12);
	fails_image(&im, "no multiboot header");

	build_elf(&im, 0);
	im.b[TEXT_OFF + 8] ^= 1;
	fails_image(&im, "checksum");

	build_elf(&im, 0);
	elf_mb_flags(&im, 0x3 | 0x8);            /* flag 3: not defined by multiboot v1 */
	fails_image(&im, "unsupported multiboot header flags 0x8");
	build_elf(&im, 0);
	elf_mb_flags(&im, 0x8000);
	fails_image(&im, "unsupported multiboot header flags");

	/* A header past the first 8 KiB does not count. */
	struct image big;
	build_elf(&big, 0);
	memset(big.b + TEXT_OFF, 0, 12);
	mb_header(big.b + 0x2000, 0x3);
	big.len = 0x3000;
	fails_image(&big, "no multiboot header");

	/* A plain binary whose header lacks flag 16. */
	memset(&im, 0, sizeof(im));
	mb_header(im.b + 0x40, 0x3);
	im.len = 0x1000;
	fails_image(&im, "no a.out kludge");
}
END_TEST

START_TEST(bad_segments)
{
	struct image im;
	build_elf(&im, 0);
	PH(&im, 1)->p_paddr = RAM_SIZE - 0x1000;
	fails_image(&im, "outside RAM");

	build_elf(&im, 0);
	PH(&im, 1)->p_paddr = 0xFFFFF000u;
	fails_image(&im, "wraps");

	build_elf(&im, 0);
	PH(&im, 1)->p_paddr = 0x9000;                       /* onto the multiboot info */
	fails_image(&im, "boot information area");
	build_elf(&im, 0);
	PH(&im, 1)->p_paddr = 0x7000;                       /* bss runs over the GDT */
	fails_image(&im, "boot information area");

	build_elf(&im, 0);
	PH(&im, 1)->p_filesz = DATA_MEM + 1;
	fails_image(&im, "p_filesz");

	build_elf(&im, 0);
	PH(&im, 1)->p_paddr = TEXT_PA + 0x80;
	fails_image(&im, "overlap");

	build_elf(&im, 0);
	PH(&im, 0)->p_type = PT_NULL;
	PH(&im, 1)->p_type = PT_NOTE;
	fails_image(&im, "no loadable segment");
}
END_TEST

START_TEST(bad_entry_and_phdrs)
{
	struct image im;
	build_elf(&im, 0);
	EH(&im)->e_entry = 0x200000;
	fails_image(&im, "entry point 0x200000");
	build_elf(&im, 0);
	EH(&im)->e_entry = TEXT_PA - 1;
	fails_image(&im, "entry point");

	build_elf(&im, 0);
	EH(&im)->e_phnum = 65;
	fails_image(&im, "too many program headers");
	build_elf(&im, 0);
	EH(&im)->e_phnum = 0xFFFF;
	fails_image(&im, "too many program headers");
	build_elf(&im, 0);
	EH(&im)->e_phnum = 0;
	fails_image(&im, "no program headers");
	build_elf(&im, 0);
	EH(&im)->e_phentsize = 40;
	fails_image(&im, "program header size");
}
END_TEST

START_TEST(bad_aout_kludge)
{
	struct image im;
	uint32_t h[8];
#define AOUT_FIELD(i, v) do { build_aout(&im, 0, 0); memcpy(h, im.b + 0x40, 32); \
		h[i] = (v); memcpy(im.b + 0x40, h, 32); } while (0)
	AOUT_FIELD(3, TEXT_PA - 0x10);                       /* header_addr < load_addr */
	fails_image(&im, "header_addr");
	AOUT_FIELD(3, TEXT_PA + 0x100);                      /* header not that far in the file */
	fails_image(&im, "header_addr");
	AOUT_FIELD(5, TEXT_PA - 1);
	fails_image(&im, "load_end_addr");
	AOUT_FIELD(5, TEXT_PA + 0x2000);                     /* more than the file holds */
	fails_image(&im, "past end of file");
	AOUT_FIELD(6, TEXT_PA + 0x10);
	fails_image(&im, "bss_end_addr");
	AOUT_FIELD(7, TEXT_PA + 0x1000);
	fails_image(&im, "entry point");
	AOUT_FIELD(4, RAM_SIZE - 0x800);
	h[3] = RAM_SIZE - 0x800 + 0x40;
	memcpy(im.b + 0x40, h, 32);
	fails_image(&im, "outside RAM");
	AOUT_FIELD(4, 0xFFFFF800u);
	h[3] = 0xFFFFF840u;
	memcpy(im.b + 0x40, h, 32);
	fails_image(&im, "address space");
#undef AOUT_FIELD
	/* flag 16 but the file ends inside the header's address fields */
	build_aout(&im, 0, 0);
	im.len = 0x40 + 16;
	fails_image(&im, "truncated");
}
END_TEST

START_TEST(bad_modules)
{
	struct image im;
	build_elf(&im, 0);
	const char *k = put_image("k.elf", &im);
	char k2[512], arg[1200];
	snprintf(k2, sizeof(k2), "%s", k);
	assert_fails(k2, path_of("nosuchmodule args"), "module");
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));

	const char *big = path_of("big");
	FILE *f = fopen(big, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ftruncate(fileno(f), RAM_SIZE), 0);   /* sparse: costs no disk */
	fclose(f);
	snprintf(arg, sizeof(arg), "%s", big);
	assert_fails(k2, arg, "too big for RAM");

	snprintf(arg, sizeof(arg), ",%s", big);
	assert_fails(k2, arg, "empty module file name");
}
END_TEST

START_TEST(bad_cmdline_too_long)
{
	struct image im;
	build_elf(&im, 0);
	const char *k = put_image("k.elf", &im);
	size_t n = 700 * 1024;
	char *cmd = malloc(n + 1);
	ck_assert_ptr_nonnull(cmd);
	memset(cmd, 'c', n);
	cmd[n] = '\0';
	ck_assert_int_eq(ld_load_multiboot(k, cmd, NULL, ram, RAM_SIZE, &boot, err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
	free(cmd);
}
END_TEST

START_TEST(bad_ram_size_and_small_err)
{
	struct image im;
	build_elf(&im, 0);
	const char *k = put_image("k.elf", &im);
	ck_assert_int_eq(ld_load_multiboot(k, NULL, NULL, ram, 1u << 20, &boot, err,
					   sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too small"));
	/* a tiny or absent error buffer is never overrun */
	char small[8];
	ck_assert_int_eq(ld_load_multiboot(path_of("nothing"), NULL, NULL, ram, RAM_SIZE,
					   &boot, small, sizeof(small)), -1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(ld_load_multiboot(path_of("nothing"), NULL, NULL, ram, RAM_SIZE,
					   &boot, NULL, 0), -1);
}
END_TEST

/* Random corruption of a good image: the loader must say yes or give a reason, never crash
 * (run under -fsanitize=address,undefined to make "never crash" mean something). */
START_TEST(fuzz_never_crashes)
{
	static struct image good[2], im;
	build_elf(&good[0], 1);
	build_aout(&good[1], 0, TEXT_PA + 0x4000);
	unsigned seed = 12345, ok = 0, bad = 0;
	for (int it = 0; it < 4000; it++) {
		memcpy(&im, &good[it & 1], sizeof(im));
		int flips = 1 + rand_r(&seed) % 6;
		for (int k = 0; k < flips; k++) {
			size_t at = (rand_r(&seed) & 1) ? (size_t)rand_r(&seed) % 0x80
							: rand_r(&seed) % im.len;
			im.b[at] = (uint8_t)rand_r(&seed);
		}
		if (rand_r(&seed) % 8 == 0)
			im.len = rand_r(&seed) % im.len;
		memset(err, 0, sizeof(err));
		int rc = ld_load_multiboot(put_image("fuzz.elf", &im), NULL, NULL, ram, RAM_SIZE,
					   &boot, err, sizeof(err));
		if (rc == 0) {
			ok++;
		} else {
			ck_assert_int_eq(rc, -1);
			ck_assert_msg(err[0] != '\0', "iteration %d: no message", it);
			bad++;
		}
	}
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(bad, 0);
}
END_TEST

/* --- Linux bzImage (the 32-bit boot protocol) --------------------------------------------- */

#define LX_SETUP_SECTS 2
#define LX_PM_OFF      ((LX_SETUP_SECTS + 1) * 512)
#define LX_PM_LEN      0x1000u
#define LX_PARAMS      0x10000u

static uint8_t pm_byte(unsigned i) { return (uint8_t)(i * 11 + 3); }

/* A bzImage of protocol `version`: setup sectors, then LX_PM_LEN bytes of "kernel". */
static size_t build_bz(uint8_t *b, uint16_t version, uint64_t pref, uint32_t init_size)
{
	size_t len = LX_PM_OFF + LX_PM_LEN;
	memset(b, 0, len);
	b[0x1F1] = LX_SETUP_SECTS;
	uint32_t syssize = LX_PM_LEN / 16;
	memcpy(b + 0x1F4, &syssize, 4);
	b[0x1FE] = 0x55; b[0x1FF] = 0xAA;
	b[0x200] = 0xEB; b[0x201] = 0x6A;          /* jmp over a header ending at 0x26C */
	memcpy(b + 0x202, "HdrS", 4);
	memcpy(b + 0x206, &version, 2);
	b[0x211] = 0x01;                            /* LOADED_HIGH */
	uint32_t code32 = 0x100000, initrd_max = 0x7FFFFFFF, cmdsize = 255;
	memcpy(b + 0x214, &code32, 4);
	memcpy(b + 0x22C, &initrd_max, 4);
	b[0x234] = 1;                               /* relocatable */
	memcpy(b + 0x238, &cmdsize, 4);
	memcpy(b + 0x258, &pref, 8);
	memcpy(b + 0x260, &init_size, 4);
	for (unsigned i = 0; i < LX_PM_LEN; i++)
		b[LX_PM_OFF + i] = pm_byte(i);
	return len;
}

static int load_linux(const char *kernel, const char *cmdline, const char *initrd)
{
	memset(&boot, 0, sizeof(boot));
	memset(err, 'X', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	return ld_load_kernel(kernel, cmdline, initrd, ram, RAM_SIZE, 0xF0000, &boot, err,
			      sizeof(err));
}

START_TEST(linux_boot_protocol)
{
	static uint8_t b[LX_PM_OFF + LX_PM_LEN];
	size_t len = build_bz(b, 0x020F, 0x200000, 0x300000);
	const char *k = put_file("bzImage", b, len);
	static uint8_t rd[10000];
	for (unsigned i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i ^ 0x5A);
	const char *r = put_file("initrd", rd, sizeof(rd));
	int rc = load_linux(k, "console=ttyS0 quiet", r);
	ck_assert_msg(rc == 0, "load failed: %s", err);
	ck_assert_int_eq(boot.is_linux, 1);
	ck_assert_uint_eq(boot.entry, 0x200000);          /* pref_address: relocatable */
	ck_assert_uint_eq(boot.esi, LX_PARAMS);
	ck_assert_uint_eq(boot.cs_sel, 0x10);
	ck_assert_uint_eq(boot.ds_sel, 0x18);
	ck_assert_uint_eq(ld64(boot.gdt_base + 0x10), 0x00CF9A000000FFFFull);
	ck_assert_uint_eq(ld64(boot.gdt_base + 0x18), 0x00CF92000000FFFFull);
	for (unsigned i = 0; i < LX_PM_LEN; i += 97)
		ck_assert_uint_eq(ram[0x200000 + i], pm_byte(i));
	ck_assert_uint_eq(ram[0x100000], 0xAA);            /* nothing at code32_start */
	/* boot_params: header copied, loader fields set */
	ck_assert_int_eq(memcmp(ram + LX_PARAMS + 0x202, "HdrS", 4), 0);
	ck_assert_uint_eq(ram[LX_PARAMS + 0x210], 0xFF);
	ck_assert_uint_eq(ld32(LX_PARAMS + 0x214), 0x200000);
	ck_assert_str_eq(gstr(ld32(LX_PARAMS + 0x228)), "console=ttyS0 quiet");
	ck_assert_uint_eq(ld64(LX_PARAMS + 0x070), 0xF0000);   /* acpi_rsdp_addr */
	uint32_t rd_at = ld32(LX_PARAMS + 0x218);
	ck_assert_uint_eq(ld32(LX_PARAMS + 0x21C), sizeof(rd));
	ck_assert_uint_eq(rd_at & 0xFFF, 0);
	ck_assert_uint_le(rd_at + sizeof(rd), RAM_SIZE);
	ck_assert_uint_gt(rd_at + sizeof(rd), RAM_SIZE - 4096);  /* as high as it goes */
	ck_assert_int_eq(memcmp(ram + rd_at, rd, sizeof(rd)), 0);
	ck_assert_uint_eq(ram[LX_PARAMS + 0x1EF], 0);            /* sentinel */
	/* e820: low RAM, EBDA, BIOS area, RAM above 1 MiB to the end */
	ck_assert_uint_eq(ram[LX_PARAMS + 0x1E8], 4);
	uint32_t e = LX_PARAMS + 0x2D0;
	ck_assert_uint_eq(ld64(e), 0);
	ck_assert_uint_eq(ld64(e + 8), 0x9FC00);
	ck_assert_uint_eq(ld32(e + 16), 1);
	ck_assert_uint_eq(ld32(e + 20 + 16), 2);
	ck_assert_uint_eq(ld64(e + 40), 0xE0000);
	ck_assert_uint_eq(ld32(e + 40 + 16), 2);
	ck_assert_uint_eq(ld64(e + 60), 0x100000);
	ck_assert_uint_eq(ld64(e + 68), RAM_SIZE - 0x100000);
	ck_assert_uint_eq(ld32(e + 76), 1);
}
END_TEST

START_TEST(linux_not_relocatable_and_bad)
{
	static uint8_t b[LX_PM_OFF + LX_PM_LEN];
	size_t len = build_bz(b, 0x020F, 0x200000, 0x300000);
	b[0x234] = 0;                                     /* fixed: code32_start */
	ck_assert_int_eq(load_linux(put_file("fixed", b, len), NULL, NULL), 0);
	ck_assert_uint_eq(boot.entry, 0x100000);
	ck_assert_uint_eq(ram[0x100000 + 5], pm_byte(5));
	ck_assert_str_eq(gstr(ld32(LX_PARAMS + 0x228)), "");

	memset(ram, 0xAA, RAM_SIZE);
	struct { const char *name; size_t len; uint16_t version; uint32_t init; const char *why; } bad[] = {
		{ "short", 0x220, 0x020F, 0x300000, "truncated" },
		{ "cut", LX_PM_OFF + 100, 0x020F, 0x300000, "truncated" },
		{ "old", LX_PM_OFF + LX_PM_LEN, 0x0204, 0x300000, "too old" },
		{ "big", LX_PM_OFF + LX_PM_LEN, 0x020F, RAM_SIZE, "-m" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build_bz(b, bad[i].version, 0x200000, bad[i].init);
		ck_assert_int_eq(load_linux(put_file(bad[i].name, b, bad[i].len), "x", NULL), -1);
		ck_assert_msg(strstr(err, bad[i].why), "%s: '%s' lacks '%s'", bad[i].name, err, bad[i].why);
		ck_assert_msg(!strchr(err, '\n'), "more than one line");
		ck_assert_uint_eq(ram[LX_PARAMS + 0x202], 0xAA);   /* nothing written */
	}
	build_bz(b, 0x020F, 0x200000, 0x300000);
	const char *k = put_file("ok", b, LX_PM_OFF + LX_PM_LEN);
	static uint8_t huge[RAM_SIZE - 0x300000];
	ck_assert_int_eq(load_linux(k, NULL, put_file("huge", huge, sizeof(huge))), -1);
	ck_assert_ptr_nonnull(strstr(err, "do not fit"));
	ck_assert_int_eq(load_linux(k, NULL, "a,b"), -1);
	ck_assert_ptr_nonnull(strstr(err, "one initrd"));
	ck_assert_int_eq(load_linux(k, NULL, path_of("missing")), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));
	char longline[300];
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	ck_assert_int_eq(load_linux(k, longline, NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "at most 255"));
}
END_TEST

static Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *good = tcase_create("good");
	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_test(good, elf_loads_segments);
	tcase_add_test(good, elf_gdt);
	tcase_add_test(good, elf_info_struct);
	tcase_add_test(good, elf_mmap);
	tcase_add_test(good, elf_no_append_is_qemu_cmdline);
	tcase_add_test(good, elf_modules);
	tcase_add_test(good, elf_module_comma_escape);
	tcase_add_test(good, elf_higher_half_entry);
	tcase_add_test(good, elf_low_and_rom_area_segments_allowed);
	tcase_add_test(good, elf_video_flag_ignored);
	tcase_add_test(good, elf_pv_note_segment);
	tcase_add_test(good, elf_pv_note_section);
	tcase_add_test(good, aout_kludge_loads);
	tcase_add_test(good, aout_kludge_load_end_and_offset);
	tcase_add_test(good, linux_boot_protocol);
	tcase_add_test(good, linux_not_relocatable_and_bad);
	suite_add_tcase(s, good);

	TCase *bad = tcase_create("bad");
	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_set_timeout(bad, 60);
	tcase_add_test(bad, bad_files);
	tcase_add_test(bad, bad_truncated);
	tcase_add_test(bad, bad_elf_kind);
	tcase_add_test(bad, bad_multiboot_header);
	tcase_add_test(bad, bad_segments);
	tcase_add_test(bad, bad_entry_and_phdrs);
	tcase_add_test(bad, bad_aout_kludge);
	tcase_add_test(bad, bad_modules);
	tcase_add_test(bad, bad_cmdline_too_long);
	tcase_add_test(bad, bad_ram_size_and_small_err);
	tcase_add_test(bad, fuzz_never_crashes);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(loader_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
