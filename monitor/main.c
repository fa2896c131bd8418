/*
 * main.c - vmm386's command line, in QEMU's spelling, and machine assembly.
 *
 *   vmm386 -kernel FILE [-append STR] [-initrd FILE[,FILE...]] [-m MiB] [-d LIST] [-D FILE]
 *          [-drive file=F,format=raw,index=N[,media=disk][,if=ide]] [-hda F] [-hdb F]
 *          [-snapshot] [-smp 1] [-s | -gdb tcp::PORT] [-S] [-device NAME[,PROPS]]
 *
 * Bad input from the user (unknown option, missing argument, unreadable or malformed
 * kernel, -m out of range, a -device vmm386 does not have) gets one line on stderr and exit
 * status 2.  A few QEMU options that only describe what vmm386 always does (-nographic,
 * -device isa-debug-exit at 0xf4, -display none, -monitor none) are accepted and ignored, so
 * the same command line works for both; -device pc-testdev and pci-testdev add QEMU's test
 * devices, as the kvm-unit-tests expect.  -serial chooses COM1's host side (console.c; with a
 * terminal on stdin: raw mode and the Ctrl-A keys).  -no-reboot is QEMU's too: a guest
 * reset then ends the run with status 0 instead of restarting the machine.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "vmm.h"
#include "memory.h"
#include "mon_int.h"
#include "param.h"
#include "run.h"
#include "console.h"
#include "perfmap.h"
#include "symbols.h"
#include "profile.h"
#include "../codecache/cc.h"
#include "../shadow-mmu/smmu.h"
#include "../pv/pv.h"
#include "../devices/devices.h"
#include "../emulation/emu.h"
#include "../loader/loader.h"
#include "../translator/xl.h"
#include "../gdbstub/gdb.h"

struct options {
	const char *kernel, *append, *initrd, *logfile, *profile, *symbols;
	uint32_t ram_mib;
	bool no_reboot;
	const char *disk[IDE_DRIVES];   /* image per IDE drive index */
	bool snapshot;
	struct con_spec serial;        /* -serial (default stdio) */
	const char *gdb;                /* -s / -gdb: where the gdb stub listens */
	bool gdb_wait;                  /* -S */
	bool pc_testdev, pci_testdev;   /* -device pc-testdev, -device pci-testdev */
};

static const struct { const char *name; unsigned bit; const char *help; } log_items[] = {
	{"in_asm", LOG_IN_ASM, "show guest code of each new block"},
	{"out_asm", LOG_OUT_ASM, "show host code of each new block"},
	{"int", LOG_INT, "show exceptions and interrupts"},
	{"exec", LOG_EXEC, "show each block entry (disables chaining)"},
	{"cpu", LOG_CPU, "show registers before each block (disables chaining)"},
	{"ioport", LOG_IOPORT, "show port I/O"},
	{"guest_errors", LOG_GUEST_ERRORS, "show guest errors"},
	{"stats", LOG_STATS, "print monitor statistics at exit"},
	{"perfmap", LOG_PERFMAP, "write /tmp/perf-PID.map for perf (as -perfmap)"},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmm386 -kernel FILE [-append STR] [-initrd FILE[,FILE...]] [-m MiB]\n"
		"              [-d ITEM[,ITEM...]] [-D LOGFILE] [-h]\n"
		"Runs a 32-bit kernel by runtime binary translation; COM1 is on stdio.\n"
		"  -kernel FILE   Linux bzImage, or multiboot v1 ELF32 kernel\n"
		"  -append STR    kernel command line\n"
		"  -initrd FILES  Linux: the initramfs; multiboot: modules, comma-separated,\n"
		"                 each 'path [args]'\n"
		"  -m MiB         guest RAM, %d..%d (suffix M or G allowed), default %d\n"
		"  -d LIST        debug log items (-d help lists them)\n"
		"  -D FILE        write the debug log to FILE instead of stderr\n"
		"  -no-reboot     a guest reset ends the run (status 0) instead of restarting\n"
		"  -drive file=F,format=raw,index=N[,media=disk][,if=ide]\n"
		"                 raw IDE disk image as drive N (0-3); -hda F, -hdb F: N = 0, 1\n"
		"  -snapshot      keep the guest's disk writes in memory, files untouched\n"
		"  -serial DEV    COM1: stdio (default), null, file:PATH,\n"
		"                 tcp:[HOST]:PORT,server[,nowait]\n"
		"  -nographic, -display none   accepted (vmm386 has no display)\n"
		"  -device NAME   pc-testdev, pci-testdev (QEMU's test devices),\n"
		"                 isa-debug-exit[,iobase=0xf4,iosize=0x4] (always present)\n"
		"  -perfmap       write /tmp/perf-PID.map (translated blocks named by guest\n"
		"                 function from the kernel ELF's .symtab) for perf report/top\n"
		"  -profile FILE  per guest instruction: exits, fills, their host time; written\n"
		"                 at exit to FILE (sorted table) and FILE.csv\n"
		"  -symbols FILE  guest symbols for -perfmap/-profile from an ELF or a System.map\n"
		"                 (default: the kernel's own .symtab; a bzImage has none)\n"
		"  -smp 1         one CPU (the only count vmm386 offers)\n"
		"  -gdb tcp::PORT gdb stub on PORT (tcp:ADDR:PORT: on ADDR); -s: -gdb tcp::1234\n"
		"  -S             wait for gdb before the first guest instruction\n"
		"Exit status: the guest's isa-debug-exit value v (port 0xf4) gives (v<<1)|1;\n"
		"  0 guest reset/off, 2 bad usage or input, 3 guest halted forever, 4 guest died.\n",
		RAM_MIN_MIB, RAM_MAX_MIB, RAM_DEFAULT_MIB);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vmm386: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(EXIT_STATUS_USAGE);
}

