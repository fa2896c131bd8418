/*
 * ld_local.h - what the loader's files share; nothing outside loader/ includes it.
 *
 * Loading is done in two steps so that bad input never leaves half a kernel in RAM that
 * the caller might run: first every header is read and checked and a load plan (struct
 * ld_plan) is made, then the plan is carried out.  Every check that fails formats one line
 * into the context's err buffer (ld_fail) and makes the caller return -1.
 *
 * Guest-physical addresses are gpa_t; sizes and file offsets that come from the image are
 * widened to 64 bits before any sum so that no check can be fooled by wrap-around.
 */
#ifndef LD_LOCAL_H
#define LD_LOCAL_H

#include <stdint.h>
#include <stddef.h>
#include "monitor/vmm.h"

#define LD_HDR_SCAN   8192u  /* the multiboot header lies within the first 8 KiB */
#define LD_MAX_PHDRS  64     /* more program headers than this is rejected */
#define LD_MAX_NOTE   (1u << 20) /* note segments/sections larger than this are not scanned */

/* One open input file (the kernel or a module). */
struct ld_file {
	const char *what;    /* "kernel" or "module", for messages */
	const char *path;
	int fd;
	uint64_t size;
};

/* Where errors go. */
struct ld_ctx {
	char *err;
	size_t errlen;
	uint32_t ram_size;
};

/* One piece of the image: memsz bytes at paddr, the first filesz from file offset off. */
struct ld_seg {
	gpa_t paddr;
	uint32_t memsz;
	uint32_t filesz;
	uint64_t off;
};

struct ld_plan {
	struct ld_seg seg[LD_MAX_PHDRS];
	int nseg;
	gpa_t entry;
	gpa_t hi;            /* first byte above the image */
	int is_pv;
};

/* file.c: the input files and the error line (used by both files below, calls neither). */
/* Format one line into c->err (prefixed "what path: " when f is given); always -1. */
int ld_fail(struct ld_ctx *c, const struct ld_file *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Read exactly len bytes at off, or fail (ld_fail) on an error or a short file. */
int ld_pread(struct ld_ctx *c, const struct ld_file *f, void *dst, uint64_t off,
	     uint64_t len);
/* Open f->path read-only, check it is a regular file, set f->fd and f->size. */
int ld_open(struct ld_ctx *c, struct ld_file *f);
void ld_close(struct ld_file *f);

/* elf32.c: plan the PT_LOAD segments of an ELF32 i386 EXEC image; detect the PV note. */
int ld_elf_plan(struct ld_ctx *c, const struct ld_file *f, struct ld_plan *p);
int ld_elf_has_pv_note(const struct ld_file *f);

#endif
