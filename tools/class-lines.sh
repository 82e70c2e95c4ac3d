#!/bin/sh
# Count the class-specific lines of device-file forwarding: the lines
# between "class-specific: begin" and "class-specific: end" comments in
# the code that runs in the VMs and in devirt (docs/devfile.md, "Device
# identity"). Everything else there is generic: it serves every device
# class through the same code. Prints one line per block, then the total.
set -eu
cd "$(dirname "$0")/.."
total=0
for f in $(git ls-files 'guest-driver/*.c' 'hostos-shim/*.c' 'devfile/*.c' \
	'devfile/*.h' 'vmm/*.c' 'vmm/*.h'); do
	out=$(awk -v f="$f" '
		/class-specific: begin/ { on = 1; n = 0; what = $0; next }
		/class-specific: end/ { if (on) printf "%s:%d: %d lines\n", f, NR, n;
			on = 0; next }
		on && NF { n++ }
	' "$f")
	[ -n "$out" ] || continue
	echo "$out"
	n=$(echo "$out" | sed 's/.*: \([0-9]*\) lines$/\1/' | awk "{s+=\$1} END {print s}")
	total=$((total + n))
done
echo "class-specific lines: $total"
