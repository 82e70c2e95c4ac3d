# SPDX-License-Identifier: GPL-2.0
"""Real devices in a user guest on the VT-x back end (issue 9, point 6):
Bochs's PCI VGA (1234:1111, the stock kernel's bochs-drm) and its PS/2
keyboard (atkbd, evdev), in the one Bochs boot of build/devirt-vmx.iso
that the other vmx tests share (the session fixture vmx_boot).

The driver VM loads bochs-drm and evdev (devfile_real=bochs,evdev), runs
unmodified Debian modetest and evtest on the real nodes first
(devfile_native_probes=small: tests/initramfs/probes.sh,
run_small_probes), then exports dri/card0 and its event nodes beside the
test device. g1 (busybox, with the same two Debian programs and their
libraries: tools/debian-progs.sh) runs the same probes on the stub's
nodes (devfile_real_probes=1). Each probe lists the GPU's resources, sets
1024x768 with modetest's SMPTE pattern and holds it while evtest reads
the keyboard. Bochs shows its screen on an Xvfb of the harness's own
(conftest.XServer); on DEVIRT-SHOT the harness captures it (xwd -root)
and finds the pattern, on DEVIRT-INPUT-READY it types "devirt" into
Bochs's window (xdotool, XTEST), then Escape, which ends the mode set
(conftest.ScreenEnd). The tests compare g1's run with the native one.

The QEMU counterpart, with sound and a camera: test_real_devices.py.
"""

import re

import pytest

pytestmark = [pytest.mark.vmx, pytest.mark.slow]

# What ScreenEnd types, as evtest names the keys.
TYPED = "KEY_D,KEY_E,KEY_V,KEY_I,KEY_R,KEY_T,KEY_ESC"
MODE = (1024, 768)
# g1's capture against the native one, inside the mode's 1024x768: the
# share of pixels that may differ by more than SMPTE_TOLERANCE in a
# channel.
MAX_DIFFERENT = 0.001


@pytest.fixture(scope="module")
def real(vmx_boot, harness):
    if vmx_boot.screen is None:
        pytest.skip("QEMU KVM boot: no Bochs screen to capture")
    g1 = "\n".join(harness.guest_lines(vmx_boot.guests, "g1"))
    return (vmx_boot, g1, harness.parse_checks(g1),
            harness.parse_checks(vmx_boot), vmx_boot.screen)


def out_lines(text, tag):
    """A probe's output lines (DEVIRT-OUT-<tag>), whitespace aside (the
    guest's console expands tabs)."""
    return [" ".join(line.split())
            for line in re.findall(rf"DEVIRT-OUT-{tag} (.*)", str(text))]


def test_vmx_driver_vm_exports_its_gpu_and_keyboard(real):
    boot, g1, c, d, _ = real
    assert d.get("real_modules") == "0", d
    exported = d.get("real_devices", "").split(",")
    assert "dri/card0" in exported, d
    events = [e for e in exported if e.startswith("input/event")]
    assert events, d
    assert "DEVIRT-NATIVE-DONE" in str(boot)
    # The PCI VGA (1234:1111) behind card0.
    assert d.get("native_drm_pci", "").split()[1:3] == ["0x1234", "0x1111"], d
    # g1 has the nodes, from the stub.
    nodes = c.get("real_nodes", "").split(",")
    for name in ["dri/card0"] + events:
        assert name in nodes, (name, c)
        assert re.search(rf"devfile_stub: /dev/{re.escape(name)} \(\d+:\d+\)"
                         rf" forwards {re.escape(name)}", g1), name


def test_vmx_gpu_modetest_lists_the_same_resources_as_natively(real):
    boot, g1, c, d, _ = real
    for checks, who in ((c, "g1"), (d, "native")):
        assert checks.get("drm_modetest") == "0", (who, checks)
    listed, native = out_lines(g1, "modetest"), out_lines(boot, "modetest")
    assert native and listed == native, \
        [(a, b) for a, b in zip(listed, native) if a != b][:5] or \
        (len(listed), len(native))
    assert c.get("drm_connected") and \
        c.get("drm_connected") == d.get("drm_connected"), (c, d)


def test_vmx_gpu_mode_set_shows_its_pattern_as_natively(real, harness):
    _, g1, c, d, screen = real
    import numpy as np
    for side, checks in (("native", d), ("g1", c)):
        assert side in screen.shots, f"{side}: no DEVIRT-SHOT marker"
        assert screen.shots[side], f"{side}: no screen capture"
        # modetest's SMPTE bars at 1024x768, somewhere in Bochs's window.
        assert screen.found[side], \
            f"{side}: no SMPTE pattern in {screen.shots[side]}"
        # modetest then ended without error (Escape closed its stdin).
        assert checks.get("drm_modeset") == "0", (side, checks)
        assert not any("failed" in line
                       for line in out_lines(g1 if side == "g1" else d,
                                             "modeset")
                       if "gamma" not in line), side
    # The two captures, inside the mode, alike.
    w, h = MODE
    crops = []
    for side in ("native", "g1"):
        x, y = screen.found[side]
        crops.append(harness.read_xwd(screen.shots[side])
                     [y:y + h, x:x + w].astype(np.int16))
    bad = np.any(np.abs(crops[0] - crops[1]) > harness.SMPTE_TOLERANCE,
                 axis=2)
    assert bad.mean() <= MAX_DIFFERENT, (bad.mean(), screen.shots)


def test_vmx_input_evtest_sees_the_typed_keys_as_natively(real):
    boot, g1, c, d, screen = real
    for side, checks, text in (("native", d, str(boot)), ("g1", c, g1)):
        assert side in screen.keys_sent, f"{side}: no DEVIRT-INPUT-READY"
        kbd = checks.get("input_keyboard")
        assert kbd, (side, checks)
        # evtest's scan names it (EVIOCGNAME, forwarded in g1).
        assert any(line.startswith(f"/dev/input/{kbd}:") and
                   "keyboard" in line.lower()
                   for line in out_lines(text, "evtest")), \
            (side, out_lines(text, "evtest"))
        assert checks.get("input_keys") == TYPED, \
            (side, checks.get("input_keys"), screen.keys_sent[side])
    assert c["input_keyboard"] == d["input_keyboard"], (c, d)
