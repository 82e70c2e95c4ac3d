# SPDX-License-Identifier: GPL-2.0
"""What the driver VM must not be able to do, checked on both back ends.

The devirt_test module (tests/modules/devirt_test.c) runs inside the
driver VM during the shared boot; these tests read what it reported and
what the hypervisor logged about the same attempts, and that both kept
running afterwards.
"""

import re

import pytest

BACKENDS = [
    pytest.param("svm", id="svm"),
    pytest.param("vmx", id="vmx", marks=[pytest.mark.vmx, pytest.mark.slow]),
]


@pytest.fixture(params=BACKENDS)
def boot(request):
    return request.getfixturevalue(f"{request.param}_boot")


def results(harness, text, test):
    """{name: (value, verdict)} for one module test."""
    return {n: (v, ok) for t, n, v, ok in harness.parse_module_results(text)
            if t == test}


def hv_range(text):
    m = re.search(r"hypmem\.before\.hyp_base=(0x[0-9a-f]+) "
                  r"hypmem\.before\.hyp_size=(0x[0-9a-f]+)", text)
    assert m, "the module did not report the hypervisor's range"
    return int(m.group(1), 16), int(m.group(2), 16)


def test_hypervisor_memory_reads_are_refused(boot, harness):
    r = results(harness, boot, "hypmem")
    base, size = hv_range(boot)
    for page in ("lo", "mid", "canary"):
        assert r[f"read_{page}"] == ("0xffffffff", "PASS")
        assert r[f"reread_{page}"] == ("0xffffffff", "PASS")
    refused = re.findall(r"devirt: \[driver\] refused read of hypervisor "
                         r"memory at (0x[0-9a-f]+) \(rip [^)]*\): load "
                         r"returns all-ones", boot)
    # Each refusal is counted (the module's "refused" check: +9 for its
    # reads, writes and rereads); the log is rate-limited per VM, so a
    # line may be missing when the driver VM refused much just before.
    assert len(refused) >= 1
    assert all(base <= int(gpa, 16) < base + size for gpa in refused)


def test_hypervisor_memory_writes_are_dropped(boot, harness):
    base, size = hv_range(boot)
    dropped = re.findall(r"devirt: \[driver\] refused write of hypervisor "
                         r"memory at (0x[0-9a-f]+) \(rip [^)]*\): store "
                         r"dropped", boot)
    assert len(dropped) >= 1  # see above: the counter is the proof
    assert all(base <= int(gpa, 16) < base + size for gpa in dropped)
    r = results(harness, boot, "hypmem")
    # The hypervisor counted the attempts, and its code, read-only data
    # and canary page are intact. Every read of the page returns
    # all-ones, so only devirt can tell whether a write landed: it counts
    # the canary's words that lost their pattern (HV_INFO).
    assert r["refused"][1] == "PASS", r["refused"]
    assert r["checksum"][1] == "PASS", r["checksum"]
    a, b = r["checksum"][0].split("/")
    assert a == b
    where = r["canary_where"]
    assert where[1] == "PASS", where
    assert base <= int(where[0].split(",")[0], 16) < base + size
    assert r["landed_canary"] == ("bad_words=0", "PASS"), \
        "a write to hypervisor memory landed in devirt's data"


def test_both_keep_running_after_refusals(boot):
    last_refusal = boot.rfind("refused write of hypervisor memory")
    assert last_refusal != -1
    # The driver VM went on to finish /init, and the hypervisor to log.
    assert boot.find("DEVIRT-DRIVER-DONE", last_refusal) != -1
    assert "devirt: PANIC" not in boot and "devirt: FATAL" not in boot


def test_ipis_to_other_cpus_are_refused(boot, harness):
    r = results(harness, boot, "ipi")
    assert r, "the module's ipi test did not run"
    # Each kind: dropped without a fault (ret=0, not -EIO), the APIC's
    # ICR unchanged (nothing sent), exactly one refusal counted.
    for name in ("init", "sipi", "fixed"):
        value, verdict = r[name]
        m = re.fullmatch(r"ret=(-?\d+),icr=(0x[0-9a-f]+)->(0x[0-9a-f]+),"
                         r"d_refused_ipi=(-?\d+)", value)
        assert m, (name, value)
        assert m.group(1) == "0", (name, value)
        assert m.group(2) == m.group(3), (name, value)
        assert m.group(4) == "1", (name, value)
        assert verdict == "PASS", (name, value)
    assert r["refused"][1] == "PASS", r["refused"]
    for kind in ("INIT", "SIPI", "fixed IPI"):
        assert re.search(rf"devirt: \[driver\] refused {kind} \(vector "
                         rf"0x[0-9a-f]+\) to APIC ID 0x1: not a CPU of "
                         rf"this VM", boot), f"no refusal logged for {kind}"
    # The target CPU runs devirt's code, parked, not the firmware's.
    assert "devirt: CPU 1 (APIC ID 1) started, parked for user guests" \
        in boot
    # The CPU kept for guests was hidden from the driver VM as well.
    assert "CPU(s) hidden from the driver VM" in boot or \
        "no MADT to filter" in boot


def test_hypercall_errors(boot, harness):
    r = results(harness, boot, "abi")
    assert r["version"] == ("0x4", "PASS")  # ABI 0.4
    assert r["unknown_call"] == ("-38", "PASS")
    assert r["console_bad_ptr"] == ("-14", "PASS")
    assert r["console_too_long"] == ("-22", "PASS")
    assert "devirt: [driver] console: hello from driver VM" in boot
