#!/usr/bin/env bats
# Crash-loop accounting: a failed start is a worker that never proved it can work
# (died before accept(), or left on its own having served nothing); a ready worker
# killed from outside is replaced at once. One back-off step per failed probe; only
# a worker started during the episode ends it; failed starts are rate-bounded
# whatever --min-uptime says. Faults come from the test build (test/README.md).

bats_require_minimum_version 1.5.0
# shellcheck disable=SC2034 # read by helpers.bash
PREFORKD="$(cd "$BATS_TEST_DIRNAME/.." && pwd)/bin/test/preforkd"
load helpers

# The time the server took, by its own log, from the first "worker exited" after
# line $1 to the last "worker spawned" after it, in ms.
respawn_ms() {
	local first last
	first=$(log_times_ms "$1" 'worker exited' | head -1)
	last=$(log_times_ms "$1" 'worker spawned' | tail -1)
	echo $((last - first))
}

spawns_after() {
	tail -n +"$(($1 + 1))" "$SERVER_LOG" | grep -c 'worker spawned' || true
}

@test "SIGKILL of all 16 workers of an idle pool: no back-off, all 16 back at once" {
	start_server --workers 16
	local mark
	mark=$(wc -l <"$SERVER_LOG")
	# shellcheck disable=SC2046
	kill -KILL $(worker_pids)
	wait_until 10 workers_ready 16
	local ms
	ms=$(respawn_ms "$mark")
	echo "# 16 workers killed: the last replacement spawned ${ms} ms after the first exit (server log)" >&3
	[ "$(spawns_after "$mark")" -eq 16 ]
	[ "$ms" -lt 2000 ]
	run ! log_has "crash loop"
	[ "$(stat_json .crash_loop.active)" = false ]
	run echo_once "still here"
	[ "$output" = "still here" ]
}

@test "100 rounds of kill-all with 4 workers on the defaults: never a back-off" {
	start_server --workers 4
	local mark
	: >"$BATS_TEST_TMPDIR/ms"
	for _ in $(seq 100); do
		wait_until 10 workers_ready 4
		mark=$(wc -l <"$SERVER_LOG")
		# shellcheck disable=SC2046
		kill -KILL $(worker_pids)
		wait_until 10 workers_ready 4
		wait_until 5 has_workers 4
		respawn_ms "$mark" >>"$BATS_TEST_TMPDIR/ms"
	done
	local p50 p99
	# shellcheck disable=SC2046 # one number a line
	read -r p50 p99 < <(benchstat percentile 50,99 $(cat "$BATS_TEST_TMPDIR/ms"))
	echo "# kill-all recovery (first exit -> last spawn, server log): p50 ${p50} ms, p99 ${p99} ms" >&3
	run ! log_has "crash loop"
	[ "$(stat_json .crash_loop.active)" = false ]
	[ "$(stat_json .restarts.signal)" -eq 400 ]
}

@test "start fault while an old worker serves: back-off holds, shown in status, then recovers" {
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_server --workers 4
	# One old worker stays busy with a client for the whole test.
	hold_worker
	local busy
	busy=$(stat_json '.workers[] | select(.state == "busy") | .pid')
	[ -n "$busy" ]
	touch "$PREFORKD_TEST_FAULT_FILE"
	local mark
	mark=$(wc -l <"$SERVER_LOG")
	for w in $(worker_pids); do [ "$w" = "$busy" ] || kill -KILL "$w"; done
	wait_until 5 log_has "crash loop: slot"
	# A measurement window, not a synchronisation: count the forks it holds.
	sleep 2
	local forks
	forks=$(spawns_after "$mark")
	echo "# forks in the first 2 s of the crash loop (3 killed, every new worker crashes): $forks" >&3
	[ "$forks" -le 9 ]
	run "$CTL" -s "$SERVER_ADMIN" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"Crash loop: yes: "*" failed starts in a row ("*" failed probes), back-off "* ]]
	[ "$(stat_json .crash_loop.active)" = true ]
	run "$CTL" -s "$SERVER_ADMIN" stats prometheus
	[[ "$output" == *"preforkd_crash_loop_failed_starts "[1-9]* ]]
	# The old worker still serves its client.
	printf 'b' >&"$HELD"
	IFS= read -r -n 1 -t 5 got <&"$HELD"
	[ "$got" = b ]
	# The fault is gone: the next probe proves itself and the pool fills.
	rm "$PREFORKD_TEST_FAULT_FILE"
	local t0=$SECONDS
	wait_until 40 log_has "back-off reset"
	wait_until 10 workers_ready 4
	echo "# recovered $((SECONDS - t0)) s after the fault was removed (the probe waits out the back-off, then --min-uptime 1)" >&3
	[ "$(stat_json .crash_loop.active)" = false ]
	run echo_once "recovered"
	[ "$output" = "recovered" ]
}

@test "--min-uptime 0 and workers that exit 100 ms after ready: failed starts stay near 10/s" {
	# Each probe reaches accept() and so ends its episode at once (--min-uptime 0),
	# then the whole pool fails again: only the failed-start budget bounds the rate.
	export PREFORKD_TEST_FAULT=exit-when-ready:100
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_server --workers 8 --min-uptime 0
	touch "$PREFORKD_TEST_FAULT_FILE"
	local mark
	mark=$(wc -l <"$SERVER_LOG")
	# shellcheck disable=SC2046
	kill -KILL $(worker_pids)
	wait_until 5 log_has "crash loop: slot"
	# A measurement window, not a synchronisation.
	sleep 3
	local forks
	forks=$(spawns_after "$mark")
	echo "# forks in 3 s with --min-uptime 0, 8 workers, every start failing 100 ms after ready: $forks" >&3
	# 8 replacements, a burst of 10, at most 10 per second over the window (a little
	# more than 3 s), and up to 8 starts not yet failed; without the budget, about
	# 80 per second.
	[ "$forks" -le 64 ]
	process_alive "$SERVER_PID"
	rm "$PREFORKD_TEST_FAULT_FILE"
	wait_until 20 workers_ready 8
	run echo_once "recovered"
	[ "$output" = "recovered" ]
}

@test "a ready worker that exits on its own having served nothing is a failed start" {
	export PREFORKD_TEST_FAULT=exit-when-ready
	# The ready worker killed with SIGKILL is replaced at once; its replacement, which
	# gives up with exit code 1 once ready, is a failed start.
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_server --workers 1 --min-uptime 0.2
	local w mark
	w=$(worker_pids)
	touch "$PREFORKD_TEST_FAULT_FILE"
	mark=$(wc -l <"$SERVER_LOG")
	kill -KILL "$w"
	wait_until 5 log_has "crash loop: slot"
	grep -q "cause exit code 1" <(tail -n +"$((mark + 1))" "$SERVER_LOG")
	run ! grep -q "pid $w .*crash loop" "$SERVER_LOG"
	rm "$PREFORKD_TEST_FAULT_FILE"
	wait_until 20 log_has "back-off reset"
	wait_until 10 workers_ready 1
}
