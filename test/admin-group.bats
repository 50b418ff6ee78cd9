#!/usr/bin/env bats
# --admin-group: the admin socket is 0660 with that group from its bind() on (never
# chown'ed or chmod'ed afterwards), and the group's members, by their primary group
# (SO_PEERCRED) or a supplementary one (SO_PEERGROUPS), may use the commands that
# only look; the owner and root keep every command; anyone else is kept out by the
# file's mode and, past it, by the credentials check. Clients run as uid 65534 with
# setpriv, so the suite needs root; the admin group is the group of gid 65534.

bats_require_minimum_version 1.5.0
# The test build: its "bind" pause shows the socket between bind() and listen().
# shellcheck disable=SC2034 # read by helpers.bash
PREFORKD="$(cd "$BATS_TEST_DIRNAME/.." && pwd)/bin/test/preforkd"
load helpers

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run clients as another uid"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	GROUP=$(getent group 65534 | cut -d: -f1)
	[ -n "$GROUP" ] || skip "no group with gid 65534"
	# A directory of root's that uid 65534 may enter and nobody else may write: it
	# passes the server's path rule, and the socket's own mode decides.
	DIR=$(mktemp -d /tmp/preforkd-admin-group.XXXXXX)
	chmod 0755 "$DIR"
	install -m 0755 "$CTL" "$DIR/preforkctl"
	SERVER_ADMIN="$DIR/preforkd.sock"
}

suite_cleanup() {
	[ -z "${DIR:-}" ] || rm -rf "$DIR"
	[ -z "${OWN:-}" ] || rm -rf "$OWN"
}

# as_nobody GID GROUPS COMMAND...: COMMAND as uid 65534, primary group GID, and the
# supplementary GROUPS (comma-separated; "" for none).
as_nobody() {
	local gid=$1 groups=$2
	shift 2
	if [ -n "$groups" ]; then
		setpriv --reuid=65534 --regid="$gid" --groups="$groups" "$@"
	else
		setpriv --reuid=65534 --regid="$gid" --clear-groups "$@"
	fi
}

# member_ctl GID GROUPS ARGS...: preforkctl on the server's socket as that client.
member_ctl() {
	local gid=$1 groups=$2
	shift 2
	as_nobody "$gid" "$groups" "$DIR/preforkctl" -s "$SERVER_ADMIN" "$@"
}

# refused_read_only CMD: what a member is told for a command that changes the server.
refused_read_only() {
	echo "preforkctl: error: permission denied: $1 changes the server; members of group $GROUP may use status, stats, workers and help"
}

# json_gen_ready G: every configured worker is of generation G and ready.
json_gen_ready() {
	# shellcheck disable=SC2016 # jq's $variables, not the shell's
	"$CTL" -s "$SERVER_ADMIN" stats json |
		jq_in -e --argjson g "$1" '.pool.configured as $n | [.workers[] |
			select(.generation == $g and (.state == "idle" or .state == "busy"))] |
			length == $n' >/dev/null
}

@test "the socket is 0660 with the group from bind() on, before listen(); the master's fsgid is back" {
	touch "$BATS_TEST_TMPDIR/pause"
	SERVER_LOG="$BATS_TEST_TMPDIR/preforkd.log"
	PREFORKD_TEST_PAUSE=bind PREFORKD_TEST_PAUSE_FILE="$BATS_TEST_TMPDIR/pause" \
		"$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$DIR/preforkd.pid" \
		--admin "$SERVER_ADMIN" --log "$SERVER_LOG" --admin-group "$GROUP" </dev/null 3>&- &
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 10 test -e "$BATS_TEST_TMPDIR/pause.reached"
	# Right after bind(): nothing has touched the file since the kernel made it.
	assert_eq "$(stat -c '%a %u %g %F' "$SERVER_ADMIN")" "660 0 65534 socket"
	rm "$BATS_TEST_TMPDIR/pause"
	wait_until 10 log_has "listening on"
	log_has "admin socket $SERVER_ADMIN (mode 0660, group $GROUP, gid 65534: read-only for its members)"
	assert_eq "$(stat -c '%a %u %g' "$SERVER_ADMIN")" "660 0 65534"
	# The group was the master's for the bind() alone.
	grep -qx "Gid:	0	0	0	0" "/proc/$SERVER_PID/status"
	wait_until 10 all_workers_ready
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "$output" "     Admin: $SERVER_ADMIN (group $GROUP may read)"
	assert_eq "$(stat_json .admin_group)" "$GROUP"
}

