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

Environment overrides: DEVIRT_ISO, DEVIRT_CFG, DEVIRT_VMX_ISO,
DEVIRT_VMX_CFG, DEVIRT_QEMU_TIMEOUT, DEVIRT_BOCHS_TIMEOUT (seconds),
DEVIRT_BOCHS_MEGS, DEVIRT_BOCHS_CPU (CPU model, default tigerlake),
DEVIRT_BOCHS_CPUS (count, default 2), DEVIRT_VMX_KEYS (ScreenEnd).
"""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
LOG_DIR = BUILD / "test-logs"
ISO = Path(os.environ.get("DEVIRT_ISO", BUILD / "devirt.iso"))
CFG = Path(os.environ.get("DEVIRT_CFG", BUILD / "devirt.cfg"))
# The Intel back end boots fewer VMs (Bochs is slow): its own image.
VMX_ISO = Path(os.environ.get("DEVIRT_VMX_ISO", BUILD / "devirt-vmx.iso"))
VMX_CFG = Path(os.environ.get("DEVIRT_VMX_CFG", BUILD / "devirt-vmx.cfg"))
PAIR_ISO = BUILD / "devirt-pair.iso"
PAIR_CFG = BUILD / "devirt-pair.cfg"
HOTPLUG_ISO = BUILD / "devirt-hotplug.iso"
HOTPLUG_CFG = BUILD / "devirt-hotplug.cfg"

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


class SystemEnd:
    """End condition for a boot with user guests (boot config [vm] list).

    The boot is over once the driver VM printed DEVIRT-DRIVER-DONE, every
    user guest printed DEVIRT-GUEST-DONE, every guest started with
    devirt_crash= was reported stopped by the hypervisor, and after that
    the driver VM and every surviving guest printed at least two more
    DEVIRT-ALIVE lines; surviving guests also need min_alive of them (the
    clock-rate check uses their time stamps). It ends early, as a failure,
    when the hypervisor says a VM was not started or a VM stopped that
    was not meant to.
    """

    def __init__(self, cfg_path, min_alive=10):
        self.guests, self.crashers = [], []
        for name, sec in read_cfg(cfg_path).items():
            if not name.startswith("vm ") or sec.get("role") != "guest":
                continue
            vm = name[3:]
            self.guests.append(vm)
            if "devirt_crash=" in sec.get("cmdline", "") and \
                    "devirt_crash=none" not in sec.get("cmdline", ""):
                self.crashers.append(vm)
        self.min_alive = min_alive
        self.snapshot = None
        self.failure = None

    def __str__(self):
        return (f"driver done, guests {','.join(self.guests)} done, "
                f"crashed {','.join(self.crashers) or '-'}, alive after")

    @staticmethod
    def alive(text):
        return len(re.findall(r"DEVIRT-ALIVE \d+", text))

    def alive_counts(self, com1, com2):
        counts = {"driver": self.alive(com1)}
        for g in self.guests:
            if g not in self.crashers:
                counts[g] = self.alive("\n".join(guest_lines(com2, g)))
        return counts

    def done(self, com1, com2):
        m = re.search(r"devirt: \[(\w+)\] not started: .*", com1)
        if m:
            self.failure = m.group(0)
            return True
        for m in re.finditer(r"devirt: \[(\w+)\] VM stopped", com1):
            if m.group(1) not in self.crashers:
                self.failure = m.group(0)
                return True
        if END_MARKER not in com1:
            return False
        for g in self.guests:
            if "DEVIRT-GUEST-DONE" not in "\n".join(guest_lines(com2, g)):
                return False
        for g in self.crashers:
            if f"devirt: [{g}] VM stopped" not in com1:
                return False
        counts = self.alive_counts(com1, com2)
        if self.snapshot is None:
            self.snapshot = counts
        return all(counts[k] >= self.snapshot[k] + 2 for k in counts) and \
            all(counts[g] >= self.min_alive for g in counts if g != "driver")


def guest_lines(text, vm):
    """The console lines of user guest vm, tag removed, from the guest log."""
    tag = f"[{vm}] "
    return [line[len(tag):] for line in clean_log(text).splitlines()
            if line.startswith(tag)]


def run_until_marker(cmd, log_path, *, name, emulator, accel="",
                     end_marker=END_MARKER, fail_markers=FAIL_MARKERS,
                     timeout=QEMU_TIMEOUT, grace=1.0, cwd=None,
                     guest_log=None, env=None):
    """Start cmd, which writes the guest serial port to log_path, and wait.

    end_marker is a string to find in log_path, or an object with a
    done(com1_text, com2_text) method (SystemEnd). guest_log, if given, is
    the file of the second serial port, where devirt writes the user
    guests' consoles; the host time at which each of its lines arrived is
    recorded in BootResult.arrivals as (seconds since start, line), and
    those of log_path's lines (devirt's log, the driver VM's console) in
    BootResult.com1_arrivals.

    env: the emulator's environment (default: this process's).

    Returns a BootResult. The emulator is always stopped before returning;
    its own stdout/stderr go to <log_path>.emu.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for f in (log_path, guest_log):
        if f is not None and Path(f).exists():
            Path(f).unlink()
    emu_log = log_path.with_name(log_path.name + ".emu")
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed (tools/install-deps.sh)")
    _boots_this_test.append((name, log_path))
    if guest_log is not None:
        _boots_this_test.append((f"{name} guests", Path(guest_log)))
    marker = end_marker if isinstance(end_marker, str) else None
    cond = None if isinstance(end_marker, str) else end_marker

    start = time.monotonic()
    reason = "timeout"
    arrivals = []
    with open(emu_log, "wb") as emu_out:
        emu_out.write((" ".join(str(c) for c in cmd) + "\n").encode())
        emu_out.flush()
        proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL,
                                stdout=emu_out, stderr=subprocess.STDOUT,
                                cwd=cwd, env=env)
        markers = ([marker] if marker else []) + list(fail_markers)
        overlap = max((len(m.encode()) for m in markers), default=1)
        seen = b""
        gseen = b""
        gdone = 0
        sdone = 0
        com1_arrivals = []
        try:
            while time.monotonic() - start < timeout:
                # Search only what arrived since the last poll (plus enough
                # of the old text for a marker split across two polls).
                # One time for both ports' lines read in this round.
                now = time.monotonic() - start
                old_len = len(seen)
                try:
                    with open(log_path, "rb") as f:
                        f.seek(old_len)
                        seen += f.read()
                except FileNotFoundError:
                    pass
                end = seen.rfind(b"\n") + 1
                for line in seen[sdone:end].decode(
                        "utf-8", errors="replace").splitlines():
                    com1_arrivals.append((now, line.rstrip("\r")))
                sdone = max(sdone, end)
                if guest_log is not None:
                    try:
                        with open(guest_log, "rb") as f:
                            f.seek(len(gseen))
                            gseen += f.read()
                    except FileNotFoundError:
                        pass
                    end = gseen.rfind(b"\n") + 1
                    for line in gseen[gdone:end].decode(
                            "utf-8", errors="replace").splitlines():
                        arrivals.append((now, line.rstrip("\r")))
                    gdone = max(gdone, end)
                new = seen[max(0, old_len - overlap):].decode(
                    "utf-8", errors="replace")
                if marker and marker in new:
                    reason = "end"
                    break
                hit = next((m for m in fail_markers if m in new), None)
                if hit:
                    reason = f"fail: {hit}"
                    break
                if cond is not None and cond.done(
                        seen.decode("utf-8", errors="replace"),
                        gseen.decode("utf-8", errors="replace")):
                    reason = f"fail: {cond.failure}" if cond.failure \
                        else "end"
                    break
                rc = proc.poll()
                if rc is not None:
                    reason = f"exit {rc}"
                    break
                time.sleep(0.2 if cond is None else 0.1)
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
    guests = clean_log(_read_log(Path(guest_log))) if guest_log else ""
    if reason.startswith("exit"):
        # Markers that arrived in the last poll interval still count.
        if marker and marker in text:
            reason = "end"
        else:
            hit = next((m for m in fail_markers if m in text), None)
            if hit:
                reason = f"fail: {hit}"
    return BootResult(text, name=name, reason=reason, elapsed=elapsed,
                      log_path=log_path, emu_log=emu_log, emulator=emulator,
                      accel=accel, cmd=cmd, guests=guests,
                      guest_log_path=guest_log, arrivals=arrivals,
                      com1_arrivals=com1_arrivals,
                      end_condition=str(end_marker))


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
              smp=2, extra_args=(), cpu=None, tcg_thread="multi",
              display="none", monitor="none", audiodev="none", vgamem_mb=None):
    """Boot iso under QEMU + OVMF (q35). Returns a BootResult.

    The machine has a std VGA (bochs-drm; vgamem_mb sets its VRAM, QEMU's
    default 16 MiB when None), ich9-intel-hda with an hda-output codec
    whose audio back end is audiodev (QEMU -audiodev without the id, e.g.
    "wav,path=out.wav"), a PS/2 keyboard and mouse. display is QEMU's
    -display ("none", "gtk", "sdl"), monitor its -monitor (e.g.
    "unix:PATH,server=on,wait=off" for screendump and sendkey);
    extra_args go last.

    cpu, e.g. "max,-svm", replaces the CPU model ("host,..." under KVM).
    tcg_thread: "multi" (a host thread per vCPU) or "single" (one for
    all). Boots where two user guests forward device files at once need
    "single": multi-threaded QEMU 7.2 TCG then sometimes stores the host's
    state at a #VMEXIT of the driver VM (docs/devfile.md, Known problems).
    The machine has no network card: nothing leaves the emulator.
    """
    iso = Path(iso)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}.log"
    guest_log = LOG_DIR / f"{name}.guests.log"
    for fw in (OVMF_CODE, OVMF_VARS):
        if not fw.exists():
            pytest.skip(f"{fw} missing (apt-get install ovmf)")
    vars_copy = LOG_DIR / f"{name}.OVMF_VARS.fd"
    shutil.copyfile(OVMF_VARS, vars_copy)
    if kvm_usable(cpu_flag):
        accel = ["-accel", "kvm", "-cpu", "host"]
    else:
        accel = ["-accel", f"tcg,thread={tcg_thread}", "-cpu", "max"]
    if cpu:
        accel[3] = cpu.replace("max", accel[3], 1)
    cmd = ["qemu-system-x86_64", *accel, "-smp", str(smp),
           "-m", str(memory), "-machine", "q35",
           "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
           "-drive", f"if=pflash,format=raw,file={vars_copy}",
           "-cdrom", str(iso),
           "-vga", "std",
           *(["-global", f"VGA.vgamem_mb={vgamem_mb}"] if vgamem_mb else []),
           "-device", "ich9-intel-hda",
           "-device", "hda-output,audiodev=a0",
           "-audiodev", f"{audiodev.split(',')[0]},id=a0"
           + "".join("," + o for o in audiodev.split(",")[1:]),
           "-nic", "none",
           "-serial", f"file:{log_path}",
           "-serial", f"file:{guest_log}",
           "-display", display, "-no-reboot", "-monitor", monitor,
           *extra_args]
    return run_until_marker(cmd, log_path, name=name, emulator="qemu",
                            accel=" ".join(accel[1:4:2]),
                            end_marker=end_marker, fail_markers=fail_markers,
                            timeout=timeout, guest_log=guest_log)


