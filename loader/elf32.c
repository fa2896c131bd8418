/*
 * elf32.c - the ELF half of the multiboot loader: turn an ELF32 i386 EXEC image into a
 * load plan, and detect the vmm386 paravirtualization note.
 *
 * Like qemu-system-i386 -kernel, PT_LOAD segments go to their physical address (p_paddr),
 * bytes past p_filesz up to p_memsz are zero, and e_entry, a virtual address, is turned into
 * a physical one when it lies in an executable segment whose p_vaddr differs from p_paddr
 * (higher-half kernels).  Only headers are read here; the caller checks the plan against RAM
 * and then loads it.  Every field of the file is distrusted: offsets and sizes are summed in
 * 64 bits and compared with the file size before anything is read.
 *
 * The PV note (name "vmm386", type LD_PV_NOTE_TYPE) may sit in a PT_NOTE segment or an
 * SHT_NOTE section; looking for it is best effort and never makes a load fail.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include "loader/ld_local.h"

#define LD_PV_NOTE_NAME "vmm386"
#define LD_PV_NOTE_TYPE 0x564Du
#define LD_MAX_SHDRS    4096

static int elf_check_ehdr(struct ld_ctx *c, const struct ld_file *f, const Elf32_Ehdr *eh)
{
	if (eh->e_ident[EI_CLASS] == ELFCLASS64)
		return ld_fail(c, f, "64-bit ELF: give a 32-bit (i386) multiboot kernel");
	if (eh->e_ident[EI_CLASS] != ELFCLASS32)
		return ld_fail(c, f, "not a 32-bit ELF (class %u)", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return ld_fail(c, f, "not a little-endian ELF");
	if (eh->e_machine != EM_386)
		return ld_fail(c, f, "not an i386 ELF (e_machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return ld_fail(c, f, "not an executable ELF (e_type %u, want ET_EXEC)",
			       eh->e_type);
	if (eh->e_phnum == 0)
		return ld_fail(c, f, "ELF has no program headers");
	if (eh->e_phnum > LD_MAX_PHDRS)
		return ld_fail(c, f, "too many program headers (%u, at most %d)",
			       eh->e_phnum, LD_MAX_PHDRS);
	if (eh->e_phentsize != sizeof(Elf32_Phdr))
		return ld_fail(c, f, "bad ELF program header size %u", eh->e_phentsize);
	return 0;
}

/* Read the ELF header and the program header table (checked to lie inside the file). */
static int elf_read_headers(struct ld_ctx *c, const struct ld_file *f, Elf32_Ehdr *eh,
			    Elf32_Phdr *ph)
{
	if (f->size < sizeof(*eh))
		return ld_fail(c, f, "truncated ELF header (%llu bytes)",
			       (unsigned long long)f->size);
	if (ld_pread(c, f, eh, 0, sizeof(*eh)) < 0)
		return -1;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return ld_fail(c, f, "not an ELF file");
	if (elf_check_ehdr(c, f, eh) < 0)
		return -1;
	uint64_t len = (uint64_t)eh->e_phnum * sizeof(*ph);
	if ((uint64_t)eh->e_phoff + len > f->size)
		return ld_fail(c, f, "truncated ELF: program headers past end of file");
	return ld_pread(c, f, ph, eh->e_phoff, len);
}

static int elf_plan_segment(struct ld_ctx *c, const struct ld_file *f, int i,
			    const Elf32_Phdr *ph, struct ld_plan *p)
{
	if (ph->p_filesz > ph->p_memsz)
		return ld_fail(c, f, "segment %d: p_filesz 0x%x > p_memsz 0x%x", i,
			       ph->p_filesz, ph->p_memsz);
	if ((uint64_t)ph->p_offset + ph->p_filesz > f->size)
		return ld_fail(c, f, "truncated ELF: segment %d data (0x%x bytes at offset 0x%x) "
			       "past end of file", i, ph->p_filesz, ph->p_offset);
	if ((uint64_t)ph->p_paddr + ph->p_memsz > 0x100000000ull)
		return ld_fail(c, f, "segment %d at 0x%x (0x%x bytes) wraps around 4 GiB", i,
			       ph->p_paddr, ph->p_memsz);
	struct ld_seg *s = &p->seg[p->nseg++];
	s->paddr = ph->p_paddr;
	s->memsz = ph->p_memsz;
	s->filesz = ph->p_filesz;
	s->off = ph->p_offset;
	return 0;
}

