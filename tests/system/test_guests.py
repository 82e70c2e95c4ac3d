# SPDX-License-Identifier: GPL-2.0
"""User guests next to the driver VM (issue 3), on both back ends.

One boot per back end (the session fixtures svm_boot and vmx_boot):
QEMU TCG (AMD-V/NPT) runs the driver VM and guests g1 and g2 from
build/devirt.cfg, Bochs (VT-x/EPT) the driver VM and g1 from
build/devirt-vmx.cfg. Guest consoles arrive on the second serial port,
each line tagged "[vm] " by the hypervisor; the hypervisor's own log and
the driver VM's console are on the first. The guests' /init and test
module are tests/initramfs/init-guest and tests/modules/devirt_guest_test.c
(their output: docs/guest-tests.md).
"""

import re

import pytest

BACKENDS = [
    pytest.param("svm", id="svm"),
    pytest.param("vmx", id="vmx", marks=[pytest.mark.vmx, pytest.mark.slow]),
]

MiB = 1 << 20


@pytest.fixture(params=BACKENDS)
def system(request, harness):
    """(boot result, its config path, SystemEnd describing its VMs)."""
    boot = request.getfixturevalue(f"{request.param}_boot")
    cfg = harness.CFG if request.param == "svm" else harness.VMX_CFG
    return boot, cfg, harness.SystemEnd(cfg)


def lines(harness, boot, vm):
    return harness.guest_lines(boot.guests, vm)


def text(harness, boot, vm):
    return "\n".join(lines(harness, boot, vm))


def checks(harness, boot, vm):
    return harness.parse_checks(text(harness, boot, vm))


def printk_time(line):
    m = re.match(r"\[\s*(\d+\.\d+)\]", line)
    return float(m.group(1)) if m else None


def test_boot_ended_as_planned(system):
    boot, _, end = system
    assert boot.reason == "end", \
        f"{boot.describe()}; waited for: {boot.end_condition}"
    assert end.guests, "the config lists no user guest"


def test_guests_boot_alongside_the_driver_vm(system, harness):
    boot, cfg, end = system
    kernel = re.search(r"Linux version (\S+)", boot)
    assert kernel, "the driver VM printed no kernel version"
    cpus = set()
    for vm in end.guests:
        m = re.search(rf"devirt: \[{vm}\] launching on CPU (\d+) "
                      rf"\(APIC ID (\d+)\): (\d+) MiB", boot)
        assert m, f"the hypervisor did not launch {vm}"
        cpus.add(int(m.group(1)))
        assert int(m.group(3)) * MiB == harness.cfg_vm_memory(vm, cfg)
        t = text(harness, boot, vm)
        # The same stock Debian kernel as the driver VM, to user space.
        assert f"Linux version {kernel.group(1)}" in t
        assert "DEVIRT-GUEST-START" in t and "DEVIRT-GUEST-DONE" in t
    # Static partitioning: a CPU each, none of them the driver VM's (0).
    assert len(cpus) == len(end.guests) and 0 not in cpus


def test_each_console_is_its_own(system, harness):
    boot, _, end = system
    for vm in end.guests:
        assert lines(harness, boot, vm), f"no console lines from {vm}"
    # Once devirt runs (the firmware writes to this port too), every line
    # is a whole, tagged line of a guest; no driver VM output.
    tags = {f"[{vm}] " for vm in end.guests}
    out = boot.guests.splitlines()
    first = next(i for i, line in enumerate(out)
                 if line[:line.find("]") + 2] in tags)
    for line in out[first:]:
        if line.strip():
            assert line[:line.find("]") + 2] in tags, line
    assert "DEVIRT-DRIVER-DONE" not in boot.guests
    # And no guest console line on the driver VM's / hypervisor's port.
    for vm in end.guests:
        assert not re.search(rf"^\[{vm}\] ", boot, re.M)
    assert "DEVIRT-GUEST-DONE" not in boot


