# Shell helpers shared by bench.sh and stress.sh: sourced, never run.
# shellcheck shell=bash

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# pid_alive PID: running and not a zombie.
pid_alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st:0:1}" != Z ]
}

pid_gone() { ! pid_alive "$1"; }

# wait_for SECONDS COMMAND...: polls COMMAND every 50 ms; fails once SECONDS pass.
wait_for() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}
