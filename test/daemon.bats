#!/usr/bin/env bats
# Daemon life: --daemon start and its failures, the pidfile lock, SIGUSR1 log
# reopening, systemd notifications on NOTIFY_SOCKET, and --user privilege drop.

bats_require_minimum_version 1.5.0
load helpers

# start_daemon [OPTIONS...]: runs preforkd --daemon in the foreground; it returns
# once the daemon listens. The daemon is not our child: its pid comes from the
# pidfile and goes to started.pids, so teardown_servers stops it by that pid.
# shellcheck disable=SC2120 # optional extra options
start_daemon() {
	SERVER_LOG="$BATS_TEST_TMPDIR/preforkd.log"
	SERVER_PIDFILE="$BATS_TEST_TMPDIR/preforkd.pid"
	SERVER_ADMIN="$BATS_TEST_TMPDIR/preforkd.sock"
	"$PREFORKD" --daemon --listen 127.0.0.1:0 --workers 2 --pidfile "$SERVER_PIDFILE" \
		--log "$SERVER_LOG" --admin "$SERVER_ADMIN" "$@" </dev/null
	SERVER_PID=$(cat "$SERVER_PIDFILE")
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	SERVER_ADDR=$(listen_addr "$SERVER_LOG")
	# shellcheck disable=SC2034 # read by helpers.bash
	SERVER_PORT=${SERVER_ADDR##*:}
	wait_until 5 has_workers 2
}

# The state changes (READY/RELOADING/STOPPING) in the order they arrived.
notify_states() {
	grep -E '^(READY|RELOADING|STOPPING)=1$' "$NOTIFY_OUT" | tr '\n' ' '
}

@test "--help documents the supervision, daemon and privilege options" {
	run "$PREFORKD" --help
	[ "$status" -eq 0 ]
	for opt in --min-uptime --worker-timeout --max-requests --max-requests-jitter \
		--defer-accept --daemon --user --group NOTIFY_SOCKET "master keeps root"; do
		[[ "$output" == *"$opt"* ]] || { echo "missing $opt"; return 1; }
	done
}

@test "--daemon returns once the daemon listens with its pidfile; it is detached and serves" {
	start_daemon
	[ -s "$SERVER_PIDFILE" ]
	process_alive "$SERVER_PID"
	# Not our child, not a session leader, no terminal, in /, stdio redirected.
	[ "$(ps -o ppid= -p "$SERVER_PID" | tr -d ' ')" != "$$" ]
	[ "$(ps -o sid= -p "$SERVER_PID" | tr -d ' ')" != "$SERVER_PID" ]
	[ "$(ps -o tty= -p "$SERVER_PID" | tr -d ' ')" = "?" ]
	[ "$(readlink "/proc/$SERVER_PID/cwd")" = / ]
	[ "$(readlink "/proc/$SERVER_PID/fd/0")" = /dev/null ]
	[ "$(readlink "/proc/$SERVER_PID/fd/1")" = /dev/null ]
	[ "$(readlink "/proc/$SERVER_PID/fd/2")" = "$SERVER_LOG" ]
	run echo_once "from a daemon"
	[ "$output" = "from a daemon" ]
	run "$CTL" -s "$SERVER_ADMIN" status
	[ "$status" -eq 0 ]
	# Stopped by the pid in its pidfile, it cleans up as a foreground server does.
	stop_server "$SERVER_PID"
	[ ! -e "$SERVER_PIDFILE" ]
	[ ! -e "$SERVER_ADMIN" ]
}

@test "--daemon with relative paths: the daemon runs in / but uses them as given" {
	cd "$BATS_TEST_TMPDIR"
	"$PREFORKD" --daemon --listen 127.0.0.1:0 --workers 1 --pidfile rel.pid --log rel.log \
		</dev/null
	SERVER_PID=$(cat rel.pid)
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	SERVER_LOG="$BATS_TEST_TMPDIR/rel.log"
	log_has "admin socket $BATS_TEST_TMPDIR/preforkd.sock"
	[ -S "$BATS_TEST_TMPDIR/preforkd.sock" ]
	stop_server "$SERVER_PID"
	[ ! -e rel.pid ]
}

@test "a --daemon start-up failure exits 1 with the reason and leaves nothing behind" {
	start_server --workers 1
	run "$PREFORKD" --daemon --listen "$SERVER_ADDR" --workers 1 \
		--pidfile "$BATS_TEST_TMPDIR/second.pid" --admin "$BATS_TEST_TMPDIR/second.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"preforkd: cannot listen on $SERVER_ADDR: Address already in use"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/second.pid" ]
	[ ! -e "$BATS_TEST_TMPDIR/second.sock" ]
	run echo_once "first one unharmed"
	[ "$output" = "first one unharmed" ]
}

