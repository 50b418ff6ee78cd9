#!/usr/bin/env bats
# The shell library (scripts/lib.sh) and the BATS helpers every suite relies on: waits
# that poll on a monotonic clock and give up in time, liveness that counts a zombie as
# gone, stopping a pid with escalation, the address a preforkd logs, a run wrapper and
# assertions that say what was expected, and a teardown that catches a process left
# behind.

load helpers

@test "wait_until polls until the command succeeds, and gives up when time is up" {
	# shellcheck disable=SC2016 # $1 is the inner bash's
	spawn bash -c 'sleep 0.3; touch "$1"' _ "$BATS_TEST_TMPDIR/later"
	wait_until 10 test -e "$BATS_TEST_TMPDIR/later"
	local t0 t1
	t0=$(now_ms)
	run wait_until 0.3 false
	t1=$(now_ms)
	assert_eq "$status" 1
	assert_eq "$output" "timed out after 0.3s waiting for: false"
	assert_ge $((t1 - t0)) 300 "waited at least the limit"
	run wait_until -q 0.1 false
	assert_eq "$status" 1
	assert_eq "$output" ""
	run wait_until soon true
	assert_eq "$status" 2
	assert_eq "$output" "wait_until: expected seconds, got 'soon'"
}

@test "ms_of reads whole and decimal seconds; anything else fails" {
	assert_eq "$(ms_of 1.5)" 1500
	assert_eq "$(ms_of 2)" 2000
	assert_eq "$(ms_of 08)" 8000
	assert_eq "$(ms_of 0.0099)" 9
	run ms_of 1e3
	assert_eq "$status" 1
	run ms_of -1
	assert_eq "$status" 1
}

@test "process_alive: a running process yes; a zombie, a bad pid and none at all no" {
	# A child that its parent never reaps stays a zombie. The child exits only once
	# its parent has become `sleep`: bash, had it still been there, would reap it.
	# shellcheck disable=SC2016 # $$ is the inner bash's pid
	bash -c '(until grep -qx sleep "/proc/$$/comm"; do sleep 0.01; done) &
		exec sleep 60' 3>&- &
	local parent=$! zombie
	track "$parent"
	process_alive "$parent"
	wait_until 5 has_child "$parent"
	zombie=$(child_pids "$parent")
	wait_until 5 grep -q ') Z ' "/proc/$zombie/stat"
	process_gone "$zombie"
	kill -KILL "$parent"
	wait "$parent" || true
	process_gone "$parent"
	process_gone ""
	process_gone abc
	process_gone 0
}

@test "stop_pid: SIGTERM, then SIGKILL for one that ignores it; the child is reaped" {
	sleep 60 3>&- &
	local polite=$! stubborn t0 t1
	track "$polite"
	stop_pid "$polite" 10
	process_gone "$polite"
	[ ! -e "/proc/$polite" ]
	# exec keeps the ignored SIGTERM: the sleep itself ignores it.
	bash -c 'trap "" TERM; exec sleep 60' 3>&- &
	stubborn=$!
	track "$stubborn"
	wait_until 5 grep -q '^sleep' "/proc/$stubborn/comm"
	t0=$(now_ms)
	stop_pid "$stubborn" 0.5
	t1=$(now_ms)
	process_gone "$stubborn"
	assert_ge $((t1 - t0)) 500 "SIGKILL only after the grace period"
	stop_pid ""
}

@test "listen_addr and listen_port read the first listening line of a log" {
	local log="$BATS_TEST_TMPDIR/a.log"
	printf '%s\n' "2026-01-01T00:00:00.000Z preforkd[1] info: admin socket /x/listening on" \
		"2026-01-01T00:00:00.001Z preforkd[1] info: listening on [::1]:40123" \
		"2026-01-01T00:00:00.002Z preforkd[1] info: listening on 127.0.0.1:9" >"$log"
	assert_eq "$(listen_addr "$log")" "[::1]:40123"
	assert_eq "$(listen_port "$log")" 40123
	log_listening "$log"
	run_fail log_listening "$BATS_TEST_TMPDIR/none.log"
}

