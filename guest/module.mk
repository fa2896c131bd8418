# guest/ - the project's own guest images, multiboot v1 ELF32 loaded at 1 MiB.
#
#   make guest      every image below
#   $(BUILD)/guest/bare.elf     guest/bare/: the bare-metal CPL 0/3 self test and the
#                               CPU-bound benchmark, no paging (`-append selftest|bench N`)
#   $(BUILD)/guest/native.elf   guest/kernel/ + guest/user/: the multi-process kernel with
#                               paging, its shell, test suite and nanobenchmarks
#                               (`-append test|bench [quick]|bigmem MB`, default: the shell)
#   $(BUILD)/guest/pv.elf       the same sources built with -DPV_GUEST: the paravirtual
#                               backend of guest/kernel/pvops.h (pvops_pv.h, pv/abi.h) and
#                               the vmm386 PV ELF note; runs under vmm386 only
#
# Guest code is built for bare i386 with its own flags, never with the monitor's CFLAGS.
# The benchmark workload (bench/workload/cpu.c) is compiled here with the same flags and the
# same object is linked into the native host program (bench/module.mk).

GUEST_CC      ?= gcc
GUEST_CFLAGS  := -m32 -march=i686 -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie \
                 -fno-stack-protector -fcf-protection=none -mgeneral-regs-only -nostdlib \
                 -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns -fno-strict-aliasing \
                 -Wall -Wextra -Ibench/workload -Iguest/common
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
                 -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_WL   := $(BUILD)/guest/obj/cpu_workload.o
# guest/common/klibc.c: the same freestanding routines for every image (one object)
GUEST_KLIBC := $(BUILD)/guest/obj/common/klibc.o

# The rest of guest/common is one copy of the kernel code both kernels share, compiled once
# per image (obj/<image>/common/) with that image's include directory first, so that its
# "kernel.h" (per-image parameters and hooks) and "pvops.h" (native or PV) are the image's:
#   every image          entry.S (multiboot header, boot_main, interrupt entry/exit),
#                        desc.c (GDT, IDT, TSS), kprint.c (kprintf, panic, machine_exit),
#                        multiboot.c (the command line)
#   native images only   pic.c (8259A, 8254), uart16550.c (polled COM1)
GUEST_COMMON_ALL    := entry.o desc.o kprint.o multiboot.o
GUEST_COMMON_NATIVE := pic.o uart16550.o

