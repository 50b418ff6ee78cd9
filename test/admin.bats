#!/usr/bin/env bats
# The admin socket and preforkctl: every command on a live server, exact counters,
# totals that survive a worker's death, scaling, peer credentials, malformed and
# silent clients, stale and live sockets, stop and reload, and the LSB exit codes.

# shellcheck disable=SC2153 # CLIENT and the SERVER_* variables come from helpers.bash
load helpers


ctl() {
	"$CTL" --socket "$SERVER_ADMIN" "$@"
}

# stat_value KEY: one value of the `stats` text reply, whose keys are JSON paths.
stat_value() {
	ctl stats | sed -n "s/^$1: //p"
}

# stat_text_is KEY VALUE: the `stats` text reply says VALUE for KEY.
stat_text_is() {
	[ "$(stat_value "$1")" = "$2" ]
}

# status_json_true FILTER: `preforkctl --json` (the status) passes the jq FILTER.
status_json_true() {
	ctl --json | jq_in -e "$@" >/dev/null
}

# admin_raw FILE: sends FILE's bytes on the admin socket as they are, prints the reply.
admin_raw() {
	python3 - "$SERVER_ADMIN" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(open(sys.argv[2], 'rb').read())
out = b''
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except ConnectionResetError:
    pass
sys.stdout.write(out.decode())
EOF
}

# idle_clients N DIR: N admin clients connect and send nothing. DIR/idle.ready
# appears once all are connected, DIR/idle.first holds what the first one was
# told; all close when DIR/idle.stop appears (or after 30 s).
idle_clients() {
	python3 - "$SERVER_ADMIN" "$1" "$2" <<'EOF'
import os, socket, sys, time
path, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    socks.append(s)
open(os.path.join(d, 'idle.ready'), 'w').close()
socks[0].settimeout(10)
with open(os.path.join(d, 'idle.first'), 'wb') as f:
    f.write(socks[0].recv(100))
deadline = time.monotonic() + 30
while not os.path.exists(os.path.join(d, 'idle.stop')) and time.monotonic() < deadline:
    time.sleep(0.05)
EOF
}

worker_replaced() {
	process_gone "$1" && has_workers "$2" && ! worker_pids | grep -qx "$1"
}

@test "status, workers, stats, stats json and stats prometheus answer on a live server" {
	start_server --workers 2
	[ "$(echo_once "warm up")" = "warm up" ]
	run ctl status
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "preforkd "*" - running, pid $SERVER_PID" ]]
	[[ "$output" == *"Listen: $SERVER_ADDR (service echo)"* ]]
	[[ "$output" == *"Workers: 2 configured, 2 running"* ]]
	[[ "$output" == *"SLOT"*"PID"*"STATE"*"LAST EXIT"* ]]
	run ctl workers
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	for w in $(worker_pids); do [[ "$output" == *" $w "* ]]; done
	run ctl stats
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'"pid: $SERVER_PID"$'\n'* ]]
	[[ "$output" == *$'\n'"listen[0]: $SERVER_ADDR"$'\n'* ]]
	ctl stats json >"$BATS_TEST_TMPDIR/stats.json"
	# shellcheck disable=SC2016 # jq's $variables, not the shell's
	jq_in -e --argjson pid "$SERVER_PID" '.pid == $pid and .service == "echo" and
		.pool.running == 2 and (.workers | length) == 2 and .totals.accepted == 1' \
		<"$BATS_TEST_TMPDIR/stats.json"
	status_json_true '.version and .uptime_seconds >= 0 and .crash_loop.active == false'
	ctl stats prometheus >"$BATS_TEST_TMPDIR/metrics.txt"
	promtool check metrics <"$BATS_TEST_TMPDIR/metrics.txt"
	grep -qx 'preforkd_connections_accepted_total 1' "$BATS_TEST_TMPDIR/metrics.txt"
	grep -qx '# TYPE preforkd_service_time_seconds histogram' "$BATS_TEST_TMPDIR/metrics.txt"
	ctl --prometheus | promtool check metrics
	run ctl help
	[ "$status" -eq 0 ]
	for c in status stats workers "scale N" reload stop help; do [[ "$output" == *"$c"* ]]; done
}