@test "a second instance with the same pidfile is refused, naming the running pid" {
	start_daemon
	run "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$SERVER_PIDFILE" \
		--admin "$BATS_TEST_TMPDIR/second.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"another instance is running (pid $SERVER_PID, pidfile $SERVER_PIDFILE)"* ]]
	run "$PREFORKD" --daemon --listen 127.0.0.1:0 --workers 1 --pidfile "$SERVER_PIDFILE" \
		--admin "$BATS_TEST_TMPDIR/second.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"another instance is running (pid $SERVER_PID"* ]]
	# The running instance keeps its pidfile and its lock.
	[ "$(cat "$SERVER_PIDFILE")" = "$SERVER_PID" ]
	run echo_once "still the only one"
	[ "$output" = "still the only one" ]
}

@test "a stale pidfile (no live lock) is replaced" {
	# A pid that is surely not running, left by an instance that died without cleanup.
	echo 2147483646 >"$BATS_TEST_TMPDIR/preforkd.pid"
	start_daemon
	[ "$SERVER_PID" != 2147483646 ]
	[ "$(cat "$SERVER_PIDFILE")" = "$SERVER_PID" ]
	run echo_once "took over"
	[ "$output" = "took over" ]
}

@test "SIGUSR1 reopens the log: logrotate's move-then-signal works" {
	start_daemon
	mv "$SERVER_LOG" "$SERVER_LOG.1"
	kill -USR1 "$SERVER_PID"
	wait_until 5 log_has "log file reopened (SIGUSR1)"
	# New events go to the new file, none to the moved one.
	local victim
	victim=$(worker_pids | head -1)
	kill -KILL "$victim"
	wait_until 5 log_has "pid $victim cause signal 9"
	wait_until 5 log_has "worker spawned"
	run ! grep -q "pid $victim cause" "$SERVER_LOG.1"
	grep -q "listening on" "$SERVER_LOG.1"
	# The daemon's stderr follows the log to the new file; no process keeps the moved
	# file open, and no worker holds the log file at all (its stderr is the log pipe).
	[ "$(readlink "/proc/$SERVER_PID/fd/2")" = "$(readlink -f "$SERVER_LOG")" ]
	# shellcheck disable=SC2046 # one argument per worker pid
	run holds_file "$SERVER_LOG.1" "$SERVER_PID" $(worker_pids)
	[ "$status" -ne 0 ]
	# shellcheck disable=SC2046 # one argument per worker pid
	run holds_file "$SERVER_LOG" $(worker_pids)
	[ "$status" -ne 0 ]
	local w
	for w in $(worker_pids); do
		[[ "$(readlink "/proc/$w/fd/2")" == pipe:* ]]
	done
}

@test "NOTIFY_SOCKET receives READY=1, RELOADING=1, READY=1, STOPPING=1 in order, with STATUS" {
	start_notify_listener "$BATS_TEST_TMPDIR/notify.sock"
	NOTIFY_SOCKET="$BATS_TEST_TMPDIR/notify.sock" start_server --workers 2
	wait_until 5 notified "READY=1"
	notified "STATUS=2 workers running (target 2), generation 1"
	kill -HUP "$SERVER_PID"
	wait_until 5 notified "RELOADING=1"
	grep -q '^MONOTONIC_USEC=[0-9]\+$' "$NOTIFY_OUT"
	wait_until 5 notified_times "READY=1" 2
	notified "STATUS=2 workers running (target 2), generation 2"
	kill -TTIN "$SERVER_PID"
	wait_until 5 notified "STATUS=3 workers running (target 3), generation 2"
	stop_server
	wait_until 5 notified "STOPPING=1"
	[ "$(notify_states)" = "READY=1 RELOADING=1 READY=1 STOPPING=1 " ]
}

@test "an abstract NOTIFY_SOCKET (@name) works too, and a --daemon notifies as well" {
	local name="@preforkd-test-$$-$BATS_TEST_NUMBER"
	start_notify_listener "$name"
	NOTIFY_SOCKET="$name" start_daemon
	wait_until 5 notified "READY=1"
	stop_server "$SERVER_PID"
	wait_until 5 notified "STOPPING=1"
	[ "$(notify_states)" = "READY=1 STOPPING=1 " ]
}

@test "a dead NOTIFY_SOCKET is logged once and does not stop the server" {
	NOTIFY_SOCKET="$BATS_TEST_TMPDIR/nobody-listens" start_server --workers 1
	wait_until 5 log_has "notify: sendto: No such file or directory"
	run echo_once "fine without systemd"
	[ "$output" = "fine without systemd" ]
}

@test "as root with --user nobody: workers run as nobody and serve; root keeps the admin socket" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	local uid gid
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	start_server --workers 2 --user nobody
	log_has "workers will run as user nobody (uid $uid, gid $gid"
	for w in $(worker_pids); do
		grep -qx "Uid:	$uid	$uid	$uid	$uid" "/proc/$w/status"
		grep -qx "Gid:	$gid	$gid	$gid	$gid" "/proc/$w/status"
		run ! grep -qw 0 <(sed -n 's/^Groups:\t*//p' "/proc/$w/status")
	done
	# The master keeps root: it respawns workers and removes root-owned files.
	grep -qx "Uid:	0	0	0	0" "/proc/$SERVER_PID/status"
	run echo_once "served by nobody"
	[ "$output" = "served by nobody" ]
	run "$CTL" -s "$SERVER_ADMIN" stats json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq .pool.running)" -eq 2 ]
	# A replacement drops too.
	local victim
	victim=$(worker_pids | head -1)
	kill -KILL "$victim"
	wait_until 5 log_has "pid $victim cause signal 9"
	wait_until 5 has_workers 2
	for w in $(worker_pids); do
		grep -qx "Uid:	$uid	$uid	$uid	$uid" "/proc/$w/status"
	done
	stop_server
	[ ! -e "$SERVER_PIDFILE" ]
	[ ! -e "$SERVER_ADMIN" ]
}