def test_guest_checks(system, harness):
    boot, cfg, end = system
    backend = "svm" if "svm" in boot.name else "vmx"
    for vm in end.guests:
        c = checks(harness, boot, vm)
        assert c.get("hypervisor_flag") == "yes", (vm, c)
        assert c.get("sig") == "DevirtDevirt", (vm, c)
        assert c.get("pci") == "", f"{vm} sees PCI devices: {c.get('pci')}"
        assert c.get("cpus") == "1", (vm, c)
        assert c.get("backend") == backend, (vm, c)
        # RAM: what the config gives, less the legacy BIOS hole (640K-1M)
        # and the page Linux keeps at 0.
        mem = harness.cfg_vm_memory(vm, cfg)
        ram = int(c["ram_bytes"])
        assert mem - 2 * MiB < ram <= mem, (vm, ram, mem)
        assert c.get("clocksource") in ("kvm-clock", "tsc"), (vm, c)


def arrival(boot, vm, pattern):
    """Host time (s since the emulator started) at which the first line of
    guest vm matching pattern arrived, or None."""
    tag = f"[{vm}] "
    return next((t for t, line in boot.arrivals
                 if line.startswith(tag) and re.search(pattern, line)), None)


def test_guest_timer_interrupts_and_sleep(system, harness):
    boot, _, end = system
    for vm in end.guests:
        c = checks(harness, boot, vm)
        # init-guest says yes only when both the guest's own clock and
        # devirt's CMOS clock (a separate count of the TSC) saw 5 s pass.
        assert c.get("sleep_returned") == "yes", (vm, c)
        # LAPIC timer interrupts counted in /proc/interrupts during 1 s.
        assert int(c.get("timer_irqs_delta", "0")) >= 3, (vm, c)
        t = text(harness, boot, vm)
        start = re.search(r"DEVIRT-TIME start uptime=([\d.]+) rtc=(\d+)", t)
        stop = re.search(r"DEVIRT-TIME end uptime=([\d.]+) rtc=(\d+)", t)
        assert start and stop, vm
        # "sleep 5" took 5 s of the guest's own clock...
        assert 4.9 <= float(stop.group(1)) - float(start.group(1)) <= 6.0
        # ...and 5 whole seconds (from a tick) of the CMOS clock.
        rtc = (int(stop.group(2)) - int(start.group(2))) % 60
        assert 5 <= rtc <= 6, (vm, rtc)
        if boot.emulator != "qemu":
            continue  # Bochs' clock is not the host's
        # Under QEMU the guest's clock is the host's: the two lines
        # arrived about 5 s apart on the harness's own clock too.
        t0 = arrival(boot, vm, r"DEVIRT-TIME start")
        t1 = arrival(boot, vm, r"DEVIRT-TIME end")
        assert t0 is not None and t1 is not None, vm
        assert 4.5 <= t1 - t0 <= 7.5, (vm, t1 - t0)


def tsc_mhz(harness, log):
    """The TSC rate a kernel settled on (checks.sh reads its dmesg)."""
    v = harness.parse_checks(log).get("tsc_mhz", "")
    return float(v) if v else None


def test_guest_clock_rate_matches_the_emulator(system, harness):
    """A guest's clock runs at the real rate within 5%.

    Against the emulator's clock as the driver VM measures it: the driver
    VM calibrates the TSC itself against the emulated PIT/HPET, a guest
    takes its TSC rate from devirt through kvmclock. Under QEMU TCG the
    emulator's clock is the host's, so there the guest's printk time
    stamps are also checked against the host time at which its lines
    arrived, over its DEVIRT-ALIVE lines (20 s or more).
    """
    boot, _, end = system
    driver = tsc_mhz(harness, boot)
    assert driver, "the driver VM reported no TSC rate"
    for vm in end.guests:
        guest = tsc_mhz(harness, text(harness, boot, vm))
        assert guest, f"{vm} reported no TSC rate"
        assert abs(guest / driver - 1) < 0.05, (vm, guest, driver)
    if boot.emulator != "qemu":
        return
    for vm in end.guests:
        if vm in end.crashers:
            continue
        stamps = [(t, printk_time(line[len(vm) + 3:]))
                  for t, line in boot.arrivals
                  if line.startswith(f"[{vm}] ") and "DEVIRT-ALIVE" in line]
        stamps = [(t, g) for t, g in stamps if g is not None]
        assert len(stamps) >= 10, (vm, stamps)
        (h0, g0), (h1, g1) = stamps[0], stamps[-1]
        assert h1 - h0 >= 15, (vm, stamps)
        assert abs((g1 - g0) / (h1 - h0) - 1) < 0.05, (vm, g0, g1, h0, h1)


