/*
 * selftest.c - `-append selftest`: the CPL-0 self test of instructions and platform devices.
 *
 * It checks the architectural result a guest must see (Intel SDM vol. 2 and 3), never a
 * host- or model-specific value, so that the same image passes with the same lines under
 * qemu-system-i386, vmm386 and on hardware.  The groups live in st_*.c; this file holds the
 * check bookkeeping and the closing "N passed, N failed" line.
 */
#include "selftest.h"

static int n_checks, n_failed, n_deviations;

void st_check(int ok, const char *name, const char *fmt, ...)
{
	n_checks++;
	if (ok) {
		kprintf("ok %d - %s\n", n_checks, name);
		return;
	}
	char detail[160] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		kvsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	n_failed++;
	kprintf("not ok %d - %s (%s)\n", n_checks, name, detail);
}

void st_eq(const char *name, uint32_t got, uint32_t want)
{
	st_check(got == want, name, "got 0x%x, want 0x%x", got, want);
}

void st_fault(const char *name, int vector, int32_t err, uint32_t eip)
{
	int ok = trap_last.count == 1 && trap_last.vector == vector &&
		 (err == NO_ERR || trap_last.err == (uint32_t)err) &&
		 (eip == ANY_EIP || trap_last.eip == eip) && trap_last.cs == SEL_KCODE;
	st_check(ok, name, "%u exceptions, last vector %d error 0x%x at %x:%x; want vector %d error 0x%x at %x",
		 trap_last.count, trap_last.vector, trap_last.err, trap_last.cs, trap_last.eip,
		 vector, (uint32_t)err, eip);
}

void st_ufault(const char *name, int vector, int32_t err, uint32_t eip)
{
	int ok = trap_last.count == 1 && trap_last.vector == vector &&
		 (err == NO_ERR || trap_last.err == (uint32_t)err) &&
		 (eip == ANY_EIP || trap_last.eip == eip) && trap_last.cs == USEL_CODE &&
		 trap_last.ss == USEL_DATA && trap_last.frame_end == (uint32_t)ring3_kstack_top;
	st_check(ok, name, "%u exceptions, last vector %d error 0x%x at %x:%x ss:esp %x:%x frame end %x; "
		 "want vector %d error 0x%x at %x", trap_last.count, trap_last.vector, trap_last.err,
		 trap_last.cs, trap_last.eip, trap_last.ss, trap_last.esp, trap_last.frame_end,
		 vector, (uint32_t)err, eip);
}

void st_nofault(const char *name)
{
	st_check(trap_last.count == 0, name, "exception %d error 0x%x at %x", trap_last.vector,
		 trap_last.err, trap_last.eip);
}

void st_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf("# ", fmt, ap);
	va_end(ap);
	console_write("\n");
}

void st_deviation(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf("# deviation: ", fmt, ap);
	va_end(ap);
	n_deviations++;
	console_write("\n");
}

void st_fault_or_deviation(const char *name, int vector, int32_t err, uint32_t eip, const char *what)
{
	if (trap_last.count == 0) {
		st_deviation("%s: no exception", what);
		st_check(1, name, NULL);
	} else {
		st_fault(name, vector, err, eip);
	}
}

uint32_t st_cpuid1_edx(void)
{
	uint32_t r[4];
	pv_cpuid(0, 0, r);
	if (r[0] < 1)
		return 0;
	pv_cpuid(1, 0, r);
	return r[3];
}

uint32_t st_popf_pushf(uint32_t v)
{
	uint32_t r;
	asm volatile("pushfl\n\tpushl %1\n\tpopfl\n\tpushfl\n\tpopl %0\n\tpopfl"
		     : "=r"(r) : "r"(v) : "cc", "memory");
	return r;
}

/*
 * Recovery from an unexpected exception: each group runs under st_setjmp(); the trap handler
 * sends an unexpected exception to st_escape, which reloads flat segments and CS and
 * st_longjmps back to the runner, which reports one failed check and goes on with the next
 * group.  The buffer holds EBX ESI EDI EBP ESP EIP.
 */
