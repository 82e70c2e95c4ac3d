# devirt top-level build. `make` builds the UEFI image; see README.md.
#   make demo       install packages, build, boot under QEMU: neverball in
#                   a Debian guest on forwarded devices (demo-checks: the
#                   checks demo)
#   make test       install packages, build, run unit and system tests
#   make test T=pattern   only the tests whose name matches (pytest -k)
#   make bench      benchmarks, results in docs/results/
#   make soak       a million hostile hypercalls from each side in one
#                   QEMU boot (tests/soak.py), docs/results/soak.md

BUILD   ?= build
CACHE   ?= $(BUILD)/cache
PYTHON  := /usr/bin/python3
CC      := gcc
LD      := ld
OBJCOPY := objcopy
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)

# --- the hypervisor (freestanding, position independent) ----------------
VMM_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-ffreestanding -fno-builtin -nostdlib -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-mno-red-zone -mgeneral-regs-only -fpie -fvisibility=hidden \
	-fno-common -fno-strict-aliasing -Ivmm/include -Ivmm -Idevfile/include
# devfile/*.c: the hypervisor side of device-file forwarding.
VMM_SRCS := $(sort $(wildcard vmm/core/*.c vmm/vm/*.c vmm/mm/*.c \
	vmm/arch/vmx/*.c vmm/arch/svm/*.c devfile/*.c))
VMM_ASMS := $(sort $(wildcard vmm/core/*.S vmm/arch/vmx/*.S vmm/arch/svm/*.S))
VMM_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(VMM_SRCS)) \
	$(patsubst %.S,$(BUILD)/%.o,$(VMM_ASMS))

# --- the UEFI loader (GNU-EFI) --------------------------------------------
EFI_INC  := /usr/include/efi
EFI_LIB  := /usr/lib
EFI_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
	-fpic -ffreestanding -fno-stack-protector -fshort-wchar -mno-red-zone \
	-maccumulate-outgoing-args -DEFI_FUNCTION_WRAPPER -mgeneral-regs-only \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -Ivmm/include -Iboot
LOADER_SRCS := boot/loader.c boot/util.c boot/config.c
LOADER_OBJS := $(patsubst %.c,$(BUILD)/efi/%.o,$(LOADER_SRCS))

.PHONY: all deps kernel image demo demo-checks test unit systest bench soak \
	format check-format clean distclean
all: image

deps:
	$(Q)./tools/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(VMM_CFLAGS) -MMD -c $< -o $@
$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(VMM_CFLAGS) -MMD -c $< -o $@

$(BUILD)/vmm.elf: $(VMM_OBJS) linker.ld
	$(Q)$(LD) -pie --no-dynamic-linker -z norelro -z noexecstack \
		-z max-page-size=4096 --no-warn-rwx-segments -T linker.ld -o $@ $(VMM_OBJS)
	@echo "  LD      $@"

$(BUILD)/efi/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(EFI_CFLAGS) -MMD -c $< -o $@

$(BUILD)/loader.so: $(LOADER_OBJS)
	$(Q)$(LD) -shared -Bsymbolic -nostdlib -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $(LOADER_OBJS) -o $@ \
		-L$(EFI_LIB) -lefi -lgnuefi

$(BUILD)/BOOTX64.EFI: $(BUILD)/loader.so
	$(Q)$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym \
		-j .rel -j .rela -j .reloc --target=efi-app-x86_64 $< $@
	@echo "  EFI     $@"

# --- the driver VM: stock Debian kernel, busybox initramfs ---------------
# make remakes included makefiles first, even under -j: it needs the tools
# (kmod's depmod) that deps installs.
$(CACHE)/kernel.mk: | deps
	$(Q)./tools/fetch-kernel.sh $(CACHE)
-include $(CACHE)/kernel.mk

kernel: $(CACHE)/kernel.mk

# Static helpers for the VMs' /bin (tests/guest/*.c).
$(BUILD)/cpuid $(BUILD)/membench $(BUILD)/mixer: $(BUILD)/%: tests/guest/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -static -O2 -Wall -Wextra -o $@ $<

# The device-file test suite (docs/devfile-testdev.md): both VMs' /bin.
$(BUILD)/devfile-mirror: hostos-shim/devfile_mirror.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -static -O2 -Wall -Wextra -o $@ $<

$(BUILD)/devfile_suite: tests/guest/devfile_suite.c \
		tests/modules/devfile_testdev.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -static -O2 -Wall -Wextra -pthread -Itests/modules \
		-o $@ $<

# Holds a forwarded file while the driver VM withdraws it (test_hotplug).
$(BUILD)/devfile_hold: tests/guest/devfile_hold.c \
		tests/modules/devfile_testdev.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -static -O2 -Wall -Wextra -pthread -Itests/modules \
		-o $@ $<

# Its benchmark (tests/bench_devfile.py): both VMs' /bin too.
$(BUILD)/devfile_bench: tests/guest/devfile_bench.c \
		tests/modules/devfile_testdev.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -static -O2 -Wall -Wextra -Itests/modules -o $@ $<

# The test modules come from one Kbuild run in a copy of tests/modules.
MODDIR := $(BUILD)/modules
MOD_SRCS := tests/modules/Kbuild tests/modules/test_select.h \
	tests/modules/devirt_test.c tests/modules/devirt_guest_test.c \
	tests/modules/devfile_testdev.c tests/modules/devfile_testdev.h
$(MODDIR)/devirt_test.ko $(MODDIR)/devirt_guest_test.ko \
		$(MODDIR)/devfile_testdev.ko &: $(MOD_SRCS) \
		vmm/include/devirt/hypercall.h vmm/include/devirt/hc_linux.h \
		devfile/include/devfile/proto.h $(CACHE)/kernel.mk
	@mkdir -p $(MODDIR)
	$(Q)cp $(MOD_SRCS) $(MODDIR)/
	$(Q)$(MAKE) -s -C $(KHDR) M=$(abspath $(MODDIR)) \
		CONFIG_DEBUG_INFO_BTF_MODULES= \
		DEVIRT_INC=$(abspath vmm/include) modules

# Device-file forwarding (docs/devfile.md): the shim and its fuzzer
# (hostos-shim/), the stub (guest-driver/), each from a Kbuild run in a
# copy of its folder. No BTF: the headers have no vmlinux to take it from.
DEVFILE_MODDIR := $(BUILD)/devfile
SHIM_SRCS := hostos-shim/Kbuild hostos-shim/devfile_shim.h \
	hostos-shim/devfile_shim.c hostos-shim/devfile_shim_fuzz.c \
	hostos-shim/devfile_transport.c hostos-shim/devfile_dfuzz.c
STUB_SRCS := guest-driver/Kbuild guest-driver/devfile_stub.c
DEVFILE_KBUILD = $(MAKE) -s -C $(KHDR) CONFIG_DEBUG_INFO_BTF_MODULES= \
	DEVFILE_INC=$(abspath devfile/include) SHIM_INC=$(abspath hostos-shim) \
	DEVIRT_INC=$(abspath vmm/include)
DEVFILE_HDRS := devfile/include/devfile/proto.h \
	devfile/include/devfile/ring.h devfile/include/devfile/linux_irq.h \
	vmm/include/devirt/hypercall.h vmm/include/devirt/hc_linux.h
SHIM_KOS := $(DEVFILE_MODDIR)/shim/devfile_shim.ko \
	$(DEVFILE_MODDIR)/shim/devfile_shim_fuzz.ko \
	$(DEVFILE_MODDIR)/shim/devfile_transport.ko \
	$(DEVFILE_MODDIR)/shim/devfile_dfuzz.ko
STUB_KO := $(DEVFILE_MODDIR)/stub/devfile_stub.ko
$(SHIM_KOS) &: $(SHIM_SRCS) $(DEVFILE_HDRS) $(CACHE)/kernel.mk
	@mkdir -p $(DEVFILE_MODDIR)/shim
	$(Q)cp $(SHIM_SRCS) $(DEVFILE_MODDIR)/shim/
	$(Q)$(DEVFILE_KBUILD) M=$(abspath $(DEVFILE_MODDIR)/shim) modules
$(STUB_KO): $(STUB_SRCS) hostos-shim/devfile_shim.h $(DEVFILE_HDRS) \
		$(CACHE)/kernel.mk
	@mkdir -p $(DEVFILE_MODDIR)/stub
	$(Q)cp $(STUB_SRCS) $(DEVFILE_MODDIR)/stub/
	$(Q)$(DEVFILE_KBUILD) M=$(abspath $(DEVFILE_MODDIR)/stub) modules

# /init scripts share tests/initramfs/checks.sh at /lib/devirt/checks.sh.
INITRD_COMMON := tests/initramfs/checks.sh:/lib/devirt/checks.sh \
	$(BUILD)/cpuid:/bin/cpuid $(BUILD)/membench:/bin/membench \
	$(BUILD)/devfile_suite:/bin/devfile_suite \
	$(BUILD)/devfile_bench:/bin/devfile_bench \
	$(BUILD)/devfile_hold:/bin/devfile_hold
INITRD_DEPS := tests/initramfs/checks.sh $(BUILD)/cpuid $(BUILD)/membench \
	$(BUILD)/devfile_suite $(BUILD)/devfile_bench $(BUILD)/devfile_hold \
	tools/mkinitrd.sh tools/initrd-files.sh

# The stock kernel's drivers for the real devices (devfile_real=1 in
# init-driver), with their dependencies, in load order. The generic HDA
# codec driver before the controller: the controller binds its codecs as
# it probes, and without a driver for QEMU's codec it gives up ("Cannot
# probe codecs"); the initramfs has no modprobe to load one on demand.
REAL_MODULES := bochs snd-hda-codec-generic snd-hda-intel evdev psmouse vivid
$(BUILD)/real-modules.list: tools/real-modules.sh $(CACHE)/kernel.mk Makefile
	$(Q)./tools/real-modules.sh $(KMODROOT) $(KABI) $(BUILD) $(REAL_MODULES)

# Unmodified Debian programs for the busybox images, with their libraries,
# from the Debian rootfs tarball (tools/debian-progs.sh): the Bochs
# real-device test runs modetest and evtest in the driver VM and in g1
# (boot/devirt-vmx.cfg, tests/system/test_vmx_real_devices.py).
DEBIAN_PROGS := usr/bin/modetest usr/bin/evtest
$(BUILD)/debian-progs.list: tools/debian-progs.sh tools/mkdebian.sh \
		tools/debian-packages.txt Makefile
	$(Q)./tools/debian-progs.sh $(CACHE) $(BUILD) $(DEBIAN_PROGS)

# The driver VM also gets the shim, its hypercall transport and the mirror
# donor, the real drivers and a mixer to unmute HDA; a user guest the stub
# (device-file forwarding, devfile_forward=1).
$(BUILD)/initrd-driver.gz: tests/initramfs/init-driver $(INITRD_DEPS) \
		$(MODDIR)/devirt_test.ko $(MODDIR)/devfile_testdev.ko \
		$(SHIM_KOS) $(BUILD)/devfile-mirror $(BUILD)/mixer \
		$(BUILD)/real-modules.list $(BUILD)/debian-progs.list \
		tests/initramfs/probes.sh
	$(Q)./tools/mkinitrd.sh $@ tests/initramfs/init-driver \
		$(INITRD_COMMON) @$(BUILD)/real-modules.list \
		@$(BUILD)/debian-progs.list \
		tests/initramfs/probes.sh:/lib/devirt/probes.sh \
		$(BUILD)/mixer:/bin/mixer \
		$(MODDIR)/devirt_test.ko:/lib/devirt/devirt_test.ko \
		$(MODDIR)/devfile_testdev.ko:/lib/devirt/devfile_testdev.ko \
		$(DEVFILE_MODDIR)/shim/devfile_shim.ko:/lib/devirt/devfile_shim.ko \
		$(DEVFILE_MODDIR)/shim/devfile_transport.ko:/lib/devirt/devfile_transport.ko \
		$(DEVFILE_MODDIR)/shim/devfile_dfuzz.ko:/lib/devirt/devfile_dfuzz.ko \
		$(BUILD)/devfile-mirror:/bin/devfile-mirror

# A user guest's initramfs (the same stock kernel boots it).
$(BUILD)/initrd-guest.gz: tests/initramfs/init-guest $(INITRD_DEPS) \
		$(MODDIR)/devirt_guest_test.ko $(STUB_KO) \
		$(BUILD)/debian-progs.list tests/initramfs/probes.sh
	$(Q)./tools/mkinitrd.sh $@ tests/initramfs/init-guest \
		$(INITRD_COMMON) @$(BUILD)/debian-progs.list \
		tests/initramfs/probes.sh:/lib/devirt/probes.sh \
		$(MODDIR)/devirt_guest_test.ko:/lib/devirt/devirt_guest_test.ko \
		$(DEVFILE_MODDIR)/stub/devfile_stub.ko:/lib/devirt/devfile_stub.ko

# A Debian userland (tools/mkdebian.sh: mmdebstrap, the rootfs tarball
# cached in $(CACHE)): neverball, modetest, evtest, aplay, v4l2-ctl... A
# user guest runs them on the forwarded devices (tests/initramfs/
# init-debian); with devirt_init=driver the same image boots the driver VM
# (init-driver, its modules and the real drivers), which runs the same
# probes natively (probes.sh) for the real-device tests to compare.
$(BUILD)/initrd-debian.gz: tests/initramfs/init-debian tools/mkdebian.sh \
		tools/initrd-files.sh tests/initramfs/probes.sh \
		tools/debian-packages.txt tests/initramfs/checks.sh $(STUB_KO) \
		tests/initramfs/init-driver $(BUILD)/cpuid \
		$(MODDIR)/devirt_test.ko $(SHIM_KOS) $(BUILD)/devfile-mirror \
		$(BUILD)/mixer $(BUILD)/real-modules.list
	$(Q)./tools/mkdebian.sh $@ $(CACHE) tests/initramfs/init-debian \
		tests/initramfs/checks.sh:/lib/devirt/checks.sh \
		tests/initramfs/probes.sh:/lib/devirt/probes.sh \
		$(DEVFILE_MODDIR)/stub/devfile_stub.ko:/lib/devirt/devfile_stub.ko \
		tests/initramfs/init-driver:/lib/devirt/init-driver \
		$(BUILD)/cpuid:/bin/cpuid @$(BUILD)/real-modules.list \
		$(BUILD)/mixer:/bin/mixer \
		$(MODDIR)/devirt_test.ko:/lib/devirt/devirt_test.ko \
		$(DEVFILE_MODDIR)/shim/devfile_shim.ko:/lib/devirt/devfile_shim.ko \
		$(DEVFILE_MODDIR)/shim/devfile_transport.ko:/lib/devirt/devfile_transport.ko \
		$(BUILD)/devfile-mirror:/bin/devfile-mirror

# The loopback boot: the stock kernel straight into this initramfs, the
# stub and the shim in one kernel (tests/system/test_devfile_loopback.py).
$(BUILD)/initrd-loopback.gz: tests/initramfs/init-loopback $(INITRD_DEPS) \
		$(MODDIR)/devfile_testdev.ko $(SHIM_KOS) $(STUB_KO)
	$(Q)./tools/mkinitrd.sh $@ tests/initramfs/init-loopback \
		$(INITRD_COMMON) \
		$(MODDIR)/devfile_testdev.ko:/lib/devirt/devfile_testdev.ko \
		$(DEVFILE_MODDIR)/shim/devfile_shim.ko:/lib/devirt/devfile_shim.ko \
		$(DEVFILE_MODDIR)/shim/devfile_shim_fuzz.ko:/lib/devirt/devfile_shim_fuzz.ko \
		$(DEVFILE_MODDIR)/stub/devfile_stub.ko:/lib/devirt/devfile_stub.ko

$(BUILD)/devirt.cfg $(BUILD)/devirt-vmx.cfg $(BUILD)/devirt-pair.cfg \
		$(BUILD)/devirt-hotplug.cfg $(BUILD)/devirt-real.cfg \
		$(BUILD)/devirt-real-tests.cfg: \
		$(BUILD)/%.cfg: boot/%.cfg
	@mkdir -p $(dir $@)
	$(Q)cp $< $@

ESP_FILES = $(BUILD)/BOOTX64.EFI=EFI/BOOT/BOOTX64.EFI \
	$(BUILD)/vmm.elf=EFI/devirt/vmm.elf \
	$(VMLINUZ)=EFI/devirt/vmlinuz \
	$(BUILD)/initrd-driver.gz=EFI/devirt/initrd-driver.gz \
	$(BUILD)/initrd-guest.gz=EFI/devirt/initrd-guest.gz

$(BUILD)/devirt.iso: $(BUILD)/BOOTX64.EFI $(BUILD)/vmm.elf \
		$(BUILD)/initrd-driver.gz $(BUILD)/initrd-guest.gz \
		$(BUILD)/devirt.cfg tools/mkimage.sh
	$(Q)./tools/mkimage.sh $@ $(BUILD)/devirt.cfg $(ESP_FILES)
	@echo "  ISO     $@"

# The same files with boot/devirt-vmx.cfg: what the Bochs (VT-x) tests boot.
$(BUILD)/devirt-vmx.iso: $(BUILD)/BOOTX64.EFI $(BUILD)/vmm.elf \
		$(BUILD)/initrd-driver.gz $(BUILD)/initrd-guest.gz \
		$(BUILD)/devirt-vmx.cfg tools/mkimage.sh
	$(Q)./tools/mkimage.sh $@ $(BUILD)/devirt-vmx.cfg $(ESP_FILES)
	@echo "  ISO     $@"

# And with boot/devirt-pair.cfg: two guests forwarding at once (QEMU).
$(BUILD)/devirt-pair.iso: $(BUILD)/BOOTX64.EFI $(BUILD)/vmm.elf \
		$(BUILD)/initrd-driver.gz $(BUILD)/initrd-guest.gz \
		$(BUILD)/devirt-pair.cfg tools/mkimage.sh
	$(Q)./tools/mkimage.sh $@ $(BUILD)/devirt-pair.cfg $(ESP_FILES)
	@echo "  ISO     $@"

# And with boot/devirt-hotplug.cfg: exports that come, go and come back.
$(BUILD)/devirt-hotplug.iso: $(BUILD)/BOOTX64.EFI $(BUILD)/vmm.elf \
		$(BUILD)/initrd-driver.gz $(BUILD)/initrd-guest.gz \
		$(BUILD)/devirt-hotplug.cfg tools/mkimage.sh
	$(Q)./tools/mkimage.sh $@ $(BUILD)/devirt-hotplug.cfg $(ESP_FILES)
	@echo "  ISO     $@"

# Real devices (boot/devirt-real.cfg): the driver VM drives QEMU's VGA,
# HDA, keyboard and vivid; g1, a Debian guest, plays neverball on them
# (make demo), or probes each class first (boot/devirt-real-tests.cfg).
$(BUILD)/devirt-real.iso $(BUILD)/devirt-real-tests.iso: $(BUILD)/%.iso: \
		$(BUILD)/BOOTX64.EFI $(BUILD)/vmm.elf $(BUILD)/initrd-driver.gz $(BUILD)/initrd-debian.gz \
		$(BUILD)/%.cfg tools/mkimage.sh
	$(Q)./tools/mkimage.sh $@ $(BUILD)/$*.cfg \
		$(BUILD)/BOOTX64.EFI=EFI/BOOT/BOOTX64.EFI \
		$(BUILD)/vmm.elf=EFI/devirt/vmm.elf \
		$(VMLINUZ)=EFI/devirt/vmlinuz \
		$(BUILD)/initrd-driver.gz=EFI/devirt/initrd-driver.gz \
		$(BUILD)/initrd-debian.gz=EFI/devirt/initrd-debian.gz
	@echo "  ISO     $@"

image: deps
	$(Q)$(MAKE) --no-print-directory $(CACHE)/kernel.mk
	$(Q)$(MAKE) --no-print-directory $(BUILD)/devirt.iso \
		$(BUILD)/devirt-vmx.iso $(BUILD)/devirt-pair.iso \
		$(BUILD)/devirt-hotplug.iso $(BUILD)/devirt-real.iso \
		$(BUILD)/devirt-real-tests.iso \
		$(BUILD)/initrd-loopback.gz

# --- tests ----------------------------------------------------------------
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=address,undefined -Ivmm/include -Ivmm -Iboot -Idevfile/include
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,\
	$(wildcard tests/unit/test_*.c))
UNIT_DEPS_test_stage2 := vmm/mm/stage2.c vmm/arch/vmx/ept.c vmm/arch/svm/npt.c
UNIT_DEPS_test_config := boot/config.c
UNIT_DEPS_test_layout := vmm/vm/layout.c
UNIT_DEPS_test_loader := boot/util.c
UNIT_DEPS_test_gmem := vmm/vm/gmem.c vmm/mm/stage2.c vmm/arch/svm/npt.c
UNIT_DEPS_test_acl := devfile/acl.c
UNIT_DEPS_test_devfile_hypercalls := devfile/hypercalls.c devfile/acl.c
# A million requests: no 20,000-pause spin each before going async.
UNIT_CFLAGS_test_devfile_hypercalls := -DSPIN_BEFORE_ASYNC=1
UNIT_DEPS_test_event := vmm/vm/event.c
.SECONDEXPANSION:
$(BUILD)/unit/%: tests/unit/%.c tests/unit/unit.h $$(UNIT_DEPS_$$*)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(UNIT_CFLAGS) $(UNIT_CFLAGS_$*) -o $@ $< $(UNIT_DEPS_$*)

unit: $(UNIT_TESTS)
	$(Q)for t in $(UNIT_TESTS); do $$t || exit 1; done

PYTEST_ARGS := $(if $(T),-k "$(T)")
systest: image
	$(Q)$(PYTHON) -m pytest -p no:cacheprovider tests $(PYTEST_ARGS); \
		rc=$$?; if [ $$rc -eq 5 ]; then \
		echo "no test matched '$(T)'"; exit 0; fi; exit $$rc

test: deps
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory systest

# make demo: neverball in a Debian guest on forwarded devices
# (tests/demo_game.py); make demo-checks: the checks demo (tests/demo.py).
demo: image
	$(Q)$(PYTHON) tests/demo_game.py

demo-checks: image
	$(Q)$(PYTHON) tests/demo.py

bench: image
	$(Q)$(PYTHON) tests/bench.py
	$(Q)$(PYTHON) tests/bench_guests.py
	$(Q)$(PYTHON) tests/bench_devfile.py

# Not part of make test: about a million driver-side and a million
# guest-side hostile hypercalls (tests/soak.py; SOAK_* in the environment).
soak: image
	$(Q)$(PYTHON) tests/soak.py

# --- style ------------------------------------------------------------------
C_FILES = $(shell git ls-files '*.c' '*.h')
format:
	$(Q)clang-format -i $(C_FILES)
check-format:
	$(Q)clang-format --dry-run -Werror $(C_FILES)

clean:
	rm -rf $(BUILD)/vmm $(BUILD)/boot $(BUILD)/efi $(BUILD)/unit \
		$(BUILD)/*.elf $(BUILD)/*.so $(BUILD)/*.EFI $(BUILD)/*.iso \
		$(BUILD)/modules $(BUILD)/devfile $(BUILD)/*.gz \
		$(BUILD)/real-modules.* $(BUILD)/mixer \
		$(BUILD)/debian-progs $(BUILD)/debian-progs.list
distclean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path $(CACHE) -prune -o -name '*.d' -type f -print 2>/dev/null)
