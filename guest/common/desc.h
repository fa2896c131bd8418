/*
 * desc.h - the GDT, IDT and TSS of every guest image (guest/common/desc.c).
 *
 * The image's kernel.h defines GDT_ENTRIES (the flat selectors of x86.h plus whatever the
 * image adds after SEL_TSS) before it includes this header, and the image provides the two
 * hooks below, which desc_init() calls once.
 */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H
#include <stdint.h>
#include "x86.h"
#include "pvops_common.h"   /* struct tss */

#ifndef GDT_ENTRIES
#error "the image's kernel.h defines GDT_ENTRIES before it includes desc.h"
#endif

extern uint64_t gdt[GDT_ENTRIES];
extern uint64_t idt[256];

/* flags: the high nibble of byte 6, i.e. G (8) and D/B (4). */
uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
uint64_t gate_desc(uint16_t sel, uint32_t offset, uint8_t access);
void gdt_load(const uint64_t *table, uint16_t limit); /* LGDT + reload every segment */
void idt_set_gate(int vec, uint32_t handler, uint8_t type_attr);

/*
 * desc_init: the flat ring-0/ring-3 segments and the TSS (SS0:ESP0 = the boot stack, no I/O
 * bitmap), then desc_image_gdt(); load the GDT and TR; interrupt gates (DPL 0) to
 * isr_stubs for vectors 0-0x2F, then desc_image_idt(); load the IDT.
 */
void desc_init(void);
void desc_image_gdt(void);  /* the image's: GDT entries past SEL_TSS, other TSS fields */
void desc_image_idt(void);  /* the image's: IDT gates past the exceptions and IRQs */

#endif
