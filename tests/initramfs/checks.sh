# Shell functions shared by the /init scripts of the driver VM
# (init-driver) and of user guests (init-guest); sourced (busybox sh) from
# /lib/devirt/checks.sh. Defines functions only.
#
# PROC and SYS name the proc and sysfs mount points (default /proc and
# /sys), so that the parsing can be tried on sample files off-target.
: "${PROC:=/proc}"
: "${SYS:=/sys}"

# Marker and check lines go through /dev/kmsg, not the tty: the kernel
# writes printk lines to the serial console synchronously while tty output
# drains later by interrupts, so on a slow UART (Bochs) the tty lines came
# out cut into pieces by the module's printk lines, and the last ones were
# lost at power-off. printk keeps them whole, in order and flushed. The
# init scripts raise the console log level (dmesg -n 7) so that they show
# even with "quiet".
say() {
	if [ -w /dev/kmsg ]; then
		echo "$*" >/dev/kmsg
	else
		echo "$*"
	fi
}

check() {
	say "DEVIRT-CHECK $1=$2"
}

# cmdline_arg NAME: the value of the last NAME=VALUE on the kernel command
# line, empty when there is none.
cmdline_arg() {
	_val=""
	for _arg in $(cat "$PROC/cmdline"); do
		case "$_arg" in
		"$1"=*) _val=${_arg#*=} ;;
		esac
	done
	echo "$_val"
}

# The checks both kinds of VM print, in this order: hypervisor_flag, sig,
# pci, memtotal_kb, ram_bytes, cpus, backend.
common_checks() {
	# hypervisor_flag: the CPUID.1:ECX[31] flag as Linux reports it.
	if grep -m 1 '^flags' "$PROC/cpuinfo" | grep -qw hypervisor; then
		check hypervisor_flag yes
	else
		check hypervisor_flag no
	fi

	# sig: the hypervisor signature at CPUID 0x40000000.
	sig=""
	if [ -x /bin/cpuid ]; then
		sig=$(/bin/cpuid 0x40000000 | sed -n 's/^sig=//p')
	fi
	check sig "$sig"

	# pci: vendor:device of every PCI function, comma separated, bus
	# order; empty without PCI.
	pci=""
	for d in "$SYS"/bus/pci/devices/*; do
		[ -r "$d/vendor" ] || continue
		v=$(cat "$d/vendor")
		p=$(cat "$d/device")
		pci="$pci${pci:+,}${v#0x}:${p#0x}"
	done
	check pci "$pci"

	check memtotal_kb \
		"$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' "$PROC/meminfo")"

	# ram_bytes: sum of the top-level "System RAM" ranges in iomem.
	ram=0
	while IFS= read -r line; do
		case "$line" in
		" "*) continue ;;
		*": System RAM") ;;
		*) continue ;;
		esac
		range=${line%% :*}
		start=${range%-*}
		end=${range#*-}
		ram=$((ram + 0x$end - 0x$start + 1))
	done <"$PROC/iomem"
	check ram_bytes "$ram"

	# cpus: online CPUs, from ranges such as "0-1,3".
	cpus=0
	online=$(cat "$SYS/devices/system/cpu/online" 2>/dev/null || echo 0)
	IFS_SAVE=$IFS
	IFS=,
	for r in $online; do
		case "$r" in
		*-*) cpus=$((cpus + ${r#*-} - ${r%-*} + 1)) ;;
		?*) cpus=$((cpus + 1)) ;;
		esac
	done
	IFS=$IFS_SAVE
	check cpus "$cpus"

	vendor=$(sed -n 's/^vendor_id[[:space:]]*: *//p' "$PROC/cpuinfo" |
		head -n 1)
	case "$vendor" in
	GenuineIntel) backend=vmx ;;
	AuthenticAMD) backend=svm ;;
	*) backend="unknown($vendor)" ;;
	esac
	check backend "$backend"
}

# The current clocksource (tsc, kvm-clock, hpet, ...).
clocksource() {
	cat "$SYS/devices/system/clocksource/clocksource0/current_clocksource" \
		2>/dev/null
}

# The TSC rate (MHz) the kernel settled on: the refined calibration when
# there was one (the driver VM measures it against the platform's timers),
# else what it detected (a user guest learns it from kvmclock).
tsc_mhz() {
	_log=$(dmesg 2>/dev/null)
	_r=$(echo "$_log" | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -n 1)
	[ -n "$_r" ] || _r=$(echo "$_log" | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n 1)
	echo "$_r"
}

# Seconds since boot with hundredths, as /proc/uptime has it ("12.34").
uptime_s() {
	read -r _up _idle <"$PROC/uptime"
	echo "$_up"
}

# cmos_reg N: CMOS register N through /dev/port (index port 0x70, data
# 0x71), in decimal; empty without /dev/port.
cmos_reg() {
	[ -c /dev/port ] || return 0
	printf "\\$(printf %03o "$1")" |
		dd of=/dev/port bs=1 seek=112 count=1 conv=notrunc 2>/dev/null
	dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tu1 |
		tr -d ' \n'
}

