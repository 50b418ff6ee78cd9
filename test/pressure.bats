#!/usr/bin/env bats
# Pressure: the master measures the accept queue and says when the pool cannot keep
# up; under pressure (and only then) a connection with nothing to read when it is
# accepted is closed, and the connection stalled longest beyond --pressure-idle is
# evicted, never one that makes progress and never the wrong one.

load helpers

LOAD="$ROOT/scripts/pressure-load.py"

# spawn_unheld COMMAND...: spawn, without the client fd of hold_worker (if any), so
# that release_worker really closes that connection.
spawn_unheld() {
	if [ -n "${HELD:-}" ]; then
		spawn "$@" {HELD}>&-
	else
		spawn "$@"
	fi
}

# load_start OUT ARGS...: the load tool against the server in the background, its
# JSON summary going to OUT when it stops (load_stop).
load_start() {
	local out=$1
	shift
	spawn_unheld "$LOAD" --port "$SERVER_PORT" "$@" >"$out"
	LOAD_PID=$SPAWNED
}

load_gone() { ! process_alive "$LOAD_PID"; }

load_stop() {
	kill -TERM "$LOAD_PID"
	wait_until 20 load_gone
}


# client_bg OUT MESSAGE: one echo client in the background, output in OUT.
client_bg() {
	spawn_unheld "$CLIENT" --connect "$SERVER_ADDR" --timeout 30 "$2" >"$1" 2>&1
}

@test "status shows the queue and the pressure while every worker is held busy" {
	start_server --workers 1 --defer-accept 0 --pressure-idle 0
	run_ok stat_json '.pressure.active'
	assert_eq "$output" false
	hold_worker
	for i in 1 2 3; do client_bg "$BATS_TEST_TMPDIR/c$i" "m$i"; done
	wait_until 10 stat_at_least '.pressure.queue' 3
	wait_until 10 stat_is '.pressure.active' true
	wait_until 10 log_has 'pressure: all 1 workers are busy and [0-9]* connections wait'
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_match "$output" 'Pressure: YES: accept queue [3-9]'
	run_ok "$CTL" -s "$SERVER_ADMIN" stats prometheus
	assert_match "$output" $'\npreforkd_accept_queue [3-9]'
	assert_match "$output" $'\npreforkd_pressure 1'
	assert_match "$output" $'\npreforkd_accept_queue_backlog 511'
	release_worker
	wait_until 20 stat_is '.pressure.active' false
	wait_until 20 log_has 'pressure over after'
	for i in 1 2 3; do wait_until 10 grep -qx "m$i" "$BATS_TEST_TMPDIR/c$i"; done
	assert_ge "$(stat_json '.pressure.queue_max')" 3
	assert_eq "$(stat_json '.pressure.episodes')" 1
	# --pressure-idle 0: measured, but nothing was cut short.
	assert_eq "$(stat_json '.totals.errors.evicted')" 0
	assert_eq "$(stat_json '.totals.completed')" 4
}

@test "without pressure a slow client is served as today" {
	start_server --workers 2 --defer-accept 0
	# A byte every 1.5 s, more than --pressure-idle, while the other worker is idle.
	run_ok python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
for b in b"abc":
    s.sendall(bytes([b])); time.sleep(1.5)
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = s.recv(10)
    if not d: break
    out += d
print(out.decode())' "$SERVER_PORT"
	assert_eq "$output" abc
	assert_eq "$(stat_json '.totals.errors.evicted')" 0
	assert_eq "$(stat_json '.pressure.episodes')" 0
}

@test "under pressure the silent connection is evicted, the trickling one kept" {
	start_server --workers 2 --defer-accept 0 --first-byte-timeout 30
	load_start "$BATS_TEST_TMPDIR/load.json" --silent 1 --trickle 1 --gap 0.2 --first-byte
	wait_until 10 stat_is '.pool.busy' 2
	# A third client queues behind them: the silent one goes, after --pressure-idle.
	RUN_TIMEOUT=20 run_ok echo_once queued
	assert_eq "$output" queued
	wait_until 10 stat_is '.totals.errors.evicted' 1
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_match "$output" 'errors \(timeout 0, reset 0, other 0, evicted 1\)'
	# The trickling client is still being served: its worker is busy.
	assert_eq "$(stat_json '.pool.busy')" 1
	load_stop
	run_ok jq -c '[.silent.closed, .trickle.closed]' "$BATS_TEST_TMPDIR/load.json"
	assert_eq "$output" '[1,0]'
	assert_eq "$(stat_json '.totals.errors.evicted')" 1
	assert_eq "$(stat_json '.pressure.closed_at_accept')" 0
}

