#!/usr/bin/env bats
# Binary upgrade (SIGUSR2, `preforkctl upgrade [PATH]`): the old master re-executes
# the binary with its sockets and locks, the new one tells it when its workers
# serve, and only then do the old workers stop; under load nothing is refused. A new
# binary that exits, or is not ready within --upgrade-timeout, is rolled back: the
# old master serves on with its pidfile back. Every master an upgrade starts is
# found through the pidfile or the admin reply and stopped by pid.

bats_require_minimum_version 1.5.0
load helpers

BENCH="$BATS_TEST_DIRNAME/../bin/prefork-bench"

# Two copies of the same build at two paths: "another build" for the server.
setup() {
	mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	cp "$PREFORKD" "$BATS_TEST_TMPDIR/a/preforkd"
	cp "$PREFORKD" "$BATS_TEST_TMPDIR/b/preforkd"
}

# started PID: a master an upgrade started, for teardown to stop.
started() {
	echo "$1" >>"$BATS_TEST_TMPDIR/started.pids"
}

pidfile_pid() {
	cat "$SERVER_PIDFILE"
}

# pidfile_differs PID: the pidfile names another master now.
pidfile_differs() {
	[ "$(pidfile_pid)" != "$1" ]
}

# bench_bg SECONDS: prefork-bench at c=16 against the server in the background; its
# JSON summary goes to $BATS_TEST_TMPDIR/bench.json. Sets BENCH_PID.
bench_bg() {
	"$BENCH" --connect "$SERVER_ADDR" -c 16 -d "$1" --json -q \
		>"$BATS_TEST_TMPDIR/bench.json" </dev/null 3>&- &
	BENCH_PID=$!
	track "$BENCH_PID"
}

# bench_clean: the background bench ended with every transaction verified.
bench_clean() {
	wait "$BENCH_PID"
	local json="$BATS_TEST_TMPDIR/bench.json"
	cat "$json"
	assert_ge "$(jq -r .ok "$json")" 1
	assert_eq "$(jq -r '[.errors[]] | add' "$json")" 0
}

# new_pid OUTPUT: the pid in "ok: upgraded: new master pid N".
new_pid() {
	sed -n 's/^ok: upgraded: new master pid \([0-9][0-9]*\)$/\1/p' <<<"$1"
}

@test "10 upgrades in a row under c=16 load: no failed transaction, one master left" {
	start_server --workers 4
	local old=$SERVER_PID pids=() path pid i
	bench_bg 8
	for i in 1 2 3 4 5 6 7 8 9 10; do
		path="$BATS_TEST_TMPDIR/$([ $((i % 2)) -eq 1 ] && echo a || echo b)/preforkd"
		run_ok "$CTL" -s "$SERVER_ADMIN" upgrade "$path"
		pid=$(new_pid "$output")
		[ -n "$pid" ] || fail "no new pid in: $output"
		started "$pid"
		assert_eq "$(pidfile_pid)" "$pid"
		# The old master goes once its workers have finished their connections.
		wait_until 15 process_gone "$old"
		pids+=("$old")
		old=$pid
	done
	bench_clean
	for pid in "${pids[@]}"; do process_gone "$pid"; done
	process_alive "$old"
	assert_eq "$(pidfile_pid)" "$old"
	[ ! -e "$SERVER_PIDFILE.oldbin" ]
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_match "${lines[0]}" "^preforkd [^ ]+ - running, pid $old\$"
	# Its own workers only: nothing of an older master is left.
	wait_until 10 all_workers_ready
	assert_eq "$(child_pids "$old" | wc -l)" 4
	log_has "preforkd\[$old\] info: --listen 127.0.0.1:0: the inherited socket 127.0.0.1:$SERVER_PORT (not bound again)"
	log_has "upgrade: new master pid $old ready after"
}

@test "an upgrade to a binary that exits at once is rolled back: pidfile back, no failed transaction" {
	start_server --workers 4
	printf '#!/bin/sh\nexit 1\n' >"$BATS_TEST_TMPDIR/exits"
	chmod +x "$BATS_TEST_TMPDIR/exits"
	bench_bg 2
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/exits"
	assert_eq "$output" "preforkctl: error: upgrade to $BATS_TEST_TMPDIR/exits failed, rolled back: the new master exited with status 1"
	bench_clean
	assert_eq "$(pidfile_pid)" "$SERVER_PID"
	[ ! -e "$SERVER_PIDFILE.oldbin" ]
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_match "${lines[0]}" "^preforkd [^ ]+ - running, pid $SERVER_PID\$"
	log_has "error: upgrade to $BATS_TEST_TMPDIR/exits failed: the new master exited with status 1; rolled back, pid $SERVER_PID serves on"
	# It still upgrades afterwards.
	run_ok "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/a/preforkd"
	started "$(new_pid "$output")"
}

