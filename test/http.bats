#!/usr/bin/env bats
# The http service end to end: real curl for files, HEAD, directories, ranges and
# conditional requests; raw requests over a socket (python3) for the parser's
# rules, pipelining, keep-alive, the deadlines and path traversal, each asserting
# the exact status line and whether the connection was closed.

load helpers

setup() {
	WWW="$BATS_TEST_TMPDIR/www"
	mkdir -p "$WWW/sub" "$WWW/plain" "$WWW/up"
	printf 'hello\n' >"$WWW/index.html"
	printf 'sub\n' >"$WWW/sub/index.html"
	printf 'x\n' >"$WWW/plain/a<b>&.txt"
	mkdir "$WWW/plain/d"
	printf '0123456789abcdefghij' >"$WWW/digits.txt"
	printf 'body{}' >"$WWW/s.css"
	head -c 300000 /dev/urandom >"$WWW/big.bin"
	printf 'top secret\n' >"$BATS_TEST_TMPDIR/secret"
}

start_http() {
	start_server --service http --root "$WWW" "$@"
	URL="http://$SERVER_ADDR"
}

# http_raw REQUEST [RESPONSES] [HOLD]: sends REQUEST (Python escapes: \r\n, \x00)
# in one write, reads RESPONSES responses (default 1, framed by Content-Length; a
# 304 and HEAD-less GETs only), then prints each status code on its own line and
# "closed" if the server closed the connection within 1 s, else "open". HOLD: seconds
# to wait before sending the last byte of REQUEST (a slow client).
http_raw() {
	python3 - "$SERVER_PORT" "$1" "${2:-1}" "${3:-0}" <<'EOF'
import codecs, socket, sys, time
port, req, want, hold = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
data = codecs.escape_decode(req.encode())[0]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
if hold > 0:
    s.sendall(data[:-1])
    time.sleep(hold)
    data = data[-1:]
try:
    s.sendall(data)
except OSError:
    pass
buf, got, closed = b"", [], False
def more(timeout):
    s.settimeout(timeout)
    try:
        d = s.recv(65536)
    except socket.timeout:
        return None
    except ConnectionResetError:
        print("reset"); sys.exit(0)
    return d
while len(got) < want:
    end = buf.find(b"\r\n\r\n")
    if end >= 0:
        head = buf[:end].decode("latin-1").split("\r\n")
        code = int(head[0].split(" ")[1])
        length = 0
        for h in head[1:]:
            k, _, v = h.partition(":")
            if k.lower() == "content-length" and code != 304:
                length = int(v.strip())
        if len(buf) >= end + 4 + length:
            got.append(code)
            buf = buf[end + 4 + length:]
            continue
    d = more(20)
    if not d:
        closed = d == b""
        break
    buf += d
if not closed:
    d = more(1.0)
    closed = d == b""
for c in got:
    print(c)
print("closed" if closed else "open")
EOF
}

# ---- files, HEAD, directories ----

@test "GET serves a file with Date, Server, type, length, ETag and Last-Modified" {
	start_http
	run_ok curl -sS -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/body" "$URL/s.css"
	run_ok cat "$BATS_TEST_TMPDIR/h"
	assert_match "$output" '^HTTP/1.1 200 OK'
	assert_contains "$output" 'Server: preforkd'
	assert_match "$output" 'Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT'
	assert_contains "$output" 'Content-Type: text/css; charset=utf-8'
	assert_contains "$output" 'Content-Length: 6'
	assert_match "$output" 'ETag: "[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"'
	assert_contains "$output" 'Last-Modified: '
	assert_eq "$(cat "$BATS_TEST_TMPDIR/body")" 'body{}'
	curl -sS "$URL/big.bin" | cmp - "$WWW/big.bin"
}

@test "HEAD answers the headers of GET without a body" {
	start_http
	run_ok curl -sS -I "$URL/digits.txt"
	assert_match "$output" '^HTTP/1.1 200 OK'
	assert_contains "$output" 'Content-Length: 20'
	run_ok http_raw 'HEAD /digits.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /s.css HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 1
	# The GET after it is read as a request, not as a HEAD body.
	run_ok python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"HEAD /digits.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /s.css HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
d = b""
while True:
    x = s.recv(65536)
    if not x: break
    d += x
print(d.count(b"HTTP/1.1 200"), d.endswith(b"body{}"), b"0123456789" in d)' "$SERVER_PORT"
	assert_eq "$output" "2 True False"
}

