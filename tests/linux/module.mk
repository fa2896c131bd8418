# tests/linux/ - Debian's i386 Linux 6.1 kernel with a busybox initramfs (issue 11).
#
#   make check        tests/integration/test_linux.sh: boots it under vmm386 and under
#                     qemu-system-i386 and compares the /init script's result lines
#   make run-linux    the same kernel to an interactive busybox shell on the console
#                     (the packages are fetched with apt-get download and cached in
#                     $(BUILD)/linux/: vmlinuz, busybox)
#
# $(BUILD)/linux/lxcheck is the project's static i386 check program (tests/linux/lxcheck.c);
# if gcc -m32 -static cannot build it the rule says so and the test skips.

LX_DIR     := $(BUILD)/linux
LX_CHECK   := $(LX_DIR)/lxcheck
LX_KERNEL  := $(LX_DIR)/vmlinuz
LX_INITRD  := $(LX_DIR)/initrd.gz
LX_APPEND  ?= console=ttyS0
TEST_EXTRA += $(LX_CHECK)

$(LX_CHECK): tests/linux/lxcheck.c
	@mkdir -p $(dir $@)
	@$(GUEST_CC) -m32 -O2 -Wall -Wextra -static -pthread -o $@ $< || \
	  { rm -f $@; echo "tests/linux: gcc -m32 -static failed; the Linux test will skip" >&2; }

.PHONY: linux-fetch run-linux
linux-fetch:
	@bash tests/linux/fetch.sh $(LX_DIR)

$(LX_INITRD): tests/linux/init.sh tests/linux/mkinitrd.sh $(LX_CHECK) $(BUILD)/bench/native_cpu | linux-fetch
	bash tests/linux/mkinitrd.sh $@ $(LX_DIR)/busybox $(LX_CHECK) $(BUILD)/bench/native_cpu

run-linux: all linux-fetch $(LX_INITRD)
	@$(BUILD)/vmm386 -kernel $(LX_KERNEL) -initrd $(LX_INITRD) -m 256 \
	  -append "$(LX_APPEND) lxmode=shell hosttime=$$(date +%s)" $(RUN_ARGS)
