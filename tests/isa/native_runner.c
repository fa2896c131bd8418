/*
 * native_runner.c - runs isa-diff's test cases on the host CPU in 32-bit mode.
 *
 * Built with gcc -m32 (non-PIE, no stack protector: the signal handler runs while %gs may
 * hold the test's selector instead of glibc's TLS one).  It maps the code page, the data
 * area and its signal stack at the fixed addresses of isa.h, and creates LDT data segments:
 * FS at ISA_FS_BASE, GS at ISA_GS_BASE and the non-flat DS/ES/SS at ISA_NF_BASE, so
 * segment overrides and 16-bit addressing reach the same linear addresses as in the
 * guest; and for ISA_ENV_LIMIT an FS with a 4 KiB limit and a read-only GS.
 *
 * Protocol (stdin/stdout, binary, see isa.h): after setup it writes the 4-byte word
 * NR_READY; then for each struct isa_in it answers one struct isa_out.  A case is: write
 * the windows' bytes, the instruction and an exit pad at each landing offset, run it
 * (native_entry.S), read back the windows, put the background and HLT bytes back.
 *
 * A fault in the instruction is recorded from the signal context (vector = trap number,
 * error code, fault address, the registers at the fault) and execution resumes in the
 * runner; a fault at an EIP outside the code page (a wild branch) is recorded as
 * ISA_EXC_LEFT.  A fault in the runner's own entry/exit code is a runner bug: message and
 * exit status 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <asm/ldt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "isa.h"

#define NR_READY 0x5244594eu
#define SEL_FS 0x07u   /* LDT entry 0, TI = 1, RPL 3 */
#define SEL_GS 0x0Fu   /* LDT entry 1 */
#define SEL_NF 0x17u   /* LDT entry 2 */
#define SEL_FSLIM 0x1Fu   /* LDT entry 3: FS base, limit ISA_FS_LIMIT */
#define SEL_GSRO 0x27u    /* LDT entry 4: GS base, read-only */

/* Shared with native_entry.S. */
uint32_t nr_in_regs[8], nr_in_eflags, nr_out_regs[8], nr_out_eflags, nr_landing;
uint32_t nr_sel_es, nr_sel_ss, nr_sel_ds, nr_sel_fs, nr_sel_gs;
uint32_t nr_host_ds, nr_host_es, nr_host_fs, nr_host_gs, nr_host_ss, nr_host_esp;
uint32_t nr_code_ptr = ISA_CODE;
uint8_t nr_fpu_in[512] __attribute__((aligned(16)));
uint8_t nr_fpu_out[512] __attribute__((aligned(16)));
uint8_t nr_fpu_clean[512] __attribute__((aligned(16)));
uint8_t nr_tmp_stack[4096] __attribute__((aligned(16)));
int nr_enter(void);
extern const char nr_exit[], nr_fault_resume[], nr_entry_end[];

static volatile int armed;
static uint32_t host_ds, host_ss;     /* the flat selectors Linux gives a 32-bit process */
static struct { uint32_t regs[8], eflags, eip, exc, err, addr; } fault;

/* Leave from inside the signal handler without libc (%gs may not be glibc's). */
static void __attribute__((noreturn)) die_raw(const char *msg)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "0"(SYS_write), "b"(2), "c"(msg), "d"(strlen(msg)) : "memory");
	for (;;)
		__asm__ volatile("int $0x80" : : "a"(SYS_exit_group), "b"(3));
}

static void hex(char *p, uint32_t v, int n)
{
	while (n-- > 0) {
		p[n] = "0123456789abcdef"[v & 15];
		v >>= 4;
	}
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	static const int map[8] = { REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI };
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	uint32_t eip = (uint32_t)g[REG_EIP];

	bool ours = eip - (uint32_t)(uintptr_t)nr_enter < (uint32_t)(nr_entry_end - (const char *)nr_enter);
	if (!armed || ours) {
		static char msg[] = "native_runner: fault in the runner itself: signal ..., trap ..., "
				    "eip ........\n";
		char *p = strchr(msg, '.');
		hex(p, (uint32_t)sig, 3);
		hex(p + 10, (uint32_t)g[REG_TRAPNO], 3);
		hex(p + 19, eip, 8);
		die_raw(msg);
	}
	for (int i = 0; i < 8; i++)
		fault.regs[i] = (uint32_t)g[map[i]];
	fault.eflags = (uint32_t)g[REG_EFL];
	fault.eip = eip - ISA_CODE;
	fault.exc = eip - ISA_CODE < ISA_CODE_SIZE ? (uint32_t)g[REG_TRAPNO] : ISA_EXC_LEFT;
	fault.err = (uint32_t)g[REG_ERR];
	fault.addr = (uint32_t)(uintptr_t)si->si_addr;
	g[REG_EIP] = (greg_t)(uintptr_t)nr_fault_resume;
	g[REG_ESP] = (greg_t)(uintptr_t)(nr_tmp_stack + sizeof(nr_tmp_stack));
	g[REG_DS] = (greg_t)nr_host_ds;
	g[REG_ES] = (greg_t)nr_host_es;
	g[REG_FS] = (greg_t)nr_host_fs;
	g[REG_GS] = (greg_t)nr_host_gs;
	g[REG_SS] = (greg_t)nr_host_ss;
	g[REG_EFL] &= ~(greg_t)(ISA_FL_DF | 0x100 | 0x40000);   /* DF, TF, AC */
}

