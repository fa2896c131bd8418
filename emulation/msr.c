/*
 * msr.c - the guest's time stamp counter and model-specific registers.
 *
 * The guest TSC is the host TSC minus vcpu->tsc_offset; writing MSR 0x10 moves the offset.
 * Implemented MSRs: TSC, the SYSENTER triple (CS/ESP/EIP, 32 bits wide as on P6), and
 * read-only values some kernels read unconditionally on family 6: IA32_PLATFORM_ID (0),
 * IA32_APIC_BASE (the local APIC's, devices/lapic.c: base, BSP, global enable) and
 * IA32_BIOS_SIGN_ID (microcode revision 0; writes, which request an update, are ignored).
 * Any other MSR is #GP(0), as on a CPU that does not have it.
 */
#include "emu_int.h"
#include "../devices/devices.h"

#define MSR_TSC             0x010u
#define MSR_PLATFORM_ID     0x017u
#define MSR_APIC_BASE       0x01Bu
#define MSR_BIOS_SIGN_ID    0x08Bu
#define MSR_SYSENTER_CS     0x174u
#define MSR_SYSENTER_ESP    0x175u
#define MSR_SYSENTER_EIP    0x176u

static uint64_t host_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

uint64_t emu_guest_tsc(struct vcpu *c)
{
	return host_tsc() - c->tsc_offset;
}

int emu_rdmsr(struct vcpu *c, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_TSC:          *val = emu_guest_tsc(c); return 0;
	case MSR_PLATFORM_ID:  *val = 0; return 0;
	case MSR_APIC_BASE:    *val = dev_lapic_base_msr(); return 0;
	case MSR_BIOS_SIGN_ID: *val = 0; return 0;
	case MSR_SYSENTER_CS:  *val = c->msr_sysenter_cs; return 0;
	case MSR_SYSENTER_ESP: *val = c->msr_sysenter_esp; return 0;
	case MSR_SYSENTER_EIP: *val = c->msr_sysenter_eip; return 0;
	default:
		if (LOG_ON(LOG_GUEST_ERRORS))
			vmm_log("rdmsr %#x: unknown MSR, #GP\n", msr);
		return emu_raise(c, EXC_GP, 0);
	}
}

int emu_wrmsr(struct vcpu *c, uint32_t msr, uint64_t val)
{
	switch (msr) {
	case MSR_TSC:          c->tsc_offset = host_tsc() - val; return 0;
	case MSR_APIC_BASE:    dev_lapic_set_base_msr(val); return 0;
	case MSR_BIOS_SIGN_ID: return 0;
	case MSR_SYSENTER_CS:  c->msr_sysenter_cs = (uint32_t)val & 0xFFFF; return 0;
	case MSR_SYSENTER_ESP: c->msr_sysenter_esp = (uint32_t)val; return 0;
	case MSR_SYSENTER_EIP: c->msr_sysenter_eip = (uint32_t)val; return 0;
	default:
		if (LOG_ON(LOG_GUEST_ERRORS))
			vmm_log("wrmsr %#x <- %#llx: unknown or read-only MSR, #GP\n", msr,
				(unsigned long long)val);
		return emu_raise(c, EXC_GP, 0);
	}
}
