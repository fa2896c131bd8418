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
coverage: deps-check $(ISA_DIFF) $(ISA_RUNNER)
	@mkdir -p $(BUILD)/coverage
	@$(ISA_DIFF) --runner $(ISA_RUNNER) --report $(BUILD)/coverage/report.md $(COVERAGE_ARGS) \
	  >$(BUILD)/coverage/isa-diff.log; st=$$?; \
	 grep '^FAIL' $(BUILD)/coverage/isa-diff.log | head -n 40; \
	 echo "log: $(BUILD)/coverage/isa-diff.log, report: $(BUILD)/coverage/report.md"; \
	 tail -n 2 $(BUILD)/coverage/isa-diff.log; exit $$st
