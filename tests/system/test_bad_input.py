# SPDX-License-Identifier: GPL-2.0
"""Bad boot input: a clear message, then back to the firmware.

Each case builds a variant of the image (tools/mkimage.sh) with the real
loader, hypervisor and kernel, boots it under QEMU + OVMF, and checks that
the loader printed its reason on the serial console (OVMF mirrors the
screen's text console there), that it returned to the firmware (OVMF's
boot manager then reports the failed boot option and moves on), and that
the machine was neither reset nor triple-faulted (QEMU runs with
-no-reboot, so either would end it).
"""

import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, LOG_DIR, REPO, boot_qemu, read_kernel_mk

RETURNED = "returning to the firmware"
FIRMWARE_NEXT = "BdsDxe: failed to start Boot0001"

GOOD_CFG = """\
[vm driver]
role = driver
kernel = \\EFI\\devirt\\vmlinuz
initrd = \\EFI\\devirt\\initrd-driver.gz
cmdline = console=ttyS0
memory = 512M
"""


def build_variant(name, cfg_text, with_kernel=True, with_initrd=True):
    """An ISO like build/devirt.iso with another config or files missing."""
    out_dir = LOG_DIR / "variants"
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = "-"
    if cfg_text is not None:
        cfg = out_dir / f"{name}.cfg"
        cfg.write_text(cfg_text)
    files = [f"{BUILD / 'BOOTX64.EFI'}=EFI/BOOT/BOOTX64.EFI",
             f"{BUILD / 'vmm.elf'}=EFI/devirt/vmm.elf"]
    if with_kernel:
        files.append(f"{read_kernel_mk()['VMLINUZ']}=EFI/devirt/vmlinuz")
    if with_initrd:
        files.append(f"{BUILD / 'initrd-driver.gz'}="
                     "EFI/devirt/initrd-driver.gz")
    iso = out_dir / f"{name}.iso"
    subprocess.run([str(REPO / "tools/mkimage.sh"), str(iso), str(cfg),
                    *files], check=True, capture_output=True)
    return iso


def boot_expecting_return(name, iso, **kw):
    result = boot_qemu(iso, name=f"bad-{name}", end_marker=FIRMWARE_NEXT,
                       timeout=240, **kw)
    assert result.reason == "end", (
        f"the firmware did not get control back ({result.describe()})")
    assert RETURNED in result
    return result


def error_line(result):
    lines = [ln for ln in result.splitlines() if "devirt: ERROR:" in ln]
    assert len(lines) == 1, f"expected one ERROR line, got {lines}"
    return lines[0]


def test_malformed_config():
    cfg = GOOD_CFG.replace("memory = 512M", "memory = lots")
    res = boot_expecting_return("malformed", build_variant("malformed", cfg))
    line = error_line(res)
    assert "malformed boot config" in line
    assert "line 6" in line and "memory" in line


def test_config_unknown_key():
    cfg = GOOD_CFG + "colour = blue\n"
    res = boot_expecting_return("unknown-key",
                                build_variant("unknown-key", cfg))
    assert "line 7: unknown VM setting" in error_line(res)


def test_missing_config():
    res = boot_expecting_return("no-config", build_variant("no-config", None))
    assert "devirt.cfg is missing" in error_line(res)


def test_missing_kernel():
    iso = build_variant("no-kernel", GOOD_CFG, with_kernel=False)
    res = boot_expecting_return("no-kernel", iso)
    line = error_line(res)
    assert "VM 'driver': kernel image" in line and "not found" in line


def test_missing_initrd():
    iso = build_variant("no-initrd", GOOD_CFG, with_initrd=False)
    res = boot_expecting_return("no-initrd", iso)
    assert "VM 'driver': initrd image" in error_line(res)


def test_too_little_memory():
    cfg = GOOD_CFG.replace("memory = 512M", "memory = 4096M")
    res = boot_expecting_return("no-memory", build_variant("no-memory", cfg))
    line = error_line(res)
    assert "not enough memory" in line and "4096 MiB" in line


def test_cpu_without_virtualization():
    # The same image on a CPU model without SVM (and TCG has no VMX).
    iso = build_variant("no-svm", GOOD_CFG)
    res = boot_expecting_return("no-svm", iso, cpu="max,-svm")
    assert "neither Intel VMX nor AMD SVM" in error_line(res)


def test_guests_that_cannot_start():
    """User guests that cannot run are reported by name and not started;
    the driver VM boots anyway. Two CPUs: the driver VM's and one more."""
    guest = ("\n[vm {name}]\nrole = guest\nkernel = {kernel}\n"
             "initrd = \\EFI\\devirt\\initrd-driver.gz\ncmdline = console=ttyS0\n"
             "memory = 64M\ncpus = {cpus}\n")
    cfg = (GOOD_CFG.replace("cmdline = console=ttyS0",
                            "cmdline = console=ttyS0 devirt_tests=none") +
           guest.format(name="twocpu", kernel="\\EFI\\devirt\\vmlinuz",
                        cpus=2) +
           # An initramfs is not a bzImage: refused on its CPU, which then
           # stays unused; so the next guest finds no CPU left.
           guest.format(name="notlinux",
                        kernel="\\EFI\\devirt\\initrd-driver.gz", cpus=1) +
           guest.format(name="nocpu", kernel="\\EFI\\devirt\\vmlinuz",
                        cpus=1))
    iso = build_variant("bad-guests", cfg)
    res = boot_qemu(iso, name="bad-guests", timeout=240, smp=2)
    assert res.reason == "end", res.describe()
    assert "devirt: [twocpu] not started: a user guest runs on exactly " \
        "one CPU" in res
    assert "devirt: [notlinux] kernel \\EFI\\devirt\\initrd-driver.gz: " in res
    assert "devirt: [notlinux] not started: cannot load its kernel" in res
    assert "devirt: [nocpu] not started: no free CPU left" in res
    # Nothing of theirs ran, and the driver VM went through its checks.
    assert "launching on CPU 1" not in res
    assert "DEVIRT-CHECK hypervisor_flag=yes" in res
