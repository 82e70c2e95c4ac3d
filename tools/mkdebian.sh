#!/bin/sh
# Build the user guest's Debian initramfs: a bookworm userland made from
# Debian packages with mmdebstrap, plus an /init script and extra files,
# as a gzip'ed (fast, -1) newc cpio archive.
#
#   tools/mkdebian.sh OUT.gz CACHE_DIR INIT_SCRIPT [SRC:DEST ...]
#   tools/mkdebian.sh --tarball CACHE_DIR
#
# (--tarball: only make sure the cached rootfs tarball is there and print
# its path; tools/debian-progs.sh takes single programs from it.)
#   CACHE_DIR    where the mmdebstrap tarball is kept:
#                CACHE_DIR/debian-<hash>.tar, <hash> a sha256 of the
#                recipe (suite, mirrors, variant, options and the package
#                list tools/debian-packages.txt). The slow part (download
#                and install, a few minutes) runs only when that changes;
#                otherwise the image is re-packed from the tarball.
#   INIT_SCRIPT  copied to /init (mode 0755)
#   SRC:DEST     a file copied to the absolute path DEST (for example
#                build/devfile/stub/devfile_stub.ko:/lib/devirt/devfile_stub.ko);
#                @LIST reads more SRC:DEST lines from the file LIST
#
# Documentation, manual pages and translations are left out (dpkg
# path-exclude); each package's copyright file stays.
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
# DEBIAN_SECURITY (default http://deb.debian.org/debian-security).
set -eu

die() {
	echo "mkdebian: error: $*" >&2
	exit 1
}
info() {
	echo "mkdebian: $*" >&2
}

usage="usage: $0 OUT.gz CACHE_DIR INIT_SCRIPT [SRC:DEST ...] | --tarball CACHE_DIR"
if [ "${1:-}" = --tarball ]; then
	[ $# -eq 2 ] || die "$usage"
	OUT=""
	CACHE=$2
	INIT=""
else
	[ $# -ge 3 ] || die "$usage"
	OUT=$1
	CACHE=$2
	INIT=$3
	shift 3
	[ -f "$INIT" ] || die "init script '$INIT' not found"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
PKGLIST="$HERE/debian-packages.txt"
SUITE=bookworm
VARIANT=essential
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

[ -f "$PKGLIST" ] || die "package list $PKGLIST not found"
for tool in mmdebstrap cpio gzip tar sha256sum; do
	command -v "$tool" >/dev/null ||
		die "$tool not found (run tools/install-deps.sh)"
done

PKGS=$(sed 's/#.*//' "$PKGLIST" | tr -s ' \t\n' '\n' | grep -v '^$' |
	LC_ALL=C sort -u | tr '\n' ',' | sed 's/,$//')
[ -n "$PKGS" ] || die "no packages in $PKGLIST"

# What the tarball is made from; its hash names the cached tarball.
RECIPE="mmdebstrap --variant=$VARIANT --format=tar --include=$PKGS \
--dpkgopt=path-exclude=/usr/share/doc/* \
--dpkgopt=path-include=/usr/share/doc/*/copyright \
--dpkgopt=path-exclude=/usr/share/man/* \
--dpkgopt=path-exclude=/usr/share/info/* \
--dpkgopt=path-exclude=/usr/share/locale/* \
--dpkgopt=path-exclude=/usr/share/lintian/* \
$SUITE deb $MIRROR $SUITE main|deb $MIRROR $SUITE-updates main|deb $SECURITY $SUITE-security main"
KEY=$(printf '%s\n' "$RECIPE" | sha256sum | cut -c1-16)

mkdir -p "$CACHE" || die "cannot create $CACHE"
TARBALL="$CACHE/debian-$KEY.tar"

if [ -f "$TARBALL" ]; then
	info "using cached rootfs $TARBALL"
else
	info "building the rootfs with mmdebstrap ($SUITE, $VARIANT):"
	info "  packages: $PKGS"
	start=$(date +%s)
	tmp="$CACHE/partial-$KEY.$$.tar"
	rm -f "$tmp"
	# shellcheck disable=SC2016
	if ! printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
		"$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECURITY" "$SUITE" |
		mmdebstrap --quiet --format=tar --variant="$VARIANT" --include="$PKGS" \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/info/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			--dpkgopt='path-exclude=/usr/share/lintian/*' \
			"$SUITE" "$tmp" -; then
		rm -f "$tmp"
		die "mmdebstrap failed (is http://deb.debian.org reachable?)"
	fi
	# Only the newest recipe's tarball is kept (about 500 MB each).
	for old in "$CACHE"/debian-*.tar; do
		[ -f "$old" ] && rm -f "$old"
	done
	mv "$tmp" "$TARBALL"
	info "rootfs tarball $TARBALL ($(($(wc -c <"$TARBALL") / 1048576)) MiB) in $(($(date +%s) - start)) s"
fi

if [ -z "$OUT" ]; then
	echo "$TARBALL"
	exit 0
fi

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/mkdebian.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 1' INT TERM
root="$STAGE/root"
mkdir -p "$root"
umask 022

# Device nodes only extract as root; devtmpfs provides them at boot.
tar -C "$root" --exclude='./dev/*' -xf "$TARBALL" ||
	die "cannot unpack $TARBALL"
rm -rf "$root/var/cache/apt" "$root/var/lib/apt/lists" \
	"$root/var/cache/debconf"/*-old "$root/var/log"/*
mkdir -p "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/run" \
	"$root/lib/devirt"
chmod 1777 "$root/tmp"

cp "$INIT" "$root/init"
chmod 0755 "$root/init"

. "$(dirname "$0")/initrd-files.sh"
add_specs "$@"

# The kernel opens /dev/console for init before devtmpfs is mounted.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
	mknod -m 0666 "$root/dev/null" c 1 3
fi

# As root the tarball kept its owners; otherwise everything is root's.
OWNER=""
[ "$(id -u)" -eq 0 ] || OWNER="-R 0:0"

mkdir -p "$(dirname "$OUT")"
tmp="$OUT.tmp.$$"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc --reproducible $OWNER) | gzip -n -1 >"$tmp" ||
	{
		rm -f "$tmp"
		die "cpio/gzip failed"
	}
mv "$tmp" "$OUT"
info "wrote $OUT ($(($(wc -c <"$OUT") / 1048576)) MiB; rootfs $(du -sm "$root" | cut -f1) MiB unpacked)"