@test "the socket is mode 0600 and only the master holds it, not the workers" {
	start_server --workers 2
	[ "$(stat -c %a "$SERVER_ADMIN")" = 600 ]
	run ss -Hxlp src "$SERVER_ADMIN"
	[[ "$output" == *"pid=$SERVER_PID,"* ]]
	for w in $(worker_pids); do [[ "$output" != *"pid=$w,"* ]]; done
}

@test "after exactly M echo transactions, accepted and completed are exactly M" {
	start_server --workers 3
	local m=17 bytes=0 i
	for i in $(seq "$m"); do
		[ "$(echo_once "message $i")" = "message $i" ]
		bytes=$((bytes + ${#i} + 8))
	done
	# A worker counts a connection complete right after close(): the client may
	# see EOF a moment before the counter moves.
	wait_until 5 stat_text_is totals.completed "$m"
	stat_text_is totals.accepted "$m"
	stat_text_is totals.bytes_in "$bytes"
	stat_text_is totals.bytes_out "$bytes"
	stat_text_is totals.errors.other 0
	status_json_true "([.workers[].accepted] | add) == $m and .service_time_us.count == $m"
}

@test "the K connections of a killed worker stay in the totals" {
	start_server --workers 1
	local k=5 victim i
	for i in $(seq "$k"); do echo_once "x$i" >/dev/null; done
	wait_until 5 stat_text_is totals.completed "$k"
	status_json_true ".workers[0].accepted == $k"
	victim=$(worker_pids)
	kill -KILL "$victim"
	wait_until 5 worker_replaced "$victim" 1
	wait_until 5 status_json_true ".workers[0].pid != $victim and .restarts.signal == 1"
	stat_text_is totals.accepted "$k"
	stat_text_is totals.completed "$k"
	# shellcheck disable=SC2016 # jq variables, not shell ones
	status_json_true --argjson v "$victim" --argjson k "$k" '.restarts.total == 1 and
		.workers[0].accepted == 0 and .workers[0].last_exit.pid == $v and
		.workers[0].last_exit.cause == "signal" and .workers[0].last_exit.connections == $k and
		.last_exits[0].slot == 0 and .last_exits[0].detail == "signal 9 (Killed)"'
	echo_once "after" >/dev/null
	wait_until 5 stat_text_is totals.completed $((k + 1))
}

@test "scale N changes the live worker count; an out-of-range N is an error, exit 1" {
	start_server --workers 2
	run ctl scale 4
	[ "$status" -eq 0 ]
	[ "$output" = "ok: scaling from 2 to 4 workers" ]
	wait_until 5 has_workers 4
	wait_until 5 stat_text_is pool.running 4
	stat_text_is pool.configured 4
	run ctl scale 1
	[ "$status" -eq 0 ]
	wait_until 5 has_workers 1
	wait_until 5 stat_text_is pool.running 1
	for bad in 0 1025 abc 2.5; do
		run ctl scale "$bad"
		[ "$status" -eq 1 ]
		[ "$output" = "preforkctl: error: scale: expected an integer 1..1024, got '$bad'" ]
	done
	run "$CTL" --socket "$SERVER_ADMIN" -- scale -3
	[ "$status" -eq 1 ]
	run ctl scale
	[ "$status" -eq 2 ]
	stat_text_is pool.configured 1
	has_workers 1
}

@test "a client running as another uid is refused and the server logs it" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run a client as another uid"
	start_server --workers 1
	# The socket's 0600 mode already keeps others out; open the path to them so that
	# the SO_PEERCRED check is what refuses the client.
	local d="$BATS_TEST_TMPDIR"
	while [ "$d" != / ] && [ "${d#"$BATS_RUN_TMPDIR"}" != "$d" ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
	install -m 0755 "$CTL" "$BATS_TEST_TMPDIR/preforkctl"
	chmod 0666 "$SERVER_ADMIN"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$BATS_TEST_TMPDIR/preforkctl" --socket "$SERVER_ADMIN" status
	[ "$status" -eq 1 ]
	[ "$output" = "preforkctl: error: permission denied" ]
	wait_until 5 log_has "admin: refused a client with uid $(id -u nobody) (pid [0-9]*): permission denied"
	# With the server's own mode, the file system refuses first: status unknown, 4.
	chmod 0600 "$SERVER_ADMIN"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$BATS_TEST_TMPDIR/preforkctl" --socket "$SERVER_ADMIN" status
	[ "$status" -eq 4 ]
	[[ "$output" == *"Permission denied"* ]]
	ctl status >/dev/null
}

@test "a command over 4 KiB, an unknown command and an empty line get an error reply" {
	start_server --workers 2
	head -c 5000 /dev/zero | tr '\0' a >"$BATS_TEST_TMPDIR/long"
	run admin_raw "$BATS_TEST_TMPDIR/long"
	[ "$output" = "error: command too long (at most 4096 bytes with its newline)" ]
	# 4095 bytes and a newline is still a command line: the bound is exact.
	{ head -c 4095 /dev/zero | tr '\0' b; echo; } >"$BATS_TEST_TMPDIR/max"
	run admin_raw "$BATS_TEST_TMPDIR/max"
	[[ "$output" == "error: unknown command 'bbbb"*"...' (try 'help')" ]]
	printf 'frobnicate now\n' >"$BATS_TEST_TMPDIR/unknown"
	run admin_raw "$BATS_TEST_TMPDIR/unknown"
	[ "$output" = "error: unknown command 'frobnicate' (try 'help')" ]
	printf '\n' >"$BATS_TEST_TMPDIR/empty"
	run admin_raw "$BATS_TEST_TMPDIR/empty"
	[ "$output" = "error: empty command (try 'help')" ]
	printf 'stats xml\n' >"$BATS_TEST_TMPDIR/badarg"
	run admin_raw "$BATS_TEST_TMPDIR/badarg"
	[ "$output" = "error: stats: expected 'json' or 'prometheus', got 'xml'" ]
	printf 'status now please\n' >"$BATS_TEST_TMPDIR/extra"
	run admin_raw "$BATS_TEST_TMPDIR/extra"
	[ "$output" = "error: status: usage: status" ]
	run echo_once "still serving"
	[ "$output" = "still serving" ]
	stat_text_is pool.running 2
}

@test "silent admin clients time out after 1 s; 100 of them do not delay replacing a killed worker" {
	start_server --workers 2 --min-uptime 0
	idle_clients 100 "$BATS_TEST_TMPDIR" 3>&- &
	track $!
	wait_until 5 test -e "$BATS_TEST_TMPDIR/idle.ready"
	local victim
	victim=$(worker_pids | head -1)
	kill -KILL "$victim"
	wait_until 1 worker_replaced "$victim" 2
	wait_until 5 test -s "$BATS_TEST_TMPDIR/idle.first"
	[ "$(cat "$BATS_TEST_TMPDIR/idle.first")" = "error: timed out" ]
	touch "$BATS_TEST_TMPDIR/idle.stop"
	stop_tracked
	run echo_once "still serving"
	[ "$output" = "still serving" ]
	wait_until 5 stat_text_is restarts.signal 1
	log_has "pid $victim cause signal 9"
}

@test "a stale socket file is replaced; a live instance makes a second start exit 1" {
	start_server --workers 1
	local first=$SERVER_PID workers
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --admin "$SERVER_ADMIN" \
		--log "$BATS_TEST_TMPDIR/second.log"
	[ "$status" -eq 1 ]
	[ "$output" = "preforkd: another instance is running (pid $first, admin socket $SERVER_ADMIN)" ]
	run ctl status
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"pid $first" ]]
	# A master killed with SIGKILL leaves its socket file behind: stale.
	workers=$(worker_pids)
	kill -KILL "$first"
	wait "$first" || true
	for w in $workers; do wait_until 5 process_gone "$w"; done
	[ -S "$SERVER_ADMIN" ]
	run ctl status
	[ "$status" -eq 3 ]
	start_server --workers 1
	log_has "removed stale admin socket $SERVER_ADMIN"
	run ctl status
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"pid $SERVER_PID" ]]
}

