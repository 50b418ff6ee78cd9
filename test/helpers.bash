# Shared BATS helpers, loaded by every suite: start preforkd on 127.0.0.1:0 in the
# test's temp dir and wait for it through its admin socket, run a command with an
# expected exit status under a time limit, assertions that print expected against
# actual, and a default teardown that stops by pid every process a test started
# and fails when one is left behind. Waits, liveness and stopping a pid come from
# scripts/lib.sh, which the scripts use too.
# shellcheck shell=bash
# Variables set here are for the suites; $status, $output and $lines are BATS's run's.
# shellcheck disable=SC2034,SC2154

ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
PREFORKD="${PREFORKD:-$ROOT/bin/preforkd}"
CLIENT="$ROOT/bin/prefork-client"
CTL="$ROOT/bin/preforkctl"
BENCHSTAT="$ROOT/scripts/benchstat.py"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

# The default teardown: stops what the test started, then runs the suite's
# suite_cleanup if it has one (temp dirs outside $BATS_TEST_TMPDIR, its own helper
# processes); fails when a process was left behind, whatever the cleanup returns. A
# suite that must act before the servers stop defines its own and calls this.
teardown() {
	local rc=0
	teardown_servers || rc=$?
	if declare -F suite_cleanup >/dev/null; then suite_cleanup || true; fi
	return "$rc"
}

# ---- starting and stopping preforkd ----

