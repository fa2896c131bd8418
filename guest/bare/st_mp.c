/*
 * st_mp.c - self test: the Intel MultiProcessor Specification 1.4 tables, found and read
 * the way a kernel that predates ACPI does it (xv6's mpinit, Linux's find_smp_config).
 *
 * The floating pointer is looked for, in this order, in the first KiB of the EBDA (its
 * segment is the BIOS data area word at 0x40E), in the last KiB of base memory (the BDA
 * word at 0x413, in KiB) and in the BIOS ROM area 0xF0000-0xFFFFF, on 16-byte boundaries;
 * it and the configuration table it points to must sum to zero.  Every entry is printed as
 * a "#" note (the firmware under QEMU, SeaBIOS, lists more than vmm386 does: PCI buses and
 * their interrupts), and the checks ask only for what a PC with an I/O APIC must describe:
 * one enabled bootstrap processor with the LAPIC's ID, an ISA bus, an enabled I/O APIC at
 * 0xFEC00000 with the ID its register reports, and ISA IRQ 0 on pin 2 and IRQs 8 and 14 on
 * their own pins.
 */
#include "st_apic.h"

struct mp_info mp_info;

enum { E_PROC = 0, E_BUS = 1, E_IOAPIC = 2, E_IOINT = 3, E_LINT = 4 };

static uint8_t sum8(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;
	while (len--)
		s += *p++;
	return s;
}

static const uint8_t *find_floating(uint32_t base, uint32_t len)
{
	for (uint32_t a = base; a + 16 <= base + len; a += 16) {
		const uint8_t *p = (const uint8_t *)a;
		if (!memcmp(p, "_MP_", 4) && p[8] == 1 && sum8(p, 16) == 0)
			return p;
	}
	return 0;
}

/* A BIOS data area word (through a register: GCC rejects a constant address this low). */
static uint16_t bda_word(uint32_t addr)
{
	const volatile uint16_t *p;
	asm("" : "=r"(p) : "0"(addr));
	return *p;
}

static const uint8_t *mp_floating(void)
{
	uint32_t ebda = (uint32_t)bda_word(0x40E) << 4;
	uint32_t base_kib = bda_word(0x413);
	const uint8_t *f = 0;

	if (ebda >= 0x80000 && ebda < 0xA0000)
		f = find_floating(ebda, 1024);
	if (!f && base_kib >= 512 && base_kib <= 640)
		f = find_floating(base_kib * 1024 - 1024, 1024);
	if (!f)
		f = find_floating(0xF0000, 0x10000);
	return f;
}