static uint32_t parse_mib(const char *s)
{
	char *end;
	if (strncmp(s, "size=", 5) == 0)
		s += 5;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		fail("-m: invalid size '%s'", s);
	if (*end == 'G' || *end == 'g') { v *= 1024; end++; }
	else if (*end == 'M' || *end == 'm') end++;
	if (*end || v < RAM_MIN_MIB || v > RAM_MAX_MIB)
		fail("-m: '%s' out of range (%d..%d MiB)", s, RAM_MIN_MIB, RAM_MAX_MIB);
	return (uint32_t)v;
}

static unsigned parse_log(const char *list)
{
	unsigned mask = 0;
	char *dup = strdup(list), *save = NULL;
	if (!dup)
		fail("out of memory");
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "help") == 0) {
			for (unsigned i = 0; i < sizeof(log_items) / sizeof(log_items[0]); i++)
				printf("%-13s %s\n", log_items[i].name, log_items[i].help);
			exit(0);
		}
		unsigned i;
		for (i = 0; i < sizeof(log_items) / sizeof(log_items[0]); i++)
			if (strcmp(t, log_items[i].name) == 0)
				break;
		if (i == sizeof(log_items) / sizeof(log_items[0]))
			fail("-d: unknown log item '%s' (try -d help)", t);
		mask |= log_items[i].bit;
	}
	free(dup);
	return mask;
}

static bool ignored_option(const char *o, const char *arg)
{
	static const char *flags[] = {"-nographic", "-no-shutdown"};
	for (unsigned i = 0; i < 2; i++)
		if (strcmp(o, flags[i]) == 0)
			return true;
	if (!arg)
		return false;
	return (strcmp(o, "-display") == 0 && strcmp(arg, "none") == 0) ||
	       (strcmp(o, "-monitor") == 0 && strcmp(arg, "none") == 0);
}

/* -device NAME[,prop=value...]: the QEMU test devices.  isa-debug-exit is always present at
 * 0xF4, so only that placement is accepted; the two test devices take no properties. */
static void parse_device(const char *spec, struct options *o)
{
	size_t n = strcspn(spec, ",");
	const char *props = spec[n] ? spec + n + 1 : "";

	if (n == 14 && !strncmp(spec, "isa-debug-exit", n)) {
		char *dup = strdup(props), *save = NULL;
		if (!dup)
			fail("out of memory");
		for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (strcmp(t, "iobase=0xf4") && strcmp(t, "iosize=0x4") &&
			    strcmp(t, "iosize=0x1") && strcmp(t, "iosize=1"))
				fail("-device isa-debug-exit: '%s' not offered (vmm386's is at "
				     "iobase=0xf4)", t);
		free(dup);
		return;
	}
	if (*props)
		fail("-device: '%s' takes no properties", spec);
	if (!strcmp(spec, "pc-testdev"))
		o->pc_testdev = true;
	else if (!strcmp(spec, "pci-testdev"))
		o->pci_testdev = true;
	else
		fail("-device: unknown device '%s' (vmm386 offers isa-debug-exit, pc-testdev, "
		     "pci-testdev)", spec);
}

