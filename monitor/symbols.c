/*
 * symbols.c - the guest kernel's function symbols, for naming guest code on the host side
 * (perfmap.c, profile.c).  Never used to run the guest.
 *
 * sym_load reads the .symtab of an ELF32 i386 file: STT_FUNC symbols, and STT_NOTYPE
 * ones defined in an executable section (assembly labels such as entry stubs); or a
 * System.map (text symbols, no sizes), for kernels booted from a bzImage.  They are
 * kept sorted by address; a lookup takes the last symbol at or below the address and
 * accepts it when the address is inside its size, or, for a symbol without a size, when no
 * other symbol starts in between (which the sort already says) and it is within
 * SYM_SIZELESS_SPAN bytes.  Every offset and size in the file is checked against the file
 * size before use; a file that is not ELF32, or has no .symtab, simply yields no symbols.
 * Guest addresses are linear (CS base + EIP), which for the kernels vmm386 runs is the
 * symbols' virtual address.  Called on the vCPU thread only.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbols.h"

#define SYM_SIZELESS_SPAN 4096u

struct gsym { gla_t addr; uint32_t size; const char *name; };

static struct gsym *syms;
static unsigned nsyms;
static char *strings;        /* the file's string table, kept: the names point into it */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static bool in_file(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

static int by_addr(const void *a, const void *b)
{
	const struct gsym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool wanted(const Elf32_Sym *s, const Elf32_Shdr *sh, unsigned nsh)
{
	unsigned type = ELF32_ST_TYPE(s->st_info);
	if (!s->st_name || !s->st_value || s->st_shndx == SHN_UNDEF || s->st_shndx >= nsh)
		return false;
	if (type == STT_FUNC)
		return true;
	return type == STT_NOTYPE && (sh[s->st_shndx].sh_flags & SHF_EXECINSTR);
}

/* Take the symbols of section symtab (its string table is section sh_link). */
static int take_symtab(const uint8_t *f, size_t len, const Elf32_Shdr *sh, unsigned nsh,
		       const Elf32_Shdr *symtab)
{
	if (symtab->sh_link >= nsh || !in_file(len, symtab->sh_offset, symtab->sh_size))
		return 0;
	const Elf32_Shdr *str = &sh[symtab->sh_link];
	if (!in_file(len, str->sh_offset, str->sh_size) || !str->sh_size)
		return 0;
	strings = malloc(str->sh_size + 1);
	unsigned n = symtab->sh_size / sizeof(Elf32_Sym);
	syms = calloc(n ? n : 1, sizeof(*syms));
	if (!strings || !syms)
		return 0;
	memcpy(strings, f + str->sh_offset, str->sh_size);
	strings[str->sh_size] = 0;
	for (unsigned i = 0; i < n; i++) {
		Elf32_Sym s;
		memcpy(&s, f + symtab->sh_offset + i * sizeof(s), sizeof(s));
		if (wanted(&s, sh, nsh) && s.st_name < str->sh_size)
			syms[nsyms++] = (struct gsym){ s.st_value, s.st_size, strings + s.st_name };
	}
	qsort(syms, nsyms, sizeof(*syms), by_addr);
	return (int)nsyms;
}

/* A System.map: "c1000000 T _text" lines.  Text symbols only (t, T, and weak w, W); the
 * names are copied into one buffer that `strings` keeps. */
static int take_map(const uint8_t *f, size_t len)
{
	unsigned cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += f[i] == '\n';
	syms = calloc(cap, sizeof(*syms));
	strings = malloc(len + 1);
	if (!syms || !strings)
		return 0;
	memcpy(strings, f, len);
	strings[len] = 0;
	for (char *line = strings, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *end, type, *name;
		unsigned long a = strtoul(line, &end, 16);
		if (end == line || end - line > 8 || *end != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		name = end + 3;
		if (a && *name && strchr("tTwW", type) && nsyms < cap)
			syms[nsyms++] = (struct gsym){ (gla_t)a, 0, name };
	}
	qsort(syms, nsyms, sizeof(*syms), by_addr);
	return (int)nsyms;
}

int sym_load(const char *path)
{
	size_t len = 0;
	uint8_t *f = read_file(path, &len);
	int n = 0;
	Elf32_Ehdr eh;
	if (!f || len < sizeof(eh))
		goto out;
	memcpy(&eh, f, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		if (memchr(f, 0, len) == NULL)         /* text: a System.map */
			n = take_map(f, len);
		goto out;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh.e_shentsize != sizeof(Elf32_Shdr) || !in_file(len, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf32_Shdr)))
		goto out;
	Elf32_Shdr *sh = malloc((eh.e_shnum ? eh.e_shnum : 1) * sizeof(*sh));
	if (!sh)
		goto out;
	memcpy(sh, f + eh.e_shoff, eh.e_shnum * sizeof(*sh));
	for (unsigned i = 0; i < eh.e_shnum && !n; i++)
		if (sh[i].sh_type == SHT_SYMTAB)
			n = take_symtab(f, len, sh, eh.e_shnum, &sh[i]);
	free(sh);
out:
	free(f);
	return n;
}

const char *sym_lookup(gla_t la, uint32_t *off)
{
	unsigned lo = 0, hi = nsyms;            /* first symbol above la: lo */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (syms[mid].addr <= la) lo = mid + 1; else hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct gsym *s = &syms[lo - 1];
	/* several names at one address: a sized one says how far the function goes */
	while (lo >= 2 && syms[lo - 2].addr == s->addr && !s->size)
		s = &syms[--lo - 1];
	uint32_t d = la - s->addr;
	if (s->size ? d >= s->size : d >= SYM_SIZELESS_SPAN)
		return NULL;
	*off = d;
	return s->name;
}

const char *sym_describe(gla_t la, char *buf, size_t len)
{
	uint32_t off;
	const char *name = sym_lookup(la, &off);
	if (!name)
		snprintf(buf, len, "guest_%08x", la);
	else if (off)
		snprintf(buf, len, "%s+0x%x", name, off);
	else
		snprintf(buf, len, "%s", name);
	return buf;
}
