/*
 * gdbstub.c - the gdb remote stub: when the guest stops, what gdb may do then, and how
 * it resumes (see gdb.h for how the stub meets the run loop).
 *
 * States: running (the stub is idle until gdb_pending), stepping (one instruction, then
 * stop; gdb_pending stays set so the loop comes back after every entry) and stopped (the
 * stub holds the vCPU thread and answers packets).  A step is done when the vCPU left
 * translated code for any reason but an exit request (a request comes before the
 * instruction ran); EXIT_REQUEST is written into c->exit_reason as "not yet" when a step
 * begins.  Continuing from an address that has a breakpoint steps that one instruction
 * first (gdb_break_at does not answer for the address a step starts at), then runs.
 *
 * Guest memory is read and written by linear address through the guest's page tables,
 * page by page, as a supervisor; an unmapped page or an address outside RAM is E14.
 * Writes go through emu_phys_write, whose hook drops translations of the bytes written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gdb.h"
#include "gdb_int.h"
#include "../monitor/param.h"
#include "../monitor/run.h"
#include "../codecache/cc.h"
#include "../emulation/emu.h"
#include "../translator/xl.h"

enum state { GS_RUN, GS_STEP, GS_STOPPED };
enum resume { R_STAY, R_CONT, R_STEP, R_DETACH, R_KILL };

struct bp { gla_t addr; int type; };
struct watch { gla_t addr; uint32_t len; };

static struct {
	struct vm *vm;
	enum state state;
	bool step_over;          /* this step only gets past a breakpoint: then run */
	bool hit;                /* EXIT_DEBUG since the last service */
	bool wait;               /* -S: block for the first connection */
	bool held;               /* -S: not resumed yet (a gdb that leaves before does not
				  * release the guest; the next connection is waited for) */
	int sig;                 /* the last stop's signal, for '?' */
	bool forced;             /* c->intr_inhibit was set for a step; its own value: */
	bool inhibit;
	gla_t step_from;         /* stepping: where the step began (its breakpoint is passed) */
	gla_t watch_hit;         /* the watched address written, for the stop reply */
	gla_t watch_pending;     /* a watchpoint hit reported by the run loop, or ~0 */
	struct bp bp[GDB_MAX_BP];
	unsigned nbp;
	struct watch wp[GDB_MAX_WATCH];
	unsigned nwp;
} g;

volatile sig_atomic_t gdb_pending;

/* ---- hex ------------------------------------------------------------------------------ */

int hex_val(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

void hex_put(char *out, const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) {
		*out++ = digits[b[i] >> 4];
		*out++ = digits[b[i] & 15];
	}
	*out = 0;
}

bool hex_get(void *buf, const char *hex, size_t len)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) {
		int h = hex_val(hex[2 * i]), l = h < 0 ? -1 : hex_val(hex[2 * i + 1]);
		if (l < 0)
			return false;
		b[i] = (uint8_t)(h * 16 + l);
	}
	return true;
}

/* "addr,len" (and the rest after it in *rest): false if malformed. */
static bool parse_addr_len(const char *s, uint32_t *addr, uint32_t *len, const char **rest)
{
	char *end;
	*addr = (uint32_t)strtoul(s, &end, 16);
	if (end == s || *end != ',')
		return false;
	s = end + 1;
	*len = (uint32_t)strtoul(s, &end, 16);
	if (end == s)
		return false;
	*rest = end;
	return true;
}

/* ---- guest memory by linear address ----------------------------------------------------- */

/* The guest-physical address of la in RAM for n bytes within its page; false if none. */
static bool lin_to_ram(struct vcpu *c, gla_t la, uint32_t n, gpa_t *gpa)
{
	struct emu_walk w;
	*gpa = la;
	if (c->cr0 & CR0_PG) {
		if (emu_walk(c, la, false, false, &w))
			return false;
		*gpa = w.gpa;
	}
	return vm_gpa_ptr(c->vm, *gpa, n) != NULL;
}

static bool mem_access(struct vcpu *c, gla_t la, uint8_t *buf, uint32_t len, bool write)
{
	while (len > 0) {
		uint32_t n = GUEST_PAGE - (la & (GUEST_PAGE - 1));
		gpa_t gpa;
		if (n > len)
			n = len;
		if (!lin_to_ram(c, la, n, &gpa))
			return false;
		if (write)
			emu_phys_write(c->vm, gpa, buf, n);
		else
			memcpy(buf, c->vm->ram + gpa, n);
		la += n;
		buf += n;
		len -= n;
	}
	return true;
}

