/*
 * counters.c - monitor exits by kind, and the counters port: per-benchmark deltas of the
 * monitor's counters, asked for by the guest (`make bench`, issue 13 item 5).
 *
 * Exit kinds.  exit_kind_of() names why translated code came back to the run loop, one
 * step finer than enum exit_reason (a monitor call is split by why the monitor runs the
 * instruction).  run.c counts every exit by kind in run_stats.by_kind (next to
 * run_stats.exits, so the kinds add up to "monitor exits" of -d stats) and the per-site
 * profile (profile.c) files its sites under the same names.
 *
 * The counters port (only with -d stats; otherwise no device answers there): three byte
 * ports at COUNTERS_PORT, used by the bundled kernel's SYS_COUNTERS around each benchmark
 * (guest/kernel/syscall.c, guest/user/nbench.c and mbench.c):
 *   IN  base+0, base+1   'V', 'C' (the probe: on QEMU or without -d stats they read 0xFF)
 *   OUT base+0  1        BEGIN: snapshot every counter
 *   OUT base+0  2        END: snapshot again; the delta is what the benchmark cost
 *   OUT base+1  ch       one character of the benchmark's name (up to 31 are kept)
 *   OUT base+2  b        shift one byte into the operation count (most significant first)
 *   OUT base+0  3        REPORT: write the line below to the -d stats log, clear name/count
 * The name and the count are sent after END, so their own exits are not in the delta;
 * BEGIN's and END's exits are (two of them; PV: two hypercalls), which is noise next to
 * the thousands of operations a benchmark makes.  The line:
 *   counters NAME OPS exits=N signals=N maps=N resyncs=N resync_entries=N fills=N
 *            traced=N pf_injected=N pio=N hypercalls=N interrupts=N exit.KIND=N ...
 * raw deltas (bench/run.sh divides them by OPS): host signals taken in translated code,
 * host mapping calls of the shadow MMU (mmap/munmap/mprotect), out-of-sync tables
 * resynced (and entries they changed), shadow fills, traced page-table stores (by signal
 * and by monitor call), guest page faults injected by fills, port accesses, PV
 * hypercalls, interrupts delivered, blocks translated and the microseconds the translator
 * took for them, and the exits of every kind that occurred.
 * Decisions: a port rather than a hypercall so that the same kernel code serves BT, PV
 * (through its port hypercall) and QEMU (where the probe fails and nothing is sent);
 * byte-wide because the PV port hypercall carries bytes and words only; the port sits
 * where neither QEMU's pc machine nor vmm386 has a device.
 */
#include <string.h>
#include "vmm.h"
#include "mon_int.h"
#include "run.h"
#include "../translator/xl.h"
#include "../devices/devices.h"
#include "../shadow-mmu/smmu.h"
#include "../pv/pv.h"

const char *const exit_kind_name[EK_NR] = {
	"block-exit", "exit-request", "monitor-call", "mmio", "adaptive-call",
	"sreg-cache-miss", "ring-cache-miss", "exception", "guest-pf", "fetch-pf", "smc-store",
	"pt-write", "halt-or-stop",
};

unsigned exit_kind_of(const struct vcpu *c, unsigned reason)
{
	uint32_t info = c->exit_info;
	switch (reason) {
	case EXIT_LOOKUP: return EK_BLOCK_EXIT;
	case EXIT_REQUEST: return EK_REQUEST;
	case EXIT_EXCEPTION: return EK_EXCEPTION;
	case EXIT_PF: return EK_PF;
	case EXIT_FETCH_PF: return EK_FETCH_PF;
	case EXIT_SMC: return EK_SMC;
	case EXIT_PTWRITE: return EK_PTWRITE;
	case EXIT_EMULATE:
		if (info >= XL_INFO_RING) return EK_RING_MISS;
		if (info >= XL_INFO_SREG) return EK_SREG_MISS;
		if (info == EMULATE_MMIO) return EK_MMIO;
		if (info == EMULATE_ADAPTIVE) return EK_ADAPTIVE;
		return EK_CALL;
	default: return EK_HALT;
	}
}

/* ---- the counters port ---------------------------------------------------------------- */

