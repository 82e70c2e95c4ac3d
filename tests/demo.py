#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make demo: boot build/devirt.iso under an emulator and show what happens.

Picks the back end this machine can run: QEMU with KVM when the host
exposes svm or vmx, else QEMU TCG (AMD SVM/NPT back end). It boots the
driver VM and the user guests of build/devirt.cfg (one of them crashes on
purpose), waits until every VM has done its checks and the survivors are
seen running after the crash, and summarizes what each VM reported.
Set DEVIRT_DEMO=vmx to use Bochs (Intel VMX/EPT back end, minutes; the
image build/devirt-vmx.iso, with one guest).
"""

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest  # noqa: E402  (the harness's boot helpers)


def main():
    backend = os.environ.get("DEVIRT_DEMO", "svm")
    iso, cfg = ((conftest.VMX_ISO, conftest.VMX_CFG) if backend == "vmx"
                else (conftest.ISO, conftest.CFG))
    if not iso.exists():
        raise SystemExit(f"{iso} missing: run make")
    end = conftest.SystemEnd(cfg)
    print(f"devirt demo: booting {iso} ({backend} back end): driver VM and "
          f"guests {', '.join(end.guests) or '(none)'}; logs in "
          f"{conftest.LOG_DIR}/demo-{backend}.log and "
          f"demo-{backend}.guests.log", flush=True)
    if backend == "vmx":
        res = conftest.boot_vmx(iso, name=f"demo-{backend}", end_marker=end)
    else:
        res = conftest.boot_qemu(iso, name=f"demo-{backend}",
                                 smp=1 + len(end.guests), end_marker=end)
    print(res)
    print(res.guests)
    checks = conftest.parse_checks(res)
    print("\n==== devirt demo summary ====")
    print(f"emulator: {res.emulator} {res.accel}  boot: {res.elapsed:.1f} s"
          f"  result: {res.reason}")
    for line in res.splitlines():
        if line.startswith("devirt: backend="):
            print(line)
    for k, v in checks.items():
        print(f"  {k} = {v}")
    fails = conftest.module_failures(res)
    print(f"driver VM hypercall/isolation module: "
          f"{'all passed' if fails == 0 else fails}")
    bad = fails != 0
    for vm in end.guests:
        text = "\n".join(conftest.guest_lines(res.guests, vm))
        c = conftest.parse_checks(text)
        done = re.findall(r"devirt-guest-test: done failures=(\d+)", text)
        stopped = re.search(rf"devirt: \[{vm}\] VM stopped \(([^)]*)\)",
                            res)
        # The test module runs once for isolation, again for dffuzz.
        ok = bool(done) and all(d == "0" for d in done)
        print(f"guest {vm}: memory {int(c.get('ram_bytes', 0)) >> 20} MiB, "
              f"PCI [{c.get('pci', '?')}], clock {c.get('clocksource', '?')}"
              f" at {c.get('tsc_mhz', '?')} MHz, guest test module "
              f"{'passed' if ok else done or 'missing'}"
              f"{', then stopped: ' + stopped.group(1) if stopped else ''}")
        bad |= not ok
        if "devfile_forward" in c:
            fz = re.search(r"dffuzz requests sent=(\d+),answered=(\d+)",
                           text)
            print(f"  device files forwarded to the driver VM: suite "
                  f"failures {c['devfile_forward']}"
                  + (f", hostile requests {fz.group(1)} sent, "
                     f"{fz.group(2)} answered" if fz else ""))
            bad |= c["devfile_forward"] != "0"
    return 0 if res.reason == "end" and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
