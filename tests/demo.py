#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make demo: boot build/devirt.iso under an emulator and show what happens.

Picks the back end this machine can run: QEMU with KVM when the host
exposes svm or vmx, else QEMU TCG (AMD SVM/NPT back end). The serial log
streams to the terminal; at the end the driver VM's checks are summarized.
Set DEVIRT_DEMO=vmx to use Bochs (Intel VMX/EPT back end, minutes).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest  # noqa: E402  (the harness's boot helpers)


def main():
    iso = conftest.ISO
    if not iso.exists():
        raise SystemExit(f"{iso} missing: run make")
    backend = os.environ.get("DEVIRT_DEMO", "svm")
    print(f"devirt demo: booting {iso} ({backend} back end); serial log "
          f"in {conftest.LOG_DIR}/demo-{backend}.log", flush=True)
    if backend == "vmx":
        res = conftest.boot_vmx(iso, name=f"demo-{backend}")
    else:
        res = conftest.boot_qemu(iso, name=f"demo-{backend}")
    print(res)
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
    print(f"hypercall/isolation test module: "
          f"{'all passed' if not fails else fails}")
    return 0 if res.reason == "end" and not fails else 1


if __name__ == "__main__":
    sys.exit(main())
