/*
 * perfmap.c - tell perf what the translated code is: /tmp/perf-PID.map (-perfmap, -d perfmap).
 *
 * perf reads this file for a process with anonymous executable memory (a JIT): one line
 * per code range, "START SIZE name" with START and SIZE in hex, no 0x.  A line is appended
 * for each block when it is translated into the cache, named after the guest function it
 * starts in ("name+0xOFF", symbols.c) or "guest_EIP" (linear address) without a symbol.
 * Blocks that are invalidated and translated again, or made again after a cache flush,
 * get a new line; perf takes the latest line for an address it samples, which is the block
 * that was there last, so samples in a flushed-and-reused arena may be named after a later
 * block - exact enough for where time goes.  Single-step blocks (scratch area) get no line.
 *
 * The file is written through a stdio buffer, flushed every PERFMAP_FLUSH_NS of
 * translation activity and at exit, so `perf top -p PID` sees blocks shortly after they are
 * made.  Called on the vCPU thread only (run.c's find_block).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "perfmap.h"
#include "symbols.h"
#include "mon_int.h"

#define PERFMAP_FLUSH_NS 100000000ull

static FILE *map;
static uint64_t last_flush;

int perfmap_open(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	map = fopen(path, "w");
	return map ? 0 : -1;
}

void perfmap_block(const struct cc_block *b)
{
	char name[160];
	if (!map)
		return;
	fprintf(map, "%lx %x %s\n", (unsigned long)(uintptr_t)b->host, b->host_len,
		sym_describe(b->cs_base + b->eip, name, sizeof(name)));
	uint64_t now = host_now_ns();
	if (now - last_flush >= PERFMAP_FLUSH_NS) {
		fflush(map);
		last_flush = now;
	}
}
