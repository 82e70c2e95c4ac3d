# Sourced by tests/initramfs/init-debian (user guest g1, on the stub's
# forwarded nodes) and tests/initramfs/init-driver (the driver VM, natively
# on the real nodes, devfile_native_probes=1): the same unmodified Debian
# programs on each device class, so that tests/system/test_real_devices.py
# compares the two runs of one boot. Needs checks.sh (say, check) and
# lines (below). Each side's lines are in its own serial log.
# run_small_probes (at the end) is the Bochs test's smaller set for the
# busybox images (init-driver, init-guest).
#   PROBE_TONES="HW MMAP"  the frequencies (Hz) aplay plays through the
#                          ioctl path and with -M (default "440 660"):
#                          the two sides play different ones, so that the
#                          harness tells them apart in QEMU's recording.

# stop_all PID...: end background readers (TERM, then KILL) and reap them.
# No timeout(1) and no bare wait: as PID 1, busybox sh's wait also waits
# for orphans it inherited (a daemon, timeout's watcher), and a reader
# that outlives its timeout would hold the probes for good.
stop_all() {
	kill "$@" 2>/dev/null
	sleep 1
	kill -9 "$@" 2>/dev/null
	for _sp in "$@"; do
		wait "$_sp" 2>/dev/null
	done
}

# run_for SECS CMD...: CMD's status, or 124 when it ran SECS and was
# stopped.
run_for() {
	_rs=$1
	shift
	"$@" &
	_rp=$!
	_ri=0
	while kill -0 "$_rp" 2>/dev/null && [ $_ri -lt $((_rs * 5)) ]; do
		sleep 0.2
		_ri=$((_ri + 1))
	done
	if kill -0 "$_rp" 2>/dev/null; then
		stop_all "$_rp"
		return 124
	fi
	wait "$_rp"
}

# Each line of a command's output as a marker line: PREFIX <line>.
lines() {
	while IFS= read -r _l; do
		say "$1 $_l"
	done
}

