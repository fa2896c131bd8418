/*
 * compare.c - what "the same result" means, and how a divergence is shown.
 *
 * Compared: the exception vector (or none), where execution stopped (landing offset or
 * faulting instruction), all eight GPRs, the EFLAGS bits defined for the case (CF PF AF ZF
 * SF OF DF minus the SDM's undefined ones), every byte of every memory window except a
 * form's masked range, and from the FXSAVE image FCW, FSW, the abridged FTW, MXCSR,
 * ST0-ST7 (80 bits each) and XMM0-XMM7.  Not compared: FOP/FIP/FDP (they name the last
 * x87 instruction's address, host code in a translator) and the error code / fault
 * address, which only the native side reports.
 *
 * A divergence prints the bytes with Capstone's disassembly, a command line that re-runs
 * exactly that case, the inputs and both results, and the items that differ.
 */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include "compare.h"

static csh cs;
static bool cs_ok;
static const char *const reg_name[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

void compare_init(void)
{
	cs_ok = cs_open(CS_ARCH_X86, CS_MODE_32, &cs) == CS_ERR_OK;
	if (cs_ok)
		cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
}

void compare_fini(void)
{
	if (cs_ok)
		cs_close(&cs);
}

struct sink { char *p; size_t n, len; };

static void note(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	if (s->len + 2 >= s->n)
		return;
	if (s->len)
		s->len += (size_t)snprintf(s->p + s->len, s->n - s->len, ", ");
	va_start(ap, fmt);
	int r = vsnprintf(s->p + s->len, s->n - s->len, fmt, ap);
	va_end(ap);
	if (r > 0)
		s->len = s->len + (size_t)r < s->n ? s->len + (size_t)r : s->n - 1;
}

static void cmp_memory(const struct tcase *t, const struct isa_out *a, const struct isa_out *b,
		       struct sink *s)
{
	uint32_t off = 0, n = 0, first = 0;
	for (uint32_t w = 0; w < t->in.nwin; w++) {
		for (uint32_t i = 0; i < t->in.win[w].len; i++) {
			uint32_t addr = t->in.win[w].addr + i;
			bool ign = addr >= t->ign_lo && addr < t->ign_hi;
			if (!ign && a->mem[off + i] != b->mem[off + i] && !n++)
				first = addr;
		}
		off += t->in.win[w].len;
	}
	if (n)
		note(s, "memory (%u bytes, first at %#x)", n, first);
}

static void cmp_fpu(const uint8_t *a, const uint8_t *b, struct sink *s)
{
	static const struct { const char *name; unsigned off, len; } f[] = {
		{ "fcw", FX_FCW, 2 }, { "fsw", FX_FSW, 2 }, { "ftw", FX_FTW, 1 }, { "mxcsr", FX_MXCSR, 4 },
	};
	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (memcmp(a + f[i].off, b + f[i].off, f[i].len))
			note(s, "%s", f[i].name);
	for (int i = 0; i < 8; i++)
		if (memcmp(a + FX_ST(i), b + FX_ST(i), 10))
			note(s, "st%d", i);
	for (int i = 0; i < 8; i++)
		if (memcmp(a + FX_XMM(i), b + FX_XMM(i), 16))
			note(s, "xmm%d", i);
}

bool cmp_results(const struct tcase *t, const struct isa_out *nat, const struct isa_out *vmm,
		 char *what, size_t n)
{
	struct sink s = { what, n, 0 };
	what[0] = 0;
	if (nat->exc != vmm->exc)
		note(&s, "exception");
	if (nat->eip != vmm->eip)
		note(&s, "eip");
	for (int i = 0; i < 8; i++)
		if (nat->regs[i] != vmm->regs[i])
			note(&s, "%s", reg_name[i]);
	uint32_t fl = (nat->eflags ^ vmm->eflags) & t->flag_mask;
	if (fl)
		note(&s, "eflags (%#x)", fl);
	cmp_memory(t, nat, vmm, &s);
	cmp_fpu(nat->fpu, vmm->fpu, &s);
	return s.len == 0;
}

static const char *exc_name(uint32_t v)
{
	static const char *const n[20] = { "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
					   "#DF", "9", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
					   "#MF", "#AC", "#MC", "#XM" };
	if (v == ISA_NO_EXC)
		return "none";
	if (v == ISA_EXC_LEFT)
		return "left the code page";
	return v < 20 ? n[v] : "?";
}

static void print_flags(FILE *out, uint32_t fl)
{
	static const struct { uint32_t bit; char c; } b[] = {
		{ ISA_FL_OF, 'O' }, { ISA_FL_DF, 'D' }, { ISA_FL_SF, 'S' }, { ISA_FL_ZF, 'Z' },
		{ ISA_FL_AF, 'A' }, { ISA_FL_PF, 'P' }, { ISA_FL_CF, 'C' },
	};
	fprintf(out, "eflags=%08x [", fl);
	for (unsigned i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		fputc(fl & b[i].bit ? b[i].c : '-', out);
	fputc(']', out);
}

static void print_regs(FILE *out, const char *label, const uint32_t *r, uint32_t fl)
{
	fprintf(out, "  %-8s", label);
	for (int i = 0; i < 8; i++)
		fprintf(out, "%s=%08x%s", reg_name[i], r[i], i == 3 ? "\n          " : " ");
	print_flags(out, fl);
	fputc('\n', out);
}

static void print_result(FILE *out, const char *label, const struct isa_out *o)
{
	fprintf(out, "  %-8sexception %s, stopped at +%u", label, exc_name(o->exc), o->eip);
	if (o->exc != ISA_NO_EXC && o->exc < 20 && label[0] == 'n')
		fprintf(out, " (error %#x, address %#x)", o->err, o->addr);
	fputc('\n', out);
	print_regs(out, "", o->regs, o->eflags);
}

static void print_code(FILE *out, const struct isa_in *in)
{
	cs_insn *insn = NULL;
	fprintf(out, "  bytes:  ");
	for (uint32_t i = 0; i < in->code_len; i++)
		fprintf(out, "%02x ", in->code[i]);
	size_t n = cs_ok ? cs_disasm(cs, in->code, in->code_len, ISA_CODE, 1, &insn) : 0;
	if (n)
		fprintf(out, "  %s %s\n", insn[0].mnemonic, insn[0].op_str);
	else
		fprintf(out, "  (capstone: no decoding)\n");
	if (n)
		cs_free(insn, n);
}

static void print_windows(FILE *out, const struct isa_in *in)
{
	uint32_t off = 0;
	for (uint32_t w = 0; w < in->nwin; w++) {
		uint32_t len = in->win[w].len;
		fprintf(out, "  mem %08x [%u]:", in->win[w].addr, len);
		for (uint32_t i = 0; i < len && i < 48; i++)
			fprintf(out, " %02x", in->mem[off + i]);
		fprintf(out, "%s\n", len > 48 ? " ..." : "");
		off += len;
	}
}

/* The bytes that differ, and the FPU fields that differ, side by side. */
static void print_details(FILE *out, const struct tcase *t, const struct isa_out *a,
			  const struct isa_out *b)
{
	uint32_t off = 0, shown = 0;
	for (uint32_t w = 0; w < t->in.nwin; w++) {
		for (uint32_t i = 0; i < t->in.win[w].len && shown < 16; i++)
			if (a->mem[off + i] != b->mem[off + i]) {
				fprintf(out, "  mem %08x: native %02x vmm386 %02x\n", t->in.win[w].addr + i,
					a->mem[off + i], b->mem[off + i]);
				shown++;
			}
		off += t->in.win[w].len;
	}
	static const struct { const char *n; unsigned off, len; } f[] = {
		{ "fcw", FX_FCW, 2 }, { "fsw", FX_FSW, 2 }, { "ftw", FX_FTW, 1 }, { "mxcsr", FX_MXCSR, 4 },
		{ "st0", FX_ST(0), 10 }, { "st1", FX_ST(1), 10 }, { "st2", FX_ST(2), 10 },
		{ "st3", FX_ST(3), 10 }, { "st4", FX_ST(4), 10 }, { "st5", FX_ST(5), 10 },
		{ "st6", FX_ST(6), 10 }, { "st7", FX_ST(7), 10 }, { "xmm0", FX_XMM(0), 16 },
		{ "xmm1", FX_XMM(1), 16 }, { "xmm2", FX_XMM(2), 16 }, { "xmm3", FX_XMM(3), 16 },
		{ "xmm4", FX_XMM(4), 16 }, { "xmm5", FX_XMM(5), 16 }, { "xmm6", FX_XMM(6), 16 },
		{ "xmm7", FX_XMM(7), 16 },
	};
	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!memcmp(a->fpu + f[i].off, b->fpu + f[i].off, f[i].len))
			continue;
		fprintf(out, "  %-5s in ", f[i].n);
		for (unsigned k = f[i].len; k-- > 0;)
			fprintf(out, "%02x", t->in.fpu[f[i].off + k]);
		fprintf(out, " native ");
		for (unsigned k = f[i].len; k-- > 0;)
			fprintf(out, "%02x", a->fpu[f[i].off + k]);
		fprintf(out, " vmm386 ");
		for (unsigned k = f[i].len; k-- > 0;)
			fprintf(out, "%02x", b->fpu[f[i].off + k]);
		fputc('\n', out);
	}
}

