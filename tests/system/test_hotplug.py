# SPDX-License-Identifier: GPL-2.0
"""Exports that come and go (issue 9, point 5), in one QEMU boot
(build/devirt-hotplug.iso, boot/devirt-hotplug.cfg).

The driver VM loads its shim 25 s late. g1's stub loads first, with no
export to list: its node must appear when the shim attaches (devirt's
DEVFILE_NOTE_EXPORTS). g1 then holds the device open with a read blocked
in the driver VM (tests/guest/devfile_hold.c) while the driver VM
withdraws every export: the blocked read and the next ioctl must fail
with ENODEV or EIO, not hang, and the node must go. When the driver VM
exports again, the node comes back and works. g2 loads its stub long
after the export is back: the node is there at once.
"""

import re

import pytest


@pytest.fixture(scope="module")
def hp(hotplug_boot, harness):
    g1 = "\n".join(harness.guest_lines(hotplug_boot.guests, "g1"))
    g2 = "\n".join(harness.guest_lines(hotplug_boot.guests, "g2"))
    return hotplug_boot, g1, g2, harness


def test_the_stub_loads_before_the_exports_and_waits(hp):
    boot, g1, _, harness = hp
    c = harness.parse_checks(g1)
    assert c.get("devfile_stub") == "loaded", c
    assert c.get("hotplug_before") == "0", c
    assert "no exports from the driver VM yet: waiting for them" in g1
    # One line, not one per index as before.
    assert len(re.findall(r"devfile_stub: .*-19", g1)) == 0, g1
    assert re.search(r"DEVIRT-FORWARD-DELAY 25 s", boot)


def test_nodes_appear_when_the_shim_attaches(hp):
    boot, g1, _, harness = hp
    c = harness.parse_checks(g1)
    assert c.get("hotplug_appeared") == "0", c
    assert re.search(r"devfile_stub: /dev/devfile_test \(\d+:\d+\) "
                     r"forwards devfile_test", g1), g1


def test_a_withdrawn_device_fails_its_open_files_and_nothing_hangs(hp):
    boot, g1, _, harness = hp
    d = harness.parse_checks(boot)
    assert d.get("devfile_withdraw") == "0", d
    assert "DEVFILE-HOLD opened /dev/devfile_test" in g1, g1
    read = re.search(r"DEVFILE-HOLD read=(\S+)", g1)
    ioctl = re.search(r"DEVFILE-HOLD ioctl=(\S+)", g1)
    assert read and read.group(1) in ("ENODEV", "EIO"), g1
    assert ioctl and ioctl.group(1) in ("ENODEV", "EIO"), g1
    assert "DEVFILE-HOLD done" in g1 and "DEVFILE-HOLD timeout" not in g1
    assert re.search(r"devfile_stub: /dev/devfile_test withdrawn", g1), g1
    c = harness.parse_checks(g1)
    assert c.get("hotplug_vanished") == "0", c


def test_a_device_exported_again_comes_back_and_works(hp):
    boot, g1, _, harness = hp
    assert harness.parse_checks(boot).get("devfile_reexport") == "0"
    c = harness.parse_checks(g1)
    assert c.get("hotplug_back") == "0", c
    harness.assert_devfile_suite_test(g1, "open", "g1, after re-export")


def test_a_stub_loaded_after_the_export_has_the_node_at_once(hp):
    _, _, g2, harness = hp
    c = harness.parse_checks(g2)
    assert c.get("devfile_stub") == "loaded", c
    assert c.get("stub_nodes_at_load") == "1", c


def test_an_export_without_a_node_is_skipped_with_a_log_line(hp):
    boot, g1, g2, harness = hp
    # The driver VM exports "nosuchdev", which has no node: LIST answers
    # -ENXIO, each stub says so once per scan and goes on.
    assert re.search(r"devfile_stub: export \d+ \(nosuchdev\): -6, skipped",
                     g1), g1
    assert not re.search(r"/dev/nosuchdev", g1 + g2)
    assert harness.parse_checks(g2).get("stub_nodes_at_load") == "1"