uint32_t st_jmpbuf[6];
int st_setjmp(uint32_t *buf);
void st_escape(void);
asm(".text\n"
    "st_setjmp:\n\t"
    "movl 4(%esp), %eax\n\t"
    "movl %ebx, 0(%eax)\n\tmovl %esi, 4(%eax)\n\tmovl %edi, 8(%eax)\n\tmovl %ebp, 12(%eax)\n\t"
    "leal 4(%esp), %ecx\n\tmovl %ecx, 16(%eax)\n\tmovl (%esp), %ecx\n\tmovl %ecx, 20(%eax)\n\t"
    "xorl %eax, %eax\n\tret\n"
    "st_escape:\n\t"
    "cli\n\tcld\n\t"
    "movw $0x10, %ax\n\tmovw %ax, %ss\n\tmovw %ax, %ds\n\tmovw %ax, %es\n\t"
    "movw %ax, %fs\n\tmovw %ax, %gs\n\t"
    "ljmp $0x08, $1f\n"
    "1:\tmovl $st_jmpbuf, %edx\n\t"
    "movl 0(%edx), %ebx\n\tmovl 4(%edx), %esi\n\tmovl 8(%edx), %edi\n\tmovl 12(%edx), %ebp\n\t"
    "movl 16(%edx), %esp\n\tmovl $1, %eax\n\tjmp *20(%edx)\n");

/* Put back what a group may have left changed when it was cut short. */
static void st_recover(void)
{
	struct pv_dtr d = { sizeof(idt) - 1, (uint32_t)idt };
	pv_write_cr0(pv_read_cr0() & ~0x80010000u);   /* PG WP: st_paging identity-maps itself */
	gdt_load(gdt, sizeof(gdt) - 1);
	pv_lidt(&d);
	pv_lldt(0);
	ring3_end();
	pv_write_cr0(pv_read_cr0() & ~0xEu);   /* MP EM TS */
	asm volatile("mov %0, %%dr7" :: "r"(0x400u));   /* st_debug: no breakpoint left on */
	trap_db_restart = 0;
	st_apic_quiet();
	pv_outb(0x21, 0xFB);
	pv_outb(0xA1, 0xFF);
}

int selftest_run(void)
{
	static const struct {
		void (*run)(void);
		const char *name;
	} groups[] = {
		{ st_group_flags, "flags" }, { st_group_io, "io" }, { st_group_timer, "timer" },
		{ st_group_cr, "cr" }, { st_group_debug, "debug" }, { st_group_tables, "tables" }, { st_group_cpu, "cpu" },
		{ st_group_seg, "seg" }, { st_group_far, "far" }, { st_group_exc, "exc" },
		{ st_group_insn, "insn" }, { st_group_bcd, "bcd" }, { st_group_string, "string" },
		{ st_group_16bit, "16bit" }, { st_group_smc, "smc" }, { st_group_ring3, "ring3" },
		{ st_group_mp, "mp" }, { st_group_lapic, "lapic" }, { st_group_ioapic, "ioapic" },
		{ st_group_ide, "ide" }, { st_group_paging, "paging" },
	};
	pv_irq_disable();
	trap_reset();
	for (unsigned i = 0; i < ARRAY_SIZE(groups); i++) {
		if (groups[i].run == st_group_paging && !selftest_paging)
			continue;
		if (st_setjmp(st_jmpbuf) == 0) {
			trap_escape = st_escape;
			groups[i].run();
		} else {
			st_recover();
			char name[64];
			ksnprintf(name, sizeof(name), "group %s ran without an unexpected exception",
				  groups[i].name);
			st_check(0, name, "exception %d error 0x%x at %x:%x", trap_last.vector,
				 trap_last.err, trap_last.cs, trap_last.eip);
		}
		trap_escape = 0;
		pv_irq_disable();
		trap_reset();
	}
	if (n_deviations)
		kprintf("# %d known platform deviations from the manual (see above)\n", n_deviations);
	kprintf("%d passed, %d failed\n", n_checks - n_failed, n_failed);
	return n_failed;
}