# start_server [OPTIONS...]: starts preforkd in the background on 127.0.0.1:0 (a
# --listen among OPTIONS replaces it; several are several listeners) with --workers 2
# unless OPTIONS say otherwise, and a pidfile, log and admin socket in
# $BATS_TEST_TMPDIR (a test may choose them by setting SERVER_LOG, SERVER_PIDFILE or
# SERVER_ADMIN first; an --admin among OPTIONS sets SERVER_ADMIN). BATS's fd 3 is
# closed for it, so nothing it leaves running can hold up the suite's output. Records
# its pid for teardown_servers, then waits until the admin socket reports every
# configured worker at accept(); fails at once, with the log, if the server exits.
# Sets SERVER_PID, SERVER_ADDR (HOST:PORT, as logged) and SERVER_PORT.
start_server() {
	SERVER_LOG="${SERVER_LOG:-$BATS_TEST_TMPDIR/preforkd.log}"
	SERVER_PIDFILE="${SERVER_PIDFILE:-$BATS_TEST_TMPDIR/preforkd.pid}"
	SERVER_ADMIN="${SERVER_ADMIN:-$BATS_TEST_TMPDIR/preforkd.sock}"
	: >"$SERVER_LOG"
	local listen=(--listen 127.0.0.1:0) a prev=
	for a in "$@"; do
		[[ $a == --listen || $a == --listen=* ]] && listen=()
		# an --admin among OPTIONS wins over the default: wait on that socket
		[ "$prev" != --admin ] || SERVER_ADMIN=$a
		[[ $a != --admin=* ]] || SERVER_ADMIN=${a#--admin=}
		prev=$a
	done
	# START_NO_LISTEN: none at all (the sockets come through LISTEN_FDS)
	[ -z "${START_NO_LISTEN:-}" ] || listen=()
	"$PREFORKD" "${listen[@]}" --workers 2 --pidfile "$SERVER_PIDFILE" \
		--log "$SERVER_LOG" --admin "$SERVER_ADMIN" "$@" </dev/null 3>&- &
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	if ! wait_until -q "${START_TIMEOUT:-20}" ready_or_gone "$SERVER_PID" ||
		! process_alive "$SERVER_PID" || ! log_listening "$SERVER_LOG"; then
		echo "preforkd (pid $SERVER_PID) did not come up within ${START_TIMEOUT:-20}s" \
			"($(process_alive "$SERVER_PID" && echo running || echo exited)):" >&2
		# What a live one is: its program and where the kernel holds it.
		if process_alive "$SERVER_PID"; then
			echo "  $(cat "/proc/$SERVER_PID/comm" 2>/dev/null), waiting in" \
				"$(cat "/proc/$SERVER_PID/wchan" 2>/dev/null)" >&2
			head -5 "/proc/$SERVER_PID/stack" >&2 2>/dev/null || true
		fi
		cat "$SERVER_LOG" >&2
		return 1
	fi
	SERVER_ADDR=$(listen_addr "$SERVER_LOG")
	SERVER_PORT=${SERVER_ADDR##*:}
}

# ready_or_gone PID: the server's admin socket reports every worker ready, or PID
# has exited (no use waiting for it then).
ready_or_gone() {
	process_gone "$1" || all_workers_ready
}

# all_workers_ready: every worker the server is configured for is at accept().
all_workers_ready() {
	"$CTL" -s "$SERVER_ADMIN" stats json 2>/dev/null |
		jq_in -e '.pool.configured > 0 and .pool.idle + .pool.busy == .pool.configured' >/dev/null
}

# workers_ready N: N workers have reached accept4(), as the admin socket reports.
workers_ready() {
	"$CTL" -s "$SERVER_ADMIN" stats json | jq_in -e ".pool.idle + .pool.busy == $1" >/dev/null
}

# stop_server [PID]: SIGTERM by pid (SIGKILL after 15 s); then waits up to 5 s for
# each worker it had to go, and SIGKILLs one that does not.
stop_server() {
	local pid=${1:-$SERVER_PID} workers w
	[ -n "$pid" ] || return 0
	workers=$(child_pids "$pid")
	stop_pid "$pid" 15 || true
	for w in $workers; do
		wait_until -q 5 process_gone "$w" || kill -KILL "$w" 2>/dev/null || true
	done
}

# spawn COMMAND...: runs COMMAND (a program or a function) in the background with
# stdin from /dev/null and without BATS's fd 3; sets SPAWNED to its pid and tracks
# it. Redirections written after `spawn COMMAND` apply to COMMAND.
spawn() {
	"$@" </dev/null 3>&- &
	SPAWNED=$!
	track "$SPAWNED"
}

# track PID...: processes a test started itself (`cmd ... 3>&- &`, then `track $!`),
# for teardown_servers to stop by pid and check.
track() {
	printf '%s\n' "$@" >>"$BATS_TEST_TMPDIR/extra.pids"
}

# stop_tracked: stops, by pid, every process track recorded so far (teardown does it
# too; a test calls it to end its helpers before it goes on).
stop_tracked() {
	local pids pid
	[ -f "$BATS_TEST_TMPDIR/extra.pids" ] || return 0
	mapfile -t pids <"$BATS_TEST_TMPDIR/extra.pids"
	rm -f "$BATS_TEST_TMPDIR/extra.pids"
	for pid in "${pids[@]}"; do stop_tree "$pid" 5; done
}

# A stand-in admin server: python3 -c "$FAKE_ADMIN_SERVER" PATH REPLY answers every
# connection with REPLY (a Python bytes literal) and closes; PATH.up appears once it
# listens. Run it as whoever should own the socket.
# shellcheck disable=SC2034 # used by the suites that load this file
FAKE_ADMIN_SERVER='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
open(sys.argv[1] + ".up", "w").close()
while True:
    c, _ = s.accept()
    try:
        c.recv(4096)
        c.sendall(eval(sys.argv[2]))
    except OSError:
        pass
    c.close()'

# teardown_servers: the teardown of every suite. Closes a client fd $HELD left
# open, stops every spawned process and every server started, by pid, then proves
# that none of them, and none of their children, is left: a child still there 5 s
# after its parent stopped is named, killed, and fails the test.
teardown_servers() {
	local pids pid leftover=""
	if [ -n "${HELD:-}" ]; then
		exec {HELD}>&-
		HELD=""
	fi
	stop_tracked
	if [ -f "$BATS_TEST_TMPDIR/started.pids" ]; then
		mapfile -t pids <"$BATS_TEST_TMPDIR/started.pids"
		rm -f "$BATS_TEST_TMPDIR/started.pids"
		for pid in "${pids[@]}"; do stop_tree "$pid" 15; done
	fi
	if [ -n "$leftover" ]; then
		echo "processes left behind:$leftover" >&2
		for pid in $leftover; do kill -KILL "$pid" 2>/dev/null || true; done
		return 1
	fi
}

# stop_tree PID SECONDS: for teardown_servers, which holds $leftover: stops PID
# (SIGKILL after SECONDS), then gives each of its children 5 s to go on its own.
stop_tree() {
	local kids k
	kids=$(child_pids "$1")
	stop_pid "$1" "$2" || true
	process_alive "$1" && leftover="$leftover $1"
	for k in $kids; do
		wait_until -q 5 process_gone "$k" || leftover="$leftover $k"
	done
}

# ---- running commands and asserting ----

# run_expect STATUS COMMAND...: BATS's `run` of COMMAND without fd 3, under
# `timeout` ($RUN_TIMEOUT seconds, default 30) when COMMAND is a program; sets
# $status, $output and $lines. STATUS is a number, '!' for any failure or '?' for
# any status. On a mismatch it prints the command, the expected and actual status
# and the output, and fails.
run_expect() {
	local want=$1 limit=${RUN_TIMEOUT:-30}
	shift
	if declare -F "$1" >/dev/null; then
		run "$@" 3>&-
	else
		run timeout --kill-after=5 "$limit" "$@" 3>&-
	fi
	case "$want" in
	'?') return 0 ;;
	'!') [ "$status" -ne 0 ] && return 0 ;;
	*) [ "$status" -eq "$want" ] && return 0 ;;
	esac
	{
		echo "FAIL: exit status of: $*"
		echo "  expected: $([ "$want" = '!' ] && echo 'not 0' || echo "$want")"
		echo "    actual: $status$([ "$status" -eq 124 ] && echo " (timed out after ${limit}s)")"
		echo "    output:"
		echo "      | ${output//$'\n'/$'\n'      | }"
	} >&2
	return 1
}

