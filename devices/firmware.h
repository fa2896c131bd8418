/*
 * firmware.h - what the firmware tables a BIOS leaves in RAM (ACPI in acpi.c, the MP
 * tables in mptable.c) are written with: little-endian stores into a table being built,
 * and the byte checksum both specifications use (the bytes of a table sum to 0).
 * Only devices/ includes it.
 */
#ifndef FIRMWARE_H
#define FIRMWARE_H

#include <stdint.h>
#include <string.h>

static inline void fw_put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void fw_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* The byte that makes p[0..n) sum to 0 mod 256 when it is stored in a zeroed field. */
static inline uint8_t fw_checksum(const uint8_t *p, unsigned n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)-s;
}

#endif
