/*
 * hostfloor - what the host charges for the operations a shadow MMU on the host MMU is made
 * of, measured the way vmm386 uses them (bench/run.sh prints the figures next to the
 * benchmark table; `build/bench/hostfloor [N]` alone prints them too).
 *
 *   signal     a SIGSEGV taken and returned from (the handler steps over the store: no
 *              mapping call), as a guest access to an unmapped window page costs
 *   map        mmap of one page of a memfd at a fixed address inside a PROT_NONE reservation,
 *              then the first store to it: a shadow fill.  File offsets go backwards, so no
 *              mapping merges with its neighbour (guest frames of neighbouring pages are
 *              rarely neighbours)
 *   unmap      the page made PROT_NONE again by an anonymous mmap over it (host_unmap)
 *   protect    mprotect of one page (a lowering, a code-page or page-table hole)
 *   fault      signal + map + store: the least a demand page fault of the guest costs when it
 *              needs one host fault and one new host mapping (vmm386's pgfault row does this
 *              plus the guest's own #PF handler)
 * Each figure is the median of 5 rounds of N operations (default 4000), in ns per operation.
 * The pages of the memfd are touched once first, so the figures do not include the host
 * allocating memory (which qemu pays as well, once per guest page).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static int fd;
static uint8_t *win;
static size_t npg;
static int remap_in_handler;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void map_page(size_t i)
{
	if (mmap(win + i * 4096, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 (off_t)((npg - 1 - i) * 4096)) == MAP_FAILED)
		die("mmap");
}

static void unmap_page(size_t i)
{
	if (mmap(win + i * 4096, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		die("mmap PROT_NONE");
}

/* The faulting store is `movb $1, (%rax)` (3 bytes): map the page and re-run it, or step over. */
static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	ucontext_t *uc = ctx;
	if (remap_in_handler)
		map_page((size_t)((uint8_t *)si->si_addr - win) / 4096);
	else
		uc->uc_mcontext.gregs[REG_RIP] += 3;
}

static inline void store(uint8_t *p)
{
	__asm__ volatile(".byte 0xc6, 0x00, 0x01" : : "a"(p) : "memory");   /* movb $1, (%rax) */
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

enum { SIGNAL, MAP, UNMAP, PROTECT, FAULT, NKIND };
static const char *const name[NKIND] = { "signal", "map", "unmap", "protect", "fault" };

static double round_of(int kind)
{
	double t0 = now_ns();
	for (size_t i = 0; i < npg; i++) {
		switch (kind) {
		case SIGNAL: store(win + i * 4096); break;     /* every page PROT_NONE here */
		case MAP: map_page(i); store(win + i * 4096); break;
		case UNMAP: unmap_page(i); break;
		case PROTECT:
			if (mprotect(win + i * 4096, 4096, PROT_READ) < 0)
				die("mprotect");
			break;
		case FAULT: store(win + i * 4096); break;      /* PROT_NONE; the handler maps */
		}
	}
	return (now_ns() - t0) / (double)npg;
}

int main(int argc, char **argv)
{
	npg = argc > 1 ? strtoul(argv[1], NULL, 0) : 4000;
	if (npg < 16 || npg > (1u << 20)) {
		fprintf(stderr, "usage: hostfloor [N (16 .. 1048576)]\n");
		return 2;
	}
	fd = memfd_create("hostfloor", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(npg * 4096)) < 0)
		die("memfd");
	uint8_t *all = mmap(NULL, npg * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	win = mmap(NULL, npg * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (all == MAP_FAILED || win == MAP_FAILED)
		die("mmap");
	memset(all, 0, npg * 4096);                          /* the memory exists already */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSEGV, &sa, NULL) < 0)
		die("sigaction");
	double v[NKIND][5];
	for (int r = 0; r < 5; r++) {
		remap_in_handler = 0;
		v[SIGNAL][r] = round_of(SIGNAL);
		v[MAP][r] = round_of(MAP);
		v[PROTECT][r] = round_of(PROTECT);
		v[UNMAP][r] = round_of(UNMAP);
		remap_in_handler = 1;
		v[FAULT][r] = round_of(FAULT);
		for (size_t i = 0; i < npg; i++)
			unmap_page(i);
	}
	for (int k = 0; k < NKIND; k++) {
		qsort(v[k], 5, sizeof(double), cmp);
		printf("floor %s %zu ns_per_op=%.0f\n", name[k], npg, v[k][2]);
	}
	return 0;
}
