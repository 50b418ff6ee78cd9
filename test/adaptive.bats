#!/usr/bin/env bats
# The adaptive pool (--workers MIN..MAX, --spare LOW..HIGH): it grows at once to
# cover connections that wait, shrinks back one idle worker at a time after the
# hold, follows `scale A..B`, SIGTTIN/SIGTTOU and a reloaded file, and refuses bad
# ranges with an error that names the option.

load helpers

bats_require_minimum_version 1.5.0

# A client that opens N echo connections to PORT, sees each answered (a worker
# took it), prints "held N" and keeps them open until it is stopped.
HOLDER='import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(b"a")
    held.append(s)
for s in held:
    if s.recv(1) != b"a":
        sys.exit(1)
print("held", n, flush=True)
time.sleep(60)'

# hold N: N connections held open by a background client (stop_tracked ends it).
hold() {
	spawn python3 -c "$HOLDER" "$SERVER_PORT" "$1" >"$BATS_TEST_TMPDIR/held"
	wait_until 15 grep -q "held $1" "$BATS_TEST_TMPDIR/held"
}

@test "the pool grows at once to cover held connections, then shrinks back to MIN" {
	start_server --workers 2..8 --spare 1..2
	json_true '.pool.adaptive and .pool.min == 2 and .pool.max == 8 and .pool.configured == 2'
	json_true '.pool.spare_low == 1 and .pool.spare_high == 2 and .pool.last_decision == null'
	# Six connections on two workers: four wait in the accept queue until it grows.
	hold 6
	wait_until 5 json_true '.pool.busy == 6 and .pool.idle >= 1'
	json_true '.pool.configured >= 7 and .pool.configured <= 8 and .pool.grows >= 1'
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "$output" "  Adaptive: 2..8 workers, 1..2 idle kept;"
	assert_match "$output" "  Decision: grow \+[0-9]+ to [0-9]+: "
	log_has "adaptive pool: grow"
	# Released: every worker idle, above HIGH; after the 5 s hold one stops every 100 ms.
	stop_tracked
	wait_until 5 json_true '.pool.busy == 0'
	sleep 3
	json_true '.pool.shrinks == 0' || fail "a shrink before the hold"
	wait_until 14 json_true '.pool.configured == 2 and .pool.running == 2'
	json_true '.pool.shrinks >= 5 and (.pool.last_decision | startswith("shrink -1 to 2: "))'
	json_true '.restarts.total == 0 and .totals.errors.other == 0'
	log_has "adaptive pool: shrink -1 to 2"
}

@test "a single --workers number keeps a fixed pool: no growth under load" {
	start_server --workers 2
	json_true '(.pool.adaptive | not) and .pool.min == 2 and .pool.max == 2'
	hold 2
	sleep 1
	json_true '.pool.configured == 2 and .pool.running == 2 and .pool.grows == 0'
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	[[ "$output" != *"Adaptive:"* ]] || fail "a fixed pool shows no adaptive line"
}

@test "scale A..B makes the pool adaptive, scale N fixes it again" {
	start_server --workers 2
	run_ok "$CTL" -s "$SERVER_ADMIN" scale 1..4
	assert_eq "$output" "ok: adaptive pool of 1..4 workers (now 2, spare 1..3 idle)"
	json_true '.pool.adaptive and .pool.min == 1 and .pool.max == 4'
	# A small MAX: HIGH stays below it, or the pool could never shrink.
	run_ok "$CTL" -s "$SERVER_ADMIN" scale 1..2
	assert_eq "$output" "ok: adaptive pool of 1..2 workers (now 2, spare 1..1 idle)"
	run_ok "$CTL" -s "$SERVER_ADMIN" scale 3
	assert_eq "$output" "ok: scaling from 2 to 3 workers"
	wait_until 5 json_true '(.pool.adaptive | not) and .pool.min == 3 and .pool.max == 3 and
		.pool.running == 3'
	run_fail "$CTL" -s "$SERVER_ADMIN" scale 4..2
	assert_eq "$output" \
		"preforkctl: error: scale: expected MIN..MAX, integers 1..1024 with MIN <= MAX, got '4..2'"
	run_fail "$CTL" -s "$SERVER_ADMIN" scale 0..2
	assert_contains "$output" "error: scale: expected MIN..MAX"
	run_fail "$CTL" -s "$SERVER_ADMIN" scale 2..x
	assert_contains "$output" "error: scale: expected MIN..MAX"
	json_true '.pool.min == 3 and .pool.max == 3'
}

@test "SIGTTIN and SIGTTOU move both bounds of an adaptive pool by one" {
	start_server --workers 2..5
	kill -TTIN "$SERVER_PID"
	wait_until 5 json_true '.pool.min == 3 and .pool.max == 6 and .pool.running == 3'
	kill -TTOU "$SERVER_PID"
	wait_until 5 json_true '.pool.min == 2 and .pool.max == 5'
	kill -TTOU "$SERVER_PID"
	wait_until 5 json_true '.pool.min == 1 and .pool.max == 4 and .pool.running == 1'
	# clamped at 1: the width shrinks rather than a bound going below it
	kill -TTOU "$SERVER_PID"
	wait_until 5 json_true '.pool.min == 1 and .pool.max == 3'
}

