# tests/fuzz/ - libFuzzer target for the translator and monitor (issue 4, item 5).
#
#   make fuzz        build and fuzz for 10 minutes (FUZZ_TIME=seconds to change)
#   make check       runs tests/integration/test_fuzz.sh: about 60 s (exit 77 without clang)
#
# The whole monitor (every MON_DIRS source but main.c) is rebuilt here with clang and the
# fuzzer's flags: coverage (fuzzer-no-link), ASan and UBSan, plus -mgeneral-regs-only as
# in the real build.  Objects go under $(BUILD)/fuzz/obj/; the binary is
# $(BUILD)/fuzz/fuzz_translate.  Needs clang and its libFuzzer runtime (Debian:
# clang-14, libclang-rt-14-dev); without them the targets say so and the test skips.

FUZZ_CC    ?= $(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null)
FUZZ_RT     = $(if $(FUZZ_CC),$(shell $(FUZZ_CC) -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null))
FUZZ_OK     = $(if $(filter /%,$(FUZZ_RT)),$(wildcard $(FUZZ_RT)))
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_BIN   := $(FUZZ_DIR)/fuzz_translate
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror=implicit-function-declaration \
               -fno-strict-aliasing -D_GNU_SOURCE -I. $(FUZZ_SAN)
FUZZ_MON_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(filter-out monitor/main.c,$(MON_SRCS))) \
                 $(patsubst %.S,$(FUZZ_DIR)/obj/%.o,$(MON_ASMS))
FUZZ_OBJS  := $(FUZZ_DIR)/obj/tests/fuzz/fuzz_translate.o $(FUZZ_DIR)/obj/tests/fuzz/fz_paging.o \
              $(FUZZ_DIR)/obj/tests/fuzz/fz_seccomp.o \
              $(FUZZ_DIR)/obj/tests/fuzz/fz_enter.o
FUZZ_TIME  ?= 600
# Comparison tracing (libFuzzer's CMP-guided mutation) doubles the cost of the translator
# and of the emulation layer (which compares decoder fields all the time, and runs REP
# string instructions element by element); edge coverage drives them well enough.  The
# devices keep it: their magic numbers (ports, register values) are what it is for.
FUZZ_NOCMP := $(wildcard translator/*.c codecache/*.c emulation/*.c)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(if $(filter $(FUZZ_NOCMP),$<),-fno-sanitize-coverage=trace-cmp) \
	    -mgeneral-regs-only -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

# the harness itself is not monitor code: no -mgeneral-regs-only; no comparison tracing
# (its checks compare host pointers, which would only fill the dictionary with noise)
$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp -MMD -MP -c $< -o $@

$(FUZZ_BIN): $(FUZZ_OBJS) $(FUZZ_MON_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pie -o $@ $^ $(LDLIBS)

.PHONY: fuzz fuzz-build
fuzz-build:
	@if [ -z "$(FUZZ_OK)" ]; then echo "fuzz: clang with libFuzzer not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; fi
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

fuzz: fuzz-build guest
	BUILD=$(BUILD) FUZZ_TIME=$(FUZZ_TIME) bash tests/fuzz/run.sh

# make check builds the target when clang and libFuzzer are there (the test skips otherwise)
ifneq ($(FUZZ_OK),)
TEST_EXTRA += $(FUZZ_BIN)
endif

-include $(FUZZ_MON_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d)
