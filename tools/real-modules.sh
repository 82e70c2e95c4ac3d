#!/bin/sh
# List the stock kernel's modules that the driver VM needs for real devices,
# with their dependencies resolved by modprobe --show-depends, in load order.
#
#   tools/real-modules.sh KMODROOT KABI OUT_DIR MODULE ...
#
# Writes OUT_DIR/real-modules.order: one /lib/devirt/kmod/NAME.ko per line,
# dependencies first, each module once (init-driver insmods them in that
# order), one OUT_DIR/real-modules.MODULE.order per MODULE argument (that
# module's own load order, for devfile_real=MODULE,...), and
# OUT_DIR/real-modules.list: "SRC:DEST" lines for tools/mkinitrd.sh
# (@LIST argument), the order files included.
set -eu

die() {
	echo "real-modules: error: $*" >&2
	exit 1
}

[ $# -ge 4 ] || die "usage: $0 KMODROOT KABI OUT_DIR MODULE ..."
ROOT=$1
KABI=$2
OUT=$3
shift 3
[ -f "$ROOT/lib/modules/$KABI/modules.dep" ] ||
	die "$ROOT/lib/modules/$KABI/modules.dep missing (tools/fetch-kernel.sh)"
command -v modprobe >/dev/null || die "modprobe not found (apt-get install kmod)"
mkdir -p "$OUT"

order="$OUT/real-modules.order"
list="$OUT/real-modules.list"
: >"$order.tmp"
: >"$list.tmp"
for m in "$@"; do
	deps=$(modprobe -d "$ROOT" -S "$KABI" --show-depends "$m") ||
		die "modprobe --show-depends $m failed"
	: >"$OUT/real-modules.$m.order"
	echo "$deps" | while read -r kind path _rest; do
		case "$kind" in
		insmod) ;;
		builtin) continue ;;
		*) die "unexpected line from modprobe: $kind $path" ;;
		esac
		name=$(basename "$path")
		dest="/lib/devirt/kmod/$name"
		echo "$dest" >>"$OUT/real-modules.$m.order"
		grep -qxF "$dest" "$order.tmp" && continue
		echo "$dest" >>"$order.tmp"
		echo "$path:$dest" >>"$list.tmp"
	done
	echo "$OUT/real-modules.$m.order:/lib/devirt/real-modules.$m.order" \
		>>"$list.tmp"
done
[ -s "$order.tmp" ] || die "no module found for: $*"
echo "$order:/lib/devirt/real-modules.order" >>"$list.tmp"
mv "$order.tmp" "$order"
mv "$list.tmp" "$list"
echo "real-modules: $(wc -l <"$order") modules for $*"
