# guest/ - the project's own guest images, multiboot v1 ELF32 loaded at 1 MiB.
#
#   make guest      every image below
#   $(BUILD)/guest/bare.elf     guest/bare/: the bare-metal CPL 0/3 self test and the
#                               CPU-bound benchmark, no paging (`-append selftest|bench N`)
#
# Guest code is built for bare i386 with its own flags, never with the monitor's CFLAGS.
# The benchmark workload (bench/workload/cpu.c) is compiled here with the same flags and the
# same object is linked into the native host program (bench/module.mk).

GUEST_CC      ?= gcc
GUEST_CFLAGS  := -m32 -march=i686 -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie \
                 -fno-stack-protector -fcf-protection=none -mgeneral-regs-only -nostdlib \
                 -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns -fno-strict-aliasing \
                 -Wall -Wextra -Ibench/workload
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
                 -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_WL   := $(BUILD)/guest/obj/cpu_workload.o

BARE_C    := $(sort $(wildcard guest/bare/*.c))
BARE_S    := $(sort $(wildcard guest/bare/*.S))
BARE_OBJS := $(patsubst guest/%.c,$(BUILD)/guest/obj/%.o,$(BARE_C)) \
             $(patsubst guest/%.S,$(BUILD)/guest/obj/%.o,$(BARE_S)) $(GUEST_WL)

GUEST_IMAGES := $(BUILD)/guest/bare.elf

.PHONY: guest
guest: $(GUEST_IMAGES)

$(BUILD)/guest/obj/bare/%.o: guest/bare/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -Iguest/bare -MMD -MP -c $< -o $@

$(BUILD)/guest/obj/bare/%.o: guest/bare/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -Iguest/bare -MMD -MP -c $< -o $@

$(GUEST_WL): bench/workload/cpu.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guest/bare.elf: $(BARE_OBJS) guest/bare/linker.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,-T,guest/bare/linker.ld -o $@ $(BARE_OBJS) -lgcc

-include $(BARE_OBJS:.o=.d)