@test "a path that is not a socket is left alone and the start refused" {
	echo "precious" >"$BATS_TEST_TMPDIR/file.sock"
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 \
		--admin "$BATS_TEST_TMPDIR/file.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"admin socket $BATS_TEST_TMPDIR/file.sock exists and is not a socket"* ]]
	[ "$(cat "$BATS_TEST_TMPDIR/file.sock")" = precious ]
}

@test "preforkctl with no server exits 3 with a clear message" {
	run "$CTL" --socket "$BATS_TEST_TMPDIR/none.sock" status
	[ "$status" -eq 3 ]
	[ "$output" = "preforkctl: preforkd is not running ($BATS_TEST_TMPDIR/none.sock: no such socket)" ]
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$BATS_TEST_TMPDIR/stale.sock"
	run "$CTL" --socket "$BATS_TEST_TMPDIR/stale.sock" stats
	[ "$status" -eq 3 ]
	[ "$output" = "preforkctl: preforkd is not running ($BATS_TEST_TMPDIR/stale.sock: connection refused)" ]
	run "$CTL" --pidfile "$BATS_TEST_TMPDIR/none.pid"
	[ "$status" -eq 3 ]
	[[ "$output" == *"($BATS_TEST_TMPDIR/preforkd.sock: no such socket)" ]]
}

