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

# ---- --crash-loop-limit: a crash loop that does not end is a failure ----

# The last STATUS= the stand-in for systemd received.
last_status() {
	grep '^STATUS=' "$NOTIFY_OUT" | tail -1
}

last_status_is() {
	[ "$(last_status)" = "$1" ]
}

# json_at_least JQ_PATH N: a number in `stats json` is at least N.
json_at_least() {
	"$CTL" -s "$SERVER_ADMIN" stats json | jq_in -e "$1 >= $2" >/dev/null
}

# kill_all_into_fault: from now on every start fails; the workers there are killed.
kill_all_into_fault() {
	touch "$PREFORKD_TEST_FAULT_FILE"
	# shellcheck disable=SC2046 # one argument per worker pid
	kill -KILL $(worker_pids)
	wait_until 5 log_has "crash loop: slot"
}

@test "--crash-loop-limit: a loop that does not end is failing (status exits 150, stats, STATUS=), then recovers" {
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_notify_listener "$BATS_TEST_TMPDIR/notify.sock"
	NOTIFY_SOCKET="$BATS_TEST_TMPDIR/notify.sock" start_server --workers 2 --crash-loop-limit 3
	wait_until 5 last_status_is "STATUS=2 workers running (target 2), generation 1"
	kill_all_into_fault
	# Within the limit: a crash loop, but running.
	run_expect 0 "$CTL" -s "$SERVER_ADMIN" status
	assert_match "${lines[0]}" "^preforkd [^ ]+ - running, pid $SERVER_PID\$"
	assert_contains "$output" "Crash loop: yes: "
	# Past it: failing, everywhere the state shows.
	wait_until 10 log_has "crash loop: every worker start has failed for 3.[0-9] s (--crash-loop-limit 3): failing"
	run_expect 150 "$CTL" -s "$SERVER_ADMIN" status
	assert_match "${lines[0]}" "^preforkd [^ ]+ - failing, pid $SERVER_PID\$"
	assert_contains "$output" "   Failing: every worker start has failed for "
	assert_contains "$output" "(--crash-loop-limit 3.0s)"
	assert_eq "$(stat_json .state)" failing
	# shellcheck disable=SC2016 # jq, not shell
	stat_json '.crash_loop | [.active, .failing, .limit_seconds, .duration_seconds >= 3] | @csv' |
		grep -qx 'true,true,3,true'
	"$CTL" -s "$SERVER_ADMIN" stats prometheus >"$BATS_TEST_TMPDIR/metrics"
	grep -qx 'preforkd_crash_loop_failing 1' "$BATS_TEST_TMPDIR/metrics"
	if command -v promtool >/dev/null; then promtool check metrics <"$BATS_TEST_TMPDIR/metrics"; fi
	wait_until 5 grep -q '^STATUS=failing: every worker start has failed for over 3 s (crash loop, [0-9]* failed starts in a row); 0 workers running (target 2), generation 1$' "$NOTIFY_OUT"
	# Only `status` is judged; the other commands answer as ever.
	run_expect 0 "$CTL" -s "$SERVER_ADMIN" workers
	run_expect 0 "$CTL" -s "$SERVER_ADMIN" stats
	# The master keeps probing: the fault gone, the next probe proves itself.
	rm "$PREFORKD_TEST_FAULT_FILE"
	wait_until 40 log_has "crash loop: no longer failing: workers start cleanly again"
	wait_until 10 workers_ready 2
	run_expect 0 "$CTL" -s "$SERVER_ADMIN" status
	assert_match "${lines[0]}" "^preforkd [^ ]+ - running, pid $SERVER_PID\$"
	assert_contains "$output" "Crash loop: no"
	assert_eq "$(stat_json .crash_loop.failing)" false
	wait_until 5 last_status_is "STATUS=2 workers running (target 2), generation 1"
	run echo_once "recovered"
	[ "$output" = "recovered" ]
}

@test "--crash-loop-limit: old workers that keep serving do not hide a generation that never starts" {
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_server --workers 2 --crash-loop-limit 2
	# A reload whose every new worker crashes: the old generation serves on.
	touch "$PREFORKD_TEST_FAULT_FILE"
	kill -HUP "$SERVER_PID"
	wait_until 5 log_has "crash loop: slot"
	wait_until 10 log_has "failing; [0-9]* failed starts in a row, 2 workers running (target 2)"
	run_expect 150 "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "${lines[0]}" " - failing, pid "
	run echo_once "old generation"
	[ "$output" = "old generation" ]
	rm "$PREFORKD_TEST_FAULT_FILE"
	wait_until 40 log_has "no longer failing"
	run_expect 0 "$CTL" -s "$SERVER_ADMIN" status
}

@test "--crash-loop-limit: a pool scaled down to the workers it has needs no start: not failing" {
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_server --workers 2 --crash-loop-limit 1
	touch "$PREFORKD_TEST_FAULT_FILE"
	local victim
	victim=$(stat_json '.workers[] | select(.slot == 1) | .pid')
	kill -KILL "$victim"
	wait_until 5 log_has "crash loop: slot 1"
	run_expect 0 "$CTL" -s "$SERVER_ADMIN" scale 1
	# The episode outlives the limit with nothing left to start: still running.
	wait_until 10 json_at_least .crash_loop.duration_seconds 2
	assert_eq "$(stat_json .state)" running
	run_expect 0 "$CTL" -s "$SERVER_ADMIN" status
	run ! log_has "failing;"
}

@test "--crash-loop-exit: past the limit the master stops gracefully and exits 69" {
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_server --workers 2 --crash-loop-limit 1 --crash-loop-exit
	kill_all_into_fault
	wait_until 15 process_gone "$SERVER_PID"
	local rc=0
	wait "$SERVER_PID" || rc=$?
	assert_eq "$rc" 69 "exit status"
	log_has "crash loop: --crash-loop-exit: stopping, exit status 69"
	log_has "stopped (exit status 69: a crash loop that did not end)"
	[ ! -e "$SERVER_ADMIN" ]
	[ ! -e "$SERVER_PIDFILE" ]
}

@test "--crash-loop-limit and --crash-loop-exit: defaults, -T, and the rule between them" {
	run_expect 0 "$PREFORKD" -T
	grep -qx 'crash-loop-limit 60' <<<"$output"
	grep -qx 'crash-loop-exit no' <<<"$output"
	run_expect 0 "$PREFORKD" -T --crash-loop-limit 2.5 --crash-loop-exit
	grep -qx 'crash-loop-limit 2.5' <<<"$output"
	grep -qx 'crash-loop-exit yes' <<<"$output"
	run_expect 2 "$PREFORKD" --crash-loop-limit 0 --crash-loop-exit
	assert_contains "$output" "preforkd: --crash-loop-exit: needs a --crash-loop-limit above 0"
	run_expect 2 "$PREFORKD" --crash-loop-limit -1
	assert_contains "$output" "--crash-loop-limit"
}