@test "a directory serves index.html, and without its slash gets a 301" {
	start_http
	run_ok curl -sS "$URL/"
	assert_eq "$output" "hello"
	run_ok curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "$URL/sub"
	assert_eq "$output" "301 $URL/sub/"
	run_ok curl -sS -L "$URL/sub"
	assert_eq "$output" "sub"
	# A redirect is built from the decoded path: never to another host.
	run_ok http_raw 'GET //sub HTTP/1.1\r\nHost: a\r\n\r\n'
	assert_eq "${lines[0]}" 301
	run_ok curl -sS -D - -o /dev/null "$URL//sub"
	assert_contains "$output" 'Location: /sub/'
}

@test "a directory without index.html is 403, or listed with --autoindex, names escaped" {
	start_http
	run_ok curl -sS -o /dev/null -w '%{http_code}' "$URL/plain/"
	assert_eq "$output" 403
	stop_server
	start_http --autoindex
	run_ok curl -sS "$URL/plain/"
	assert_contains "$output" '<a href="a%3Cb%3E%26.txt">a&lt;b&gt;&amp;.txt</a>'
	assert_contains "$output" '<a href="d/">d/</a>'
	run_ok curl -sS "$URL/plain/a%3Cb%3E%26.txt"
	assert_eq "$output" "x"
}

@test "a missing file is 404, a non-regular file 403" {
	mkfifo "$WWW/fifo"
	start_http
	run_ok curl -sS -o /dev/null -w '%{http_code}' "$URL/nope.txt"
	assert_eq "$output" 404
	run_ok curl -sS -o /dev/null -w '%{http_code}' "$URL/fifo"
	assert_eq "$output" 403
	run_ok curl -sS -o /dev/null -w '%{http_code}' "$URL/digits.txt/"
	assert_eq "$output" 404
}

@test "--mime-types adds types over the built-in table" {
	printf 'x' >"$WWW/a.foo"
	printf '# comment\ntext/x-foo\tfoo bar\n' >"$BATS_TEST_TMPDIR/types"
	start_http --mime-types "$BATS_TEST_TMPDIR/types"
	run_ok curl -sS -o /dev/null -w '%{content_type}' "$URL/a.foo"
	assert_eq "$output" "text/x-foo"
	run_ok curl -sS -o /dev/null -w '%{content_type}' "$URL/big.bin"
	assert_eq "$output" "application/octet-stream"
}

# ---- ranges and conditional requests ----

@test "a single Range gets 206 with Content-Range; suffix and open ranges too" {
	start_http
	run_ok curl -sS -D "$BATS_TEST_TMPDIR/h" -r 2-5 "$URL/digits.txt"
	assert_eq "$output" "2345"
	run_ok cat "$BATS_TEST_TMPDIR/h"
	assert_match "$output" '^HTTP/1.1 206 Partial Content'
	assert_contains "$output" 'Content-Range: bytes 2-5/20'
	run_ok curl -sS -r -3 "$URL/digits.txt"
	assert_eq "$output" "hij"
	run_ok curl -sS -r 17- "$URL/digits.txt"
	assert_eq "$output" "hij"
	run_ok curl -sS -r 15-99 "$URL/digits.txt"
	assert_eq "$output" "fghij"
}

@test "an unsatisfiable Range is 416 with bytes */LEN; several ranges get the whole file" {
	start_http
	run_ok curl -sS -D - -o /dev/null -r 20-30 "$URL/digits.txt"
	assert_match "$output" '^HTTP/1.1 416 Range Not Satisfiable'
	assert_contains "$output" 'Content-Range: bytes */20'
	run_ok curl -sS -o /dev/null -w '%{http_code}' -r -0 "$URL/digits.txt"
	assert_eq "$output" 416
	run_ok curl -sS -w ' %{http_code}' -r 0-1,4-5 "$URL/digits.txt"
	assert_eq "$output" "0123456789abcdefghij 200"
	# An invalid range is ignored.
	run_ok curl -sS -w ' %{http_code}' -H 'Range: bytes=5-2' "$URL/digits.txt"
	assert_eq "$output" "0123456789abcdefghij 200"
}