static void cmd_read_mem(struct vcpu *c, const char *args, char *out)
{
	static uint8_t buf[GDB_PKT_MAX / 2];
	uint32_t addr, len;
	const char *rest;
	if (!parse_addr_len(args, &addr, &len, &rest) || len > sizeof(buf) - 1)
		strcpy(out, "E01");
	else if (!mem_access(c, addr, buf, len, false))
		strcpy(out, "E14");
	else
		hex_put(out, buf, len);
}

static void cmd_write_mem(struct vcpu *c, const char *args, char *out)
{
	static uint8_t buf[GDB_PKT_MAX / 2];
	uint32_t addr, len;
	const char *rest;
	if (!parse_addr_len(args, &addr, &len, &rest) || *rest != ':' || len > sizeof(buf) ||
	    strlen(rest + 1) != 2 * len || !hex_get(buf, rest + 1, len))
		strcpy(out, "E01");
	else if (!mem_access(c, addr, buf, len, true))
		strcpy(out, "E14");
	else
		strcpy(out, "OK");
}

/* ---- breakpoints ---------------------------------------------------------------------- */

static int bp_find(gla_t addr, int type)
{
	for (unsigned i = 0; i < g.nbp; i++)
		if (g.bp[i].addr == addr && (type < 0 || g.bp[i].type == type))
			return (int)i;
	return -1;
}

/* The translator's question (xl_debug_break): does a block have to end before la? */
bool gdb_break_at(gla_t la)
{
	return bp_find(la, -1) >= 0 && !(g.state == GS_STEP && la == g.step_from);
}

/* Translations of the code at la must be made again: its page's if la is mapped now,
 * else all of them (the address may be mapped in another address space's blocks). */
static void drop_code(struct vcpu *c, gla_t la)
{
	gpa_t gpa;
	if (lin_to_ram(c, la, 1, &gpa))
		cc_invalidate_page(gpa & ~(GUEST_PAGE - 1));
	else
		cc_flush();
}

/* ---- write watchpoints ------------------------------------------------------------------
 *
 * Matched by address, as the CPU's debug registers are: while a watchpoint is set the run
 * loop steps the guest an instruction at a time (monitor/debug.c, which steps the same way
 * for the guest's own data breakpoints), works out each instruction's accesses before it
 * runs and asks gdb_watch_match; after an instruction that wrote watched bytes, even with
 * the value they had, the guest stops (gdb_watch_hit), as on a CPU and in QEMU.
 * Interrupts are taken between instructions as usual.
 */

bool gdb_watching(void)
{
	return g.nwp > 0;
}

bool gdb_watch_match(gla_t la, uint64_t len, bool write, gla_t *hit)
{
	for (unsigned i = 0; write && i < g.nwp; i++)
		if ((uint64_t)la < (uint64_t)g.wp[i].addr + g.wp[i].len && g.wp[i].addr < la + len) {
			*hit = g.wp[i].addr;
			return true;
		}
	return false;
}

void gdb_watch_hit(gla_t addr)
{
	g.watch_pending = addr;
	gdb_pending = 1;
}

static void cmd_watchpoint(const char *args, bool insert, char *out)
{
	uint32_t addr, len;
	const char *rest;
	if (args[1] != ',' || !parse_addr_len(args + 2, &addr, &len, &rest) || len == 0 || len > 8) {
		strcpy(out, "E01");
		return;
	}
	unsigned i = 0;
	while (i < g.nwp && (g.wp[i].addr != addr || g.wp[i].len != len))
		i++;
	if (insert && i == g.nwp) {
		if (g.nwp == GDB_MAX_WATCH) {
			strcpy(out, "E28");
			return;
		}
		g.wp[g.nwp++] = (struct watch){ .addr = addr, .len = len };
	} else if (!insert && i < g.nwp) {
		g.wp[i] = g.wp[--g.nwp];
	}
	strcpy(out, "OK");
}

static void cmd_breakpoint(struct vcpu *c, const char *args, bool insert, char *out)
{
	uint32_t type = (uint32_t)(args[0] - '0'), addr, kind;
	const char *rest;
	out[0] = 0;                               /* unsupported kinds: empty reply */
	if (type == 2)
		return cmd_watchpoint(args, insert, out);
	if (type > 1 || args[1] != ',')
		return;
	if (!parse_addr_len(args + 2, &addr, &kind, &rest)) {
		strcpy(out, "E01");
		return;
	}
	int i = bp_find(addr, (int)type);
	if (insert && i < 0) {
		if (g.nbp == GDB_MAX_BP) {
			strcpy(out, "E28");
			return;
		}
		g.bp[g.nbp++] = (struct bp){ addr, (int)type };
		drop_code(c, addr);
	} else if (!insert && i >= 0) {
		g.bp[i] = g.bp[--g.nbp];
		drop_code(c, addr);
	}
	strcpy(out, "OK");
}

