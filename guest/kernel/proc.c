/*
 * proc.c - processes: the table, fork, exec, exit, wait, kill, and the first process.
 *
 * A process is a slot in procs[] with a static 8 KiB kernel stack.  Its user-mode trap frame
 * always sits at the very top of that stack (the CPU switches to TSS.esp0 = stack top on
 * every entry from CPL 3), so fork builds the child's stack as "saved callee registers,
 * return to trap_return, copy of the parent's frame with EAX = 0": the first swtch() into
 * the child returns straight to user mode.
 *
 * exec loads a program built into the image (programs.c): an ELF32 executable whose PT_LOAD
 * segments are copied into fresh frames (writable only if the segment is), followed by a
 * demand-zero heap and a stack whose first page holds argc/argv.  The new address space is
 * complete before the old one is destroyed, so a failing exec returns -1 to an intact caller.
 *
 * exit closes the files, gives the children to pid 1, frees the address space (after moving
 * to the kernel's directory) and leaves a zombie for wait().  When pid 1 exits, the machine
 * powers off with its exit code through port 0xF4 (a killed pid 1 gives 2).
 */
#include "kernel.h"

struct proc procs[NPROC];
static uint8_t kstacks[NPROC][KSTACK_SIZE] __attribute__((aligned(16)));
static int next_pid = 1;

/* Minimal ELF32 definitions (no libc headers in the kernel). */
struct elf32_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf32_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
#define PT_LOAD 1
#define PF_W    2

void proc_init(void)
{
	for (int i = 0; i < NPROC; i++) {
		procs[i].state = P_FREE;
		procs[i].kstack = kstacks[i];
	}
}

static struct trap_frame *user_frame(struct proc *p)
{
	return (struct trap_frame *)(p->kstack + KSTACK_SIZE) - 1;
}

struct proc *proc_alloc(void)
{
	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &procs[i];
		if (p->state != P_FREE)
			continue;
		uint8_t *ks = p->kstack;
		memset(p, 0, sizeof(*p));
		p->kstack = ks;
		p->pid = next_pid++;
		p->state = P_SLEEPING;          /* not runnable until set up */
		return p;
	}
	return NULL;
}

/* The child's first kernel stack: swtch() pops edi, esi, ebx, ebp and returns to trap_return. */
static void prepare_stack(struct proc *p, const struct trap_frame *f)
{
	struct trap_frame *tf = user_frame(p);
	*tf = *f;
	uint32_t *sp = (uint32_t *)tf;
	*--sp = (uint32_t)trap_return;
	*--sp = 0;
	*--sp = 0;
	*--sp = 0;
	*--sp = 0;
	p->kesp = (uint32_t)sp;
}

int proc_fork(struct trap_frame *f)
{
	struct proc *c = proc_alloc();
	if (!c)
		return -1;
	c->pd = as_fork(cur->pd);
	if (!c->pd) {
		c->state = P_FREE;
		return -1;
	}
	c->ppid = cur->pid;
	c->heap_lo = cur->heap_lo;
	c->brk = cur->brk;
	memcpy(c->name, cur->name, sizeof(c->name));
	for (int i = 0; i < NFD; i++)
		c->fd[i] = cur->fd[i] ? file_dup(cur->fd[i]) : NULL;
	prepare_stack(c, f);
	user_frame(c)->eax = 0;
	c->state = P_RUNNABLE;
	return c->pid;
}

