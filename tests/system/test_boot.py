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

from conftest import (CFG, PCI_SOUND, PCI_VGA, cfg_vm_memory, module_failures,
                      parse_checks, parse_module_results)

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


def _checks(result):
    checks = parse_checks(result)
    assert checks, (f"no DEVIRT-CHECK lines: the driver VM's /init did not "
                    f"run ({result.describe()})")
    return checks


def test_boot_reaches_driver_done(boot):
    backend, result = boot
    assert result.reason == "end", result.describe()


def test_banner(boot):
    backend, result = boot
    assert f"devirt: backend={backend}" in result, (
        f"no 'devirt: backend={backend}' banner ({result.describe()})")


def test_init_started(boot):
    backend, result = boot
    assert "DEVIRT-INIT-START" in result, result.describe()


def test_hypervisor_flag(boot):
    backend, result = boot
    assert _checks(result).get("hypervisor_flag") == "yes"


def test_signature(boot):
    backend, result = boot
    assert _checks(result).get("sig") == "DevirtDevirt"


def test_cpu_vendor_matches_backend(boot):
    backend, result = boot
    assert _checks(result).get("backend") == backend


def test_pci_devices(boot):
    backend, result = boot
    pci = _checks(result).get("pci", "")
    devices = set(filter(None, pci.split(",")))
    sound = PCI_SOUND[result.emulator]
    assert PCI_VGA in devices, f"no VGA {PCI_VGA} in driver VM PCI list {pci!r}"
    assert sound in devices, (
        f"no sound device {sound} ({result.emulator}) in driver VM PCI "
        f"list {pci!r}")


def test_ram_matches_config(boot):
    backend, result = boot
    if not CFG.exists():
        pytest.fail(f"{CFG} missing: the harness reads the driver VM's "
                    f"configured memory from it")
    configured = cfg_vm_memory("driver", CFG)
    checks = _checks(result)
    assert "ram_bytes" in checks, "no DEVIRT-CHECK ram_bytes line"
    ram = int(checks["ram_bytes"])
    assert configured - 2 * MIB <= ram <= configured, (
        f"driver VM sees {ram} bytes ({ram / MIB:.1f} MiB) of System RAM; "
        f"configured memory is {configured} ({configured / MIB:.0f} MiB), "
        f"expected within 2 MiB below it")


def test_hypercall_module(boot):
    backend, result = boot
    failures = module_failures(result)
    failed = [" ".join(r) for r in parse_module_results(result)
              if r[3] == "FAIL"]
    assert failures is not None, (
        f"no 'devirt-test: done' line: module not run or crashed; "
        f"insmod={parse_checks(result).get('insmod')}")
    assert failures == 0 and not failed, (
        f"devirt-test: done failures={failures}: " + "; ".join(failed))