static int map_fixed(uint32_t addr, uint32_t len, int prot)
{
	void *p = mmap((void *)(uintptr_t)addr, len, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)(uintptr_t)addr) {
		fprintf(stderr, "native_runner: cannot map %#x (+%#x)\n", addr, len);
		return -1;
	}
	return 0;
}

static int ldt_entry(unsigned n, uint32_t base, uint32_t limit, bool pages, bool ro)
{
	struct user_desc d = {
		.entry_number = n, .base_addr = base, .limit = limit, .seg_32bit = 1,
		.contents = 0, .read_exec_only = ro, .limit_in_pages = pages,
		.seg_not_present = 0, .useable = 1,
	};
	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0) {
		perror("native_runner: modify_ldt");
		return -1;
	}
	return 0;
}

static int setup(void)
{
	if (map_fixed(ISA_CODE, ISA_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC) < 0 ||
	    map_fixed(ISA_DATA, ISA_DATA_SIZE, PROT_READ | PROT_WRITE) < 0 ||
	    map_fixed(ISA_ALTSTACK, ISA_ALTSTACK_SIZE, PROT_READ | PROT_WRITE) < 0)
		return -1;
	memset((void *)(uintptr_t)ISA_CODE, 0xF4, ISA_CODE_SIZE);
	for (uint32_t a = ISA_DATA; a < ISA_DATA + ISA_DATA_SIZE; a++)
		*(uint8_t *)(uintptr_t)a = isa_bg(a);
	if (ldt_entry(0, ISA_FS_BASE, 0xFFFFF, true, false) < 0 ||
	    ldt_entry(1, ISA_GS_BASE, 0xFFFFF, true, false) < 0 ||
	    ldt_entry(2, ISA_NF_BASE, 0xFFFFF, true, false) < 0 ||
	    ldt_entry(3, ISA_FS_BASE, ISA_FS_LIMIT, false, false) < 0 ||
	    ldt_entry(4, ISA_GS_BASE, 0xFFFFF, true, true) < 0)
		return -1;
	stack_t ss = { .ss_sp = (void *)(uintptr_t)ISA_ALTSTACK, .ss_size = ISA_ALTSTACK_SIZE };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) < 0)
		return -1;
	int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	__asm__ volatile("fninit; fxsave %0" : "=m"(nr_fpu_clean));
	__asm__ volatile("movl %%ds, %0; movl %%ss, %1" : "=r"(host_ds), "=r"(host_ss));
	return 0;
}

/* The exit pad at landing offset off (ISA_PAD_BYTES): mov ds, cs:[nr_host_ds];
 * mov dword [nr_landing], off; jmp nr_exit. */
static void put_pad(uint32_t off)
{
	uint8_t *p = (uint8_t *)(uintptr_t)(ISA_CODE + off);
	uint32_t a = (uint32_t)(uintptr_t)&nr_host_ds, l = (uint32_t)(uintptr_t)&nr_landing;
	uint32_t rel = (uint32_t)(uintptr_t)nr_exit - (ISA_CODE + off + ISA_PAD_BYTES);
	p[0] = 0x2E; p[1] = 0x8E; p[2] = 0x1D; memcpy(p + 3, &a, 4);
	p[7] = 0xC7; p[8] = 0x05; memcpy(p + 9, &l, 4); memcpy(p + 13, &off, 4);
	p[17] = 0xE9; memcpy(p + 18, &rel, 4);
}

