/*
 * cpuid.c - the CPU the guest is told it runs on.
 *
 * A coherent i686: "GenuineIntel", family 6 model 3 stepping 3, basic leaves 0-1 and
 * extended leaves 0x80000000-0x80000004 (a brand string).  Leaf 1 EDX lists only what the
 * translator and the emulator implement: FPU PSE TSC MSR CX8 APIC SEP PGE CMOV MMX FXSR SSE
 * SSE2 (the local APIC is devices/lapic.c); no VME, DE, PAE, MCE, MTRR, PAT, CLFLUSH; ECX is 0 (no SSE3 and later, and no
 * hypervisor bit).  sysregs.c refuses the CR4 bits of everything not listed here.
 * Leaf 7 (structured extended features, subleaf 0) reports only UMIP (ECX bit 2: SGDT, SIDT,
 * SLDT, SMSW and STR are #GP outside CPL 0 once CR4.UMIP is set, insn_sys.c); leaves 2-6
 * (caches, MONITOR, power) and 8-0x14 are all zero.
 * Leaf 0x15 (TSC / core crystal clock) gives the TSC's frequency when the monitor knows it
 * (emu_set_tsc_khz: the guest's TSC runs at the host's rate).  The crystal (ECX) must be
 * the local APIC timer's input, 1 GHz (devices/lapic.c): Linux sets its APIC timer period
 * from it.  EBX / EAX is the closest ratio to tsc_khz / 1 GHz with EBX * 1,000,000 inside
 * 32 bits (a kernel computes crystal_khz * EBX / EAX in 32 bits), better than 1e-6 here.
 * Linux then takes the frequency as known instead of calibrating the TSC against the PIT
 * or the PM timer, which a busy host can skew by several percent - enough for its
 * clocksource watchdog to call the TSC unstable.
 * A leaf above the maximum returns the highest basic leaf, as Intel CPUs do.
 */
#include "emu_int.h"

#define CPUID_MAX_BASIC 0x15u
#define CPUID_MAX_EXT   0x80000004u
#define CPUID_SIGNATURE 0x00000633u   /* family 6, model 3, stepping 3 */

#define F_FPU   (1u << 0)
#define F_PSE   (1u << 3)
#define F_TSC   (1u << 4)
#define F_MSR   (1u << 5)
#define F_CX8   (1u << 8)
#define F_APIC  (1u << 9)
#define F_SEP   (1u << 11)
#define F_PGE   (1u << 13)
#define F_CMOV  (1u << 15)
#define F_MMX   (1u << 23)
#define F_FXSR  (1u << 24)
#define F_SSE   (1u << 25)
#define F_SSE2  (1u << 26)
#define F7_UMIP (1u << 2)   /* leaf 7 ECX */
#define CPUID_1_EDX (F_FPU | F_PSE | F_TSC | F_MSR | F_CX8 | F_APIC | F_SEP | F_PGE | F_CMOV | \
		     F_MMX | F_FXSR | F_SSE | F_SSE2)

static const char vendor[12] = "GenuineIntel";
static const char brand[48] = "vmm386 virtual i686 CPU";

/* Four little-endian dwords from 16 bytes of a string. */
static void put_string(uint32_t out[4], const char *s)
{
	memcpy(out, s, 16);
}

#define CRYSTAL_KHZ 1000000u   /* the LAPIC timer's 1 GHz */

static uint32_t tsc_num, tsc_den;  /* leaf 0x15 EBX / EAX, 0 when unknown */

void emu_set_tsc_khz(uint32_t khz)
{
	uint64_t best_e = 1, best_d = 0;      /* the best error so far, as best_e / best_d */
	tsc_num = tsc_den = 0;
	for (uint64_t den = 1; khz && den <= 4000; den++) {
		uint64_t num = ((uint64_t)khz * den + CRYSTAL_KHZ / 2) / CRYSTAL_KHZ;
		if (num > 0xFFFFFFFFu / CRYSTAL_KHZ)
			break;
		if (!num)
			continue;
		uint64_t a = num * CRYSTAL_KHZ, b = (uint64_t)khz * den;
		uint64_t e = a > b ? a - b : b - a;     /* error * den, in kHz */
		if (!best_d || e * best_d < best_e * den) {
			best_e = e, best_d = den;
			tsc_num = (uint32_t)num, tsc_den = (uint32_t)den;
		}
	}
}

void emu_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	if (leaf > CPUID_MAX_EXT || (leaf > CPUID_MAX_BASIC && leaf < 0x80000000u))
		leaf = CPUID_MAX_BASIC;
	switch (leaf) {
	case 0:
		out[0] = CPUID_MAX_BASIC;
		memcpy(&out[1], vendor, 4);       /* EBX "Genu" */
		memcpy(&out[3], vendor + 4, 4);   /* EDX "ineI" */
		memcpy(&out[2], vendor + 8, 4);   /* ECX "ntel" */
		break;
	case 1:
		out[0] = CPUID_SIGNATURE;
		out[3] = CPUID_1_EDX;
		break;
	case 7:
		if (sub == 0)
			out[2] = F7_UMIP;
		break;
	case 0x15:
		if (tsc_num) {
			out[0] = tsc_den;
			out[1] = tsc_num;
			out[2] = CRYSTAL_KHZ * 1000u;
		}
		break;
	case 0x80000000u:
		out[0] = CPUID_MAX_EXT;
		break;
	case 0x80000002u:
	case 0x80000003u:
	case 0x80000004u:
		put_string(out, brand + (leaf - 0x80000002u) * 16);
		break;
	default:   /* 0x80000001: no extended features */
		break;
	}
}