enum { CT_EXITS, CT_SIGNALS, CT_MAPS, CT_RESYNCS, CT_RESYNC_ENTRIES, CT_FILLS, CT_TRACED,
       CT_PF_INJECTED, CT_PIO, CT_HYPERCALLS, CT_INTERRUPTS, CT_MAP_MAP, CT_MAP_UNMAP, CT_MAP_PROTECT,
       CT_PREFAULTS, CT_UPGRADES, CT_BLOCKS, CT_XL_US, CT_KIND0, CT_NR = CT_KIND0 + EK_NR };
static const char *const ct_name[CT_KIND0] = {
	"exits", "signals", "maps", "resyncs", "resync_entries", "fills", "traced",
	"pf_injected", "pio", "hypercalls", "interrupts", "maps.map", "maps.unmap", "maps.protect",
	"prefaults", "dirty_upgrades", "blocks", "xl_us",
};

static struct {
	uint64_t begin[CT_NR], delta[CT_NR];
	char name[32];
	unsigned nlen;
	uint32_t ops;
} ct;

static void snapshot(uint64_t *v)
{
	const struct smmu_stats *m = &smmu_stats;
	v[CT_EXITS] = run_stats.exits;
	v[CT_SIGNALS] = run_stats.signals;
	v[CT_MAPS] = m->map_calls;
	v[CT_RESYNCS] = m->resyncs;
	v[CT_RESYNC_ENTRIES] = m->resync_entries;
	v[CT_FILLS] = m->fills;
	v[CT_TRACED] = m->traced_writes + m->traced_monitor_writes;
	v[CT_PF_INJECTED] = m->pf_injected;
	v[CT_PIO] = dev_pio_count;
	v[CT_HYPERCALLS] = pv_hypercall_count();
	v[CT_INTERRUPTS] = run_stats.interrupts;
	v[CT_MAP_MAP] = m->map_maps;
	v[CT_MAP_UNMAP] = m->map_unmaps;
	v[CT_MAP_PROTECT] = m->map_protects;
	v[CT_PREFAULTS] = m->prefaults;
	v[CT_UPGRADES] = m->dirty_upgrades;
	v[CT_BLOCKS] = cc_stats.blocks;
	v[CT_XL_US] = cc_stats.xl_ns / 1000;
	for (unsigned k = 0; k < EK_NR; k++)
		v[CT_KIND0 + k] = run_stats.by_kind[k];
}

static void report(void)
{
	vmm_log("counters %s %u", ct.nlen ? ct.name : "-", ct.ops);
	for (unsigned i = 0; i < CT_KIND0; i++)
		vmm_log(" %s=%llu", ct_name[i], (unsigned long long)ct.delta[i]);
	for (unsigned k = 0; k < EK_NR; k++)
		if (ct.delta[CT_KIND0 + k])
			vmm_log(" exit.%s=%llu", exit_kind_name[k],
				(unsigned long long)ct.delta[CT_KIND0 + k]);
	vmm_log("\n");
	ct.nlen = 0;
	ct.name[0] = 0;
	ct.ops = 0;
}

static uint32_t ct_read(void *opaque, uint16_t off, int size)
{
	(void)opaque;
	if (size != 1)
		return size == 2 ? 0xFFFF : 0xFFFFFFFFu;
	return off == 0 ? 'V' : off == 1 ? 'C' : 0xFF;
}

static void ct_write(void *opaque, uint16_t off, int size, uint32_t val)
{
	uint64_t now[CT_NR];
	(void)opaque;
	if (size != 1)
		return;
	val &= 0xFF;
	if (off == 1) {
		if (ct.nlen < sizeof(ct.name) - 1 && val > ' ' && val < 0x7F) {
			ct.name[ct.nlen++] = (char)val;
			ct.name[ct.nlen] = 0;
		}
		return;
	}
	if (off == 2) {
		ct.ops = ct.ops << 8 | val;
		return;
	}
	switch (val) {
	case 1:
		snapshot(ct.begin);
		break;
	case 2:
		snapshot(now);
		for (unsigned i = 0; i < CT_NR; i++)
			ct.delta[i] = now[i] - ct.begin[i];
		break;
	case 3:
		report();
		break;
	}
}

int counters_init(void)
{
	memset(&ct, 0, sizeof(ct));
	return dev_pio_register(COUNTERS_PORT, 3, ct_read, ct_write, NULL);
}