# run_ok COMMAND...: exits 0; run_fail COMMAND...: exits with any other status.
run_ok() { run_expect 0 "$@"; }
run_fail() { run_expect '!' "$@"; }

# fail MESSAGE...: says why on stderr and fails.
fail() {
	echo "FAIL: $*" >&2
	return 1
}

# assertion_failed WHAT EXPECTED ACTUAL: the report of a failed assertion, each
# value quoted, with its later lines indented under the first.
assertion_failed() {
	{
		echo "FAIL: $1"
		printf '  expected: %s\n' "$(sed '2,$s/^/            /' <<<"$2")"
		printf '    actual: %s\n' "$(sed '2,$s/^/            /' <<<"$3")"
	} >&2
	return 1
}

# assert_eq ACTUAL EXPECTED [WHAT]: the same string.
assert_eq() {
	[ "$1" = "$2" ] || assertion_failed "${3:-values differ}" "'$2'" "'$1'"
}

# assert_match ACTUAL REGEX [WHAT]: ACTUAL matches the extended regular expression.
assert_match() {
	[[ $1 =~ $2 ]] || assertion_failed "${3:-no match}" "=~ $2" "'$1'"
}

# assert_contains ACTUAL TEXT [WHAT]: TEXT appears in ACTUAL, as written.
assert_contains() {
	[[ $1 == *"$2"* ]] || assertion_failed "${3:-text missing}" "contains '$2'" "'$1'"
}

# assert_ge / assert_le ACTUAL BOUND [WHAT]: integers, ACTUAL >= or <= BOUND.
assert_ge() {
	if [[ $1 =~ ^-?[0-9]+$ ]] && [ "$1" -ge "$2" ]; then return 0; fi
	assertion_failed "${3:-too small}" ">= $2" "'$1'"
}

assert_le() {
	if [[ $1 =~ ^-?[0-9]+$ ]] && [ "$1" -le "$2" ]; then return 0; fi
	assertion_failed "${3:-too large}" "<= $2" "'$1'"
}

# ---- the server's pool and log ----

worker_pids() {
	child_pids "${1:-$SERVER_PID}"
}

# shellcheck disable=SC2120 # an optional master pid
worker_count() {
	child_count "${1:-$SERVER_PID}"
}

has_workers() {
	[ "$(worker_count)" -eq "$1" ]
}

# established_to_server N: at least N TCP connections to the server are established
# (accepted, or complete and waiting in the accept queue).
established_to_server() {
	[ "$(ss -Htn state established "( sport = :$SERVER_PORT )" | grep -c .)" -ge "$1" ]
}

