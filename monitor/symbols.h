/* symbols.h - guest symbols for host-side tools (perf map, per-site profile). */
#ifndef SYMBOLS_H
#define SYMBOLS_H
#include <stdint.h>
#include "vmm.h"

/* Read the function symbols of `path`: an ELF32 file with a .symtab, or a System.map
 * (nm's "address type name" lines; text symbols, types t/T/w/W).  A bzImage or a stripped
 * kernel gives none, which is not an error here.  Returns how many were read. */
int sym_load(const char *path);
/* The function holding guest linear address `la`: its name, and la's offset in it in
 * *off; NULL when no symbol covers la. */
const char *sym_lookup(gla_t la, uint32_t *off);
/* "name+0xOFF" (or "name" at offset 0), else "guest_XXXXXXXX", into buf. */
const char *sym_describe(gla_t la, char *buf, size_t len);
#endif
