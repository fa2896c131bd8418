/*
 * st_flags_io.c - self test: EFLAGS (CLI/STI/PUSHF/POPF), port I/O including the string
 * forms, and the timer interrupt path (PIT -> PIC -> IDT, HLT, the STI shadow).
 */
#include "selftest.h"

#define SPIN_LIMIT 200000000u /* loop bound when waiting for a timer tick */
#define PORT_NONE  0x2F0      /* no device on the PC platform claims it */
#define UART_SCR   0x3FF

void st_group_flags(void)
{
	uint32_t f;
	asm volatile("cli; pushfl; popl %0" : "=r"(f) :: "memory");
	st_check(!(f & EFLAGS_IF), "cli clears IF", "eflags 0x%x", f);
	asm volatile("sti; pushfl; popl %0; cli" : "=r"(f) :: "memory");
	st_check(f & EFLAGS_IF, "sti sets IF", "eflags 0x%x", f);

	st_check((st_popf_pushf(0x202) & EFLAGS_IF) && !(st_popf_pushf(0x2) & EFLAGS_IF),
		 "popf sets and clears IF at CPL 0", NULL);
	f = st_popf_pushf(0x3002);
	st_eq("popf sets IOPL 3 at CPL 0", f & EFLAGS_IOPL, 0x3000);
	f = st_popf_pushf(0x2);
	st_eq("popf clears IOPL at CPL 0", f & EFLAGS_IOPL, 0);
	st_check(st_popf_pushf(0x402) & EFLAGS_DF, "popf sets DF", NULL);
	asm volatile("std; pushfl; popl %0; cld" : "=r"(f) :: "memory");
	st_check(f & EFLAGS_DF, "std sets DF", "eflags 0x%x", f);
	asm volatile("cld; pushfl; popl %0" : "=r"(f) :: "memory");
	st_check(!(f & EFLAGS_DF), "cld clears DF", "eflags 0x%x", f);
	st_check((st_popf_pushf(0x40002) & EFLAGS_AC) && !(st_popf_pushf(0x2) & EFLAGS_AC),
		 "AC flag can be set and cleared", NULL);
	st_check((st_popf_pushf(0x200002) & EFLAGS_ID) && !(st_popf_pushf(0x2) & EFLAGS_ID),
		 "ID flag can be set and cleared", NULL);
	st_check(st_popf_pushf(0x4002) & EFLAGS_NT, "popf sets NT", NULL);
	st_eq("popf: bit 1 reads 1, bits 3 5 15 read 0", st_popf_pushf(0x8028), 0x2);
	st_eq("popf never sets VM or RF", st_popf_pushf(0x30002), 0x2);
	st_eq("popf loads CF PF AF ZF SF OF", st_popf_pushf(0x8D7), 0x8D7);
	uint32_t esp0, esp1;
	asm volatile("movl %%esp, %0; pushfl; movl %%esp, %1; popfl" : "=r"(esp0), "=r"(esp1) :: "memory");
	st_eq("pushf moves ESP by 4", esp0 - esp1, 4);
	uint16_t fw;
	asm volatile("pushfl; pushfw; popw %w0; popl %1" : "=r"(fw), "=r"(f) :: "memory");
	st_eq("pushfw pushes the low 16 bits", fw, f & 0xFFFF);
}