def module_results(harness, t):
    """{(test, name): (detail, verdict)} from devirt_guest_test."""
    return {(a, b): (c, d) for a, b, c, d in re.findall(
        r"devirt-guest-test: (\w+) (\S+) (\S+) (PASS|FAIL|SKIP)", t)}


def test_guest_isolation_attempts_are_refused(system, harness):
    """Each attempt from inside a guest is refused, counted and logged
    with the guest's name; the other VMs keep running (the boot's end
    condition needs the driver VM and every surviving guest to print
    DEVIRT-ALIVE after all crashes)."""
    boot, _, end = system
    for vm in end.guests:
        t = text(harness, boot, vm)
        assert re.search(r"devirt-guest-test: done failures=0", t), vm
        r = module_results(harness, t)
        fails = {k: v for k, v in r.items() if v[1] == "FAIL"}
        assert not fails, (vm, fails)
        others = [g for g in ["driver"] + end.guests if g != vm]
        # Each target's real frames, at the GPAs a broken second-level
        # table would put them at: gpa == hpa (ident), and, for a target
        # above this guest's partition, its own mapping run on (offset).
        ranges = {m.group(1): [int(x, 16) for x in m.group(2, 3, 4, 5)]
                  for m in re.finditer(
                      r"devirt-guest-test: info mem target=(\S+) "
                      r"range=(0x[0-9a-f]+)-(0x[0-9a-f]+) "
                      r"own=(0x[0-9a-f]+)-(0x[0-9a-f]+)", t)}
        for target in others + ["hypervisor"]:
            assert target in ranges, (vm, target)
            lo, hi, own_lo, own_hi = ranges[target]
            hows = ["ident"] + (["offset"] if hi > own_hi else [])
            for how in hows:
                for op in ("read", "write", "reread"):
                    d, verdict = r.get(("mem", f"{target}.{how}.{op}"),
                                       ("", ""))
                    assert verdict == "PASS", (vm, target, how, op, d)
                    gpa = int(re.search(r"gpa=(0x[0-9a-f]+)", d).group(1),
                              16)
                    hpa = int(re.search(r"hpa=(0x[0-9a-f]+)", d).group(1),
                              16)
                    # A frame of the target's, where it says.
                    assert lo <= hpa < hi, (vm, target, how, d)
                    assert gpa == (hpa if how == "ident"
                                   else hpa - own_lo), (vm, target, how, d)
        for name in ("pci_config", "pit_cmd.outb",
                     "pit_ch0.inb", "ps2_status.inb", "ps2_data.inb",
                     "ps2_cmd.outb"):
            assert r.get(("io", name), ("", ""))[1] == "PASS", (vm, name)
        for target in others:
            for kind in ("fixed", "nmi", "init", "sipi"):
                assert r.get(("ipi", f"{target}.{kind}"), ("", ""))[1] == \
                    "PASS", (vm, target, kind)
        msrs = [k for k, v in r.items() if k[0] == "msr" and v[1] == "PASS"]
        assert len(msrs) >= 3, (vm, r)
        # Each wrote a value other than the one it read, which did not
        # stick: the MSR still holds it (the TSC did not go back).
        for k in msrs:
            d = dict(x.split("=", 1) for x in r[k][0].split(",")
                     if "=" in x)
            assert d["wrote"] != d["val"], (vm, k, r[k])
            if k[1] != "tsc.wrmsr":
                assert d["now"] == d["val"], (vm, k, r[k])
            else:
                assert int(d["now"], 16) >= int(d["val"], 16), (vm, r[k])
        # The hypervisor's log names the VM for each kind of attempt.
        log = str(boot)
        for pattern in (r"refused port write 0x43 ",
                        r"refused port read 0x40 ",
                        r"refused port read 0x60 ",
                        r"refused WRMSR 0x2ff ",
                        r"refused INIT \(vector 0x0\) to APIC ID 0x0",
                        r"refused (read|write) of guest-physical memory "
                        r"outside this guest"):
            assert re.search(rf"devirt: \[{vm}\] {pattern}", log), \
                (vm, pattern)


