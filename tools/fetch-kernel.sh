#!/bin/sh
# Fetch the stock Debian 6.1 kernel that the guests run, without installing
# it on the build machine, plus the matching headers for out-of-tree modules.
#
#   tools/fetch-kernel.sh CACHE_DIR
#
# The ABI (linux-image-6.1.0-NN-amd64) is resolved from the metapackage
# linux-image-amd64; nothing is pinned by hand. Results:
#   CACHE_DIR/<abi>/linux-image-<abi>_*.deb   the downloaded package
#   CACHE_DIR/<abi>/root/                     dpkg-deb -x of it, depmod'ed
#   CACHE_DIR/kernel.mk                       KABI, VMLINUZ, KMODROOT, KHDR
# and /usr/src/linux-headers-<abi> installed with apt-get.
#
# Idempotent: when CACHE_DIR already holds the resolved ABI nothing is
# downloaded again. When apt cannot resolve or download anything but a cache
# exists, that cache is reused with a warning.
set -eu

die() {
	echo "fetch-kernel: error: $*" >&2
	exit 1
}
warn() {
	echo "fetch-kernel: warning: $*" >&2
}
info() {
	echo "fetch-kernel: $*"
}

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"
mkdir -p "$1" || die "cannot create cache directory $1"
CACHE=$(cd "$1" && pwd)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# Print the ABI the candidate version of linux-image-amd64 depends on.
resolve_abi() {
	apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-image-[0-9][0-9.]*-[0-9][0-9]*-amd64\).*/\1/p' |
		head -n 1 | sed 's/^linux-image-//'
}

apt_updated=0
apt_update() {
	[ "$apt_updated" -eq 0 ] || return 1
	apt_updated=1
	info "running apt-get update"
	$SUDO apt-get update -qq
}

# The newest ABI already in the cache, if any (from kernel.mk, else a dir).
cached_abi() {
	if [ -f "$CACHE/kernel.mk" ]; then
		sed -n 's/^KABI := //p' "$CACHE/kernel.mk"
		return
	fi
	for d in "$CACHE"/6.*-amd64; do
		[ -e "$d/root/boot/vmlinuz-${d##*/}" ] && echo "${d##*/}"
	done | sort -V | tail -n 1
}

have_image() {
	[ -f "$CACHE/$1/root/boot/vmlinuz-$1" ] &&
		[ -f "$CACHE/$1/root/lib/modules/$1/modules.dep" ]
}

have_headers() {
	dpkg-query -W -f='${Status}' "linux-headers-$1" 2>/dev/null |
		grep -q "install ok installed" &&
		[ -f "/usr/src/linux-headers-$1/Makefile" ]
}

# Download and unpack linux-image-<abi> into $CACHE/<abi>.
fetch_image() {
	abi=$1
	dir="$CACHE/$abi"
	mkdir -p "$dir"
	rm -f "$dir"/linux-image-"$abi"_*.deb
	(cd "$dir" && apt-get download "linux-image-$abi") || return 1
	deb=""
	for f in "$dir"/linux-image-"$abi"_*.deb; do
		[ -f "$f" ] && deb=$f
	done
	[ -n "$deb" ] || return 1
	info "extracting $(basename "$deb")"
	rm -rf "$dir/root.tmp"
	dpkg-deb -x "$deb" "$dir/root.tmp" || die "dpkg-deb -x $deb failed"
	depmod -b "$dir/root.tmp" "$abi" || die "depmod -b $dir/root.tmp $abi failed"
	rm -rf "$dir/root"
	mv "$dir/root.tmp" "$dir/root"
}

ABI=$(resolve_abi || true)
if [ -z "$ABI" ]; then
	apt_update || warn "apt-get update failed"
	ABI=$(resolve_abi || true)
fi

if [ -z "$ABI" ]; then
	ABI=$(cached_abi)
	[ -n "$ABI" ] && have_image "$ABI" ||
		die "cannot resolve linux-image-amd64 with apt-cache and no cached kernel in $CACHE"
	warn "apt cannot resolve linux-image-amd64; reusing cached kernel $ABI"
else
	info "linux-image-amd64 depends on linux-image-$ABI"
	if have_image "$ABI"; then
		info "cache $CACHE already holds $ABI; not downloading"
	else
		info "downloading linux-image-$ABI into $CACHE/$ABI"
		if ! fetch_image "$ABI"; then
			# Stale package lists name a version that left the archive.
			new=""
			if apt_update; then
				new=$(resolve_abi || true)
			fi
			if [ -n "$new" ] && fetch_image "$new"; then
				ABI=$new
				info "after apt-get update: linux-image-$ABI"
			else
				old=$(cached_abi)
				[ -n "$old" ] && have_image "$old" ||
					die "cannot download linux-image-$ABI and no cached kernel in $CACHE"
				warn "cannot download linux-image-$ABI; reusing cached kernel $old"
				ABI=$old
			fi
		fi
	fi
fi

if have_headers "$ABI"; then
	info "linux-headers-$ABI already installed"
else
	info "installing linux-headers-$ABI"
	if ! $SUDO apt-get install -y -qq --no-install-recommends "linux-headers-$ABI"; then
		apt_update || true
		$SUDO apt-get install -y -qq --no-install-recommends "linux-headers-$ABI" ||
			warn "cannot install linux-headers-$ABI; out-of-tree modules will not build"
	fi
fi

# Drop kernels of older ABIs (about 470 MB each) once the new one is there.
for d in "$CACHE"/6.*-amd64; do
	[ -d "$d" ] && [ "${d##*/}" != "$ABI" ] || continue
	info "removing old cached kernel ${d##*/}"
	rm -rf "$d"
done

VMLINUZ="$CACHE/$ABI/root/boot/vmlinuz-$ABI"
KMODROOT="$CACHE/$ABI/root"
KHDR="/usr/src/linux-headers-$ABI"
[ -f "$VMLINUZ" ] || die "$VMLINUZ missing after extraction"
[ -d "$KMODROOT/lib/modules/$ABI" ] || die "$KMODROOT/lib/modules/$ABI missing"

tmp="$CACHE/kernel.mk.tmp"
{
	echo "# Written by tools/fetch-kernel.sh; do not edit."
	echo "KABI := $ABI"
	echo "VMLINUZ := $VMLINUZ"
	echo "KMODROOT := $KMODROOT"
	echo "KHDR := $KHDR"
} >"$tmp"
mv "$tmp" "$CACHE/kernel.mk"

info "KABI=$ABI"
info "VMLINUZ=$VMLINUZ"
info "KMODROOT=$KMODROOT"
info "KHDR=$KHDR"