@test "If-None-Match (first) and If-Modified-Since answer 304" {
	start_http
	local etag lm
	etag=$(curl -sS -D - -o /dev/null "$URL/digits.txt" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	lm=$(curl -sS -D - -o /dev/null "$URL/digits.txt" | sed -n 's/^Last-Modified: \(.*\)\r$/\1/p')
	[ -n "$etag" ] && [ -n "$lm" ]
	run_ok curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: \"x\", W/$etag" "$URL/digits.txt"
	assert_eq "$output" 304
	run_ok curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: *" "$URL/digits.txt"
	assert_eq "$output" 304
	run_ok curl -sS -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$URL/digits.txt"
	assert_eq "$output" 304
	run_ok curl -sS -o /dev/null -w '%{http_code}' \
		-H "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT" "$URL/digits.txt"
	assert_eq "$output" 200
	# If-None-Match takes precedence: a tag that differs means 200 whatever the date.
	run_ok curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' \
		-H "If-Modified-Since: $lm" "$URL/digits.txt"
	assert_eq "$output" 200
	# If-Range with another tag: the whole file.
	run_ok curl -sS -w ' %{http_code}' -r 0-1 -H 'If-Range: "other"' "$URL/digits.txt"
	assert_eq "$output" "0123456789abcdefghij 200"
}

# ---- methods and the parser ----

@test "other RFC 9110 methods get 405 with Allow, unknown tokens 501, invalid ones 400" {
	start_http
	run_ok curl -sS -D - -o /dev/null -X DELETE "$URL/digits.txt"
	assert_match "$output" '^HTTP/1.1 405 Method Not Allowed'
	assert_contains "$output" 'Allow: GET, HEAD'
	run_ok curl -sS -o /dev/null -w '%{http_code}' -d 'a=b' "$URL/"
	assert_eq "$output" 405
	run_ok curl -sS -o /dev/null -w '%{http_code}' -X PATCH "$URL/"
	assert_eq "$output" 501
	run_ok http_raw 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n'
	assert_eq "$output" $'400\nclosed'
	# A 405 with a body keeps the connection: the body is read and dropped.
	run_ok http_raw 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n' 2
	assert_eq "$output" $'405\n200\nopen'
}

@test "malformed heads get the exact status and a closed connection" {
	start_http
	local -a cases=(
		'400|GET / HTTP/1.1\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost : a\r\n\r\n'
		'400|GET / HTTP/1.1\r\n: x\r\nHost: a\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n'
		'400|GET / HTTP/1.1\nHost: a\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx'
		'400|GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'
		'400|GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n'
		'413|GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999\r\n\r\n'
		'505|GET / HTTP/2.0\r\nHost: a\r\n\r\n'
		'400|GET / HTTP/1.1 \r\nHost: a\r\n\r\n'
		'400|GET  / HTTP/1.1\r\nHost: a\r\n\r\n'
		'400|GET nopath HTTP/1.1\r\nHost: a\r\n\r\n'
	)
	local c
	for c in "${cases[@]}"; do
		run_ok http_raw "${c#*|}"
		[ "$output" = "${c%%|*}"$'\nclosed' ] || fail "${c#*|}: expected ${c%%|*} and closed, got: $output"
	done
}

@test "an over-long request line is 414, over-long or too many fields 431" {
	start_http
	run_ok http_raw "GET /$(printf 'a%.0s' {1..5000}) HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n"
	assert_eq "$output" $'414\nclosed'
	run_ok http_raw "GET / HTTP/1.1\\r\\nHost: a\\r\\nX: $(printf 'b%.0s' {1..5000})\\r\\n\\r\\n"
	assert_eq "$output" $'431\nclosed'
	run_ok http_raw "GET / HTTP/1.1\\r\\nHost: a\\r\\n$(printf 'X: y\\r\\n%.0s' {1..70})\\r\\n"
	assert_eq "$output" $'431\nclosed'
}

# ---- chunked request bodies ----

# A head with Transfer-Encoding: chunked (python escapes), for the tests below.
TE_HEAD='GET /digits.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'

@test "a chunked body is read and dropped, and the pipelined request after it answered" {
	start_http
	run_ok http_raw "${TE_HEAD}"'5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' 2
	assert_eq "$output" $'200\n200\nopen'
	# Extensions, hex of either case, a trailer section; a POST gets its 405 and
	# the connection stays usable too.
	run_ok http_raw 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ; a="q\\"x" ;b\r\nhello\r\nA\r\n0123456789\r\n0;last\r\nX-Sum: 1\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n' 2
	assert_eq "$output" $'405\n404\nopen'
	# Bodies larger than what the first read takes: the rest comes off the socket
	# (whole chunks, then size lines peeked), and the request after the last chunk
	# is still there for the next read; the last byte sent a second later too.
	local chunk body
	chunk=$(printf 'x%.0s' {1..3000})
	body=$(printf "bb8\\\\r\\\\n${chunk}\\\\r\\\\n%.0s" {1..8})
	run_ok http_raw "${TE_HEAD}${body}"'0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 2
	assert_eq "$output" $'200\n200\nclosed'
	run_ok http_raw "${TE_HEAD}${body}"'0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' 2 1
	assert_eq "$output" $'200\n200\nopen'
}

@test "Expect: 100-continue is answered at once, before the body, as the last answer" {
	start_http --idle-timeout 30 --worker-timeout 60
	# No body is sent: the final answer must come without waiting for it (the idle
	# timeout is 30 s; http_raw gives up after 20), and the connection then closes.
	run_ok http_raw 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n'
	assert_eq "$output" $'200\nclosed'
	run_ok http_raw 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n'
	assert_eq "$output" $'405\nclosed'
	# The body already sent with the head: read and dropped as usual, connection kept.
	run_ok http_raw 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\nHost: a\r\n\r\n' 2
	assert_eq "$output" $'200\n200\nopen'
	# HTTP/1.0 ignores the expectation (RFC 9110 10.1.1): the body is awaited.
	run_ok http_raw 'GET / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi'
	assert_eq "$output" $'200\nclosed'
}

@test "bad chunk framing is 400 and closes the connection" {
	start_http
	local -a cases=(
		'-1\r\nx\r\n0\r\n\r\n'
		' 5\r\nhello\r\n0\r\n\r\n'
		'0x5\r\nhello\r\n0\r\n\r\n'
		'5 \r\nhello\r\n0\r\n\r\n'
		'+5\r\nhello\r\n0\r\n\r\n'
		'\r\nhello\r\n0\r\n\r\n'
		'fffffffffffffffff\r\nx\r\n0\r\n\r\n'
		'5\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n'
		'5\r\nhello\n0\r\n\r\n'
		'5\nhello\r\n0\r\n\r\n'
		'5\rhello\r\n0\r\n\r\n'
		'5;a=\r\nhello\r\n0\r\n\r\n'
		'5;a="x\r\nhello\r\n0\r\n\r\n'
		'0\r\n X: y\r\n\r\n'
		'0\r\nX : y\r\n\r\n'
		'0\r\n\n'
	)
	local c
	for c in "${cases[@]}"; do
		run_ok http_raw "${TE_HEAD}${c}GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n" 2
		[ "$output" = $'400\nclosed' ] || fail "${c}: expected 400 and closed, got: $output"
	done
}

@test "a chunked body over 64 KiB is 413, a trailer too large 431, both closing" {
	start_http
	# One size over the limit: refused before any data is read.
	run_ok http_raw "${TE_HEAD}"'10001\r\n'
	assert_eq "$output" $'413\nclosed'
	run_ok http_raw "${TE_HEAD}"'ffffffffffffffff\r\n'
	assert_eq "$output" $'413\nclosed'
	# Chunks within the limit that add up to more than it.
	local chunk
	chunk=$(printf 'y%.0s' {1..32768})
	run_ok http_raw "${TE_HEAD}8000\\r\\n${chunk}\\r\\n8000\\r\\n${chunk}\\r\\n1\\r\\nz\\r\\n0\\r\\n\\r\\n"
	assert_eq "$output" $'413\nclosed'
	# Exactly the limit is taken.
	run_ok http_raw "${TE_HEAD}8000\\r\\n${chunk}\\r\\n8000\\r\\n${chunk}\\r\\n0\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n" 2
	assert_eq "$output" $'200\n200\nopen'
	# The trailer section follows the head's limits: 4 KiB a field line, 64 fields.
	run_ok http_raw "${TE_HEAD}0\\r\\nX: $(printf 'b%.0s' {1..5000})\\r\\n\\r\\n"
	assert_eq "$output" $'431\nclosed'
	run_ok http_raw "${TE_HEAD}0\\r\\n$(printf 'X: y\\r\\n%.0s' {1..70})\\r\\n"
	assert_eq "$output" $'431\nclosed'
}

@test "Transfer-Encoding: a coding before chunked is 501; not chunked last, chunked twice, with Content-Length or in 1.0 400" {
	start_http
	local -a cases=(
		'501|GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'
		'400|GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'
		'400|GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	)
	local c
	for c in "${cases[@]}"; do
		run_ok http_raw "${c#*|}"
		[ "$output" = "${c%%|*}"$'\nclosed' ] || fail "${c#*|}: expected ${c%%|*} and closed, got: $output"
	done
}

# ---- paths ----

@test "traversal, encoded slashes, NUL and absolute-form never leave the root" {
	start_http
	local t
	for t in '/../secret' '/%2e%2e/secret' '/sub/..%2f..%2fsecret' '/%2E%2E%2Fsecret' \
		'/sub/%2e%2e/%2e%2e/secret' '/secret%00.html' 'http://a/../secret' '/..%5csecret'; do
		run_ok http_raw "GET $t HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n"
		case "${lines[0]}" in
		400 | 404) ;;
		*) fail "$t: expected 400 or 404, got $output" ;;
		esac
	done
	run_ok curl -sS --path-as-is "$URL/../../secret"
	[[ "$output" != *"top secret"* ]] || fail "the secret was served"
}

