/*
 * test_translator.c - each lowering of the translator and the code cache's lookup,
 * chaining and invalidation, by running guest bytes through the real translator on a
 * real guest window and comparing the architectural state afterwards.
 *
 * Harness: guest code is placed at CODE in guest RAM and ends with HLT; run_block()
 * translates and runs blocks until the HLT exit (or another monitor exit) and returns the
 * exit reason.  Expected values are the i386 architectural results, worked out by hand.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "monitor/vmm.h"
#include "monitor/memory.h"
#include "monitor/run.h"
#include "translator/xl.h"
#include "translator/xl_asm.h"
#include "translator/xl_int.h"
#include "codecache/cc.h"
#include "emulation/emu.h"
#include "devices/devices.h"

#define CODE 0x10000u
#define DATA 0x20000u
#define STACK 0x30000u

static struct vm vm;
static struct vcpu *c = &vm.cpu;

static void setup(void)
{
	static bool done;
	char err[256];
	if (!done) {
		ck_assert_int_eq(vm_mem_init(&vm, 16u << 20, err, sizeof(err)), 0);
		vm.cpu.vm = &vm;
		xl_init();
		ck_assert_int_eq(cc_init(vm_protect_page, vm.ram_size), 0);
		ck_assert_int_eq(vm_run_init(&vm, -1), 0);
		done = true;
	}
	cc_flush();
	memset(vm.ram, 0, 0x40000);
	emu_reset_protected(c, 0, 0);
	memset(c->regs, 0, sizeof(c->regs));
	c->regs[R_ESP] = STACK;
	c->eflags = 0x2;
}

static void load(const uint8_t *code, size_t n)
{
	memcpy(vm.ram + CODE, code, n);
	vm.ram[CODE + n] = 0xF4;  /* hlt */
	c->eip = CODE;
}

/* Run translated blocks from c->eip until an exit other than a plain block end. */
static unsigned run_block(void)
{
	for (int i = 0; i < 100; i++) {
		xl_sync_segments(c);
		struct cc_block *b = cc_find(c->eip, ~0u, c->eip, xl_mode(c), 0);
		if (!b)
			b = xl_translate(c, xl_mode(c));
		ck_assert_ptr_nonnull(b);
		unsigned r = xl_enter(c, b->host, vm_window());
		if (r != EXIT_LOOKUP)
			return r;
	}
	ck_abort_msg("guest did not reach its HLT");
	return 0;
}

static uint32_t rd32(uint32_t a) { uint32_t v; memcpy(&v, vm.ram + a, 4); return v; }
static void wr32(uint32_t a, uint32_t v) { memcpy(vm.ram + a, &v, 4); }

#define RUN(...) do { static const uint8_t code_[] = { __VA_ARGS__ }; load(code_, sizeof(code_)); \
	ck_assert_uint_eq(run_block(), EXIT_EMULATE); } while (0)

START_TEST(ident_alu_and_flags)
{
	setup();
	c->regs[R_EAX] = 0xFFFFFFFF;
	RUN(0x83, 0xC0, 0x01,            /* add eax, 1  -> 0, CF ZF */
	    0x0F, 0x92, 0xC1,            /* setb cl */
	    0x0F, 0x94, 0xC5);           /* setz ch */
	ck_assert_uint_eq(c->regs[R_EAX], 0);
	ck_assert_uint_eq(c->regs[R_ECX] & 0xFFFF, 0x0101);
	ck_assert(c->eflags & FL_CF);
	ck_assert(c->eflags & FL_ZF);
	ck_assert_uint_eq(c->eip, CODE + 9);
}
END_TEST

START_TEST(esp_is_r12)
{
	setup();
	RUN(0x89, 0xE0,                  /* mov eax, esp */
	    0x83, 0xEC, 0x10,            /* sub esp, 16 */
	    0xC7, 0x44, 0x24, 0x04, 0x78, 0x56, 0x34, 0x12, /* mov dword [esp+4], 0x12345678 */
	    0x8B, 0x5C, 0x24, 0x04,      /* mov ebx, [esp+4] */
	    0x8D, 0x0C, 0x24);           /* lea ecx, [esp] */
	ck_assert_uint_eq(c->regs[R_EAX], STACK);
	ck_assert_uint_eq(c->regs[R_ESP], STACK - 16);
	ck_assert_uint_eq(rd32(STACK - 12), 0x12345678);
	ck_assert_uint_eq(c->regs[R_EBX], 0x12345678);
	ck_assert_uint_eq(c->regs[R_ECX], STACK - 16);
}
END_TEST

