#!/usr/bin/env bats
# Short chaos runs through scripts/stress.sh: under load, workers SIGKILLed every
# 200 ms and a rolling restart lose at most one transaction per kill, never a byte;
# reloads and scaling alone lose nothing; the verdict catches a server that loses
# transactions or corrupts replies.

load helpers

STRESS="$ROOT/scripts/stress.sh"

setup() {
	# stress.sh makes its temp dir here: the test can see that it is removed.
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir -p "$TMPDIR"
	VERDICT="$BATS_TEST_TMPDIR/verdict.json"
}

# check_result NAME: the result (PASS/FAIL/SKIP) of one check of the verdict.
check_result() {
	jq -r --arg n "$1" '.checks[] | select(.name == $n) | .result' "$VERDICT"
}

# The totals check needs preforkctl; where it is built, it must pass.
assert_totals_pass() {
	if [ -x "$ROOT/bin/preforkctl" ]; then
		[ "$(check_result totals)" = PASS ]
	else
		[ "$(check_result totals)" = SKIP ]
	fi
}

assert_nothing_left() {
	[ "$(check_result "server exit")" = PASS ]
	[ "$(check_result orphans)" = PASS ]
	[ "$(check_result zombies)" = PASS ]
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "workers killed every 200 ms and a reload under load: no mismatch, failures <= kills" {
	local rc=0 t0 secs
	t0=$(now_ms)
	"$STRESS" --workers 4 --concurrency 16 --duration 5 --kill-every 200 --reload-every 3 \
		--timeout 5 --json -q >"$VERDICT" 3>&- || rc=$?
	secs=$((($(now_ms) - t0) / 1000))
	cat "$VERDICT"
	echo "the chaos run took $secs s"
	[ "$rc" -eq 0 ]
	# the issue's bound for the chaos run in make test
	[ "$secs" -le 20 ]
	[ "$(jq -r .pass "$VERDICT")" = true ]
	[ "$(jq -r .client.errors.mismatch "$VERDICT")" -eq 0 ]
	local kills failed
	kills=$(jq -r .faults.workers_killed "$VERDICT")
	failed=$(jq -r .client.failed "$VERDICT")
	[ "$kills" -ge 10 ]
	[ "$failed" -le "$kills" ]
	# one at 3 s; a second if the last transactions drain past 6 s
	[ "$(jq -r .faults.reloads "$VERDICT")" -ge 1 ]
	[ "$(jq -r .client.ok "$VERDICT")" -gt 100 ]
	[ "$(jq -r .workers.final "$VERDICT")" -eq 4 ]
	assert_totals_pass
	assert_nothing_left
}

@test "reloads and scale flapping alone fail no transaction" {
	local rc=0
	"$STRESS" --workers 2 --concurrency 8 --duration 3 --reload-every 1 --scale-flap \
		--flap-every 0.25 --json -q >"$VERDICT" 3>&- || rc=$?
	cat "$VERDICT"
	[ "$rc" -eq 0 ]
	[ "$(jq -r .client.failed "$VERDICT")" -eq 0 ]
	[ "$(jq -r .faults.reloads "$VERDICT")" -ge 2 ]
	[ "$(jq -r .faults.scale_signals "$VERDICT")" -ge 8 ]
	[ "$(jq -r .workers.final "$VERDICT")" -eq 2 ]
	assert_totals_pass
	assert_nothing_left
}

@test "a running preforkd is targeted by --connect, --pid and --admin, and left running" {
	start_server --workers 3
	local rc=0
	"$STRESS" --connect "$SERVER_ADDR" --pid "$SERVER_PID" --admin "$SERVER_ADMIN" \
		--duration 2 --concurrency 8 --kill-every 300 --json -q >"$VERDICT" 3>&- || rc=$?
	cat "$VERDICT"
	[ "$rc" -eq 0 ]
	[ "$(jq -r .workers.target "$VERDICT")" -eq 3 ]
	[ "$(jq -r .faults.workers_killed "$VERDICT")" -ge 3 ]
	[ "$(check_result totals)" = PASS ]
	[ "$(check_result orphans)" = PASS ]
	# stress.sh stops only what it started
	process_alive "$SERVER_PID"
	wait_until 5 has_workers 3
	teardown_servers
}

@test "the verdict fails when transactions fail with no worker killed" {
	# Test-build workers hang after 100 connections; their clients time out.
	local rc=0
	PREFORKD_TEST_FAULT=hang-after:100 "$STRESS" --server "$ROOT/bin/test/preforkd" \
		--workers 2 --concurrency 4 --duration 2 --timeout 0.5 --json -q \
		-- --worker-timeout 1 --idle-timeout 0.5 --first-byte-timeout 0.5 --pressure-idle 0 \
		>"$VERDICT" 3>&- || rc=$?
	cat "$VERDICT"
	[ "$rc" -eq 1 ]
	[ "$(jq -r .pass "$VERDICT")" = false ]
	[ "$(check_result failures)" = FAIL ]
	[ "$(check_result mismatches)" = PASS ]
	assert_nothing_left
}

@test "a server that corrupts replies fails the verdict on mismatches" {
	start_flip --flip
	local rc=0
	"$STRESS" --connect "$FLIP_ADDR" --duration 1 --concurrency 2 --json -q >"$VERDICT" 3>&- ||
		rc=$?
	cat "$VERDICT"
	[ "$rc" -eq 1 ]
	[ "$(check_result mismatches)" = FAIL ]
	[ "$(jq -r .client.errors.mismatch "$VERDICT")" -gt 0 ]
	[ "$(jq -r .client.ok "$VERDICT")" -eq 0 ]
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "stress.sh --help names every option; a bad option exits 2" {
	run_ok "$STRESS" --help
	for opt in --duration --concurrency --kill-every --reload-every --scale-flap --connect \
		--admin --pid --json; do
		assert_contains "$output" "$opt" "--help names $opt"
	done
	run_expect 2 "$STRESS" --kill-every soon
	assert_contains "$output" "--kill-every"
	run_expect 2 "$STRESS" --connect 192.0.2.1:7 --duration 1
	assert_contains "$output" "loopback"
	# an interval under the clock's 10 ms would signal in a tight loop
	run_expect 2 "$STRESS" --reload-every 0.001
	assert_contains "$output" "--reload-every: expected 0 (off) or seconds >= 0.01"
	run_expect 2 "$STRESS" --reload-every 0.0099
	run_expect 2 "$STRESS" --kill-every 5
	assert_contains "$output" "--kill-every: expected 0 (off) or milliseconds >= 10"
	run_expect 2 "$STRESS" --scale-flap --flap-every 0
	run_expect 2 "$STRESS" --duration 0.000
	# a leading zero is not read as octal, and the size limit is prefork-bench's
	run_expect 2 "$STRESS" --size 08
	run_expect 2 "$STRESS" --size 67108865
	assert_contains "$output" "--size: expected 1..67108864"
}

@test "a server that cannot start fails at once, and --json says why" {
	local rc=0 t0 secs
	t0=$(now_ms)
	"$STRESS" --json -q -- --workers 0 >"$VERDICT" 3>&- || rc=$?
	secs=$((($(now_ms) - t0) / 1000))
	cat "$VERDICT"
	[ "$rc" -eq 1 ]
	[ "$(jq -r .pass "$VERDICT")" = false ]
	[ "$(jq -r .error "$VERDICT")" = "preforkd did not start" ]
	# no wait for a start that cannot come
	[ "$secs" -lt 5 ]
	[ -z "$(ls -A "$TMPDIR")" ]
}
