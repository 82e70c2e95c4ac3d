# SPDX-License-Identifier: GPL-2.0
"""Device-file forwarding through devirt (issue 4), on both back ends.

In the shared boot (build/devirt.cfg, build/devirt-vmx.cfg) the driver VM
loads the test device (tests/modules/devfile_testdev.c), runs the
device-file suite natively on it (QEMU boot only), then exports it through
the shim and its hypercall transport (hostos-shim/). User guest g1 loads
the stub (guest-driver/, transport=hypercall) and runs the same suite
program, unchanged, on the stub's /dev/devfile_test: every operation is
forwarded by devirt to the driver VM. Then a guest module sends hostile
requests (dffuzz) and checks devirt's counters for the guest. The driver
VM prints the shim's own counters with each DEVIRT-ALIVE line. The
module's revoke test then keeps a frame after giving its file back, which
devirt must take away (issue 10).

A second QEMU boot (build/devirt-pair.iso, boot/devirt-pair.cfg) has the
driver VM export two instances of the device, and g1 and g2 run the
suite's pair test at the same time, each on its own instance
(docs/devfile-testdev.md): the threads test in both guests at once, then
a read that blocks in g2 while g1 goes on and finally wakes it.
"""

import re

import pytest

BACKENDS = [
    pytest.param("svm", id="svm"),
    pytest.param("vmx", id="vmx", marks=[pytest.mark.vmx, pytest.mark.slow]),
]

from conftest import (DEVFILE_SUITE_TESTS as ALL_TESTS,
                      assert_devfile_suite_test, devfile_suite_lines)
# Bochs is slow: the part the issue asks for there.
VMX_TESTS = ("open", "nested", "poll", "mmap_ram_fault", "mmap_mmio_upfront",
             "revoke")


@pytest.fixture(params=BACKENDS)
def system(request):
    return request.param, request.getfixturevalue(f"{request.param}_boot")


def suite_results(text):
    """{test: [(check, verdict, detail)]} of devfile_suite's lines."""
    out = {}
    for test, check, verdict, detail in devfile_suite_lines(text):
        out.setdefault(test, []).append((check, verdict, detail))
    return out


def guest_text(harness, boot, vm="g1"):
    return "\n".join(harness.guest_lines(boot.guests, vm))


def test_driver_vm_exports_the_device(system, harness):
    _, boot = system
    c = harness.parse_checks(boot)
    assert c.get("devfile_transport") == "0", c
    assert re.search(r"devfile_transport: guest 1: \d+ mirrors, \d+ servers", boot)
    assert re.search(r"devirt: devfile: shim attached, ring at 0x[0-9a-f]+",
                     boot)


def test_suite_natively_in_the_driver_vm(system, harness):
    backend, boot = system
    if backend == "vmx":
        pytest.skip("the native run is part of the QEMU boot only")
    c = harness.parse_checks(boot)
    assert c.get("devfile_native") == "0", c
    res = suite_results(boot)
    for test in ALL_TESTS:
        assert test in res, f"native: no {test} lines"
        assert all(v != "FAIL" for _, v, _ in res[test]), (test, res[test])


def test_suite_through_forwarding_in_a_guest(system, harness):
    """The whole suite in g1 through the stub (the VT-x boot: VMX_TESTS).
    Its revoke test needs revocation (issue 10); without it the guest's
    writer kept its first frames: stray=4864 over 20 moves, 256 after the
    last, page 0's word 0 stuck at the first move's value."""
    backend, boot = system
    text = guest_text(harness, boot)
    c = harness.parse_checks(text)
    assert c.get("devfile_stub") == "loaded", c
    assert c.get("devfile_forward") == "0", c
    res = suite_results(text)
    for test in (ALL_TESTS if backend == "svm" else VMX_TESTS):
        assert test in res, f"forwarded: no {test} lines"
        summary = [x for x in res[test] if x[0] == "summary"]
        assert summary and summary[0][1] == "PASS", (test, res[test])
        assert all(v != "FAIL" for _, v, _ in res[test]), (test, res[test])
    assert re.search(r"devfile_stub: /dev/devfile_test \(\d+:\d+\) "
                     r"forwards devfile_test", text)
    if backend == "svm":
        # 8 threads x 10,000 mixed operations, all checked.
        m = re.search(r"DEVFILE-TEST threads total PASS (\d+) ops", text)
        assert m and int(m.group(1)) >= 80000, m