START_TEST(push_pop_forms)
{
	setup();
	wr32(DATA, 0xCAFEF00D);
	c->regs[R_EAX] = 0x11111111;
	RUN(0x50,                        /* push eax */
	    0x6A, 0xFE,                  /* push -2 */
	    0xFF, 0x35, 0x00, 0x00, 0x02, 0x00, /* push dword [0x20000] */
	    0x54,                        /* push esp (pushes the old value) */
	    0x5B,                        /* pop ebx */
	    0x8F, 0x44, 0x24, 0x04,      /* pop dword [esp+4]: address uses the new ESP */
	    0x59);                       /* pop ecx */
	ck_assert_uint_eq(c->regs[R_EBX], STACK - 12);
	/* pop [esp+4]: value 0xCAFEF00D popped, ESP = STACK-8, stored at STACK-4 */
	ck_assert_uint_eq(rd32(STACK - 4), 0xCAFEF00D);
	ck_assert_uint_eq(c->regs[R_ECX], 0xFFFFFFFE);
	ck_assert_uint_eq(c->regs[R_ESP], STACK - 4);
}
END_TEST

START_TEST(pop_esp_and_16bit_push)
{
	setup();
	wr32(STACK, 0x00012340);
	RUN(0x66, 0x6A, 0x07,            /* push word 7 */
	    0x66, 0x59,                  /* pop cx */
	    0x5C);                       /* pop esp: ESP = [ESP] */
	ck_assert_uint_eq(c->regs[R_ECX] & 0xFFFF, 7);
	ck_assert_uint_eq(c->regs[R_ESP], 0x00012340);
}
END_TEST

START_TEST(call_ret_enter_leave)
{
	setup();
	/* call f; hlt; f: enter 8,0; mov eax,[ebp+4]; leave; ret */
	RUN(0xE8, 0x01, 0x00, 0x00, 0x00,
	    0xF4,
	    0xC8, 0x08, 0x00, 0x00,
	    0x8B, 0x45, 0x04,
	    0xC9,
	    0xC3);
	ck_assert_uint_eq(c->eip, CODE + 5);
	ck_assert_uint_eq(c->regs[R_EAX], CODE + 5);   /* return address via the frame */
	ck_assert_uint_eq(c->regs[R_ESP], STACK);
	ck_assert_uint_eq(c->regs[R_EBP], 0);
}
END_TEST

START_TEST(indirect_jump_and_call)
{
	setup();
	wr32(DATA, CODE + 0x20);
	memset(vm.ram + CODE, 0x90, 0x40);
	static const uint8_t code[] = { 0xFF, 0x15, 0x00, 0x00, 0x02, 0x00 }; /* call [0x20000] */
	load(code, sizeof(code));
	vm.ram[CODE + 0x20] = 0x40;  /* inc eax */
	vm.ram[CODE + 0x21] = 0xF4;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + 0x21);
	ck_assert_uint_eq(c->regs[R_EAX], 1);
	ck_assert_uint_eq(rd32(STACK - 4), CODE + 6);
}
END_TEST

START_TEST(jcc_loop_jecxz)
{
	setup();
	c->regs[R_ECX] = 5;
	/* l: inc eax; loop l; jecxz ok; ud2; ok: cmp eax,5; jne bad; hlt; bad: ud2 */
	RUN(0x40, 0xE2, 0xFD, 0xE3, 0x02, 0x0F, 0x0B, 0x83, 0xF8, 0x05, 0x75, 0x01, 0xF4,
	    0x0F, 0x0B);
	ck_assert_uint_eq(c->regs[R_EAX], 5);
	ck_assert_uint_eq(c->regs[R_ECX], 0);
	ck_assert_uint_eq(c->eip, CODE + 12);
}
END_TEST

START_TEST(string_ops_rep_and_df)
{
	setup();
	memcpy(vm.ram + DATA, "abcdefgh", 8);
	c->regs[R_ESI] = DATA; c->regs[R_EDI] = DATA + 0x100; c->regs[R_ECX] = 8;
	RUN(0xF3, 0xA4,                  /* rep movsb */
	    0xFD,                        /* std */
	    0xB0, 0x7A,                  /* mov al, 'z' */
	    0xBF, 0x07, 0x01, 0x02, 0x00,/* mov edi, DATA+0x107 */
	    0xB9, 0x03, 0x00, 0x00, 0x00,/* mov ecx, 3 */
	    0xF3, 0xAA,                  /* rep stosb backwards */
	    0xFC);                       /* cld */
	ck_assert_mem_eq(vm.ram + DATA + 0x100, "abcdezzz", 8);
	ck_assert_uint_eq(c->regs[R_ESI], DATA + 8);
	ck_assert_uint_eq(c->regs[R_EDI], DATA + 0x104);
	ck_assert_uint_eq(c->regs[R_ECX], 0);
}
END_TEST

START_TEST(repe_cmps_and_scas)
{
	setup();
	memcpy(vm.ram + DATA, "hello, world", 12);
	memcpy(vm.ram + DATA + 0x100, "hello, there", 12);
	c->regs[R_ESI] = DATA; c->regs[R_EDI] = DATA + 0x100; c->regs[R_ECX] = 12;
	RUN(0xF3, 0xA6);                 /* repe cmpsb: stops after the 'w'/'t' mismatch */
	ck_assert_uint_eq(c->regs[R_ECX], 4);
	ck_assert_uint_eq(c->regs[R_ESI], DATA + 8);
	ck_assert(!(c->eflags & FL_ZF));
}
END_TEST