# The symlink is planted by another user (nobody) in a directory it may write,
# as a site's uploader could: it must not lead out of the root, with openat2 or
# with the walk that replaces it.
@test "a symlink out of the root planted by another user is refused (openat2 and walk)" {
	chown 65534 "$WWW/up"
	(cd "$WWW/up" && setpriv --reuid=65534 --regid=65534 --clear-groups \
		ln -s ../../secret link)
	(cd "$WWW/up" && setpriv --reuid=65534 --regid=65534 --clear-groups \
		ln -s /etc/passwd abs)
	ln -s digits.txt "$WWW/inside"
	PREFORKD="$ROOT/bin/test/preforkd"
	start_http
	run_ok curl -sS -o /dev/null -w '%{http_code}' "$URL/up/link"
	assert_eq "$output" 404
	run_ok curl -sS -o /dev/null -w '%{http_code}' "$URL/up/abs"
	assert_eq "$output" 404
	run_ok curl -sS "$URL/inside"
	assert_eq "$output" "0123456789abcdefghij"
	stop_server
	PREFORKD_TEST_NO_OPENAT2=1 start_http
	log_has 'openat2 is not used' || wait_until 5 log_has 'openat2 is not used'
	run_ok curl -sS -o /dev/null -w '%{http_code}' "$URL/up/link"
	assert_eq "$output" 404
	run_ok curl -sS -o /dev/null -w '%{http_code}' "$URL/inside"
	assert_eq "$output" 404
	run_ok curl -sS "$URL/digits.txt"
	assert_eq "$output" "0123456789abcdefghij"
}

