/*
 * kernel.c - kmain, called by guest/common/entry.S: set up the machine, read the multiboot
 * command line and run the program it names.
 *
 * Words of the command line (QEMU passes "<kernel path> <-append string>"; any word counts):
 *   selftest        the CPL-0/3 instruction and platform self test (selftest*.c)
 *   paging          with selftest: also the paging group (st_paging.c)
 *   bench [N]       the CPU-bound benchmark, N iterations (default: CPU_BENCH_DEFAULT_ITERS)
 *   (nothing known) print the multiboot information and exit
 * Every path leaves through the isa-debug-exit port: 0 for success.
 */
#include "kernel.h"
#include "pvops.h"
#include "multiboot.h"

uint32_t mb_mem_lower, mb_mem_upper;
int selftest_paging;
static char cmdline[256];

static void read_multiboot(uint32_t magic, const struct mb_info *mbi)
{
	if (magic != MB_BOOT_MAGIC) {
		kprintf("warning: not started by a multiboot loader (eax 0x%08x)\n", magic);
		return;
	}
	if (mbi->flags & MBI_MEM) {
		mb_mem_lower = mbi->mem_lower;
		mb_mem_upper = mbi->mem_upper;
	}
	if (mbi->flags & MBI_CMDLINE)
		mb_copy_cmdline(cmdline, sizeof(cmdline), (const char *)mbi->cmdline);
}

void kmain(uint32_t magic, const struct mb_info *mbi);
void kmain(uint32_t magic, const struct mb_info *mbi)
{
	console_init();
	console_write("vmm386 guest kernel (native)\n");
	read_multiboot(magic, mbi);
	desc_init();
	pic_init();

	char line[sizeof(cmdline)];
	memcpy(line, cmdline, sizeof(line));
	char *w[16];
	int n = split_words(line, w, ARRAY_SIZE(w));
	for (int i = 0; i < n; i++)
		if (!strcmp(w[i], "paging"))
			selftest_paging = 1;
	for (int i = 0; i < n; i++) {
		if (!strcmp(w[i], "selftest"))
			machine_exit(selftest_run() ? 1 : 0);
		if (!strcmp(w[i], "bench")) {
			int ok = 0;
			uint32_t iters = i + 1 < n ? parse_u32(w[i + 1], &ok) : 0;
			bench_run(ok ? iters : 0);
			machine_exit(0);
		}
	}
	kprintf("multiboot: mem_lower %u KiB, mem_upper %u KiB, cmdline \"%s\"\n",
		mb_mem_lower, mb_mem_upper, cmdline);
	machine_exit(0);
}
