/*
 * xcheck.c - Zydis against Capstone on 32-bit x86 code (issue 4, item 3).
 *
 *   xcheck [-n COUNT] [-s SEED] [-v] [--explore] [FILE...]
 *
 * vmm386 decodes guest code with Zydis (translator, emulation, scanner).  This program
 * decodes the same bytes with Capstone, an independent decoder, and compares the two:
 * whether the bytes decode at all, the instruction length, and the mnemonic.
 *  (a) COUNT random 15-byte strings (default 200000) from a seeded xorshift generator;
 *  (b) every instruction of each FILE (ELF32 i386: SHF_EXECINSTR sections, or PF_X
 *      segments), decoded linearly; at a disagreement the walk goes on with Zydis's
 *      length, as vmm386 would, so both decoders always look at the same offset.
 * Mnemonics are compared after normalisation (table `alias`, normalise, same_compare):
 * Capstone writes prefixes into the mnemonic ("rep stosb", "lock add"), uses other names
 * for the same encoding (je/jz, retf/ret, xlatb/xlat, wait/fwait, pushal/pushad, ...),
 * prints the SDM's compare pseudo-ops (cmpleps for cmpps imm 2) and size suffixes
 * (vcvttpd2dqx).
 *
 * A disagreement that is not an alias is either one of the known disagreements in the
 * table `known` below - each with what the Intel SDM (Vol. 2, Dec 2023) says, and so which
 * decoder is right - or a failure.  Exit status: 0 if every disagreement is known, 1 if
 * any is not (the first ones are printed with their bytes), 2 on bad usage or input.
 * --explore prints the unknown disagreements grouped by kind, to extend the table.
 */
#include <Zydis/Zydis.h>
#include <capstone/capstone.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dec {
	bool ok;
	unsigned len;
	char mn[32];               /* normalised mnemonic */
	ZydisDecodedInstruction z; /* Zydis side only */
};

static ZydisDecoder zdec;
static csh cs;
static cs_insn *ci;
static bool verbose, explore;

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "xcheck: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* ---- normalisation ---------------------------------------------------------------- */

/* Capstone name -> Zydis name for the same instruction. */
static const char *const alias[][2] = {
	/* condition codes: Zydis uses z/nz/b/nb/be/nbe/l/nl/le/nle/p/np */
	{"je", "jz"}, {"jne", "jnz"}, {"jae", "jnb"}, {"ja", "jnbe"}, {"jge", "jnl"},
	{"jg", "jnle"}, {"sete", "setz"}, {"setne", "setnz"}, {"setae", "setnb"},
	{"seta", "setnbe"}, {"setge", "setnl"}, {"setg", "setnle"}, {"cmove", "cmovz"},
	{"cmovne", "cmovnz"}, {"cmovae", "cmovnb"}, {"cmova", "cmovnbe"}, {"cmovge", "cmovnl"},
	{"cmovg", "cmovnle"}, {"fcmovae", "fcmovnb"}, {"fcmova", "fcmovnbe"},
	/* other spellings */
	{"retf", "ret"}, {"retfd", "ret"}, {"xlatb", "xlat"}, {"wait", "fwait"},
	{"pushal", "pushad"}, {"popal", "popad"}, {"pushaw", "pusha"}, {"popaw", "popa"},
	{"ljmp", "jmp"}, {"lcall", "call"}, {"sal", "shl"}, {"ud2b", "ud1"},
};

/* Prefix words Capstone puts in front of the mnemonic. */
static const char *const cs_prefix[] = {
	"lock ", "rep ", "repe ", "repne ", "repz ", "repnz ", "bnd ", "notrack ",
	"xacquire ", "xrelease ", "data16 ",
};

