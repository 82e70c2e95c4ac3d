# Sourced by tools/mkinitrd.sh and tools/mkdebian.sh: put one SRC:DEST
# file into the staged initramfs at $root (die() comes from the caller);
# add_specs takes SRC:DEST and @LIST arguments (LIST: a SRC:DEST a line).
# DEST is absolute ("/lib/devirt/" keeps SRC's name); executables get
# 0755, other files 0644, and .ko files lose their debug info.
add_spec() {
	spec=$1
	case "$spec" in
	*:/*) ;;
	*) die "bad argument '$spec': expected SRC:DEST with an absolute DEST" ;;
	esac
	src=${spec%%:*}
	dest=${spec#*:}
	[ -n "$src" ] || die "bad argument '$spec': empty SRC"
	[ -f "$src" ] || die "'$src' (from '$spec') is not a file"
	case "$dest" in
	*/) dest="$dest$(basename "$src")" ;;
	esac
	mkdir -p "$root$(dirname "$dest")"
	cp "$src" "$root$dest"
	case "$dest" in
	*.ko) strip --strip-debug "$root$dest" 2>/dev/null || true ;;
	esac
	if [ -x "$src" ]; then
		chmod 0755 "$root$dest"
	else
		chmod 0644 "$root$dest"
	fi
}

add_specs() {
	for spec in "$@"; do
		case "$spec" in
		@*)
			[ -f "${spec#@}" ] || die "list file '${spec#@}' not found"
			while IFS= read -r line; do
				[ -n "$line" ] && add_spec "$line"
			done <"${spec#@}"
			;;
		*) add_spec "$spec" ;;
		esac
	done
}
