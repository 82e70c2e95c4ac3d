# SPDX-License-Identifier: GPL-2.0
"""Device-file forwarding through the loopback transport (issue 4).

Boots the stock kernel directly under QEMU TCG (-kernel/-initrd, no
firmware, no hypervisor) with build/initrd-loopback.gz, whose /init
(tests/initramfs/init-loopback) loads the test device, the shim and the
stub in one kernel (transport=loopback: the stub calls the shim
directly) and runs the device-file suite on the stub's
/dev/fwd/devfile_test, which forwards every operation to the real
/dev/devfile_test; then the shim fuzzer; then unloads it all
(docs/devfile.md). This checks the generic forwarding code, which the
hypercall transport reuses, in seconds.

One boot (about 10-15 s) serves every test here. Environment:
DEVFILE_LOOPBACK_INITRD (default build/initrd-loopback.gz),
DEVFILE_LOOPBACK_TIMEOUT (seconds, default 300), DEVFILE_FUZZ_OPS
(default 100000), DEVFILE_FUZZ_SEED (default 20261125; 0: a random one).
"""

import os
import re
import zlib
from pathlib import Path

import pytest

from conftest import (DEVFILE_SUITE_TESTS, assert_devfile_suite_test,
                      devfile_suite_lines)


TIMEOUT = float(os.environ.get("DEVFILE_LOOPBACK_TIMEOUT", 300))
FUZZ_OPS = int(os.environ.get("DEVFILE_FUZZ_OPS", 100000))
FUZZ_SEED = int(os.environ.get("DEVFILE_FUZZ_SEED", 20261125))
END = "DEVFILE-LOOPBACK-DONE"

DONE_RE = re.compile(r"DEVFILE-SUITE done failures=(\d+)")
FUZZ_RE = re.compile(r"DEVFILE-FUZZ done (.*)$", re.MULTILINE)
STATS_RE = re.compile(r"DEVFILE-STATS (\S+) (\S+) (\S+)\s*$", re.MULTILINE)
# Counters of the shim that must be back at zero when nothing is open.
LIVE = ("files", "inflight", "mappings", "pages", "watches")
# The fuzzer module's probe mode and the shim's cached identity texts.
PROBE_RE = re.compile(r"DEVFILE-PROBE (\S+) (\S+) ?(.*?)\s*$", re.MULTILINE)
CACHE_RE = re.compile(r"DEVFILE-IDENTCACHE (\S+) (.*?)\r?$", re.MULTILINE)
EXPORTS = "devfile_test,zero,null,sub/zero"


@pytest.fixture(scope="module")
def loopback_boot(harness):
    """The kernel booted into the loopback initramfs, suite and fuzz run."""
    initrd = Path(os.environ.get("DEVFILE_LOOPBACK_INITRD",
                                 harness.BUILD / "initrd-loopback.gz"))
    return harness.boot_kernel(
        initrd, "console=ttyS0,115200 loglevel=6 panic=-1 "
        f"devfile_fuzz={FUZZ_OPS} devfile_seed={FUZZ_SEED}",
        name="devfile-loopback", end_marker=END, timeout=TIMEOUT)

def suite_lines(result):
    """[(test, name, status, detail)] of the DEVFILE-TEST lines."""
    return devfile_suite_lines(result)


def stats(result, when):
    """{key: value} of the shim's counters printed at step `when`."""
    out = {}
    for w, key, val in STATS_RE.findall(result.replace("\r", "")):
        if w == when and val.lstrip("-").isdigit():
            out[key] = int(val)
    return out


def test_boot_completes(loopback_boot):
    assert loopback_boot.reason == "end", loopback_boot.describe()