static void normalise(char *out, size_t n, const char *in)
{
	for (bool again = true; again;) {
		again = false;
		for (unsigned i = 0; i < sizeof(cs_prefix) / sizeof(cs_prefix[0]); i++) {
			size_t l = strlen(cs_prefix[i]);
			if (strncmp(in, cs_prefix[i], l) == 0 && in[l]) {
				in += l;
				again = true;
			}
		}
	}
	for (unsigned i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcmp(in, alias[i][0]) == 0) {
			in = alias[i][1];
			break;
		}
	snprintf(out, n, "%s", in);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* vcvtpd2dqx / vcvtpd2psy: Capstone's operand-size suffix on the SDM's name */
	size_t l = strlen(out);
	if (strncmp(out, "vcvt", 4) == 0 && l > 5 && (out[l - 1] == 'x' || out[l - 1] == 'y') &&
	    (out[l - 2] == 'q' || out[l - 2] == 's'))
		out[l - 1] = 0;
}

/* ---- the two decoders ------------------------------------------------------------- */

static struct dec dec_zydis(const uint8_t *b, size_t n)
{
	struct dec d = {0};
	if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&zdec, NULL, b, n, &d.z))) {
		d.ok = true;
		d.len = d.z.length;
		snprintf(d.mn, sizeof(d.mn), "%s", ZydisMnemonicGetString(d.z.mnemonic));
	}
	return d;
}

static struct dec dec_capstone(const uint8_t *b, size_t n)
{
	struct dec d = {0};
	const uint8_t *p = b;
	size_t left = n;
	uint64_t addr = 0x1000;
	if (cs_disasm_iter(cs, &p, &left, &addr, ci)) {
		d.ok = true;
		d.len = ci->size;
		normalise(d.mn, sizeof(d.mn), ci->mnemonic);
	}
	return d;
}

/* CMPPS/CMPPD/CMPSS/CMPSD (and their VEX forms) with an immediate predicate: Capstone
 * prints the SDM's pseudo-op (CMPLEPS, VCMPEQ_OSSS, ...), Zydis the instruction name. */
static bool same_compare(const char *z, const char *c)
{
	size_t lz = strlen(z), lc = strlen(c);
	bool vz = z[0] == 'v', vc = c[0] == 'v';
	if (vz != vc || lz < 5 || lc <= lz || strncmp(z + vz, "cmp", 3) != 0 ||
	    strncmp(c + vc, "cmp", 3) != 0)
		return false;
	return strlen(z + vz) == 5 && strcmp(z + lz - 2, c + lc - 2) == 0 &&
	       strchr("ps", z[lz - 2]) && strchr("sd", z[lz - 1]);
}

static bool agree(const struct dec *z, const struct dec *c)
{
	if (!z->ok || !c->ok)
		return z->ok == c->ok;
	return z->len == c->len && (strcmp(z->mn, c->mn) == 0 || same_compare(z->mn, c->mn));
}

/* ---- known disagreements ---------------------------------------------------------- */

struct known {
	const char *id;
	const char *sdm;   /* what the manual says, and so which decoder is right */
	bool (*match)(const uint8_t *b, const struct dec *z, const struct dec *c);
	uint64_t count;
};

/* The legacy prefixes in front of the opcode, and where the opcode starts. */
struct shape {
	bool lock, rep, repne, osz, asz;
	unsigned npfx;       /* prefix bytes */
	unsigned op;         /* offset of the first opcode byte */
	int map;             /* 0: one-byte, 1: 0F, 2: 0F 38, 3: 0F 3A, 4: VEX/EVEX/XOP */
	uint8_t opc;         /* opcode byte within its map (VEX etc.: the escape byte) */
	uint8_t modrm;
};

