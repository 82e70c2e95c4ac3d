# SPDX-License-Identifier: GPL-2.0
"""pytest harness for devirt system tests.

Boots a devirt ISO in a full-system emulator and hands the serial log to
the tests:

* boot_qemu(): QEMU + OVMF, for the AMD (SVM/NPT) back end. TCG with
  ``-cpu max`` unless /dev/kvm is usable and the host CPU shows svm (then
  ``-accel kvm -cpu host``).
* boot_bochs(): Bochs 2.7 + OVMF with a tigerlake CPU, for the Intel
  (VMX/EPT) back end.
* boot_vmx(): QEMU KVM when the host shows vmx and /dev/kvm works, else
  Bochs.

Each helper waits until the serial log contains the end marker (default
DEVIRT-DRIVER-DONE), one of the failure markers, the emulator exits or the
timeout passes; then it stops the emulator and returns a BootResult, a str
holding the log text with attributes reason, log_path, elapsed, emulator...

Session fixtures svm_boot and vmx_boot boot build/devirt.iso once per
session. Logs go to build/test-logs/. When a test fails, the last 80 lines
of every VM log it used are added to its report.

Environment overrides: DEVIRT_ISO, DEVIRT_CFG, DEVIRT_QEMU_TIMEOUT,
DEVIRT_BOCHS_TIMEOUT (seconds), DEVIRT_BOCHS_MEGS, DEVIRT_BOCHS_CPU (CPU
model, default tigerlake), DEVIRT_BOCHS_CPUS (count, default 2).
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
LOG_DIR = BUILD / "test-logs"
ISO = Path(os.environ.get("DEVIRT_ISO", BUILD / "devirt.iso"))
CFG = Path(os.environ.get("DEVIRT_CFG", BUILD / "devirt.cfg"))

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS.fd")
OVMF_BOCHS = Path("/usr/share/ovmf/OVMF.fd")
VGABIOS = Path("/usr/share/vgabios/vgabios.bin")

END_MARKER = "DEVIRT-DRIVER-DONE"
# Any of these in the serial log ends the boot early as a failure.
FAIL_MARKERS = (
    "Kernel panic - not syncing",
    "devirt: panic",
    "devirt: PANIC",
    "devirt: fatal",
    "devirt: FATAL",
)

QEMU_TIMEOUT = float(os.environ.get("DEVIRT_QEMU_TIMEOUT", 600))
BOCHS_TIMEOUT = float(os.environ.get("DEVIRT_BOCHS_TIMEOUT", 900))
BOCHS_MEGS = int(os.environ.get("DEVIRT_BOCHS_MEGS", 2048))
# The CPU model the issue names. Bochs 2.7's tigerlake hangs the stock
# Debian kernel when booted bare; under devirt the driver VM boots because
# devirt's CPUID hides the features involved (vmm/vm/cpuid.c).
BOCHS_CPU = os.environ.get("DEVIRT_BOCHS_CPU", "tigerlake")
BOCHS_CPUS = int(os.environ.get("DEVIRT_BOCHS_CPUS", 2))

# PCI IDs of the emulated devices the driver VM must see (vendor:device).
PCI_VGA = "1234:1111"  # Bochs/QEMU VGA with VBE (bochs-drm)
PCI_SOUND = {
    "qemu": "8086:293e",  # ich9-intel-hda
    "bochs": "1274:5000",  # Ensoniq ES1370
}

TAIL_LINES = 80

# Logs of the boots started during the current test (setup included).
_boots_this_test = []


class BootResult(str):
    """The serial log text of one boot, with what ended it.

    The text has terminal escapes removed and LF line ends; the file
    at log_path is the raw serial output.

    reason is "end" (end marker seen), "fail: <marker>", "timeout" or
    "exit <rc>" (the emulator quit by itself before any marker).
    """

    def __new__(cls, text, **attrs):
        obj = super().__new__(cls, text)
        obj.__dict__.update(attrs)
        return obj

    def __repr__(self):
        return f"<BootResult {self.describe()}>"

    @property
    def text(self):
        return str(self)

    @property
    def ok(self):
        return self.reason == "end"

    def describe(self):
        return (f"{self.name}: {self.emulator} ({self.accel}) ended by "
                f"{self.reason} after {self.elapsed:.1f}s; log {self.log_path}")

    def tail(self, n=TAIL_LINES):
        return "\n".join(self.splitlines()[-n:])


_ANSI_RE = re.compile(r"\x1b(\[[0-9;=?]*[A-Za-z]|[()][A-Za-z0-9]|[A-Za-z=>])")


def clean_log(text):
    """Drop terminal escapes (OVMF's console) and CRs from serial text."""
    return _ANSI_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def _read_log(path):
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _stop(proc):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def run_until_marker(cmd, log_path, *, name, emulator, accel="",
                     end_marker=END_MARKER, fail_markers=FAIL_MARKERS,
                     timeout=QEMU_TIMEOUT, grace=1.0, cwd=None):
    """Start cmd, which writes the guest serial port to log_path, and wait.

    Returns a BootResult. The emulator is always stopped before returning;
    its own stdout/stderr go to <log_path>.emu.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if log_path.exists():
        log_path.unlink()
    emu_log = log_path.with_name(log_path.name + ".emu")
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed (tools/install-deps.sh)")
    _boots_this_test.append((name, log_path))

    start = time.monotonic()
    reason = "timeout"
    with open(emu_log, "wb") as emu_out:
        emu_out.write((" ".join(str(c) for c in cmd) + "\n").encode())
        emu_out.flush()
        proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL,
                                stdout=emu_out, stderr=subprocess.STDOUT,
                                cwd=cwd)
        markers = ([end_marker] if end_marker else []) + list(fail_markers)
        overlap = max((len(m.encode()) for m in markers), default=1)
        seen = b""
        try:
            while time.monotonic() - start < timeout:
                # Search only what arrived since the last poll (plus enough
                # of the old text for a marker split across two polls).
                old_len = len(seen)
                try:
                    with open(log_path, "rb") as f:
                        f.seek(old_len)
                        seen += f.read()
                except FileNotFoundError:
                    pass
                new = seen[max(0, old_len - overlap):].decode(
                    "utf-8", errors="replace")
                if end_marker and end_marker in new:
                    reason = "end"
                    break
                hit = next((m for m in fail_markers if m in new), None)
                if hit:
                    reason = f"fail: {hit}"
                    break
                rc = proc.poll()
                if rc is not None:
                    reason = f"exit {rc}"
                    break
                time.sleep(0.2)
            if reason != "timeout" and not reason.startswith("exit"):
                # Let the last lines (a panic trace, the power-off) arrive.
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            _stop(proc)
    elapsed = time.monotonic() - start
    text = clean_log(_read_log(log_path))
    if reason.startswith("exit"):
        # Markers that arrived in the last poll interval still count.
        if end_marker and end_marker in text:
            reason = "end"
        else:
            hit = next((m for m in fail_markers if m in text), None)
            if hit:
                reason = f"fail: {hit}"
    return BootResult(text, name=name, reason=reason, elapsed=elapsed,
                      log_path=log_path, emu_log=emu_log, emulator=emulator,
                      accel=accel, cmd=cmd)


def _host_cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def kvm_usable(flag):
    """True when /dev/kvm opens read-write and the host CPU shows flag."""
    if flag not in _host_cpu_flags():
        return False
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def boot_qemu(iso, *, name="svm", cpu_flag="svm", end_marker=END_MARKER,
              fail_markers=FAIL_MARKERS, timeout=QEMU_TIMEOUT, memory=2048,
              smp=2, extra_args=(), cpu=None):
    """Boot iso under QEMU + OVMF (q35). Returns a BootResult.

    cpu, e.g. "max,-svm", replaces the CPU model ("host,..." under KVM).
    The machine has no network card: nothing leaves the emulator.
    """
    iso = Path(iso)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}.log"
    for fw in (OVMF_CODE, OVMF_VARS):
        if not fw.exists():
            pytest.skip(f"{fw} missing (apt-get install ovmf)")
    vars_copy = LOG_DIR / f"{name}.OVMF_VARS.fd"
    shutil.copyfile(OVMF_VARS, vars_copy)
    if kvm_usable(cpu_flag):
        accel = ["-accel", "kvm", "-cpu", "host"]
    else:
        accel = ["-accel", "tcg", "-cpu", "max"]
    if cpu:
        accel[3] = cpu.replace("max", accel[3], 1)
    cmd = ["qemu-system-x86_64", *accel, "-smp", str(smp),
           "-m", str(memory), "-machine", "q35",
           "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
           "-drive", f"if=pflash,format=raw,file={vars_copy}",
           "-cdrom", str(iso),
           "-vga", "std",
           "-device", "ich9-intel-hda",
           "-device", "hda-output,audiodev=a0", "-audiodev", "none,id=a0",
           "-nic", "none",
           "-serial", f"file:{log_path}",
           "-display", "none", "-no-reboot", "-monitor", "none",
           *extra_args]
    return run_until_marker(cmd, log_path, name=name, emulator="qemu",
                            accel=" ".join(accel[1:4:2]),
                            end_marker=end_marker, fail_markers=fail_markers,
                            timeout=timeout)


def bochsrc_text(iso, serial_log, bochs_log, megs=BOCHS_MEGS, cpus=BOCHS_CPUS,
                 model=BOCHS_CPU):
    return f"""\
# Generated by tests/conftest.py
megs: {megs}
cpu: model={model}, count={cpus}, ips=200000000
romimage: file={OVMF_BOCHS}, address=0xffe00000
vgaromimage: file={VGABIOS}
vga: extension=vbe
pci: enabled=1, chipset=i440fx, slot1=pcivga, slot2=es1370
sound: driver=dummy
es1370: enabled=1, wavemode=1
ata0-master: type=cdrom, path="{iso}", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev="{serial_log}"
display_library: rfb, options="timeout=0"
mouse: enabled=0
log: "{bochs_log}"
panic: action=fatal
error: action=report
info: action=ignore
clock: sync=none, time0=local
"""


def boot_bochs(iso, *, name="vmx", end_marker=END_MARKER,
               fail_markers=FAIL_MARKERS, timeout=BOCHS_TIMEOUT,
               megs=BOCHS_MEGS, cpus=BOCHS_CPUS, model=BOCHS_CPU):
    """Boot iso under Bochs + OVMF (tigerlake, i440fx). Returns a BootResult.

    Bochs does not exit on power-off under OVMF, so it is always killed
    once a marker shows up.
    """
    iso = Path(iso).resolve()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for f in (OVMF_BOCHS, VGABIOS):
        if not f.exists():
            pytest.skip(f"{f} missing (apt-get install ovmf vgabios)")
    log_path = (LOG_DIR / f"{name}.log").resolve()
    bochs_log = (LOG_DIR / f"{name}.bochs.log").resolve()
    rc_path = LOG_DIR / f"{name}.bochsrc"
    cont = LOG_DIR / f"{name}.bochs-cmds"
    rc_path.write_text(bochsrc_text(iso, log_path, bochs_log, megs, cpus,
                                    model))
    # Debian's Bochs has the debugger built in and stops at the first
    # instruction; "c" continues.
    cont.write_text("c\n")
    cmd = ["bochs", "-q", "-f", str(rc_path), "-rc", str(cont)]
    return run_until_marker(cmd, log_path, name=name, emulator="bochs",
                            accel=f"{model} x{cpus}, {megs} MiB",
                            end_marker=end_marker, fail_markers=fail_markers,
                            timeout=timeout, cwd=LOG_DIR)


def boot_vmx(iso, *, name="vmx", **kw):
    """The Intel back end: QEMU KVM on a host with vmx, else Bochs."""
    if kvm_usable("vmx"):
        return boot_qemu(iso, name=name, cpu_flag="vmx", **kw)
    return boot_bochs(iso, name=name, **kw)


# ---- parsing helpers for the tests -------------------------------------

_CHECK_RE = re.compile(r"DEVIRT-CHECK ([A-Za-z0-9_]+)=([^\r\n]*)")
_RESULT_RE = re.compile(
    r"devirt-test: (\S+) (\S+) (\S+) (PASS|FAIL)\s*$", re.MULTILINE)
_DONE_RE = re.compile(r"devirt-test: done failures=(\d+)")


def parse_checks(text):
    """{key: value} of the driver VM's DEVIRT-CHECK lines (last one wins)."""
    return {k: v.strip() for k, v in _CHECK_RE.findall(text)}


def parse_module_results(text):
    """[(test, name, value, "PASS"|"FAIL")] from the devirt_test module."""
    return _RESULT_RE.findall(text.replace("\r", ""))


def module_failures(text):
    """The N of the last 'devirt-test: done failures=N', or None."""
    found = _DONE_RE.findall(text)
    return int(found[-1]) if found else None


_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_size(value):
    """'512M' -> 536870912. Suffixes K, M, G, T (powers of 1024)."""
    m = _SIZE_RE.match(value)
    if not m:
        raise ValueError(f"bad size '{value}'")
    shift = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2).upper()]
    return int(m.group(1)) << shift