START_TEST(moffs_disp32_and_addr16)
{
	setup();
	wr32(DATA, 0x01020304);
	wr32(DATA + 0x14, 0xA5A5A5A5);
	c->regs[R_EBX] = 0xFFFF0000u + 0x10;  /* upper bits must be ignored with addr16 */
	c->regs[R_ESI] = 0x00000004;
	RUN(0xA1, 0x00, 0x00, 0x02, 0x00,            /* mov eax, [0x20000] (moffs) */
	    0x8B, 0x0D, 0x00, 0x00, 0x02, 0x00,      /* mov ecx, [0x20000] (disp32) */
	    0x67, 0x8B, 0x10);                       /* mov edx, [bx+si] (16-bit addressing) */
	ck_assert_uint_eq(c->regs[R_EAX], 0x01020304);
	ck_assert_uint_eq(c->regs[R_ECX], 0x01020304);
	/* DS base 0, [bx+si] = 0x14: not DATA -> reads RAM at 0x14 */
	ck_assert_uint_eq(c->regs[R_EDX], rd32(0x14));
}
END_TEST

START_TEST(fs_segment_base)
{
	setup();
	c->seg[S_FS].base = DATA;
	c->seg_base[S_FS] = DATA;
	wr32(DATA + 8, 0x55667788);
	wr32(8, 0xDEADBEEF);
	RUN(0x64, 0x8B, 0x05, 0x08, 0x00, 0x00, 0x00,  /* mov eax, fs:[8] */
	    0x8B, 0x1D, 0x08, 0x00, 0x00, 0x00);       /* mov ebx, [8]: DS is still flat */
	ck_assert_uint_eq(c->regs[R_EAX], 0x55667788);
	ck_assert_uint_eq(c->regs[R_EBX], 0xDEADBEEF);
}
END_TEST

START_TEST(fs_base_store)
{
	setup();
	c->seg[S_FS].base = DATA;
	c->regs[R_EBX] = 0x40;
	RUN(0x64, 0xC7, 0x43, 0x04, 0x11, 0x22, 0x33, 0x44); /* mov dword fs:[ebx+4], 0x44332211 */
	ck_assert_uint_eq(rd32(DATA + 0x44), 0x44332211);
}
END_TEST

START_TEST(fs_limit_and_type_checks)
{
	setup();
	c->seg[S_FS].base = DATA;
	c->seg[S_FS].limit = 0xFF;
	c->seg[S_FS].attr = 0x4091;        /* present, data, read-only, 32-bit */
	c->regs[R_EBX] = 0xFC;
	RUN(0x64, 0x8B, 0x03);             /* mov eax, fs:[ebx]: bytes 0xFC..0xFF, inside */
	c->regs[R_EBX] = 0xFD;
	static const uint8_t over[] = {0x64, 0x8B, 0x03};  /* 0xFD..0x100: beyond the limit */
	load(over, sizeof(over));
	ck_assert_uint_eq(run_block(), EXIT_EXCEPTION);
	ck_assert_uint_eq(c->exit_info, EXC_GP);
	ck_assert_uint_eq(c->eip, CODE);
	static const uint8_t wr[] = {0x64, 0x89, 0x03};    /* write to a read-only segment */
	c->regs[R_EBX] = 0;
	load(wr, sizeof(wr));
	cc_flush();
	ck_assert_uint_eq(run_block(), EXIT_EXCEPTION);
	ck_assert_uint_eq(c->exit_info, EXC_GP);
}
END_TEST

START_TEST(expand_down_stack_segment)
{
	setup();
	c->seg[S_SS].limit = 0x2FFFF;        /* valid offsets 0x30000..0xFFFFFFFF */
	c->seg[S_SS].attr = 0x4097;          /* present, data, writable, expand-down, 32-bit */
	c->regs[R_EBP] = 0x30010;
	RUN(0x8B, 0x45, 0x00);               /* mov eax, [ebp]: SS, inside */
	c->regs[R_EBP] = 0x2FFF0;
	static const uint8_t below[] = {0x8B, 0x45, 0x00};
	load(below, sizeof(below));
	cc_flush();
	ck_assert_uint_eq(run_block(), EXIT_EXCEPTION);
	ck_assert_uint_eq(c->exit_info, EXC_SS);
}
END_TEST

START_TEST(high8_with_esp_borrows_a_register)
{
	setup();
	wr32(STACK + 4, 0x000000AB);
	c->regs[R_EBX] = 0x12345678;
	RUN(0x8A, 0x64, 0x24, 0x04);     /* mov ah, [esp+4] */
	ck_assert_uint_eq(c->regs[R_EAX], 0xAB00);
	ck_assert_uint_eq(c->regs[R_EBX], 0x12345678);   /* borrowed register restored */
	ck_assert_uint_eq(c->regs[R_ESP], STACK);
}
END_TEST

