/*
 * pv.c - the monitor side of the paravirtual interface.  Not written yet (issue 5): no
 * image declares itself PV, so every hook is inert.
 */
#include "pv.h"

bool pv_enabled(void) { return false; }

int pv_init(struct vm *vm, const struct ld_boot *boot, char *err, size_t errlen)
{
	(void)vm; (void)boot; (void)err; (void)errlen;
	return 0;
}

uint64_t pv_poll(uint64_t now)
{
	(void)now;
	return UINT64_MAX;
}

int pv_take_event(struct vcpu *c)
{
	(void)c;
	return 0;
}
