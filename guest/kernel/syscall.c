/*
 * syscall.c - INT 0x80: EAX = number, arguments in EBX, ECX, EDX (abi.h), result in EAX.
 *
 * Every user pointer is validated (and its pages made present) by mm.c before the kernel
 * touches it; a bad pointer gives -1, it never faults in the kernel.
 */
#include "kernel.h"

#define MAX_ARGS   32
#define MAX_ARGLEN 128

static int fd_alloc(struct file *f, int from)
{
	for (int i = from; i < NFD; i++) {
		if (!cur->fd[i]) {
			cur->fd[i] = f;
			return i;
		}
	}
	return -1;
}

static struct file *fd_get(uint32_t fd)
{
	return fd < NFD ? cur->fd[fd] : NULL;
}

/* exec copies name and arguments into the kernel first: the old address space goes away. */
static char exec_name[32];
static char exec_strs[MAX_ARGS][MAX_ARGLEN];
static char *exec_argv[MAX_ARGS + 1];

static int sys_exec(struct trap_frame *f, uint32_t uname, uint32_t uargv)
{
	if (strncpy_from_user(exec_name, uname, sizeof(exec_name)) < 0)
		return -1;
	int argc = 0;
	for (; uargv; argc++) {
		uint32_t p;
		if (copy_from_user(&p, uargv + 4 * (uint32_t)argc, 4) < 0)
			return -1;
		if (!p)
			break;
		if (argc == MAX_ARGS || strncpy_from_user(exec_strs[argc], p, MAX_ARGLEN) < 0)
			return -1;
		exec_argv[argc] = exec_strs[argc];
	}
	exec_argv[argc] = NULL;
	return proc_exec(f, exec_name, argc, exec_argv);
}

static int sys_sbrk(int32_t incr)
{
	uint32_t old = cur->brk;
	uint32_t nb = old + (uint32_t)incr;
	if ((incr > 0 && (nb < old || nb > USER_HEAP_MAX)) || (incr < 0 && (nb > old || nb < cur->heap_lo)))
		return -1;
	if (incr > 0 && (uint32_t)incr / PAGE_SIZE > frames_free())
		return -1;
	if (incr < 0)
		as_unmap_range(cur->pd, PG_ROUNDUP(nb), PG_ROUNDUP(old));
	cur->brk = nb;
	return (int)old;
}

/* SYS_IOBENCH: n port reads inside one system call (the port I/O nanobenchmark).  The
 * register is COM1's scratch register: no side effect on the UART, present on vmm386's and
 * QEMU's 16550A; the PV kernel reaches it through PV_HC_PORT_IO (pvops_pv.h). */
#define IOBENCH_PORT (0x3F8 + 7)

static int sys_iobench(uint32_t n)
{
	uint8_t v = 0;
	pv_outb(IOBENCH_PORT, 0x5A);
	for (uint32_t i = 0; i < n; i++)
		v = pv_inb(IOBENCH_PORT);
	return v;
}

/* SYS_APICBENCH (kind, n): the local APIC nanobenchmarks, n operations inside one system
 * call: 0 an EOI write (nothing is in service: the kernel's interrupts come through the
 * 8259), 1 a timer reprogram (a write of the initial count, the LVT entry masked, divide
 * by 1; the timer is stopped again after), 2 a read of the ID register.  The native kernel
 * reaches the LAPIC through APIC_VA (mm.c); the PV kernel has none and returns -1. */
static int sys_apicbench(uint32_t kind, uint32_t n)
{
#ifdef PV_GUEST
	(void)kind;
	(void)n;
	return -1;
#else
	volatile uint32_t *lapic = (volatile uint32_t *)(APIC_VA + 0x200000);
	uint32_t sum = 0;
	switch (kind) {
	case 0:
		for (uint32_t i = 0; i < n; i++)
			lapic[0xB0 / 4] = 0;
		break;
	case 1:
		lapic[0x3E0 / 4] = 0xB;
		lapic[0x320 / 4] = 0x10000 | 0xEF;
		for (uint32_t i = 0; i < n; i++)
			lapic[0x380 / 4] = 0x10000000u + i;
		lapic[0x380 / 4] = 0;
		break;
	case 2:
		for (uint32_t i = 0; i < n; i++)
			sum |= lapic[0x20 / 4];
		break;
	default:
		return -1;
	}
	return (int)(sum >> 24);
#endif
}