static void io_basic(void)
{
	uint8_t m1 = pv_inb(0x21), m2 = pv_inb(0xA1);
	pv_outb(0x21, 0xA5);
	uint8_t a = pv_inb(0x21);
	pv_outb(0x21, 0x5B);
	uint8_t b = pv_inb(0x21);
	pv_outb(0x21, m1);
	st_check(a == 0xA5 && b == 0x5B, "PIC master IMR write and read back", "0x%x 0x%x", a, b);
	pv_outb(0xA1, 0x3C);
	a = pv_inb(0xA1);
	pv_outb(0xA1, m2);
	st_eq("PIC slave IMR write and read back", a, 0x3C);

	pv_outb(0x70, 0x8D);
	uint8_t d = pv_inb(0x71);
	st_check(d & 0x80, "CMOS register D reports valid RAM and time", "0x%x", d);
	pv_outb(0x70, 0x8B);
	uint8_t regb = pv_inb(0x71);
	pv_outb(0x70, 0x80);
	uint8_t sec = pv_inb(0x71);
	pv_outb(0x70, 0x0D);                              /* NMI back on */
	int ok = (regb & 4) ? sec < 60 : ((sec & 0xF) < 10 && sec < 0x60);
	st_check(ok, "CMOS seconds register holds a valid value", "reg B 0x%x seconds 0x%x", regb, sec);

	st_eq("unclaimed port reads 0xFF (inb)", pv_inb(PORT_NONE), 0xFF);
	st_eq("unclaimed port reads 0xFFFF (inw)", pv_inw(PORT_NONE), 0xFFFF);
	st_eq("unclaimed port reads 0xFFFFFFFF (inl)", pv_inl(PORT_NONE), 0xFFFFFFFF);
	pv_outb(UART_SCR, 0x5A);
	a = pv_inb(UART_SCR);
	pv_outb(UART_SCR, 0xC3);
	b = pv_inb(UART_SCR);
	st_check(a == 0x5A && b == 0xC3, "UART scratch register write and read back", "0x%x 0x%x", a, b);

	/* IN writes AL or AX only and no flag (vmm386 calls the port bus from translated code) */
	uint32_t v = 0x12345678, w = 0x9ABCDEF0, fl;
	uint8_t mask = pv_inb(0x21);
	asm volatile("std\n\tstc\n\tinb %%dx, %%al\n\tpushfl\n\tpopl %1\n\tcld"
		     : "+a"(v), "=r"(fl) : "d"(UART_SCR) : "cc", "memory");
	st_check(v == 0x123456C3 && (fl & 0x401) == 0x401, "inb (dx) sets AL only and keeps CF and DF",
		 "eax 0x%x flags 0x%x", v, fl);
	asm volatile("inw %%dx, %%ax" : "+a"(w) : "d"(PORT_NONE));
	st_eq("inw (dx) of an unclaimed port sets AX only", w, 0x9ABCFFFF);
	w = 0x9ABCDEF0;
	asm volatile("inb $0x21, %%al" : "+a"(w));
	st_eq("inb (imm8) sets AL only", w, 0x9ABCDE00u | mask);
}

static void io_string(void)
{
	static const uint8_t src[5] = { 0x11, 0x22, 0x33, 0x44, 0x77 };
	const uint8_t *si = src;
	uint32_t cx = 5;
	asm volatile("cld; rep outsb" : "+S"(si), "+c"(cx) : "d"(UART_SCR) : "memory");
	uint8_t scr = pv_inb(UART_SCR);
	st_check(si == src + 5 && cx == 0 && scr == 0x77, "rep outsb to the UART scratch register",
		 "esi +%d ecx %u scratch 0x%x", (int)(si - src), cx, scr);

	uint8_t buf[16];
	memset(buf, 0, sizeof(buf));
	uint8_t m1 = pv_inb(0x21);
	pv_outb(0x21, 0xB6);
	uint8_t *di = buf;
	cx = 8;
	asm volatile("cld; rep insb" : "+D"(di), "+c"(cx) : "d"(0x21) : "memory");
	int ok = di == buf + 8 && cx == 0 && buf[8] == 0;
	for (int i = 0; i < 8; i++)
		ok &= buf[i] == 0xB6;
	st_check(ok, "rep insb from the PIC IMR", "edi +%d ecx %u", (int)(di - buf), cx);

	memset(buf, 0, sizeof(buf));
	di = buf + 9;
	cx = 4;
	asm volatile("std; rep insb; cld" : "+D"(di), "+c"(cx) : "d"(0x21) : "memory");
	ok = di == buf + 5 && cx == 0 && buf[5] == 0 && buf[10] == 0;
	for (int i = 6; i < 10; i++)
		ok &= buf[i] == 0xB6;
	pv_outb(0x21, m1);
	st_check(ok, "rep insb with DF=1 stores downwards", "edi %d ecx %u", (int)(di - buf), cx);

	uint16_t w[4] = { 0 };
	uint16_t *wd = w;
	cx = 3;
	asm volatile("cld; rep insw" : "+D"(wd), "+c"(cx) : "d"(PORT_NONE) : "memory");
	st_check(wd == w + 3 && w[0] == 0xFFFF && w[2] == 0xFFFF && w[3] == 0,
		 "rep insw from an unclaimed port", "edi +%d", (int)(wd - w));
	uint32_t l[3] = { 0 };
	uint32_t *ld = l;
	cx = 2;
	asm volatile("cld; rep insl" : "+D"(ld), "+c"(cx) : "d"(PORT_NONE) : "memory");
	st_check(ld == l + 2 && l[0] == 0xFFFFFFFF && l[1] == 0xFFFFFFFF && l[2] == 0,
		 "rep insl from an unclaimed port", "edi +%d", (int)(ld - l));
	const uint32_t *ls = l;
	cx = 2;
	asm volatile("cld; rep outsl" : "+S"(ls), "+c"(cx) : "d"(PORT_NONE) : "memory");
	const uint16_t *ws = w;
	uint32_t cx2 = 3;
	asm volatile("cld; rep outsw" : "+S"(ws), "+c"(cx2) : "d"(PORT_NONE) : "memory");
	st_check(ls == l + 2 && cx == 0 && ws == w + 3 && cx2 == 0,
		 "rep outsw and rep outsl to an unclaimed port", NULL);
}