@test "stop replies first, then stops like SIGTERM: the client mid-transfer finishes" {
	start_server --workers 2 --defer-accept 0
	(
		exec 3>&-
		{ printf 'first half,'; sleep 1; printf 'second half'; } |
			"$CLIENT" --connect "$SERVER_ADDR" --timeout 10 >"$BATS_TEST_TMPDIR/out"
		echo "$?" >"$BATS_TEST_TMPDIR/rc"
	) &
	local client=$! workers rc=0
	wait_until 5 established_to_server 1
	workers=$(worker_pids)
	run ctl stop
	[ "$status" -eq 0 ]
	[ "$output" = "ok: stopping preforkd (pid $SERVER_PID)" ]
	wait_until 15 process_gone "$SERVER_PID"
	wait "$SERVER_PID" || rc=$?
	[ "$rc" -eq 0 ]
	wait "$client"
	[ "$(cat "$BATS_TEST_TMPDIR/rc")" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "first half,second half" ]
	for w in $workers; do process_gone "$w"; done
	[ ! -e "$SERVER_ADMIN" ]
	[ ! -e "$SERVER_PIDFILE" ]
	log_has "stopping (admin stop)"
	log_has "stopped"
	run ctl status
	[ "$status" -eq 3 ]
}

@test "reload replaces every worker like SIGHUP" {
	start_server --workers 2
	local before w
	before=$(worker_pids)
	run ctl reload
	[ "$status" -eq 0 ]
	[ "$output" = "ok: reloading: rolling restart to generation 2" ]
	for w in $before; do wait_until 5 process_gone "$w"; done
	wait_until 5 has_workers 2
	wait_until 5 status_json_true '.generation == 2 and .pool.running == 2 and
		all(.workers[]; .generation == 2) and .stopped_on_request == 2'
	log_has "reloading (admin reload)"
	run echo_once "new generation"
	[ "$output" = "new generation" ]
}

@test "without --admin the socket is preforkd.sock beside the pidfile, and preforkctl --pidfile finds it" {
	mkdir "$BATS_TEST_TMPDIR/run"
	SERVER_LOG="$BATS_TEST_TMPDIR/preforkd.log"
	"$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$BATS_TEST_TMPDIR/run/p.pid" \
		--log "$SERVER_LOG" </dev/null &
	echo $! >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 5 test -S "$BATS_TEST_TMPDIR/run/preforkd.sock"
	run "$CTL" --pidfile "$BATS_TEST_TMPDIR/run/p.pid" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"Admin: $BATS_TEST_TMPDIR/run/preforkd.sock"* ]]
}

