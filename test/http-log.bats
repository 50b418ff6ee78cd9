#!/usr/bin/env bats
# The http service's access log (--access-log) and its per-request stats: the
# combined format for a known request, escapes against log injection, SIGUSR1 after
# a logrotate-style move, a planted symlink refused at start, workers under --user
# that write to a file only the master opened, whole lines from concurrent workers;
# the body bytes counter and the request service time histogram.

bats_require_minimum_version 1.5.0
load helpers

# A line: the client, two dashes, the time, the request line, status, bytes (or -),
# Referer and User-Agent in quotes, with nothing unescaped inside the quotes.
LINE_RE='^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\] "([^"\\]|\\x[0-9A-F]{2})*" [0-9]{3} ([0-9]+|-) "([^"\\]|\\x[0-9A-F]{2})*" "([^"\\]|\\x[0-9A-F]{2})*"$'

setup() {
	WWW="$BATS_TEST_TMPDIR/www"
	mkdir -p "$WWW"
	printf 'hello\n' >"$WWW/index.html"
	head -c 1000 /dev/zero >"$WWW/k.bin"
	head -c 70000 /dev/zero >"$WWW/big.bin"
	ACCESS="$BATS_TEST_TMPDIR/access.log"
}

suite_cleanup() {
	rm -rf "${ATTACK:-/nonexistent}" "${PUBLIC:-/nonexistent}"
}

start_http() {
	start_server --service http --root "$WWW" "$@"
	URL="http://$SERVER_ADDR"
}

lines_in() {
	[ -f "$1" ] && [ "$(grep -c . "$1")" -ge "$2" ]
}

# raw_request BYTES: one request (Python escapes) over a socket; prints the status.
raw_request() {
	python3 - "$SERVER_PORT" "$1" <<'EOF'
import codecs, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(codecs.escape_decode(sys.argv[2].encode())[0])
buf = b""
while b"\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.split(b" ")[1].decode() if buf else "none")
EOF
}

@test "a request's line in the combined log format" {
	start_http --access-log "$ACCESS"
	run_ok curl -sS -o /dev/null -A 'TestAgent/1.0 (x)' -e 'http://example.test/from' "$URL/k.bin"
	wait_until 10 lines_in "$ACCESS" 1
	line=$(cat "$ACCESS")
	assert_match "$line" '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\] '
	assert_eq "${line#*] }" '"GET /k.bin HTTP/1.1" 200 1000 "http://example.test/from" "TestAgent/1.0 (x)"'
	run_ok curl -sS -o /dev/null -I -A '' -H 'Referer:' "$URL/"
	wait_until 10 lines_in "$ACCESS" 2
	assert_eq "$(tail -n 1 "$ACCESS" | sed 's/^.*\] //')" '"HEAD / HTTP/1.1" 200 - "-" "-"'
}

@test "control, non-ASCII, quote and backslash bytes are escaped: no forged line or field" {
	start_http --access-log "$ACCESS"
	run raw_request 'GET /a\x01\x1b[31m\xff"\\ HTTP/1.1\r\nHost: x\r\n\r\n'
	assert_eq "$output" 400
	run raw_request 'GET /k.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: a"b\\c\xc3\xa9\r\nReferer: r\t" 200 1 "-" "forged\r\nConnection: close\r\n\r\n'
	assert_eq "$output" 200
	wait_until 10 lines_in "$ACCESS" 2
	assert_eq "$(grep -c . "$ACCESS")" 2
	assert_eq "$(sed -n 1p "$ACCESS" | sed 's/^.*\] //')" '"GET /a\x01\x1B[31m\xFF\x22\x5C HTTP/1.1" 400 94 "-" "-"'
	assert_eq "$(sed -n 2p "$ACCESS" | sed 's/^.*\] //')" '"GET /k.bin HTTP/1.1" 200 1000 "r\x09\x22 200 1 \x22-\x22 \x22forged" "a\x22b\x5Cc\xC3\xA9"'
	while IFS= read -r line; do
		assert_match "$line" "$LINE_RE"
	done <"$ACCESS"
}

@test "SIGUSR1 after a move: new lines in the new file, the old ones stay in the old" {
	start_http --access-log "$ACCESS"
	run_ok curl -sS -o /dev/null "$URL/?before"
	wait_until 10 lines_in "$ACCESS" 1
	mv "$ACCESS" "$ACCESS.1"
	kill -USR1 "$SERVER_PID"
	wait_until 10 log_has "access log reopened (SIGUSR1)"
	wait_until 10 lines_in "$ACCESS" 0
	# The old generation may still take a connection until it has left: retry.
	retry_after() {
		curl -sS -o /dev/null "$URL/?after" && lines_in "$ACCESS" 1
	}
	wait_until 20 retry_after
	grep -q '"GET /?before HTTP/1.1"' "$ACCESS.1"
	grep -q '"GET /?after HTTP/1.1"' "$ACCESS"
	run ! grep -q before "$ACCESS"
	# A SIGUSR1 that finds the same file restarts nothing.
	gen=$(stat_json .generation)
	kill -USR1 "$SERVER_PID"
	wait_until 10 log_has_n 'log file reopened (SIGUSR1)' 2
	assert_eq "$(stat_json .generation)" "$gen"
}