START_TEST(short_incdec_op82_xlat)
{
	setup();
	memcpy(vm.ram + DATA, "\x10\x20\x30\x40", 4);
	c->regs[R_EBX] = DATA;
	c->regs[R_EAX] = 2;
	RUN(0x44,                        /* inc esp */
	    0x4C,                        /* dec esp */
	    0x4A,                        /* dec edx */
	    0xD7,                        /* xlat */
	    0x82, 0xC1, 0x05);           /* add cl, 5 (0x82 alias) */
	ck_assert_uint_eq(c->regs[R_ESP], STACK);
	ck_assert_uint_eq(c->regs[R_EDX], 0xFFFFFFFF);
	ck_assert_uint_eq(c->regs[R_EAX] & 0xFF, 0x30);
	ck_assert_uint_eq(c->regs[R_ECX], 5);
}
END_TEST

START_TEST(virtual_if_at_cpl0)
{
	setup();
	c->eflags = 0x2 | FL_IF | FL_IOPL;
	c->regs[R_EAX] = 0xFFFFFFFF;
	RUN(0xFA,                        /* cli: only the virtual IF changes */
	    0x83, 0xC0, 0x01,            /* add eax, 1 -> ZF CF */
	    0x9C,                        /* pushfd */
	    0x5B,                        /* pop ebx */
	    0x68, 0x00, 0x02, 0x00, 0x00,/* push IF */
	    0x9D,                        /* popfd: IF=1, IOPL=0, arithmetic flags 0 */
	    0xFB);                       /* sti */
	ck_assert_uint_eq(c->regs[R_EBX] & (FL_IF | FL_ZF | FL_CF | FL_IOPL), FL_ZF | FL_CF | FL_IOPL);
	ck_assert(c->eflags & FL_IF);
	ck_assert(!(c->eflags & (FL_ZF | FL_CF | FL_IOPL)));
	ck_assert_uint_eq(c->regs[R_ESP], STACK);
}
END_TEST

/* With an interrupt pending, STI stops translated code after the next instruction only. */
START_TEST(sti_probe_keeps_the_shadow)
{
	setup();
	c->eflags = 0x2;
	static const uint8_t code[] = {0xFB, 0x40, 0x40};   /* sti; inc eax; inc eax */
	load(code, sizeof(code));
	xl_sync_segments(c);
	struct cc_block *b = xl_translate(c, xl_mode(c));
	vm_request_exit(&vm);             /* req_ptr now names the run loop's fault page */
	c->irq_ptr = c->req_ptr;
	c->req_ptr = (uint64_t)(uintptr_t)vm.ram;   /* any readable page: no block-head exit */
	ck_assert_uint_eq(xl_enter(c, b->host, vm_window()), EXIT_REQUEST);
	ck_assert_uint_eq(c->eip, CODE + 1);        /* interrupts are taken before inc eax... */
	ck_assert(c->intr_inhibit);                 /* ...but only after it has run */
	ck_assert(c->eflags & FL_IF);
	c->intr_inhibit = false;
}
END_TEST

START_TEST(sensitive_exits_and_ud)
{
	setup();
	static const uint8_t hlt[] = {0x90, 0xF4};
	load(hlt, sizeof(hlt));
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + 1);              /* stops at HLT, not after */
	static const uint8_t avx[] = {0xC5, 0xF8, 0x77};   /* vzeroupper: not in our CPUID */
	load(avx, sizeof(avx));
	cc_flush();
	ck_assert_uint_eq(run_block(), EXIT_EXCEPTION);
	ck_assert_uint_eq(c->exit_info, EXC_UD);
}
END_TEST

START_TEST(divide_error_is_precise)
{
	setup();
	c->regs[R_EAX] = 7; c->regs[R_ECX] = 0;
	static const uint8_t code[] = {0x40, 0xF7, 0xF1};  /* inc eax; div ecx */
	load(code, sizeof(code));
	ck_assert_uint_eq(run_block(), EXIT_EXCEPTION);
	ck_assert_uint_eq(c->exit_info, EXC_DE);
	ck_assert_uint_eq(c->eip, CODE + 1);
	ck_assert_uint_eq(c->regs[R_EAX], 8);
}
END_TEST

START_TEST(host_gp_becomes_guest_gp)
{
	setup();
	wr32(DATA, 0xFFFFFFFF);                         /* reserved MXCSR bits set */
	static const uint8_t code[] = {0x0F, 0xAE, 0x15, 0x00, 0x00, 0x02, 0x00}; /* ldmxcsr [DATA] */
	load(code, sizeof(code));
	ck_assert_uint_eq(run_block(), EXIT_EXCEPTION);
	ck_assert_uint_eq(c->exit_info, EXC_GP);
	ck_assert_uint_eq(c->eip, CODE);
}
END_TEST

START_TEST(tzcnt_runs_as_bsf)
{
	setup();
	c->regs[R_ECX] = 0x100;
	RUN(0xF3, 0x0F, 0xBC, 0xC1);     /* rep bsf eax, ecx */
	ck_assert_uint_eq(c->regs[R_EAX], 8);
}
END_TEST

