/* scan.h - what vmm386-scan's files share. */
#ifndef SCAN_H
#define SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* bzimage.c: does the file carry a Linux setup header; the vmlinux inside it (malloc'd,
 * *out_len bytes), or NULL with a one-line reason in err. */
bool scan_is_bzimage(const uint8_t *f, size_t len);
uint8_t *scan_unpack_bzimage(const uint8_t *f, size_t len, size_t *out_len, char *err, size_t errlen);

#endif
