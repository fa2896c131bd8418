/* perfmap.h - /tmp/perf-PID.map for perf (-perfmap, -d perfmap). */
#ifndef PERFMAP_H
#define PERFMAP_H
#include "../codecache/cc.h"

/* Open /tmp/perf-PID.map (truncated); -1 with errno when it cannot be written. */
int perfmap_open(void);
/* One line for a block just translated into the cache (never a single-step block). */
void perfmap_block(const struct cc_block *b);
#endif
