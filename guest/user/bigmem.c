/*
 * bigmem MB - sbrk MB MiB, write a pattern into every other 4 KiB page (stride 8 KiB), then
 * verify them all.  256 MiB gives 32768 scattered pages: more separate host mappings than
 * the monitor's budget allows, so it must evict and keep going.
 */
#include "ulib.h"

int main(int argc, char **argv)
{
	uint32_t mb = argc > 1 ? (uint32_t)atoi(argv[1]) : 64;
	uint32_t bytes = mb << 20;
	uint8_t *base = sbrk((int32_t)bytes);
	if (base == (void *)-1) {
		printf("bigmem: sbrk(%u MiB) failed\n", mb);
		return 1;
	}
	uint32_t pages = 0;
	for (uint32_t off = 0; off < bytes; off += 8192, pages++) {
		uint32_t *w = (uint32_t *)(base + off);
		w[0] = off * 2654435761u ^ 0x5A5A5A5A;
		w[1023] = ~off;
	}
	for (uint32_t off = 0; off < bytes; off += 8192) {
		uint32_t *w = (uint32_t *)(base + off);
		if (w[0] != (off * 2654435761u ^ 0x5A5A5A5A) || w[1023] != ~off || w[1] != 0) {
			printf("bigmem: mismatch at offset 0x%x\n", off);
			return 1;
		}
	}
	printf("bigmem ok %u pages\n", pages);
	return 0;
}
