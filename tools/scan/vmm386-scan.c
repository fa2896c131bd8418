/*
 * vmm386-scan.c - how would vmm386 run this code?  (issue 4, item 4)
 *
 *   vmm386-scan [--quiet] FILE
 *
 * FILE is an ELF32 i386 kernel or program, or a Linux bzImage whose xz-compressed vmlinux
 * is unpacked first (bzimage.c).  Its executable code is the sections flagged
 * SHF_EXECINSTR (when the file has section headers) or else the PT_LOAD segments with PF_X.
 * Each code region is decoded linearly from its start with the translator's own decision
 * tree, xl_classify() (translator/classify.c), in mode 0: CPL 0, paging off, flat segments,
 * which is how a multiboot kernel starts.  A byte that does not decode counts as one
 * INVALID byte and the walk goes on at the next byte, so data embedded in code costs a
 * few spurious rows but never stops the scan.
 *
 * Output: one row per mnemonic with its count in each class (IDENT, re-encoded, lowered,
 * monitor call, unsupported = #UD because the guest's CPUID lacks it, invalid = does not
 * decode), most frequent first; then the totals per class in instructions and bytes and
 * the percentage of code bytes on the IDENT path.  --quiet prints the totals only.
 *
 * Bad input (missing or unreadable file, not ELF32 i386, headers or regions beyond the
 * end of the file, no executable code) gets one line "vmm386-scan: ..." on stderr and exit
 * status 2, as vmm386 itself does.  The scanner is a reporting tool: a linear sweep can be
 * misled by data in code sections, which is why the percentages are of decoded bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "translator/xl.h"
#include "scan.h"
#include "loader/loader.h"

#define NCLASS (XC_INVALID + 1)
#define MAX_REGIONS 64
#define MAX_MNEMONICS 2048

static const char *const class_name[NCLASS] = {
	"IDENT", "REENC", "LOWER", "MONITOR", "UNSUP", "INVALID",
};
static const char *const class_desc[NCLASS] = {
	"IDENT (bytes copied, prefixes added)",
	"re-encoded (a few bytes rewritten)",
	"lowered (hand-written host sequence)",
	"monitor call (sensitive/privileged/rare)",
	"unsupported (#UD: not in guest CPUID)",
	"invalid (does not decode)",
};

struct region { const char *name; uint32_t off, size, addr; };

struct row {
	const char *mnemonic;       /* static string from Zydis, or "(bad)" */
	uint64_t count[NCLASS];
	uint64_t total;
};

struct scan {
	struct row rows[MAX_MNEMONICS];
	unsigned nrows;
	uint64_t insns[NCLASS], bytes[NCLASS];
};

static const char *prog_file;

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vmm386-scan: ");
	if (prog_file)
		fprintf(stderr, "%s: ", prog_file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* ---- input ------------------------------------------------------------------------ */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail("cannot open: %s", strerror(errno));
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += got;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf)
		fail("out of memory");
	if (ferror(f))
		fail("read error: %s", strerror(errno));
	fclose(f);
	*len = n;
	return buf;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* Does [off, off+len) lie inside a file of flen bytes? */
static bool in_file(uint64_t off, uint64_t len, size_t flen)
{
	return off <= flen && len <= flen - off;
}

static void check_header(const uint8_t *f, size_t flen)
{
	if (flen < 4 || memcmp(f, "\177ELF", 4) != 0)
		fail("not an ELF file");
	if (flen < 52)
		fail("truncated ELF header (%zu bytes)", flen);
	if (f[4] != 1 || f[5] != 1)
		fail("not a 32-bit little-endian ELF file (class %u, data %u)", f[4], f[5]);
	if (rd16(f + 18) != 3)
		fail("not an i386 ELF file (e_machine %u)", rd16(f + 18));
}

/* Executable sections (SHF_EXECINSTR, not NOBITS). Returns the count, -1 if no table. */
static int sections(const uint8_t *f, size_t flen, struct region *r)
{
	uint32_t shoff = rd32(f + 32);
	unsigned shentsize = rd16(f + 46), shnum = rd16(f + 48), shstrndx = rd16(f + 50);
	if (shoff == 0 || shnum == 0)
		return -1;
	if (shentsize < 40 || !in_file(shoff, (uint64_t)shentsize * shnum, flen))
		fail("truncated section header table");
	const uint8_t *strtab = NULL;
	uint32_t strsize = 0;
	if (shstrndx < shnum) {
		const uint8_t *s = f + shoff + (size_t)shstrndx * shentsize;
		if (in_file(rd32(s + 16), rd32(s + 20), flen)) {
			strtab = f + rd32(s + 16);
			strsize = rd32(s + 20);
		}
	}
	int n = 0;
	for (unsigned i = 0; i < shnum && n < MAX_REGIONS; i++) {
		const uint8_t *s = f + shoff + (size_t)i * shentsize;
		uint32_t type = rd32(s + 4), flags = rd32(s + 8);
		if (!(flags & 0x4) || type == 8 /* SHT_NOBITS */ || rd32(s + 20) == 0)
			continue;
		uint32_t name = rd32(s);
		r[n] = (struct region){ "?", rd32(s + 16), rd32(s + 20), rd32(s + 12) };
		if (strtab && name < strsize && memchr(strtab + name, 0, strsize - name))
			r[n].name = (const char *)strtab + name;
		if (!in_file(r[n].off, r[n].size, flen))
			fail("section %s extends beyond the end of the file", r[n].name);
		n++;
	}
	return n;
}