@pytest.mark.parametrize("key,want", [
    ("testdev", "0"), ("shim", "0"), ("stub", "0"),
    # busybox insmod's status is the errno: the stub refuses without the
    # shim and with the hypercall transport (not implemented yet), ENODEV,
    # and an unknown transport, EINVAL.
    ("stub_noshim", "19"), ("stub_hypercall", "19"),
    ("stub_badtransport", "22"),
    # Names with '/': /dev/sub/zero is forwarded as /dev/fwd/sub/zero.
    ("nodes", "devfile_test,zero,null,sub/zero"),
    ("zero_read", "0/1048576"),  # non-zero bytes / bytes read
    ("subdir_read", "0/4096"),
    ("null_write", "0"),
    ("stub_rmmod", "0"), ("shim_rmmod", "0"), ("testdev_rmmod", "0"),
])
def test_step(loopback_boot, harness, key, want):
    got = harness.parse_checks(loopback_boot).get(key)
    assert got == want, f"{key}={got!r} ({loopback_boot.describe()})"


def test_suite_done_without_failures(loopback_boot, harness):
    done = DONE_RE.findall(loopback_boot)
    assert done, f"no 'DEVFILE-SUITE done' line ({loopback_boot.describe()})"
    assert done[-1] == "0", f"failures={done[-1]}"
    assert harness.parse_checks(loopback_boot).get("devfile_loopback") == "0"


def test_suite_ran_on_the_stub(loopback_boot):
    assert "DEVFILE-SUITE start dev=/dev/fwd/devfile_test" in loopback_boot


def test_every_line_passes(loopback_boot):
    lines = suite_lines(loopback_boot)
    assert lines, f"no DEVFILE-TEST lines ({loopback_boot.describe()})"
    bad = [" ".join(line) for line in lines if line[2] != "PASS"]
    assert not bad, "checks that did not pass:\n" + "\n".join(bad)


# Not revoke: the loopback stub maps the driver's frames with no stage 2
# in between, so nothing takes them back (tests/initramfs/init-loopback).
@pytest.mark.parametrize("test", [t for t in DEVFILE_SUITE_TESTS
                                  if t != "revoke"])
def test_suite_test_ran_and_passed(loopback_boot, test):
    assert_devfile_suite_test(loopback_boot, test, loopback_boot.describe())

@pytest.mark.parametrize("when", ["after_suite", "after_fuzz"])
def test_shim_holds_nothing_after(loopback_boot, when):
    """No open file, mapping, page, watch or request left in the shim."""
    st = stats(loopback_boot, when)
    assert st, f"no DEVFILE-STATS {when} lines ({loopback_boot.describe()})"
    assert st.get("clients") == 1, st
    left = {k: st.get(k) for k in LIVE if st.get(k) != 0}
    assert not left, f"{when}: {left}"
    assert st.get("ops", 0) > 0, st


def test_stub_unload_removes_its_client(loopback_boot):
    st = stats(loopback_boot, "after_stub_rmmod")
    assert st.get("clients") == 0, st
    left = {k: st.get(k) for k in LIVE if st.get(k) != 0}
    assert not left, left


def test_fuzz(loopback_boot, harness):
    """Random requests straight into the shim, each with a defined answer."""
    assert harness.parse_checks(loopback_boot).get("fuzz") == "0"
    found = FUZZ_RE.findall(loopback_boot)
    assert found, f"no 'DEVFILE-FUZZ done' line ({loopback_boot.describe()})"
    fields = dict(kv.split("=", 1) for kv in found[-1].split())
    bad_lines = re.findall(r"DEVFILE-FUZZ (?:bad|leak) .*", loopback_boot)
    assert int(fields["ops"]) >= FUZZ_OPS
    assert fields["bad"] == "0", "\n".join(bad_lines)
    assert fields["leaks"] == "0", "\n".join(bad_lines)
    # It reached every kind of answer, not only the early refusals.
    for key in ("ok", "ebadf", "eproto", "enosys", "einval", "efault"):
        assert int(fields[key]) > 0, f"{key}=0: {found[-1]}"
    # It withdrew exports (devices=) with handles open on them, which
    # then answered -ENODEV, and it sent IDENTs that succeeded.
    assert int(fields["withdrawals"]) > 0, found[-1]
    assert int(fields["enodev"]) > 0, found[-1]
    # Withdrawals killed open handles and revoked live mappings.
    st = stats(loopback_boot, "after_fuzz")
    assert st.get("withdrawn", 0) > 0 and st.get("revoked", 0) > 0, st
    ident = re.findall(r"DEVFILE-FUZZ ioctls .* ident=(\d+)", loopback_boot)
    assert ident and int(ident[-1]) > 0, ident


