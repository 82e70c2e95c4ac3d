#!/bin/sh
# Build the bootable devirt image: a FAT EFI system partition image (mtools)
# wrapped in an El Torito UEFI ISO that is also a hybrid GPT disk image, so
# the same file boots from a CD drive in QEMU/Bochs and dd'ed to a USB stick.
#
#   tools/mkimage.sh OUT.iso CFG_FILE [SRC=ESP_PATH ...]
#
#   CFG_FILE         copied to EFI/devirt/devirt.cfg; "-" means no config
#                    file at all (for the missing-config test)
#   SRC=ESP_PATH     a file and where it goes on the ESP, for example
#                    build/boot/BOOTX64.EFI=EFI/BOOT/BOOTX64.EFI
#                    build/vmm.elf=EFI/devirt/vmm.elf
#
# EFI/BOOT/BOOTX64.EFI must be among them. ESP paths are case-insensitive
# (FAT) and must not repeat. The ESP is sized from the inputs plus slack.
set -eu

die() {
	echo "mkimage: error: $*" >&2
	exit 1
}

[ $# -ge 2 ] || die "usage: $0 OUT.iso CFG_FILE [SRC=ESP_PATH ...]"
OUT=$1
CFG=$2
shift 2

for tool in mformat mmd mcopy xorriso; do
	command -v "$tool" >/dev/null ||
		die "$tool not found (apt-get install mtools xorriso)"
done

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 1' INT TERM

# Collect "SRC<TAB>ESP_PATH" lines, config first.
list="$STAGE/list"
: >"$list"
if [ "$CFG" != "-" ]; then
	[ -f "$CFG" ] || die "config file '$CFG' not found"
	printf '%s\t%s\n' "$CFG" "EFI/devirt/devirt.cfg" >>"$list"
fi
for spec in "$@"; do
	case "$spec" in
	?*=?*) ;;
	*) die "bad argument '$spec': expected SRC=ESP_PATH" ;;
	esac
	src=${spec%%=*}
	dst=${spec#*=}
	dst=${dst#/}
	[ -f "$src" ] || die "'$src' (from '$spec') is not a file"
	case "$dst" in
	*/ | "") die "bad ESP path in '$spec': must name a file" ;;
	esac
	case "$src$dst" in
	*"	"*) die "tab in '$spec'" ;;
	esac
	printf '%s\t%s\n' "$src" "$dst" >>"$list"
done

# FAT is case-insensitive: compare upper-cased paths.
dups=$(cut -f2 "$list" | tr '[:lower:]' '[:upper:]' | sort | uniq -d)
[ -z "$dups" ] || die "ESP path given twice: $(echo "$dups" | head -n 1)"
cut -f2 "$list" | tr '[:lower:]' '[:upper:]' | grep -qx 'EFI/BOOT/BOOTX64.EFI' ||
	die "no SRC=EFI/BOOT/BOOTX64.EFI given; the image would not boot"

# Size: every file rounded up to 4 KiB clusters, plus 10% and 1 MiB for
# FATs, directories and slack; whole MiB (64 heads x 32 sectors), >= 4 MiB.
bytes=0
nfiles=0
while IFS='	' read -r src dst; do
	sz=$(wc -c <"$src")
	bytes=$((bytes + (sz + 4095) / 4096 * 4096))
	nfiles=$((nfiles + 1))
done <"$list"
mib=$(((bytes + bytes / 10 + nfiles * 8192 + 1048576 + 1048575) / 1048576))
[ "$mib" -ge 4 ] || mib=4
if [ "$mib" -gt 32 ]; then
	echo "mkimage: note: ESP is $mib MiB; over 32 MiB the El Torito" \
		"sector count saturates (firmware then reads the whole image)" >&2
fi

mkdir -p "$STAGE/iso"
img="$STAGE/iso/efi.img"
truncate -s "${mib}M" "$img"
fat=""
[ "$mib" -lt 512 ] || fat="-F"
# shellcheck disable=SC2086
mformat -i "$img" $fat -T $((mib * 2048)) -h 64 -s 32 -N 44455649 \
	-v DEVIRT :: || die "mformat failed"

made="$STAGE/dirs"
: >"$made"
while IFS='	' read -r src dst; do
	dir=$(dirname "$dst")
	path=""
	old_ifs=$IFS
	IFS=/
	for part in $dir; do
		IFS=$old_ifs
		[ "$part" = "." ] && continue
		path="${path:+$path/}$part"
		key=$(echo "$path" | tr '[:lower:]' '[:upper:]')
		if ! grep -qxF "$key" "$made"; then
			mmd -i "$img" "::/$path" || die "mmd ::/$path failed"
			echo "$key" >>"$made"
		fi
	done
	IFS=$old_ifs
	mcopy -i "$img" -o "$src" "::/$dst" || die "mcopy $src ::/$dst failed"
	echo "mkimage: ESP $dst <- $src"
done <"$list"
[ "$CFG" != "-" ] || echo "mkimage: no EFI/devirt/devirt.cfg (CFG_FILE is -)"

mkdir -p "$(dirname "$OUT")"
tmp="$OUT.tmp.$$"
rm -f "$tmp"
if ! xorriso -as mkisofs -quiet -R -J -V DEVIRT \
	-e efi.img -no-emul-boot -isohybrid-gpt-basdat \
	-o "$tmp" "$STAGE/iso" >"$STAGE/xorriso.log" 2>&1; then
	cat "$STAGE/xorriso.log" >&2
	rm -f "$tmp"
	die "xorriso failed"
fi
mv "$tmp" "$OUT"
echo "mkimage: wrote $OUT ($(wc -c <"$OUT") bytes, ESP $mib MiB)"
