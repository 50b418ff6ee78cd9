#!/usr/bin/env bats
# Inherited fds: the master closes every fd >= 3 it did not open, so workers hold
# only stdio, the log pipe, the listener and their own /proc/PID/statm (RSS samples),
# whatever the launcher left open.

load helpers

# fd_targets PID: "fd target" for each of the process's fds >= 3.
fd_targets() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "${fd##*/}" -ge 3 ] || continue
		echo "${fd##*/} $(readlink "$fd")"
	done
}

@test "a pipe and a file left open by the launcher reach neither the master nor a worker" {
	local secret="$BATS_TEST_TMPDIR/secret" pipe_id pid out
	echo "root only" >"$secret"
	chmod 600 "$secret"
	exec {pipe_w}> >(cat >/dev/null)
	pipe_id=$(readlink "/proc/$$/fd/$pipe_w")
	# (start_server closes BATS's fd 3 for preforkd, so that a server that kept it
	# could never hold up the suite; fd 9 and the pipe stand in for it here.)
	start_server --workers 2 9<"$secret"
	exec {pipe_w}>&-
	for pid in "$SERVER_PID" $(worker_pids); do
		out=$(fd_targets "$pid")
		echo "pid $pid:"
		echo "$out"
		if grep -q -e "$secret" -e "$pipe_id" <<<"$out"; then
			echo "pid $pid holds the launcher's file or pipe"
			return 1
		fi
	done
	# A worker holds exactly the listener (a socket), the log pipe and its own statm
	# (kept open for its RSS samples) beyond stdio.
	pid=$(worker_pids | head -1)
	out=$(fd_targets "$pid")
	[ "$(grep -c 'socket:' <<<"$out")" -eq 1 ]
	[ "$(grep -c 'pipe:' <<<"$out")" -eq 1 ]
	[ "$(grep -c "^[0-9]* /proc/$pid/statm\$" <<<"$out")" -eq 1 ]
	[ "$(grep -c . <<<"$out")" -eq 3 ]
	run echo_once "served"
	[ "$output" = "served" ]
}