static void print_state(FILE *out, const struct tcase *t)
{
	fprintf(out, "  env:    %s, compared flags %#x\n",
		t->in.env == ISA_ENV_NONFLAT ? "DS/ES/SS based at ISA_NF_BASE" :
		t->in.env == ISA_ENV_LIMIT ? "flat DS/ES/SS, FS limit 0xfff, GS read-only" : "flat DS/ES/SS",
		t->flag_mask);
	print_regs(out, "input:", t->in.regs, t->in.eflags);
	print_windows(out, &t->in);
}

void print_input(FILE *out, const struct tcase *t)
{
	print_code(out, &t->in);
	print_state(out, t);
}

void print_divergence(FILE *out, const struct form *f, const struct tcase *t, unsigned index,
		      uint64_t seed, const struct isa_out *nat, const struct isa_out *vmm,
		      const char *what)
{
	fprintf(out, "DIVERGENCE %s, case %u\n", f->name, index);
	fprintf(out, "  rerun:  isa-diff --seed %#" PRIx64 " --form '=%s' --case %u\n", seed, f->name,
		index);
	print_code(out, &t->in);
	fprintf(out, "  differ: %s\n", what);
	print_state(out, t);
	print_result(out, "native:", nat);
	print_result(out, "vmm386:", vmm);
	print_details(out, t, nat, vmm);
}