static struct shape shape_of(const uint8_t *b)
{
	struct shape s = {0};
	unsigned i = 0;
	for (; i < 14; i++) {
		uint8_t p = b[i];
		if (p == 0xF0) s.lock = true;
		else if (p == 0xF3) s.rep = true;
		else if (p == 0xF2) s.repne = true;
		else if (p == 0x66) s.osz = true;
		else if (p == 0x67) s.asz = true;
		else if (p != 0x26 && p != 0x2E && p != 0x36 && p != 0x3E && p != 0x64 && p != 0x65)
			break;
	}
	s.npfx = s.op = i;
	uint8_t o = b[i], n1 = b[i + 1];
	if ((o == 0xC4 || o == 0xC5 || o == 0x62) && (n1 & 0xC0) == 0xC0) {
		s.map = 4;
		s.opc = o;
	} else if (o == 0x8F && (n1 & 0x1F) >= 8) {
		s.map = 4;
		s.opc = o;
	} else if (o == 0x0F) {
		s.map = b[i + 1] == 0x38 ? 2 : b[i + 1] == 0x3A ? 3 : 1;
		s.opc = s.map == 1 ? b[i + 1] : b[i + 2];
		s.modrm = b[i + (s.map == 1 ? 2 : 3)];
	} else {
		s.opc = o;
		s.modrm = n1;
	}
	return s;
}

static bool z_only(const struct dec *z, const struct dec *c) { return z->ok && !c->ok; }
static bool c_only(const struct dec *z, const struct dec *c) { return !z->ok && c->ok; }

static bool k_lock(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	return c_only(z, c) && shape_of(b).lock;
}

static bool k_vex_prefix(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return c_only(z, c) && s.map == 4 && s.opc != 0x8F && (s.lock || s.rep || s.repne || s.osz);
}

static bool k_mov_sreg(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	unsigned reg = (s.modrm >> 3) & 7;
	return c_only(z, c) && s.map == 0 && !strcmp(c->mn, "mov") &&
	       ((s.opc == 0x8E && (reg == 1 || reg >= 6)) || (s.opc == 0x8C && reg >= 6));
}

static bool k_mov_cr(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	unsigned reg = (s.modrm >> 3) & 7;
	return c_only(z, c) && s.map == 1 && (s.opc == 0x20 || s.opc == 0x22) &&
	       (reg == 1 || reg >= 5);
}

static bool k_rep_simd(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return c_only(z, c) && s.map >= 1 && s.map <= 3 && (s.rep || s.repne || s.osz);
}

static bool k_rep_ignored(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return z_only(z, c) && s.map == 0 && (s.rep || s.repne);
}

static bool k_long_mode(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	static const char *const only64[] = { "swapgs", "rdfsbase", "rdgsbase", "wrfsbase",
					      "wrgsbase", "cmpxchg16b", "movsxd" };
	(void)b;
	if (!c_only(z, c))
		return false;
	for (unsigned i = 0; i < sizeof(only64) / sizeof(only64[0]); i++)
		if (!strcmp(c->mn, only64[i]))
			return true;
	return false;
}

static bool k_vex_fields(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return c_only(z, c) && s.map == 4 && s.opc != 0x8F;
}

/* b with the prefixes in `late` moved, in that order, right in front of the opcode. */
static void reorder(const uint8_t *b, const struct shape *s, const uint8_t late[4], uint8_t *out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->npfx; i++)
		if (!memchr(late, b[i], 4))
			out[n++] = b[i];
	for (unsigned k = 0; k < 4; k++)
		for (unsigned i = 0; i < s->npfx; i++)
			if (b[i] == late[k])
				out[n++] = late[k];
	memcpy(out + n, b + s->npfx, 15 - s->npfx);
}

/* Capstone agrees once 66/67/F2/F3 are moved next to the opcode (it honours a size
 * prefix only when it is the last prefix, and F3 90 only when adjacent). */
static bool k_prefix_order(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	static const uint8_t orders[3][4] = { {0xF2, 0xF3, 0x67, 0x66}, {0xF2, 0xF3, 0x66, 0x67},
					      {0x66, 0x67, 0xF2, 0xF3} };
	struct shape s = shape_of(b);
	uint8_t b2[32];
	(void)c;
	if (!z->ok || s.npfx < 2 || s.npfx > 12)
		return false;
	for (unsigned o = 0; o < 3; o++) {
		reorder(b, &s, orders[o], b2);
		struct dec c2 = dec_capstone(b2, 15);
		if (agree(z, &c2))
			return true;
	}
	return false;
}

