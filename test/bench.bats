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

# start_flip [MODE] [--delay MS]: starts flip_echo on 127.0.0.1:0; sets FLIP_PID and FLIP_ADDR.
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

# timed_bench ARGS...: bench ARGS..., and sets ELAPSED_MS.
timed_bench() {
	local t0
	t0=$(date +%s%N)
	bench "$@"
	ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000))
	echo "took $ELAPSED_MS ms"
}

@test "an echo cut short by the server's close is a short error at once, not a timeout" {
	start_flip --short
	timed_bench -n 20 -c 2 --timeout 3
	[ "$status" -eq 0 ]
	[ "$(field .errors.short)" -eq 20 ]
	[ "$(field .ok)" -eq 0 ]
	[ "$(field .errors.timeout)" -eq 0 ]
	# 20 waits of --timeout would take 30 s
	[ "$ELAPSED_MS" -lt 3000 ]
	timed_bench -n 20 -c 2 --timeout 3 --keepalive
	[ "$status" -eq 0 ]
	[ "$(field .errors.short)" -eq 20 ]
	[ "$(field .errors.timeout)" -eq 0 ]
	[ "$ELAPSED_MS" -lt 3000 ]
}

@test "one byte more than was sent is a mismatch, never a success" {
	start_flip --extra
	bench -n 20 -c 2
	[ "$status" -eq 1 ]
	[ "$(field .errors.mismatch)" -eq 20 ]
	[ "$(field .ok)" -eq 0 ]
	bench -n 20 -c 2 --keepalive
	[ "$status" -eq 1 ]
	[ "$(field .errors.mismatch)" -gt 0 ]
	[ "$(field .ok)" -eq 0 ]
}

@test "a connection reset by the server counts as reset" {
	start_flip --reset
	bench -n 20 -c 2
	[ "$status" -eq 0 ]
	[ "$(field .errors.reset)" -eq 20 ]
	[ "$(field .ok)" -eq 0 ]
}

@test "a server that never replies gives timeouts after --timeout, and the run still ends" {
	start_flip --silent
	timed_bench -d 0.5 -c 3 --timeout 0.5
	[ "$status" -eq 0 ]
	[ "$(field .errors.timeout)" -eq 3 ]
	[ "$(field .ok)" -eq 0 ]
	# the duration, then at most one --timeout for what was in flight
	[ "$ELAPSED_MS" -lt 3000 ]
}

@test "--threads 3 splits the connections and still verifies every transaction" {
	start_flip
	bench -n 300 -c 6 -t 3
	[ "$status" -eq 0 ]
	assert_all_verified 300
	[ "$(field .threads)" -eq 3 ]
	# no more threads than connections
	bench -n 10 -c 2 -t 8
	[ "$status" -eq 0 ]
	[ "$(field .threads)" -eq 2 ]
}

@test "open loop counts latency from the scheduled start: a slow server cannot hide its backlog" {
	# Each reply takes 50 ms. Closed loop, one connection: about 50 ms a transaction.
	start_flip --delay 50
	bench -c 1 -d 0.5
	[ "$status" -eq 0 ]
	[ "$(field .latency_us.p50)" -ge 50000 ]
	# Open loop, one connection, one start every 20 ms: transaction k waits for the k
	# before it, so its latency from its scheduled start is about 50 + 30 k ms (the
	# 20th: 620 ms). Timed from the moment it was sent, each would show 50 ms.
	bench -c 1 --rate 50 -d 0.4 --timeout 5
	[ "$status" -eq 0 ]
	[ "$(field .ok)" -eq 20 ]
	[ "$(field .latency_us.p50)" -ge 250000 ]
	[ "$(field .latency_us.max)" -ge 500000 ]
}

@test "a progress line goes to stderr each second on a terminal, and none otherwise" {
	command -v script >/dev/null || skip "script (bsdutils) is not installed"
	start_flip
	local out="$BATS_TEST_TMPDIR/tty.out"
	# script(1) gives prefork-bench a terminal for stdout and stderr.
	script -qec "'$BENCH' --connect $FLIP_ADDR -c 2 -d 2.3 --timeout 0.5" "$out" </dev/null >/dev/null
	cat -v "$out"
	# two progress lines, rewritten in place with a carriage return
	[ "$(grep -o $'\r *[0-9.]* s  [0-9]* ok  [0-9]*/s  [0-9]* errors' "$out" | wc -l)" -eq 2 ]
	grep -q '^transactions  [0-9]* ok' "$out"
	run "$BENCH" --connect "$FLIP_ADDR" -c 2 -d 1.2
	[ "$status" -eq 0 ]
	[[ "$output" != *" errors   "* ]]
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

completed_is() {
	"$BATS_TEST_DIRNAME/../bin/preforkctl" -s "$SERVER_ADMIN" stats json |
		jq_in -e ".totals.completed == $1 and .totals.accepted == $1" >/dev/null
}

@test "preforkd serves prefork-bench with no error and counts the same transactions" {
	start_server --workers 2
	run "$BENCH" --connect "$SERVER_ADDR" -n 500 -c 8 --json -q
	[ "$status" -eq 0 ]
	assert_all_verified 500
	# A worker counts a connection after it closes it, so the client may finish first.
	wait_until 5 completed_is 500
}
