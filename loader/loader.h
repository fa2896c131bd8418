/*
 * loader.h - loading a guest kernel into RAM the way qemu-system-i386 -kernel does.
 *
 * Multiboot v1 ELF32 kernels: the image's program headers are loaded (the multiboot
 * header's address fields are honoured when flag 16 is set), a multiboot information
 * structure is built (mem_lower/mem_upper, memory map, command line, modules, boot loader
 * name), and the entry state is described in struct ld_boot.  Every problem with the input
 * is reported as one line in err and a negative return; nothing is loaded partially into
 * an unusable state that the caller would run.
 */
#ifndef LOADER_H
#define LOADER_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct ld_boot {
	uint32_t entry;     /* EIP */
	uint32_t eax;       /* 0x2BADB002 */
	uint32_t ebx;       /* physical address of the multiboot info */
	uint32_t gdt_base;  /* a flat GDT the loader placed in RAM: 0x08 code, 0x10 data */
	uint16_t gdt_limit;
	uint32_t load_end;  /* first byte above the kernel image */
	int is_pv;          /* 1 if the ELF carries the vmm386 PV note (pv/) */
	/* Linux 32-bit boot protocol (linux.c): ESI = boot_params, other selectors */
	int is_linux;
	uint32_t esi;
	uint16_t cs_sel, ds_sel;  /* 0: the multiboot 0x08 / 0x10 */
};

/*
 * Load `kernel` into ram[0..ram_size).  cmdline may be NULL.  modules is QEMU's -initrd
 * string: comma-separated files, each optionally followed by " args" (may be NULL).
 * Returns 0 or -1 with a one-line reason in err (no trailing newline).
 */
int ld_load_multiboot(const char *kernel, const char *cmdline, const char *modules,
		      uint8_t *ram, uint32_t ram_size, struct ld_boot *boot,
		      char *err, size_t errlen);

/*
 * Load a Linux bzImage by the 32-bit boot protocol (linux.c).  initrd is one file or NULL;
 * rsdp is the physical address of the platform's ACPI RSDP (0: none), handed to the
 * kernel in boot_params.  Same error convention as ld_load_multiboot.
 */
int ld_load_linux(const char *kernel, const char *cmdline, const char *initrd,
		  uint8_t *ram, uint32_t ram_size, uint32_t rsdp, struct ld_boot *boot,
		  char *err, size_t errlen);
/* Does an image that starts with head[0..len) carry a Linux setup header? */
bool ld_is_linux(const uint8_t *head, size_t len);
/* -kernel as QEMU reads it: a Linux bzImage if the image has the setup header, otherwise a
 * multiboot kernel (loader.c). */
int ld_load_kernel(const char *kernel, const char *cmdline, const char *initrd,
		   uint8_t *ram, uint32_t ram_size, uint32_t rsdp, struct ld_boot *boot,
		   char *err, size_t errlen);

#endif