START_TEST(sse2_and_x87_ident)
{
	setup();
	wr32(DATA, 3); wr32(DATA + 4, 4);
	RUN(0xDB, 0x05, 0x00, 0x00, 0x02, 0x00,       /* fild dword [DATA] */
	    0xDA, 0x05, 0x04, 0x00, 0x02, 0x00,       /* fiadd dword [DATA+4] */
	    0xDB, 0x1D, 0x08, 0x00, 0x02, 0x00,       /* fistp dword [DATA+8] */
	    0x66, 0x0F, 0x6E, 0x05, 0x00, 0x00, 0x02, 0x00, /* movd xmm0, [DATA] */
	    0x66, 0x0F, 0xFE, 0xC0,                   /* paddd xmm0, xmm0 */
	    0x66, 0x0F, 0x7E, 0x05, 0x0C, 0x00, 0x02, 0x00); /* movd [DATA+12], xmm0 */
	ck_assert_uint_eq(rd32(DATA + 8), 7);
	ck_assert_uint_eq(rd32(DATA + 12), 6);
}
END_TEST

/* Code cache: chaining links A's exit to B; writing B's page unlinks it again. */
START_TEST(chain_and_invalidate)
{
	setup();
	static const uint8_t a[] = {0xE9, 0xFB, 0x0F, 0x00, 0x00};  /* jmp CODE+0x1000 */
	load(a, sizeof(a));
	vm.ram[CODE + 0x1000] = 0x40;
	vm.ram[CODE + 0x1001] = 0xF4;
	xl_sync_segments(c);
	struct cc_block *ba = xl_translate(c, xl_mode(c));
	ck_assert_uint_eq(xl_enter(c, ba->host, vm_window()), EXIT_LOOKUP);
	ck_assert_uint_eq(c->eip, CODE + 0x1000);
	struct cc_exit *e = (struct cc_exit *)(uintptr_t)c->spill[0];
	ck_assert_ptr_eq(e->blk, ba);
	struct cc_block *bb = xl_translate(c, xl_mode(c));
	ck_assert_ptr_eq(cc_find(CODE + 0x1000, ~0u, CODE + 0x1000, xl_mode(c), 0), bb);
	cc_link(e, bb);
	c->eip = CODE;
	ck_assert_uint_eq(xl_enter(c, ba->host, vm_window()), EXIT_EMULATE);  /* ran through */
	ck_assert_uint_eq(c->eip, CODE + 0x1001);
	ck_assert_uint_eq(c->regs[R_EAX], 1);
	vmm_ram_written(&vm, CODE + 0x1000, 1);
	ck_assert(!bb->valid);
	ck_assert_ptr_null(cc_find(CODE + 0x1000, ~0u, CODE + 0x1000, xl_mode(c), 0));
	c->eip = CODE;
	ck_assert_uint_eq(xl_enter(c, ba->host, vm_window()), EXIT_LOOKUP);  /* unlinked */
	ck_assert_uint_eq(c->regs[R_EAX], 1);
}
END_TEST

/* The inline lookup probe finds a block at the slot cc_lk_index gives, with RORX and with
 * the BMI2-less form (the dword at vcpu->eip + 1). */
START_TEST(lookup_probe_uses_the_hashed_slot)
{
	bool bmi2 = xl_host_bmi2;
	for (int pass = 0; pass < 2; pass++) {
		setup();
		xl_host_bmi2 = pass == 0 ? bmi2 : false;
		uint32_t target = CODE + 0x1230;
		wr32(DATA, target);
		static const uint8_t code[] = { 0xFF, 0x25, 0x00, 0x00, 0x02, 0x00 };   /* jmp [0x20000] */
		load(code, sizeof(code));
		vm.ram[target] = 0x40;       /* inc eax */
		vm.ram[target + 1] = 0xF4;
		xl_sync_segments(c);
		struct cc_block *a = xl_translate(c, xl_mode(c));
		c->eip = target;
		struct cc_block *t = xl_translate(c, xl_mode(c));
		ck_assert_uint_ne(cc_lk_index(target), target & 0xFFFF);
		struct cc_lookup *lk = (struct cc_lookup *)(uintptr_t)c->lookup_table;
		cc_lookup_insert(lk, t);
		c->eip = CODE;
		ck_assert_uint_eq(xl_enter(c, a->host, vm_window()), EXIT_EMULATE);    /* the HLT */
		ck_assert_uint_eq(c->eip, target + 1);
		ck_assert_uint_eq(c->regs[R_EAX], 1);
		cc_lookup_clear(lk);
	}
	xl_host_bmi2 = bmi2;
}
END_TEST

START_TEST(code_pages_are_write_protected)
{
	setup();
	static const uint8_t code[] = {0x40};
	load(code, sizeof(code));
	ck_assert(!cc_page_has_code(CODE));
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert(cc_page_has_code(CODE));
	/* a store into the code page from translated code exits as self-modifying code */
	static const uint8_t st[] = {0xC6, 0x05, 0x00, 0x00, 0x01, 0x00, 0x90}; /* mov byte [CODE], 0x90 */
	memcpy(vm.ram + DATA, st, sizeof(st));
	vm.ram[DATA + sizeof(st)] = 0xF4;
	c->eip = DATA;
	unsigned r = run_block();
	ck_assert_uint_eq(r, 100 /* EXIT_SMC */);
	ck_assert_uint_eq(c->exit_info, CODE);
	ck_assert_uint_eq(c->eip, DATA);      /* precise: the store has not happened */
	ck_assert_uint_eq(vm.ram[CODE], 0x40);
}
END_TEST