def read_cfg(path=CFG):
    """Parse a devirt.cfg into {section: {key: value}} (keys lower case).

    Sections are "[name]" lines (for example "[vm driver]"); entries are
    "key = value" or "key value"; lines starting with '#' or ';' are
    comments (the loader's parser, boot/config.c, has the same rules).
    """
    sections = {}
    cur = sections.setdefault("", {})
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            name = " ".join(line[1:-1].split()).lower()
            cur = sections.setdefault(name, {})
            continue
        if "=" in line:
            key, val = line.split("=", 1)
        else:
            key, _, val = line.partition(" ")
        cur[key.strip().lower()] = val.strip().strip('"')
    return sections


def cfg_vm_memory(vm="driver", path=CFG):
    """Bytes of memory configured for "[vm <vm>]" in the cfg file."""
    sections = read_cfg(path)
    sec = sections.get(f"vm {vm}")
    if sec is None or "memory" not in sec:
        raise KeyError(f"{path}: no 'memory' in section [vm {vm}]")
    return parse_size(sec["memory"])


def read_kernel_mk(path=BUILD / "cache" / "kernel.mk"):
    """{KABI, VMLINUZ, KMODROOT, KHDR} from tools/fetch-kernel.sh's output."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} missing: run tools/fetch-kernel.sh {path.parent}")
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:?=\s*(.*?)\s*$", line)
        if m and not line.lstrip().startswith("#"):
            out[m.group(1)] = m.group(2)
    return out


# ---- fixtures and hooks -------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "vmx: needs the Intel VMX back end "
                            "(Bochs, or QEMU KVM on a vmx host)")
    config.addinivalue_line("markers", "slow: takes minutes (Bochs)")


def _need_iso():
    if not ISO.exists():
        pytest.skip(f"{ISO} missing: build the image first (make)")


@pytest.fixture(scope="session")
def harness():
    """This module: boot helpers, parsers and constants for the tests.

    Tests use it instead of "import conftest", which is ambiguous once
    another directory under tests/ has a conftest.py of its own.
    """
    return sys.modules[__name__]


@pytest.fixture(scope="session")
def devirt_iso():
    _need_iso()
    return ISO


@pytest.fixture(scope="session")
def svm_boot():
    """build/devirt.iso booted once under QEMU (AMD SVM back end)."""
    _need_iso()
    return boot_qemu(ISO, name="svm")


@pytest.fixture(scope="session")
def vmx_boot():
    """build/devirt.iso booted once under Bochs (Intel VMX back end)."""
    _need_iso()
    return boot_vmx(ISO, name="vmx")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _boots_this_test.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    logs = {}
    for val in getattr(item, "funcargs", {}).values():
        vals = val if isinstance(val, (tuple, list)) else (val,)
        for v in vals:
            if isinstance(v, BootResult):
                logs[str(v.log_path)] = (v.name, v.log_path)
    for name, path in _boots_this_test:
        logs[str(path)] = (name, path)
    for name, path in logs.values():
        lines = clean_log(_read_log(Path(path))).splitlines()
        tail = "\n".join(lines[-TAIL_LINES:]) or "(empty)"
        rep.sections.append(
            (f"VM log {name}: last {TAIL_LINES} lines of {path}", tail))