@test "a binary that never becomes ready is rolled back after --upgrade-timeout; nothing is left" {
	start_server --workers 2 --upgrade-timeout 1
	printf '#!/bin/sh\necho $$ >"%s"\nexec sleep 60\n' "$BATS_TEST_TMPDIR/hangs.pid" \
		>"$BATS_TEST_TMPDIR/hangs"
	chmod +x "$BATS_TEST_TMPDIR/hangs"
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/hangs"
	assert_match "$output" "^preforkctl: error: upgrade to $BATS_TEST_TMPDIR/hangs failed, rolled back: the new master was not ready within 1\.[0-9] s\$"
	local hung
	hung=$(cat "$BATS_TEST_TMPDIR/hangs.pid")
	track "$hung"
	process_gone "$hung"
	assert_eq "$(pidfile_pid)" "$SERVER_PID"
	[ ! -e "$SERVER_PIDFILE.oldbin" ]
	assert_eq "$(child_pids "$SERVER_PID" | wc -l)" 2
	run_ok echo_once hello
}

@test "a new master that starts after the rollback leaves the old master's pidfile alone" {
	# The wrapper ignores the rollback's SIGTERM and waits until the old master has
	# taken its pidfile back, then starts the real binary: a new master slower than
	# --upgrade-timeout, on a loaded machine. It must not write its pid over the old
	# master's file (or remove it at exit); it exits and says why.
	start_server --workers 1 --upgrade-timeout 1
	cat >"$BATS_TEST_TMPDIR/late" <<EOF
#!/bin/sh
trap '' TERM
echo \$\$ >"$BATS_TEST_TMPDIR/late.pid"
i=0
while [ ! -e "$SERVER_PIDFILE" ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
exec "$PREFORKD" "\$@" 2>"$BATS_TEST_TMPDIR/late.err"
EOF
	chmod +x "$BATS_TEST_TMPDIR/late"
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/late"
	track "$(cat "$BATS_TEST_TMPDIR/late.pid")"
	assert_match "$output" "failed, rolled back: the new master (was not ready within|exited with status 1)"
	wait_until 10 grep -qF "preforkd: pidfile $SERVER_PIDFILE exists again: the old master rolled this upgrade back" "$BATS_TEST_TMPDIR/late.err"
	assert_eq "$(pidfile_pid)" "$SERVER_PID"
	[ ! -e "$SERVER_PIDFILE.oldbin" ]
	wait_until 10 children_are 1
	run_ok echo_once hello
}

@test "a second upgrade while one is in flight is refused, by admin and by SIGUSR2" {
	start_server --workers 1 --upgrade-timeout 3
	printf '#!/bin/sh\nexec sleep 60\n' >"$BATS_TEST_TMPDIR/hangs"
	chmod +x "$BATS_TEST_TMPDIR/hangs"
	spawn "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/hangs"
	local first=$SPAWNED
	wait_until 5 log_has "upgrade: started $BATS_TEST_TMPDIR/hangs as pid"
	[ -e "$SERVER_PIDFILE.oldbin" ]
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" upgrade
	assert_match "$output" "^preforkctl: error: upgrade refused: an upgrade is already in progress \(new master pid [0-9]+, started [0-9.]+ s ago\)\$"
	kill -USR2 "$SERVER_PID"
	wait_until 5 log_has "SIGUSR2 ignored: upgrade refused: an upgrade is already in progress"
	# The first one ends in its rollback.
	wait_until 15 process_gone "$first"
	run ! wait "$first"
	assert_eq "$(pidfile_pid)" "$SERVER_PID"
	stop_server
	rm -rf "$dir"
}

@test "SIGUSR2 re-executes the binary the server was started as" {
	PREFORKD="$BATS_TEST_TMPDIR/a/preforkd" start_server --workers 2
	kill -USR2 "$SERVER_PID"
	wait_until 10 log_has "upgrade: new master pid [0-9]* ready after"
	local pid
	pid=$(pidfile_pid)
	started "$pid"
	[ "$pid" != "$SERVER_PID" ]
	log_has "upgrade: started $BATS_TEST_TMPDIR/a/preforkd as pid $pid"
	wait_until 10 process_gone "$SERVER_PID"
	wait_until 10 all_workers_ready
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_match "${lines[0]}" "^preforkd [^ ]+ - running, pid $pid\$"
	run_ok echo_once hello
	# The new master upgrades again in turn, and leaves the admin socket in place.
	kill -USR2 "$pid"
	wait_until 10 pidfile_differs "$pid"
	started "$(pidfile_pid)"
	wait_until 10 process_gone "$pid"
	[ -S "$SERVER_ADMIN" ]
	run_ok "$CTL" -s "$SERVER_ADMIN" status
}

@test "upgrade PATH must be absolute, an executable regular file" {
	start_server --workers 1
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" upgrade bin/preforkd
	assert_eq "$output" "preforkctl: error: upgrade: PATH must be absolute, got 'bin/preforkd'"
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR"
	assert_eq "$output" "preforkctl: error: upgrade refused: $BATS_TEST_TMPDIR: not a regular file"
	touch "$BATS_TEST_TMPDIR/plain"
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/plain"
	assert_match "$output" "^preforkctl: error: upgrade refused: $BATS_TEST_TMPDIR/plain: not executable"
	assert_eq "$(pidfile_pid)" "$SERVER_PID"
	[ ! -e "$SERVER_PIDFILE.oldbin" ]
}

@test "a read-only --admin-group member may not upgrade" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run a client as another uid"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	local group dir
	group=$(getent group 65534 | cut -d: -f1)
	[ -n "$group" ] || skip "no group with gid 65534"
	dir=$(mktemp -d /tmp/preforkd-upgrade.XXXXXX)
	chmod 0755 "$dir"
	install -m 0755 "$CTL" "$dir/preforkctl"
	SERVER_ADMIN="$dir/preforkd.sock"
	start_server --workers 1 --admin-group "$group"
	run_expect 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$dir/preforkctl" -s "$SERVER_ADMIN" upgrade
	assert_eq "$output" "preforkctl: error: permission denied: upgrade changes the server; members of group $group may use status, stats, workers and help"
	run ! log_has "upgrade: started"
	assert_eq "$(pidfile_pid)" "$SERVER_PID"
	stop_server
	rm -rf "$dir"
}