@test "top prints one plain line per refresh off a terminal, a refreshed table on one" {
	start_server --workers 2
	echo_once "one" >/dev/null
	run ctl top --count 2
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ running=2\ busy=[0-9]+\ idle=[0-9]+\ accepted=1\  ]]
	[[ "${lines[1]}" =~ conn_per_s=[0-9.]+\  ]]
	run script -qec "$(printf '%q ' "$CTL" --socket "$SERVER_ADMIN" top --count 1)" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\033[H\033[2J'*"running=2"*"SLOT"* ]]
}

@test "preforkctl --help documents every command and option; usage errors exit 2" {
	run "$CTL" --help
	[ "$status" -eq 0 ]
	for w in status "stats [json|prometheus]" workers "scale N" reload stop help top \
		--socket --pidfile --json --prometheus --timeout --count --help "3 not running"; do
		[[ "$output" == *"$w"* ]] || { echo "missing: $w"; return 1; }
	done
	run "$CTL" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command 'frobnicate'"* ]]
	run "$CTL" status extra
	[ "$status" -eq 2 ]
	run "$CTL" --no-such-option
	[ "$status" -eq 2 ]
	run "$CTL" --json stop
	[ "$status" -eq 2 ]
	run "$CTL" --count 0 top
	[ "$status" -eq 2 ]
	run "$CTL" --count 2 status
	[ "$status" -eq 2 ]
}

fd_count() {
	find "/proc/$1/fd" -mindepth 1 | wc -l
}

fd_count_is() {
	[ "$(fd_count "$1")" -eq "$2" ]
}

@test "a worker holds none of the master's fds: admin socket and clients, pidfile, signal pipe" {
	start_server --workers 1 --min-uptime 0 --verbose
	local base old worker listen_ino fd target pipes spawned timed_out
	base=$(fd_count "$SERVER_PID")
	# An admin client is connected while the next worker is forked.
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
time.sleep(10)' "$SERVER_ADMIN" &
	track $!
	wait_until 5 fd_count_is "$SERVER_PID" $((base + 1))
	old=$(worker_pids)
	kill -KILL "$old"
	wait_until 5 worker_replaced "$old" 1
	worker=$(worker_pids)
	# The admin client's fd was open when the worker was forked: the log has the
	# spawn before the client's 1 s timeout (the test's own polling may take longer
	# than that on a loaded machine, so the fd count now proves nothing).
	spawned=$(grep -n "worker spawned: slot 0 pid $worker " "$SERVER_LOG" | cut -d: -f1)
	timed_out=$(grep -n "admin: client uid [0-9]* pid [0-9]* timed out" "$SERVER_LOG" | head -1 | cut -d: -f1)
	[ -n "$spawned" ]
	[ -z "$timed_out" ] || [ "$spawned" -lt "$timed_out" ]
	listen_ino=$(ss -Htlne "( sport = :$SERVER_PORT )" | sed -n 's/.* ino:\([0-9]*\).*/\1/p' | head -1)
	[ -n "$listen_ino" ]
	# The master holds both ends of two pipes: its signal pipe and the workers' log
	# pipe. A worker keeps the log pipe's write end, one fd, and nothing of the other.
	pipes=$(for fd in "/proc/$SERVER_PID/fd/"*; do readlink "$fd"; done | grep '^pipe:' | sort | uniq -d)
	[ "$(grep -c . <<<"$pipes")" -eq 2 ]
	local has_listener=0 log_pipe=0 leaked=()
	for fd in "/proc/$worker/fd/"*; do
		target=$(readlink "$fd") || continue
		case "$target" in
		"socket:[$listen_ino]") has_listener=1 ;;
		socket:*) leaked+=("${fd##*/} -> $target (admin)") ;;
		"$SERVER_LOG") leaked+=("${fd##*/} -> $target (log file: only the master has it)") ;;
		"$SERVER_PIDFILE") leaked+=("${fd##*/} -> $target") ;;
		pipe:*)
			if grep -qxF "$target" <<<"$pipes"; then
				log_pipe=$((log_pipe + 1))
			fi
			;;
		esac
	done
	[ "$log_pipe" -le 1 ] || leaked+=("$((log_pipe - 1)) pipe fds of the master's (signal pipe)")
	echo "leaked to the worker: ${leaked[*]}"
	[ "${#leaked[@]}" -eq 0 ]
	[ "$has_listener" -eq 1 ]
	[ "$log_pipe" -eq 1 ]
}
