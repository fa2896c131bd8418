/*
 * abi.h - the system-call interface between guest/kernel/ and guest/user/.
 *
 * INT 0x80 with EAX = number, arguments in EBX, ECX, EDX, ESI, EDI; the result comes back
 * in EAX (negative: error).  Wait statuses follow Unix: exit(c) gives (c & 0xFF) << 8, a
 * process killed by the kernel gives the signal number in the low 7 bits.
 */
#ifndef GUEST_ABI_H
#define GUEST_ABI_H

enum {
	SYS_EXIT = 0,    /* (status) */
	SYS_FORK,        /* () -> child pid / 0 */
	SYS_EXEC,        /* (name, argv) -> only on error */
	SYS_WAIT,        /* (pid or -1, int *status, options) -> pid, 0 (WNOHANG), -1 */
	SYS_GETPID,      /* () */
	SYS_YIELD,       /* () */
	SYS_SLEEP,       /* (ticks) */
	SYS_SBRK,        /* (increment) -> old break, -1 */
	SYS_READ,        /* (fd, buf, n) */
	SYS_WRITE,       /* (fd, buf, n) */
	SYS_PIPE,        /* (int fds[2]) */
	SYS_CLOSE,       /* (fd) */
	SYS_DUP,         /* (fd) -> lowest free fd */
	SYS_DUP2,        /* (fd, newfd) */
	SYS_UPTIME,      /* () -> timer ticks (HZ per second) */
	SYS_PROGNAME,    /* (i, buf, n) -> length of built-in program i's name, -1 past the end */
	SYS_PTEBENCH,    /* (va, n): toggle the W bit of va's PTE n times, INVLPG each */
	SYS_TSCKHZ,      /* () -> TSC frequency in kHz */
	SYS_HALT,        /* (code): power off through isa-debug-exit */
	SYS_MEMINFO,     /* () -> free frames */
	SYS_GETPPID,     /* () */
	SYS_IOBENCH,     /* (n): write 0x5A to COM1's scratch register, read it n times -> last value */
	SYS_DIVSKIP,     /* (len): a #DE no longer kills the caller, it resumes len bytes past the
			  * faulting instruction (len 1..15; 0: kill again).  Not inherited; exec clears it */
	SYS_APICBENCH,   /* (kind, n): n LAPIC EOI writes (0), timer reprograms (1) or ID reads (2);
			  * -> the APIC ID, or -1 without a LAPIC (the PV kernel) */
	NSYSCALLS
};

#define WNOHANG 1

#define WIFEXITED(s)   (((s) & 0x7F) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xFF)
#define WIFSIGNALED(s) (((s) & 0x7F) != 0)
#define WTERMSIG(s)    ((s) & 0x7F)

#define SIGILL  4
#define SIGFPE  8
#define SIGSEGV 11

#define HZ_TICKS 100

#endif