/* Executable PT_LOAD segments. */
static int segments(const uint8_t *f, size_t flen, struct region *r)
{
	uint32_t phoff = rd32(f + 28);
	unsigned phentsize = rd16(f + 42), phnum = rd16(f + 44);
	if (phoff == 0 || phnum == 0)
		return 0;
	if (phentsize < 32 || !in_file(phoff, (uint64_t)phentsize * phnum, flen))
		fail("truncated program header table");
	int n = 0;
	for (unsigned i = 0; i < phnum && n < MAX_REGIONS; i++) {
		const uint8_t *p = f + phoff + (size_t)i * phentsize;
		if (rd32(p) != 1 /* PT_LOAD */ || !(rd32(p + 24) & 1) /* PF_X */ || rd32(p + 16) == 0)
			continue;
		r[n] = (struct region){ "PT_LOAD", rd32(p + 4), rd32(p + 16), rd32(p + 8) };
		if (!in_file(r[n].off, r[n].size, flen))
			fail("segment %d extends beyond the end of the file", i);
		n++;
	}
	return n;
}

/* ---- the walk ---------------------------------------------------------------------- */

static struct row *row_of(struct scan *s, const char *mnemonic)
{
	for (unsigned i = 0; i < s->nrows; i++)
		if (s->rows[i].mnemonic == mnemonic || strcmp(s->rows[i].mnemonic, mnemonic) == 0)
			return &s->rows[i];
	if (s->nrows == MAX_MNEMONICS)
		fail("more than %d distinct mnemonics", MAX_MNEMONICS);
	s->rows[s->nrows].mnemonic = mnemonic;
	return &s->rows[s->nrows++];
}

static void walk(struct scan *s, const uint8_t *code, uint32_t size)
{
	for (uint32_t off = 0; off < size;) {
		unsigned len;
		const char *mn;
		uint32_t avail = size - off;
		enum xl_class k = xl_classify(code + off, avail > 15 ? 15 : avail, 0, &len, &mn);
		if (k == XC_INVALID || len == 0) {
			k = XC_INVALID;
			mn = "(bad)";
			len = 1;
		}
		struct row *r = row_of(s, mn);
		r->count[k]++;
		r->total++;
		s->insns[k]++;
		s->bytes[k] += len;
		off += len;
	}
}

/* ---- report ------------------------------------------------------------------------ */

static int by_total(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->mnemonic, y->mnemonic);
}

static void print_rows(struct scan *s)
{
	qsort(s->rows, s->nrows, sizeof(s->rows[0]), by_total);
	printf("%-16s %8s", "mnemonic", "total");
	for (int k = 0; k < NCLASS; k++)
		printf(" %8s", class_name[k]);
	printf("\n");
	for (unsigned i = 0; i < s->nrows; i++) {
		printf("%-16s %8llu", s->rows[i].mnemonic, (unsigned long long)s->rows[i].total);
		for (int k = 0; k < NCLASS; k++)
			printf(" %8llu", (unsigned long long)s->rows[i].count[k]);
		printf("\n");
	}
	printf("\n");
}

static void print_totals(const struct scan *s)
{
	uint64_t insns = 0, bytes = 0;
	for (int k = 0; k < NCLASS; k++) {
		insns += s->insns[k];
		bytes += s->bytes[k];
	}
	printf("totals:\n");
	for (int k = 0; k < NCLASS; k++)
		printf("  %-8s %-42s %8llu instructions %9llu bytes %6.2f%%\n", class_name[k],
		       class_desc[k], (unsigned long long)s->insns[k], (unsigned long long)s->bytes[k],
		       bytes ? 100.0 * (double)s->bytes[k] / (double)bytes : 0.0);
	printf("  code: %llu instructions, %llu bytes, %u distinct mnemonics\n",
	       (unsigned long long)insns, (unsigned long long)bytes, s->nrows);
	printf("IDENT path: %.2f%% of code bytes\n",
	       bytes ? 100.0 * (double)s->bytes[XC_IDENT] / (double)bytes : 0.0);
}

static void usage(void)
{
	fprintf(stderr, "usage: vmm386-scan [--quiet] FILE\n"
		"Reports, per mnemonic, how vmm386 translates the executable code of an\n"
		"ELF32 i386 file or Linux bzImage (CPL 0, paging off, flat segments).\n");
	exit(2);
}

int main(int argc, char **argv)
{
	bool quiet = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) quiet = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) usage();
		else if (argv[i][0] == '-' && argv[i][1]) fail("unknown option '%s' (see --help)", argv[i]);
		else if (path) fail("more than one file given");
		else path = argv[i];
	}
	if (!path)
		fail("no file given (usage: vmm386-scan [--quiet] FILE)");
	prog_file = path;
	size_t flen;
	uint8_t *f = read_file(path, &flen);
	if (ld_is_linux(f, flen)) {
		char err[200];
		size_t vlen;
		uint8_t *v = scan_unpack_bzimage(f, flen, &vlen, err, sizeof(err));
		if (!v)
			fail("%s", err);
		printf("vmm386-scan: %s: Linux bzImage, %zu bytes of vmlinux unpacked\n", path, vlen);
		free(f);
		f = v;
		flen = vlen;
	}
	check_header(f, flen);
	struct region r[MAX_REGIONS];
	int n = sections(f, flen, r);
	if (n < 0)
		n = segments(f, flen, r);
	if (n == 0)
		fail("no executable code (no SHF_EXECINSTR section, no PF_X segment)");
	xl_init();
	static struct scan s;
	printf("vmm386-scan: %s: mode CPL 0, paging off, flat segments\n", path);
	for (int i = 0; i < n; i++) {
		printf("  %-10s addr %08x size %u bytes\n", r[i].name, r[i].addr, r[i].size);
		walk(&s, f + r[i].off, r[i].size);
	}
	printf("\n");
	if (!quiet)
		print_rows(&s);
	print_totals(&s);
	free(f);
	return 0;
}