static void clear_breakpoints(struct vcpu *c)
{
	while (g.nbp > 0)
		drop_code(c, g.bp[--g.nbp].addr);
	g.nwp = 0;
	g.watch_pending = ~0u;
}

void gdb_break_hit(struct vcpu *c)
{
	(void)c;
	g.hit = true;
	gdb_pending = 1;
}

/* ---- the command switch ---------------------------------------------------------------- */

static void stop_reply(char *out)
{
	if (g.watch_hit != ~0u)
		snprintf(out, 64, "T%02xwatch:%x;thread:01;", g.sig, g.watch_hit);
	else
		snprintf(out, 32, "T%02xthread:01;", g.sig);
}

static void cmd_xfer_features(const char *args, char *out)
{
	uint32_t off, len;
	const char *rest;
	size_t total = strlen(gdb_target_xml);
	if (strncmp(args, "target.xml:", 11) || !parse_addr_len(args + 11, &off, &len, &rest)) {
		strcpy(out, "E00");
		return;
	}
	if (len > GDB_PKT_MAX - 16)
		len = GDB_PKT_MAX - 16;
	if (off >= total) {
		strcpy(out, "l");
		return;
	}
	size_t n = total - off < len ? total - off : len;
	out[0] = off + n < total ? 'm' : 'l';
	memcpy(out + 1, gdb_target_xml + off, n);
	out[n + 1] = 0;
}

