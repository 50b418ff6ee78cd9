#!/usr/bin/env bats
# The journal's form of a log line: under systemd, whose journal stamps each line
# itself, a line has no timestamp and starts with its syslog priority <N>, the
# master's and every worker's alike. It is chosen when JOURNAL_STREAM names the
# device and inode of stderr (a stand-in file here: journald is not needed), or
# forced with --log-format (auto, the default, is also given by name below).

load helpers

# A copy of the binary that run_and_stop removes: SIGUSR2 (a binary upgrade) is then
# refused with a warning, the master's line these tests look for.
setup() {
	cp "$PREFORKD" "$BATS_TEST_TMPDIR/preforkd"
	PREFORKD="$BATS_TEST_TMPDIR/preforkd"
}

JOURNAL_LINE='^<[3467]>\[[0-9]+\] (error|warn|info|debug): '
TIMESTAMP='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}'

# start_on_stderr JOURNAL_STREAM_VALUE [OPTIONS...]: preforkd with no --log, its
# stderr appended to $SERVER_LOG, JOURNAL_STREAM set to the value ("" = unset).
start_on_stderr() {
	local stream=$1
	shift
	SERVER_PIDFILE="$BATS_TEST_TMPDIR/preforkd.pid"
	SERVER_ADMIN="$BATS_TEST_TMPDIR/preforkd.sock"
	if [ -n "$stream" ]; then
		JOURNAL_STREAM=$stream "$PREFORKD" --listen 127.0.0.1:0 --workers 2 \
			--pidfile "$SERVER_PIDFILE" --admin "$SERVER_ADMIN" --verbose "$@" \
			</dev/null 2>>"$SERVER_LOG" 3>&- &
	else
		env -u JOURNAL_STREAM "$PREFORKD" --listen 127.0.0.1:0 --workers 2 \
			--pidfile "$SERVER_PIDFILE" --admin "$SERVER_ADMIN" --verbose "$@" \
			</dev/null 2>>"$SERVER_LOG" 3>&- &
	fi
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 10 log_has "listening on" || { cat "$SERVER_LOG" >&2; return 1; }
	wait_until 10 has_workers 2
	wait_until 10 workers_ready 2
}

# dev_inode FILE: what systemd puts in JOURNAL_STREAM for a stream.
dev_inode() {
	stat -c '%d:%i' "$1"
}

# run_and_stop: a warning from the master (SIGUSR2 refused: its binary is gone), then
# a graceful stop, at which every worker logs a debug line of its own.
run_and_stop() {
	WORKERS=$(worker_pids)
	[ -n "$WORKERS" ]
	rm -f "$PREFORKD"
	kill -USR2 "$SERVER_PID"
	wait_until 10 log_has "SIGUSR2"
	stop_server
}

# assert_journal_form: every line, the master's and each worker's, in the form.
assert_journal_form() {
	local w bad
	bad=$(grep -Evc -- "$JOURNAL_LINE" "$SERVER_LOG" || true)
	[ "$bad" -eq 0 ] || { echo "lines not in the journal's form:"; grep -Ev -- "$JOURNAL_LINE" "$SERVER_LOG"; return 1; }
	if grep -Eq -- "$TIMESTAMP" "$SERVER_LOG"; then
		echo "a timestamp in the journal's form:"
		cat "$SERVER_LOG"
		return 1
	fi
	grep -qF "<6>[$SERVER_PID] info: listening on 127.0.0.1:" "$SERVER_LOG"
	grep -qF "<4>[$SERVER_PID] warn: SIGUSR2" "$SERVER_LOG"
	grep -qF "<6>[$SERVER_PID] info: stopped" "$SERVER_LOG"
	for w in $WORKERS; do
		grep -qF "<7>[$w] debug: worker stops: told to by SIGTERM" "$SERVER_LOG" ||
			{ echo "worker $w: no journal line"; cat "$SERVER_LOG"; return 1; }
	done
}

# assert_plain_form: every line starts with its UTC time, the workers' too.
assert_plain_form() {
	local w bad
	bad=$(grep -Evc -- "^$TIMESTAMP" "$SERVER_LOG" || true)
	[ "$bad" -eq 0 ] || { echo "lines without a timestamp:"; grep -Ev -- "^$TIMESTAMP" "$SERVER_LOG"; return 1; }
	if grep -q '^<' "$SERVER_LOG"; then return 1; fi
	grep -Eq -- "Z preforkd\[$SERVER_PID\] warn: SIGUSR2" "$SERVER_LOG"
	for w in $WORKERS; do
		grep -Eq -- "Z preforkd\[$w\] debug: worker stops" "$SERVER_LOG" ||
			{ echo "worker $w: no plain line"; cat "$SERVER_LOG"; return 1; }
	done
}

@test "stderr that JOURNAL_STREAM names gets <N> priorities and no timestamp, workers' lines too" {
	SERVER_LOG="$BATS_TEST_TMPDIR/stderr"
	: >"$SERVER_LOG"
	start_on_stderr "$(dev_inode "$SERVER_LOG")"
	run_and_stop
	assert_journal_form
}

