# SPDX-License-Identifier: GPL-2.0
"""The device-file test suite, natively: no hypervisor, no forwarding.

Boots the stock kernel directly under QEMU TCG (-kernel/-initrd, no
firmware, no devirt) with build/initrd-driver.gz and devfile_native=1:
the driver VM's /init (tests/initramfs/init-driver) loads
devfile_testdev.ko and runs /bin/devfile_suite on /dev/devfile_test,
forwarding its lines to the kernel log (docs/devfile-testdev.md). This
checks the test device and the test program themselves, so that a
failure seen later through forwarding is the forwarding's.

One boot (about 10 s under TCG) serves every test here. Environment:
DEVFILE_NATIVE_TIMEOUT (seconds, default 300).
"""

import os
import re

import pytest

# The suite's tests, in its order (tests/guest/devfile_suite.c).
SUITE_TESTS = [
    "open", "rw", "llseek", "ioctl", "nested", "peek", "errors", "poll",
    "fasync", "mmap_ram_fault", "mmap_ram_upfront", "mmap_mmio_upfront",
    "mmap_mmio_fault", "threads", "lifecycle",
]

TIMEOUT = float(os.environ.get("DEVFILE_NATIVE_TIMEOUT", 300))

LINE_RE = re.compile(
    r"DEVFILE-TEST (\S+) (\S+) (PASS|FAIL|SKIP) (.*)$", re.MULTILINE)
DONE_RE = re.compile(r"DEVFILE-SUITE done failures=(\d+)")


@pytest.fixture(scope="module")
def native_boot(harness):
    """The kernel booted straight into the driver initramfs, suite run."""
    initrd = harness.BUILD / "initrd-driver.gz"
    if not initrd.exists():
        pytest.skip(f"{initrd} missing: build it first (make)")
    try:
        vmlinuz = harness.read_kernel_mk()["VMLINUZ"]
    except (FileNotFoundError, KeyError) as e:
        pytest.skip(f"no kernel: {e}")
    harness.LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = harness.LOG_DIR / "devfile-native.log"
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max",
           "-machine", "q35", "-smp", "2", "-m", "1024",
           "-kernel", vmlinuz, "-initrd", str(initrd),
           "-append", "console=ttyS0,115200 loglevel=6 panic=-1 "
           "devirt_tests=none devfile_native=1",
           "-nic", "none", "-display", "none", "-monitor", "none",
           "-serial", f"file:{log}", "-no-reboot"]
    return harness.run_until_marker(cmd, log, name="devfile-native",
                                    emulator="qemu", accel="tcg",
                                    timeout=TIMEOUT)


def suite_lines(result):
    """[(test, name, status, detail)] of the DEVFILE-TEST lines."""
    return [m.groups() for m in LINE_RE.finditer(result.replace("\r", ""))]


def test_boot_completes(native_boot):
    assert native_boot.reason == "end", native_boot.describe()


def test_module_loaded(native_boot, harness):
    checks = harness.parse_checks(native_boot)
    assert checks.get("devfile_testdev") == "0", (
        f"insmod devfile_testdev.ko: {checks.get('devfile_testdev')!r} "
        f"({native_boot.describe()})")


def test_suite_done_without_failures(native_boot, harness):
    done = DONE_RE.findall(native_boot)
    assert done, f"no 'DEVFILE-SUITE done' line ({native_boot.describe()})"
    assert done[-1] == "0", f"failures={done[-1]}"
    assert harness.parse_checks(native_boot).get("devfile_native") == "0"


def test_every_line_passes(native_boot):
    lines = suite_lines(native_boot)
    assert lines, f"no DEVFILE-TEST lines ({native_boot.describe()})"
    bad = [" ".join(line) for line in lines if line[2] != "PASS"]
    assert not bad, "checks that did not pass:\n" + "\n".join(bad)


@pytest.mark.parametrize("test", SUITE_TESTS)
def test_suite_test_ran_and_passed(native_boot, test):
    lines = [line for line in suite_lines(native_boot) if line[0] == test]
    summary = [line for line in lines if line[1] == "summary"]
    assert summary, (f"test {test} printed no summary line "
                     f"({native_boot.describe()})")
    assert summary[-1][2] == "PASS", " ".join(summary[-1])
    checks = [line for line in lines if line[1] != "summary"]
    n = int(re.search(r"checks=(\d+)", summary[-1][3]).group(1))
    assert len(checks) == n, (
        f"{test}: {len(checks)} check lines, summary says {n}: a line was "
        "lost or cut")


def test_no_kernel_warnings(native_boot):
    """The device must not make the kernel complain (BUG, WARN, PAT)."""
    bad = [ln for ln in native_boot.splitlines()
           if re.search(r"BUG:|WARNING:|Oops|general protection|"
                        r"map pfn RAM range req", ln)]
    assert not bad, "\n".join(bad)