static void cmd_query(const char *q, char *out)
{
	out[0] = 0;
	if (!strncmp(q, "qSupported", 10))
		snprintf(out, 128, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+", GDB_PKT_MAX);
	else if (!strncmp(q, "qXfer:features:read:", 20))
		cmd_xfer_features(q + 20, out);
	else if (!strcmp(q, "qAttached"))
		strcpy(out, "1");
	else if (!strcmp(q, "qC"))
		strcpy(out, "QC01");
	else if (!strcmp(q, "qfThreadInfo"))
		strcpy(out, "m01");
	else if (!strcmp(q, "qsThreadInfo"))
		strcpy(out, "l");
	else if (!strncmp(q, "qSymbol", 7))
		strcpy(out, "OK");
}

/* vCont;ACTION[:thread][;ACTION...]: one thread, so a step anywhere means step. */
static enum resume cmd_vcont(const char *args, char *out)
{
	out[0] = 0;
	if (!strcmp(args, "?")) {
		strcpy(out, "vCont;c;C;s;S");
		return R_STAY;
	}
	if (args[0] != ';')
		return R_STAY;
	return strstr(args, ";s") || strstr(args, ";S") ? R_STEP : R_CONT;
}

static void cmd_regs(struct vcpu *c, const char *pkt, char *out)
{
	char *end;
	unsigned long n = strtoul(pkt + 1, &end, 16);
	switch (pkt[0]) {
	case 'g': regs_read_all(c, out); return;
	case 'G': strcpy(out, regs_write_all(c, pkt + 1) ? "OK" : "E01"); return;
	case 'p': if (!regs_read_one(c, (unsigned)n, out)) strcpy(out, "E45"); return;
	default:  /* 'P' */
		strcpy(out, *end == '=' && regs_write_one(c, (unsigned)n, end + 1) ? "OK" : "E01");
	}
}

/* One packet: the reply goes into out ("" is "not supported"); the result says whether
 * (and how) the guest resumes. */
static enum resume command(struct vcpu *c, char *pkt, char *out)
{
	out[0] = 0;
	switch (pkt[0]) {
	case '?': stop_reply(out); return R_STAY;
	case 'g': case 'G': case 'p': case 'P': cmd_regs(c, pkt, out); return R_STAY;
	case 'm': cmd_read_mem(c, pkt + 1, out); return R_STAY;
	case 'M': cmd_write_mem(c, pkt + 1, out); return R_STAY;
	case 'Z': case 'z': cmd_breakpoint(c, pkt + 1, pkt[0] == 'Z', out); return R_STAY;
	case 'c': case 'C': return R_CONT;      /* continuing at another address: not offered */
	case 's': case 'S': return R_STEP;
	case 'D': strcpy(out, "OK"); return R_DETACH;
	case 'k': return R_KILL;
	case 'H': case 'T': strcpy(out, "OK"); return R_STAY;
	case 'q': cmd_query(pkt, out); return R_STAY;
	case 'Q':
		if (!strcmp(pkt, "QStartNoAckMode"))
			strcpy(out, "OK");
		return R_STAY;
	case 'v':
		if (!strncmp(pkt, "vCont", 5))
			return cmd_vcont(pkt + 5, out);
		return R_STAY;
	default: return R_STAY;
	}
}

/* ---- stopping and resuming ------------------------------------------------------------- */

static void detach(struct vcpu *c)
{
	clear_breakpoints(c);
	rsp_close();
	g.state = GS_RUN;
}

/* Stopped: answer packets until gdb resumes the guest (or leaves). */
static void converse(struct vcpu *c, bool report)
{
	static char pkt[GDB_PKT_MAX], out[GDB_PKT_MAX + 1];
	g.state = GS_STOPPED;
	if (report) {
		stop_reply(out);
		rsp_put(out);
	}
	while (g.state == GS_STOPPED) {
		if (rsp_get(pkt, sizeof(pkt)) < 0) {
			if (g.held) {
				rsp_close();
				rsp_accept(true);
				continue;
			}
			detach(c);               /* gdb went away: the guest runs on */
			return;
		}
		enum resume r = command(c, pkt, out);
		if (r == R_STAY || r == R_DETACH)
			rsp_put(out);
		if (!strcmp(pkt, "QStartNoAckMode"))
			rsp_set_noack();
		gla_t pc = c->seg[S_CS].base + c->eip;
		switch (r) {
		case R_STAY: break;
		case R_CONT:
			g.state = bp_find(pc, -1) >= 0 ? GS_STEP : GS_RUN;
			g.step_over = true;
			g.step_from = pc;
			g.held = false;
			break;
		case R_STEP:
			g.state = GS_STEP;
			g.step_over = false;
			g.step_from = pc;
			g.held = false;
			break;
		case R_DETACH: detach(c); break;
		case R_KILL: detach(c); vm_stop(g.vm, EXIT_STATUS_OK); break;
		}
	}
}

/* Why the guest stops now: a signal number for the stop reply, 0 to keep running, -1 for
 * a new connection (gdb asks with '?'). */
static int stop_reason(struct vcpu *c)
{
	if (!rsp_connected()) {
		bool now = rsp_accept(g.wait);
		g.wait = false;
		return now ? -1 : 0;
	}
	if (g.watch_pending != ~0u) {
		g.watch_hit = g.watch_pending;
		g.watch_pending = ~0u;
		return 5;
	}
	if (g.state == GS_STEP && c->exit_reason != EXIT_REQUEST) {
		if (!g.step_over)
			return 5;
		g.state = GS_RUN;        /* past the breakpoint: run */
	}
	if (g.hit) {
		g.hit = false;
		return 5;
	}
	if (rsp_io_seen) {
		rsp_io_seen = 0;
		int r = rsp_poll_break();
		if (r < 0)
			detach(c);
		if (r > 0)
			return 2;
	}
	return 0;
}

bool gdb_service(struct vcpu *c)
{
	gdb_pending = 0;
	g.watch_hit = ~0u;
	if (g.forced && c->exit_reason == EXIT_REQUEST)
		c->intr_inhibit = g.inhibit;      /* no entry (halted): undo what we forced */
	g.forced = false;
	int why = stop_reason(c);
	if (why != 0) {
		g.sig = why < 0 ? 5 : why;
		converse(c, why > 0);
	}
	if (g.state == GS_STEP) {
		g.forced = true;
		g.inhibit = c->intr_inhibit;
		c->intr_inhibit = true;           /* one instruction, no interrupt first */
		c->exit_reason = EXIT_REQUEST;    /* "not yet run" */
	}
	if (g.state == GS_STEP)
		gdb_pending = 1;
	return why != 0;
}

/* ---- set-up ---------------------------------------------------------------------------- */

static void on_sigio(int sig)
{
	(void)sig;
	rsp_io_seen = 1;
	gdb_pending = 1;
	if (g.vm)
		vm_request_exit(g.vm);
}

int gdb_init(struct vm *vm, const char *spec, bool wait, char *err, size_t errlen)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigio;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGIO, &sa, NULL);
	g.vm = vm;
	if (rsp_listen(spec, err, errlen) < 0)
		return -1;
	xl_debug_break = vm_debug_break;
	g.wait = g.held = wait;
	g.watch_pending = ~0u;
	gdb_pending = wait;
	return 0;
}
