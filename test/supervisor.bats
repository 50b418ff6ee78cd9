#!/usr/bin/env bats
# Supervision policies under faults injected by the test build (bin/test/preforkd,
# see test/README.md): crash-loop back-off, hung-worker kill, recycling after
# --max-requests, EMFILE in a worker, and silent clients with --defer-accept.

bats_require_minimum_version 1.5.0
PREFORKD="$(cd "$BATS_TEST_DIRNAME/.." && pwd)/bin/test/preforkd"
load helpers

log_count() {
	grep -c -- "$1" "$SERVER_LOG" || true
}

# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat;
# the command name in field 2 has no spaces here).
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "workers crashing on start back off exponentially; the master stays up and recovers" {
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	# The fault file is absent at first, so the pool comes up; from now on every new
	# worker crashes at once.
	start_server --workers 2 --min-uptime 0.5
	touch "$PREFORKD_TEST_FAULT_FILE"
	local mark
	mark=$(wc -l <"$SERVER_LOG")
	for w in $(worker_pids); do kill -KILL "$w"; done
	# The killed workers were ready: replaced at once, not failed starts. Both
	# replacements crash (one failed batch: one step, 0.1 s), then one probe at a
	# time: back-off 0.2, 0.4 s between the probes.
	wait_until 10 log_has_n "crash loop: slot" 5
	mapfile -t t < <(log_times_ms "$mark" "worker spawned")
	[ "${#t[@]}" -ge 5 ]
	local g1=$((t[3] - t[2])) g2=$((t[4] - t[3]))
	echo "# gaps between probes: ${g1} ms, ${g2} ms" >&3
	# Each gap is at least the announced back-off (0.2 s, then 0.4 s) and doubles.
	[ "$g1" -ge 200 ]
	[ "$g2" -ge 400 ]
	[ "$g2" -ge $((g1 * 3 / 2)) ]
	process_alive "$SERVER_PID"
	[ "$(stat_json .crash_loop.active)" = true ]
	[ "$(stat_json .crash_loop.failed_starts)" -ge 5 ]
	run "$CTL" -s "$SERVER_ADMIN" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"Crash loop: yes: "*" failed starts in a row ("*"), back-off "* ]]
	# The fault is fixed: the next probe survives --min-uptime, the back-off resets
	# and the pool fills up again.
	rm "$PREFORKD_TEST_FAULT_FILE"
	wait_until 10 log_has "back-off reset"
	# ...and the reset does not leave the next start a whole back-off away.
	[ "$(stat_json '.crash_loop.next_start_in_seconds == 0')" = true ]
	wait_until 5 has_workers 2
	[ "$(stat_json .crash_loop.active)" = false ]
	run echo_once "recovered"
	[ "$output" = "recovered" ]
}

@test "a worker hung mid-request is killed after --worker-timeout, replaced, counted as timeout" {
	start_hung_once
	local victim=$HUNG_PID
	# shellcheck disable=SC2153 # CLIENT comes from helpers.bash
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 10 "stuck" >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local client=$!
	wait_until 10 log_has "pid $victim cause timeout"
	wait "$client" || true
	[ "$(cat "$BATS_TEST_TMPDIR/out")" != "stuck" ]
	# Killed only after the timeout had passed with no progress.
	local idle
	idle=$(sed -n "s/.*pid $victim made no progress for \([0-9.]*\) s.*/\1/p" "$SERVER_LOG")
	awk -v s="$idle" 'BEGIN { exit !(s >= 1.0) }'
	[ "$(stat_json .restarts.timeout)" -eq 1 ]
	[ "$(stat_json '.last_exits[0].cause')" = timeout ]
	wait_until 5 has_workers 1
	process_gone "$victim"
	run echo_once "after the hang"
	[ "$output" = "after the hang" ]
}

@test "a busy worker that keeps making progress is not killed by --worker-timeout" {
	start_server --workers 1 --worker-timeout 1 --idle-timeout 0.5 --first-byte-timeout 0.5 \
		--pressure-idle 0
	local out
	# Two seconds of a slow but live client: one byte every 0.25 s.
	out=$(for i in 1 2 3 4 5 6 7 8; do printf '%s' "$i"; sleep 0.25; done |
		"$CLIENT" --connect "$SERVER_ADDR" --timeout 5)
	[ "$out" = "12345678" ]
	[ "$(stat_json .restarts.timeout)" -eq 0 ]
	run ! log_has "made no progress"
}

