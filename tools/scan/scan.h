/* scan.h - what vmm386-scan's files share. */
#ifndef SCAN_H
#define SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* bzimage.c: the vmlinux inside a bzImage (malloc'd, *out_len bytes), or NULL with a
 * one-line reason in err.  Whether a file is a bzImage is the loader's ld_is_linux. */
uint8_t *scan_unpack_bzimage(const uint8_t *f, size_t len, size_t *out_len, char *err, size_t errlen);

#endif