static bool k_x87_reserved(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return z->ok && c->ok && z->len == c->len && s.map == 0 && s.modrm >= 0xC0 &&
	       ((s.opc == 0xD9 && s.modrm >= 0xD8 && s.modrm <= 0xDF) ||
		(s.opc == 0xDB && s.modrm >= 0xE0 && s.modrm <= 0xE4 && s.modrm != 0xE2 &&
		 s.modrm != 0xE3));
}

static bool k_ud_modrm(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return z->ok && s.map == 1 && (s.opc == 0xFF || s.opc == 0xB9) &&
	       (!c->ok || z->len > c->len);
}

static bool k_hint_nop(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	(void)z; (void)c;
	return s.map == 1 && s.opc >= 0x18 && s.opc <= 0x1F;
}

static bool k_prefetch(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return z_only(z, c) && s.map == 1 && s.opc == 0x0D;
}

static bool k_fence(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return z_only(z, c) && s.map == 1 && s.opc == 0xAE && s.modrm >= 0xE8;
}

static bool k_new_isa(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	static const ZydisISAExt newer[] = {
		ZYDIS_ISA_EXT_AVX512EVEX, ZYDIS_ISA_EXT_AVX512VEX, ZYDIS_ISA_EXT_PKU,
		ZYDIS_ISA_EXT_AMX_BF16, ZYDIS_ISA_EXT_AMX_INT8, ZYDIS_ISA_EXT_AMX_TILE,
		ZYDIS_ISA_EXT_AVX_VNNI, ZYDIS_ISA_EXT_CLDEMOTE, ZYDIS_ISA_EXT_ENQCMD,
		ZYDIS_ISA_EXT_HRESET, ZYDIS_ISA_EXT_KEYLOCKER, ZYDIS_ISA_EXT_KEYLOCKER_WIDE,
		ZYDIS_ISA_EXT_MCOMMIT, ZYDIS_ISA_EXT_MOVDIR, ZYDIS_ISA_EXT_PCONFIG,
		ZYDIS_ISA_EXT_RDPRU, ZYDIS_ISA_EXT_SERIALIZE, ZYDIS_ISA_EXT_SNP, ZYDIS_ISA_EXT_TDX,
		ZYDIS_ISA_EXT_TSX_LDTRK, ZYDIS_ISA_EXT_UINTR, ZYDIS_ISA_EXT_WAITPKG,
		ZYDIS_ISA_EXT_AMD_INVLPGB, ZYDIS_ISA_EXT_KNC, ZYDIS_ISA_EXT_KNCE,
		ZYDIS_ISA_EXT_KNCV, ZYDIS_ISA_EXT_GFNI, ZYDIS_ISA_EXT_VAES,
		ZYDIS_ISA_EXT_VPCLMULQDQ, ZYDIS_ISA_EXT_CET, ZYDIS_ISA_EXT_SGX_ENCLV,
		ZYDIS_ISA_EXT_RDPID, ZYDIS_ISA_EXT_CLWB, ZYDIS_ISA_EXT_MONITORX,
		ZYDIS_ISA_EXT_CLZERO, ZYDIS_ISA_EXT_PT,
	};
	(void)b;
	if (!z->ok)
		return false;
	for (unsigned i = 0; i < sizeof(newer) / sizeof(newer[0]); i++)
		if (z->z.meta.isa_ext == newer[i])
			return true;
	return !c->ok && (z->z.encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX ||
			  z->z.encoding == ZYDIS_INSTRUCTION_ENCODING_MVEX);
}

static bool k_3dnow(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	(void)z; (void)c;
	return s.map == 1 && s.opc == 0x0F;
}

