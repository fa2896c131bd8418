# guest/ - the project's own guest kernel: a multiboot v1 ELF32 image loaded at 1 MiB.
#
#   make guest      $(BUILD)/guest/native.elf
#
# Guest code is built for bare i386 with its own flags, never with the monitor's CFLAGS.
# The benchmark workload (bench/workload/cpu.c) is compiled here with the same flags and the
# same object is linked into the native host program (bench/module.mk).

GUEST_CC      ?= gcc
GUEST_CFLAGS  := -m32 -march=i686 -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie \
                 -fno-stack-protector -fcf-protection=none -mgeneral-regs-only -nostdlib \
                 -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns -fno-strict-aliasing \
                 -Wall -Wextra -Iguest -Ibench/workload
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,-T,guest/linker.ld -Wl,--build-id=none \
                 -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_C    := $(sort $(wildcard guest/*.c))
GUEST_S    := $(sort $(wildcard guest/*.S))
GUEST_WL   := $(BUILD)/guest/obj/cpu_workload.o
GUEST_OBJS := $(patsubst guest/%.c,$(BUILD)/guest/obj/%.o,$(GUEST_C)) \
              $(patsubst guest/%.S,$(BUILD)/guest/obj/%.o,$(GUEST_S)) $(GUEST_WL)

.PHONY: guest
guest: $(BUILD)/guest/native.elf

$(BUILD)/guest/obj/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guest/obj/%.o: guest/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_WL): bench/workload/cpu.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guest/native.elf: $(GUEST_OBJS) guest/linker.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS) -lgcc

-include $(GUEST_OBJS:.o=.d)
