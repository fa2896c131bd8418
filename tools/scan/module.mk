# tools/scan/ - vmm386-scan: per-mnemonic report of how vmm386 translates an ELF32 file
# or a Linux bzImage (xz payload, liblzma).  Links the translator from libvmm.a; built by `make` and `make check`.

SCAN_BIN := $(BUILD)/vmm386-scan

$(BUILD)/obj/tools/scan/%.o: tools/scan/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

SCAN_OBJS := $(BUILD)/obj/tools/scan/vmm386-scan.o $(BUILD)/obj/tools/scan/bzimage.o

$(SCAN_BIN): $(SCAN_OBJS) $(BUILD)/libvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -llzma

.PHONY: scan
scan: $(SCAN_BIN)
all: $(SCAN_BIN)
TEST_EXTRA += $(SCAN_BIN)

-include $(SCAN_OBJS:.o=.d)
