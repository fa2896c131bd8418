/*
 * loader.c - -kernel as qemu-system-i386 reads it: an image with a Linux setup header
 * ("HdrS" at 0x202 and the 0xAA55 boot flag) is booted by the Linux 32-bit boot protocol
 * (linux.c), anything else must be a multiboot v1 kernel (multiboot.c), whose loader gives
 * the error for a file that is neither.  The Linux header is looked at first, as QEMU does.
 */
#include <fcntl.h>
#include <unistd.h>
#include "loader/loader.h"

int ld_load_kernel(const char *kernel, const char *cmdline, const char *initrd,
		   uint8_t *ram, uint32_t ram_size, uint32_t rsdp, struct ld_boot *boot,
		   char *err, size_t errlen)
{
	uint8_t head[0x210];
	ssize_t n = -1;
	int fd = kernel ? open(kernel, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		n = pread(fd, head, sizeof(head), 0);
		close(fd);
	}
	if (n > 0 && ld_is_linux(head, (size_t)n))
		return ld_load_linux(kernel, cmdline, initrd, ram, ram_size, rsdp, boot, err,
				     errlen);
	return ld_load_multiboot(kernel, cmdline, initrd, ram, ram_size, boot, err, errlen);
}
