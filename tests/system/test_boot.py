# SPDX-License-Identifier: GPL-2.0
"""End-to-end boot of build/devirt.iso on each back end.

svm: QEMU TCG (or KVM on an AMD host) + OVMF, AMD SVM/NPT back end.
vmx: Bochs + OVMF (or QEMU KVM on an Intel host), Intel VMX/EPT back end;
     marked vmx and slow (minutes): deselect with -m "not slow".

Each booted image is shared by all tests of its back end (one boot per
session). The driver VM's /init (tests/initramfs/init-driver) prints the
DEVIRT-CHECK lines and loads the devirt_test module.
"""

import pytest

MIB = 1 << 20

BACKENDS = [
    pytest.param("svm", id="svm"),
    pytest.param("vmx", id="vmx", marks=[pytest.mark.vmx, pytest.mark.slow]),
]


@pytest.fixture(params=BACKENDS)
def boot(request):
    """(backend name, BootResult) for each back end."""
    backend = request.param
    return backend, request.getfixturevalue(f"{backend}_boot")


def _checks(result, harness):
    checks = harness.parse_checks(result)
    assert checks, (f"no DEVIRT-CHECK lines: the driver VM's /init did not "
                    f"run ({result.describe()})")
    return checks


def test_boot_reaches_driver_done(boot, harness):
    backend, result = boot
    assert result.reason == "end", result.describe()


def test_banner(boot, harness):
    backend, result = boot
    assert f"devirt: backend={backend}" in result, (
        f"no 'devirt: backend={backend}' banner ({result.describe()})")


def test_init_started(boot, harness):
    backend, result = boot
    assert "DEVIRT-INIT-START" in result, result.describe()


def test_hypervisor_flag(boot, harness):
    backend, result = boot
    assert _checks(result, harness).get("hypervisor_flag") == "yes"


def test_signature(boot, harness):
    backend, result = boot
    assert _checks(result, harness).get("sig") == "DevirtDevirt"


def test_cpu_vendor_matches_backend(boot, harness):
    backend, result = boot
    assert _checks(result, harness).get("backend") == backend


def test_pci_devices(boot, harness):
    backend, result = boot
    pci = _checks(result, harness).get("pci", "")
    devices = set(filter(None, pci.split(",")))
    sound = harness.PCI_SOUND[result.emulator]
    vga = harness.PCI_VGA
    assert vga in devices, f"no VGA {vga} in driver VM PCI list {pci!r}"
    assert sound in devices, (
        f"no sound device {sound} ({result.emulator}) in driver VM PCI "
        f"list {pci!r}")


def test_ram_matches_config(boot, harness):
    backend, result = boot
    cfg = harness.CFG
    if not cfg.exists():
        pytest.fail(f"{cfg} missing: the harness reads the driver VM's "
                    f"configured memory from it")
    configured = harness.cfg_vm_memory("driver", cfg)
    checks = _checks(result, harness)
    assert "ram_bytes" in checks, "no DEVIRT-CHECK ram_bytes line"
    ram = int(checks["ram_bytes"])
    assert configured - 2 * MIB <= ram <= configured, (
        f"driver VM sees {ram} bytes ({ram / MIB:.1f} MiB) of System RAM; "
        f"configured memory is {configured} ({configured / MIB:.0f} MiB), "
        f"expected within 2 MiB below it")


def test_hypercall_module(boot, harness):
    backend, result = boot
    failures = harness.module_failures(result)
    failed = [" ".join(r) for r in harness.parse_module_results(result)
              if r[3] == "FAIL"]
    assert failures is not None, (
        f"no 'devirt-test: done' line: module not run or crashed; "
        f"insmod={harness.parse_checks(result).get('insmod')}")
    assert failures == 0 and not failed, (
        f"devirt-test: done failures={failures}: " + "; ".join(failed))
