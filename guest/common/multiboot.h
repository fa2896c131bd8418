/*
 * multiboot.h - the part of the multiboot v1 information the guest kernels read, and the
 * command line (guest/common/multiboot.c; the multiboot header is in entry.S).
 * kmain(magic, mbi) gets EAX and EBX as the loader left them; the mbi address and the
 * addresses in it are physical.
 */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H
#include <stdint.h>
#include <stddef.h>

#define MB_BOOT_MAGIC 0x2BADB002   /* EAX from a multiboot loader */
#define MBI_MEM       (1u << 0)    /* mem_lower, mem_upper valid */
#define MBI_CMDLINE   (1u << 2)    /* cmdline valid */

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	/* ... the rest is not used */
};

/* Copy the command line (at most size - 1 bytes; dst is always terminated, size > 0). */
void mb_copy_cmdline(char *dst, size_t size, const char *src);
/* Split s in place at spaces and tabs into at most max words; returns how many. */
int split_words(char *s, char **words, int max);

#endif