static int sys_pipe(uint32_t ufds)
{
	struct file *r, *w;
	if (user_range_ok(ufds, 8, 1) < 0 || pipe_create(&r, &w) < 0)
		return -1;
	int fds[2] = { fd_alloc(r, 0), -1 };
	if (fds[0] >= 0)
		fds[1] = fd_alloc(w, 0);
	if (fds[1] < 0) {
		if (fds[0] >= 0)
			cur->fd[fds[0]] = NULL;
		file_close(r);
		file_close(w);
		return -1;
	}
	copy_to_user(ufds, fds, 8);
	return 0;
}

void syscall_dispatch(struct trap_frame *f)
{
	uint32_t a = f->ebx, b = f->ecx, c = f->edx;
	int r = -1;
	struct file *file;
	switch (f->eax) {
	case SYS_EXIT:
		proc_exit((int)((a & 0xFF) << 8));
	case SYS_FORK:
		r = proc_fork(f);
		break;
	case SYS_EXEC:
		if (sys_exec(f, a, b) == 0) {
			cur->de_skip = 0;
			return;                     /* the frame now starts the new program */
		}
		break;
	case SYS_WAIT:
		r = proc_wait((int)a, b, (int)c);
		break;
	case SYS_GETPID:
		r = cur->pid;
		break;
	case SYS_GETPPID:
		r = cur->ppid;
		break;
	case SYS_YIELD:
		yield();
		r = 0;
		break;
	case SYS_SLEEP:
		sleep_ticks(a);
		r = 0;
		break;
	case SYS_SBRK:
		r = sys_sbrk((int32_t)a);
		break;
	case SYS_READ:
		r = (file = fd_get(a)) ? file_read(file, b, c) : -1;
		break;
	case SYS_WRITE:
		r = (file = fd_get(a)) ? file_write(file, b, c) : -1;
		break;
	case SYS_PIPE:
		r = sys_pipe(a);
		break;
	case SYS_CLOSE:
		if ((file = fd_get(a))) {
			cur->fd[a] = NULL;
			file_close(file);
			r = 0;
		}
		break;
	case SYS_DUP:
		if ((file = fd_get(a)) && (r = fd_alloc(file, 0)) >= 0)
			file_dup(file);
		break;
	case SYS_DUP2:
		if ((file = fd_get(a)) && b < NFD) {
			if (a != b) {
				if (cur->fd[b])
					file_close(cur->fd[b]);
				cur->fd[b] = file_dup(file);
			}
			r = (int)b;
		}
		break;
	case SYS_UPTIME:
		r = (int)ticks;
		break;
	case SYS_PROGNAME: {
		const struct program *p = program_get((int)a);
		if (p) {
			uint32_t n = strlen(p->name) + 1;
			if (n <= c && copy_to_user(b, p->name, n) == 0)
				r = (int)n - 1;
		}
		break;
	}
	case SYS_PTEBENCH:
		r = pte_toggle_bench(a, b);
		break;
	case SYS_TSCKHZ:
		r = (int)tsc_khz;
		break;
	case SYS_HALT:
		machine_exit(a);
	case SYS_MEMINFO:
		r = (int)frames_free();
		break;
	case SYS_IOBENCH:
		r = sys_iobench(a);
		break;
	case SYS_APICBENCH:
		r = sys_apicbench(a, b);
		break;
	case SYS_DIVSKIP:
		if (a < 16) {
			cur->de_skip = (uint8_t)a;
			r = 0;
		}
		break;
	}
	f->eax = (uint32_t)r;
}