/* Run like the monitor for the inline caches: a VERR/VERW or segment-load site that missed
 * its cache is run by the emulator and its slot refilled (monitor/run.c, handle_exit).
 * Returns the number of such misses once the guest reaches its HLT. */
static unsigned run_with_refills(void)
{
	unsigned misses = 0;
	for (int i = 0; i < 100; i++) {
		ck_assert_uint_eq(run_block(), EXIT_EMULATE);
		uint32_t info = c->exit_info, eip = c->eip;
		if (info == 0 && vm.ram[eip] == 0xF4)
			return misses;
		ck_assert_uint_ge(info, XL_INFO_SREG);
		ck_assert_uint_lt(info, XL_INFO_RING);
		ck_assert_int_eq(emu_step(c), 0);
		if (c->eip != eip)
			xl_sreg_fill(c, info);
		misses++;
	}
	ck_abort_msg("guest did not reach its HLT");
	return 0;
}

static uint64_t host_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

START_TEST(rdtsc_inline_and_tsd)
{
	setup();
	/* stc; xor ebx, ebx (ZF=1, CF=0); stc (CF=1); rdtsc; mov esi, eax; mov edi, edx;
	 * setz bl; setc bh; rdtsc */
	static const uint8_t code[] = {0x31, 0xDB, 0xF9, 0x0F, 0x31, 0x89, 0xC6, 0x89, 0xD7,
				       0x0F, 0x94, 0xC3, 0x0F, 0x92, 0xC7, 0x0F, 0x31};
	load(code, sizeof(code));
	c->tsc_offset = 1000000;
	uint64_t t0 = host_tsc();
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);          /* the HLT: no exit before */
	uint64_t t1 = host_tsc();
	ck_assert_uint_eq(c->eip, CODE + sizeof(code));
	uint64_t g1 = (uint64_t)c->regs[R_EDI] << 32 | c->regs[R_ESI];
	uint64_t g2 = (uint64_t)c->regs[R_EDX] << 32 | c->regs[R_EAX];
	ck_assert_uint_ge(g1, t0 - 1000000);                   /* host TSC - offset */
	ck_assert_uint_le(g2, t1 - 1000000);
	ck_assert_uint_ge(g2, g1);                             /* monotonic */
	ck_assert_uint_eq(c->regs[R_EBX] & 0xFFFF, 0x0101);    /* ZF and CF kept */
	ck_assert_uint_gt(xl_stats.tsc_sites, 0);
	/* the same code at CPL 3: inline while CR4.TSD is clear, a monitor call (#GP) once it
	 * is set - the mode changes, so the translation made with TSD clear is not used */
	c->cpl = 3;
	c->eip = CODE;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + sizeof(code));
	uint32_t m = xl_mode(c);
	c->cr4 |= CR4_TSD;
	ck_assert_uint_ne(xl_mode(c), m);
	c->eip = CODE;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + 3);                   /* stopped at the rdtsc */
	ck_assert_uint_eq(c->exit_info, 0);
	c->cpl = 0;                                            /* CPL 0: inline again */
	c->eip = CODE;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + sizeof(code));
	c->cr4 = 0;
}
END_TEST

#define GDT (DATA + 0x800)
/* From CODE with ECX = 3 loops of: stc; verw [DATA]; setz al; verr [DATA]; setz ah;
 * setc dl; add bl, al; add bh, ah; add dh, dl.  Returns the misses of the run; BL = VERW
 * hits, BH = VERR hits, DH = 3 when CF survived both. */
static unsigned verify_run(uint32_t want_bx)
{
	c->eip = CODE;
	c->regs[R_EBX] = c->regs[R_EDX] = 0;
	unsigned misses = run_with_refills();
	ck_assert_uint_eq(c->regs[R_EBX] & 0xFFFF, want_bx);
	ck_assert_uint_eq((c->regs[R_EDX] >> 8) & 0xFF, 3);
	return misses;
}

/* Run until every site hit its cache (a miss leaves the block, so later sites of the same
 * block, and blocks that start after a miss, fill over a few runs). */
static void verify_settle(uint32_t want_bx)
{
	for (int i = 0; i < 6; i++)
		if (verify_run(want_bx) == 0)
			return;
	ck_abort_msg("VERR/VERW sites never ran inline");
}