/* Map [va, va+len) of segment data (or zeros) into pd; pages may be shared by segments. */
static int load_segment(uint32_t pd, const struct elf32_phdr *ph, const uint8_t *file)
{
	uint32_t end = ph->vaddr + ph->memsz;
	for (uint32_t page = ph->vaddr & PAGE_MASK; page < end; page += PAGE_SIZE) {
		uint32_t *pte = as_pte(pd, page, 1);
		if (!pte)
			return -1;
		uint32_t pa, e = pv_get_pte(pte);   /* a page shared with the previous segment */
		if (e & PTE_P) {
			pa = e & PAGE_MASK;
		} else {
			pa = frame_alloc();
			if (!pa)
				return -1;
		}
		/* accessed, and dirty where writable: the kernel has just filled the page, and
		 * the process is about to use it (Linux marks a page young, and dirty for a
		 * write, when it faults it in) */
		uint32_t w = (e & PTE_W) | (ph->flags & PF_W ? PTE_W : 0);
		pv_set_pte(pte, pa | PTE_P | PTE_U | PTE_A | w | (w ? PTE_D : 0));
		/* bytes of the file image that land in this page */
		uint32_t lo = page > ph->vaddr ? page : ph->vaddr;
		uint32_t hi = page + PAGE_SIZE < ph->vaddr + ph->filesz ? page + PAGE_SIZE
									 : ph->vaddr + ph->filesz;
		if (lo < hi)
			memcpy((uint8_t *)P2V(pa) + (lo - page), file + ph->offset + (lo - ph->vaddr),
			       hi - lo);
	}
	return 0;
}

int proc_exec(struct trap_frame *f, const char *name, int argc, char **argv)
{
	const struct program *prog = program_find(name);
	if (!prog)
		return -1;
	const uint8_t *file = prog->start;
	uint32_t size = (uint32_t)(prog->end - prog->start);
	const struct elf32_ehdr *eh = (const void *)file;
	if (size < sizeof(*eh) || memcmp(eh->ident, "\177ELF\1\1", 6) || eh->machine != 3 ||
	    eh->phoff + (uint32_t)eh->phnum * sizeof(struct elf32_phdr) > size)
		return -1;

	/* Arguments: strings, then the argv array, then argc/argv for _start, in one page. */
	uint32_t strbytes = 0;
	for (int i = 0; i < argc; i++)
		strbytes += strlen(argv[i]) + 1;
	if (strbytes + 4 * (uint32_t)argc + 64 > PAGE_SIZE)
		return -1;

	/* One batch from the new directory to the old one's teardown (with the CR3 switch
	 * in between): a PV backend sends the whole exec as one multicall. */
	pv_mmu_batch_begin();
	uint32_t pd = as_create();
	if (!pd) {
		pv_mmu_batch_end();
		return -1;
	}
	uint32_t heap = 0;
	const struct elf32_phdr *ph = (const void *)(file + eh->phoff);
	for (int i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD || !ph[i].memsz)
			continue;
		if (ph[i].vaddr + ph[i].memsz > USER_HEAP_MAX || ph[i].vaddr + ph[i].memsz < ph[i].vaddr ||
		    ph[i].offset + ph[i].filesz > size || load_segment(pd, &ph[i], file) < 0) {
			as_destroy(pd);
			pv_mmu_batch_end();
			return -1;
		}
		if (ph[i].vaddr + ph[i].memsz > heap)
			heap = ph[i].vaddr + ph[i].memsz;
	}
	uint32_t stack_pa = frame_alloc();
	if (!stack_pa || as_map(pd, USER_STACK_TOP - PAGE_SIZE, stack_pa, PTE_W | PTE_U | PTE_A | PTE_D) < 0) {
		if (stack_pa)
			frame_decref(stack_pa);
		as_destroy(pd);
		pv_mmu_batch_end();
		return -1;
	}

	uint8_t *kpage = P2V(stack_pa);
	uint32_t ubase = USER_STACK_TOP - PAGE_SIZE;
	uint32_t off = PAGE_SIZE;
	uint32_t uargv[33];
	for (int i = argc - 1; i >= 0; i--) {
		uint32_t len = strlen(argv[i]) + 1;
		off -= len;
		memcpy(kpage + off, argv[i], len);
		uargv[i] = ubase + off;
	}
	uargv[argc] = 0;
	off &= ~15u;
	off -= 4 * (uint32_t)(argc + 1);
	memcpy(kpage + off, uargv, 4 * (uint32_t)(argc + 1));
	uint32_t uargv_addr = ubase + off;
	off -= 16;                              /* _start(argc, argv), return address 0 */
	off &= ~15u;
	off -= 4;
	((uint32_t *)(kpage + off))[0] = 0;
	((uint32_t *)(kpage + off))[1] = (uint32_t)argc;
	((uint32_t *)(kpage + off))[2] = uargv_addr;

	uint32_t old = cur->pd;
	cur->pd = pd;
	mmu_switch(pd);
	if (old)
		as_destroy(old);
	pv_mmu_batch_end();
	cur->heap_lo = cur->brk = PG_ROUNDUP(heap);
	size_t n = strlen(name);
	if (n >= sizeof(cur->name))
		n = sizeof(cur->name) - 1;
	memcpy(cur->name, name, n);
	cur->name[n] = 0;

	memset(f, 0, sizeof(*f));
	f->eip = eh->entry;
	f->user_esp = ubase + off;
	f->cs = SEL_UCODE | 3;
	f->ds = f->es = f->fs = f->gs = f->user_ss = SEL_UDATA | 3;
	f->eflags = EFLAGS_IF | 0x2;
	return 0;
}

