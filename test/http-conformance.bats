#!/usr/bin/env bats
# An outside check of the http service against RFC 9110/9112: the request table in
# test/tools/http_conformance.py (each row names its section) is sent raw, and every
# response is parsed by two independent strict HTTP/1.1 implementations as clients,
# h11 (python3-h11) and Node's llhttp (test/tools/llhttp_check.js), then checked for
# the fields the RFCs require. One test per group of rows; a failing row prints its
# problems. The checker is first shown to refuse broken responses, so a green run
# means something.

load helpers

DRIVER="$ROOT/test/tools/http_conformance.py"

setup() {
	# h11 comes from Debian's python3-h11 (scripts/install-test-deps.sh), which the
	# system's python3 imports; a python3 of its own earlier on PATH may not.
	PY=python3
	python3 -c 'import h11' 2>/dev/null || PY=/usr/bin/python3
	"$PY" -c 'import h11' || fail "h11 is missing: run scripts/install-test-deps.sh"
	WWW="$BATS_TEST_TMPDIR/www"
	mkdir -p "$WWW"
	"$PY" "$DRIVER" make-root "$WWW"
}

# conform GROUP...: runs those rows against a fresh server; prints each row's verdict.
conform() {
	start_server --service http --root "$WWW"
	run_ok "$PY" "$DRIVER" run "$SERVER_PORT" "$@"
	echo "$output"
	assert_contains "$output" "# second parser: llhttp"
	assert_match "$output" "# [0-9]+ rows conform, 0 do not"
}

@test "the checker refuses broken responses (no Date, bad framing, content after HEAD...)" {
	run_ok "$PY" "$DRIVER" selftest
	assert_contains "$output" "ok 12 - refused:"
	assert_contains "$output" "ok 15 - llhttp alone refuses:"
	[[ $output != *"not ok"* ]] || fail "a broken response passed: $output"
}

@test "the checker fails a row the server does not conform to" {
	# A server without Date or Allow stands in: the table must say not ok.
	local port="$BATS_TEST_TMPDIR/port"
	spawn "$PY" -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b"HTTP/1.1 200 OK\r\nETag: \"e\"\r\nLast-Modified: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
              b"Content-Length: 20\r\nConnection: close\r\n\r\n0123456789abcdefghij")
    c.close()' "$port"
	wait_until 5 test -s "$port"
	run_expect 1 "$PY" "$DRIVER" run "$(cat "$port")" methods
	assert_contains "$output" "not ok 3 - methods: RFC 9110 15.5.6: POST"
	assert_contains "$output" "Date must be one IMF-fixdate"
}

@test "RFC 9110 9: GET and HEAD served, 405 with Allow, 501 unknown, 400 invalid" {
	conform methods
}

@test "RFC 9112 3.2: origin, absolute, asterisk and authority forms" {
	conform target
}

@test "RFC 9112 3.2: Host missing, repeated or invalid in HTTP/1.1 is 400" {
	conform host
}

@test "RFC 9110 2.5: HTTP/1.0 and 1.x served as 1.1, other majors 505, garbage 400" {
	conform version
}

@test "RFC 9112 2.2, 5: field and line syntax that is refused or tolerated" {
	conform syntax
}

@test "RFC 9112 6: Content-Length and Transfer-Encoding rules" {
	conform length
}

@test "RFC 9110 13: If-None-Match, If-Modified-Since (three date forms), precedence" {
	conform conditional
}

@test "RFC 9110 14: single, suffix, open, unsatisfiable and multiple ranges; If-Range" {
	conform range
}

@test "RFC 9110 9.3.2: HEAD answers GET's fields without content" {
	conform head
}

@test "RFC 9112 9: persistence by version and Connection" {
	conform connection
}

@test "RFC 9112 9.3.2: pipelined requests are answered in order" {
	conform pipeline
}
