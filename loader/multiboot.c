/*
 * multiboot.c - load a multiboot v1 kernel the way `qemu-system-i386 -kernel FILE
 * -append ARGS -initrd "mod1 args,mod2"` does, so one guest image boots under both.
 *
 * The image: the multiboot header (magic 0x1BADB002, flags, checksum) is looked for at
 * 4-byte-aligned offsets in the first 8 KiB.  With header flag 16 (the "a.out kludge") its
 * address fields say what to load where; otherwise the file must be an ELF32 i386 EXEC
 * image whose PT_LOAD segments go to their physical addresses (elf32.c).  Flags 0 (page
 * aligned modules) and 1 (memory information) are satisfied, flag 2 (video mode) is ignored
 * as QEMU ignores it, any other of the low 16 flags is refused.
 *
 * Modules follow the kernel image, each starting on a page boundary, in -initrd order.
 * QEMU splits -initrd at commas (",," is a literal comma); each module's string is the whole
 * item "path args", and the file is the part before the first space.  The kernel's command
 * line is "FILE ARGS" exactly as QEMU builds it (so "FILE " when there is no -append).
 * The information structure has QEMU's flags and boot device; mem_lower is 639 KiB as under
 * QEMU (the EBDA takes the last KiB), and all RAM above 1 MiB is reported available, as
 * vmm386 has no firmware tables at the top of RAM.
 *
 * Low memory the loader owns (the kernel and its modules may not overlap it):
 *
 *   0x8000  flat GDT: null, 0x08 code, 0x10 data (base 0, limit 4 GiB)
 *   0x9000  memory map (multiboot mmap entries, size field 20)
 *   0x9500  multiboot information structure (QEMU's addresses for both)
 *   0x9600  module list (16 bytes a module), then the strings: kernel command line, boot
 *           loader name, module strings; all below 0x9FC00, where the EBDA starts.
 *
 * Nothing is written to RAM until every header, size and address has been checked, so a
 * failed load leaves RAM as it was (except for an I/O error in the middle of reading).
 * Called once by the monitor before the vCPU starts; not thread-safe, no global state.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loader/loader.h"
#include "loader/ld_local.h"
#include "monitor/param.h"

#define LD_GDT_ADDR   0x8000u
#define LD_MMAP_ADDR  0x9000u
#define LD_MBI_ADDR   0x9500u
#define LD_MODS_ADDR  0x9600u
#define LD_LOW_END    0x9FC00u
#define LD_MAX_MODS   256
#define LD_LOADER_NAME "vmm386"

#define MB_HDR_MAGIC      0x1BADB002u
#define MB_BOOT_MAGIC     0x2BADB002u
#define MB_HF_PAGE_ALIGN  (1u << 0)
#define MB_HF_MEMINFO     (1u << 1)
#define MB_HF_VIDEO       (1u << 2)
#define MB_HF_AOUT        (1u << 16)
#define MB_HF_KNOWN       (MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | MB_HF_VIDEO)

/* Multiboot information: flags and field offsets. */
#define MBI_F_MEM       (1u << 0)
#define MBI_F_BOOTDEV   (1u << 1)
#define MBI_F_CMDLINE   (1u << 2)
#define MBI_F_MODS      (1u << 3)
#define MBI_F_MMAP      (1u << 6)
#define MBI_F_LOADER    (1u << 9)
enum {
	MBI_FLAGS = 0, MBI_MEM_LOWER = 4, MBI_MEM_UPPER = 8, MBI_BOOT_DEVICE = 12,
	MBI_CMDLINE = 16, MBI_MODS_COUNT = 20, MBI_MODS_ADDR = 24, MBI_MMAP_LENGTH = 44,
	MBI_MMAP_ADDR = 48, MBI_LOADER_NAME = 64, MBI_SIZE = 88,
};
#define MB_MOD_SIZE     16
#define MB_MMAP_ENTRY   24   /* the size field (20) plus itself */
#define MB_MMAP_COUNT   4

struct ld_mod {
	char *str;            /* "path args", as given (",," made ",") */
	char *path;           /* in the same allocation: str cut at the first space */
	struct ld_file f;
	gpa_t start;
};

