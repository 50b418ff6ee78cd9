# Shared BATS helpers: start preforkd on 127.0.0.1:0 in the test's temp dir, learn
# its port from the log, wait by polling (never a bare sleep), stop it by PID and
# check that nothing is left behind.
# shellcheck shell=bash

ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
PREFORKD="${PREFORKD:-$ROOT/bin/preforkd}"
CLIENT="$ROOT/bin/prefork-client"

# wait_until SECONDS COMMAND...: polls COMMAND every 50 ms until it succeeds.
wait_until() {
	local limit=$1
	shift
	local deadline=$((SECONDS + limit + 1))
	local start
	start=$(date +%s%N)
	while ! "$@" 2>/dev/null; do
		if (( ($(date +%s%N) - start) / 1000000 >= limit * 1000 )) || ((SECONDS > deadline)); then
			echo "timed out after ${limit}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

worker_pids() {
	ps -o pid= --ppid "${1:-$SERVER_PID}" 2>/dev/null | tr -d ' ' | sort -n
}

# shellcheck disable=SC2120 # an optional master pid
worker_count() {
	worker_pids "$@" | grep -c . || true
}

has_workers() {
	[ "$(worker_count)" -eq "$1" ]
}

# established_to_server N: at least N TCP connections to the server are established
# (accepted, or complete and waiting in the accept queue).
established_to_server() {
	[ "$(ss -Htn state established "( sport = :$SERVER_PORT )" | grep -c .)" -ge "$1" ]
}

log_has() {
	grep -q -- "$1" "$SERVER_LOG"
}

# start_server [OPTIONS...]: starts preforkd in the background with a pidfile, log
# and admin socket in $BATS_TEST_TMPDIR; sets SERVER_PID, SERVER_PORT, SERVER_ADDR.
# --workers defaults to 2 unless given. Waits until every worker is running.
start_server() {
	local workers=2 arg
	for arg in "$@"; do
		case "$arg" in --workers=*) workers=${arg#--workers=} ;; esac
	done
	local prev=""
	for arg in "$@"; do
		[ "$prev" = "--workers" ] && workers=$arg
		prev=$arg
	done
	# A test may choose the log's place (a directory of its own) by setting SERVER_LOG.
	SERVER_LOG="${SERVER_LOG:-$BATS_TEST_TMPDIR/preforkd.log}"
	SERVER_PIDFILE="$BATS_TEST_TMPDIR/preforkd.pid"
	SERVER_ADMIN="$BATS_TEST_TMPDIR/preforkd.sock"
	: >"$SERVER_LOG"
	"$PREFORKD" --listen 127.0.0.1:0 --workers "$workers" --pidfile "$SERVER_PIDFILE" \
		--log "$SERVER_LOG" --admin "$SERVER_ADMIN" "$@" </dev/null &
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 5 log_has "listening on" || { cat "$SERVER_LOG" >&2; return 1; }
	SERVER_PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$SERVER_LOG" | head -1)
	SERVER_ADDR="127.0.0.1:$SERVER_PORT"
	wait_until 5 has_workers "$workers"
	wait_until 5 workers_ready "$workers"
}

# workers_ready N: N workers have reached accept4(), as the admin socket reports.
workers_ready() {
	"$ROOT/bin/preforkctl" -s "$SERVER_ADMIN" stats json |
		jq -e ".pool.idle + .pool.busy == $1" >/dev/null
}

# echo_once MESSAGE: one echo round trip through prefork-client.
echo_once() {
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 5 "$@"
}

CTL="$ROOT/bin/preforkctl"

# stat_json JQ_PATH: one field of the server's `stats json`.
stat_json() {
	"$CTL" -s "$SERVER_ADMIN" stats json | jq -r "$1"
}

# hold_worker: one worker becomes busy with a client this shell keeps open, on the
# fd in $HELD (release_worker closes it; a teardown closes a $HELD left open).
hold_worker() {
	exec {HELD}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
	printf 'a' >&"$HELD"
	local got
	IFS= read -r -n 1 -t 5 got <&"$HELD"
	[ "$got" = a ]
}

release_worker() {
	exec {HELD}>&-
	HELD=""
}

# start_notify_listener ADDRESS: a Unix datagram socket standing in for systemd
# (ADDRESS may be @abstract); each datagram received is appended to $NOTIFY_OUT,
# followed by a "--" line. stop_notify_listener ends it.
start_notify_listener() {
	NOTIFY_OUT="$BATS_TEST_TMPDIR/notify.out"
	: >"$NOTIFY_OUT"
	python3 -c '
import socket, sys
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        f.write(s.recv(4096).decode() + "\n--\n")
' "$1" "$NOTIFY_OUT" </dev/null 3>&- &
	LISTENER_PID=$!
	wait_until 5 grep -q LISTENING "$NOTIFY_OUT"
}

stop_notify_listener() {
	[ -n "${LISTENER_PID:-}" ] || return 0
	kill -TERM "$LISTENER_PID" 2>/dev/null || true
	wait "$LISTENER_PID" 2>/dev/null || true
	LISTENER_PID=""
}

notified() {
	grep -qx -- "$1" "$NOTIFY_OUT"
}

notified_times() {
	[ "$(grep -cx -- "$1" "$NOTIFY_OUT")" -ge "$2" ]
}

# holds_file FILE PID...: one of the processes has FILE open (any fd).
holds_file() {
	local file pid fd
	file=$(readlink -f "$1")
	shift
	for pid in "$@"; do
		for fd in /proc/"$pid"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "$file" ] && return 0
		done
	done
	return 1
}

# One ps call: a zombie that is reaped between two checks (a daemon's, reaped by
# init at any moment) must read as gone, not as an empty state that is "not Z".
process_alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	st=${st//[[:space:]]/}
	[ -n "$st" ] && [ "${st:0:1}" != Z ]
}

process_gone() {
	! process_alive "$1"
}

# stop_server: SIGTERM by PID, wait for the master and every worker to go.
stop_server() {
	local pid=${1:-$SERVER_PID} workers
	[ -n "$pid" ] || return 0
	workers=$(worker_pids "$pid")
	if process_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		wait_until 15 process_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	for w in $workers; do
		wait_until 5 process_gone "$w" || kill -KILL "$w" 2>/dev/null || true
	done
}

# Teardown for every suite: stop what was started, then prove nothing is left.
teardown_servers() {
	local pid leftover=""
	[ -f "$BATS_TEST_TMPDIR/started.pids" ] || return 0
	while read -r pid; do
		local kids
		kids=$(worker_pids "$pid")
		stop_server "$pid"
		for k in $kids; do process_alive "$k" && leftover="$leftover $k"; done
		process_alive "$pid" && leftover="$leftover $pid"
	done <"$BATS_TEST_TMPDIR/started.pids"
	rm -f "$BATS_TEST_TMPDIR/started.pids"
	if [ -n "$leftover" ]; then
		echo "processes left behind:$leftover" >&2
		for pid in $leftover; do kill -KILL "$pid" 2>/dev/null || true; done
		return 1
	fi
}