def test_two_guests_at_once(pair_boot, harness):
    """g1 and g2 each run 8 threads x 10,000 mixed operations on their own
    instance, at the same time: both met at MEET (a barrier in the driver
    VM's device) before and after, and every operation was right."""
    for vm, role in (("g1", "a"), ("g2", "b")):
        text = guest_text(harness, pair_boot, vm)
        dev = "/dev/devfile_test" + ("1" if vm == "g2" else "")
        assert f"DEVFILE-SUITE start dev={dev} " in text, \
            f"{vm} did not start the suite on its own instance"
        assert_devfile_suite_test(text, "pair", vm)
        res = dict((c, (v, d)) for c, v, d in suite_results(text)["pair"])
        assert res["meet"][0] == "PASS" and f"role {role} " in res["meet"][1]
        assert res["meet_threads"][0] == "PASS", res["meet_threads"]
        m = re.match(r"(\d+) ops in", res["total"][1])
        assert res["total"][0] == "PASS" and m and int(m.group(1)) >= 80000, \
            (vm, res["total"])
        for t in range(8):
            assert res[f"t{t}"][0] == "PASS", (vm, t, res[f"t{t}"])
    # The driver VM served both guests: a shim client each.
    shim = re.findall(r"DEVFILE-SHIM clients (\d+) .* client 1 guest "
                      r"files=\d+ inflight=\d+ mappings=\d+ pages=\d+ "
                      r"watches=\d+ ops=(\d+).* client 2 guest files=\d+ "
                      r"inflight=\d+ mappings=\d+ pages=\d+ watches=\d+ "
                      r"ops=(\d+)", pair_boot)
    assert shim, "no shim counters with two clients"
    clients, ops1, ops2 = (int(x) for x in shim[-1])
    assert clients == 2 and ops1 >= 80000 and ops2 >= 80000, shim[-1]


def test_blocking_operation_does_not_stall_the_other_guest(pair_boot,
                                                           harness):
    """g2's read blocks in the driver VM's device; meanwhile g1 completes
    6,000 operations and sees g2's read still blocked, then wakes it."""
    g1 = dict((c, (v, d)) for c, v, d in
              suite_results(guest_text(harness, pair_boot, "g1"))["pair"])
    g2 = dict((c, (v, d)) for c, v, d in
              suite_results(guest_text(harness, pair_boot, "g2"))["pair"])
    assert g1["peer_blocked"][0] == "PASS", g1["peer_blocked"]
    assert g1["not_stalled"][0] == "PASS", g1["not_stalled"]
    assert "(0 bad)" in g1["not_stalled"][1] and \
        "blocked_readers=1" in g1["not_stalled"][1], g1["not_stalled"]
    assert g1["wake_peer"][0] == "PASS", g1["wake_peer"]
    m = re.search(r"read 4 bytes \(errno 0\) 'wake' after (\d+) ms",
                  g2["blocked_read"][1])
    assert g2["blocked_read"][0] == "PASS" and m, g2["blocked_read"]
    ops_ms = int(re.search(r"in (\d+) ms", g1["not_stalled"][1]).group(1))
    # g2 was blocked for at least as long as g1's operations took.
    assert int(m.group(1)) >= ops_ms, (g2["blocked_read"], g1["not_stalled"])
    assert g1["meet_end"][0] == "PASS" and g2["meet_end"][0] == "PASS"


def test_hostile_requests_get_defined_errors(system, harness):
    backend, boot = system
    text = guest_text(harness, boot)
    m = re.search(r"devirt-guest-test: dffuzz requests sent=(\d+),"
                  r"answered=(\d+),errors=(\d+),bad=(\d+) (PASS|FAIL)", text)
    assert m, "no dffuzz result"
    sent, answered, errors, bad = (int(m.group(i)) for i in range(1, 5))
    assert sent >= (100000 if backend == "svm" else 2000)
    assert answered == sent and bad == 0 and errors > 0
    assert re.search(r"dffuzz counters inflight=0,window_pages=0,"
                     r"guest_pages=0,calls=\+\d+ PASS", text)
    # The hypervisor and the driver VM are unaffected: the boot went on
    # (the driver VM printed DEVIRT-ALIVE afterwards, SystemEnd).
    assert "devirt: PANIC" not in boot and "BUG:" not in boot
    # Names outside g1's list (devices = devfile_test*: "nonexistent",
    # "../etc/passwd", "", IDENT's empty name) are refused by devirt and
    # logged, the first 32 only; allowed ones reach the shim.
    refused = re.findall(r"devirt: \[g1\] devfile: (open|ident) of (.*) "
                         r"refused \(not in its devices list\)", boot)
    assert 1 <= len(refused) <= 32, len(refused)
    assert not [n for _, n in refused if n.startswith("devfile_test")]
    if backend == "svm":
        assert ("devirt: [g1] devfile: more refused names; further ones "
                "are not logged") in boot