void print_trace(FILE *out, unsigned index, const struct tcase *t, const struct isa_out *nat)
{
	fprintf(out, "case %4u:", index);
	for (uint32_t i = 0; i < t->in.code_len; i++)
		fprintf(out, " %02x", t->in.code[i]);
	fprintf(out, " | eax=%08x ecx=%08x edx=%08x -> %s at +%u, eax=%08x edx=%08x\n",
		t->in.regs[0], t->in.regs[1], t->in.regs[2], exc_name(nat->exc), nat->eip,
		nat->regs[0], nat->regs[2]);
}

/* Value of a Capstone GPR (32- or 16-bit) in the case's inputs; -1 if not one. */
static int64_t cs_reg(const struct tcase *t, x86_reg r)
{
	static const x86_reg r32[8] = { X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX,
					X86_REG_ESP, X86_REG_EBP, X86_REG_ESI, X86_REG_EDI };
	static const x86_reg r16[8] = { X86_REG_AX, X86_REG_CX, X86_REG_DX, X86_REG_BX,
					X86_REG_SP, X86_REG_BP, X86_REG_SI, X86_REG_DI };
	if (r == X86_REG_INVALID)
		return 0;
	for (int i = 0; i < 8; i++) {
		if (r == r32[i])
			return t->in.regs[i];
		if (r == r16[i])
			return t->in.regs[i] & 0xFFFF;
	}
	return -1;
}

static uint32_t cs_segbase(const struct tcase *t, x86_reg seg)
{
	if (seg == X86_REG_FS)
		return ISA_FS_BASE;
	if (seg == X86_REG_GS)
		return ISA_GS_BASE;
	if (seg == X86_REG_CS)
		return 0;
	return t->in.env == ISA_ENV_NONFLAT ? ISA_NF_BASE : 0;
}

/* Check the generator: Capstone's reading of the ModRM operand must give mem_lin. */
bool selfcheck_ea(const struct tcase *t, char *why, size_t n)
{
	cs_insn *insn = NULL;
	bool ok = true;
	if (!t->mem_lin || !cs_ok || cs_disasm(cs, t->in.code, t->in.code_len, ISA_CODE, 1, &insn) != 1)
		return true;
	const cs_x86 *x = &insn->detail->x86;
	for (unsigned i = 0; i < x->op_count; i++) {
		if (x->operands[i].type != X86_OP_MEM)
			continue;
		const x86_op_mem *m = &x->operands[i].mem;
		int64_t b = cs_reg(t, m->base), ix = cs_reg(t, m->index);
		bool a16 = x->addr_size == 2;
		uint32_t ea = (uint32_t)b + (uint32_t)ix * (uint32_t)m->scale + (uint32_t)m->disp;
		uint32_t lin = cs_segbase(t, m->segment) + (a16 ? ea & 0xFFFF : ea);
		if (b >= 0 && ix >= 0 && lin != t->mem_lin) {
			snprintf(why, n, "generator: operand at %#x, Capstone says %#x", t->mem_lin, lin);
			ok = false;
		}
		break;
	}
	cs_free(insn, 1);
	return ok;
}
