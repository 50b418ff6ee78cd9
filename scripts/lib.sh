# Shell helpers shared by bench.sh and stress.sh: sourced, never run.
# shellcheck shell=bash

# now_ms: milliseconds of a monotonic clock (/proc/uptime, CLOCK_BOOTTIME, in steps of
# 10 ms): a wall-clock step must neither end a wait early nor stretch it.
now_ms() {
	local up
	read -r up _ </proc/uptime
	up=${up/./}
	echo $((10#$up * 10))
}

# pid_alive PID: running and not a zombie.
pid_alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st:0:1}" != Z ]
}

pid_gone() { ! pid_alive "$1"; }

# need_arg OPTION [VALUE...]: the option was given a value; else die_usage, which
# each script defines with its own name and hint.
need_arg() {
	[[ $# -ge 2 && -n $2 ]] || die_usage "$1 needs a value"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 50 ms; fails once SECONDS pass.
wait_for() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}
