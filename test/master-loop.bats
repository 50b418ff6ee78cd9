#!/usr/bin/env bats
# The master's loop under odd conditions: READY=1 after a reload while old workers
# still finish a connection, every worker slot taken during reloads, and poll()
# failing for a reason other than a signal.

bats_require_minimum_version 1.5.0
# shellcheck disable=SC2034 # read by helpers.bash
PREFORKD="$(cd "$BATS_TEST_DIRNAME/.." && pwd)/bin/test/preforkd"
load helpers

@test "READY=1 after a reload once the new generation accepts, not when old workers finish" {
	start_notify_listener "$BATS_TEST_TMPDIR/notify.sock"
	NOTIFY_SOCKET="$BATS_TEST_TMPDIR/notify.sock" start_server --workers 1
	wait_until 5 notified_times "READY=1" 1
	hold_worker
	local old
	old=$(worker_pids)
	kill -HUP "$SERVER_PID"
	wait_until 5 notified_times "RELOADING=1" 1
	# The old worker still serves the held client, and will until we let it go.
	wait_until 10 notified_times "READY=1" 2
	process_alive "$old"
	[ "$(stat_json '.workers[] | select(.generation == 1) | .state')" = stopping ]
	release_worker
	wait_until 10 process_gone "$old"
}

@test "every worker slot taken during reloads: logged once, shown in status, then resolved" {
	PREFORKD_TEST_SLOTS=2 start_server --workers 1
	hold_worker
	kill -HUP "$SERVER_PID"
	# Generation 2 takes the second slot; generation 1 is told to stop but is busy.
	wait_until 10 log_has "worker spawned: slot 1 pid [0-9]* generation 2"
	wait_until 10 workers_ready 1
	kill -HUP "$SERVER_PID"
	# Generation 3 finds no free slot.
	wait_until 10 log_has "cannot start a worker: all 2 slots are taken"
	run "$CTL" -s "$SERVER_ADMIN" status
	[[ "$output" == *"Slots: all taken by workers still finishing"* ]]
	[ "$(stat_json .slots_exhausted)" = true ]
	run "$CTL" -s "$SERVER_ADMIN" stats prometheus
	[[ "$output" == *"preforkd_slots_exhausted 1"* ]]
	# Many loop turns later (the admin replies above took some), said only once.
	[ "$(grep -c "cannot start a worker" "$SERVER_LOG")" -eq 1 ]
	release_worker
	wait_until 10 log_has "generation 3"
	wait_until 10 workers_ready 1
	[ "$(stat_json .slots_exhausted)" = false ]
	[ "$(stat_json .slots_exhausted_events)" -eq 1 ]
	run echo_once "after the reloads"
	[ "$output" = "after the reloads" ]
}

@test "poll() failing (EINVAL): the master does not spin, still reaps, respawns and stops" {
	start_server --workers 2
	# poll() fails with EINVAL once nfds exceeds RLIMIT_NOFILE; the open fds stay.
	prlimit --pid "$SERVER_PID" --nofile=8:8
	wait_until 5 log_has "poll: Invalid argument"
	local t0 victim
	t0=$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")
	victim=$(worker_pids | head -1)
	kill -KILL "$victim"
	wait_until 10 log_has "pid $victim cause signal 9"
	wait_until 10 has_workers 2
	local ticks
	ticks=$(($(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat") - t0))
	echo "# master CPU while poll() fails: $ticks ticks (of 100 per s)" >&3
	[ "$ticks" -lt 50 ]
	[ "$(grep -c "poll: Invalid argument" "$SERVER_LOG")" -le 2 ]
	kill -TERM "$SERVER_PID"
	wait_until 10 process_gone "$SERVER_PID"
}
