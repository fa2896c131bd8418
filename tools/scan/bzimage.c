/*
 * bzimage.c - vmm386-scan's way into a Linux bzImage: the setup header gives where the
 * compressed kernel lies (payload_offset and payload_length, protocol 2.08+, counted from
 * the protected-mode code after the setup sectors); an xz payload (Debian's kernels) is
 * decompressed with liblzma, which applies the x86 BCJ filter the stream declares.  What
 * comes out is the kernel's vmlinux: an ELF32 image, followed by its relocation table, that
 * the scanner then reads like any other ELF file.  Other compressors are refused with a
 * clear message (the scanner exits 2).
 */
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scan.h"

#define HDR_SETUP_SECTS 0x1F1
#define HDR_VERSION     0x206
#define HDR_PAYLOAD_OFF 0x248
#define HDR_PAYLOAD_LEN 0x24C
#define UNPACK_MAX      (512u << 20)

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static uint8_t *unxz(const uint8_t *in, size_t in_len, size_t *out_len, char *err, size_t errlen)
{
	lzma_stream z = LZMA_STREAM_INIT;
	size_t cap = in_len * 4;
	uint8_t *out = malloc(cap);
	if (!out || lzma_stream_decoder(&z, UINT64_MAX, 0) != LZMA_OK) {
		snprintf(err, errlen, "cannot start the xz decoder");
		free(out);
		return NULL;
	}
	z.next_in = in;
	z.avail_in = in_len;
	lzma_ret r = LZMA_OK;
	while (r == LZMA_OK) {
		if (z.total_out == cap) {
			uint8_t *bigger = cap < UNPACK_MAX ? realloc(out, cap * 2) : NULL;
			if (!bigger) { r = LZMA_MEM_ERROR; break; }
			out = bigger;
			cap *= 2;
		}
		z.next_out = out + z.total_out;
		z.avail_out = cap - z.total_out;
		r = lzma_code(&z, LZMA_FINISH);
	}
	*out_len = z.total_out;
	lzma_end(&z);
	if (r != LZMA_STREAM_END) {
		snprintf(err, errlen, "the xz payload does not decompress (liblzma error %d)", (int)r);
		free(out);
		return NULL;
	}
	return out;
}

uint8_t *scan_unpack_bzimage(const uint8_t *f, size_t len, size_t *out_len, char *err, size_t errlen)
{
	if (len < HDR_PAYLOAD_LEN + 4) {
		snprintf(err, errlen, "truncated bzImage: %zu bytes, no payload fields", len);
		return NULL;
	}
	unsigned version = f[HDR_VERSION] | f[HDR_VERSION + 1] << 8;
	if (version < 0x0208) {
		snprintf(err, errlen, "boot protocol %u.%02u has no payload fields (2.08+ needed)",
			 version >> 8, version & 0xFF);
		return NULL;
	}
	unsigned sects = f[HDR_SETUP_SECTS] ? f[HDR_SETUP_SECTS] : 4;
	uint64_t pm = (uint64_t)(sects + 1) * 512;
	uint64_t off = pm + le32(f + HDR_PAYLOAD_OFF), plen = le32(f + HDR_PAYLOAD_LEN);
	if (plen < 6 || off + plen > len) {
		snprintf(err, errlen, "truncated bzImage: payload at %llu+%llu, file %zu bytes",
			 (unsigned long long)off, (unsigned long long)plen, len);
		return NULL;
	}
	static const uint8_t xz_magic[6] = { 0xFD, '7', 'z', 'X', 'Z', 0x00 };
	if (memcmp(f + off, xz_magic, 6)) {
		snprintf(err, errlen, "the kernel payload is not xz-compressed (only xz is supported)");
		return NULL;
	}
	return unxz(f + off, plen, out_len, err, errlen);
}