@test "--group sets the workers' group" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	local group gid
	# Any group but root's and nobody's own.
	group=$(getent group | awk -F: -v own="$(id -g nobody)" '$3 != 0 && $3 != own { print $1; exit }')
	[ -n "$group" ] || skip "no group to switch to"
	gid=$(getent group "$group" | cut -d: -f3)
	start_server --workers 1 --user nobody --group "$group"
	log_has "workers will run as user nobody (uid $(id -u nobody), gid $gid"
	grep -qx "Gid:	$gid	$gid	$gid	$gid" "/proc/$(worker_pids)/status"
	run echo_once "grouped"
	[ "$output" = "grouped" ]
}

@test "--user is refused without root, for unknown users and for uid 0" {
	run "$PREFORKD" --listen 127.0.0.1:0 --user no-such-user-pfd --admin "$BATS_TEST_TMPDIR/x.sock"
	[ "$status" -eq 1 ]
	if [ "$(id -u)" -eq 0 ]; then
		[[ "$output" == *"--user: no such user 'no-such-user-pfd'"* ]]
		run "$PREFORKD" --listen 127.0.0.1:0 --user root --admin "$BATS_TEST_TMPDIR/x.sock"
		[ "$status" -eq 1 ]
		[[ "$output" == *"refusing to run workers as root"* ]]
		command -v setpriv >/dev/null || skip "no setpriv"
		run setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups \
			"$PREFORKD" --listen 127.0.0.1:0 --user nobody
	fi
	[ "$status" -eq 1 ]
	[[ "$output" == *"--user needs preforkd to start as root (running as uid "* ]]
	run "$PREFORKD" --group nogroup
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--group: needs --user"* ]]
}