/* Everything one call of ld_load_multiboot works on. */
struct ld_job {
	struct ld_ctx c;
	struct ld_file kernel;
	uint8_t *ram;
	uint32_t hdr_off;     /* file offset of the multiboot header */
	uint32_t hdr[8];      /* magic, flags, checksum, a.out kludge fields */
	struct ld_plan plan;
	char *kcmdline;
	struct ld_mod *mods;
	int nmods;
	gpa_t str_addr;       /* first string */
	gpa_t low_end;        /* first byte above the loader's low area */
};

/* --- the multiboot header ------------------------------------------------------------- */

static int mb_find_header(struct ld_job *j)
{
	uint8_t head[LD_HDR_SCAN];
	uint32_t len = j->kernel.size < LD_HDR_SCAN ? (uint32_t)j->kernel.size : LD_HDR_SCAN;
	int bad_sum = -1;

	if (ld_pread(&j->c, &j->kernel, head, 0, len) < 0)
		return -1;
	for (uint32_t i = 0; i + 12 <= len; i += 4) {
		uint32_t w[3];
		memcpy(w, head + i, sizeof(w));
		if (w[0] != MB_HDR_MAGIC)
			continue;
		if (w[0] + w[1] + w[2] != 0) {
			if (bad_sum < 0)
				bad_sum = (int)i;
			continue;
		}
		j->hdr_off = i;
		memset(j->hdr, 0, sizeof(j->hdr));
		memcpy(j->hdr, head + i, len - i < sizeof(j->hdr) ? len - i : sizeof(j->hdr));
		if ((w[1] & MB_HF_AOUT) && i + sizeof(j->hdr) > len)
			return ld_fail(&j->c, &j->kernel, "multiboot header at 0x%x truncated "
				       "(a.out kludge fields past %s)", i,
				       len < LD_HDR_SCAN ? "end of file" : "the first 8 KiB");
		return 0;
	}
	if (bad_sum >= 0)
		return ld_fail(&j->c, &j->kernel, "bad multiboot header checksum at offset 0x%x",
			       bad_sum);
	if (len >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0)
		return ld_fail(&j->c, &j->kernel, "no multiboot header in the first 8 KiB");
	return ld_fail(&j->c, &j->kernel, "not a multiboot kernel (not ELF, no multiboot "
		       "header in the first 8 KiB)");
}

static int mb_check_flags(struct ld_job *j)
{
	uint32_t low = j->hdr[1] & 0xFFFFu;
	if (low & ~MB_HF_KNOWN)
		return ld_fail(&j->c, &j->kernel, "unsupported multiboot header flags 0x%x",
			       low & ~MB_HF_KNOWN);
	return 0;
}

/* Flag 16: header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr. */
static int mb_aout_plan(struct ld_job *j)
{
	struct ld_ctx *c = &j->c;
	struct ld_file *f = &j->kernel;
	uint32_t header_addr = j->hdr[3], load = j->hdr[4], load_end = j->hdr[5];
	uint32_t bss_end = j->hdr[6];

	if (header_addr < load)
		return ld_fail(c, f, "a.out kludge: header_addr 0x%x below load_addr 0x%x",
			       header_addr, load);
	if (header_addr - load > j->hdr_off)
		return ld_fail(c, f, "a.out kludge: header_addr 0x%x is not at file offset 0x%x "
			       "from load_addr 0x%x", header_addr, j->hdr_off, load);
	uint64_t text_off = j->hdr_off - (header_addr - load);
	uint64_t filesz = f->size - text_off;
	if (load_end) {
		if (load_end < load)
			return ld_fail(c, f, "a.out kludge: load_end_addr 0x%x below load_addr 0x%x",
				       load_end, load);
		filesz = load_end - load;
	}
	if (text_off + filesz > f->size)
		return ld_fail(c, f, "truncated: a.out kludge load range ends past end of file");
	if (filesz > UINT32_MAX - load)
		return ld_fail(c, f, "a.out kludge: image does not fit in the address space");
	uint64_t memsz = filesz;
	if (bss_end) {
		if (bss_end < load + filesz)
			return ld_fail(c, f, "a.out kludge: bss_end_addr 0x%x below load_end 0x%llx",
				       bss_end, (unsigned long long)(load + filesz));
		memsz = bss_end - load;
	}
	j->plan.seg[0] = (struct ld_seg){ load, (uint32_t)memsz, (uint32_t)filesz, text_off };
	j->plan.nseg = 1;
	j->plan.entry = j->hdr[7];
	j->plan.is_pv = ld_elf_has_pv_note(f);
	return 0;
}

