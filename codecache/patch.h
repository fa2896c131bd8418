/*
 * patch.h - retargeting a rel32 jump in generated code.
 *
 * The one piece of instruction encoding that both the translator (aiming the jumps it
 * emits) and the code cache (linking an exit to a block, unlinking it back to its stub)
 * need.  The translator includes it from here; the code cache includes no translator
 * header.  rel points at the 4-byte displacement field; the jump's next instruction
 * follows it directly (E9 rel32, 0F 8x rel32).
 */
#ifndef CC_PATCH_H
#define CC_PATCH_H

#include <stdint.h>
#include <string.h>

static inline void patch_rel32(uint8_t *rel, const void *target)
{
	int32_t v = (int32_t)((const uint8_t *)target - (rel + 4));
	memcpy(rel, &v, 4);
}

#endif
