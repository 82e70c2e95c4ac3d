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

from conftest import (DEVFILE_SUITE_TESTS, assert_devfile_suite_test,
                      devfile_suite_lines)


TIMEOUT = float(os.environ.get("DEVFILE_NATIVE_TIMEOUT", 300))

DONE_RE = re.compile(r"DEVFILE-SUITE done failures=(\d+)")


@pytest.fixture(scope="module")
def native_boot(harness):
    """The kernel booted straight into the driver initramfs, suite run."""
    return harness.boot_kernel(
        harness.BUILD / "initrd-driver.gz",
        "console=ttyS0,115200 loglevel=6 panic=-1 "
        "devirt_tests=none devfile_native=1",
        name="devfile-native", timeout=TIMEOUT)

def suite_lines(result):
    """[(test, name, status, detail)] of the DEVFILE-TEST lines."""
    return devfile_suite_lines(result)


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


@pytest.mark.parametrize("test", DEVFILE_SUITE_TESTS)
def test_suite_test_ran_and_passed(native_boot, test):
    assert_devfile_suite_test(native_boot, test, native_boot.describe())

def test_no_kernel_warnings(native_boot):
    """The device must not make the kernel complain (BUG, WARN, PAT)."""
    bad = [ln for ln in native_boot.splitlines()
           if re.search(r"BUG:|WARNING:|Oops|general protection|"
                        r"map pfn RAM range req", ln)]
    assert not bad, "\n".join(bad)
