/*
 * regs.c - the guest's registers as gdb numbers them, and the target description that
 * tells gdb so.
 *
 * The description (qXfer:features:read:target.xml) has gdb's i386 core feature (the
 * general, segment and x87 registers, which gdb's i386 support requires together), the
 * SSE feature, and a system feature with the segment bases and CR0-CR4 as QEMU offers
 * them.  'g' and 'p' follow its order.  x87 and SSE values come from the vCPU's FXSAVE
 * image; the segment registers read as their selectors.  Writes change the general
 * registers, EIP and EFLAGS; writes to the others are accepted and ignored (a segment
 * load through the debugger is not offered).
 */
#include <string.h>
#include "gdb_int.h"

const char gdb_target_xml[] =
	"<?xml version=\"1.0\"?>"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target version=\"1.0\"><architecture>i386</architecture>"
	"<feature name=\"org.gnu.gdb.i386.core\">"
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/></flags>"
	"<reg name=\"eax\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ecx\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"edx\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ebx\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"esp\" bitsize=\"32\" type=\"data_ptr\"/>"
	"<reg name=\"ebp\" bitsize=\"32\" type=\"data_ptr\"/>"
	"<reg name=\"esi\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"edi\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"eip\" bitsize=\"32\" type=\"code_ptr\"/>"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.sse\">"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/></union>"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>"
	"</feature>"
	"<feature name=\"org.vmm386.i386.sys\">"
	"<reg name=\"fs_base\" bitsize=\"32\" type=\"int32\" group=\"system\"/>"
	"<reg name=\"gs_base\" bitsize=\"32\" type=\"int32\" group=\"system\"/>"
	"<reg name=\"cr0\" bitsize=\"32\" type=\"int32\" group=\"system\"/>"
	"<reg name=\"cr2\" bitsize=\"32\" type=\"int32\" group=\"system\"/>"
	"<reg name=\"cr3\" bitsize=\"32\" type=\"int32\" group=\"system\"/>"
	"<reg name=\"cr4\" bitsize=\"32\" type=\"int32\" group=\"system\"/>"
	"</feature></target>";

/* gdb's numbering, in the description's order. */
enum {
	G_EIP = 8, G_EFLAGS = 9, G_CS = 10, G_GS = 15, G_ST0 = 16, G_FCTRL = 24, G_FOP = 31,
	G_XMM0 = 32, G_MXCSR = 40, G_FS_BASE = 41, G_CR4 = 46, G_NREGS = 47,
};
static const int sreg_order[6] = {S_CS, S_SS, S_DS, S_ES, S_FS, S_GS};

static unsigned reg_size(unsigned n)
{
	if (n >= G_ST0 && n < G_FCTRL) return 10;
	if (n >= G_XMM0 && n < G_MXCSR) return 16;
	return 4;
}

static uint32_t fx32(const struct vcpu *c, unsigned off)
{
	uint32_t v;
	memcpy(&v, c->fpu + off, 4);
	return v;
}

/* The full x87 tag word from FXSAVE's abridged one (valid vs. empty is what gdb shows). */
static uint32_t full_tag(const struct vcpu *c)
{
	uint32_t tag = 0;
	for (int i = 0; i < 8; i++)
		if (!(c->fpu[4] & (1u << i)))
			tag |= 3u << (2 * i);
	return tag;
}

static uint32_t fpu_ctl(const struct vcpu *c, unsigned n)
{
	switch (n - G_FCTRL) {
	case 0: return fx32(c, 0) & 0xFFFF;           /* FCW */
	case 1: return fx32(c, 2) & 0xFFFF;           /* FSW */
	case 2: return full_tag(c);
	case 3: return fx32(c, 12) & 0xFFFF;          /* FCS */
	case 4: return fx32(c, 8);                    /* FIP */
	case 5: return fx32(c, 20) & 0xFFFF;          /* FDS */
	case 6: return fx32(c, 16);                   /* FDP */
	default: return fx32(c, 6) & 0x7FF;           /* FOP */
	}
}

static uint32_t reg32(const struct vcpu *c, unsigned n)
{
	if (n < G_EIP) return c->regs[n];
	if (n == G_EIP) return c->eip;
	if (n == G_EFLAGS) return c->eflags;
	if (n <= G_GS) return c->seg[sreg_order[n - G_CS]].sel;
	if (n <= G_FOP) return fpu_ctl(c, n);
	if (n == G_MXCSR) return fx32(c, 24);
	switch (n - G_FS_BASE) {
	case 0: return c->seg[S_FS].base;
	case 1: return c->seg[S_GS].base;
	case 2: return c->cr0;
	case 3: return c->cr2;
	case 4: return c->cr3;
	default: return c->cr4;
	}
}

bool regs_read_one(const struct vcpu *c, unsigned n, char *out)
{
	if (n >= G_NREGS)
		return false;
	if (n >= G_ST0 && n < G_FCTRL)
		hex_put(out, c->fpu + 32 + 16 * (n - G_ST0), 10);
	else if (n >= G_XMM0 && n < G_MXCSR)
		hex_put(out, c->fpu + 160 + 16 * (n - G_XMM0), 16);
	else {
		uint32_t v = reg32(c, n);
		hex_put(out, &v, 4);
	}
	return true;
}

void regs_read_all(const struct vcpu *c, char *out)
{
	for (unsigned n = 0; n < G_NREGS; n++) {
		regs_read_one(c, n, out);
		out += 2 * reg_size(n);
	}
}

bool regs_write_one(struct vcpu *c, unsigned n, const char *hex)
{
	uint8_t buf[16];
	if (n >= G_NREGS || strlen(hex) != 2 * reg_size(n) || !hex_get(buf, hex, reg_size(n)))
		return false;
	uint32_t v;
	memcpy(&v, buf, 4);
	if (n < G_EIP) c->regs[n] = v;
	else if (n == G_EIP) c->eip = v;
	else if (n == G_EFLAGS) c->eflags = (v & ~(FL_VM | FL_IOPL)) | (c->eflags & (FL_VM | FL_IOPL)) | FL_FIXED;
	return true;
}

bool regs_write_all(struct vcpu *c, const char *hex)
{
	char one[33];
	for (unsigned n = 0; n < G_NREGS && *hex; n++) {
		size_t len = 2 * reg_size(n);
		if (strlen(hex) < len)
			return false;
		memcpy(one, hex, len);
		one[len] = 0;
		if (n <= G_EFLAGS && !regs_write_one(c, n, one))
			return false;
		hex += len;
	}
	return true;
}