@test "--metrics-listen and --agent-listen are handed over; the new master answers on them" {
	start_server --workers 2 --metrics-listen 127.0.0.1:0 --agent-listen 127.0.0.1:0
	local metrics agent pid
	metrics=$(sed -n 's|.*metrics on http://\([0-9.:]*\)/metrics.*|\1|p' "$SERVER_LOG")
	agent=$(sed -n 's/.*agent-check on \([0-9.:]*\)$/\1/p' "$SERVER_LOG")
	[ -n "$metrics" ] && [ -n "$agent" ]
	run_ok "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/a/preforkd"
	pid=$(new_pid "$output")
	started "$pid"
	wait_until 10 process_gone "$SERVER_PID"
	log_has "preforkd\[$pid\] info: metrics on http://$metrics/metrics"
	log_has "preforkd\[$pid\] info: agent-check on $agent"
	run_ok python3 -c '
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print(got.decode())' "$metrics"
	assert_contains "$output" "preforkd_up"
	run_ok python3 -c '
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
print(s.recv(4096).decode().strip())' "$agent"
	assert_match "$output" "^up ready"
}

@test "under systemd the old master names the new one: MAINPID=, and no STOPPING=1 of its own" {
	start_notify_listener "$BATS_TEST_TMPDIR/notify.sock"
	NOTIFY_SOCKET="$BATS_TEST_TMPDIR/notify.sock" start_server --workers 2
	wait_until 5 notified READY=1
	run_ok "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/a/preforkd"
	local pid
	pid=$(new_pid "$output")
	started "$pid"
	wait_until 5 notified "MAINPID=$pid"
	wait_until 10 process_gone "$SERVER_PID"
	run ! notified STOPPING=1
}

@test "under --daemon the new master stays detached and keeps the relative paths' meaning" {
	cd "$BATS_TEST_TMPDIR"
	"$BATS_TEST_TMPDIR/a/preforkd" --daemon --listen 127.0.0.1:0 --workers 2 \
		--pidfile preforkd.pid --log preforkd.log --admin preforkd.sock </dev/null 3>&-
	SERVER_PIDFILE="$BATS_TEST_TMPDIR/preforkd.pid"
	SERVER_LOG="$BATS_TEST_TMPDIR/preforkd.log"
	SERVER_ADMIN="$BATS_TEST_TMPDIR/preforkd.sock"
	local old pid
	old=$(pidfile_pid)
	started "$old"
	wait_until 10 all_workers_ready
	run_ok "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/b/preforkd"
	pid=$(new_pid "$output")
	started "$pid"
	wait_until 10 process_gone "$old"
	assert_eq "$(pidfile_pid)" "$pid"
	assert_eq "$(readlink "/proc/$pid/cwd")" /
	# Still its own session's member, not a session leader with a terminal.
	[ "$(ps -o tty= -p "$pid" | tr -d ' ')" = "?" ]
	log_has "preforkd\[$pid\] info: upgrade: 2 workers ready"
	# SIGUSR1 reopens the same log file: --log was made absolute before the upgrade.
	kill -USR1 "$pid"
	wait_until 5 log_has "preforkd\[$pid\] info: log file reopened"
}