START_TEST(verw_cache_follows_the_gdt)
{
	setup();
	wr32(GDT + 0x10, 0x0000FFFF); wr32(GDT + 0x14, 0x00CF9200);   /* 0x10: flat writable data */
	wr32(GDT + 0x18, 0x0000FFFF); wr32(GDT + 0x1C, 0x00CF9A00);   /* 0x18: flat readable code */
	c->gdtr = (struct dtr){ GDT, 0x1F };
	wr32(DATA, 0x10);
	static const uint8_t code[] = {0xB9, 0x03, 0x00, 0x00, 0x00,
		0xF9, 0x0F, 0x00, 0x2D, 0x00, 0x00, 0x02, 0x00, 0x0F, 0x94, 0xC0,
		0x0F, 0x00, 0x25, 0x00, 0x00, 0x02, 0x00, 0x0F, 0x94, 0xC4, 0x0F, 0x92, 0xC2,
		0x00, 0xC3, 0x00, 0xE7, 0x00, 0xD6, 0xE2, 0xE0};
	load(code, sizeof(code));
	uint64_t fills = xl_stats.verify_fills;
	verify_settle(0x0303);                                 /* writable, readable */
	ck_assert_uint_gt(xl_stats.verify_fills, fills);
	ck_assert_uint_eq(verify_run(0x0303), 0);              /* inline: no exit */
	/* the descriptor in the GDT becomes read-only data: the next run sees it */
	wr32(GDT + 0x14, 0x00CF9000);
	ck_assert_uint_gt(verify_run(0x0300), 0);
	verify_settle(0x0300);
	/* another selector in the operand: execute/read code, readable, not writable */
	wr32(DATA, 0x18);
	ck_assert_uint_gt(verify_run(0x0300), 0);
	verify_settle(0x0300);
	/* RPL 3 over a DPL-0 segment, then a selector beyond the GDT limit: ZF = 0 */
	wr32(DATA, 0x1B);
	verify_run(0);
	c->gdtr.limit = 0x17;
	wr32(DATA, 0x18);
	verify_run(0);
	verify_run(0);
	/* GDT limit back and the data writable again */
	c->gdtr.limit = 0x1F;
	wr32(GDT + 0x14, 0x00CF9200);
	wr32(DATA, 0x10);
	ck_assert_uint_gt(verify_run(0x0303), 0);
	verify_settle(0x0303);
}
END_TEST

/* --- adaptive device-memory sites (translator/mmio_fast.c) ------------------------------- */

/* What the run loop does after a device-memory fault (monitor/adaptive.c; mon_int.h is the
 * monitor's own): enough of them make the instruction at EIP an adaptive site. */
void adapt_note(struct vcpu *c);

#define DEV_PAGE 0xFEE00000u
static uint32_t dev_mirror[1024] __attribute__((aligned(4096)));
static uint32_t dev_last_off, dev_last_val, dev_writes;

static uint32_t dev_rd(void *opaque, uint32_t off, int size)
{
	(void)opaque; (void)size;
	return dev_mirror[off / 4];
}

static void dev_wr(void *opaque, uint32_t off, int size, uint32_t val)
{
	(void)opaque; (void)size;
	dev_last_off = off, dev_last_val = val, dev_writes++;
}

/* A device page at DEV_PAGE, the cache pointing at it in the flat window (paging off), and
 * the instruction at CODE + at made an adaptive site. */
static void mmio_site(const uint8_t *code, size_t n, uint32_t at)
{
	static bool registered;
	setup();
	if (!registered) {
		dev_mmio_register(DEV_PAGE, 0x1000, dev_rd, dev_wr, NULL);
		registered = true;
	}
	load(code, n);
	c->eip = CODE + at;
	for (unsigned i = 0; i < ADAPT_FAULTS; i++)
		adapt_note(c);
	c->eip = CODE;
	c->mmio_fast_page = c->mmio_fast_wpage = (uint64_t)(uintptr_t)vm_window() + DEV_PAGE;
	c->mmio_fast_mirror = (uint64_t)(uintptr_t)dev_mirror;
	c->mmio_fast_skip = 0x390;
	c->mmio_fast_gpa = DEV_PAGE;
	dev_mirror[0x20 / 4] = 0x12345678;
	dev_mirror[0x394 / 4] = 0xBAD;
}

START_TEST(mmio_fast_load_reads_the_mirror)
{
	/* stc; mov eax, [0xFEE00020]; setc bl; mov edx, [ecx + 0x30]... as two runs */
	static const uint8_t code[] = {0xF9, 0xA1, 0x20, 0x00, 0xE0, 0xFE, 0x0F, 0x92, 0xC3};
	mmio_site(code, sizeof(code), 1);
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);         /* the HLT: no exit before */
	ck_assert_uint_eq(c->eip, CODE + sizeof(code));
	ck_assert_uint_eq(c->regs[R_EAX], 0x12345678);
	ck_assert_uint_eq(c->regs[R_EBX] & 0xFF, 1);          /* CF kept across the compares */
	ck_assert_uint_gt(xl_stats.mmio_fast_sites, 0);
	c->mmio_fast_page = 0;                                 /* nothing cached: the monitor */
	c->eip = CODE;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + 1);
	ck_assert_uint_eq(c->exit_info, EMULATE_ADAPTIVE);
	ck_assert_uint_eq(c->eflags & FL_CF, FL_CF);
}
END_TEST

