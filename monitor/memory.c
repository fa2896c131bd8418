/*
 * memory.c - guest RAM and the flat guest window.
 *
 * Guest RAM is one memfd, mapped once for the monitor (vm->ram).  Translated code reaches
 * guest memory through a 4 GiB window (GS base = R15): a PROT_NONE reservation with a guard
 * page on either side, in which RAM is mapped at window + physical address (CR0.PG = 0:
 * linear == physical).  Everything above RAM stays PROT_NONE, so device memory and
 * unassigned addresses fault into the monitor (run.c) instead of reaching host memory.
 * Pages holding translated code are mapped read-only in the window (vm_protect_page), so a
 * guest store to them faults and invalidates the translations.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "memory.h"
#include "param.h"

#define WINDOW_SPAN (1ull << 32)

static uint8_t *window;
static uint32_t ram_bytes;

uint8_t *vm_window(void) { return window; }

int vm_mem_init(struct vm *vm, uint32_t bytes, char *err, size_t errlen)
{
	int fd = memfd_create("vmm386-ram", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, bytes) < 0) {
		snprintf(err, errlen, "cannot allocate %u MiB of guest RAM: %s", bytes >> 20, strerror(errno));
		return -1;
	}
	vm->ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* reserve 8 GiB so a 4 GiB-aligned window with guards fits */
	uint8_t *res = mmap(NULL, 2 * WINDOW_SPAN + 2 * GUEST_PAGE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED || res == MAP_FAILED) {
		snprintf(err, errlen, "cannot map guest memory: %s", strerror(errno));
		return -1;
	}
	window = (uint8_t *)(((uintptr_t)res + GUEST_PAGE + WINDOW_SPAN - 1) & ~(uintptr_t)(WINDOW_SPAN - 1));
	if (mmap(window, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the guest window: %s", strerror(errno));
		return -1;
	}
	vm->ram_fd = fd;
	vm->ram_size = bytes;
	ram_bytes = bytes;
	return 0;
}

void vm_protect_page(gpa_t page, bool protect)
{
	if (page >= ram_bytes)
		return;
	if (mprotect(window + page, GUEST_PAGE, protect ? PROT_READ : PROT_READ | PROT_WRITE) < 0)
		vmm_panic("mprotect of guest page %08x failed: %s", page, strerror(errno));
}

/* Linear == physical until shadow paging exists. */
unsigned vmm_fetch_code(struct vcpu *c, gla_t la, uint8_t *buf, unsigned len, gpa_t *pa)
{
	*pa = la;
	if (la >= c->vm->ram_size)
		return 0;
	uint32_t avail = c->vm->ram_size - la;
	if (len > avail)
		len = avail;
	memcpy(buf, c->vm->ram + la, len);
	return len;
}