/* -drive file=F,format=raw,index=N[,media=disk][,if=ide]: keys in any order. */
static void parse_drive(const char *spec, struct options *o)
{
	char *dup = strdup(spec), *save = NULL, *file = NULL;
	long index = -1;
	if (!dup)
		fail("out of memory");
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		if (!strncmp(t, "file=", 5)) file = t + 5;
		else if (!strncmp(t, "index=", 6)) {
			index = strtol(t + 6, &end, 10);
			if (*end || end == t + 6 || index < 0 || index >= IDE_DRIVES)
				fail("-drive: index must be 0-%d in '%s'", IDE_DRIVES - 1, spec);
		} else if (strcmp(t, "format=raw") && strcmp(t, "media=disk") && strcmp(t, "if=ide"))
			fail("-drive: unsupported '%s' (raw IDE disks only: file=,format=raw,index=,"
			     "media=disk,if=ide)", t);
	}
	if (!file || !*file)
		fail("-drive: no file= in '%s'", spec);
	if (index < 0)
		for (index = 0; index < IDE_DRIVES && o->disk[index]; index++) {}
	if (index >= IDE_DRIVES || o->disk[index])
		fail("-drive: drive index %ld already in use", index);
	o->disk[index] = file;          /* dup is kept: the name lives as long as the options */
}

static void parse_serial(const char *v, struct options *o)
{
	char err[256];
	if (con_parse(v, &o->serial, err, sizeof(err)) < 0)
		fail("%s", err);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	unsigned log = 0;
	o->ram_mib = RAM_DEFAULT_MIB;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-' && a[2]) a++;   /* --kernel works too */
		if (!strcmp(a, "-h") || !strcmp(a, "-help")) { usage(stdout); exit(0); }
		if (ignored_option(a, NULL)) continue;
		if (!strcmp(a, "-stats")) { log |= LOG_STATS; continue; }
		if (!strcmp(a, "-perfmap")) { log |= LOG_PERFMAP; continue; }
		if (!strcmp(a, "-no-reboot")) { o->no_reboot = true; continue; }
		if (!strcmp(a, "-snapshot")) { o->snapshot = true; continue; }
		if (!strcmp(a, "-s")) { o->gdb = "tcp::1234"; continue; }
		if (!strcmp(a, "-S")) { o->gdb_wait = true; continue; }
		if (a[0] != '-') fail("unexpected argument '%s' (see -h)", a);
		if (i + 1 >= argc) fail("option '%s' needs an argument", a);
		const char *v = argv[++i];
		if (ignored_option(a, v)) continue;
		if (!strcmp(a, "-kernel")) o->kernel = v;
		else if (!strcmp(a, "-append")) o->append = v;
		else if (!strcmp(a, "-initrd")) o->initrd = v;
		else if (!strcmp(a, "-m")) o->ram_mib = parse_mib(v);
		else if (!strcmp(a, "-d")) log |= parse_log(v);
		else if (!strcmp(a, "-D")) o->logfile = v;
		else if (!strcmp(a, "-serial")) parse_serial(v, o);
		else if (!strcmp(a, "-profile")) o->profile = v;
		else if (!strcmp(a, "-symbols")) o->symbols = v;
		else if (!strcmp(a, "-drive")) parse_drive(v, o);
		else if (!strcmp(a, "-device")) parse_device(v, o);
		else if (!strcmp(a, "-gdb")) o->gdb = v;
		else if (!strcmp(a, "-hda") || !strcmp(a, "-hdb")) {
			if (o->disk[a[3] - 'a'])
				fail("%s: drive index %d already in use", a, a[3] - 'a');
			o->disk[a[3] - 'a'] = v;
		} else if (!strcmp(a, "-smp")) {
			if (strcmp(v, "1") && strcmp(v, "cpus=1"))
				fail("-smp: vmm386 has one CPU; '%s' is not offered", v);
		}
		else fail("unknown option '%s' (see -h)", a);
	}
	if (!o->kernel)
		fail("no kernel given: use -kernel FILE (see -h)");
	if (o->gdb_wait && !o->gdb)
		fail("-S waits for gdb: give -s or -gdb tcp::PORT too");
	vmm_log_mask = log;
}

