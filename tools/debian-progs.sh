#!/bin/sh
# Take unmodified Debian programs, with the shared libraries they need and
# the dynamic loader, from the cached bookworm rootfs (tools/mkdebian.sh
# --tarball) for a busybox initramfs (tools/mkinitrd.sh).
#
#   tools/debian-progs.sh CACHE_DIR OUT_DIR PROGRAM ...
#
# PROGRAM is a path in the rootfs (usr/bin/modetest). Writes the files
# under OUT_DIR/debian-progs/ and OUT_DIR/debian-progs.list: "SRC:DEST"
# lines for mkinitrd.sh's @LIST argument. Programs go to /usr/bin, the
# libraries (DT_NEEDED, recursively) to /lib/x86_64-linux-gnu, the loader
# to /lib64/ld-linux-x86-64.so.2, where Debian's programs look for it.
set -eu

die() {
	echo "debian-progs: error: $*" >&2
	exit 1
}

[ $# -ge 3 ] || die "usage: $0 CACHE_DIR OUT_DIR PROGRAM ..."
CACHE=$1
OUT=$2
shift 2
for tool in tar readelf; do
	command -v "$tool" >/dev/null || die "$tool not found"
done

TARBALL=$("$(dirname "$0")/mkdebian.sh" --tarball "$CACHE") ||
	die "no Debian rootfs tarball"
LIBDIR=usr/lib/x86_64-linux-gnu
LOADER=ld-linux-x86-64.so.2

stage="$OUT/debian-progs"
rm -rf "$stage"
mkdir -p "$stage"
list="$OUT/debian-progs.list.tmp"
: >"$list"

# extract PATTERN...: the matching members (symlinks and what they name
# in the same directory, by the pattern's trailing '*').
extract() {
	tar -C "$stage" --wildcards -xf "$TARBALL" "$@" ||
		die "'$*' not in $TARBALL"
}

for p in "$@"; do
	extract "./${p#/}"
	echo "$stage/${p#/}:/usr/bin/$(basename "$p")" >>"$list"
done
extract "./$LIBDIR/$LOADER"
echo "$stage/$LIBDIR/$LOADER:/lib64/$LOADER" >>"$list"

# The libraries, breadth first: each one's own DT_NEEDED too.
todo=$(for p in "$@"; do echo "$stage/${p#/}"; done)
done_libs=" $LOADER "
while [ -n "$todo" ]; do
	next=""
	for f in $todo; do
		for lib in $(readelf -d "$f" |
			sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case "$done_libs" in *" $lib "*) continue ;; esac
			done_libs="$done_libs$lib "
			extract "./$LIBDIR/$lib*"
			[ -e "$stage/$LIBDIR/$lib" ] || die "$lib not found"
			# cp (add_spec) follows the soname link to the file.
			echo "$stage/$LIBDIR/$lib:/lib/x86_64-linux-gnu/$lib" >>"$list"
			next="$next $stage/$LIBDIR/$lib"
		done
	done
	todo=$next
done
mv "$list" "$OUT/debian-progs.list"
echo "debian-progs: $* with $(echo $done_libs | wc -w) libraries" \
	"(the loader included) from $(basename "$TARBALL")"
