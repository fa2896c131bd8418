/*
 * gdb_int.h - what the files of gdbstub/ share (nothing outside includes it).
 *
 *   gdbstub.c  stop/resume state, breakpoints, the command switch
 *   rsp.c      the TCP socket and the remote serial protocol's packets
 *   regs.c     the register file as gdb numbers it, and the target description
 */
#ifndef GDB_INT_H
#define GDB_INT_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../monitor/vmm.h"

#define GDB_PKT_MAX   4096     /* our PacketSize: the largest packet either side sends */
#define GDB_MAX_BP    64       /* breakpoints (software and hardware together) */
#define GDB_MAX_WATCH 4        /* write watchpoints, as many as the CPU's debug registers */

/* --- rsp.c ------------------------------------------------------------------------------ */
int rsp_listen(const char *spec, char *err, size_t errlen);
/* Accept a connection: blocking, or only if one is waiting.  Returns true if connected. */
bool rsp_accept(bool block);
bool rsp_connected(void);
void rsp_close(void);
/* Next packet's payload into buf (NUL-terminated), acknowledged; blocks.  Returns its
 * length, or -1 when gdb went away.  Interrupt bytes (0x03) met on the way are dropped. */
int rsp_get(char *buf, size_t cap);
/* Without blocking: 1 if gdb sent an interrupt (0x03), -1 if it went away, else 0. */
int rsp_poll_break(void);
/* Send one packet (waits for gdb's '+' unless no-ack mode is on). */
void rsp_put(const char *payload);
void rsp_set_noack(void);
/* Requested by the SIGIO handler: the socket has something. */
extern volatile sig_atomic_t rsp_io_seen;

/* --- regs.c ----------------------------------------------------------------------------- */
extern const char gdb_target_xml[];
/* All registers, 'g' packet layout, as hex into out (at least GDB_REGS_HEX + 1 bytes). */
#define GDB_REGS_HEX 1200
void regs_read_all(const struct vcpu *c, char *out);
/* 'G': returns false if the packet is malformed. */
bool regs_write_all(struct vcpu *c, const char *hex);
/* One register by gdb's number: hex into out; false if no such register. */
bool regs_read_one(const struct vcpu *c, unsigned n, char *out);
bool regs_write_one(struct vcpu *c, unsigned n, const char *hex);

/* hex helpers (gdbstub.c) */
int hex_val(char ch);
void hex_put(char *out, const void *buf, size_t len);   /* byte order as in memory */
bool hex_get(void *buf, const char *hex, size_t len);
#endif