def test_no_kernel_warnings(loopback_boot):
    bad = [ln for ln in loopback_boot.splitlines()
           if re.search(r"BUG:|WARNING:|Oops|general protection|"
                        r"map pfn RAM range req|refcount_t:|"
                        r"devfile_(stub|shim): (munmap|release) of", ln)]
    assert not bad, "\n".join(bad)


# ---- device identity (IDENT) and dynamic exports --------------------------

def probe(result, tag):
    """The DEVFILE-PROBE lines of one probe run: {"list": [...], "done":
    bad count, "ident": {name: (ret, crc)}, "lines": {name: [line]}}."""
    out = {"list": None, "done": None, "ident": {}, "lines": {}}
    for t, kind, rest in PROBE_RE.findall(result.replace("\r", "")):
        if t != tag:
            continue
        if kind == "list":
            n, _, names = rest.partition(" ")
            out["list"] = names.split(",") if int(n) else []
        elif kind == "ident":
            name, ret, crc = rest.split()
            out["ident"][name] = (int(ret.split("=")[1]),
                                  int(crc.split("=")[1], 16))
        elif kind == "line":
            name, _, line = rest.partition(": ")
            out["lines"].setdefault(name, []).append(line)
        elif kind == "done":
            out["done"] = int(rest.split("=")[1])
        elif kind == "bad":
            out.setdefault("bad", []).append(rest)
    return out


def ident_cache(result, tag):
    """{name: (length, "maj:min", text)} from the shim's debugfs dump."""
    out, cur = {}, None
    for t, line in CACHE_RE.findall(result.replace("\r", "")):
        if t != tag:
            continue
        if line == "end":
            break
        m = re.match(r"ident (\S+) (\d+) (\d+:\d+)$", line)
        if m:
            cur = m.group(1)
            out[cur] = [int(m.group(2)), m.group(3), ""]
        elif cur:
            out[cur][2] += line + "\n"
    return {k: tuple(v) for k, v in out.items()}


def test_withdrawal_cancels_a_blocked_read(loopback_boot, harness):
    """A read blocked in the driver (pipe mode, empty FIFO) on a handle
    whose export is withdrawn: the write of devices= returns at once, the
    client's cancel callback is called once and the read answers -ENODEV;
    RELEASE still works."""
    assert harness.parse_checks(loopback_boot).get("probe_cancel") == "0"
    p = probe(loopback_boot, "cancel")
    assert p["done"] == 0, p.get("bad")
    line = re.findall(r"DEVFILE-PROBE cancel cancel (.*?)\s*$",
                      loopback_boot.replace("\r", ""), re.MULTILINE)
    assert line, loopback_boot.describe()
    fields = dict(kv.split("=") for kv in line[-1].split())
    assert fields["read"] == "-19", fields
    assert fields["cancels"] == "1", fields
    assert fields["write"] == "0" and fields["release"] == "0", fields
    assert 0 <= int(fields["write_ms"]) < 2000, fields


@pytest.mark.parametrize("tag", ["before", "withdrawn", "restored"])
def test_probe_ran_clean(loopback_boot, harness, tag):
    assert harness.parse_checks(loopback_boot).get(f"probe_{tag}") == "0"
    p = probe(loopback_boot, tag)
    assert p["done"] == 0, p.get("bad")


def test_ident_names_the_real_device(loopback_boot, harness):
    """Level 0 is the misc device itself; its uevent's MAJOR and MINOR are
    those of the node (stat)."""
    p = probe(loopback_boot, "before")
    ret, _ = p["ident"]["devfile_test"]
    assert ret > 0, p
    lines = p["lines"]["devfile_test"]
    assert lines[0] == "D 0 misc c devfile_test", lines
    devnum = harness.parse_checks(loopback_boot).get("devnum")
    major, minor = devnum.split(":")
    assert f"E 0 MAJOR={major}" in lines, (devnum, lines)
    assert f"E 0 MINOR={minor}" in lines, (devnum, lines)
    assert "E 0 DEVNAME=devfile_test" in lines, lines
    # A virtual device: no parent device, no bus.
    assert not [ln for ln in lines if ln.startswith("D 1 ")], lines