static bool k_padlock(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return s.map == 1 && (s.opc == 0xA6 || s.opc == 0xA7) &&
	       (c_only(z, c) || (z->ok && c->ok && strcmp(z->mn, c->mn) != 0));
}

static bool k_xop(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	if (s.map != 4 || s.opc != 0x8F)
		return false;
	return c_only(z, c) || (z->ok && c->ok && !strncmp(z->mn, "vpcom", 5) &&
				!strncmp(c->mn, "vpcom", 5));
}

static bool k_rep_conflict(const uint8_t *b, const struct dec *z, const struct dec *c)
{
	struct shape s = shape_of(b);
	return z_only(z, c) && s.rep && s.repne;
}

static struct known known[] = {
	{ "lock-not-lockable", "LOCK (SDM Vol.2 LOCK, 2.1.1): #UD unless the instruction is "
	  "ADD/ADC/AND/BTC/BTR/BTS/CMPXCHG/CMPXCHG8B/DEC/INC/NEG/NOT/OR/SBB/SUB/XOR/XADD/XCHG "
	  "with a memory destination. Zydis right (invalid); Capstone 4 decodes.", k_lock, 0 },
	{ "prefix-before-vex", "SDM 2.3.2: a VEX-encoded instruction preceded by 66/F2/F3/F0 "
	  "is #UD. Zydis right (invalid); Capstone 4 decodes.", k_vex_prefix, 0 },
	{ "mov-sreg-invalid", "MOV (SDM Vol.2): MOV to CS is #UD, and Sreg encodings 6-7 are "
	  "reserved (#UD). Zydis right (invalid); Capstone 4 decodes 'mov'.", k_mov_sreg, 0 },
	{ "mov-cr-reserved", "MOV CRn (SDM Vol.2): CR1, CR5, CR6, CR7 do not exist: #UD. Zydis "
	  "right (invalid); Capstone 4 decodes 'mov'.", k_mov_cr, 0 },
	{ "simd-prefix-no-form", "Opcode map (SDM Vol.2 App. A, 2.1.1): 66/F2/F3 with a 0F "
	  "opcode that has no such form (e.g. F2 0F DA, 66 0F 52) is reserved. Zydis treats it as "
	  "invalid; Capstone 4 ignores the prefix.", k_rep_simd, 0 },
	{ "prefix-order", "SDM 2.1.1: legacy prefixes may come in any order, so 66/67/F3 "
	  "before a segment or other prefix still apply (MOVSW, CWD, JCXZ, MOVLPD, PAUSE ...). "
	  "Zydis right; Capstone 4 agrees once they are moved next to the opcode.",
	  k_prefix_order, 0 },
	{ "rep-on-non-string", "SDM 2.1.1: F2/F3 with a non-string one-byte opcode is reserved "
	  "(CPUs ignore it). Zydis ignores it; Capstone 4 rejects some combinations.",
	  k_rep_ignored, 0 },
	{ "long-mode-only", "SWAPGS, RD/WRFSBASE, CMPXCHG16B ... (SDM Vol.2): #UD outside "
	  "64-bit mode. Zydis right (invalid); Capstone 4 decodes them in 32-bit mode.",
	  k_long_mode, 0 },
	{ "vex-evex-fields", "SDM 2.3 / 2.6: reserved VEX/EVEX field values (EVEX.L'L=11, "
	  "gathers without a VSIB byte, vvvv not 1111 when unused, ...) are #UD. Zydis right; "
	  "Capstone 4 does not check.", k_vex_fields, 0 },
	{ "x87-reserved-alias", "x87 map (SDM Vol.2 App. A, D9/DB mod=11): D9 D8-DF and DB E0/E1/"
	  "E4 are blank (reserved); they are FSTP/287-NOP aliases on real CPUs. Both decode the "
	  "same length; only the names differ (fstpnce/fstp, fsetpm287_nop/fsetpm).",
	  k_x87_reserved, 0 },
	{ "ud0-ud1-modrm", "UD (SDM Vol.2): UD0 is 0F FF /r and UD1 is 0F B9 /r, both with a "
	  "ModRM byte. Zydis right (longer); Capstone 4 stops after the opcode or rejects them "
	  "after a segment prefix.", k_ud_modrm, 0 },
	{ "hint-nop-space", "NOP (SDM Vol.2, Table A-3): 0F 18-1F are hint NOPs (NOP r/m, also "
	  "with mod=11); 0F 1A/1B are MPX, 0F 1C CLDEMOTE, 0F 1E CET on newer CPUs, NOPs without "
	  "them. Zydis decodes the newer instructions (rejecting e.g. BND4+), Capstone 4 the "
	  "old NOP table; the guest's CPUID has none of these extensions.", k_hint_nop, 0 },
	{ "prefetch-0f0d", "0F 0D /r: PREFETCHW (/1) and PREFETCHWT1 (/2) in the SDM; the other "
	  "/r are AMD's PREFETCH aliases (AMD APM Vol.3). Zydis right; Capstone 4 knows /0-/1 "
	  "only.", k_prefetch, 0 },
	{ "fence-rm", "Group 15 (SDM Vol.2 Table A-6): with mod=11, /5 /6 /7 are LFENCE MFENCE "
	  "SFENCE whatever r/m is. Zydis right; Capstone 4 accepts r/m=0 only.", k_fence, 0 },
	{ "newer-isa", "Extensions newer than Capstone 4.0.2's tables (AVX-512, PKU "
	  "RDPKRU/WRPKRU, CET CLRSSBSY, PT PTWRITE, GFNI, VAES, ... all in the current SDM; "
	  "AMD CLZERO). Zydis right; Capstone 4 rejects them or decodes an older instruction.",
	  k_new_isa, 0 },
	{ "3dnow", "AMD 3DNow! (0F 0F /r ib, AMD APM Vol.3; not in the SDM): suffix table "
	  "differences (Capstone 4 accepts undefined suffixes; Zydis 4 names PFRCPIT1 "
	  "'pfcpit1'). Not in the guest's CPUID.", k_3dnow, 0 },
	{ "padlock-0fa6", "0F A6/A7 are reserved in the SDM opcode map; VIA PadLock uses "
	  "F3 0F A6/A7. Zydis right (invalid without F3); Capstone 4 decodes PadLock anyway "
	  "(and calls XSTORE 'xstorerng').",
	  k_padlock, 0 },
	{ "xop-fields", "AMD XOP (8F, AMD APM Vol.4; not in the SDM): XOP.vvvv must be 1111 when "
	  "unused and the map/W/L fields valid, else #UD. Zydis right; Capstone 4 does not check "
	  "(and prints VPCOM's predicate pseudo-ops, vpcomtrueud for vpcomud imm 7).", k_xop, 0 },
	{ "f2-and-f3", "SDM 2.1.1: more than one prefix from group 1 (F2 and F3) is "
	  "unpredictable. Zydis lets the last one select the SSE form (e.g. HSUBPS); Capstone 4 "
	  "rejects it.", k_rep_conflict, 0 },
	{ NULL, NULL, NULL, 0 },
};
#define NKNOWN (sizeof(known) / sizeof(known[0]) - 1)