static int mb_plan(struct ld_job *j)
{
	uint8_t ident[SELFMAG] = { 0 };

	if (j->hdr[1] & MB_HF_AOUT)
		return mb_aout_plan(j);
	if (j->kernel.size >= SELFMAG && ld_pread(&j->c, &j->kernel, ident, 0, SELFMAG) < 0)
		return -1;
	if (memcmp(ident, ELFMAG, SELFMAG) != 0)
		return ld_fail(&j->c, &j->kernel, "not an ELF file and the multiboot header has "
			       "no a.out kludge (flag 16)");
	return ld_elf_plan(&j->c, &j->kernel, &j->plan);
}

/* --- checking the plan ---------------------------------------------------------------- */

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* [start, start+len) must be RAM and stay clear of the loader's low area. */
static int check_range(struct ld_job *j, const struct ld_file *f, const char *what,
		       uint64_t start, uint64_t len)
{
	if (start + len > j->c.ram_size)
		return ld_fail(&j->c, f, "%s 0x%llx-0x%llx lies outside RAM (%u MiB)", what,
			       (unsigned long long)start, (unsigned long long)(start + len),
			       j->c.ram_size >> 20);
	if (overlaps(start, len, LD_GDT_ADDR, j->low_end - LD_GDT_ADDR))
		return ld_fail(&j->c, f, "%s 0x%llx-0x%llx overlaps the boot information area "
			       "0x%x-0x%x", what, (unsigned long long)start,
			       (unsigned long long)(start + len), LD_GDT_ADDR, j->low_end);
	return 0;
}

static int plan_check(struct ld_job *j)
{
	struct ld_plan *p = &j->plan;
	int entry_ok = 0;

	p->hi = 0;
	for (int i = 0; i < p->nseg; i++) {
		const struct ld_seg *s = &p->seg[i];
		if (check_range(j, &j->kernel, "segment", s->paddr, s->memsz) < 0)
			return -1;
		for (int k = 0; k < i; k++)
			if (overlaps(s->paddr, s->memsz, p->seg[k].paddr, p->seg[k].memsz))
				return ld_fail(&j->c, &j->kernel, "segments overlap at 0x%x",
					       s->paddr);
		if (s->paddr + s->memsz > p->hi)
			p->hi = s->paddr + s->memsz;  /* <= ram_size: no wrap */
		if (p->entry >= s->paddr && p->entry - s->paddr < s->memsz)
			entry_ok = 1;
	}
	if (!entry_ok)
		return ld_fail(&j->c, &j->kernel, "entry point 0x%x outside the loaded image",
			       p->entry);
	return 0;
}

/* --- modules and the low area --------------------------------------------------------- */

/* Next comma-separated item of s into out (",," is a comma); returns where it stopped. */
static const char *mods_next(const char *s, char *out)
{
	while (*s) {
		if (*s == ',' && s[1] != ',')
			break;
		*out++ = *s;
		s += (*s == ',') ? 2 : 1;
	}
	*out = '\0';
	return s;
}

static int mods_parse(struct ld_job *j, const char *s)
{
	size_t cap = 1;
	for (const char *q = s; *q; q++)
		cap += *q == ',';
	j->mods = calloc(cap, sizeof(*j->mods));
	if (!j->mods)
		return ld_fail(&j->c, NULL, "out of memory");
	while (*s) {
		if (j->nmods == LD_MAX_MODS)
			return ld_fail(&j->c, NULL, "too many modules (at most %d)", LD_MAX_MODS);
		struct ld_mod *m = &j->mods[j->nmods++];
		m->f.fd = -1;
		size_t n = strlen(s) + 1;
		m->str = malloc(2 * n);          /* the item, then its file name */
		if (!m->str)
			return ld_fail(&j->c, NULL, "out of memory");
		s = mods_next(s, m->str);
		if (*s)
			s++;
		m->path = m->str + n;
		strcpy(m->path, m->str);
		m->path[strcspn(m->path, " ")] = '\0';
		m->f.what = "module";
		m->f.path = m->path;
		if (!m->path[0])
			return ld_fail(&j->c, NULL, "-initrd: empty module file name in '%s'",
				       m->str);
	}
	return 0;
}

