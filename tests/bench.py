#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: boot-time and memory benchmarks, written to docs/results/.

Two images with the same loader, firmware, kernel, initramfs and command
line, both built here from build/devirt.cfg without its user guests (so
that the driver VM boots alone, with the serial port to itself): one that
starts the driver VM under devirt, and one whose config says
`boot = bare`, where the loader starts the kernel directly through its
EFI stub (limited to the driver VM's memory and one CPU). In
both, the time runs from the loader's last line before it hands off
("entering ...") to the driver's /init ("DEVIRT-INIT-START"), on the host
clock as the serial lines appear. Both boot in the same emulator in this
run; the ratio is what counts, not TCG's absolute seconds.

DEVIRT_BENCH_RUNS (default 3) sets the runs per image; DEVIRT_BENCH_VMX=1
also measures the VMX back end under Bochs (several minutes per boot).
The other half of `make bench`, a user guest against the driver VM, is
tests/bench_guests.py.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest  # noqa: E402
from bench_guests import host_info  # noqa: E402

REPO = conftest.REPO
BUILD = conftest.BUILD
RESULTS = REPO / "docs" / "results"
OUT = BUILD / "bench"
RUNS = int(os.environ.get("DEVIRT_BENCH_RUNS", "3"))
START = "devirt: boot = bare, entering", "devirt: backend "
KERNEL = "Linux version"
INIT = "DEVIRT-INIT-START"


def driver_cfg():
    """build/devirt.cfg without its user guests ([vm ...] sections other
    than the driver VM's). With guests, their consoles would share this
    benchmark's one serial port with the driver VM's (cutting its marker
    lines apart) and their boots the host's cores; the user-guest
    comparison is tests/bench_guests.py."""
    out, keep = ["# build/devirt.cfg without its user guests "
                 "(tests/bench.py)"], True
    for line in (BUILD / "devirt.cfg").read_text().splitlines():
        s = line.strip()
        if s.startswith(("#", ";")):
            continue
        if s.startswith("[") and s.endswith("]"):
            name = " ".join(s[1:-1].split()).lower()
            keep = not name.startswith("vm ") or name == "vm driver"
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


def make_iso(name, cfg):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.cfg").write_text(cfg)
    km = conftest.read_kernel_mk()
    subprocess.run([str(REPO / "tools/mkimage.sh"), str(OUT / f"{name}.iso"),
                    str(OUT / f"{name}.cfg"),
                    f"{BUILD / 'BOOTX64.EFI'}=EFI/BOOT/BOOTX64.EFI",
                    f"{BUILD / 'vmm.elf'}=EFI/devirt/vmm.elf",
                    f"{km['VMLINUZ']}=EFI/devirt/vmlinuz",
                    f"{BUILD / 'initrd-driver.gz'}="
                    "EFI/devirt/initrd-driver.gz"],
                   check=True, capture_output=True)
    return OUT / f"{name}.iso"


def devirt_iso():
    return make_iso("devirt", driver_cfg())


def bare_iso():
    mem = conftest.cfg_vm_memory("driver", BUILD / "devirt.cfg")
    cfg = re.sub(r"^(\s*cmdline\s*=.*)$",
                 rf"\1 devirt_tests=none nr_cpus=1 mem={mem >> 20}M",
                 driver_cfg(), count=1, flags=re.M)
    return make_iso("bare", "boot = bare\n" + cfg)


def qemu_cmd(iso, log):
    vars_copy = OUT / "OVMF_VARS.fd"
    shutil.copyfile(conftest.OVMF_VARS, vars_copy)
    if conftest.kvm_usable("svm"):
        acc = ["-accel", "kvm", "-cpu", "host"]
    else:
        acc = ["-accel", "tcg", "-cpu", "max"]
    return ["qemu-system-x86_64", *acc, "-smp", "2", "-m", "2048",
            "-machine", "q35", "-nic", "none",
            "-drive", f"if=pflash,format=raw,readonly=on,"
                      f"file={conftest.OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,file={vars_copy}",
            "-cdrom", str(iso), "-vga", "std", "-serial", f"file:{log}",
            "-display", "none", "-no-reboot", "-monitor", "none"], acc[1]


# The bare baseline hangs on Bochs' tigerlake model (see conftest.py), so
# both images run on the Skylake-X model here.
BENCH_BOCHS_CPU = os.environ.get("DEVIRT_BENCH_BOCHS_CPU", "corei7_skylake_x")


def bochs_cmd(iso, log):
    rc = OUT / "bochsrc"
    rc.write_text(conftest.bochsrc_text(iso.resolve(), log.resolve(),
                                        (OUT / "bochs.log").resolve(),
                                        model=BENCH_BOCHS_CPU))
    (OUT / "bochs-cmds").write_text("c\n")
    return ["bochs", "-q", "-f", str(rc), "-rc",
            str(OUT / "bochs-cmds")], f"bochs {BENCH_BOCHS_CPU}"


def timed_boot(make_cmd, iso, timeout):
    """Boot; (seconds from hand-off to /init, from the kernel's first
    line to /init, serial log text)."""
    log = OUT / "serial.log"
    if log.exists():
        log.unlink()
    cmd, _ = make_cmd(iso, log)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, cwd=OUT)
    t0 = t1 = tk = None
    deadline = time.monotonic() + timeout
    text = ""
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            text = log.read_text(errors="replace") if log.exists() else ""
            now = time.monotonic()
            if t0 is None and any(s in text for s in START):
                t0 = now
            if tk is None and KERNEL in text:
                tk = now
            if t0 is not None and INIT in text:
                t1 = now
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    if t0 is None or t1 is None or tk is None:
        sys.stderr.write(text[-3000:])
        raise SystemExit(f"bench: no hand-off or no /init in {iso.name}")
    return t1 - t0, t1 - tk, text


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def measure(backend, make_cmd, devirt, bare, timeout, runs=RUNS):
    res = {"devirt": [], "bare": [], "devirt_kernel": [], "bare_kernel": [],
           "resident": None}
    for i in range(runs):
        t, tk, log = timed_boot(make_cmd, devirt, timeout)
        res["devirt"].append(t)
        res["devirt_kernel"].append(tk)
        m = re.search(r"resident: image (\d+) KiB \+ heap (\d+) KiB in use "
                      r"of (\d+) KiB reserved", log)
        if m:
            res["resident"] = {"image_kib": int(m.group(1)),
                               "heap_kib": int(m.group(2)),
                               "reserved_kib": int(m.group(3))}
        t, tk, _ = timed_boot(make_cmd, bare, timeout)
        res["bare"].append(t)
        res["bare_kernel"].append(tk)
        print(f"{backend} run {i + 1}/{runs}: devirt {res['devirt'][-1]:.2f}"
              f" s, bare {res['bare'][-1]:.2f} s", flush=True)
    res["ratio"] = median(res["devirt"]) / median(res["bare"])
    res["ratio_kernel"] = (median(res["devirt_kernel"]) /
                           median(res["bare_kernel"]))
    res["emulator"] = make_cmd(conftest.ISO, OUT / "x")[1]
    return res


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 3.4))
    labels, bare, dev = [], [], []
    for name, r in results.items():
        labels.append(f"{name} ({r['emulator']})")
        bare.append(median(r["bare"]))
        dev.append(median(r["devirt"]))
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], bare, 0.4, label="bare kernel",
           color="#999999")
    ax.bar([i + 0.2 for i in x], dev, 0.4, label="under devirt",
           color="#3366cc")
    for i, r in enumerate(results.values()):
        ax.text(i + 0.2, dev[i], f"x{r['ratio']:.2f}", ha="center",
                va="bottom")
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("hand-off to /init, s (median)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    devirt, bare = devirt_iso(), bare_iso()
    results = {"svm": measure("svm", qemu_cmd, devirt, bare, 600)}
    if os.environ.get("DEVIRT_BENCH_VMX") == "1":
        results["vmx"] = measure(
            "vmx", bochs_cmd, devirt, bare, 1800,
            int(os.environ.get("DEVIRT_BENCH_VMX_RUNS", "1")))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    host = host_info()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "boot.json").write_text(
        json.dumps({"date": stamp, "runs": RUNS, "host": host,
                    "results": results}, indent=2) + "\n")
    has_plot = plot(results, RESULTS / "boot.png")
    env = " ".join(f"{k}={os.environ[k]}" for k in sorted(os.environ)
                   if k.startswith("DEVIRT_BENCH"))
    md = ["# Boot benchmark (`make bench`)", "",
          f"Command: `{(env + ' ') if env else ''}make bench` (this part "
          "alone: `/usr/bin/python3 tests/bench.py`), at commit "
          f"{host['commit']}"
          + (" with uncommitted changes" if host["uncommitted_changes"]
             else "") + f", on {host['cpu']} ({host['host_cpus']} CPUs).",
          "",
          f"Measured {stamp}, " + ", ".join(
              f"{len(r['devirt'])} run(s) per image for {n}"
              for n, r in results.items()) + ", both images in the "
          "same run and emulator. Time from the loader's hand-off line to "
          "the driver VM's `/init`, host clock.", "",
          "| back end | emulator | span | bare (s) | under devirt (s) | "
          "ratio | runs devirt / bare (s) |",
          "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        for span, d, b, ratio in (
                ("hand-off to /init", "devirt", "bare", "ratio"),
                ("kernel's first line to /init", "devirt_kernel",
                 "bare_kernel", "ratio_kernel")):
            md.append(f"| {name} | {r['emulator']} | {span} | "
                      f"{median(r[b]):.2f} | {median(r[d]):.2f} | "
                      f"**{r[ratio]:.2f}** | "
                      f"{', '.join(f'{x:.1f}' for x in r[d])} / "
                      f"{', '.join(f'{x:.1f}' for x in r[b])} |")
    md.append("")
    for name, r in results.items():
        m = r["resident"]
        if m:
            md.append(f"Hypervisor resident memory ({name}): image "
                      f"{m['image_kib']} KiB + heap {m['heap_kib']} KiB in "
                      f"use = **{m['image_kib'] + m['heap_kib']} KiB**; the "
                      f"reservation is {m['reserved_kib']} KiB because it "
                      "also holds the VM images and the configured heap.")
    md += ["", "Both images hold `build/devirt.cfg` without its user guests, "
           "so the driver VM boots alone (a user guest against the driver "
           "VM: guests.md). The bare image has `boot = bare` in its "
           "config: the loader starts the kernel through its EFI stub with "
           "`nr_cpus=1 mem=<driver memory>`, so both kernels get the same "
           "CPU count and RAM. Hand-off to /init: devirt's span includes "
           "the hypervisor's set-up; the bare span includes the EFI stub, "
           "which reads the initrd through the firmware (slow under "
           "emulation; devirt's loader read it before its hand-off line). "
           "The kernel's first line to /init compares the kernels alone: "
           "the cost of running under devirt once Linux is up. The bare "
           "kernel is EFI-booted, so it also sets up EFI runtime services "
           "and the EFI framebuffer, which the driver VM (64-bit boot "
           "protocol, no EFI) skips; under TCG that difference can exceed "
           "devirt's own cost, so a ratio below 1 bounds the overhead "
           "rather than showing a speed-up. Exits per operation come with "
           "the forwarding benchmarks (issue 4)."]
    if "vmx" not in results:
        md += ["", "VMX (Bochs) was not measured in this run: set "
               "`DEVIRT_BENCH_VMX=1` (each Bochs boot takes minutes)."]
    if has_plot:
        md += ["", "![boot time](boot.png)"]
    (RESULTS / "boot.md").write_text("\n".join(md) + "\n")
    print((RESULTS / "boot.md").read_text())


if __name__ == "__main__":
    main()