START_TEST(mmio_fast_load_skips_the_volatile_register)
{
	/* mov esi, [ecx + 0x394] (the timer's current count: never from the mirror) */
	static const uint8_t code[] = {0x8B, 0xB1, 0x94, 0x03, 0x00, 0x00};
	mmio_site(code, sizeof(code), 0);
	c->regs[R_ECX] = DEV_PAGE;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE);
	ck_assert_uint_eq(c->exit_info, EMULATE_ADAPTIVE);
	ck_assert_uint_eq(c->regs[R_ESI], 0);
	c->regs[R_ECX] = DEV_PAGE - 0x394 + 0x22;              /* misaligned: the monitor too */
	dev_mirror[0x20 / 4] = 7;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->exit_info, EMULATE_ADAPTIVE);
	c->regs[R_ECX] = DEV_PAGE - 0x394 + 0x20;              /* [0x20]: from the mirror */
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + sizeof(code));
	ck_assert_uint_eq(c->regs[R_ESI], 7);
}
END_TEST

START_TEST(mmio_fast_store_calls_the_device)
{
	/* std; stc; mov [ecx + 0xB0], edx; setc bl; pushf; pop edi */
	static const uint8_t code[] = {0xFD, 0xF9, 0x89, 0x91, 0xB0, 0x00, 0x00, 0x00, 0x0F, 0x92,
				       0xC3, 0x9C, 0x5F};
	mmio_site(code, sizeof(code), 2);
	c->regs[R_ECX] = DEV_PAGE;
	c->regs[R_EDX] = 0xCAFE;
	c->regs[R_EAX] = 0x11111111, c->regs[R_ESI] = 0x22222222;
	uint32_t writes = dev_writes;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + sizeof(code));
	ck_assert_uint_eq(dev_writes, writes + 1);
	ck_assert_uint_eq(dev_last_off, 0xB0);
	ck_assert_uint_eq(dev_last_val, 0xCAFE);
	ck_assert_uint_eq(c->regs[R_EBX] & 0xFF, 1);           /* CF */
	ck_assert_uint_eq(c->regs[R_EDI] & FL_DF, FL_DF);      /* DF kept across the call */
	ck_assert_uint_eq(c->regs[R_EAX], 0x11111111);         /* caller-saved guest registers */
	ck_assert_uint_eq(c->regs[R_ESI], 0x22222222);
	ck_assert_uint_eq(c->regs[R_EDX], 0xCAFE);
	c->mmio_fast_wpage = 0;                                /* only read through: the monitor */
	c->eip = CODE;
	ck_assert_uint_eq(run_block(), EXIT_EMULATE);
	ck_assert_uint_eq(c->eip, CODE + 2);
	ck_assert_uint_eq(c->exit_info, EMULATE_ADAPTIVE);
	ck_assert_uint_eq(dev_writes, writes + 1);
	c->eflags &= ~FL_DF;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("translator");
	TCase *t = tcase_create("lowerings");
	tcase_add_test(t, ident_alu_and_flags);
	tcase_add_test(t, esp_is_r12);
	tcase_add_test(t, push_pop_forms);
	tcase_add_test(t, pop_esp_and_16bit_push);
	tcase_add_test(t, call_ret_enter_leave);
	tcase_add_test(t, indirect_jump_and_call);
	tcase_add_test(t, jcc_loop_jecxz);
	tcase_add_test(t, string_ops_rep_and_df);
	tcase_add_test(t, repe_cmps_and_scas);
	tcase_add_test(t, moffs_disp32_and_addr16);
	tcase_add_test(t, fs_segment_base);
	tcase_add_test(t, fs_base_store);
	tcase_add_test(t, fs_limit_and_type_checks);
	tcase_add_test(t, expand_down_stack_segment);
	tcase_add_test(t, high8_with_esp_borrows_a_register);
	tcase_add_test(t, short_incdec_op82_xlat);
	tcase_add_test(t, virtual_if_at_cpl0);
	tcase_add_test(t, sti_probe_keeps_the_shadow);
	tcase_add_test(t, sensitive_exits_and_ud);
	tcase_add_test(t, divide_error_is_precise);
	tcase_add_test(t, host_gp_becomes_guest_gp);
	tcase_add_test(t, tzcnt_runs_as_bsf);
	tcase_add_test(t, sse2_and_x87_ident);
	tcase_add_test(t, rdtsc_inline_and_tsd);
	tcase_add_test(t, verw_cache_follows_the_gdt);
	tcase_add_test(t, mmio_fast_load_reads_the_mirror);
	tcase_add_test(t, mmio_fast_load_skips_the_volatile_register);
	tcase_add_test(t, mmio_fast_store_calls_the_device);
	suite_add_tcase(s, t);
	TCase *cc = tcase_create("codecache");
	tcase_add_test(cc, chain_and_invalidate);
	tcase_add_test(cc, code_pages_are_write_protected);
	tcase_add_test(cc, lookup_probe_uses_the_hashed_slot);
	suite_add_tcase(s, cc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
