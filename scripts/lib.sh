# The one shell library of the project, sourced (never run) by scripts/bench.sh,
# scripts/stress.sh and test/helpers.bash: a monotonic clock, waits that poll with
# a time limit, process liveness, stopping a process by pid, and what a preforkd
# says in its log about where it listens. Numbers and verdicts are computed by
# scripts/benchstat.py, not here.
# shellcheck shell=bash

PREFORKD_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# now_ms: milliseconds of a monotonic clock. /proc/uptime is CLOCK_BOOTTIME in 10 ms
# steps, read by a builtin (no program started); $EPOCHREALTIME and date(1) follow
# the wall clock, whose steps must neither end a wait early nor stretch it.
now_ms() {
	local up
	read -r up _ </proc/uptime
	up=${up/./}
	echo $((10#$up * 10))
}

# ms_of SECONDS: whole or decimal seconds as milliseconds ("1.5" -> 1500); fails on
# anything else.
ms_of() {
	[[ ${1:-} =~ ^([0-9]+)([.]([0-9]*))?$ ]] || return 1
	local frac=${BASH_REMATCH[3]}000
	echo $((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
}

# wait_until [-q] SECONDS COMMAND...: runs COMMAND every 50 ms until it succeeds;
# fails once SECONDS (whole or decimal) have passed on the monotonic clock, saying
# so on stderr unless -q. COMMAND's stderr is dropped: a poll is meant to fail at
# first. Returns 2, whatever COMMAND does, when SECONDS is not a number.
wait_until() {
	local quiet=0 secs limit deadline
	if [ "${1:-}" = -q ]; then
		quiet=1
		shift
	fi
	secs=${1:-}
	limit=$(ms_of "$secs") || {
		echo "wait_until: expected seconds, got '$secs'" >&2
		return 2
	}
	shift
	deadline=$(($(now_ms) + limit))
	until "$@" 2>/dev/null; do
		if [ "$(now_ms)" -ge "$deadline" ]; then
			[ "$quiet" -eq 1 ] || echo "timed out after ${secs}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# jq_in ARGS...: jq ARGS on stdin, failing when stdin holds nothing but blanks. jq
# 1.6 exits 0 on empty input even with -e, so a check piped from a preforkctl that
# could not connect (a server not up yet, or gone) would pass; every -e check on
# a command's output goes through here.
jq_in() {
	local in
	in=$(cat) || return 1
	[[ $in == *[![:space:]]* ]] || return 1
	jq "$@" <<<"$in"
}

# process_alive PID: PID runs and is not a zombie. One read of /proc/PID/stat, so
# a zombie reaped between two looks (a daemon's, reaped by init at any moment)
# reads as gone, never as a state that is "not Z".
process_alive() {
	local stat
	[[ ${1:-} =~ ^[1-9][0-9]*$ ]] || return 1
	{ read -r stat </proc/"$1"/stat; } 2>/dev/null || return 1
	# The state follows the command name, which is in brackets and may hold spaces.
	stat=${stat##*) }
	[[ $stat != [ZX]* ]]
}

process_gone() { ! process_alive "$1"; }

# child_pids PID: the pids of PID's children, zombies too, one a line in order.
# Succeeds, printing nothing, when there are none.
child_pids() {
	{ ps -o pid= --ppid "$1" 2>/dev/null || true; } | tr -d ' ' | sort -n
}

# has_child PID: PID has at least one child (a zombie counts).
has_child() {
	[ -n "$(child_pids "$1")" ]
}

# child_count PID: how many children PID has, zombies too.
child_count() {
	child_pids "$1" | grep -c . || true
}

# stop_pid PID [SECONDS]: SIGTERM; SIGKILL when PID is still there after SECONDS
# (default 10); then reaps it if it is this shell's child. Fails only when PID
# outlives SIGKILL by 5 s. An empty PID or one already gone is not an error.
stop_pid() {
	local pid=${1:-} grace=${2:-10}
	[ -n "$pid" ] || return 0
	if process_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_until -q "$grace" process_gone "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
			wait_until -q 5 process_gone "$pid" || return 1
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

# log_listening LOG: the preforkd writing LOG has said where it listens.
log_listening() {
	grep -q ' listening on ' "$1" 2>/dev/null
}

# listen_addr LOG: the HOST:PORT ([::1]:PORT for IPv6) of the first "listening on"
# line of a preforkd log (its first listener, when it has several);
# listen_port LOG: its port alone.
listen_addr() {
	sed -n '/ listening on /{s/.* listening on //;s/, .*//;p;q;}' "$1"
}

listen_port() {
	local addr
	addr=$(listen_addr "$1")
	echo "${addr##*:}"
}

# need_arg OPTION [VALUE...]: the option was given a value; else die_usage, which
# each script defines with its own name and hint.
need_arg() {
	[[ $# -ge 2 && -n $2 ]] || die_usage "$1 needs a value"
}

# benchstat COMMAND [ARGUMENT]...: scripts/benchstat.py, run by the interpreter
# that `python3` names, found once (find_python), not through PATH at each call:
# a version manager's shim can take longer than a load run. With -S, as it needs
# nothing but the standard library.
benchstat() {
	[ -n "${BENCHSTAT_PYTHON:-}" ] || find_python || return 2
	"$BENCHSTAT_PYTHON" -S "$PREFORKD_SCRIPTS/benchstat.py" "$@"
}

# find_python: sets and exports BENCHSTAT_PYTHON.
find_python() {
	BENCHSTAT_PYTHON=$(python3 -c 'import sys; print(sys.executable or "python3")') &&
		export BENCHSTAT_PYTHON
}