@test "--max-requests 5 with 3 workers: 100 transactions all succeed, workers recycle" {
	start_server --workers 3 --max-requests 5
	local i out failed=0
	for i in $(seq 1 100); do
		out=$(echo_once "transaction $i") || failed=$((failed + 1))
		[ "$out" = "transaction $i" ] || failed=$((failed + 1))
	done
	[ "$failed" -eq 0 ]
	# 100 connections in retirements of 5, the 3 live workers holding 0..4 each.
	wait_until 5 stat_at_least .restarts.recycled 18
	[ "$(stat_json .restarts.recycled)" -le 20 ]
	[ "$(stat_json .totals.accepted)" -eq 100 ]
	[ "$(stat_json .totals.completed)" -eq 100 ]
	[ "$(stat_json .restarts.exit_code)" -eq 0 ]
	[ "$(stat_json .restarts.signal)" -eq 0 ]
	[ "$(stat_json .crash_loop.failed_starts)" -eq 0 ]
	[ "$(log_count 'cause recycled after .* 5 connections')" -ge 18 ]
	wait_until 5 has_workers 3
}

@test "--max-requests-jitter gives each worker its own limit in N..N+J" {
	start_server --workers 1 --max-requests 2 --max-requests-jitter 6
	for i in $(seq 1 60); do echo_once "j$i" >/dev/null; done
	wait_until 5 stat_at_least .restarts.recycled 7
	local counts
	counts=$(sed -n 's/.*cause recycled after .*, \([0-9]*\) connections/\1/p' "$SERVER_LOG")
	echo "# connections per recycled worker: $(echo "$counts" | tr '\n' ' ')" >&3
	for c in $counts; do [ "$c" -ge 2 ] && [ "$c" -le 8 ]; done
	# Drawn per worker: not all the same (all equal by chance: under 1 in 10^5).
	[ "$(echo "$counts" | sort -u | wc -l)" -gt 1 ]
}

@test "EMFILE in a worker: it pauses instead of spinning, then serves as fds come back" {
	# The worker runs under `ulimit -n 64`, and the fault fills its fd table for 3 s:
	# accept4() fails with EMFILE while a client waits in the accept queue.
	local wrapper="$BATS_TEST_TMPDIR/preforkd-64fds"
	printf '#!/bin/sh\nulimit -n 64\nexec "%s" "$@"\n' "$PREFORKD" >"$wrapper"
	chmod +x "$wrapper"
	PREFORKD="$wrapper"
	export PREFORKD_TEST_FAULT=hold-fds:3
	start_server --workers 1
	local worker
	worker=$(worker_pids)
	wait_until 5 log_has "accept4: Too many open files; pausing"
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 10 "patience" >"$BATS_TEST_TMPDIR/out" 3>&- &
	local client=$!
	local hz c0 c1
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$worker")
	sleep 1
	c1=$(cpu_ticks "$worker")
	# Still out of fds at the end of the measurement: the table is (nearly) full.
	[ "$(find "/proc/$worker/fd" -mindepth 1 | wc -l)" -ge 60 ]
	echo "# worker CPU while out of fds: $((c1 - c0)) ticks of $hz in 1 s" >&3
	# Under 5 % of one CPU.
	[ $(((c1 - c0) * 100)) -lt $((5 * hz)) ]
	wait "$client"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "patience" ]
	# The same worker served it: nothing died, nothing was lost.
	[ "$(worker_pids)" = "$worker" ]
	run echo_once "and more"
	[ "$output" = "and more" ]
}

@test "--defer-accept: a client that connects and never sends does not hold the only worker" {
	start_server --workers 1 --defer-accept 5
	local idle
	exec {idle}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
	run echo_once "not blocked"
	[ "$status" -eq 0 ]
	[ "$output" = "not blocked" ]
	# The silent connection never reached the worker.
	[ "$(stat_json .totals.accepted)" -eq 1 ]
	[ "$(stat_json .pool.busy)" -eq 0 ]
	exec {idle}>&-
}

@test "without --defer-accept a silent client does hold the only worker (the control case)" {
	# --pressure-idle 0: else the queued client's wait evicts the silent one.
	start_server --workers 1 --defer-accept 0 --first-byte-timeout 10 --pressure-idle 0
	local idle
	exec {idle}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
	wait_until 5 stat_at_least .pool.busy 1
	run echo_once --timeout 1 "blocked"
	[ "$status" -ne 0 ]
	exec {idle}>&-
}