/* Lay out the module list and the strings; all must end below LD_LOW_END. */
static int low_layout(struct ld_job *j)
{
	uint64_t end = LD_MODS_ADDR + (uint64_t)j->nmods * MB_MOD_SIZE;
	j->str_addr = (gpa_t)end;
	end += strlen(j->kcmdline) + 1 + sizeof(LD_LOADER_NAME);
	for (int i = 0; i < j->nmods; i++)
		end += strlen(j->mods[i].str) + 1;
	if (end > LD_LOW_END)
		return ld_fail(&j->c, NULL, "command line and module strings too long "
			       "(%llu bytes of boot information, room for %u)",
			       (unsigned long long)(end - LD_GDT_ADDR), LD_LOW_END - LD_GDT_ADDR);
	j->low_end = (gpa_t)end;
	return 0;
}

static int mods_place(struct ld_job *j)
{
	uint64_t next = ((uint64_t)j->plan.hi + GUEST_PAGE - 1) & ~(uint64_t)(GUEST_PAGE - 1);
	for (int i = 0; i < j->nmods; i++) {
		struct ld_mod *m = &j->mods[i];
		if (ld_open(&j->c, &m->f) < 0)
			return -1;
		if (next + m->f.size > j->c.ram_size)
			return ld_fail(&j->c, &m->f, "too big for RAM (%llu bytes at 0x%llx, RAM "
				       "ends at 0x%x)", (unsigned long long)m->f.size,
				       (unsigned long long)next, j->c.ram_size);
		if (check_range(j, &m->f, "placed at", next, m->f.size) < 0)
			return -1;
		m->start = (gpa_t)next;
		next = (next + m->f.size + GUEST_PAGE - 1) & ~(uint64_t)(GUEST_PAGE - 1);
	}
	return 0;
}

/* --- writing RAM ---------------------------------------------------------------------- */

static void st32(uint8_t *ram, gpa_t a, uint32_t v) { memcpy(ram + a, &v, 4); }
static void st64(uint8_t *ram, gpa_t a, uint64_t v) { memcpy(ram + a, &v, 8); }

static int load_image(struct ld_job *j)
{
	for (int i = 0; i < j->plan.nseg; i++) {
		const struct ld_seg *s = &j->plan.seg[i];
		memset(j->ram + s->paddr + s->filesz, 0, s->memsz - s->filesz);
		if (ld_pread(&j->c, &j->kernel, j->ram + s->paddr, s->off, s->filesz) < 0)
			return -1;
	}
	for (int i = 0; i < j->nmods; i++) {
		struct ld_mod *m = &j->mods[i];
		if (ld_pread(&j->c, &m->f, j->ram + m->start, 0, m->f.size) < 0)
			return -1;
	}
	return 0;
}

static void write_gdt(uint8_t *ram)
{
	st64(ram, LD_GDT_ADDR, 0);
	st64(ram, LD_GDT_ADDR + 8, 0x00CF9B000000FFFFull);   /* code, DPL 0, 32-bit, 4 GiB */
	st64(ram, LD_GDT_ADDR + 16, 0x00CF93000000FFFFull);  /* data, DPL 0, 4 GiB */
}

static void write_mmap(uint8_t *ram, uint32_t ram_size)
{
	const struct { uint64_t base, len; uint32_t type; } map[MB_MMAP_COUNT] = {
		{ 0x00000, 0x9FC00, 1 },           /* conventional memory */
		{ 0x9FC00, 0x400, 2 },             /* EBDA */
		{ 0xF0000, 0x10000, 2 },           /* BIOS */
		{ 0x100000, ram_size - 0x100000ull, 1 },
	};
	for (int i = 0; i < MB_MMAP_COUNT; i++) {
		gpa_t e = LD_MMAP_ADDR + i * MB_MMAP_ENTRY;
		st32(ram, e, MB_MMAP_ENTRY - 4);
		st64(ram, e + 4, map[i].base);
		st64(ram, e + 12, map[i].len);
		st32(ram, e + 20, map[i].type);
	}
}

static gpa_t put_str(uint8_t *ram, gpa_t *at, const char *s)
{
	gpa_t a = *at;
	size_t n = strlen(s) + 1;
	memcpy(ram + a, s, n);
	*at += (gpa_t)n;
	return a;
}