# What devirt's log gives as the cause of the stop, for each way the
# boot config has a guest crash (tests/initramfs/init-guest): a panic
# reboots (panic=-1) through the keyboard controller, "triple" is one.
STOP_CAUSE = {
    "panic": "the guest asked for a reset",
    "triple": "triple fault (shutdown)",
}


def test_a_crash_stays_inside_the_guest(system, harness):
    """Judged on devirt's own log, not on what the crashing guest says:
    the stop line names the cause the boot config asked for, and every
    other VM printed DEVIRT-ALIVE lines that reached the harness after
    that line did."""
    boot, cfg, end = system
    assert end.crashers, "no guest is configured to crash"
    log = str(boot)
    for vm in end.crashers:
        kind = harness.read_cfg(cfg)[f"vm {vm}"]["cmdline"]
        kind = re.search(r"(?:^|\s)devirt_crash=(\w+)", kind).group(1)
        assert kind in STOP_CAUSE, (vm, kind)
        stops = re.findall(rf"devirt: \[{vm}\] VM stopped \((.*)\) after "
                           rf"\d+ exits; the hypervisor and the other VMs "
                           rf"keep running", log)
        assert len(stops) == 1, (vm, stops)
        assert stops[0] == STOP_CAUSE[kind], (vm, kind, stops[0])
        # When devirt logged the stop, on the harness's clock.
        t_stop = next((t for t, line in boot.com1_arrivals
                       if f"devirt: [{vm}] VM stopped" in line), None)
        assert t_stop is not None, vm
        # The driver VM went on: its DEVIRT-ALIVE lines after the stop.
        later = [line for t, line in boot.com1_arrivals if t > t_stop]
        assert len([x for x in later
                    if re.search(r"DEVIRT-ALIVE \d+", x)]) >= 2, later[-5:]
        # So did every other guest, and nothing more came from this one.
        for other in end.guests:
            tag = f"[{other}] "
            lines = [line for t, line in boot.arrivals
                     if t > t_stop and line.startswith(tag)]
            if other in end.crashers:
                assert not any("DEVIRT-ALIVE" in x for x in lines), other
                continue
            alive = [x for x in lines if "DEVIRT-ALIVE" in x]
            assert len(alive) >= 2, (other, lines[-5:])
    # No VM stopped that was not meant to, and devirt itself is fine.
    stopped = set(re.findall(r"devirt: \[(\w+)\] VM stopped", log))
    assert stopped == set(end.crashers), stopped
    assert "devirt: PANIC" not in log and "devirt: FATAL" not in log


def test_the_logs_keep_lines_whole(system):
    """devirt's log and the driver VM's console share COM1: neither may
    cut into a line of the other (the driver VM's THR writes exit, and
    devirt's lines wait for its newline). On COM2, once the loader has
    handed over (the firmware's console mirrors to it before), only
    tagged lines of user guests."""
    boot, _, end = system
    com1 = str(boot).replace("\r", "").splitlines()
    cut = [x for x in com1
           if re.search(r".devirt: |.\[\s*\d+\.\d{6}\] ", x)]
    assert not cut, cut[:5]
    assert sum(x.startswith("devirt: ") for x in com1) > 50
    tags = tuple(f"[{vm}] " for vm in end.guests)
    com2 = boot.guests.replace("\r", "").split(", entering it\n", 1)
    assert len(com2) == 2, "the loader's hand-over line is not on COM2"
    com2 = [x for x in com2[1].splitlines() if x]
    untagged = [x for x in com2 if not x.startswith(tags)]
    assert com2 and not untagged, untagged[:5]