BARE_C    := $(sort $(wildcard guest/bare/*.c))
BARE_S    := $(sort $(wildcard guest/bare/*.S))
BARE_OBJS := $(patsubst guest/%.c,$(BUILD)/guest/obj/%.o,$(BARE_C)) \
             $(patsubst guest/%.S,$(BUILD)/guest/obj/%.o,$(BARE_S)) \
             $(addprefix $(BUILD)/guest/obj/bare/common/,$(GUEST_COMMON_ALL) $(GUEST_COMMON_NATIVE)) \
             $(GUEST_WL) $(GUEST_KLIBC)

GUEST_IMAGES := $(BUILD)/guest/bare.elf $(BUILD)/guest/native.elf $(BUILD)/guest/pv.elf

.PHONY: guest
guest: $(GUEST_IMAGES)

# $(call guest_compile,OBJ,SRC,FLAGS): guest/SRC/*.c and *.S to $(BUILD)/guest/obj/OBJ/*.o
define guest_compile
$(BUILD)/guest/obj/$(1)/%.o: guest/$(2)/%.c
	@mkdir -p $$(dir $$@)
	$$(GUEST_CC) $$(GUEST_CFLAGS) $(3) -MMD -MP -c $$< -o $$@

$(BUILD)/guest/obj/$(1)/%.o: guest/$(2)/%.S
	@mkdir -p $$(dir $$@)
	$$(GUEST_CC) $$(GUEST_CFLAGS) $(3) -MMD -MP -c $$< -o $$@
endef

$(eval $(call guest_compile,bare,bare,-Iguest/bare))
$(eval $(call guest_compile,bare/common,common,-Iguest/bare))
$(eval $(call guest_compile,kernel,kernel,-Iguest/kernel))
$(eval $(call guest_compile,kernel/common,common,-Iguest/kernel))
$(eval $(call guest_compile,pv/kernel,kernel,-DPV_GUEST -Iguest/kernel))
$(eval $(call guest_compile,pv/common,common,-DPV_GUEST -Iguest/kernel))
$(eval $(call guest_compile,user,user,-Iguest/user))

$(GUEST_KLIBC): guest/common/klibc.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_WL): bench/workload/cpu.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guest/bare.elf: $(BARE_OBJS) guest/bare/linker.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,-T,guest/bare/linker.ld -o $@ $(BARE_OBJS) -lgcc

-include $(BARE_OBJS:.o=.d)

# --- native.elf: guest/kernel/ (linked at 0xC0100000) with the user programs of guest/user/
# Each user program is its own static ELF32 executable (guest/user/user.ld) linked with the
# tiny libc (ulib.o); the CPU workload comes from an archive so only the programs that call
# it pull it in.  progs.S is generated: it .incbin's every program and lists them for exec.

USER_PROGS := sh echo cat forktest cpubench exectest bigmem testsuite nbench mbench true
USER_LIB   := $(BUILD)/guest/obj/user/ulib.o
USER_WLLIB := $(BUILD)/guest/obj/user/libworkload.a
USER_ELFS  := $(USER_PROGS:%=$(BUILD)/guest/user/%.elf)
USER_OBJS  := $(USER_PROGS:%=$(BUILD)/guest/obj/user/%.o) $(USER_LIB)

KERN_C    := $(sort $(wildcard guest/kernel/*.c))
KERN_S    := $(sort $(wildcard guest/kernel/*.S))
# (guest/common first: the boot stack and the descriptor tables then lead .bss, which packs
# into as many pages as before they moved there, so the kernel's free-page count is unchanged)
KERN_OBJS := $(addprefix $(BUILD)/guest/obj/kernel/common/,$(GUEST_COMMON_ALL) $(GUEST_COMMON_NATIVE)) \
             $(patsubst guest/%.c,$(BUILD)/guest/obj/%.o,$(KERN_C)) \
             $(patsubst guest/%.S,$(BUILD)/guest/obj/%.o,$(KERN_S)) \
             $(BUILD)/guest/obj/kernel/progs.o $(GUEST_KLIBC)

$(USER_WLLIB): $(GUEST_WL)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/guest/user/%.elf: $(BUILD)/guest/obj/user/%.o $(USER_LIB) $(GUEST_KLIBC) $(USER_WLLIB) guest/user/user.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,-T,guest/user/user.ld -o $@ $< $(USER_LIB) $(GUEST_KLIBC) $(USER_WLLIB) -lgcc

$(BUILD)/guest/obj/kernel/progs.S: $(USER_ELFS) guest/module.mk
	@mkdir -p $(dir $@)
	@{ echo '/* generated by guest/module.mk: the built-in user programs */'; \
	  echo '.section .progs, "a"'; \
	  for p in $(USER_PROGS); do \
	    printf '.balign 16\nprog_%s_start:\n.incbin "%s"\nprog_%s_end:\n' $$p $(BUILD)/guest/user/$$p.elf $$p; \
	  done; \
	  echo '.section .rodata'; \
	  for p in $(USER_PROGS); do printf 'name_%s: .asciz "%s"\n' $$p $$p; done; \
	  echo '.balign 4'; echo '.globl prog_table, prog_count'; echo 'prog_table:'; \
	  for p in $(USER_PROGS); do printf '.long name_%s, prog_%s_start, prog_%s_end\n' $$p $$p $$p; done; \
	  echo 'prog_count: .long $(words $(USER_PROGS))'; \
	  echo '.section .note.GNU-stack, "", @progbits'; } >$@

$(BUILD)/guest/obj/kernel/progs.o: $(BUILD)/guest/obj/kernel/progs.S
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/native.elf: $(KERN_OBJS) guest/kernel/linker.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,-T,guest/kernel/linker.ld -o $@ $(KERN_OBJS) -lgcc

# --- pv.elf: the same kernel sources with -DPV_GUEST, the same user programs
KERN_PV_OBJS := $(addprefix $(BUILD)/guest/obj/pv/common/,$(GUEST_COMMON_ALL)) \
                $(patsubst guest/%.c,$(BUILD)/guest/obj/pv/%.o,$(KERN_C)) \
                $(patsubst guest/%.S,$(BUILD)/guest/obj/pv/%.o,$(KERN_S)) \
                $(BUILD)/guest/obj/kernel/progs.o $(GUEST_KLIBC)

$(BUILD)/guest/pv.elf: $(KERN_PV_OBJS) guest/kernel/linker.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,-T,guest/kernel/linker.ld -o $@ $(KERN_PV_OBJS) -lgcc

-include $(KERN_OBJS:.o=.d) $(KERN_PV_OBJS:.o=.d) $(USER_OBJS:.o=.d) $(GUEST_KLIBC:.o=.d)