# Honest probes: each runs the unmodified Debian tool on the forwarded
# node and reports what the driver VM's device answered.
run_probes() {
	set -- ${PROBE_TONES:-440 660}
	_hz_hw=$1 _hz_mmap=$2
	# GPU: bochs-drm's connectors and modes, through the DRM ioctls.
	if [ -c /dev/dri/card0 ]; then
		modetest -M bochs-drm -c >/tmp/modetest.out 2>&1
		check drm_modetest "$?"
		check drm_connectors "$(grep -c 'connected' /tmp/modetest.out)"
		check drm_connected "$(awk '$3 == "connected" { print $4 }' \
			/tmp/modetest.out | tr '\n' ' ' | sed 's/ $//')"
		check drm_first_mode "$(awk '/^  modes:/ { getline; getline;
			print $2; exit }' /tmp/modetest.out)"
		lines DEVIRT-OUT-modetest </tmp/modetest.out
		# libdrm's own lookup (drmGetDevices2): PCI bus and ids from
		# the node's mirrored sysfs.
		drmdevice >/tmp/drmdevice.out 2>&1
		check drm_getdevice "$?"
		lines DEVIRT-OUT-drmdevice </tmp/drmdevice.out
		# A mode set, held 25 s: the harness takes a screendump on
		# DEVIRT-SHOT. While it holds the mode, a second opener of the
		# primary node is not DRM master: its mode set must fail.
		_c=$(awk '$3 == "connected" { print $1; exit }' /tmp/modetest.out)
		(sleep 25) | modetest -M bochs-drm -s "$_c:1024x768" \
			>/tmp/modeset.out 2>&1 &
		_mp=$!
		sleep 8
		say "DEVIRT-SHOT modeset connector=$_c"
		# A second opener while the first holds the mode: not master.
		modetest -M bochs-drm -s "$_c:800x600" </dev/null \
			>/tmp/modeset2.out 2>&1
		check drm_second_setcrtc "$?"
		lines DEVIRT-OUT-modeset2 </tmp/modeset2.out
		wait "$_mp"
		lines DEVIRT-OUT-modeset </tmp/modeset.out
	else
		check drm_modetest nodev
	fi

	# Input: evtest's scan (EVIOCGNAME on every event node).
	if ls /dev/input/event* >/dev/null 2>&1; then
		evtest </dev/null >/tmp/evtest.out 2>&1
		grep '^/dev/input/event' /tmp/evtest.out | lines DEVIRT-OUT-evtest
		check input_devices "$(grep -c '^/dev/input/event' /tmp/evtest.out)"
		_k=""
		for _e in /dev/input/event*; do
			# --query: 0 = key up, 10 = down, else an error.
			evtest --query "$_e" EV_KEY KEY_A 2>/dev/null
			case $? in
			0 | 10) _k="$_k${_k:+,}${_e#/dev/input/}" ;;
			esac
		done
		check input_key_query "$_k"
		check input_udev_keyboard "$(udevadm info -q property -n \
			"$(ls /dev/input/event* | head -n 1)" 2>/dev/null |
			sed -n 's/^ID_INPUT_KEYBOARD=//p')"
		# udev's enumeration, as SDL2 and libinput do it.
		_kbd="" _mouse=""
		for _e in /dev/input/event*; do
			_p=$(udevadm info -q property -n "$_e" 2>/dev/null)
			echo "$_p" | grep -q '^ID_INPUT_KEYBOARD=1' &&
				_kbd="$_kbd${_kbd:+,}${_e#/dev/input/}"
			echo "$_p" | grep -q '^ID_INPUT_MOUSE=1' &&
				_mouse="$_mouse${_mouse:+,}${_e#/dev/input/}"
		done
		check input_udev_keyboards "$_kbd"
		check input_udev_mice "$_mouse"
		# Keys and motion that the harness injects through QEMU's
		# monitor on DEVIRT-INPUT-READY: one evtest grabs the keyboard
		# (EVIOCGRAB), a second one must then see none of its keys.
		_k=/dev/input/${_kbd%%,*}
		evtest --grab "$_k" >/tmp/ev-grab.out 2>&1 &
		_readers=$!
		sleep 1
		evtest "$_k" >/tmp/ev-kbd.out 2>&1 &
		_readers="$_readers $!"
		# Every mouse: QEMU's motion reaches the one it emulates
		# (relative PS/2, or absolute through the VMware mouse).
		for _m in $(echo "$_mouse" | tr , ' '); do
			evtest "/dev/input/$_m" >"/tmp/ev-$_m.out" 2>&1 &
			_readers="$_readers $!"
		done
		sleep 3
		say "DEVIRT-INPUT-READY kbd=$_k mice=$_mouse"
		sleep 15
		# shellcheck disable=SC2086
		stop_all $_readers
		check input_grab_keys "$(grep -c 'KEY_A), value 1' /tmp/ev-grab.out)"
		check input_other_keys "$(grep -c 'KEY_A), value 1' /tmp/ev-kbd.out)"
		check input_mouse_rel "$(cat /tmp/ev-event*.out 2>/dev/null |
			grep -c -E '(REL|ABS)_[XY]\), value')"
		grep 'Event:' /tmp/ev-grab.out | head -n 8 | lines DEVIRT-OUT-evgrab
		cat /tmp/ev-event*.out 2>/dev/null | grep 'Event:.*_[XY])' |
			head -n 4 | lines DEVIRT-OUT-evmouse
	else
		check input_devices 0
	fi

	# Sound: the card list and two 1 s tones on hw:0,0.
	if [ -c /dev/snd/controlC0 ]; then
		aplay -l >/tmp/aplay.out 2>&1
		check alsa_list "$?"
		lines DEVIRT-OUT-aplay </tmp/aplay.out
		check alsa_card0 "$(sed -n 's/^card 0: \([^ ]*\) .*/\1/p' \
			/tmp/aplay.out | head -n 1)"
		sox -q -n -r 48000 -c 2 -b 16 /tmp/tone.wav synth 1 sine "$_hz_hw" \
			vol 0.5 2>/dev/null
		# The first through the ioctl path (WRITEI), the second with -M
		# (ALSA's status and control pages mmapped): the harness finds
		# both in QEMU's recording.
		say "DEVIRT-TONE $_hz_hw hw"
		aplay -q -D hw:0,0 /tmp/tone.wav >/tmp/aplay1.out 2>&1
		check alsa_play_hw "$?"
		lines DEVIRT-OUT-aplay </tmp/aplay1.out
		sox -q -n -r 48000 -c 2 -b 16 /tmp/tone2.wav synth 1 sine "$_hz_mmap" \
			vol 0.5 2>/dev/null
		say "DEVIRT-TONE $_hz_mmap mmap"
		aplay -q -M -D hw:0,0 /tmp/tone2.wav >/tmp/aplay2.out 2>&1
		check alsa_play_mmap "$?"
		lines DEVIRT-OUT-aplay </tmp/aplay2.out
	else
		check alsa_list nodev
	fi

	# Camera: vivid's identity and three frames by mmap streaming.
	if [ -c /dev/video0 ]; then
		v4l2-ctl --list-devices 2>&1 | lines DEVIRT-OUT-v4l2
		check v4l2_driver "$(v4l2-ctl -d /dev/video0 --info 2>/dev/null |
			sed -n 's/^[[:space:]]*Driver name[[:space:]]*: //p')"
		# No on-screen text: vivid's colour bars alone, the same in
		# every frame.
		v4l2-ctl -d /dev/video0 -c osd_text_mode=2 2>&1 |
			lines DEVIRT-OUT-v4l2
		v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=3 \
			--stream-to=/tmp/frames.raw >/dev/null 2>&1
		check v4l2_stream "$?"
		_b=$(wc -c </tmp/frames.raw 2>/dev/null || echo 0)
		check v4l2_bytes "$_b"
		_f=$((_b / 3))
		_sums=""
		for _i in 0 1 2; do
			_sums="$_sums${_sums:+,}$(dd if=/tmp/frames.raw bs="$_f" \
				skip=$_i count=1 2>/dev/null | md5sum | cut -c1-12)"
		done
		check v4l2_frame_md5 "$_sums"
		# A limit, measured (docs/devfile.md): user-pointer buffers
		# do not cross VMs.
		run_for 20 v4l2-ctl -d /dev/video0 --stream-user --stream-count=1 \
			--stream-to=/dev/null >/tmp/userptr.out 2>&1
		check v4l2_userptr "$?"
		lines DEVIRT-OUT-userptr </tmp/userptr.out
		check v4l2_format "$(v4l2-ctl -d /dev/video0 --get-fmt-video \
			2>/dev/null | sed -n 's/.*Width\/Height *: *//p')"
	else
		check v4l2_driver nodev
	fi
}