void st_group_io(void)
{
	io_basic();
	io_string();
}

/* Spin with IF=1 until `ticks` reaches want; returns 0 on timeout. */
static int wait_ticks(uint32_t want)
{
	uint32_t n = 0;
	pv_irq_enable();
	while ((int32_t)(timer_ticks - want) < 0 && ++n < SPIN_LIMIT)
		asm volatile("" ::: "memory");
	pv_irq_disable();
	return n < SPIN_LIMIT;
}

static int wait_irr0(void)
{
	for (uint32_t n = 0; n < SPIN_LIMIT / 16; n++)
		if (pic_read_irr() & 1)
			return 1;
	return 0;
}

/* 1 MiB rep movsb with the timer running: the copy must be exact however often it is
 * interrupted and resumed. */
static void timer_rep_movs(void)
{
	uint8_t *src = (uint8_t *)0x400000, *dst = (uint8_t *)0x500000;
	const uint32_t len = 0x100000;
	if (mb_mem_upper < 6 * 1024) {
		st_note("skipped: rep movsb of 1 MiB needs 6 MiB of RAM");
		st_check(1, "rep movsb of 1 MiB with the timer running", NULL);
		return;
	}
	for (uint32_t i = 0; i < len; i += 4)
		*(uint32_t *)(src + i) = i * 2654435761u;
	memset(dst, 0, len);
	uint32_t cx = len;
	uint8_t *si = src, *di = dst;
	asm volatile("sti; cld; rep movsb; cli" : "+S"(si), "+D"(di), "+c"(cx) :: "memory");
	int ok = cx == 0 && si == src + len && di == dst + len && !memcmp(src, dst, len);
	st_check(ok, "rep movsb of 1 MiB with the timer running", "ecx %u", cx);
}

void st_group_timer(void)
{
	timer_ticks = 0;
	pit_start(1000);
	pic_mask(0, 0);
	uint32_t t0 = timer_ticks;
	int ok = wait_ticks(t0 + 3);
	st_check(ok, "timer IRQ0 arrives while spinning with IF=1", "ticks %u", timer_ticks - t0);
	st_check(ok && !(irq0_eflags & EFLAGS_IF), "IRQ0 handler runs with IF=0 (interrupt gate)",
		 "eflags 0x%x", irq0_eflags);

	t0 = timer_ticks;
	for (int i = 0; i < 5; i++) {
		uint32_t before = timer_ticks;
		asm volatile("sti; hlt; cli" ::: "memory");
		if (timer_ticks == before)
			break;
	}
	st_check(timer_ticks - t0 >= 5, "sti; hlt returns after each timer interrupt", "%u ticks",
		 timer_ticks - t0);

	/* IRQ pending in the IRR while IF=0: not taken; sti;cli (STI shadow) still not;
	 * sti;nop;cli takes it. */
	t0 = timer_ticks;
	int pending = wait_irr0();
	uint32_t t1 = timer_ticks;
	asm volatile("sti; cli" ::: "memory");
	uint32_t t2 = timer_ticks;
	asm volatile("sti; nop; cli" ::: "memory");
	uint32_t t3 = timer_ticks;
	st_check(pending && t1 == t0, "IRQ0 stays pending while IF=0", "pending %d ticks %u",
		 pending, t1 - t0);
	st_check(pending && t2 == t1, "sti; cli takes no pending interrupt (STI shadow)",
		 "ticks %u", t2 - t1);
	st_check(pending && t3 != t2, "sti; nop takes the pending interrupt", "ticks %u", t3 - t2);

	timer_rep_movs();
	pic_mask(0, 1);
	pv_irq_disable();
}