@test "a symlink planted at the access log path is refused at start, its target untouched" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (the attacker is nobody, through setpriv)"
	ATTACK=$(mktemp -d /tmp/preforkd-attack.XXXXXX)
	chmod 0777 "$ATTACK"
	echo precious >"$BATS_TEST_TMPDIR/precious"
	setpriv --reuid=65534 --regid=65534 --clear-groups ln -s "$BATS_TEST_TMPDIR/precious" "$ATTACK/access.log"
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --service http --root "$WWW" \
		--access-log "$ATTACK/access.log" --admin "$BATS_TEST_TMPDIR/a.sock"
	assert_eq "$status" 1
	assert_contains "$output" "cannot open access log $ATTACK/access.log"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/precious")" precious
	# In a directory only root may write, a symlink is refused by the last component.
	ln -sf "$BATS_TEST_TMPDIR/precious" "$BATS_TEST_TMPDIR/link.log"
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --service http --root "$WWW" \
		--access-log "$BATS_TEST_TMPDIR/link.log" --admin "$BATS_TEST_TMPDIR/a.sock"
	assert_eq "$status" 1
	assert_contains "$output" "cannot open access log $BATS_TEST_TMPDIR/link.log"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/precious")" precious
	# preforkd -t says so too.
	run "$PREFORKD" -t --service http --root "$WWW" --access-log "$BATS_TEST_TMPDIR/link.log" \
		--admin "$BATS_TEST_TMPDIR/a.sock"
	assert_eq "$status" 1
	assert_contains "$output" "access-log"
}

@test "with --user nobody the workers write to the file the master opened" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for --user"
	# The root must be reachable by nobody: BATS_TEST_TMPDIR's parents are not.
	PUBLIC=$(mktemp -d /tmp/preforkd-www.XXXXXX)
	chmod 0755 "$PUBLIC"
	cp -r "$WWW" "$PUBLIC/www"
	chmod -R a+rX "$PUBLIC/www"
	WWW="$PUBLIC/www"
	start_http --access-log "$ACCESS" --user nobody
	run_ok curl -sS -o /dev/null "$URL/k.bin"
	wait_until 10 lines_in "$ACCESS" 1
	assert_eq "$(stat -c %U "$ACCESS")" root
	assert_contains "$(cat "$ACCESS")" '"GET /k.bin HTTP/1.1" 200 1000'
	# The file stays root's 0640: nobody could not have opened it.
	assert_eq "$(stat -c %a "$ACCESS")" 640
}

@test "concurrent requests from several workers give whole lines only" {
	start_http --workers 4 --access-log "$ACCESS"
	# 8 clients x 50 requests, keep-alive (one curl, several URLs) and not.
	for c in 1 2 3 4 5 6 7 8; do
		args=()
		for i in $(seq 1 25); do
			args+=("$URL/big.bin?c=$c&i=$i" "$URL/k.bin?c=$c&i=$i")
		done
		spawn curl -sS -o /dev/null -o /dev/null "${args[@]}"
	done
	wait_until 60 lines_in "$ACCESS" 400
	stop_tracked
	assert_eq "$(grep -c . "$ACCESS")" 400
	assert_eq "$(wc -l <"$ACCESS")" 400
	bad=$(grep -Evc "$LINE_RE" "$ACCESS" || true)
	assert_eq "$bad" 0
	assert_eq "$(grep -c '" 200 70000 ' "$ACCESS")" 200
}

@test "body bytes and the request service time histogram count every request" {
	start_http
	run_ok curl -sS -o /dev/null -o /dev/null -o /dev/null "$URL/k.bin" "$URL/big.bin" "$URL/index.html"
	run_ok curl -sS -o /dev/null -I "$URL/big.bin"
	run_ok curl -sS -o /dev/null -r 0-9 "$URL/big.bin"
	wait_until 10 stat_is .totals.http.requests 5
	assert_eq "$(stat_json .totals.http.body_bytes)" $((1000 + 70000 + 6 + 10))
	assert_eq "$(stat_json .http.request_time_us.count)" 5
	assert_eq "$(stat_json '[.workers[].http_request_time_us.count] | add')" 5
	"$CTL" -s "$SERVER_ADMIN" stats prometheus >"$BATS_TEST_TMPDIR/m.txt"
	grep -qx 'preforkd_http_body_bytes_total 71016' "$BATS_TEST_TMPDIR/m.txt"
	grep -qx 'preforkd_http_request_duration_seconds_count 5' "$BATS_TEST_TMPDIR/m.txt"
	# Off by default: no access log, and -T says so.
	run_ok "$PREFORKD" -T --service http --root "$WWW"
	assert_contains "$output" "access-log"
}
