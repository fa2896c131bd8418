# tests/ - unit tests (Check, one binary per tests/unit/test_*.c, linked against libvmm.a)
# and integration tests (tests/integration/*.sh, each exits 0 on success, 77 to skip).
# tests/run.sh runs them all and prints the closing "N passed, N failed" line.

CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm)
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libvmm.a $(LDLIBS) $(CHECK_LIBS)

check-unit: deps-check $(UNIT_BINS)
	@BUILD=$(BUILD) bash tests/run.sh unit

check-integration: all
	@BUILD=$(BUILD) bash tests/run.sh integration

check: all $(UNIT_BINS) $(TEST_EXTRA)
	@BUILD=$(BUILD) bash tests/run.sh all

# The i386 kvm-unit-tests under qemu-system-i386 and vmm386, a table of both (not in check:
# the tests are fetched and built by hand; see tests/kut/run.sh).
.PHONY: kvm-unit-tests
kvm-unit-tests: all
	@test -n "$(KUT)" || { echo "usage: make kvm-unit-tests KUT=/path/to/built/kvm-unit-tests" \
	  "[KUT_TESTS='sieve emulator ...']" >&2; exit 2; }
	@BUILD=$(BUILD) bash tests/kut/run.sh $(KUT) $(KUT_TESTS)