# The Bochs VT-x real-device probes (boot/devirt-vmx.cfg,
# tests/system/test_vmx_real_devices.py), for the busybox images with
# Debian's modetest and evtest and their libraries (tools/debian-progs.sh):
# the driver VM runs them natively (devfile_native_probes=small), g1 on the
# forwarded nodes (devfile_real_probes=1). A mode set that holds until a
# key: evtest reads the keyboard while the mode is set; the harness
# captures the screen on DEVIRT-SHOT, then types on DEVIRT-INPUT-READY and
# ends with Escape, which releases the mode (or SMALL_PROBE_WAIT seconds,
# default 120, pass without one). Few fixed sleeps: under Bochs a guest
# second is several seconds of the harness's. (evtest writes unbuffered.)

# wait_for FILE PATTERN TENTHS: until FILE has a line matching PATTERN (0),
# or TENTHS tenths of a second passed (1).
wait_for() {
	_wi=0
	until grep -q "$2" "$1" 2>/dev/null; do
		[ $_wi -ge "$3" ] && return 1
		sleep 0.1
		_wi=$((_wi + 1))
	done
}

run_small_probes() {
	_wait=$((${SMALL_PROBE_WAIT:-120} * 10))
	# GPU: the connectors and modes, then the connected one's number.
	_c=""
	if [ -c /dev/dri/card0 ]; then
		modetest -M bochs-drm -c >/tmp/modetest.out 2>&1
		check drm_modetest "$?"
		check drm_connected "$(awk '$3 == "connected" { print $4 }' \
			/tmp/modetest.out | tr '\n' ' ' | sed 's/ $//')"
		check drm_first_mode "$(awk '/^  modes:/ { getline; getline;
			print $2; exit }' /tmp/modetest.out)"
		lines DEVIRT-OUT-modetest </tmp/modetest.out
		_c=$(awk '$3 == "connected" { print $1; exit }' /tmp/modetest.out)
	else
		check drm_modetest nodev
	fi
	# Input: evtest's scan (EVIOCGNAME on every event node); the first
	# one named a keyboard, read from now on.
	_k=""
	if ls /dev/input/event* >/dev/null 2>&1; then
		evtest </dev/null >/tmp/evtest.out 2>&1
		grep '^/dev/input/event' /tmp/evtest.out | lines DEVIRT-OUT-evtest
		_k=$(sed -n 's,^\(/dev/input/event[0-9]*\):.*[Kk]eyboard.*,\1,p' \
			/tmp/evtest.out | head -n 1)
	fi
	check input_keyboard "${_k#/dev/input/}"
	: >/tmp/ev-kbd.out
	_ep=""
	if [ -n "$_k" ]; then
		evtest "$_k" >/tmp/ev-kbd.out 2>&1 &
		_ep=$!
		wait_for /tmp/ev-kbd.out '^Testing' 100
	fi
	# modetest -s holds the mode until its stdin ends: at Escape.
	_mp=""
	if [ -n "$_c" ]; then
		wait_for /tmp/ev-kbd.out 'KEY_ESC), value 1' "$_wait" |
			modetest -M bochs-drm -s "$_c:1024x768" >/tmp/modeset.out 2>&1 &
		_mp=$!
		# (Its output is buffered until it ends: no line to wait for.
		# The harness captures until it sees the pattern.)
		sleep 1
		say "DEVIRT-SHOT modeset connector=$_c"
	fi
	if [ -n "$_ep" ]; then
		say "DEVIRT-INPUT-READY kbd=$_k"
		wait_for /tmp/ev-kbd.out 'KEY_ESC), value 1' "$_wait"
		kill "$_ep"
		wait "$_ep"
		# The keys pressed, in order: KEY_D,KEY_E,...
		check input_keys "$(sed -n 's/.*EV_KEY), code [0-9]* (\(KEY_[A-Z0-9_]*\)), value 1.*/\1/p' \
			/tmp/ev-kbd.out | tr '\n' ',' | sed 's/,$//')"
		grep 'Event:.*EV_KEY' /tmp/ev-kbd.out | head -n 20 |
			lines DEVIRT-OUT-evkeys
	fi
	if [ -n "$_mp" ]; then
		wait "$_mp"
		check drm_modeset "$?"
		lines DEVIRT-OUT-modeset </tmp/modeset.out
	fi
}
