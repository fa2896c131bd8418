/*
 * pv_guest.c - the PV build's own state (pvops_pv.h): the page shared with the monitor,
 * the GDT operand remembered for PV_HC_SET_GDT, and the mmu_update failure path.
 */
#include "kernel.h"

#ifdef PV_GUEST
volatile struct pv_shared_info pv_shared __attribute__((aligned(4096)));
struct pv_dtr pv_gdt_loaded;

void pv_mmu_failed(uint32_t ptr, uint32_t val, int32_t err)
{
	panic("mmu_update of entry 0x%08x to 0x%08x refused (%d)", ptr, val, err);
}

/* Register the shared page: events (vif starts at 0) can be delivered from now on. */
void pv_guest_init(void)
{
	pv_shared.vif = 0;
	pv_hypercall3(PV_HC_SET_SHARED, V2P((uint32_t)&pv_shared), 0, 0);
}
#else
typedef int pv_guest_unused;   /* the native build has nothing here */
#endif
