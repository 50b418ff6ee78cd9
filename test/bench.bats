#!/usr/bin/env bats
# prefork-bench: it counts only verified echoes as successes, reports a lying
# server as mismatches (exit 1), keeps its open-loop schedule, and rejects bad
# usage (exit 2). Loopback only; no speed is asserted.

load helpers

BENCH="$ROOT/bin/prefork-bench"
FLIP="$ROOT/bin/test/flip_echo"

teardown() {
	if [ -n "${FLIP_PID:-}" ]; then
		kill -TERM "$FLIP_PID" 2>/dev/null || true
		wait "$FLIP_PID" 2>/dev/null || true
		process_gone "$FLIP_PID"
	fi
	teardown_servers
}

start_flip() {
	"$FLIP" "$BATS_TEST_TMPDIR/port" "$@" 3>&- &
	FLIP_PID=$!
	wait_until 5 test -s "$BATS_TEST_TMPDIR/port"
	FLIP_ADDR="127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")"
}

json_field() {
	jq -r "$1" "$BATS_TEST_TMPDIR/out.json"
}

@test "every transaction against an honest server is verified and counted" {
	start_flip
	"$BENCH" --connect "$FLIP_ADDR" -n 200 -c 4 --json >"$BATS_TEST_TMPDIR/out.json"
	[ "$(json_field .ok)" -eq 200 ]
	[ "$(json_field '[.errors[]] | add')" -eq 0 ]
	[ "$(json_field .keepalive)" = false ]
}

@test "keep-alive, empty and large payloads are verified" {
	start_flip
	"$BENCH" --connect "$FLIP_ADDR" -n 300 -c 1 --keepalive --json >"$BATS_TEST_TMPDIR/out.json"
	[ "$(json_field .ok)" -eq 300 ]
	[ "$(json_field .keepalive)" = true ]
	"$BENCH" --connect "$FLIP_ADDR" -n 50 -s 0 --json >"$BATS_TEST_TMPDIR/out.json"
	[ "$(json_field .ok)" -eq 50 ]
	"$BENCH" --connect "$FLIP_ADDR" -n 20 -c 2 -s 100000 --json >"$BATS_TEST_TMPDIR/out.json"
	[ "$(json_field .ok)" -eq 20 ]
	[ "$(json_field '[.errors[]] | add')" -eq 0 ]
}

@test "a server that flips a byte is reported as mismatches with exit 1" {
	start_flip --flip
	run "$BENCH" --connect "$FLIP_ADDR" -n 50 -c 2 --json
	[ "$status" -eq 1 ]
	echo "$output" >"$BATS_TEST_TMPDIR/out.json"
	[ "$(json_field .errors.mismatch)" -gt 0 ]
	[ "$(json_field .ok)" -eq 0 ]
	run "$BENCH" --connect "$FLIP_ADDR" -n 20 --keepalive --json
	[ "$status" -eq 1 ]
}

@test "preforkd serves prefork-bench with no error and the server agrees on the count" {
	start_server --workers 2
	"$BENCH" --connect "$SERVER_ADDR" -n 500 -c 8 --json >"$BATS_TEST_TMPDIR/out.json"
	[ "$(json_field .ok)" -eq 500 ]
	[ "$(json_field '[.errors[]] | add')" -eq 0 ]
	run "$ROOT/bin/preforkctl" -s "$SERVER_ADMIN" stats json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq .totals.completed)" -eq 500 ]
}

@test "a closed port gives connect errors, exit 0, within the duration" {
	start_flip
	kill -TERM "$FLIP_PID"
	wait "$FLIP_PID" || true
	FLIP_PID=
	local t0=$SECONDS
	"$BENCH" --connect "$FLIP_ADDR" -d 1 -c 2 --json >"$BATS_TEST_TMPDIR/out.json"
	[ $((SECONDS - t0)) -le 3 ]
	[ "$(json_field .errors.connect)" -gt 0 ]
	[ "$(json_field .ok)" -eq 0 ]
}

@test "--rate keeps an open-loop schedule" {
	start_flip
	"$BENCH" --connect "$FLIP_ADDR" --rate 200 -d 1 -c 4 --json >"$BATS_TEST_TMPDIR/out.json"
	local ok
	ok=$(json_field .ok)
	echo "completed $ok at 200/s for 1 s"
	[ "$ok" -ge 100 ] && [ "$ok" -le 300 ]
	[ "$(json_field .rate)" = 200 ]
}

@test "bad usage exits 2 naming the option" {
	run "$BENCH" --concurrency abc
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "prefork-bench: --concurrency: expected an integer 1..100000, got 'abc'" ]]
	run "$BENCH" -n -1
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--requests"*"-1"* ]]
	run "$BENCH" --frobnicate
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--frobnicate"* ]]
	run "$BENCH" --connect nowhere.invalid:1 -n 1
	[ "$status" -eq 2 ]
}

@test "--help documents every option" {
	run "$BENCH" --help
	[ "$status" -eq 0 ]
	for o in --connect --concurrency --duration --requests --size --keepalive --rate \
		--threads --timeout --sources --json --quiet --help --version; do
		[[ "$output" == *"$o"* ]] || { echo "missing $o"; return 1; }
	done
}
