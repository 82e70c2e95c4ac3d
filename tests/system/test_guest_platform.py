# SPDX-License-Identifier: GPL-2.0
"""A clean guest platform (issue 11, point 4), on the QEMU (AMD-V) boot.

A user guest's stock kernel should find what devirt gives it described
by its firmware tables and nothing else: no warning or error about the
platform in its boot log, no probe of a keyboard controller or CMOS
clock it does not have, and no port access devirt refuses while it
boots. The guest's /init prints the boot's kernel log lines about ACPI,
i8042, the RTC, PNP and serial ports (DEVIRT-KLOG) and the ACPI tables
it loaded (DEVIRT-CHECK acpi_tables) before anything else runs; the
refusals are devirt's own log lines, on the first serial port.
"""

import re

import pytest

# Guest kernel text; loadable modules (devirt_guest_test, which makes
# refused accesses on purpose) live above this address.
MODULES_START = 0xffffffffc0000000

# The QEMU boot only (test id "svm", so that -k svm selects these); the
# Bochs VT-x boot gives its guest the same tables but is not checked here.
@pytest.fixture(params=[pytest.param("svm", id="svm")])
def svm(request, harness):
    boot = request.getfixturevalue(f"{request.param}_boot")
    assert boot.reason == "end", boot.describe()
    guests = harness.SystemEnd(harness.CFG).guests
    assert guests, "the config lists no user guest"
    return boot, guests


def boot_lines(harness, boot, vm):
    """The guest's console lines up to DEVIRT-GUEST-START (its boot)."""
    out = []
    for line in harness.guest_lines(boot.guests, vm):
        if "DEVIRT-GUEST-START" in line:
            return out
        out.append(line)
    pytest.fail(f"{vm} never reached DEVIRT-GUEST-START")


def klog(harness, boot, vm):
    """The DEVIRT-KLOG lines: the boot's kernel log about the platform."""
    return [line.split("DEVIRT-KLOG ", 1)[1]
            for line in harness.guest_lines(boot.guests, vm)
            if "DEVIRT-KLOG " in line]


def boot_refusals(boot, vm):
    """[(port, line)] of devirt's refused port accesses of vm's kernel
    (not of its modules). Only the lines devirt logged: its rate limit
    (a burst of 64, then 16 a second) may leave some out."""
    out = []
    for m in re.finditer(
            rf"^devirt: \[{vm}\] refused port (?:read|write) 0x([0-9a-f]+) "
            r"\(\d+ bytes, rip 0x([0-9a-f]+)\).*$", boot, re.M):
        if int(m.group(2), 16) < MODULES_START:
            out.append((int(m.group(1), 16), m.group(0)))
    return out


def test_guest_finds_its_acpi_tables(svm, harness):
    boot, guests = svm
    for vm in guests:
        c = harness.parse_checks("\n".join(harness.guest_lines(boot.guests,
                                                                 vm)))
        tables = set(c.get("acpi_tables", "").split())
        assert {"APIC", "DSDT", "FACP"} <= tables, (vm, tables)
        k = "\n".join(klog(harness, boot, vm))
        for sig in ("RSDP", "XSDT", "FACP", "DSDT", "APIC"):
            assert re.search(rf"ACPI: {sig} 0x", k), (vm, sig, k)
        # COM1 is interrupt-driven through the I/O APIC the MADT lists.
        irq = c.get("ttyS0_irqs", "")
        assert re.fullmatch(r"\d+:\d+", irq), (vm, irq)


def test_no_platform_warning_or_error_in_guest_boot(svm, harness):
    boot, guests = svm
    bad = re.compile(r"ACPI (BIOS )?(Error|Warning|Exception)|"
                     r"PCI: Fatal|PCI: Sanity check failed|"
                     r"rtc_cmos.*(fail|error)|"
                     r"Unable to read RTC|"
                     r"i8042.*(timeout|Can't|fail|Probing ports|"
                     r"No controller)", re.I)
    for vm in guests:
        lines = boot_lines(harness, boot, vm) + klog(harness, boot, vm)
        found = [line for line in lines if bad.search(line)]
        assert not found, (vm, found)
        # The kernel neither probes a keyboard controller nor a CMOS clock:
        # at most i8042 saying that the firmware lists none.
        i8042 = [line for line in lines if "i8042" in line and
                 "PNP: No PS/2 controller found" not in line]
        assert not i8042, (vm, i8042)
        rtc = [line for line in lines if "rtc_cmos" in line]
        assert not rtc, (vm, rtc)


def test_no_refused_port_during_boot(svm):
    """No port access at all is refused while a guest's kernel boots: the
    keyboard controller, the CMOS clock, PIC, PIT, the PCI configuration
    mechanisms, COM2-COM4 and the DMA controller are either described as
    absent by the ACPI tables or answered as on a modern board
    (vmm/vm/legacy.c)."""
    boot, guests = svm
    for vm in guests:
        found = boot_refusals(boot, vm)
        assert not found, (vm, len(found), found[:20])
