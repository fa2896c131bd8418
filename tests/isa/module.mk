# tests/isa/ - the differential instruction-coverage harness (issue 4, items 1 and 6).
#
#   $(BUILD)/isa/isa-diff        64-bit harness, linked with libvmm.a and Capstone
#   $(BUILD)/isa/native_runner   32-bit helper (gcc -m32) that runs the cases on the host CPU
#   make coverage                every form, 100 cases each: $(BUILD)/coverage/report.md
#                                (COVERAGE_ARGS='--cases 20 --group sse' and so on)
#
# Included before tests/module.mk so that `make check` builds both programs (TEST_EXTRA);
# tests/integration/test_isa_diff.sh runs the reduced version.  If gcc -m32 cannot build
# the runner, its rule says so and leaves no file behind: that test then skips (77).

ISA_SRCS   := $(filter-out tests/isa/native_runner.c,$(sort $(wildcard tests/isa/*.c)))
ISA_OBJS   := $(patsubst tests/isa/%.c,$(BUILD)/isa/obj/%.o,$(ISA_SRCS))
ISA_DIFF   := $(BUILD)/isa/isa-diff
ISA_RUNNER := $(BUILD)/isa/native_runner
ISA_RUNNER_CFLAGS := -m32 -std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE \
                     -fno-stack-protector -fno-pie -no-pie
COVERAGE_ARGS ?=

$(BUILD)/isa/obj/%.o: tests/isa/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(ISA_DIFF): $(ISA_OBJS) $(BUILD)/libvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(ISA_RUNNER): tests/isa/native_runner.c tests/isa/native_entry.S tests/isa/isa.h
	@mkdir -p $(dir $@)
	@$(CC) $(ISA_RUNNER_CFLAGS) -o $@ tests/isa/native_runner.c tests/isa/native_entry.S || \
	  { rm -f $@; echo "tests/isa: cannot build the 32-bit native runner (gcc -m32)" >&2; }

-include $(ISA_OBJS:.o=.d)

TEST_EXTRA += $(ISA_DIFF) $(ISA_RUNNER)

.PHONY: coverage
# The report: isa-diff's tables, then the scanner's summary of the bundled guest and the
# Zydis/Capstone cross-check counts, then isa-diff's closing "N passed, N failed" line.
COV_REPORT := $(BUILD)/coverage/report.md
coverage: deps-check $(ISA_DIFF) $(ISA_RUNNER) $(BUILD)/vmm386-scan $(BUILD)/tests/xcheck guest
	@mkdir -p $(BUILD)/coverage
	@$(ISA_DIFF) --runner $(ISA_RUNNER) --report $(COV_REPORT) $(COVERAGE_ARGS) \
	  >$(BUILD)/coverage/isa-diff.log; st=$$?; \
	 grep '^FAIL' $(BUILD)/coverage/isa-diff.log | head -n 40; \
	 { head -n -1 $(COV_REPORT); \
	   echo "## Scanner: how vmm386 handles the bundled guest (vmm386-scan --quiet)"; echo; \
	   $(BUILD)/vmm386-scan --quiet $(BUILD)/guest/bare.elf | sed 's/^/    /'; echo; \
	   echo "## Decoder cross-check, Zydis against Capstone (tests/decoder)"; echo; \
	   BUILD=$(BUILD) bash tests/integration/test_decoder_xcheck.sh 2>&1 | \
	     grep -E 'instructions:|PASS|FAIL' | sed 's/^/    /'; echo; \
	   tail -n 1 $(COV_REPORT); } > $(COV_REPORT).new && mv $(COV_REPORT).new $(COV_REPORT); \
	 echo "log: $(BUILD)/coverage/isa-diff.log, report: $(COV_REPORT)"; \
	 tail -n 1 $(COV_REPORT); exit $$st