# rtc_tick: wait (at most about 2 s) for the CMOS clock's seconds to
# change, so that whole seconds counted from here are exact to a tick;
# sets RTC_S to the new seconds (decimal; empty when it cannot be read).
rtc_tick() {
	RTC_S=""
	_s0=$(cmos_reg 0)
	[ -n "$_s0" ] || return 0
	_n=0
	while _s=$(cmos_reg 0) && [ "$_s" = "$_s0" ] && [ $_n -lt 400 ]; do
		_n=$((_n + 1))
	done
	[ -n "$_s" ] && RTC_S=$(((_s >> 4) * 10 + (_s & 15)))
}

# rtc_sec: the CMOS clock's seconds (BCD register 0), in decimal.
rtc_sec() {
	_s=$(cmos_reg 0)
	[ -n "$_s" ] && echo $(((_s >> 4) * 10 + (_s & 15)))
}

# Local timer interrupts so far: the LOC row of /proc/interrupts summed
# over the CPUs; empty when there is no such row.
loc_total() {
	awk '$1 == "LOC:" {
		s = 0
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++)
			s += $i
		print s
		exit
	}' "$PROC/interrupts"
}

# With devirt_bench=1 on the command line: wait devirt_bench_delay
# seconds (default 0), print DEVIRT-BENCH-START, run /bin/membench with
# devirt_bench_scale (default 1), forward its output line by line, then
# DEVIRT-CHECK bench=<exit status>, or "absent" without the program.
run_bench() {
	[ "$(cmdline_arg devirt_bench)" = 1 ] || return 0
	if [ ! -x /bin/membench ]; then
		check bench absent
		return 0
	fi
	scale=$(cmdline_arg devirt_bench_scale)
	# Idle first, so that a benchmark in another VM can run alone
	# (tests/bench_guests.py).
	delay=$(cmdline_arg devirt_bench_delay)
	case "$delay" in
	"" | *[!0-9]*) ;;
	*) sleep "$delay" ;;
	esac
	say "DEVIRT-BENCH-START scale=${scale:-1}"
	/bin/membench "${scale:-1}" >/tmp/membench.out 2>&1
	rc=$?
	while IFS= read -r line; do
		say "$line"
	done </tmp/membench.out
	check bench "$rc"
}

# DEVIRT-ALIVE 1, 2, ... every 2 seconds, forever.
alive_loop() {
	n=1
	while :; do
		say "DEVIRT-ALIVE $n"
		# The devfile shim's counters, when it runs (driver VM).
		if [ -r /sys/kernel/debug/devfile_shim/stats ]; then
			say "DEVFILE-SHIM $(tr '\n' ' ' \
				</sys/kernel/debug/devfile_shim/stats)"
		fi
		# ... and the requests in the hypercall ring, when any.
		_r=/sys/module/devfile_transport/parameters/ring
		if [ -r $_r ] && [ -n "$(tr -d ' \n' <$_r)" ]; then
			say "DEVFILE-RING $(cat $_r)"
		fi
		n=$((n + 1))
		sleep 2
	done
}

# run_devfile_suite KEY: run /bin/devfile_suite (docs/devfile-testdev.md)
# with the kernel command line's devfile_tests (its -t), devfile_ops
# (its -n), devfile_dev (its -d /dev/NAME) and devfile_pair (-r, -p), forward its lines as they come, then print
# DEVIRT-CHECK KEY=<failures>: the N of "DEVFILE-SUITE done failures=N",
# "incomplete" when that line never came, "absent" without the program.
run_devfile_suite() {
	if [ ! -x /bin/devfile_suite ]; then
		check "$1" absent
		return 0
	fi
	set -- "$1"
	_t=$(cmdline_arg devfile_tests)
	_n=$(cmdline_arg devfile_ops)
	_d=$(cmdline_arg devfile_dev)
	_p=$(cmdline_arg devfile_pair)
	[ -n "$_t" ] && set -- "$@" -t "$_t"
	[ -n "$_n" ] && set -- "$@" -n "$_n"
	[ -n "$_d" ] && set -- "$@" -d "/dev/$_d"
	case "$_p" in
	a:*) set -- "$@" -r a -p "/dev/${_p#a:}" ;;
	?*) set -- "$@" -r "$_p" ;;
	esac
	_key=$1
	shift
	/bin/devfile_suite "$@" 2>&1 | tee /tmp/devfile_suite.out |
		while IFS= read -r line; do
			say "$line"
		done
	_f=$(sed -n 's/^DEVFILE-SUITE done failures=\([0-9]*\)$/\1/p' \
		/tmp/devfile_suite.out | tail -n 1)
	check "$_key" "${_f:-incomplete}"
}