static void print_stats(void)
{
	vmm_log("vmm386 statistics\n"
		"  blocks translated      %llu (%llu guest instructions, %llu us)\n"
		"  ident / lowered        %llu / %llu (register borrows %llu)\n"
		"  direct / indirect exits %llu / %llu emitted (%llu probe the lookup table), %llu chained\n"
		"  inline segment loads   %llu sites, %llu cache fills\n"
		"  inline INT/IRET        %llu sites, %llu cache fills (SYSENTER/SYSEXIT included)\n"
		"  inline VERR/VERW       %llu sites, %llu cache fills; inline RDTSC %llu sites; INVLPG calls %llu sites, %llu calls; CPUID calls %llu sites\n"
		"  monitor exits          %llu (emulated %llu, exceptions %llu, interrupts %llu)\n"
		"  host signals           %llu (self-modifying stores %llu, device memory %llu)\n"
		"  code invalidations     %llu (%llu pages kept dormant, %llu revived with %llu blocks), cache flushes %llu, halts %llu\n",
		(unsigned long long)cc_stats.blocks, (unsigned long long)cc_stats.insns,
		(unsigned long long)(cc_stats.xl_ns / 1000),
		(unsigned long long)xl_stats.ident, (unsigned long long)xl_stats.lowered,
		(unsigned long long)xl_stats.spills,
		(unsigned long long)xl_stats.direct_exits, (unsigned long long)xl_stats.indirect_exits,
		(unsigned long long)xl_stats.direct_probes,
		(unsigned long long)cc_stats.chained,
		(unsigned long long)xl_stats.sreg_sites, (unsigned long long)xl_stats.sreg_fills,
		(unsigned long long)xl_stats.ring_sites, (unsigned long long)xl_stats.ring_fills,
		(unsigned long long)xl_stats.verify_sites, (unsigned long long)xl_stats.verify_fills,
		(unsigned long long)xl_stats.tsc_sites,
		(unsigned long long)xl_stats.invlpg_sites, (unsigned long long)vmm_invlpg_calls,
		(unsigned long long)xl_stats.cpuid_sites,
		(unsigned long long)run_stats.exits, (unsigned long long)run_stats.emulated,
		(unsigned long long)run_stats.exceptions, (unsigned long long)run_stats.interrupts,
		(unsigned long long)run_stats.signals, (unsigned long long)run_stats.smc_faults,
		(unsigned long long)run_stats.mmio_exits, (unsigned long long)cc_stats.invalidations,
		(unsigned long long)cc_stats.dormant_pages, (unsigned long long)cc_stats.revived_pages,
		(unsigned long long)cc_stats.revived_blocks,
		(unsigned long long)cc_stats.flushes, (unsigned long long)run_stats.halts);
	vmm_log("  exceptions, no exit   %llu from user mode delivered in the signal handler, %llu inline sites\n"
		"  port reads, no exit   %llu IN at CPL 0 called from %llu sites\n",
		(unsigned long long)run_stats.handler_exceptions, (unsigned long long)xl_stats.exc_sites,
		(unsigned long long)xl_pio_calls, (unsigned long long)xl_stats.pio_sites);
	const struct smmu_stats *m = &smmu_stats;
	vmm_log("  shadow fills           %llu (prefetched pages %llu, 4 MiB pages %llu, prefaults at IRET %llu, dirty upgrades %llu)\n"
		"  guest page faults      %llu injected by fills, device-memory fills %llu\n"
		"  page-table tracing     %llu traced writes (signals), %llu by monitor calls, %llu entries invalidated, %llu frames unshadowed\n"
		"  out-of-sync tables     %llu made writable, %llu resyncs (%llu entries changed), %llu traced again; changed entries kept %llu pages, %llu made read-only, %llu remapped\n"
		"  adaptive translation   %llu instructions made monitor calls, %llu reverted, %llu call sites translated\n"
		"  device memory inline   %llu load sites (mirrors), %llu store sites (%llu stores), %llu translations learnt\n"
		"  code-page protections  %llu\n"
		"  windows                %llu switches, %llu hits, %llu created, %llu evicted, %llu retired, %llu reused (%llu regions kept, %llu moved to a new table); %llu directory entries found changed\n"
		"  host mappings          %llu calls (%llu map, %llu unmap, %llu protect; %llu pages joined a run; %llu 4 MiB holes deferred); budget %llu: %llu recounts, %llu windows emptied; lookup tables: %llu clears, %llu drops (%llu with nothing to scan)\n",
		(unsigned long long)m->fills, (unsigned long long)m->prefetched,
		(unsigned long long)m->large_fills, (unsigned long long)m->prefaults,
		(unsigned long long)m->dirty_upgrades, (unsigned long long)m->pf_injected, (unsigned long long)m->mmio,
		(unsigned long long)m->traced_writes, (unsigned long long)m->traced_monitor_writes,
		(unsigned long long)m->trace_invalidations, (unsigned long long)m->unshadowed,
		(unsigned long long)m->unsyncs, (unsigned long long)m->resyncs,
		(unsigned long long)m->resync_entries, (unsigned long long)m->resync_protects,
		(unsigned long long)m->pages_kept, (unsigned long long)m->pages_lowered,
		(unsigned long long)m->pages_remapped,
		(unsigned long long)adapt_stats.on, (unsigned long long)adapt_stats.reverts,
		(unsigned long long)xl_stats.adaptive, (unsigned long long)xl_stats.mmio_fast_sites,
		(unsigned long long)xl_stats.mmio_store_sites, (unsigned long long)adapt_stats.mmio_stores,
		(unsigned long long)adapt_stats.mmio_learnt, (unsigned long long)m->code_protects,
		(unsigned long long)m->window_switches, (unsigned long long)m->window_hits,
		(unsigned long long)m->window_creates, (unsigned long long)m->window_evictions,
		(unsigned long long)m->window_retires, (unsigned long long)m->window_reuses,
		(unsigned long long)m->regions_kept, (unsigned long long)m->regions_retargeted,
		(unsigned long long)m->pde_changes,
		(unsigned long long)m->map_calls, (unsigned long long)m->map_maps,
		(unsigned long long)m->map_unmaps, (unsigned long long)m->map_protects,
		(unsigned long long)m->unmaps_batched, (unsigned long long)m->holes_deferred,
		(unsigned long long)smmu_budget(),
		(unsigned long long)m->budget_recounts, (unsigned long long)m->budget_evictions,
		(unsigned long long)m->lookup_clears, (unsigned long long)cc_stats.lookup_drops,
		(unsigned long long)cc_stats.lookup_drops_skipped);
	vmm_log("  exits by kind         ");
	for (unsigned k = 0; k < EK_NR; k++)
		if (run_stats.by_kind[k])
			vmm_log(" %s %llu", exit_kind_name[k], (unsigned long long)run_stats.by_kind[k]);
	vmm_log("\n");
	/* the monitor's interpreter by instruction, most frequent first (at most 12) */
	static bool shown[EMU_MNEMONIC_COUNT];
	vmm_log("  interpreted by kind   ");
	for (int k = 0; k < 12; k++) {
		unsigned best = 0;
		for (unsigned i = 1; i < EMU_MNEMONIC_COUNT; i++)
			if (!shown[i] && emu_mnemonic_count[i] > emu_mnemonic_count[best])
				best = i;
		if (!emu_mnemonic_count[best])
			break;
		shown[best] = true;
		vmm_log(" %s %llu", emu_mnemonic_name(best), (unsigned long long)emu_mnemonic_count[best]);
	}
	vmm_log("\n");
}

