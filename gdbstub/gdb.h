/*
 * gdb.h - the gdb remote stub (QEMU's -s / -gdb tcp::PORT / -S).
 *
 * The stub never runs on its own: the run loop calls gdb_service() at the top of an
 * iteration whenever gdb_pending is set, which happens when the debugger's socket has
 * input (SIGIO, which also requests an exit from translated code), when a breakpoint was
 * reached (EXIT_DEBUG, gdb_break_hit), or while a single step is in progress.  Without
 * -s/-gdb, gdb_pending stays 0 and the loop pays one load and branch per iteration.
 *
 * Stopped, the stub talks with gdb until it continues, steps, detaches or kills.  A single
 * step is one uncached one-instruction block (XM_SINGLE) entered with interrupts held off
 * (c->intr_inhibit), as QEMU steps with its default SSTEP_NOIRQ.  Breakpoints are checked
 * by the translator (xl_debug_break): a block ends before a breakpoint's linear address
 * with EXIT_DEBUG, and the blocks of that page are invalidated when one is set or removed.
 * All of it runs on the vCPU thread; only the SIGIO handler runs elsewhere.
 */
#ifndef GDB_H
#define GDB_H
#include <signal.h>
#include <stddef.h>
#include "../monitor/vmm.h"

/* Something for the stub before the next block runs (set by signal handlers too). */
extern volatile sig_atomic_t gdb_pending;

/* Listen on spec ("tcp::PORT", "tcp:HOST:PORT" or "PORT"); with wait (-S), the guest does
 * not run its first instruction before gdb has attached and continued.  Returns 0, or -1
 * with a message in err. */
int gdb_init(struct vm *vm, const char *spec, bool wait, char *err, size_t errlen);
/* The run loop's hook (gdb_pending set): may stop and converse with gdb.  Returns true if
 * the guest was stopped (translations, registers or the cache may have changed). */
bool gdb_service(struct vcpu *c);
/* Does gdb need translated code to stop before linear address la (a breakpoint there, or
 * a watchpoint anywhere)?  False when no debugger is attached. */
bool gdb_break_at(gla_t la);
/* Write watchpoints, for the run loop (monitor/debug.c), which steps the guest while any
 * is set: does an access of the next instruction meet one (its address in *hit)?  After
 * the instruction, gdb_watch_hit(hit) stops the guest. */
bool gdb_watching(void);
bool gdb_watch_match(gla_t la, uint64_t len, bool write, gla_t *hit);
void gdb_watch_hit(gla_t hit);
/* EXIT_DEBUG: translated code reached a breakpoint at c->eip. */
void gdb_break_hit(struct vcpu *c);
#endif