def bochsrc_text(iso, serial_log, bochs_log, megs=BOCHS_MEGS, cpus=BOCHS_CPUS,
                 model=BOCHS_CPU, guest_log=None, display=None):
    # rfb panics on bochs-drm's 32 bpp modes; x (on an Xvfb) shows them.
    gui = "x" if display else 'rfb, options="timeout=0"'
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
com2: enabled=1, mode=file, dev="{guest_log or '/dev/null'}"
display_library: {gui}
mouse: enabled=0
log: "{bochs_log}"
panic: action=fatal
error: action=report
info: action=ignore
clock: sync=none, time0=local
"""


def boot_bochs(iso, *, name="vmx", end_marker=END_MARKER,
               fail_markers=FAIL_MARKERS, timeout=BOCHS_TIMEOUT,
               megs=BOCHS_MEGS, cpus=BOCHS_CPUS, model=BOCHS_CPU,
               display=None):
    """Boot iso under Bochs + OVMF (tigerlake, i440fx). Returns a BootResult.

    display: an X display (":N", an XServer's) for Bochs's x GUI; None:
    the headless rfb GUI, which panics when the guest sets a 32 bpp
    graphics mode.

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
    guest_log = (LOG_DIR / f"{name}.guests.log").resolve()
    rc_path = LOG_DIR / f"{name}.bochsrc"
    cont = LOG_DIR / f"{name}.bochs-cmds"
    rc_path.write_text(bochsrc_text(iso, log_path, bochs_log, megs, cpus,
                                    model, guest_log, display))
    # Debian's Bochs has the debugger built in and stops at the first
    # instruction; "c" continues.
    cont.write_text("c\n")
    cmd = ["bochs", "-q", "-f", str(rc_path), "-rc", str(cont)]
    return run_until_marker(cmd, log_path, name=name, emulator="bochs",
                            accel=f"{model} x{cpus}, {megs} MiB",
                            end_marker=end_marker, fail_markers=fail_markers,
                            timeout=timeout, cwd=LOG_DIR, guest_log=guest_log,
                            env=dict(os.environ, DISPLAY=display)
                            if display else None)


def boot_vmx(iso, *, name="vmx", **kw):
    """The Intel back end: QEMU KVM on a host with vmx, else Bochs."""
    if kvm_usable("vmx"):
        return boot_qemu(iso, name=name, cpu_flag="vmx", **kw)
    return boot_bochs(iso, name=name, **kw)


# ---- Bochs's screen and keyboard: an X server of its own ----------------

class XServer:
    """An Xvfb for Bochs's x GUI (context manager): the screen captured
    with xwd -root, keys typed with xdotool (XTEST) into Bochs's window.
    Xvfb picks a free display number itself (-displayfd)."""

    SIZE = "1280x1024x24"

    def __init__(self, log_path):
        self.log_path = Path(log_path)
        self.proc = None
        self.display = None

    def __enter__(self):
        for tool in ("Xvfb", "xwd", "xdotool"):
            if shutil.which(tool) is None:
                pytest.skip(f"{tool} not installed (make deps: xvfb, "
                            "x11-apps, xdotool)")
        rfd, wfd = os.pipe()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(wfd), "-screen", "0", self.SIZE,
                 "-nolisten", "tcp", "-noreset"],
                pass_fds=(wfd,), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        os.close(wfd)
        with os.fdopen(rfd) as f:
            num = f.readline().strip()  # once the server is ready
        if not num.isdigit():
            _stop(self.proc)
            raise RuntimeError(f"Xvfb did not start (see {self.log_path})")
        self.display = f":{num}"
        return self

    def __exit__(self, *exc):
        _stop(self.proc)

    def run(self, *args, timeout=30):
        """args run on this display (a CompletedProcess; rc -1 and
        "timeout" in stderr when it did not end within timeout)."""
        try:
            return subprocess.run(
                args, env=dict(os.environ, DISPLAY=self.display),
                capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, -1, "",
                                               f"{args[0]}: timeout")

    def shot(self, path):
        """The whole screen as an XWD file at path; True when written."""
        r = self.run("xwd", "-root", "-silent", "-out", str(path))
        return r.returncode == 0 and Path(path).stat().st_size > 100

    def type_keys(self, *keys, delay_ms=400):
        """Press and release each key (xdotool's names: "d", "Escape")
        in Bochs's window: pointer into it, input focus on it. The
        xdotool output, for the record."""
        wins = self.run("xdotool", "search", "--onlyvisible", "--name",
                        "Bochs").stdout.split()
        out = [f"windows {wins}"]
        if wins:
            out.append(self.run("xdotool", "mousemove", "--window", wins[0],
                                "200", "200").stderr)
            out.append(self.run("xdotool", "windowfocus",
                                wins[0]).stderr)
        out.append(self.run("xdotool", "key", "--delay", str(delay_ms),
                            *keys).stderr)
        return " | ".join(x.strip() for x in out if x.strip())