/* The guest reset the machine.  As QEMU does: with -no-reboot the run ends (status 0);
 * otherwise the machine starts again from power-on, which here is the same command line
 * run afresh (exec of this program: new RAM, devices, caches, and the kernel reloaded). */
static void reboot(char **argv, bool no_reboot)
{
	if (no_reboot) {
		fprintf(stderr, "vmm386: guest requested reset (-no-reboot: stopping)\n");
		return;
	}
	fflush(NULL);
	con_restore();
	execv("/proc/self/exe", argv);
	fprintf(stderr, "vmm386: guest requested reset; cannot restart: %s\n", strerror(errno));
}

/* One (monotonic ns, TSC) pair read close together: the retry keeps a pair whose two
 * clock reads are less than 5 us apart, so a preemption cannot land between them. */
static bool tsc_pair(uint64_t *ns, uint64_t *tsc)
{
	for (int k = 0; k < 20; k++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		uint64_t t = __builtin_ia32_rdtsc();
		clock_gettime(CLOCK_MONOTONIC, &b);
		uint64_t na = (uint64_t)a.tv_sec * 1000000000u + (uint64_t)a.tv_nsec;
		uint64_t nb = (uint64_t)b.tv_sec * 1000000000u + (uint64_t)b.tv_nsec;
		if (nb - na < 5000) {
			*ns = na + (nb - na) / 2, *tsc = t;
			return true;
		}
	}
	return false;
}

