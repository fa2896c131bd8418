# tests/decoder/ - Zydis/Capstone cross-check (issue 4, item 3): $(BUILD)/tests/xcheck,
# a 64-bit host program; run by tests/integration/test_decoder_xcheck.sh in make check.

XCHECK_BIN := $(BUILD)/tests/xcheck

$(XCHECK_BIN): tests/decoder/xcheck.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lZydis -lcapstone

.PHONY: xcheck
xcheck: $(XCHECK_BIN) guest
	@BUILD=$(BUILD) bash tests/integration/test_decoder_xcheck.sh

TEST_EXTRA += $(XCHECK_BIN)