@test "bad ranges are refused with an error naming the option" {
	run_expect 2 "$PREFORKD" --workers 4..2
	assert_eq "${lines[0]}" "preforkd: --workers: the low end is above the high end in '4..2'"
	run_expect 2 "$PREFORKD" --workers 0..3
	assert_eq "${lines[0]}" \
		"preforkd: --workers: expected an integer or a range LOW..HIGH of integers 1..1024, got '0..3'"
	run_expect 2 "$PREFORKD" --workers 2..2000
	assert_contains "${lines[0]}" "preforkd: --workers: expected an integer or a range"
	run_expect 2 "$PREFORKD" --spare 3..1
	assert_eq "${lines[0]}" "preforkd: --spare: the low end is above the high end in '3..1'"
	run_expect 2 "$PREFORKD" --workers 1..4 --spare 6..8
	assert_contains "${lines[0]}" "--spare: LOW 6 is above the --workers maximum 4"
	run_expect 2 "$PREFORKD" --workers 1..4 --spare 1..4
	assert_contains "${lines[0]}" "--spare: HIGH 4 is not below the --workers maximum 4"
	run_expect 2 "$PREFORKD" --spare abc
	assert_eq "${lines[0]}" "preforkd: --spare: expected an integer 0..1024, got 'abc'"
}

@test "the configuration file sets the range and a reload changes it" {
	local f="$BATS_TEST_TMPDIR/preforkd.conf"
	printf '%s\n' "listen 127.0.0.1:0" "admin preforkd.sock" "log preforkd.log" \
		"workers 2..6" "spare 1..2" >"$f"
	SERVER_LOG="$BATS_TEST_TMPDIR/preforkd.log"
	SERVER_ADMIN="$BATS_TEST_TMPDIR/preforkd.sock"
	: >"$SERVER_LOG"
	"$PREFORKD" -c "$f" </dev/null 3>&- &
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 5 json_true '.pool.min == 2 and .pool.max == 6 and .pool.spare_high == 2'
	run_ok "$PREFORKD" -T -c "$f"
	assert_contains "$output" $'\nworkers 2..6\nspare 1..2\n'
	printf '%s\n' "listen 127.0.0.1:0" "admin preforkd.sock" "log preforkd.log" \
		"workers 3..5" >"$f"
	run_ok "$CTL" -s "$SERVER_ADMIN" reload
	wait_until 5 json_true '.pool.min == 3 and .pool.max == 5 and .pool.spare_low == 1 and
		.pool.spare_high == 3 and .pool.running == 3'
	printf '%s\n' "listen 127.0.0.1:0" "admin preforkd.sock" "log preforkd.log" \
		"workers 5..3" >"$f"
	run_fail "$CTL" -s "$SERVER_ADMIN" reload
	assert_contains "$output" "workers: the low end is above the high end in '5..3'"
	json_true '.pool.min == 3 and .pool.max == 5'
}

@test "starts that fail hold the growth back: the crash-loop back-off, not a fork storm" {
	PREFORKD="$ROOT/bin/test/preforkd"
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_server --workers 1..16 --spare 1..2
	touch "$PREFORKD_TEST_FAULT_FILE"
	local mark forks
	mark=$(wc -l <"$SERVER_LOG")
	# One connection on the only worker, five queued: the rule grows once (it cannot
	# know yet that starts fail), then every start fails.
	spawn python3 -c "$HOLDER" "$SERVER_PORT" 6
	wait_until 5 log_has "crash loop: slot"
	# Six more queued during the back-off: the rule wants more, and holds.
	spawn python3 -c "$HOLDER" "$SERVER_PORT" 6
	wait_until 5 log_has "adaptive pool: hold at [0-9]*: would grow (queue [0-9]*, 0 idle), but starts are failing"
	json_true '.pool.last_decision | test("starts are failing \\(crash-loop back-off\\)")'
	# A measurement window, not a synchronisation: count the forks it holds.
	sleep 2
	forks=$(tail -n +"$((mark + 1))" "$SERVER_LOG" | grep -c 'worker spawned' || true)
	echo "# forks in the first 2+ s of an adaptive pool that wants to grow while every start fails: $forks" >&3
	assert_le "$forks" 12 "forks while starts fail"
	json_true '.crash_loop.active and .pool.configured <= 7 and .pool.grows == 1'
}

@test "a growth whose starts fail is no outage: not failing, no crash-loop exit, the agent stays up" {
	PREFORKD="$ROOT/bin/test/preforkd"
	export PREFORKD_TEST_FAULT=crash-on-start
	export PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/fault"
	start_server --workers 2..16 --spare 1..2 --crash-loop-limit 1 --crash-loop-exit \
		--agent-listen 127.0.0.1:0
	wait_until 5 json_true '.pool.running == 2'
	touch "$PREFORKD_TEST_FAULT_FILE"
	# Two connections take both workers, four wait: the pool grows, and every new
	# worker crashes at start. MIN workers still serve: no outage.
	spawn python3 -c "$HOLDER" "$SERVER_PORT" 6
	wait_until 10 log_has "crash loop: slot"
	# Past --crash-loop-limit: a measurement window, not a synchronisation.
	sleep 2.5
	kill -0 "$SERVER_PID"
	json_true '.state != "failing" and .crash_loop.failing == false and .crash_loop.active'
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "$output" "says 'up ready "
	assert_contains "$output" "# crash-loop'"
	run ! log_has "failing"
}

@test "an adaptive pool below MAX grows for a waiting connection instead of taking a kept-alive one" {
	local www="$BATS_TEST_TMPDIR/www"
	mkdir -p "$www"
	echo hello >"$www/index.html"
	start_server --service http --root "$www" --workers 1..4 --spare 0..2 \
		--keepalive-timeout 60 --worker-timeout 120
	# The only worker sits between the requests of a kept-alive connection.
	spawn python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
s.recv(4096)
time.sleep(60)' "$SERVER_PORT"
	wait_until 10 json_true '.pool.keepalive == 1'
	run_ok timeout 30 curl -sS --max-time 25 "http://$SERVER_ADDR/"
	assert_eq "$output" "hello"
	json_true '.totals.http.keepalive_yields == 0 and .pool.keepalive == 1'
	run ! log_has "pressure:"
}