/* The host TSC's frequency in kHz, measured against CLOCK_MONOTONIC over 10 ms (the guest's
 * TSC is the host's plus an offset, and CPUID leaf 0x15 tells the guest its rate): to
 * about 0.05%, or 0 if the clocks could not be read cleanly. */
static uint32_t host_tsc_khz(void)
{
	uint64_t n0, t0, n1, t1;
	if (!tsc_pair(&n0, &t0))
		return 0;
	nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	if (!tsc_pair(&n1, &t1) || n1 <= n0 || t1 <= t0)
		return 0;
	uint64_t khz = (t1 - t0) * 1000000u / (n1 - n0);
	return khz < 100000 || khz > 0xFFFFFFFFu / 1000 ? 0 : (uint32_t)khz;
}

/* Ctrl-A x, on the console's thread. */
static void console_quit(void *vm)
{
	vm_stop(vm, EXIT_STATUS_OK);
}

int main(int argc, char **argv)
{
	static struct vm vm;
	struct options o = {0};
	struct ld_boot boot;
	char err[512];
	int con_in, con_out;

	parse_args(argc, argv, &o);
	if (o.logfile && !(vmm_log_file = fopen(o.logfile, "w")))
		fail("-D: cannot open '%s': %s", o.logfile, strerror(errno));
	if (LOG_ON(LOG_PERFMAP) && perfmap_open() < 0)
		fail("-perfmap: cannot write /tmp/perf-%d.map: %s", (int)getpid(), strerror(errno));
	if (o.profile && profile_open(o.profile) < 0)
		fail("-profile: cannot write '%s': %s", o.profile, strerror(errno));
	if (o.symbols && sym_load(o.symbols) <= 0)
		fail("-symbols: no function symbols in '%s' (an ELF with .symtab or a System.map)",
		     o.symbols);
	if (!o.symbols && (LOG_ON(LOG_PERFMAP) || o.profile))
		sym_load(o.kernel);
	if (vm_mem_init(&vm, o.ram_mib << 20, err, sizeof(err)) < 0)
		fail("%s", err);
	if (ld_load_kernel(o.kernel, o.append, o.initrd, vm.ram, vm.ram_size, ACPI_RSDP_ADDR, &boot, err,
			   sizeof(err)) < 0)
		fail("%s", err);
	vm.cpu.vm = &vm;
	if (pv_init(&vm, &boot, &vm_pv_mon, err, sizeof(err)) < 0)
		fail("%s", err);
	emu_set_tsc_khz(host_tsc_khz());
	emu_reset_protected(&vm.cpu, boot.gdt_base, boot.gdt_limit);
	vm.cpu.regs[R_EAX] = boot.eax;
	vm.cpu.regs[R_EBX] = boot.ebx;
	vm.cpu.regs[R_ESI] = boot.esi;
	if (boot.cs_sel)
		emu_boot_selectors(&vm.cpu, boot.cs_sel, boot.ds_sel);
	vm.cpu.eip = boot.entry;
	if (con_open(&o.serial, &(struct con_ops){ console_quit, &vm }, &con_in, &con_out, err,
		     sizeof(err)) < 0)
		fail("%s", err);
	xl_init();
	if (cc_init(vm_protect_page, vm.ram_size) < 0 || vm_run_init(&vm, con_in) < 0)
		fail("cannot set up the monitor: %s", strerror(errno));
	for (int i = 0; i < IDE_DRIVES; i++)
		if (o.disk[i] && dev_ide_attach(i, o.disk[i], o.snapshot, err, sizeof(err)) < 0)
			fail("%s", err);
	dev_init_all(vm.ram, vm.ram_size, con_in, con_out, vm_dev_stop(&vm));
	dev_fwcfg_init(vm.ram_size, o.append);
	if (o.pc_testdev)
		dev_testdev_init();
	if (o.pci_testdev)
		dev_pci_testdev_init();
	if (LOG_ON(LOG_STATS) && counters_init() < 0)
		fail("-d stats: the counters port %#x is taken", COUNTERS_PORT);
	if (o.gdb && gdb_init(&vm, o.gdb, o.gdb_wait, err, sizeof(err)) < 0)
		fail("%s", err);
	int status = vm_run(&vm);
	profile_write();
	if (LOG_ON(LOG_STATS)) {
		print_stats();
		pv_log_stats();
	}
	if (vmm_log_file)
		fclose(vmm_log_file);
	if (vm.reset)
		reboot(argv, o.no_reboot);
	return status;
}