/* ---- bookkeeping ------------------------------------------------------------------ */

struct tally { uint64_t total, agreed, known, unknown; };

#define MAX_GROUPS 4096
static struct group { char key[96]; uint8_t ex[15]; unsigned exlen; uint64_t n; } groups[MAX_GROUPS];
static unsigned ngroups;
static unsigned printed;

static const char *kind_of(const struct dec *z, const struct dec *c)
{
	if (z->ok && !c->ok) return "zydis-only";
	if (!z->ok && c->ok) return "capstone-only";
	if (z->len != c->len) return "length";
	return "mnemonic";
}

static void note_group(const uint8_t *b, unsigned n, const struct dec *z, const struct dec *c)
{
	char key[96];
	snprintf(key, sizeof(key), "%-13s zydis %-12s capstone %s", kind_of(z, c),
		 z->ok ? z->mn : "-", c->ok ? c->mn : "-");
	for (unsigned i = 0; i < ngroups; i++)
		if (strcmp(groups[i].key, key) == 0) {
			groups[i].n++;
			return;
		}
	if (ngroups == MAX_GROUPS)
		return;
	struct group *g = &groups[ngroups++];
	snprintf(g->key, sizeof(g->key), "%s", key);
	g->exlen = n > 15 ? 15 : n;
	memcpy(g->ex, b, g->exlen);
	g->n = 1;
}