def test_a_released_frame_is_revoked(system, harness):
    """devirt_guest_test's revoke (after dffuzz): a guest kernel maps page
    0 of the test device's movable region with raw requests and writes A
    through the frame, then RELEASEs the file without GUNMAP. The old
    guest-physical address reads all-ones, a write of B there reaches
    nothing (a fresh mapping still reads A), and once the fresh one is
    given back properly no driver frame is left in the guest.
    Without revocation (issue 10) it fails: old_read reads A back, the
    fresh mapping reads B, guest_pages=1."""
    _, boot = system
    text = guest_text(harness, boot)
    res = dict(re.findall(r"devirt-guest-test: revoke (\w+) (\S+) "
                          r"(?:PASS|FAIL|SKIP)", text))
    verdicts = dict(re.findall(r"devirt-guest-test: revoke (\w+) \S+ "
                               r"(PASS|FAIL|SKIP)", text))
    for name in ("map", "old_read", "fresh_read", "counters"):
        assert verdicts.get(name) == "PASS", (name, res.get(name), verdicts)
    assert "read=0xffffffffffffffff" in res["old_read"], res["old_read"]
    assert "guest_pages=0" in res["counters"], res["counters"]


def test_nothing_left_behind(system, harness):
    """After the suite (killed processes and open mappings included) and
    the fuzzer: devirt holds none of the guest's pages and no driver frame
    in the guest; the shim has no file, mapping or request left."""
    _, boot = system
    text = guest_text(harness, boot)
    assert re.search(r"devirt-guest-test: devfile counters ret=0,attached=1,"
                     r"calls=\d+,async=\d+,inflight=0,window_pages=0,"
                     r"guest_pages=0 PASS", text), "devirt's counters"
    shim = re.findall(r"DEVFILE-SHIM clients (\d+) files (\d+) inflight (\d+) "
                      r"mappings (\d+) pages (\d+) watches (\d+) ops (\d+)",
                      boot)
    assert shim, "the driver VM printed no shim counters"
    clients, files, inflight, mappings, pages, watches, ops = \
        (int(x) for x in shim[-1])
    assert (files, inflight, mappings, pages) == (0, 0, 0, 0), shim[-1]
    assert ops > 0


def test_a_stopped_guest_leaves_nothing_in_the_driver_vm(pair_boot, harness):
    """g2 panics with a read blocked in the driver VM and two forwarded
    files open (devfile_hold=1): devirt drops its requests (the blocked
    one is cancelled) and tells the driver VM, whose devfile_transport stops
    g2's servers and drops its shim client, closing the files there.
    g1's client stays."""
    text = guest_text(harness, pair_boot, "g2")
    g2 = harness.parse_checks(text)
    assert g2.get("devfile_hold") == "2", g2
    # ... and a reader blocked in the driver VM: a request in flight.
    assert_devfile_suite_test(text, "leave_blocked", "g2")
    assert re.search(r"devirt: \[g2\] VM stopped", pair_boot)
    m = re.search(r"devirt: \[g2\] devfile: (\d+) request\(s\) of the "
                  r"stopped guest dropped", pair_boot)
    assert m and int(m.group(1)) >= 1, "the blocked read was not in flight"
    left = pair_boot.find("devfile_transport: guest 2: nothing of it left here")
    assert left != -1, "devfile_transport did not drop guest 2"
    assert re.search(r"devfile_shim: client \d+ \(guest\) detached after "
                     r"\d+ ops", pair_boot)
    shim = re.findall(r"DEVFILE-SHIM clients (\d+) files (\d+) inflight "
                      r"(\d+) mappings (\d+)", pair_boot[left:])
    assert shim, "no shim counters after guest 2 was dropped"
    assert tuple(int(x) for x in shim[-1]) == (1, 0, 0, 0), shim[-1]