static void write_info(struct ld_job *j)
{
	uint8_t *ram = j->ram;
	gpa_t mbi = LD_MBI_ADDR, s = j->str_addr;

	memset(ram + LD_GDT_ADDR, 0, j->low_end - LD_GDT_ADDR);
	write_gdt(ram);
	write_mmap(ram, j->c.ram_size);
	st32(ram, mbi + MBI_FLAGS, MBI_F_MEM | MBI_F_BOOTDEV | MBI_F_CMDLINE | MBI_F_MODS |
	     MBI_F_MMAP | MBI_F_LOADER);
	st32(ram, mbi + MBI_MEM_LOWER, LD_LOW_END / 1024);   /* 639: QEMU's value, as the map */
	st32(ram, mbi + MBI_MEM_UPPER, (j->c.ram_size - 0x100000u) / 1024);
	st32(ram, mbi + MBI_BOOT_DEVICE, 0x8000FFFFu);  /* first hard disk, as QEMU says */
	st32(ram, mbi + MBI_CMDLINE, put_str(ram, &s, j->kcmdline));
	st32(ram, mbi + MBI_LOADER_NAME, put_str(ram, &s, LD_LOADER_NAME));
	st32(ram, mbi + MBI_MODS_COUNT, (uint32_t)j->nmods);
	st32(ram, mbi + MBI_MODS_ADDR, LD_MODS_ADDR);
	st32(ram, mbi + MBI_MMAP_LENGTH, MB_MMAP_COUNT * MB_MMAP_ENTRY);
	st32(ram, mbi + MBI_MMAP_ADDR, LD_MMAP_ADDR);
	for (int i = 0; i < j->nmods; i++) {
		const struct ld_mod *m = &j->mods[i];
		gpa_t e = LD_MODS_ADDR + i * MB_MOD_SIZE;
		st32(ram, e, m->start);
		st32(ram, e + 4, m->start + (uint32_t)m->f.size);
		st32(ram, e + 8, put_str(ram, &s, m->str));
	}
}

/* --- the entry point ------------------------------------------------------------------ */

static int job_prepare(struct ld_job *j, const char *cmdline, const char *modules)
{
	if (ld_open(&j->c, &j->kernel) < 0)
		return -1;
	if (j->kernel.size == 0)
		return ld_fail(&j->c, &j->kernel, "empty file");
	if (mb_find_header(j) < 0 || mb_check_flags(j) < 0 || mb_plan(j) < 0)
		return -1;
	if (asprintf(&j->kcmdline, "%s %s", j->kernel.path, cmdline ? cmdline : "") < 0) {
		j->kcmdline = NULL;
		return ld_fail(&j->c, NULL, "out of memory");
	}
	if (modules && mods_parse(j, modules) < 0)
		return -1;
	if (low_layout(j) < 0 || plan_check(j) < 0 || mods_place(j) < 0)
		return -1;
	return 0;
}

static void job_free(struct ld_job *j)
{
	ld_close(&j->kernel);
	for (int i = 0; i < j->nmods; i++) {
		ld_close(&j->mods[i].f);
		free(j->mods[i].str);
	}
	free(j->mods);
	free(j->kcmdline);
}

int ld_load_multiboot(const char *kernel, const char *cmdline, const char *modules,
		      uint8_t *ram, uint32_t ram_size, struct ld_boot *boot,
		      char *err, size_t errlen)
{
	struct ld_job j;
	int rc = -1;

	memset(&j, 0, sizeof(j));
	j.c = (struct ld_ctx){ err, errlen, ram_size };
	j.kernel = (struct ld_file){ "kernel", kernel ? kernel : "", -1, 0 };
	j.ram = ram;
	if (err && errlen)
		err[0] = '\0';
	if (!kernel || !ram || !boot)
		ld_fail(&j.c, NULL, "no kernel given");
	else if (ram_size < ((uint32_t)RAM_MIN_MIB << 20))
		ld_fail(&j.c, NULL, "RAM size %u bytes too small (at least %u MiB)", ram_size,
			RAM_MIN_MIB);
	else if (job_prepare(&j, cmdline, modules) == 0 && load_image(&j) == 0) {
		write_info(&j);
		*boot = (struct ld_boot){
			.entry = j.plan.entry, .eax = MB_BOOT_MAGIC, .ebx = LD_MBI_ADDR,
			.gdt_base = LD_GDT_ADDR, .gdt_limit = 3 * 8 - 1,
			.load_end = j.plan.hi, .is_pv = j.plan.is_pv,
		};
		rc = 0;
	}
	job_free(&j);
	return rc;
}