def read_xwd(path):
    """An XWD file (xwd -root: ZPixmap, 24/32 bits a pixel, TrueColor) as
    a numpy array of shape (height, width, 3), RGB. PIL cannot read XWD:
    a big-endian header of 25 CARD32 (its own size first), the window
    name, ncolors 12-byte colour entries, then bytes_per_line * height
    bytes of pixels, in the header's byte order, cut by its masks."""
    import numpy as np
    data = Path(path).read_bytes()
    hdr = np.frombuffer(data[:100], dtype=">u4")
    (header_size, _version, fmt, _depth, width, height, _xoff, byte_order,
     _unit, _bit_order, _pad, bpp, bpl, _vclass, rmask, gmask, bmask,
     _bits_rgb, _cmap_entries, ncolors) = (int(v) for v in hdr[:20])
    if fmt != 2 or bpp != 32:
        raise ValueError(f"{path}: format {fmt}, {bpp} bits a pixel: "
                         "only 32-bit ZPixmap is read")
    start = header_size + 12 * ncolors
    px = np.frombuffer(data[start:start + bpl * height],
                       dtype="<u4" if byte_order == 0 else ">u4")
    px = px.reshape(height, bpl // 4)[:, :width]
    out = np.empty((height, width, 3), dtype=np.uint8)
    for i, mask in enumerate((rmask, gmask, bmask)):
        shift = (mask & -mask).bit_length() - 1
        out[..., i] = (px & mask) >> shift
    return out


# modetest's default pattern (libdrm's util_fill_smpte), for a W x H
# mode: the top two thirds (rows < H * 6 / 9) are seven bars of 75%
# colour, bar i at the columns x with x * 7 / W == i; then to H * 7 / 9
# seven bars of the middle row.
SMPTE_TOP = ((192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0),
             (192, 0, 192), (192, 0, 0), (0, 0, 192))
SMPTE_MIDDLE = ((0, 0, 192), (19, 19, 19), (192, 0, 192), (19, 19, 19),
                (0, 192, 192), (19, 19, 19), (192, 192, 192))
# Per channel, for a display's colour conversion (Bochs's x GUI on a
# 24-bit Xvfb shows the 32 bpp mode's colours exactly).
SMPTE_TOLERANCE = 24


def find_smpte(img, width=1024, height=768, tol=SMPTE_TOLERANCE):
    """Where modetest's SMPTE pattern for a width x height mode is in img
    (a screen capture: the guest's picture lies somewhere in Bochs's
    window): (x, y) of its top-left corner, or None. Found by the first
    row that has the seven top bars side by side at their widths (two
    pixels' slack each), then checked: every bar's colour at its centre
    column on ten rows across the top two thirds, and the middle row's
    seven bars, all within tol per channel."""
    import numpy as np
    img = img.astype(np.int16)
    h, w, _ = img.shape
    near = lambda px, c: bool(np.all(np.abs(px - np.array(c)) <= tol))  # noqa: E731
    bar_w = width / 7
    grey = np.all(np.abs(img - np.array(SMPTE_TOP[0])) <= tol, axis=2)
    for y in range(h):
        xs = np.flatnonzero(grey[y])
        if not len(xs):
            continue
        # Runs of the first bar's grey that are one bar wide.
        starts = xs[np.r_[True, np.diff(xs) > 1]]
        for x0 in starts:
            x0 = int(x0)
            if x0 + width > w or y + height > h:
                continue
            if not all(near(img[y, x0 + int((i + 0.5) * bar_w)], c)
                       for i, c in enumerate(SMPTE_TOP)):
                continue
            # Each bar's edges where the pattern puts them.
            edges_ok = all(
                near(img[y, x0 + -(-i * width // 7) + d], SMPTE_TOP[i])
                and near(img[y, x0 + -(-(i + 1) * width // 7) - 1 - d],
                         SMPTE_TOP[i])
                for i in range(7) for d in (2,))
            if not edges_ok:
                continue
            top_rows = [y + (height * 6 // 9 - 1) * k // 9 for k in range(10)]
            mid_y = y + (height * 6 // 9 + height * 7 // 9) // 2
            if all(near(img[yy, x0 + int((i + 0.5) * bar_w)], c)
                   for yy in top_rows for i, c in enumerate(SMPTE_TOP)) and \
                    all(near(img[mid_y, x0 + int((i + 0.5) * bar_w)], c)
                        for i, c in enumerate(SMPTE_MIDDLE)):
                return x0, y
    return None


class ScreenEnd:
    """A boot's end condition (inner, e.g. SystemEnd) that also drives the
    real-device probes of tests/initramfs/probes.sh (run_small_probes) in
    the driver VM (its console, com1) and in user guest g1: on
    "DEVIRT-SHOT modeset" it captures the screen (xwd) until modetest's
    pattern is found or `tries` captures a second apart did not show it;
    on "DEVIRT-INPUT-READY" it types KEYS into Bochs's window, then Escape,
    which ends the probe's mode set. Results per side ("native", "g1"):
    shots[side] (the last capture's path), found[side] (find_smpte's
    answer), keys_sent[side] (xdotool's record)."""

    # DEVIRT_VMX_KEYS (xdotool key names, space separated) replaces them,
    # to see the input test fail ("" types Escape alone).
    KEYS = tuple(os.environ.get("DEVIRT_VMX_KEYS", "d e v i r t").split())

    def __init__(self, inner, xserver, out, tries=15, keys=KEYS):
        self.inner = inner
        self.x = xserver
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        for old in self.out.glob("*.xwd"):
            old.unlink()
        self.tries = tries
        self.keys = keys
        self.shots, self.found, self.keys_sent = {}, {}, {}
        self.failure = None

    def __str__(self):
        return f"{self.inner} (screen captures and keys on the probes' markers)"

    def _shoot(self, side):
        self.found[side] = None
        for i in range(self.tries):
            time.sleep(1)
            path = self.out / f"{side}-modeset-{i}.xwd"
            if not self.x.shot(path):
                continue
            self.shots[side] = path
            self.found[side] = find_smpte(read_xwd(path))
            if self.found[side]:
                return

    def done(self, com1, com2):
        g1 = "\n".join(guest_lines(com2, "g1"))
        for side, text in (("native", com1), ("g1", g1)):
            if side not in self.shots and "DEVIRT-SHOT modeset" in text:
                self.shots[side] = None
                self._shoot(side)
            if side not in self.keys_sent and "DEVIRT-INPUT-READY" in text:
                self.keys_sent[side] = self.x.type_keys(*self.keys, "Escape")
        end = self.inner.done(com1, com2)
        self.failure = self.inner.failure
        return end


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


# ---- direct kernel boots and the device-file suite -----------------------

def boot_kernel(initrd, append, *, name, end_marker=END_MARKER, timeout=300):
    """The stock kernel straight into initrd under QEMU TCG, no firmware
    and no hypervisor (the devfile native and loopback boots)."""
    initrd = Path(initrd)
    if not initrd.exists():
        pytest.skip(f"{initrd} missing: build it first (make)")
    try:
        vmlinuz = read_kernel_mk()["VMLINUZ"]
    except (FileNotFoundError, KeyError) as e:
        pytest.skip(f"no kernel: {e}")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max",
           "-machine", "q35", "-smp", "2", "-m", "1024",
           "-kernel", vmlinuz, "-initrd", str(initrd),
           "-append", append,
           "-nic", "none", "-display", "none", "-monitor", "none",
           "-serial", f"file:{log}", "-no-reboot"]
    return run_until_marker(cmd, log, name=name, emulator="qemu",
                            accel="tcg", end_marker=end_marker,
                            timeout=timeout)


# The device-file suite's tests, in its order (tests/guest/devfile_suite.c).
DEVFILE_SUITE_TESTS = (
    "open", "rw", "llseek", "ioctl", "nested", "peek", "errors", "poll",
    "fasync", "mmap_ram_fault", "mmap_ram_upfront", "mmap_mmio_upfront",
    "mmap_mmio_fault", "revoke", "threads", "lifecycle",
)
_SUITE_LINE_RE = re.compile(
    r"DEVFILE-TEST (\S+) (\S+) (PASS|FAIL|SKIP) ?(.*)$", re.MULTILINE)


def devfile_suite_lines(text):
    """[(test, check, status, detail)] of devfile_suite's DEVFILE-TEST lines."""
    return [m.groups() for m in _SUITE_LINE_RE.finditer(text.replace("\r", ""))]


def assert_devfile_suite_test(text, test, where):
    """test printed a PASS summary whose checks= matches its check lines."""
    lines = [line for line in devfile_suite_lines(text) if line[0] == test]
    summary = [line for line in lines if line[1] == "summary"]
    assert summary, f"test {test} printed no summary line ({where})"
    assert summary[-1][2] == "PASS", " ".join(summary[-1])
    checks = [line for line in lines if line[1] != "summary"]
    n = int(re.search(r"checks=(\d+)", summary[-1][3]).group(1))
    assert len(checks) == n, (
        f"{test}: {len(checks)} check lines, summary says {n}: a line was "
        "lost or cut")


def build_image(iso, cfg):
    """An ISO like build/devirt.iso with boot config cfg (tools/mkimage.sh)."""
    km = read_kernel_mk()
    subprocess.run([str(REPO / "tools/mkimage.sh"), str(iso), str(cfg),
                    f"{BUILD / 'BOOTX64.EFI'}=EFI/BOOT/BOOTX64.EFI",
                    f"{BUILD / 'vmm.elf'}=EFI/devirt/vmm.elf",
                    f"{km['VMLINUZ']}=EFI/devirt/vmlinuz",
                    f"{BUILD / 'initrd-driver.gz'}="
                    "EFI/devirt/initrd-driver.gz",
                    f"{BUILD / 'initrd-guest.gz'}="
                    "EFI/devirt/initrd-guest.gz"],
                   check=True, capture_output=True)
    return iso


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
    """build/devirt.iso booted once under QEMU (AMD SVM back end): the
    driver VM and the user guests of build/devirt.cfg, one CPU each."""
    _need_iso()
    boot = boot_qemu(ISO, name="svm", smp=1 + len(SystemEnd(CFG).guests),
                     end_marker=SystemEnd(CFG))
    # The VT-x boot from now on, beside the rest (_BackgroundBoot).
    if _vmx_background.wanted:
        _vmx_background.start()
    return boot


@pytest.fixture(scope="session")
def pair_boot():
    """build/devirt-pair.iso under QEMU (AMD SVM back end): two user guests
    forwarding device files at once (boot/devirt-pair.cfg). Single-threaded
    TCG: the multi-threaded one loses a #VMEXIT of the driver VM under
    this load (docs/devfile.md, Limits)."""
    if not PAIR_ISO.exists():
        pytest.skip(f"{PAIR_ISO} missing: build the image first (make)")
    return boot_qemu(PAIR_ISO, name="pair",
                     smp=1 + len(SystemEnd(PAIR_CFG).guests),
                     end_marker=SystemEnd(PAIR_CFG, min_alive=2),
                     tcg_thread="single")


@pytest.fixture(scope="session")
def hotplug_boot():
    """build/devirt-hotplug.iso under QEMU (AMD SVM back end): exports that
    come after a guest's stub, go while a file is open, and come back
    (boot/devirt-hotplug.cfg)."""
    if not HOTPLUG_ISO.exists():
        pytest.skip(f"{HOTPLUG_ISO} missing: build the image first (make)")
    return boot_qemu(HOTPLUG_ISO, name="hotplug",
                     smp=1 + len(SystemEnd(HOTPLUG_CFG).guests),
                     end_marker=SystemEnd(HOTPLUG_CFG, min_alive=2))


def _boot_vmx_now():
    """build/devirt-vmx.iso booted under Bochs (Intel VMX back end): the
    driver VM and the user guest of build/devirt-vmx.cfg. Bochs shows
    its screen on an Xvfb of its own (XServer): the real-device probes
    set a 32 bpp mode, which Bochs's headless rfb GUI cannot show.
    ScreenEnd captures that screen and types into it on the probes'
    markers; the BootResult's screen attribute holds what it did (None
    under QEMU KVM on a vmx host)."""
    if not VMX_ISO.exists():
        pytest.skip(f"{VMX_ISO} missing: build the image first (make)")
    if kvm_usable("vmx"):
        boot = boot_vmx(VMX_ISO, name="vmx", end_marker=SystemEnd(VMX_CFG))
        boot.screen = None
        return boot
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with XServer(LOG_DIR / "vmx.xvfb.log") as x:
        end = ScreenEnd(SystemEnd(VMX_CFG), x, LOG_DIR / "vmx-screen")
        boot = boot_bochs(VMX_ISO, name="vmx", end_marker=end,
                          display=x.display)
    boot.screen = end
    return boot


class _BackgroundBoot:
    """A boot run in a thread of its own, so that it overlaps the others.

    Bochs (the VT-x boot, about 8 minutes) is one host thread; the QEMU
    boots after the AMD-V one are single-threaded TCG or short, so on two
    cores the two emulators each get one. Started once the svm boot is
    over (its multi-threaded TCG wants both cores), or when a test first
    needs it; tests that need it run last (pytest_collection_modifyitems).
    An exception in the thread (a skip, a failure) is raised again in the
    fixture."""

    def __init__(self, fn):
        self.fn = fn
        self.thread = None
        self.result = None
        self.exc = None
        self.wanted = False

    def _run(self):
        try:
            self.result = self.fn()
        except BaseException as e:  # noqa: B902 (a skip is one)
            self.exc = e

    def start(self):
        if self.thread is None:
            self.thread = threading.Thread(target=self._run,
                                           name="vmx-boot", daemon=True)
            self.thread.start()

    def get(self):
        self.start()
        self.thread.join()
        if self.exc is not None:
            raise self.exc
        return self.result


_vmx_background = _BackgroundBoot(_boot_vmx_now)


def _uses_vmx(item):
    return "vmx_boot" in item.fixturenames or "[vmx" in item.nodeid or \
        item.nodeid.split("::")[0].endswith("test_vmx_real_devices.py")


def pytest_collection_modifyitems(session, config, items):
    """The tests of the VT-x boot go last (a stable sort), so that its
    boot can run beside the other boots (_BackgroundBoot)."""
    items.sort(key=_uses_vmx)
    _vmx_background.wanted = any(_uses_vmx(i) for i in items)


@pytest.fixture(scope="session")
def vmx_boot():
    """build/devirt-vmx.iso booted once under Bochs (see _boot_vmx_now),
    in the background from the end of the svm boot on."""
    return _vmx_background.get()


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