@test "a member by its primary group may look, but not scale, reload, stop or maint" {
	start_server --workers 1 --admin-group "$GROUP"
	run_ok member_ctl 65534 "" status
	assert_match "${lines[0]}" "^preforkd [^ ]+ - running, pid $SERVER_PID\$"
	run_ok member_ctl 65534 "" stats json
	assert_eq "$(jq -r .pool.configured <<<"$output")" 1
	run_ok member_ctl 65534 "" --prometheus
	run_ok member_ctl 65534 "" workers
	run_ok member_ctl 65534 "" help
	run_expect 1 member_ctl 65534 "" scale 3
	assert_eq "$output" "$(refused_read_only scale)"
	wait_until 5 log_has "admin: refused 'scale 3' from uid 65534 pid [0-9]*: read-only access (--admin-group $GROUP)"
	run_expect 1 member_ctl 65534 "" reload
	assert_eq "$output" "$(refused_read_only reload)"
	run_expect 1 member_ctl 65534 "" stop
	assert_eq "$output" "$(refused_read_only stop)"
	run_expect 1 member_ctl 65534 "" maint on
	assert_eq "$output" "$(refused_read_only maint)"
	# Nothing changed.
	process_alive "$SERVER_PID"
	assert_eq "$(stat_json .maint)" false
	assert_eq "$(stat_json .pool.configured)" 1
	assert_eq "$(stat_json .generation)" 1
	run ! log_has "admin: 'scale 3'"
	run ! log_has "reloading"
}

@test "a member by a supplementary group only (SO_PEERGROUPS) may look, not change" {
	start_server --workers 1 --admin-group "$GROUP"
	run_ok member_ctl 65533 "4242,65534" status
	assert_contains "${lines[0]}" " - running, pid $SERVER_PID"
	run_expect 1 member_ctl 65533 "4242,65534" scale 2
	assert_eq "$output" "$(refused_read_only scale)"
	assert_eq "$(stat_json .pool.configured)" 1
}

@test "a non-member cannot connect; past the file's mode, the server refuses it" {
	start_server --workers 1 --admin-group "$GROUP"
	run_expect 4 member_ctl 65533 "4242" status
	assert_contains "$output" "Permission denied"
	# Open the file to everyone: the credentials check is what refuses now.
	chmod 0666 "$SERVER_ADMIN"
	run_expect 1 member_ctl 65533 "4242" status
	assert_eq "$output" "preforkctl: error: permission denied"
	wait_until 5 log_has "admin: refused a client with uid 65534 (pid [0-9]*): permission denied"
	chmod 0660 "$SERVER_ADMIN"
}

@test "the owner (root here) keeps every command" {
	start_server --workers 1 --admin-group "$GROUP"
	run_ok "$CTL" -s "$SERVER_ADMIN" scale 2
	assert_eq "$output" "ok: scaling from 1 to 2 workers"
	wait_until 5 workers_ready 2
	run_ok "$CTL" -s "$SERVER_ADMIN" reload
	wait_until 10 json_gen_ready 2
	run_ok "$CTL" -s "$SERVER_ADMIN" stop
	wait_until 15 process_gone "$SERVER_PID"
	[ ! -e "$SERVER_ADMIN" ]
}

@test "an unknown group is a clear start-up error (and -t says so); a malformed one a usage error" {
	run_expect 1 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --admin "$SERVER_ADMIN" \
		--admin-group no-such-group-pfd
	assert_eq "$output" "preforkd: --admin-group: no such group 'no-such-group-pfd'"
	[ ! -e "$SERVER_ADMIN" ]
	run_expect 1 "$PREFORKD" -t --listen 127.0.0.1:0 --admin "$SERVER_ADMIN" \
		--admin-group no-such-group-pfd
	assert_eq "$output" "preforkd: configuration check failed: --admin-group: no such group 'no-such-group-pfd'"
	run_expect 2 "$PREFORKD" --admin-group 'a/b'
	assert_contains "$output" "--admin-group: expected a user or group name, got 'a/b'"
	run_ok "$PREFORKD" -T --admin-group "$GROUP"
	grep -qx "admin-group $GROUP" <<<"$output"
	run_ok "$PREFORKD" -T
	grep -qx "# admin-group (not set)" <<<"$output"
}

@test "an unprivileged master that may not make files of the group refuses to start; a set-group-ID directory gives it" {
	local root_group
	root_group=$(getent group 0 | cut -d: -f1)
	# A directory of the unprivileged master's own.
	OWN=$(mktemp -d /tmp/preforkd-admin-group-own.XXXXXX)
	local own=$OWN
	chown 65534:65534 "$own"
	chmod 0755 "$own"
	run_expect 1 as_nobody 65534 "" "$PREFORKD" --listen 127.0.0.1:0 --workers 1 \
		--admin "$own/a.sock" --admin-group "$root_group"
	assert_contains "$output" "preforkd: --admin-group $root_group: cannot make the admin socket with gid 0 as uid 65534 gid 65534: start preforkd as root (or with CAP_SETGID), with that group as its own (sg $root_group), or put the socket in a set-group-ID directory of that group"
	[ ! -e "$own/a.sock" ]
	# The directory's group, given by the kernel at bind(): no privilege needed.
	chgrp 0 "$own"
	chmod 2755 "$own"
	SERVER_LOG="$own/a.log"
	as_nobody 65534 "" "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --admin "$own/a.sock" \
		--log "$SERVER_LOG" --admin-group "$root_group" </dev/null 3>&- &
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 10 log_has "listening on"
	assert_eq "$(stat -c '%a %u %g' "$own/a.sock")" "660 65534 0"
	stop_server
}