static void print_bytes(FILE *f, const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%02x%s", b[i], i + 1 < n ? " " : "");
}

/* Compare the two decoders at b[0..n); n is what is available (at most 15 used). */
static void check(const char *where, uint64_t off, const uint8_t *b, size_t n, struct tally *t,
		  unsigned *zlen)
{
	if (n > 15)
		n = 15;
	struct dec z = dec_zydis(b, n), c = dec_capstone(b, n);
	*zlen = z.ok ? z.len : 1;
	t->total++;
	if (agree(&z, &c)) {
		t->agreed++;
		return;
	}
	for (unsigned i = 0; i < NKNOWN; i++)
		if (known[i].match(b, &z, &c)) {
			known[i].count++;
			if (t->known++ < 20 && strcmp(where, "random") != 0) {  /* real code: show */
				printf("  known %-20s %s+%#llx: ", known[i].id, where, (unsigned long long)off);
				print_bytes(stdout, b, z.ok ? z.len : (c.ok ? c.len : 1));
				printf(": zydis %s, capstone %s\n", z.ok ? z.mn : "(invalid)",
				       c.ok ? c.mn : "(invalid)");
			}
			return;
		}
	t->unknown++;
	if (explore) {
		note_group(b, z.ok ? z.len : (unsigned)n, &z, &c);
		return;
	}
	if (printed++ < 25 || verbose) {
		printf("  UNKNOWN %s+%#llx: ", where, (unsigned long long)off);
		print_bytes(stdout, b, z.ok ? z.len : (c.ok ? c.len : (unsigned)n));
		printf(": zydis %s/%u, capstone %s/%u\n", z.ok ? z.mn : "(invalid)", z.len,
		       c.ok ? c.mn : "(invalid)", c.len);
	}
}

/* ---- sources ------------------------------------------------------------------------- */