# ---- keep-alive, pipelining, deadlines ----

@test "keep-alive: curl reuses the connection, pipelined requests are answered in order" {
	start_http
	run_ok curl -sS -v "$URL/digits.txt" --next "$URL/s.css"
	assert_contains "$output" "Re-using existing connection"
	run_ok http_raw 'GET /digits.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' 3
	assert_eq "$output" $'200\n404\n200\nopen'
	run_ok http_raw 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 2
	assert_eq "$output" $'200\n200\nclosed'
	wait_until 5 stat_at_least .totals.http.keepalive_reuses 3
}

@test "HTTP/1.0 keeps the connection only with Connection: keep-alive" {
	start_http
	run_ok http_raw 'GET / HTTP/1.0\r\n\r\n'
	assert_eq "$output" $'200\nclosed'
	run_ok http_raw 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'
	assert_eq "$output" $'200\nopen'
}

@test "--keepalive-requests caps a connection; --keepalive-timeout 0 turns keep-alive off" {
	start_http --keepalive-requests 2
	run_ok http_raw 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' 3
	assert_eq "$output" $'200\n200\nclosed'
	stop_server
	start_http --keepalive-timeout 0
	run_ok curl -sS -D - -o /dev/null "$URL/"
	assert_contains "$output" 'Connection: close'
}

@test "an idle keep-alive connection is closed silently after --keepalive-timeout" {
	start_http --keepalive-timeout 0.5 --workers 1
	run_ok python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
d = s.recv(4096)
t = time.monotonic()
s.settimeout(20)
rest = s.recv(4096)
print(d.split(b" ")[1].decode(), repr(rest), time.monotonic() - t < 10)' "$SERVER_PORT"
	assert_eq "$output" "200 b'' True"
}