# start_hung_once [OPTIONS...]: a server of one worker that hangs mid-request on its first
# connection (test fault hang-after:0), for --worker-timeout 1 to kill; only the
# worker started while the fault file existed hangs, its replacement is healthy.
# HUNG_PID: the hanging worker's pid. Needs the test build ($ROOT/bin/test/preforkd).
# OPTIONS are more preforkd options; HUNG_FAULT_DIR, if set, holds the fault file (a
# directory that workers of another user can search).
start_hung_once() {
	export PREFORKD_TEST_FAULT=hang-after:0
	export PREFORKD_TEST_FAULT_FILE="${HUNG_FAULT_DIR:-$BATS_TEST_TMPDIR}/fault"
	touch "$PREFORKD_TEST_FAULT_FILE"
	start_server --workers 1 --worker-timeout 1 --idle-timeout 0.5 --first-byte-timeout 0.5 \
		--pressure-idle 0 "$@"
	HUNG_PID=$(worker_pids "$SERVER_PID")
	rm "$PREFORKD_TEST_FAULT_FILE"
}

log_has() {
	grep -q -- "$1" "$SERVER_LOG"
}

# log_has_n PATTERN N: at least N lines of the server's log match PATTERN.
log_has_n() {
	[ "$(grep -c -- "$1" "$SERVER_LOG")" -ge "$2" ]
}

# log_times_ms MARK PATTERN: milliseconds since midnight (UTC) of each log line after
# line MARK that matches PATTERN, by the server's own timestamps.
log_times_ms() {
	tail -n +"$(($1 + 1))" "$SERVER_LOG" | grep -- "$2" |
		sed -E 's/^[0-9-]+T([0-9]+):([0-9]+):([0-9.]+)Z.*/\1 \2 \3/' |
		awk '{ printf "%d\n", ($1 * 3600 + $2 * 60 + $3) * 1000 }'
}

# echo_once MESSAGE: one echo round trip through prefork-client.
echo_once() {
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 5 "$@"
}

# stat_json JQ_PATH: one field of the server's `stats json`.
stat_json() {
	"$CTL" -s "$SERVER_ADMIN" stats json | jq -r "$1"
}

# stat_is JQ_PATH VALUE, stat_at_least JQ_PATH N: conditions on one field of
# `stats json` for wait_until, which reads the field again on each try.
stat_is() { [ "$(stat_json "$1")" = "$2" ]; }
stat_at_least() { [ "$(stat_json "$1")" -ge "$2" ]; }

# json_true FILTER: the server's `stats json` passes the jq FILTER (for wait_until).
json_true() {
	"$CTL" -s "$SERVER_ADMIN" stats json | jq_in -e "$1" >/dev/null
}

# hold_worker: one worker becomes busy with a client this shell keeps open, on the
# fd in $HELD (release_worker closes it; teardown_servers closes a $HELD left open).
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

# ---- stand-ins: systemd's notification socket, a misbehaving echo server ----

# start_notify_listener ADDRESS: a Unix datagram socket standing in for systemd
# (ADDRESS may be @abstract); each datagram received is appended to $NOTIFY_OUT,
# followed by a "--" line. Spawned: teardown_servers stops it, or stop_notify_listener.
start_notify_listener() {
	NOTIFY_OUT="$BATS_TEST_TMPDIR/notify.out"
	: >"$NOTIFY_OUT"
	spawn python3 -c '
import socket, sys
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        f.write(s.recv(4096).decode() + "\n--\n")
' "$1" "$NOTIFY_OUT"
	LISTENER_PID=$SPAWNED
	wait_until 5 grep -q LISTENING "$NOTIFY_OUT"
}

stop_notify_listener() {
	[ -n "${LISTENER_PID:-}" ] || return 0
	stop_pid "$LISTENER_PID" 5
	LISTENER_PID=""
}

notified() {
	grep -qx -- "$1" "$NOTIFY_OUT"
}

notified_times() {
	[ "$(grep -cx -- "$1" "$NOTIFY_OUT")" -ge "$2" ]
}

# start_flip [MODE] [--delay MS]: test/tools/flip_echo on 127.0.0.1:0 (see
# test/README.md); sets FLIP_PID and FLIP_ADDR. Spawned: teardown_servers stops it.
start_flip() {
	local portfile="$BATS_TEST_TMPDIR/flip.port"
	rm -f "$portfile"
	spawn "$ROOT/bin/test/flip_echo" "$portfile" "$@"
	FLIP_PID=$SPAWNED
	# flip_echo writes the file by rename, so a non-empty file holds the whole port
	wait_until 5 test -s "$portfile"
	FLIP_ADDR="127.0.0.1:$(cat "$portfile")"
}
