#!/usr/bin/env bats
# prefork-bench: only verified echoes count as successes, a lying server shows up as
# mismatches (exit 1), errors are counted by kind within a bounded run, the open-loop
# schedule is kept, and bad usage exits 2. Loopback only; no speed is asserted.

load helpers

BENCH="$BATS_TEST_DIRNAME/../bin/prefork-bench"
FLIP="$BATS_TEST_DIRNAME/../bin/test/flip_echo"

teardown() {
	stop_flip
	teardown_servers
}

# start_flip [--flip]: starts flip_echo on 127.0.0.1:0; sets FLIP_PID and FLIP_ADDR.
start_flip() {
	local portfile="$BATS_TEST_TMPDIR/flip.port"
	"$FLIP" "$portfile" "$@" 3>&- &
	FLIP_PID=$!
	# flip_echo writes the file by rename, so a non-empty file holds the whole port
	wait_until 5 test -s "$portfile"
	FLIP_ADDR="127.0.0.1:$(cat "$portfile")"
}

# stop_flip: SIGTERM by PID, then proves that it and its per-connection children are gone.
stop_flip() {
	[ -n "${FLIP_PID:-}" ] || return 0
	local kids pid=$FLIP_PID
	FLIP_PID=
	kids=$(ps -o pid= --ppid "$pid" | tr -d ' ' || true)
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	process_gone "$pid"
	for k in $kids; do
		wait_until 5 process_gone "$k"
	done
}

# bench ARGS...: runs prefork-bench against flip_echo; $output is its JSON summary.
bench() {
	run "$BENCH" --connect "$FLIP_ADDR" --json -q "$@"
	echo "exit $status: $output"
}

field() {
	jq -r "$1" <<<"$output"
}

assert_all_verified() {
	[ "$(field .ok)" -eq "$1" ]
	[ "$(field '[.errors[]] | add')" -eq 0 ]
	[ "$(field .latency_us.max)" -ge "$(field .latency_us.p50)" ]
}

@test "every echo from an honest server is verified: 200 short transactions, no error" {
	start_flip
	bench -n 200 -c 4
	[ "$status" -eq 0 ]
	assert_all_verified 200
	[ "$(field .keepalive)" = false ]
	[ "$(field .concurrency)" -eq 4 ]
	[ "$(field .rate)" = null ]
}

@test "keep-alive connections verify every round trip" {
	start_flip
	bench -n 200 -c 4 --keepalive
	[ "$status" -eq 0 ]
	assert_all_verified 200
	[ "$(field .keepalive)" = true ]
}

@test "an empty payload is a complete transaction once EOF comes back" {
	start_flip
	bench -n 200 -c 4 -s 0
	[ "$status" -eq 0 ]
	assert_all_verified 200
	[ "$(field .size)" -eq 0 ]
}

@test "a 100000-byte payload is echoed and verified in full, short and keep-alive" {
	start_flip
	bench -n 200 -c 4 -s 100000
	[ "$status" -eq 0 ]
	assert_all_verified 200
	bench -n 50 -c 2 -s 100000 --keepalive
	[ "$status" -eq 0 ]
	assert_all_verified 50
}

@test "a server that flips a byte gets mismatches, never a success, and exit 1" {
	start_flip --flip
	bench -n 50 -c 2
	[ "$status" -eq 1 ]
	[ "$(field .errors.mismatch)" -gt 0 ]
	[ "$(field .ok)" -eq 0 ]
	bench -n 50 -c 2 --keepalive
	[ "$status" -eq 1 ]
	[ "$(field .errors.mismatch)" -gt 0 ]
	[ "$(field .ok)" -eq 0 ]
}

@test "a closed port gives connect errors and exit 0 within the duration" {
	start_flip
	local addr=$FLIP_ADDR
	stop_flip
	FLIP_ADDR=$addr
	local t0 ms
	t0=$(date +%s%N)
	bench -d 1 -c 2
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "took $ms ms"
	[ "$status" -eq 0 ]
	[ "$(field .errors.connect)" -gt 0 ]
	[ "$(field .ok)" -eq 0 ]
	# a refused connect is retried after a pause, not in a busy loop
	[ "$(field .errors.connect)" -lt 10000 ]
	[ "$ms" -lt 3000 ]
}

@test "--rate 200 for 1 s starts about 200 transactions on its schedule" {
	start_flip
	bench --rate 200 -d 1
	[ "$status" -eq 0 ]
	[ "$(field .ok)" -ge 100 ]
	[ "$(field .ok)" -le 300 ]
	[ "$(field '[.errors[]] | add')" -eq 0 ]
	[ "$(field .rate)" -eq 200 ]
}

@test "bad option values and unknown options exit 2 with one line naming the option" {
	run "$BENCH" --concurrency abc
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "prefork-bench: --concurrency: expected an integer 1..100000, got 'abc'" ]
	run "$BENCH" -n -1
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "prefork-bench: --requests: "*"'-1'" ]]
	run "$BENCH" --frobnicate
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"'--frobnicate'"* ]]
}

@test "--help exits 0 and explains every option" {
	run "$BENCH" --help
	[ "$status" -eq 0 ]
	local o
	for o in --connect --concurrency --duration --requests --size --keepalive --rate \
		--threads --timeout --sources --json --quiet --help --version; do
		[[ "$output" == *"$o"* ]] || {
			echo "--help does not mention $o"
			return 1
		}
	done
	run "$BENCH" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "prefork-bench "* ]]
}

@test "preforkd serves prefork-bench with no error and counts the same transactions" {
	start_server --workers 2
	run "$BENCH" --connect "$SERVER_ADDR" -n 500 -c 8 --json -q
	[ "$status" -eq 0 ]
	assert_all_verified 500
	run "$BATS_TEST_DIRNAME/../bin/preforkctl" -s "$SERVER_ADMIN" stats json
	[ "$status" -eq 0 ]
	[ "$(jq .totals.completed <<<"$output")" -eq 500 ]
}