void proc_start_init(const char *name, int argc, char **argv)
{
	struct proc *p = proc_alloc();
	cur = p;
	p->state = P_RUNNING;
	struct file *con = file_console();
	p->fd[0] = con;
	p->fd[1] = file_dup(con);
	p->fd[2] = file_dup(con);
	struct trap_frame *f = user_frame(p);
	if (proc_exec(f, name, argc, argv) < 0)
		panic("cannot start %s", name);
	pv_set_kernel_stack((uint32_t)(p->kstack + KSTACK_SIZE));
	asm volatile("movl %0, %%esp\n\tjmp trap_return" :: "r"(f) : "memory");
	__builtin_unreachable();
}

void proc_exit(int status)
{
	struct proc *p = cur;
	for (int i = 0; i < NFD; i++) {
		if (p->fd[i]) {
			file_close(p->fd[i]);
			p->fd[i] = NULL;
		}
	}
	struct proc *init = NULL, *parent = NULL;
	for (int i = 0; i < NPROC; i++) {
		if (procs[i].state == P_FREE)
			continue;
		if (procs[i].pid == 1)
			init = &procs[i];
		if (procs[i].pid == p->ppid)
			parent = &procs[i];
	}
	for (int i = 0; i < NPROC; i++) {
		if (procs[i].state != P_FREE && procs[i].ppid == p->pid && &procs[i] != p) {
			procs[i].ppid = 1;
			if (procs[i].state == P_ZOMBIE && init)
				wakeup(init);
		}
	}
	pv_mmu_batch_begin();                   /* the switch and the teardown: one call */
	mmu_switch(kernel_pd_pa);
	if (p->pd)
		as_destroy(p->pd);
	pv_mmu_batch_end();
	p->pd = 0;
	p->status = status;
	p->state = P_ZOMBIE;
	if (p->pid == 1) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
		machine_exit((uint32_t)code);
	}
	if (parent)
		wakeup(parent);
	schedule();
	panic("zombie %d ran again", p->pid);
}

void proc_kill(struct trap_frame *f, int sig, const char *why)
{
	(void)f;
	kprintf("pid %d (%s) killed: %s\n", cur->pid, cur->name, why);
	proc_exit(sig);
}

int proc_wait(int pid, uint32_t ustatus, int options)
{
	if (ustatus && user_range_ok(ustatus, 4, 1) < 0)
		return -1;
	for (;;) {
		int have = 0;
		for (int i = 0; i < NPROC; i++) {
			struct proc *p = &procs[i];
			if (p->state == P_FREE || p->ppid != cur->pid || p == cur)
				continue;
			if (pid != -1 && p->pid != pid)
				continue;
			have = 1;
			if (p->state != P_ZOMBIE)
				continue;
			int cpid = p->pid;
			if (ustatus && copy_to_user(ustatus, &p->status, 4) < 0)
				return -1;
			p->state = P_FREE;
			return cpid;
		}
		if (!have)
			return -1;
		if (options & WNOHANG)
			return 0;
		sleep_on(cur);
	}
}