def test_ident_attributes_filtered_and_escaped(loopback_boot):
    """The test device's attributes (docs/devfile-testdev.md): text ones
    escaped, a plain group's as group/attr; binary, too long, failing,
    write-only ones, dev, uevent and power left out."""
    text = ident_cache(loopback_boot, "before")["devfile_test"][2]
    alines = [ln for ln in text.splitlines() if ln.startswith("A ")]
    assert alines == [
        "A 0 info/model devfile",
        "A 0 info/vendor 0x1af4",
        "A 0 label devfile test\\x09device \\\\ one",
        "A 0 multi line one\\nline two",
    ], alines


@pytest.mark.parametrize("tag", ["before", "restored"])
def test_ident_chunks_equal_the_cached_text(loopback_boot, tag):
    """Read in 64-byte chunks (the probe), each export's text has the
    length and the bytes of the shim's one cached text."""
    p = probe(loopback_boot, tag)
    cache = ident_cache(loopback_boot, tag)
    assert p["ident"], p
    for name, (ret, crc) in p["ident"].items():
        assert name in cache, (name, sorted(cache))
        length, _, text = cache[name]
        assert ret == length == len(text.encode()), (name, ret, length)
        assert zlib.crc32(text.encode()) == crc, name
        # Every line a D, E or A line of a level; levels in order from 0.
        levels = []
        for line in text.splitlines():
            kind, level = line.split(" ")[:2]
            assert kind in ("D", "E", "A"), line
            if kind == "D":
                levels.append(int(level))
            else:
                assert levels and int(level) == levels[-1], line
        assert levels == list(range(len(levels))), (name, levels)


def test_ident_walks_up_to_the_bus_device(loopback_boot):
    """ttyS1: the tty class device, then the first device on a bus (the
    8250 platform device), where it stops."""
    p = probe(loopback_boot, "restored")
    text = ident_cache(loopback_boot, "restored")["ttyS1"][2]
    dlines = [ln for ln in text.splitlines() if ln.startswith("D ")]
    assert dlines[0] == "D 0 tty c ttyS1", dlines
    assert len(dlines) >= 2 and dlines[-1].split()[3] == "b", dlines
    assert all(d.split()[3] == "c" for d in dlines[:-1]), dlines
    assert p["ident"]["ttyS1"][0] == len(text.encode())


def test_withdrawn_export_kills_open_handles(loopback_boot, harness):
    """devices= written without devfile_test: an open handle's read fails
    with ENODEV, LIST shrinks; written back, LIST has it again, a new open
    works, the old handle stays dead; a bad list is refused whole."""
    checks = harness.parse_checks(loopback_boot)
    want = {
        "exports_before": EXPORTS,
        "withdraw_read_before": "16",
        "exports_after_bad": EXPORTS,
        "withdraw_write": "0",
        "exports_withdrawn": "zero,null,sub/zero",
        "withdraw_read": "ENODEV",
        "restore_write": "0",
        "withdraw_read_restored": "ENODEV",
        "restored_read": "16",
    }
    got = {k: checks.get(k) for k in want}
    assert got == want
    assert checks.get("exports_bad_write") not in (None, "0")
    assert probe(loopback_boot, "before")["list"] == EXPORTS.split(",")
    assert probe(loopback_boot, "withdrawn")["list"] == [
        "zero", "null", "sub/zero"]
    assert probe(loopback_boot, "restored")["list"] == (
        EXPORTS + ",ttyS1").split(",")


def test_withdrawal_leaves_nothing_and_notifies(loopback_boot):
    before = stats(loopback_boot, "after_fuzz")
    st = stats(loopback_boot, "after_withdraw")
    assert st, f"no DEVFILE-STATS after_withdraw ({loopback_boot.describe()})"
    left = {k: st.get(k) for k in LIVE if st.get(k) != 0}
    assert not left, left
    # The cancel test's handle and the shell's were killed.
    assert st["withdrawn"] == before["withdrawn"] + 2, (before, st)
    # Four changes of the list, each a NOTE_EXPORTS to the stub's client.
    assert st["notes"] >= before["notes"] + 4, (before, st)