/* e_entry is virtual; QEMU moves it into physical space through the segment holding it. */
static gpa_t elf_entry_phys(const Elf32_Ehdr *eh, const Elf32_Phdr *ph)
{
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf32_Phdr *q = &ph[i];
		if (q->p_type != PT_LOAD || q->p_vaddr == q->p_paddr || !(q->p_flags & PF_X))
			continue;
		if (eh->e_entry >= q->p_vaddr &&
		    (uint64_t)eh->e_entry < (uint64_t)q->p_vaddr + q->p_filesz)
			return eh->e_entry - q->p_vaddr + q->p_paddr;
	}
	return eh->e_entry;
}

int ld_elf_plan(struct ld_ctx *c, const struct ld_file *f, struct ld_plan *p)
{
	Elf32_Ehdr eh;
	Elf32_Phdr ph[LD_MAX_PHDRS];

	if (elf_read_headers(c, f, &eh, ph) < 0)
		return -1;
	p->nseg = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || (ph[i].p_memsz == 0 && ph[i].p_filesz == 0))
			continue;
		if (elf_plan_segment(c, f, i, &ph[i], p) < 0)
			return -1;
	}
	if (p->nseg == 0)
		return ld_fail(c, f, "ELF has no loadable segment");
	p->entry = elf_entry_phys(&eh, ph);
	p->is_pv = ld_elf_has_pv_note(f);
	return 0;
}

/* --- the PV note ---------------------------------------------------------------------- */

static int note_is_pv(const uint8_t *name, uint32_t namesz, uint32_t type)
{
	size_t n = strlen(LD_PV_NOTE_NAME);
	if (type != LD_PV_NOTE_TYPE || (namesz != n && namesz != n + 1))
		return 0;
	return memcmp(name, LD_PV_NOTE_NAME, namesz) == 0;
}

/* Walk the notes in buf[0..len): 12-byte header, name and desc each padded to 4 bytes. */
static int notes_have_pv(const uint8_t *buf, uint64_t len)
{
	uint64_t off = 0;
	while (off + 12 <= len) {
		uint32_t h[3];
		memcpy(h, buf + off, sizeof(h));
		uint64_t name = off + 12;
		uint64_t desc = name + (((uint64_t)h[0] + 3) & ~3ull);
		uint64_t next = desc + (((uint64_t)h[1] + 3) & ~3ull);
		if (next > len)
			return 0;
		if (note_is_pv(buf + name, h[0], h[2]))
			return 1;
		off = next;
	}
	return 0;
}

static int file_range_has_pv(const struct ld_file *f, uint64_t off, uint64_t len)
{
	if (len < 12 || len > LD_MAX_NOTE || off + len > f->size)
		return 0;
	uint8_t *buf = malloc(len);
	if (!buf)
		return 0;
	struct ld_ctx quiet = { 0 };
	int pv = ld_pread(&quiet, f, buf, off, len) == 0 && notes_have_pv(buf, len);
	free(buf);
	return pv;
}

static int sections_have_pv(const struct ld_file *f, const Elf32_Ehdr *eh)
{
	if (eh->e_shentsize != sizeof(Elf32_Shdr) || eh->e_shnum == 0 ||
	    eh->e_shnum > LD_MAX_SHDRS)
		return 0;
	uint64_t len = (uint64_t)eh->e_shnum * sizeof(Elf32_Shdr);
	if ((uint64_t)eh->e_shoff + len > f->size)
		return 0;
	Elf32_Shdr *sh = malloc(len);
	struct ld_ctx quiet = { 0 };
	int pv = 0;
	if (sh && ld_pread(&quiet, f, sh, eh->e_shoff, len) == 0) {
		for (int i = 0; i < eh->e_shnum && !pv; i++)
			if (sh[i].sh_type == SHT_NOTE)
				pv = file_range_has_pv(f, sh[i].sh_offset, sh[i].sh_size);
	}
	free(sh);
	return pv;
}

int ld_elf_has_pv_note(const struct ld_file *f)
{
	Elf32_Ehdr eh;
	Elf32_Phdr ph[LD_MAX_PHDRS];
	struct ld_ctx quiet = { 0 };

	if (f->size < sizeof(eh) || ld_pread(&quiet, f, &eh, 0, sizeof(eh)) < 0)
		return 0;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS32)
		return 0;
	uint64_t len = (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr);
	if (eh.e_phentsize == sizeof(Elf32_Phdr) && eh.e_phnum <= LD_MAX_PHDRS &&
	    (uint64_t)eh.e_phoff + len <= f->size &&
	    ld_pread(&quiet, f, ph, eh.e_phoff, len) == 0) {
		for (int i = 0; i < eh.e_phnum; i++)
			if (ph[i].p_type == PT_NOTE &&
			    file_range_has_pv(f, ph[i].p_offset, ph[i].p_filesz))
				return 1;
	}
	return sections_have_pv(f, &eh);
}