@test "run_expect checks the exit status under a time limit and shows the output" {
	run_expect 3 bash -c 'echo three; exit 3'
	assert_eq "$output" three
	run_fail false
	run_ok true
	local out
	if out=$(run_expect 3 bash -c 'echo four; exit 4' 2>&1); then
		fail "a wrong exit status passed"
	fi
	assert_contains "$out" "expected: 3"
	assert_contains "$out" "actual: 4"
	assert_contains "$out" "| four"
	if out=$(RUN_TIMEOUT=0.5 run_expect 0 sleep 30 2>&1); then
		fail "a hung command passed"
	fi
	assert_contains "$out" "actual: 124 (timed out after 0.5s)"
}

@test "assertions print what was expected against what came" {
	local out
	assert_eq same same
	assert_match "listening on 127.0.0.1:80" ':[0-9]+$'
	assert_contains "a needle in a haystack" needle
	assert_ge 3 3
	assert_le 3 3
	if out=$(assert_eq got wanted "the greeting" 2>&1); then fail "assert_eq passed"; fi
	assert_eq "$out" "FAIL: the greeting
  expected: 'wanted'
    actual: 'got'"
	if out=$(assert_match abc '^[0-9]+$' 2>&1); then fail "assert_match passed"; fi
	assert_contains "$out" "expected: =~ ^[0-9]+\$"
	if out=$(assert_contains haystack needle 2>&1); then fail "assert_contains passed"; fi
	assert_contains "$out" "expected: contains 'needle'"
	if out=$(assert_ge x 1 2>&1); then fail "assert_ge passed a word"; fi
	if out=$(assert_le 2 1 2>&1); then fail "assert_le passed"; fi
	assert_contains "$out" "expected: <= 1"
}

@test "teardown_servers stops what was spawned and names a child left behind" {
	spawn sleep 60
	run teardown_servers
	assert_eq "$status" 0
	# A parent that dies on SIGTERM and leaves its child running.
	spawn bash -c 'sleep 60 & wait'
	local parent=$SPAWNED kid
	wait_until 5 has_child "$parent"
	kid=$(child_pids "$parent")
	run teardown_servers
	assert_eq "$status" 1
	assert_eq "$output" "processes left behind: $kid"
	wait_until 5 process_gone "$kid"
}

@test "start_server fails at once, with the log, when preforkd exits" {
	local t0 t1
	t0=$(now_ms)
	run start_server --workers 0
	t1=$(now_ms)
	assert_eq "$status" 1
	assert_contains "$output" "did not come up"
	assert_contains "$output" "(exited)"
	# no wait for a start that cannot come (the limit is 20 s)
	assert_le $((t1 - t0)) 10000
}

@test "jq_in: an -e check of empty or blank input fails; of a value, as jq says" {
	run jq_in -e '.a == 1' </dev/null
	assert_eq "$status" 1
	run jq_in -e '.a == 1' <<<$'  \n\t'
	assert_eq "$status" 1
	run jq_in -e '.a == 1' <<<'{"a": 1}'
	assert_eq "$status" 0
	run jq_in -e '.a == 1' <<<'{"a": 2}'
	assert_eq "$status" 1
	run jq_in -r '.a' <<<'{"a": "x"}'
	assert_eq "$output" x
}

@test "start_server waits for a server that is slow to start: no answer is not ready" {
	# A wrapper that starts preforkd only after 1.5 s: until then nothing answers on the
	# admin socket, and the wait must not count that as every worker ready.
	cat >"$BATS_TEST_TMPDIR/slow" <<EOF
#!/bin/sh
sleep 1.5
exec "$PREFORKD" "\$@"
EOF
	chmod +x "$BATS_TEST_TMPDIR/slow"
	PREFORKD="$BATS_TEST_TMPDIR/slow" start_server --workers 2
	workers_ready 2
	log_listening "$SERVER_LOG"
}
