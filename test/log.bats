#!/usr/bin/env bats
# The log: only the master opens it; workers send their lines over a non-blocking
# pipe that the master copies. A logrotate move + SIGUSR1 takes every line, the
# master's and every worker's, to the new file, with or without --user; a stalled
# reader of the master's stderr never stops supervision.

load helpers

suite_cleanup() {
	if [ -n "${LOG_DIR:-}" ]; then rm -rf "$LOG_DIR"; fi
}

# rotate_and_stop [OPTIONS...]: start 3 verbose workers logging into a fresh
# root-owned directory (as a log directory must be), move the log away, SIGUSR1,
# then stop: every worker says "worker stops", the master "stopped".
rotate_and_stop() {
	LOG_DIR=$(mktemp -d)
	SERVER_LOG="$LOG_DIR/preforkd.log"
	start_server --workers 3 --verbose "$@"
	local workers w
	workers=$(worker_pids)
	mv "$SERVER_LOG" "$SERVER_LOG.1"
	kill -USR1 "$SERVER_PID"
	wait_until 5 log_has "log file reopened (SIGUSR1)"
	# Nobody keeps the moved file open: not the master, not a worker.
	# shellcheck disable=SC2086 # one argument per worker pid
	run holds_file "$SERVER_LOG.1" "$SERVER_PID" $workers
	[ "$status" -ne 0 ]
	stop_server
	for w in $workers; do
		grep -q "preforkd\[$w\] debug: worker stops: told to by SIGTERM" "$SERVER_LOG" ||
			{ echo "worker $w: line missing from the new log"; cat "$SERVER_LOG"; return 1; }
	done
	grep -q "preforkd\[$SERVER_PID\] info: stopped" "$SERVER_LOG"
	# Nothing after the move went to the moved file.
	run grep -c -e "worker stops" -e "reopened" -e "stopping" "$SERVER_LOG.1"
	[ "$output" -eq 0 ]
	# The lines from before the move stayed in the moved file.
	grep -q "listening on" "$SERVER_LOG.1"
}

@test "after a move and SIGUSR1 every line of the master and of every worker lands in the new log" {
	rotate_and_stop
}

@test "the same with --user nobody: workers that cannot open the log still reach it" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for --user"
	rotate_and_stop --user nobody
	grep -q "workers will run as user nobody" "$SERVER_LOG.1"
}

# start_with_stalled_stderr: preforkd whose stderr is a full pipe that nobody reads
# (a stuck log collector); sets SERVER_PID from the pidfile.
start_with_stalled_stderr() {
	SERVER_PIDFILE="$BATS_TEST_TMPDIR/preforkd.pid"
	SERVER_ADMIN="$BATS_TEST_TMPDIR/preforkd.sock"
	python3 - "$PREFORKD" --listen 127.0.0.1:0 --workers 2 --verbose --min-uptime 0 \
		--pidfile "$SERVER_PIDFILE" --admin "$SERVER_ADMIN" <<'PY' 3>&- &
import fcntl, os, sys
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: one page
fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
try:
    while True:
        os.write(w, b"x" * 512)
except BlockingIOError:
    pass
fcntl.fcntl(w, fcntl.F_SETFL, 0)  # as a launcher's stderr would be: blocking
pid = os.fork()
if pid == 0:
    os.dup2(w, 2)
    os.execv(sys.argv[1], sys.argv[1:])
os.close(w)
os.waitpid(pid, 0)  # holds the read end, never reads
PY
	LAUNCHER=$!
	wait_until 10 test -s "$SERVER_PIDFILE"
	SERVER_PID=$(cat "$SERVER_PIDFILE")
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
}

@test "a stalled reader of the master's stderr never stops supervision" {
	start_with_stalled_stderr
	wait_until 10 has_workers 2
	wait_until 10 workers_ready 2
	# A killed worker is still replaced...
	local victim
	victim=$(worker_pids | head -1)
	kill -KILL "$victim"
	wait_until 10 process_gone "$victim"
	wait_until 10 has_workers 2
	# ...the lines that could not be written are counted...
	[ "$("$ROOT/bin/preforkctl" -s "$SERVER_ADMIN" stats json | jq .totals.log_lines_dropped)" -gt 0 ]
	# The launcher's stderr keeps its blocking mode (O_NONBLOCK is 04000): only the
	# master's own reopen of it is non-blocking.
	local flags
	flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$SERVER_PID/fdinfo/2")
	[ $((8#$flags & 8#4000)) -eq 0 ]
	# ...and SIGTERM still stops it.
	kill -TERM "$SERVER_PID"
	wait_until 15 process_gone "$SERVER_PID"
	wait "$LAUNCHER"
}
