/*
 * programs.c - the user programs built into the image.
 *
 * The build (guest/module.mk) links each guest/user/ program as its own static ELF32
 * executable and generates progs.S, which .incbin's them into the .progs section and emits
 * prog_table[] (name, start, end) and prog_count.  exec looks programs up here by name.
 */
#include "kernel.h"

extern const struct program prog_table[];
extern const uint32_t prog_count;

const struct program *program_get(int i)
{
	return i >= 0 && (uint32_t)i < prog_count ? &prog_table[i] : NULL;
}

const struct program *program_find(const char *name)
{
	for (uint32_t i = 0; i < prog_count; i++)
		if (!strcmp(prog_table[i].name, name))
			return &prog_table[i];
	return NULL;
}