@test "under pressure a connection with nothing to read at accept is closed at once" {
	# --defer-accept 1: the kernel queues the silent ones after about 1 to 3 s.
	start_server --workers 1 --defer-accept 1 --first-byte-timeout 30 --pressure-idle 60 \
		--worker-timeout 0
	hold_worker
	load_start "$BATS_TEST_TMPDIR/load.json" --silent 3
	wait_until 20 stat_at_least '.pressure.queue' 3
	client_bg "$BATS_TEST_TMPDIR/c" talker
	wait_until 10 stat_at_least '.pressure.queue' 4
	wait_until 10 stat_is '.pressure.active' true
	release_worker
	wait_until 20 grep -qx talker "$BATS_TEST_TMPDIR/c"
	wait_until 10 stat_is '.pressure.closed_at_accept' 3
	assert_eq "$(stat_json '.totals.errors.evicted')" 3
	load_stop
	run_ok jq -c '.silent.closed' "$BATS_TEST_TMPDIR/load.json"
	assert_eq "$output" 3
}

@test "every eviction is a connection that saw its close, and progress is never cut" {
	# Without --defer-accept nothing is closed at accept: every eviction is the
	# master's choice, signalled while workers move from connection to connection.
	start_server --workers 2 --defer-accept 0 --first-byte-timeout 30
	# The trickle's gap stays well under the shortest stall ever acted on (200 ms),
	# which a long queue of normal clients brings the limit down to.
	load_start "$BATS_TEST_TMPDIR/load.json" --silent 3 --reconnect --trickle 1 --gap 0.1 \
		--first-byte --normal-every 0.1 --duration 5
	wait_until 60 load_gone
	run_ok jq -c '[.silent.closed, .normal.failed]' "$BATS_TEST_TMPDIR/load.json"
	local silent_closed=${output#[}
	silent_closed=${silent_closed%%,*}
	assert_match "$output" '^\[[0-9]+,0\]$'
	assert_ge "$silent_closed" 1
	local evicted=$silent_closed
	# No trickling connection is closed while it makes progress. One whose client
	# was itself kept from sending (a loaded machine) for longer than the floor has
	# stalled, and may go: what is checked is that none went sooner.
	run_ok jq -c '[.trickle.closed, .trickle.quiet_at_close_min]' "$BATS_TEST_TMPDIR/load.json"
	if [[ $output != '[0,null]' ]]; then
		assert_match "$output" '^\[[1-9][0-9]*,[0-9.]+\]$'
		run_ok jq_in -e '.trickle.quiet_at_close_min >= 0.2' <"$BATS_TEST_TMPDIR/load.json"
		evicted=$((evicted + $(jq '.trickle.closed' "$BATS_TEST_TMPDIR/load.json")))
	fi
	# Whatever was left open went away with the load: no more evictions from here.
	wait_until 10 stat_is '.pool.busy' 0
	assert_eq "$(stat_json '.totals.errors.evicted')" "$evicted"
}

@test "--pressure-idle joins the --worker-timeout rule" {
	run_fail "$PREFORKD" --listen 127.0.0.1:0 --pressure-idle 5 --worker-timeout 4 \
		--idle-timeout 1 --first-byte-timeout 1 -t
	assert_contains "$output" \
		'--worker-timeout (4 s) must be 0 or greater than --pressure-idle (5 s)'
	run_ok "$PREFORKD" --listen 127.0.0.1:0 --pressure-idle 0 --worker-timeout 4 \
		--idle-timeout 1 --first-byte-timeout 1 -T
	assert_contains "$output" $'\npressure-idle 0\n'
	run_fail "$PREFORKD" --pressure-idle soon -t
	assert_contains "$output" '--pressure-idle: expected seconds'
}

@test "--queue-wait shows the time a connection waited in the accept queue" {
	start_server --workers 1 --queue-wait --pressure-idle 0
	hold_worker
	client_bg "$BATS_TEST_TMPDIR/c" queued
	wait_until 10 stat_at_least '.pressure.queue' 1
	# Not a synchronisation: the time to be measured. The client's data is already
	# queued (with --defer-accept it joins the queue with its data).
	sleep 0.4
	release_worker
	wait_until 20 grep -qx queued "$BATS_TEST_TMPDIR/c"
	wait_until 10 stat_is '.queue_wait_us.count' 2
	assert_eq "$(stat_json '.queue_wait_us.measured')" true
	assert_ge "$(stat_json '.queue_wait_us.max')" 400000
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_match "$output" 'Queue wait: p50 [^,]+, p90 [^,]+, p99 [^,]+, p99.9 [^,]+, max [0-9.]+(ms|s) \(2 connections\)'
	run_ok "$CTL" -s "$SERVER_ADMIN" stats prometheus
	assert_match "$output" $'\npreforkd_queue_wait_seconds_count 2'
}

@test "without --queue-wait the queue wait is not measured and no timestamp is asked" {
	start_server --workers 1
	run_ok echo_once hello
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "$output" 'Queue wait: not measured (--queue-wait)'
	assert_eq "$(stat_json '.queue_wait_us.count')" 0
}
