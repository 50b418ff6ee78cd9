#!/usr/bin/env bats
# Graceful stop serves every connection the kernel already accepted: the listener
# drops new SYNs, the workers empty the accept queue, then exit; nothing queued is
# reset, and a client that connects after the stop began is refused.

bats_require_minimum_version 1.5.0
load helpers

@test "SIGTERM: every queued connection gets its echo; a new connect is refused" {
	# --pressure-idle 0: the held client must stay until released, not be evicted.
	start_server --workers 1 --pressure-idle 0
	# The only worker is busy with a held client, so the next ones queue.
	hold_worker
	local i
	# The clients' own redirections close the held fd in them (a redirection of
	# {HELD} on a function such as spawn would close it here too): tracked by pid.
	for i in 1 2 3 4 5 6 7 8; do
		# shellcheck disable=SC2153 # CLIENT comes from helpers.bash
		"$CLIENT" --connect "$SERVER_ADDR" --timeout 30 "queued-$i" \
			>"$BATS_TEST_TMPDIR/out.$i" 2>&1 {HELD}>&- 3>&- &
		track $!
	done
	# 1 held + 8 queued, every one complete and waiting in the accept queue.
	wait_until 10 connections_at_server 9
	kill -TERM "$SERVER_PID"
	wait_until 5 log_has "stopping (SIGTERM)"
	# A connect after the stop began: its SYN is dropped, and its retry is refused
	# once the listener is closed.
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 30 "late" \
		>"$BATS_TEST_TMPDIR/late" 2>&1 {HELD}>&- 3>&- &
	local late=$!
	track "$late"
	# The late client's SYN is still unanswered while the worker is busy.
	wait_until 5 syn_sent_to_server
	# Release the busy worker: it finishes, empties the queue, exits.
	release_worker
	wait_until 15 process_gone "$SERVER_PID"
	for i in 1 2 3 4 5 6 7 8; do
		wait_until 10 client_done "$i"
		run cat "$BATS_TEST_TMPDIR/out.$i"
		[ "$output" = "queued-$i" ]
	done
	wait "$late" || true
	run cat "$BATS_TEST_TMPDIR/late"
	[[ "$output" == *"Connection refused"* ]]
	run ! log_has "reached the queue after the workers"
	log_has "cause stopped after .*, 9 connections"
}

@test "SIGQUIT still stops at once: queued clients are not waited for" {
	start_server --workers 1 --pressure-idle 0
	hold_worker
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 30 "queued" \
		>"$BATS_TEST_TMPDIR/out.q" 2>&1 {HELD}>&- 3>&- &
	local queued=$!
	track "$queued"
	wait_until 10 connections_at_server 2
	kill -QUIT "$SERVER_PID"
	wait_until 5 process_gone "$SERVER_PID"
	wait "$queued" || true
	run cat "$BATS_TEST_TMPDIR/out.q"
	[ "$output" != "queued" ]
}

# connections_at_server N: at least N connections to the server's port exist on
# its side, whatever their state (a client that half-closed leaves its connection
# in CLOSE-WAIT, still queued).
connections_at_server() {
	[ "$(ss -Htn "( sport = :$SERVER_PORT )" | grep -c .)" -ge "$1" ]
}

syn_sent_to_server() {
	[ "$(ss -Htn state syn-sent "( dport = :$SERVER_PORT )" | grep -c .)" -ge 1 ]
}

client_done() {
	[ -s "$BATS_TEST_TMPDIR/out.$1" ]
}