@test "a JOURNAL_STREAM that names another file keeps the plain form" {
	SERVER_LOG="$BATS_TEST_TMPDIR/stderr"
	: >"$SERVER_LOG"
	: >"$BATS_TEST_TMPDIR/other"
	# A shell started from a unit passes the variable on with stderr elsewhere.
	start_on_stderr "$(dev_inode "$BATS_TEST_TMPDIR/other")" --log-format auto
	run_and_stop
	assert_plain_form
}

@test "--log-format plain keeps the plain form on the journal's stream" {
	SERVER_LOG="$BATS_TEST_TMPDIR/stderr"
	: >"$SERVER_LOG"
	start_on_stderr "$(dev_inode "$SERVER_LOG")" --log-format plain
	run_and_stop
	assert_plain_form
}

@test "--log-format journal forces the form without JOURNAL_STREAM" {
	SERVER_LOG="$BATS_TEST_TMPDIR/stderr"
	: >"$SERVER_LOG"
	start_on_stderr "" --log-format journal
	run_and_stop
	assert_journal_form
}

@test "--log-format journal applies to a --log file too" {
	start_server --verbose --log-format journal
	run_and_stop
	assert_journal_form
}

@test "a --log file keeps the plain form though stderr is the journal's stream" {
	local err="$BATS_TEST_TMPDIR/stderr"
	: >"$err"
	# shellcheck disable=SC2094 # dev_inode only stats the file
	JOURNAL_STREAM=$(dev_inode "$err") start_server --verbose --log-format auto 2>>"$err"
	run_and_stop
	assert_plain_form
}

@test "--log-format with a bad value is a usage error naming the choices" {
	run "$PREFORKD" --log-format xml
	[ "$status" -eq 2 ]
	[[ "$output" == *"--log-format: expected auto, plain or journal, got 'xml'"* ]]
}

@test "the systemd unit logs to the journal, with the <N> prefix parsed" {
	local unit="$ROOT/scripts/preforkd.service"
	if grep -v '^#' "$unit" | grep -q -- '--log'; then return 1; fi
	grep -qx 'StandardError=journal' "$unit"
	grep -qx 'SyslogLevelPrefix=yes' "$unit"
	grep -qx 'SyslogLevel=err' "$unit"
}

# In a private mount and pid namespace: journald on a tmpfs /run (the host's journal,
# if any, is never touched), preforkd on its stream as systemd would start it, and
# everything in the namespace killed with it when the script ends.
# shellcheck disable=SC2016 # run by bash -c in the namespace: expands there
JOURNAL_SCRIPT='
set -u
preforkd=$1 dir=$2
mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log || exit 3
/lib/systemd/systemd-journald >"$dir/journald.out" 2>&1 &
poll() { local i; for i in $(seq 200); do "$@" && return 0; sleep 0.05; done; return 1; }
poll test -S /run/systemd/journal/stdout || { echo "no journald"; exit 3; }
systemd-cat -t preforkd-test bash -c "JOURNAL_STREAM=\$(stat -L -c %d:%i /proc/self/fd/2) \
	exec \"\$0\" --listen 127.0.0.1:0 --workers 2 --verbose --pidfile \"\$1/p.pid\" \
	--admin \"\$1/p.sock\"" "$preforkd" "$dir" &
cat_pid=$!
journal() { journalctl -D /run/log/journal -t preforkd-test --no-pager "$@"; }
poll test -s "$dir/p.pid" || exit 4
master=$(cat "$dir/p.pid")
poll eval "journal -o cat | grep -c \"worker spawned\" | grep -qx 2" || exit 4
rm -f "$preforkd"
kill -USR2 "$master"
kill -TERM "$master"
wait "$cat_pid"
poll eval "journal -o cat | grep -q \"info: stopped\"" || exit 4
echo "master $master"
journal -o json | jq -r "[.PRIORITY, .MESSAGE] | @tsv" | sed "s/^/all /"
journal -p warning -o cat | sed "s/^/warning /"
'

@test "a real journald files each line, the workers' too, under its priority" {
	[ "$(id -u)" -eq 0 ] || skip "a private journald needs root (mount namespace)"
	[ -x /lib/systemd/systemd-journald ] || skip "systemd-journald is not installed"
	command -v systemd-cat >/dev/null && command -v unshare >/dev/null ||
		skip "systemd-cat or unshare is missing"
	run timeout 60 unshare --mount --propagation private --pid --fork --mount-proc \
		bash -c "$JOURNAL_SCRIPT" journal-test "$PREFORKD" "$BATS_TEST_TMPDIR"
	echo "$output"
	[ "$status" -eq 0 ]
	local master
	master=$(sed -n 's/^master //p' <<<"$output")
	grep -qP "^all 6\t\[$master\] info: listening on" <<<"$output"
	grep -qP "^all 4\t\[$master\] warn: SIGUSR2" <<<"$output"
	# Each worker's own line, relayed by the master, keeps the worker's priority.
	[ "$(grep -cP "^all 7\t\[[0-9]+\] debug: worker stops" <<<"$output")" -eq 2 ]
	if grep -P "^all 7\t\[$master\] debug: worker stops" <<<"$output"; then return 1; fi
	# journalctl -p warning: the warning, nothing of lower priority.
	[ "$(grep -c '^warning ' <<<"$output")" -eq 1 ]
	grep -q '^warning \[[0-9]*\] warn: SIGUSR2' <<<"$output"
}
