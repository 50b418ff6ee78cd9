#!/usr/bin/env bats
# Echo service end to end: what goes in comes back, byte for byte, under
# concurrency, and idle clients are cut off without starving the next one.

load helpers

@test "a text request is echoed back" {
	start_server
	run_ok echo_once "hello, preforkd"
	assert_eq "$output" "hello, preforkd"
}

@test "binary data with NUL bytes is echoed back unchanged" {
	start_server
	printf 'a\0b\0\0c\377\n\r\001' >"$BATS_TEST_TMPDIR/in"
	"$CLIENT" --connect "$SERVER_ADDR" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
}

@test "an empty request gets an empty reply and exit 0" {
	start_server
	"$CLIENT" --connect "$SERVER_ADDR" </dev/null >"$BATS_TEST_TMPDIR/out"
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
}

@test "a 10 MiB random payload comes back with the same checksum" {
	start_server
	head -c $((10 * 1024 * 1024)) /dev/urandom >"$BATS_TEST_TMPDIR/in"
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 30 <"$BATS_TEST_TMPDIR/in" |
		sha256sum >"$BATS_TEST_TMPDIR/got"
	sha256sum <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "workers + 1 concurrent clients are all served correctly" {
	start_server --workers 3
	local pids=() i
	for i in 1 2 3 4; do
		("$CLIENT" --connect "$SERVER_ADDR" --timeout 10 "client $i" \
			>"$BATS_TEST_TMPDIR/out.$i") 3>&- &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}"
	done
	for i in 1 2 3 4; do
		[ "$(cat "$BATS_TEST_TMPDIR/out.$i")" = "client $i" ]
	done
}

@test "the server listens on IPv6 loopback when asked" {
	if ! python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
		skip "no IPv6 loopback on this machine"
	fi
	start_server --workers 1 --listen '[::1]:0'
	assert_match "$SERVER_ADDR" '^\[::1\]:[0-9]+$'
	run_ok echo_once "over six"
	assert_eq "$output" "over six"
}

@test "an idle client is cut off after --idle-timeout and the worker serves the next" {
	start_server --workers 1 --idle-timeout 1 --defer-accept 0
	local worker
	worker=$(worker_pids)
	# A client that connects, sends one byte and then says nothing holds the only worker.
	(
		exec 3>&-
		{ printf x; sleep 5; } | "$CLIENT" --connect "$SERVER_ADDR" --timeout 10 \
			>"$BATS_TEST_TMPDIR/idle.out" 2>&1
		echo "$?" >"$BATS_TEST_TMPDIR/idle.rc"
	) &
	local idle=$!
	local t0=$SECONDS
	# The next client is queued behind it and served once the idle one is cut off.
	run "$CLIENT" --connect "$SERVER_ADDR" --timeout 4 "next"
	[ "$status" -eq 0 ]
	[ "$output" = "next" ]
	[ $((SECONDS - t0)) -le 4 ]
	wait "$idle" || true
	[ "$(cat "$BATS_TEST_TMPDIR/idle.out")" = "x" ]
	# Cutting a client off is not a crash: the same worker goes on serving.
	[ "$(worker_pids)" = "$worker" ]
}

@test "prefork-client reports a refused connection with exit 1" {
	start_server
	local port=$SERVER_PORT
	stop_server
	run_expect 1 "$CLIENT" --connect "127.0.0.1:$port" "nobody home"
	assert_match "$output" "127\.0\.0\.1:$port.*Connection refused"
}

@test "prefork-client rejects bad usage with exit 2" {
	run_expect 2 "$CLIENT" --connect nonsense hi
	assert_match "$output" "--connect.*nonsense"
	run_expect 2 "$CLIENT" --timeout abc hi
	assert_match "$output" "--timeout.*abc"
	run_expect 2 "$CLIENT" --bogus
}

@test "prefork-client gives up at --timeout naming the address" {
	# --pressure-idle 0: the holder's silence would otherwise get it evicted.
	start_server --workers 1 --defer-accept 0 --pressure-idle 0
	# Hold the only worker so the next request waits in the accept queue.
	({ printf y; sleep 3; } | "$CLIENT" --connect "$SERVER_ADDR" >/dev/null) 3>&- &
	local holder=$!
	wait_until 5 established_to_server 1
	run "$CLIENT" --connect "$SERVER_ADDR" --timeout 0.5 "late"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$SERVER_ADDR"*"timed out"* ]]
	wait "$holder"
}
