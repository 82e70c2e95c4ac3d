#!/bin/sh
# Build a small, reproducible busybox initramfs (gzip'ed newc cpio).
#
#   tools/mkinitrd.sh OUT.cpio.gz INIT_SCRIPT [SRC:DEST ...]
#
# The archive holds /bin/busybox (from busybox-static) with a symlink for
# every applet it has, INIT_SCRIPT as /init, and each SRC copied to the
# absolute path DEST (for example build/devirt_test.ko:/lib/devirt/devirt_test.ko
# or build/guest/cpuid:/bin/cpuid); @LIST reads more SRC:DEST lines from
# the file LIST. Executable sources keep mode 0755, others
# get 0644; .ko files lose their debug info. Owners are 0:0 and all times are SOURCE_DATE_EPOCH (default 0),
# so equal inputs give a byte-identical archive.
set -eu

die() {
	echo "mkinitrd: error: $*" >&2
	exit 1
}

[ $# -ge 2 ] || die "usage: $0 OUT.cpio.gz INIT_SCRIPT [SRC:DEST ...]"
OUT=$1
INIT=$2
shift 2

BUSYBOX=${BUSYBOX:-/bin/busybox}
EPOCH=${SOURCE_DATE_EPOCH:-0}

[ -f "$INIT" ] || die "init script '$INIT' not found"
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (install busybox-static)"
# ldd succeeds only on a dynamically linked executable.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked; install busybox-static"
fi
command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"
command -v gzip >/dev/null || die "gzip not found"

outdir=$(dirname "$OUT")
mkdir -p "$outdir" || die "cannot create $outdir"

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/mkinitrd.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 1' INT TERM
root="$STAGE/root"
umask 022

for d in bin sbin usr/bin usr/sbin dev proc sys tmp root etc lib run; do
	mkdir -p "$root/$d"
done
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

cp "$BUSYBOX" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
# One symlink per applet, at the path busybox itself would install it.
"$BUSYBOX" --list-full | sort | while read -r app; do
	[ -n "$app" ] || continue
	[ "$app" = "bin/busybox" ] && continue
	[ -e "$root/$app" ] && continue
	mkdir -p "$root/$(dirname "$app")"
	ln -s /bin/busybox "$root/$app"
done

cp "$INIT" "$root/init"
chmod 0755 "$root/init"

. "$(dirname "$0")/initrd-files.sh"

add_specs "$@"

# The kernel opens /dev/console for init before anything is mounted; the
# node needs root to create. Without it, init reopens it after devtmpfs.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
	mknod -m 0666 "$root/dev/null" c 1 3
else
	echo "mkinitrd: warning: not root, no /dev/console node in the archive" >&2
fi

# Fixed times for reproducibility (symlinks too: -h).
find "$root" -exec touch -h -d "@$EPOCH" {} +

tmp="$OUT.tmp.$$"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -9 >"$tmp" ||
	{
		rm -f "$tmp"
		die "cpio/gzip failed"
	}
mv "$tmp" "$OUT"
echo "mkinitrd: wrote $OUT ($(wc -c <"$OUT") bytes)"
