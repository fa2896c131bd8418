# tools/scan/ - vmm386-scan: per-mnemonic report of how vmm386 translates an ELF32 file
# (issue 4, item 4).  Links the translator from libvmm.a; built by `make` and `make check`.

SCAN_BIN := $(BUILD)/vmm386-scan

$(BUILD)/obj/tools/scan/%.o: tools/scan/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(SCAN_BIN): $(BUILD)/obj/tools/scan/vmm386-scan.o $(BUILD)/libvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: scan
scan: $(SCAN_BIN)
all: $(SCAN_BIN)
TEST_EXTRA += $(SCAN_BIN)

-include $(BUILD)/obj/tools/scan/vmm386-scan.d