@test "a worker between requests shows as keepalive in stats and status" {
	start_http --keepalive-timeout 30 --workers 1
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
s.recv(4096)
time.sleep(30)' "$SERVER_PORT" 3>&- &
	track $!
	wait_until 10 stat_at_least .pool.keepalive 1
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "$output" "1 keepalive"
}

@test "a slow head gets 408 after --request-head-timeout; a silent client no bytes" {
	start_http --request-head-timeout 0.5 --first-byte-timeout 0.5
	run_ok http_raw 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' 1 3
	assert_eq "$output" $'408\nclosed'
	run_ok python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(20)
print(repr(s.recv(4096)))' "$SERVER_PORT"
	assert_eq "$output" "b''"
}

@test "a graceful stop closes idle keep-alive connections at once" {
	start_http --keepalive-timeout 60 --worker-timeout 120 --workers 1
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
s.recv(4096)
s.settimeout(60)
t = time.monotonic()
rest = s.recv(4096)
open(sys.argv[2], "w").write("%r %d\n" % (rest, time.monotonic() - t < 20))' \
		"$SERVER_PORT" "$BATS_TEST_TMPDIR/ka" 3>&- &
	track $!
	wait_until 10 stat_at_least .pool.keepalive 1
	kill -TERM "$SERVER_PID"
	wait_until 20 test -s "$BATS_TEST_TMPDIR/ka"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/ka")" "b'' 1"
	wait_until 20 process_gone "$SERVER_PID"
}

# keepalive_client PORT OUT: one request, then idle on the kept-alive connection;
# writes what the server then sent ('' for a clean close; "reset" for a reset) and
# whether it came within 20 s into OUT. Run in the background: exec, so that the
# PID tracked is python's.
keepalive_client() {
	exec python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
s.recv(4096)
s.settimeout(60)
t = time.monotonic()
try:
    rest = repr(s.recv(4096))
except ConnectionResetError:
    rest = "reset"
open(sys.argv[2], "w").write("%s %d\n" % (rest, time.monotonic() - t < 20))' "$1" "$2" 3>&-
}

@test "under pressure an idle keep-alive connection yields its worker to a waiting one" {
	start_http --keepalive-timeout 60 --worker-timeout 120 --workers 1
	keepalive_client "$SERVER_PORT" "$BATS_TEST_TMPDIR/ka" &
	track $!
	wait_until 10 stat_at_least .pool.keepalive 1
	# The only worker sits between requests; a new client waits in the queue. The
	# master sees pressure and takes the worker back: the waiting client is served
	# long before the 60 s keep-alive timeout, the idle one is closed cleanly.
	run_ok timeout 30 curl -sS --max-time 25 "http://$SERVER_ADDR/"
	assert_eq "$output" "hello"
	wait_until 20 test -s "$BATS_TEST_TMPDIR/ka"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/ka")" "b'' 1"
	assert_eq "$(stat_json .totals.http.keepalive_yields)" 1
	assert_eq "$(stat_json .totals.errors.evicted)" 0
}

# paced_client PORT OUT PAUSE: sends a request as soon as the previous answer is in
# (as wrk does), after PAUSE seconds (a client's turnaround on a busy machine), for up
# to 25 s; writes to OUT "announced" when an answer says Connection: close, "lost after
# N (sent T ms after the last answer)" when the connection closed under a request, or
# "timeout".
paced_client() {
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
pause = float(sys.argv[3])
buf, n, verdict = b"", 0, "timeout"
end = time.monotonic() + 25
answered = time.monotonic()
while time.monotonic() < end:
    if pause:
        time.sleep(pause)
    turnaround = time.monotonic() - answered
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    while b"\r\n\r\n" not in buf:
        got = s.recv(4096)
        # ACK at once, as wrk'"'"'s reads do: a delayed ACK would stretch the round
        # trip the server measures, and the grace that follows it, to the pause.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        if not got:
            break
        buf += got
    if b"\r\n\r\n" not in buf:
        verdict = "lost after %d (sent %.0f ms after the last answer)" % (n, turnaround * 1000)
        break
    head, buf = buf.split(b"\r\n\r\n", 1)
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(buf) < length:
        buf += s.recv(4096)
    buf = buf[length:]
    answered = time.monotonic()
    n += 1
    if b"connection: close" in head.lower():
        verdict = "announced"
        break
open(sys.argv[2], "w").write(verdict + "\n")' "$@"
}