@test "the binary is found as it was started: a relative path, or a name in PATH" {
	cd "$BATS_TEST_TMPDIR"
	PREFORKD=./a/preforkd start_server --workers 1
	kill -USR2 "$SERVER_PID"
	wait_until 10 log_has "upgrade: new master pid [0-9]* ready after"
	log_has "upgrade: started $BATS_TEST_TMPDIR/a/preforkd as pid"
	started "$(pidfile_pid)"
	wait_until 10 process_gone "$SERVER_PID"
	stop_server "$(pidfile_pid)"
	# A bare name is looked up in PATH, as execvp does, whatever the directory.
	cd /
	: >"$SERVER_LOG"
	PATH="$BATS_TEST_TMPDIR/b:$PATH" PREFORKD=preforkd start_server --workers 1
	kill -USR2 "$SERVER_PID"
	wait_until 10 log_has "upgrade: new master pid [0-9]* ready after"
	log_has "upgrade: started $BATS_TEST_TMPDIR/b/preforkd as pid"
	started "$(pidfile_pid)"
	wait_until 10 process_gone "$SERVER_PID"
}

# children_are N: the server has exactly N children (its workers, no new master).
children_are() {
	[ "$(child_pids "$SERVER_PID" | wc -l)" -eq "$1" ]
}

# connections_at_server N: at least N connections to the server's port, any state.
connections_at_server() {
	[ "$(ss -Htn "( sport = :$SERVER_PORT )" | grep -c .)" -ge "$1" ]
}

@test "after an upgrade the new master owns its listeners: its graceful stop drains the queue" {
	# --pressure-idle 0: the held client stays until released.
	start_server --workers 1 --pressure-idle 0 --listen 127.0.0.1:0 \
		--listen "unix:$BATS_TEST_TMPDIR/u.sock"
	local old=$SERVER_PID pid i
	run_ok "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/a/preforkd"
	pid=$(new_pid "$output")
	started "$pid"
	wait_until 15 process_gone "$old"
	SERVER_PID=$pid
	wait_until 10 all_workers_ready
	# Its one worker busy, the next clients queue on the listener it was handed.
	hold_worker
	for i in 1 2 3 4; do
		"$CLIENT" --connect "$SERVER_ADDR" --timeout 30 "queued-$i" \
			>"$BATS_TEST_TMPDIR/out.$i" 2>&1 {HELD}>&- 3>&- &
		track $!
	done
	wait_until 10 connections_at_server 5
	kill -TERM "$pid"
	wait_until 5 log_has "preforkd\[$pid\] info: stopping (SIGTERM)"
	release_worker
	wait_until 15 process_gone "$pid"
	for i in 1 2 3 4; do
		wait_until 10 test -s "$BATS_TEST_TMPDIR/out.$i"
		assert_eq "queued-$i" "$(cat "$BATS_TEST_TMPDIR/out.$i")"
	done
	# The Unix socket the first master made goes with the last master that owned it.
	[ ! -e "$BATS_TEST_TMPDIR/u.sock" ]
}

@test "a new master rolled back after it took the listeners leaves them as they were" {
	# A real new master whose workers crash at start (test fault, while the file
	# exists): it adopts the listeners, never becomes ready, and is stopped by the
	# old master's SIGTERM. Its graceful stop must not drain what it never owned:
	# no SYN filter on the shared TCP listener, no Unix socket file removed.
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	PREFORKD="$ROOT/bin/test/preforkd" start_server --workers 2 --upgrade-timeout 2 \
		--listen 127.0.0.1:0 --listen "unix:$BATS_TEST_TMPDIR/u.sock"
	cp "$ROOT/bin/test/preforkd" "$BATS_TEST_TMPDIR/a/preforkd"
	touch "$PREFORKD_TEST_FAULT_FILE"
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" upgrade "$BATS_TEST_TMPDIR/a/preforkd"
	assert_contains "$output" "not ready within"
	rm "$PREFORKD_TEST_FAULT_FILE"
	wait_until 10 log_has "stopping (SIGTERM)"
	# Every new master's process is gone: only the old master's workers are its children.
	wait_until 10 children_are 2
	[ -S "$BATS_TEST_TMPDIR/u.sock" ]
	run echo_once "after tcp"
	assert_eq "after tcp" "$output"
	run "$CLIENT" --connect "unix:$BATS_TEST_TMPDIR/u.sock" --timeout 5 "after unix"
	assert_eq "after unix" "$output"
	assert_eq "$(pidfile_pid)" "$SERVER_PID"
}
