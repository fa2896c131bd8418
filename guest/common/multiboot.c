/*
 * multiboot.c - the kernel command line from the multiboot information (multiboot.h).
 * Built once per image; the caller maps the loader's physical address to a pointer.
 */
#include <stddef.h>
#include "multiboot.h"

void mb_copy_cmdline(char *dst, size_t size, const char *src)
{
	size_t i;
	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

int split_words(char *s, char **words, int max)
{
	int n = 0;
	while (*s && n < max) {
		while (*s == ' ' || *s == '\t')
			*s++ = 0;
		if (!*s)
			break;
		words[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	return n;
}