static void load_case(const struct isa_in *in)
{
	uint32_t off = 0;
	memcpy((void *)(uintptr_t)ISA_CODE, in->code, in->code_len);
	for (uint32_t i = 0; i < in->npad; i++)
		put_pad(in->pad[i]);
	for (uint32_t i = 0; i < in->nwin; i++) {
		memcpy((void *)(uintptr_t)in->win[i].addr, in->mem + off, in->win[i].len);
		off += in->win[i].len;
	}
	memcpy(nr_in_regs, in->regs, sizeof(nr_in_regs));
	nr_in_eflags = (in->eflags & ISA_FL_USER) | 0x202;
	nr_sel_fs = in->env == ISA_ENV_LIMIT ? SEL_FSLIM : SEL_FS;
	nr_sel_gs = in->env == ISA_ENV_LIMIT ? SEL_GSRO : SEL_GS;
	if (in->env == ISA_ENV_NONFLAT) {
		nr_sel_ds = nr_sel_es = nr_sel_ss = SEL_NF;
	} else {
		nr_sel_ds = nr_sel_es = host_ds;
		nr_sel_ss = host_ss;
	}
	memcpy(nr_fpu_in, in->fpu, sizeof(nr_fpu_in));
}

/* Read the windows back, then put background and HLT bytes where the case wrote. */
static void unload_case(const struct isa_in *in, struct isa_out *out)
{
	uint32_t off = 0;
	for (uint32_t i = 0; i < in->nwin; i++) {
		memcpy(out->mem + off, (void *)(uintptr_t)in->win[i].addr, in->win[i].len);
		off += in->win[i].len;
	}
	out->memlen = off;
	for (uint32_t i = 0; i < in->nwin; i++)
		for (uint32_t a = in->win[i].addr; a < in->win[i].addr + in->win[i].len; a++)
			*(uint8_t *)(uintptr_t)a = isa_bg(a);
	memset((void *)(uintptr_t)ISA_CODE, 0xF4, ISA_CODE_DIRTY);
}

static void run_case(const struct isa_in *in, struct isa_out *out)
{
	memset(out, 0, offsetof(struct isa_out, mem));
	load_case(in);
	armed = 1;
	int faulted = nr_enter();
	armed = 0;
	if (!faulted) {
		memcpy(out->regs, nr_out_regs, sizeof(out->regs));
		out->eflags = nr_out_eflags;
		out->eip = nr_landing;
		out->exc = ISA_NO_EXC;
	} else {
		memcpy(out->regs, fault.regs, sizeof(out->regs));
		out->eflags = fault.eflags;
		out->eip = fault.eip;
		out->exc = fault.exc;
		out->err = fault.err;
		out->addr = fault.addr;
	}
	memcpy(out->fpu, nr_fpu_out, sizeof(out->fpu));
	unload_case(in, out);
}

/* Count (and repair) data-area bytes that differ from the background. */
static void check_data(struct isa_out *out)
{
	memset(out, 0, offsetof(struct isa_out, mem));
	for (uint32_t a = ISA_DATA; a < ISA_DATA + ISA_DATA_SIZE; a++) {
		uint8_t *p = (uint8_t *)(uintptr_t)a;
		if (*p != isa_bg(a)) {
			if (!out->status++)
				out->addr = a;
			*p = isa_bg(a);
		}
	}
}

static int windows_ok(const struct isa_in *in)
{
	if (in->nwin > ISA_MAXWIN || isa_memlen(in) > ISA_MEMMAX || in->code_len > 16 || in->npad > 2)
		return 0;
	for (uint32_t i = 0; i < in->nwin; i++)
		if (in->win[i].addr < ISA_DATA || in->win[i].len > ISA_DATA_SIZE ||
		    in->win[i].addr - ISA_DATA > ISA_DATA_SIZE - in->win[i].len)
			return 0;
	for (uint32_t i = 0; i < in->npad; i++)
		if (in->pad[i] < in->code_len || in->pad[i] + ISA_PAD_BYTES > ISA_CODE_DIRTY)
			return 0;
	return 1;
}

static int io_full(int fd, void *buf, size_t n, int wr)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = wr ? write(fd, p, n) : read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int main(void)
{
	static struct isa_in in;
	static struct isa_out out;
	uint32_t ready = NR_READY;

	if (setup() < 0)
		return 2;
	if (io_full(1, &ready, sizeof(ready), 1) < 0)
		return 2;
	for (;;) {
		if (io_full(0, &in, offsetof(struct isa_in, mem), 0) < 0)
			return 0;
		if (!windows_ok(&in) || io_full(0, in.mem, isa_memlen(&in), 0) < 0)
			return 2;
		if (in.cmd == ISA_CMD_CHECK)
			check_data(&out);
		else
			run_case(&in, &out);
		if (io_full(1, &out, isa_out_size(&out), 1) < 0)
			return 2;
	}
}
