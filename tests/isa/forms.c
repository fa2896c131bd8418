/*
 * forms.c - storage for the form table and the expansion every template shares.
 *
 * Templates (forms_int.c, forms_x87.c, forms_simd.c) fill in a struct form for the
 * register or memory shape of an instruction and hand memory shapes to forms_variants(), which
 * adds one form per addressing variant:
 *   plain    DS (or SS) flat, 32-bit addressing
 *   lock     F0 prefix, for the read-modify-write forms the SDM lets LOCK apply to
 *   fs: gs:  override with a non-zero segment base
 *   es: ss: ds:  explicit overrides of flat segments
 *   a16      0x67 (16-bit addressing) with DS/ES/SS based at ISA_NF_BASE (a 16-bit
 *            offset cannot reach the data area through a base-0 segment natively)
 *   nonflat  32-bit addressing with DS/ES/SS based at ISA_NF_BASE (the translator's
 *            non-flat path)
 *   fs:limit fs: with a 4 KiB limit: operands inside, across and beyond it (#GP)
 *   gs:ro    gs: on a read-only data segment: writes raise #GP
 * V_ROT picks one of gs:, es:, ss:, ds:, nonflat in turn, so every family gets them
 * without multiplying the table by seven.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "forms.h"
#include "isa.h"
#include "monitor/vmm.h"

static struct form *table;
static unsigned nforms, cap;
static unsigned rot_next;

struct form *form_new(const char *group)
{
	static struct form scratch;
	memset(&scratch, 0, sizeof(scratch));
	scratch.group = group;
	scratch.ext = -1;
	scratch.rmfix = -1;
	scratch.seg = SEG_NONE;
	scratch.env = ISA_ENV_FLAT;
	scratch.osize = 4;
	scratch.df = -1;
	return &scratch;
}

static void check_form(const struct form *f)
{
	unsigned len = f->npfx + f->nop + (f->rm != RM_NONE) + 1 + 4 + 4;
	if (len > 15 || f->nop == 0) {
		fprintf(stderr, "isa-diff: bad template for %s\n", f->name);
		exit(2);
	}
	if (f->rm == RM_MEM && f->a16 && f->env == ISA_ENV_FLAT && f->kind != K_LEA &&
	    f->seg != S_FS && f->seg != S_GS) {
		fprintf(stderr, "isa-diff: %s: 16-bit offsets need a based segment\n", f->name);
		exit(2);
	}
}

/* Append a copy of f named by the format. */
void form_finish(struct form *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->name, sizeof(f->name), fmt, ap);
	va_end(ap);
	check_form(f);
	if (nforms == cap) {
		cap = cap ? 2 * cap : 1024;
		table = realloc(table, cap * sizeof(*table));
		if (!table) {
			perror("isa-diff");
			exit(2);
		}
	}
	table[nforms++] = *f;
}

/* Prepend a prefix byte (variant prefixes go before the template's own). */
void form_prefix(struct form *f, uint8_t p)
{
	memmove(f->pfx + 1, f->pfx, f->npfx);
	f->pfx[0] = p;
	f->npfx++;
}

static void add_variant(const struct form *base, unsigned v, const char *name)
{
	static const struct { unsigned v; uint8_t pfx; int seg; const char *tag; } tab[] = {
		{ V_FS, 0x64, S_FS, "fs:" }, { V_GS, 0x65, S_GS, "gs:" },
		{ V_ES, 0x26, S_ES, "es:" }, { V_SS, 0x36, S_SS, "ss:" },
		{ V_DS, 0x3E, S_DS, "ds:" }, { V_CS, 0x2E, S_CS, "cs:" },
		{ V_FSLIM, 0x64, S_FS, "fs:limit" }, { V_GSRO, 0x65, S_GS, "gs:ro" },
	};
	struct form f = *base;
	const char *tag = "";
	if (v == V_LOCK) {
		form_prefix(&f, 0xF0);
		tag = " lock";
	} else if (v == V_A16) {
		form_prefix(&f, 0x67);
		f.a16 = true;
		f.env = ISA_ENV_NONFLAT;
		tag = " a16";
	} else if (v == V_NONFLAT) {
		f.env = ISA_ENV_NONFLAT;
		tag = " nonflat";
	} else if (v == V_FSLIM || v == V_GSRO) {
		f.env = ISA_ENV_LIMIT;
	}
	for (unsigned i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].v == v) {
			form_prefix(&f, tab[i].pfx);
			f.seg = (uint8_t)tab[i].seg;
			tag = tab[i].tag;
		}
	form_finish(&f, "%s%s%s", name, *tag == ' ' || !*tag ? "" : " ", tag);
}

/* One form per variant bit of vars (V_ROT: the next of the rotating set). */
void forms_variants(const struct form *base, unsigned vars, const char *name)
{
	static const unsigned rot[] = { V_GS, V_ES, V_NONFLAT, V_SS, V_DS };
	static const unsigned order[] = { V_PLAIN, V_LOCK, V_FS, V_GS, V_ES, V_SS, V_DS, V_CS,
					  V_A16, V_NONFLAT, V_FSLIM, V_GSRO };
	if (vars & V_ROT) {
		unsigned r = rot[rot_next++ % (sizeof(rot) / sizeof(rot[0]))];
		if (!(vars & r))
			vars |= r;
		else
			vars |= V_GS;
	}
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (vars & order[i])
			add_variant(base, order[i], name);
}

unsigned forms_build(void)
{
	if (!nforms) {
		forms_int();
		forms_x87();
		forms_simd();
	}
	return nforms;
}

const struct form *forms_get(unsigned i)
{
	return i < nforms ? &table[i] : NULL;
}
