# vmm386 - top-level build.
#
#   make            build/vmm386 and the guest images (build/guest/native.elf, bare.elf)
#   make run        install missing packages (as root), build, boot the bundled guest
#   make check      every test (unit, integration, guest self test under vmm386 and qemu)
#   make check SAN=1  the same, monitor built with AddressSanitizer + UBSan (in build-san/)
#   make bench      benchmarks, side by side with the host / qemu-system-i386
#   make run-linux  Debian's i386 Linux 6.1 to a busybox shell (tests/linux/module.mk)
#
# Each folder adds its own rules in a module.mk fragment included below.

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

CC      ?= gcc
CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
           -fno-strict-aliasing -D_GNU_SOURCE -I. $(SANFLAGS)
# The monitor never touches x87/SSE state itself (DESIGN.md §4).
MON_CFLAGS := $(CFLAGS) -mgeneral-regs-only
LDLIBS  := -lZydis -lcapstone -lunwind -lunwind-x86_64 -lpthread -lrt
LDFLAGS := $(SANFLAGS)

# Debian packages the build and the tests need.
DEB_PKGS := gcc make libzydis-dev libcapstone-dev libunwind-dev check pkg-config \
            gcc-multilib nasm qemu-system-x86 gnuplot-nox clang-14 libclang-rt-14-dev cpio liblzma-dev gdb

MON_DIRS := monitor translator codecache shadow-mmu emulation devices loader pv gdbstub
MON_SRCS := $(foreach d,$(MON_DIRS),$(wildcard $(d)/*.c))
MON_ASMS := $(foreach d,$(MON_DIRS),$(wildcard $(d)/*.S))
MON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(MON_SRCS)) $(patsubst %.S,$(BUILD)/obj/%.o,$(MON_ASMS))
LIB_OBJS := $(filter-out $(BUILD)/obj/monitor/main.o,$(MON_OBJS))

.PHONY: all run check check-unit check-integration bench deps clean san
all: deps-check $(BUILD)/vmm386 guest

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(MON_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libvmm.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/vmm386: $(BUILD)/obj/monitor/main.o $(BUILD)/libvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(MON_OBJS:.o=.d)

# --- packages -------------------------------------------------------------------------
# deps-check: fail early with the one command to run when something is missing;
# deps: install what is missing (root only).
MISSING = $(shell for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done)
.PHONY: deps-check
deps-check:
	@m="$(MISSING)"; if [ -n "$$m" ]; then \
	  if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deps; \
	  else echo "vmm386: missing packages; run: sudo apt-get install -y $$m" >&2; exit 1; fi; fi
deps:
	@m="$(MISSING)"; if [ -n "$$m" ]; then \
	  echo "installing: $$m"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$m; fi

include guest/module.mk
include tools/scan/module.mk
include tests/decoder/module.mk
include tests/fuzz/module.mk
include tests/isa/module.mk
include tests/linux/module.mk
include tests/module.mk
include bench/module.mk

# The guest ends through isa-debug-exit: status 1 (it wrote 0) is a clean finish.
run: all
	@$(BUILD)/vmm386 -kernel $(BUILD)/guest/native.elf $(RUN_ARGS); st=$$?; \
	 if [ $$st -ne 0 ] && [ $$st -ne 1 ]; then echo "vmm386 exited with status $$st" >&2; exit $$st; fi

san:
	$(MAKE) SAN=1 check

clean:
	rm -rf build build-san