# yield_to_paced PAUSE REQUESTS: one worker serves paced_client (PAUSE seconds from
# each answer to the next request); once REQUESTS are served a new client queues, the
# master asks the worker to yield, and the paced client's last answer must say
# Connection: close, never be a bare close.
yield_to_paced() {
	start_http --keepalive-timeout 60 --worker-timeout 120 --workers 1 \
		--keepalive-requests 1000000
	spawn paced_client "$SERVER_PORT" "$BATS_TEST_TMPDIR/paced" "$1"
	wait_until 10 stat_at_least .totals.http.requests "$2"
	run_ok timeout 30 curl -sS --max-time 25 "http://$SERVER_ADDR/"
	assert_eq "$output" "hello"
	wait_until 30 test -s "$BATS_TEST_TMPDIR/paced"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/paced")" "announced"
	assert_eq "$(stat_json .totals.http.keepalive_yields)" 1
}

@test "a yield answers a request sent back to back and announces the close in it" {
	# the next request is on the wire when the master asks for the worker
	yield_to_paced 0 100
}

@test "a yield waits out a client that takes 15 ms to send its next request" {
	# A client on a busy machine is slow to turn around: the grace (50 ms at least)
	# still answers its next request.
	yield_to_paced 0.015 20
}

@test "without pressure an idle keep-alive connection keeps its worker" {
	start_http --keepalive-timeout 60 --worker-timeout 120 --workers 2
	keepalive_client "$SERVER_PORT" "$BATS_TEST_TMPDIR/ka" &
	track $!
	wait_until 10 stat_at_least .pool.keepalive 1
	# A second worker is idle: a new client is served by it, no pressure, no yield.
	for _ in 1 2 3 4 5; do
		run_ok curl -sS --max-time 20 "http://$SERVER_ADDR/"
		assert_eq "$output" "hello"
	done
	assert_eq "$(stat_json .totals.http.keepalive_yields)" 0
	assert_eq "$(stat_json .pool.keepalive)" 1
	[ ! -s "$BATS_TEST_TMPDIR/ka" ]
}

@test "--max-requests: the worker's last connection is answered with Connection: close" {
	start_http --max-requests 1 --workers 1
	run_ok http_raw 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' 2
	assert_eq "$output" $'200\nclosed'
}

@test "closing with unread input sends the whole answer, never a reset" {
	start_http
	# Junk after a request that asks to close: left unread, a close() would reset.
	run_ok python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + b"junk" * 5000)
d = b""
s.settimeout(20)
while True:
    x = s.recv(65536)
    if not x: break
    d += x
print(len(d) - d.find(b"\r\n\r\n") - 4)' "$SERVER_PORT"
	assert_eq "$output" 300000
}

# ---- stats and configuration ----

@test "stats count requests, responses by class and keep-alive reuses" {
	start_http
	curl -sS -o /dev/null "$URL/" --next -o /dev/null "$URL/nope" --next -o /dev/null "$URL/sub"
	wait_until 5 stat_at_least .totals.http.requests 3
	assert_eq "$(stat_json '.totals.http.responses["2xx"]')" 1
	assert_eq "$(stat_json '.totals.http.responses["3xx"]')" 1
	assert_eq "$(stat_json '.totals.http.responses["4xx"]')" 1
	assert_eq "$(stat_json .totals.http.keepalive_reuses)" 2
	run_ok "$CTL" -s "$SERVER_ADMIN" stats prometheus
	assert_contains "$output" 'preforkd_http_responses_total{class="2xx"} 1'
}

@test "--service http needs --root, and its waits join the --worker-timeout rule" {
	run_fail "$PREFORKD" --service http --listen 127.0.0.1:0
	assert_contains "$output" "--service http: needs --root DIR"
	run_fail "$PREFORKD" --service http --root "$WWW" --idle-timeout 1 --keepalive-timeout 5 --worker-timeout 5
	assert_contains "$output" "--worker-timeout (5 s) must be 0 or greater than --keepalive-timeout (5 s)"
	run_fail "$PREFORKD" --service http --root "$WWW" --idle-timeout 1 --request-head-timeout 9 --worker-timeout 8
	assert_contains "$output" "--request-head-timeout (9 s)"
	run_ok "$PREFORKD" --service http --root "$WWW" --autoindex -T
	assert_contains "$output" "root $WWW"
	assert_contains "$output" "autoindex yes"
	assert_contains "$output" "keepalive-timeout 2"
}