static uint64_t rng;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void run_random(unsigned long count, uint64_t seed, struct tally *t)
{
	uint8_t b[16];
	unsigned zlen;
	rng = seed ? seed : 1;
	for (unsigned long i = 0; i < count; i++) {
		uint64_t r0 = next_rand(), r1 = next_rand();
		memcpy(b, &r0, 8);
		memcpy(b + 8, &r1, 8);
		check("random", i, b, 15, t, &zlen);
	}
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || n < 0 || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("%s: cannot read", path);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static uint32_t r32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t r16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Decode [off, off+size) of the file linearly, stepping by Zydis's length. */
static void walk(const char *path, const uint8_t *f, uint32_t off, uint32_t size, struct tally *t)
{
	for (uint32_t i = 0; i < size;) {
		unsigned zlen;
		check(path, off + i, f + off + i, size - i, t, &zlen);
		i += zlen;
	}
}

static void run_file(const char *path, struct tally *t)
{
	size_t n;
	uint8_t *f = slurp(path, &n);
	if (n < 52 || memcmp(f, "\177ELF\001\001", 6) != 0 || r16(f + 18) != 3)
		die("%s: not an ELF32 i386 file", path);
	uint32_t shoff = r32(f + 32), phoff = r32(f + 28);
	unsigned shnum = r16(f + 48), shent = r16(f + 46), phnum = r16(f + 44), phent = r16(f + 42);
	bool any = false;
	if (shoff && shnum && shent >= 40 && shoff + (uint64_t)shnum * shent <= n) {
		for (unsigned i = 0; i < shnum; i++) {
			const uint8_t *s = f + shoff + (size_t)i * shent;
			uint32_t o = r32(s + 16), sz = r32(s + 20);
			if ((r32(s + 8) & 4) && r32(s + 4) != 8 && (uint64_t)o + sz <= n) {
				walk(path, f, o, sz, t);
				any = true;
			}
		}
	}
	for (unsigned i = 0; !any && phoff && i < phnum && phoff + (uint64_t)(i + 1) * phent <= n; i++) {
		const uint8_t *p = f + phoff + (size_t)i * phent;
		uint32_t o = r32(p + 4), sz = r32(p + 16);
		if (r32(p) == 1 && (r32(p + 24) & 1) && (uint64_t)o + sz <= n)
			walk(path, f, o, sz, t);
	}
	free(f);
}

/* ---- report -------------------------------------------------------------------------- */

static int by_count(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

static void report(const char *what, const struct tally *t)
{
	printf("%-40s %9llu instructions: %9llu agree, %7llu known disagreements, %llu unknown\n",
	       what, (unsigned long long)t->total, (unsigned long long)t->agreed,
	       (unsigned long long)t->known, (unsigned long long)t->unknown);
}

static void report_known(void)
{
	printf("known disagreements (the manual's answer):\n");
	for (unsigned i = 0; i < NKNOWN; i++)
		printf("  %8llu  %-22s %s\n", (unsigned long long)known[i].count, known[i].id,
		       known[i].sdm);
}

static void report_groups(void)
{
	qsort(groups, ngroups, sizeof(groups[0]), by_count);
	for (unsigned i = 0; i < ngroups; i++) {
		printf("%8llu %s  e.g. ", (unsigned long long)groups[i].n, groups[i].key);
		print_bytes(stdout, groups[i].ex, groups[i].exlen);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	unsigned long count = 200000;
	uint64_t seed = 0x5eed5eed5eedull;
	int nfiles = 0;
	char **files = calloc((size_t)argc, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc) count = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-v")) verbose = true;
		else if (!strcmp(argv[i], "--explore")) explore = true;
		else if (argv[i][0] == '-') die("usage: xcheck [-n COUNT] [-s SEED] [-v] [--explore] [FILE...]");
		else files[nfiles++] = argv[i];
	}
	ZydisDecoderInit(&zdec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	if (cs_open(CS_ARCH_X86, CS_MODE_32, &cs) != CS_ERR_OK || !(ci = cs_malloc(cs)))
		die("cannot open Capstone");
	struct tally all = {0}, t = {0};
	int vmaj, vmin;
	cs_version(&vmaj, &vmin);
	printf("xcheck: Zydis %d.%d.%d vs Capstone %d.%d, 32-bit mode\n",
	       (int)ZYDIS_VERSION_MAJOR(ZydisGetVersion()), (int)ZYDIS_VERSION_MINOR(ZydisGetVersion()),
	       (int)ZYDIS_VERSION_PATCH(ZydisGetVersion()), vmaj, vmin);
	run_random(count, seed, &t);
	char what[64];
	snprintf(what, sizeof(what), "random (%lu x 15 bytes, seed %#llx)", count, (unsigned long long)seed);
	report(what, &t);
	all = t;
	for (int i = 0; i < nfiles; i++) {
		t = (struct tally){0};
		run_file(files[i], &t);
		report(files[i], &t);
		all.total += t.total; all.agreed += t.agreed; all.known += t.known; all.unknown += t.unknown;
	}
	report("all", &all);
	report_known();
	if (explore)
		report_groups();
	cs_free(ci, 1);
	cs_close(&cs);
	free(files);
	return all.unknown ? 1 : 0;
}