/* n bytes of a table's text field as a C string (kprintf has no precision). */
static const char *text(char *buf, const void *p, unsigned n)
{
	memcpy(buf, p, n);
	buf[n] = 0;
	return buf;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One entry; returns its length (0: unknown type, stop). */
static unsigned parse_entry(const uint8_t *e, const char (*bus_name)[7])
{
	struct mp_info *m = &mp_info;
	char s[8];

	switch (e[0]) {
	case E_PROC:
		st_note("MP: processor APIC ID %u version 0x%x%s%s", e[1], e[2],
			(e[3] & 1) ? " enabled" : "", (e[3] & 2) ? " bootstrap" : "");
		m->nproc++;
		if ((e[3] & 3) == 3)
			m->bsp_apic_id = e[1];
		return 20;
	case E_BUS:
		st_note("MP: bus %u \"%s\"", e[1], text(s, e + 2, 6));
		if (!memcmp(e + 2, "ISA", 3) && m->isa_bus < 0)
			m->isa_bus = e[1];
		return 8;
	case E_IOAPIC:
		st_note("MP: I/O APIC ID %u version 0x%x%s at 0x%x", e[1], e[2],
			(e[3] & 1) ? " enabled" : "", get32(e + 4));
		if (m->nioapic++ == 0) {
			m->ioapic_id = e[1];
			m->ioapic_enabled = e[3] & 1;
			m->ioapic_addr = get32(e + 4);
		}
		return 8;
	case E_IOINT:
	case E_LINT:
		st_note("MP: %s interrupt type %u flags 0x%x from bus %u (%s) IRQ %u to %u pin %u",
			e[0] == E_IOINT ? "I/O" : "local", e[1], e[2] | e[3] << 8, e[4],
			bus_name[e[4]], e[5], e[6], e[7]);
		if (e[0] == E_IOINT && e[1] == 0 && m->isa_bus >= 0 && e[4] == m->isa_bus &&
		    e[5] < 16 && m->isa_pin[e[5]] < 0) {
			m->isa_pin[e[5]] = e[7];
			m->isa_dst[e[5]] = e[6];
		}
		return 8;
	default:
		st_note("MP: entry of unknown type %u, the rest is not read", e[0]);
		return 0;
	}
}

void st_mp_parse(void)
{
	struct mp_info *m = &mp_info;
	static char bus_name[256][7];

	memset(m, 0, sizeof(*m));
	memset(bus_name, 0, sizeof(bus_name));
	m->bsp_apic_id = m->isa_bus = -1;
	for (int i = 0; i < 16; i++)
		m->isa_pin[i] = m->isa_dst[i] = -1;
	const uint8_t *f = mp_floating();
	st_check(f != 0, "MP floating pointer found (EBDA, base memory top or BIOS ROM)", NULL);
	if (!f)
		return;
	const uint8_t *t = (const uint8_t *)get32(f + 4);
	st_note("MP: floating pointer at %p, revision 1.%u, configuration table at %p", f, f[9], t);
	uint16_t len = t ? (uint16_t)(t[4] | t[5] << 8) : 0;
	int ok = t && (uint32_t)t < 0x100000 && !memcmp(t, "PCMP", 4) && len >= 44 &&
		 sum8(t, len) == 0 && (t[6] == 1 || t[6] == 4);
	st_check(ok, "MP configuration table: signature, checksum, revision 1.1 or 1.4", NULL);
	if (!ok)
		return;
	m->found = 1;
	m->lapic_addr = get32(t + 36);
	char oem[9], product[13];
	st_note("MP: OEM \"%s\" product \"%s\", %u entries, local APIC at 0x%x",
		text(oem, t + 8, 8), text(product, t + 16, 12), t[34] | t[35] << 8, m->lapic_addr);
	/* bus names first, so that interrupt entries can say which bus they mean */
	const uint8_t *e = t + 44, *end = t + len;
	for (unsigned step = 1; e < end && step; e += step) {
		step = e[0] == E_PROC ? 20 : e[0] <= E_LINT ? 8 : 0;
		if (e[0] == E_BUS)
			memcpy(bus_name[e[1]], e + 2, 6);
	}
	e = t + 44;
	for (unsigned step = 1; e < end && step; e += step)
		step = parse_entry(e, (const char (*)[7])bus_name);
}

void st_group_mp(void)
{
	struct mp_info *m = &mp_info;

	st_mp_parse();
	if (!m->found)
		return;
	uint32_t lapic_id = lapic_rd(APIC_ID) >> 24;
	uint32_t ioapic_id = (ioapic_rd(IOAPIC_ID) >> 24) & 0xF;
	st_eq("MP table: the local APIC is at 0xFEE00000", m->lapic_addr, LAPIC_ADDR);
	st_check(m->nproc >= 1 && m->bsp_apic_id == (int)lapic_id,
		 "MP table: an enabled bootstrap processor with this CPU's LAPIC ID",
		 "%d processors, BSP APIC ID %d, LAPIC ID %u", m->nproc, m->bsp_apic_id, lapic_id);
	st_check(m->isa_bus >= 0, "MP table: an ISA bus", NULL);
	st_check(m->nioapic >= 1 && m->ioapic_enabled && m->ioapic_addr == IOAPIC_ADDR,
		 "MP table: an enabled I/O APIC at 0xFEC00000", "%d I/O APICs, first at 0x%x",
		 m->nioapic, m->ioapic_addr);
	st_check(m->ioapic_id == (int)ioapic_id, "MP table: the I/O APIC's ID is its ID register's",
		 "table %d, register %u", m->ioapic_id, ioapic_id);
	st_check(m->isa_pin[0] == 2 && m->isa_pin[8] == 8 && m->isa_pin[14] == 14,
		 "MP table: ISA IRQ 0 on I/O APIC pin 2, IRQ 8 on pin 8, IRQ 14 on pin 14",
		 "pins %d %d %d", m->isa_pin[0], m->isa_pin[8], m->isa_pin[14]);
	st_check(m->isa_dst[0] == m->ioapic_id && m->isa_dst[8] == m->ioapic_id &&
		 m->isa_dst[14] == m->ioapic_id, "MP table: those entries name that I/O APIC",
		 "%d %d %d", m->isa_dst[0], m->isa_dst[8], m->isa_dst[14]);
}
