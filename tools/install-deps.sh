#!/bin/sh
# Install the Debian packages that the build, the demo and the tests need.
# Idempotent: skips apt entirely when everything is already there.
set -eu
PKGS="build-essential gnu-efi nasm mtools dosfstools xorriso ovmf \
qemu-system-x86 qemu-utils bochs bochsbios bochs-x vgabios busybox-static cpio \
kmod python3-pytest python3-pexpect python3-numpy python3-pil \
clang-format gzip xz-utils python3-matplotlib mmdebstrap \
xvfb xdotool x11-apps"
# xvfb, xdotool, x11-apps (xwd): the Bochs real-device test runs Bochs's
# x display on a virtual X server, types into it and captures it.
# With a display, make demo opens a QEMU window: QEMU's GTK/SDL front ends.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
	PKGS="$PKGS qemu-system-gui"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "devirt: installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
