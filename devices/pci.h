/*
 * pci.h - inside devices/: a PCI function's configuration space (pci.c) for the functions
 * that live in other files (pci_testdev.c).
 */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_DEVFNS        256            /* bus 0: 32 devices x 8 functions */
#define PCI_DEVFN(d, f)   (((d) << 3) | (f))

/* Standard header offsets. */
#define PCI_VENDOR_ID     0x00
#define PCI_DEVICE_ID     0x02
#define PCI_COMMAND       0x04
#define PCI_STATUS        0x06
#define PCI_REVISION      0x08
#define PCI_CLASS_PROG    0x09
#define PCI_CACHE_LINE    0x0C
#define PCI_LATENCY       0x0D
#define PCI_HEADER_TYPE   0x0E
#define PCI_BAR0          0x10
#define PCI_SUBSYS_VENDOR 0x2C
#define PCI_SUBSYS_ID     0x2E
#define PCI_INT_LINE      0x3C
#define PCI_INT_PIN       0x3D
#define PCI_DEV_SPECIFIC  0x40

#define PCI_HEADER_MULTI  0x80
#define PCI_BAR_IO        0x01
#define PCI_CMD_IO        0x0001
#define PCI_CMD_MEM       0x0002

struct pci_fn {
	uint8_t cfg[256];
	uint8_t wmask[256];      /* bits a configuration write may change */
};

/* A header-type-0 function: IDs, class code (class << 16 | subclass << 8 | prog-if), header
 * type byte, QEMU's subsystem IDs, the standard write masks. */
void pci_fn_setup(struct pci_fn *f, uint16_t vendor, uint16_t device, uint8_t rev,
		  uint32_t class_code, uint8_t header);
/* BAR bar of size bytes (a power of two: >= 4 for I/O, >= 16 for memory) at addr. */
void pci_fn_bar(struct pci_fn *f, int bar, uint32_t size, bool io, uint32_t addr);
uint32_t pci_fn_read32(const struct pci_fn *f, unsigned reg);
/* Put f on bus 0 at devfn (after dev_pci_init). */
void pci_attach(unsigned devfn, struct pci_fn *f);

#endif