# The driver-side fuzzer's counts: its live phase beside the shim and g1
# on both back ends; the VT-x boot's g1 stops after its checks, so there
# the exclusive phase (ATTACH and all) runs too.
DFUZZ_CALLS = {"svm": (100000, 0), "vmx": (100000, 5000)}
_DFUZZ_DONE_RE = re.compile(
    r"DEVIRT-DFUZZ done calls=(\d+) seed=(\d+) errors_by_kind=(\S+) "
    r"by_call=(\S+) bad=(\d+) counters=(\w+)")


def parse_dfuzz(text):
    """The fuzzer's summary: {calls, seed, kinds{}, by_call{}, bad,
    counters, phases{phase: {calls, bad, ...}}, bad_lines, counter_lines}
    or None."""
    m = _DFUZZ_DONE_RE.search(text)
    if not m:
        return None
    out = {"calls": int(m.group(1)), "seed": int(m.group(2)),
           "kinds": {k: int(v) for k, v in
                     (x.split(":") for x in m.group(3).split(","))},
           "by_call": {k: int(v) for k, v in
                       (x.split(":") for x in m.group(4).split(","))},
           "bad": int(m.group(5)), "counters": m.group(6), "phases": {}}
    for pm in re.finditer(r"DEVIRT-DFUZZ phase (\w+) (calls=.*)", text):
        out["phases"][pm.group(1)] = dict(
            kv.split("=", 1) for kv in pm.group(2).split() if "=" in kv)
    out["bad_lines"] = re.findall(r"DEVIRT-DFUZZ bad .*", text)
    out["counter_lines"] = re.findall(r"DEVIRT-DFUZZ counters .*", text)
    hm = re.search(r"DEVIRT-DFUZZ heap used_before=(\d+) used_after=(\d+) "
                   r"total=(\d+)", text)
    out["heap"] = tuple(int(x) for x in hm.groups()) if hm else None
    return out


def test_hostile_driver_hypercalls(system, harness):
    """The driver VM's devfile_dfuzz module: 100,000 random and edge-case
    driver-side hypercalls beside the shim serving g1 (and, where g1
    stops, more once it has, ATTACH included). Every answer is the one
    devfile/hypercalls.c promises, nothing was written where it must not be, the
    driver VM's counters did not move, the hypervisor's code is as at
    boot, and the boot went on (g1's own tests in this file too).
    Against a devirt whose NOTE lost its vm id bound it fails: bad=1938,
    NOTEs to 2^32 + 1 and 2^63 + 1 reached g1."""
    backend, boot = system
    c = harness.parse_checks(boot)
    assert c.get("devfile_dfuzz") == "0", c
    fz = parse_dfuzz(boot)
    assert fz, "no DEVIRT-DFUZZ done line"
    live, excl = DFUZZ_CALLS[backend]
    assert int(fz["phases"]["live"]["calls"]) == live, fz["phases"]
    if excl:
        assert int(fz["phases"]["exclusive"]["calls"]) >= excl, fz["phases"]
    assert fz["calls"] >= live + excl, fz
    assert fz["bad"] == 0 and not fz["bad_lines"], fz["bad_lines"][:10]
    assert fz["counters"] == "consistent", fz["counter_lines"]
    assert all(line.endswith(" consistent") for line in fz["counter_lines"])
    # Every kind of call was made, and the refusals were the right ones.
    for call in ("map", "complete", "gmap", "grevoke", "note", "faultin",
                 "info", "hv_info", "guest_side", "unknown"):
        assert fz["by_call"][call] > 0, (call, fz["by_call"])
    if excl:
        assert fz["by_call"]["attach"] > 0, fz["by_call"]
    assert fz["kinds"]["other"] == 0 and fz["kinds"]["einval"] > 0
    assert sum(fz["kinds"].values()) == fz["calls"], fz["kinds"]
    assert "devirt: PANIC" not in boot and "BUG:" not in boot
    # The driver VM lived on after it (SystemEnd waited for DEVIRT-ALIVE).
    assert boot.rfind("DEVIRT-ALIVE") > boot.find("DEVIRT-DFUZZ done")
