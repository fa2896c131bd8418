/*
 * main.c - kmain: machine set-up, the command line, and the first process.
 *
 * Command-line words (QEMU passes "<kernel path> <-append string>"; unknown words are
 * ignored) choose what pid 1 runs:
 *   (none)        sh          the interactive shell on the console
 *   test          testsuite   the user-level test suite; exits 0 if every test passed, else 1
 *   bench [quick] nbench      the nanobenchmarks, then (exec) mbench, the macro workloads
 *                             ("quick": small iteration counts)
 *   bigmem MB     bigmem MB   sbrk MB MiB, touch every other page, verify
 * When pid 1 exits, the machine powers off with its exit code through port 0xF4.
 */
#include "kernel.h"
#include "multiboot.h"

static char cmdline[256];

void kmain(uint32_t magic, uint32_t mbi_pa);
void kmain(uint32_t magic, uint32_t mbi_pa)
{
	console_init();
	if (magic != MB_BOOT_MAGIC)
		panic("not started by a multiboot loader (eax 0x%08x)", magic);
	/* The boot directory maps the first 8 MiB at KBASE: enough for the multiboot info. */
	const struct mb_info *mbi = P2V(mbi_pa);
	if (!(mbi->flags & MBI_MEM))
		panic("no memory size from the boot loader");
	uint32_t ram_top = 0x100000 + mbi->mem_upper * 1024;
	mm_init(ram_top);
	if (mbi->flags & MBI_CMDLINE)
		mb_copy_cmdline(cmdline, sizeof(cmdline), P2V(mbi->cmdline));
	desc_init();
	pic_init();
	proc_init();
	file_init();
	pit_start(HZ);
	pic_mask(0, 0);
	console_enable_irq();
	tsc_calibrate();
#ifdef PV_GUEST
	kprintf("vmm386 PV kernel: %u MiB RAM, %u free pages, tsc %u kHz\n", ram_top >> 20,
		frames_free(), tsc_khz);
#else
	kprintf("vmm386 native kernel: %u MiB RAM, %u free pages, tsc %u kHz\n", ram_top >> 20,
		frames_free(), tsc_khz);
#endif

	char *w[16];
	int n = split_words(cmdline, w, ARRAY_SIZE(w));
	char *argv[4] = { "sh", NULL, NULL, NULL };
	int argc = 1;
	for (int i = 0; i < n; i++) {
		if (!strcmp(w[i], "test")) {
			argv[0] = "testsuite";
			break;
		}
		if (!strcmp(w[i], "bench")) {
			argv[0] = "nbench";
			if (i + 1 < n && !strcmp(w[i + 1], "quick"))
				argv[argc++] = "quick";
			break;
		}
		if (!strcmp(w[i], "bigmem")) {
			argv[0] = "bigmem";
			argv[argc++] = i + 1 < n ? w[i + 1] : "64";
			break;
		}
	}
	proc_start_init(argv[0], argc, argv);
}
