#!/usr/bin/env bats
# --metrics-listen: GET /metrics over HTTP from the master's loop, the same text as
# `preforkctl stats prometheus`; every other request gets its status; silent,
# trickling and flooding clients are bounded like the admin socket's and never
# delay supervision; the option is checked at start-up, by -t and -T, and needs a
# restart on reload.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	command -v curl >/dev/null || fail "curl is missing: run scripts/install-test-deps.sh"
}

# start_metrics [OPTION...]: start_server with --metrics-listen 127.0.0.1:0; sets
# METRICS (HOST:PORT, as the log names it) and METRICS_PORT.
start_metrics() {
	start_server --metrics-listen 127.0.0.1:0 "$@"
	METRICS=$(sed -n 's|.*info: metrics on http://\([^/]*\)/metrics$|\1|p' "$SERVER_LOG" | head -1)
	METRICS_PORT=${METRICS##*:}
	[ -n "$METRICS_PORT" ] || fail "no 'metrics on' line in the log"
}

# scrape [CURL OPTION...]: curl of /metrics, bounded.
scrape() {
	curl -sS --max-time 10 "$@" "http://$METRICS/metrics"
}

# raw REQUEST [shut]: sends REQUEST (backslash escapes) as it is, half-closes if
# told to, and prints the reply's status line.
raw() {
	python3 - "$METRICS_PORT" "$1" "${2:-}" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
if sys.argv[3] == "shut":
    s.shutdown(socket.SHUT_WR)
reply = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    reply += b
print(reply.split(b"\r\n", 1)[0].decode())
EOF
}

# hold_clients N MODE OUT: N connections to the metrics port that send nothing
# (silent) or a head one byte per 200 ms that never ends (trickle); OUT.up appears
# once all are connected, then OUT lists, for each, the seconds from its connect
# to its close and the status line it got ('-' for nothing). Gives up after 60 s.
hold_clients() {
	python3 - "$METRICS_PORT" "$1" "$2" "$3" <<'EOF'
import socket, sys, time
port, n, mode, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
socks, start = [], []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setblocking(False)
    socks.append(s)
    start.append(time.monotonic())
open(out + ".up", "w").close()
got = [b""] * n
closed = [None] * n
head = b"GET /metrics HTTP/1.1\r\nHost: a\r\n" + b"X-Slow: a\r\n" * 1000
sent, last = 0, 0.0
while None in closed and time.monotonic() - start[0] < 60:
    now = time.monotonic()
    if mode == "trickle" and now - last >= 0.2:
        last = now
        for i, s in enumerate(socks):
            if closed[i] is None:
                try:
                    s.send(head[sent:sent + 1])
                except OSError:
                    pass
        sent += 1
    for i, s in enumerate(socks):
        if closed[i] is not None:
            continue
        try:
            b = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            b = b""
        if b:
            got[i] += b
        else:
            closed[i] = time.monotonic() - start[i]
    time.sleep(0.02)
with open(out + ".tmp", "w") as f:
    for i in range(n):
        line = got[i].split(b"\r\n", 1)[0].decode() or "-"
        f.write("%s %s\n" % ("open" if closed[i] is None else "%.2f" % closed[i], line))
import os
os.rename(out + ".tmp", out)
EOF
}

# flood_clients N OUT: N connections to the metrics port started at once without
# waiting for any (those beyond the backlog keep retrying their SYN), that send
# nothing; OUT.up appears once all are started. Holds them 60 s.
flood_clients() {
	python3 - "$METRICS_PORT" "$1" "$2" <<'EOF'
import socket, sys, time
port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    socks.append(s)
open(out + ".up", "w").close()
time.sleep(60)
EOF
}

spawned_after() {
	[ "$(tail -n +"$(($1 + 1))" "$SERVER_LOG" | grep -c 'worker spawned')" -ge 1 ]
}

# metrics_clients: how many connections the master holds on the metrics port.
metrics_clients() {
	local n=0 fd
	for fd in /proc/"$SERVER_PID"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) == socket:* ]] && n=$((n + 1))
	done
	echo $((n - BASE_SOCKETS))
}

metrics_clients_at_least() {
	[ "$(metrics_clients)" -ge "$1" ]
}

@test "GET /metrics answers 200 with the text of preforkctl stats prometheus" {
	start_metrics
	run_ok scrape -D "$BATS_TEST_TMPDIR/headers" -o "$BATS_TEST_TMPDIR/body"
	tr -d '\r' <"$BATS_TEST_TMPDIR/headers" >"$BATS_TEST_TMPDIR/h"
	assert_eq "$(head -1 "$BATS_TEST_TMPDIR/h")" "HTTP/1.1 200 OK"
	grep -qx 'Content-Type: text/plain; version=0.0.4; charset=utf-8' "$BATS_TEST_TMPDIR/h"
	grep -qx 'Connection: close' "$BATS_TEST_TMPDIR/h"
	assert_eq "$(sed -n 's/^Content-Length: //p' "$BATS_TEST_TMPDIR/h")" \
		"$(wc -c <"$BATS_TEST_TMPDIR/body")" "Content-Length is the body's length"
	# The same families, in the same order, as the admin socket's.
	"$CTL" -s "$SERVER_ADMIN" stats prometheus >"$BATS_TEST_TMPDIR/admin"
	assert_eq "$(grep '^# TYPE' "$BATS_TEST_TMPDIR/body")" "$(grep '^# TYPE' "$BATS_TEST_TMPDIR/admin")"
	grep -q '^preforkd_workers_configured 2$' "$BATS_TEST_TMPDIR/body"
	if command -v promtool >/dev/null; then
		run_ok promtool check metrics <"$BATS_TEST_TMPDIR/body"
	fi
	# HEAD: the headers alone; a query string is ignored.
	run_ok curl -sS --max-time 10 -I "http://$METRICS/metrics?x=1"
	assert_contains "$output" "HTTP/1.1 200 OK"
	assert_contains "$output" "Content-Length: "
	# status names the endpoint.
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "$output" "Metrics: http://$METRICS/metrics"
	run_ok "$CTL" -s "$SERVER_ADMIN" stats json
	assert_eq "$(jq -r .metrics_listen <<<"$output")" "$METRICS"
}

@test "other paths get 404, other methods 405 with Allow, bad heads 400, long ones 431" {
	start_metrics
	run_ok curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$METRICS/"
	assert_eq "$output" 404
	run_ok curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$METRICS/metrics/x"
	assert_eq "$output" 404
	run_ok curl -sS --max-time 10 -D - -o /dev/null -X POST "http://$METRICS/metrics"
	assert_contains "$output" "HTTP/1.1 405 Method Not Allowed"
	assert_contains "$output" "Allow: GET, HEAD"
	run_ok raw 'GET /metrics HTTP/1.1\r\n\r\n'
	assert_eq "$output" "HTTP/1.1 400 Bad Request" "HTTP/1.1 without Host"
	run_ok raw 'GET /metrics\r\n\r\n'
	assert_eq "$output" "HTTP/1.1 400 Bad Request" "no version"
	run_ok raw 'GET /metrics HTTP/1.0\r\nBad header\r\n\r\n'
	assert_eq "$output" "HTTP/1.1 400 Bad Request" "a field without colon"
	run_ok raw 'GET /metrics HTTP/2.0\r\n\r\n'
	assert_eq "$output" "HTTP/1.1 505 HTTP Version Not Supported"
	run_ok raw "GET /metrics HTTP/1.1\\r\\nHost: a\\r\\nX: $(printf '%05000d' 0)\\r\\n\\r\\n"
	assert_eq "$output" "HTTP/1.1 431 Request Header Fields Too Large"
	# A head cut short: by the deadline, 408; by a half-close, 400.
	run_ok raw 'GET /metrics HTTP/1.0\r\nX: a'
	assert_eq "$output" "HTTP/1.1 408 Request Timeout"
	run_ok raw 'GET /metrics HTTP/1.0\r\nX: a' shut
	assert_eq "$output" "HTTP/1.1 400 Bad Request"
	# HTTP/1.0 without Host, and bare LFs: fine.
	run_ok raw 'GET /metrics HTTP/1.0\n\n'
	assert_eq "$output" "HTTP/1.1 200 OK"
	# Nothing of it stopped the server.
	run_ok scrape -o /dev/null
}

@test "silent and trickling metrics clients do not delay supervision and are cut at the deadline" {
	start_metrics --workers 2
	local mark victim t0 t1 line secs
	spawn hold_clients 20 silent "$BATS_TEST_TMPDIR/silent"
	spawn hold_clients 1 trickle "$BATS_TEST_TMPDIR/trickle"
	wait_until 20 test -e "$BATS_TEST_TMPDIR/silent.up"
	wait_until 20 test -e "$BATS_TEST_TMPDIR/trickle.up"
	mark=$(wc -l <"$SERVER_LOG")
	victim=$(worker_pids | head -1)
	t0=$(now_ms)
	kill -KILL "$victim"
	wait_until 10 spawned_after "$mark"
	t1=$(now_ms)
	echo "# worker replaced $((t1 - t0)) ms after SIGKILL with 21 metrics clients connected" >&3
	# The silent ones are closed without a word, none before its 2 s (the 4 beyond
	# the 16 served at once wait in the backlog meanwhile); the trickler gets a 408.
	wait_until 40 test -e "$BATS_TEST_TMPDIR/silent"
	wait_until 40 test -e "$BATS_TEST_TMPDIR/trickle"
	cat "$BATS_TEST_TMPDIR/silent" "$BATS_TEST_TMPDIR/trickle" >&2
	while read -r secs line; do
		[ "$secs" != open ] || fail "a silent client was never closed"
		assert_eq "$line" "-" "a silent client is told nothing"
		assert_ge "${secs%.*}" 1 "closed before the deadline"
	done <"$BATS_TEST_TMPDIR/silent"
	read -r secs line <"$BATS_TEST_TMPDIR/trickle"
	assert_eq "$line" "HTTP/1.1 408 Request Timeout"
	assert_ge "${secs%.*}" 1 "cut before the deadline"
	assert_le "${secs%.*}" 20 "the trickler is cut at the deadline, not kept by its bytes"
	run_ok scrape -o /dev/null
}

@test "a flood of metrics connections is held to 16 and the admin socket still answers" {
	start_metrics --workers 2
	local sockets
	BASE_SOCKETS=0
	BASE_SOCKETS=$(metrics_clients)
	spawn flood_clients 200 "$BATS_TEST_TMPDIR/flood"
	wait_until 20 test -e "$BATS_TEST_TMPDIR/flood.up"
	wait_until 10 metrics_clients_at_least 16
	# Looked at for 3 s, while the first ones are cut at their deadline and the
	# next taken from the backlog: never more than 16.
	local most=0
	for _ in $(seq 30); do
		sockets=$(metrics_clients)
		[ "$sockets" -le "$most" ] || most=$sockets
		sleep 0.1
	done
	echo "# the master held at most $most metrics connections of 200 (backlog 16)" >&3
	assert_le "$most" 16 "more metrics clients at once than the cap"
	# Supervision goes on: a killed worker is replaced during the flood.
	local mark victim
	mark=$(wc -l <"$SERVER_LOG")
	victim=$(worker_pids | head -1)
	kill -KILL "$victim"
	wait_until 10 spawned_after "$mark"
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "$output" "Metrics: http://$METRICS/metrics"
	run_ok echo_once "served meanwhile"
	assert_eq "$output" "served meanwhile"
	stop_tracked
	# Once the flood is gone, a scrape is answered again.
	wait_until 20 scrape -o /dev/null
}

@test "--metrics-listen: a bad address exits 2, a port in use 1, -t checks that it can bind" {
	run "$PREFORKD" --metrics-listen nohost
	assert_eq "$status" 2
	assert_eq "${lines[0]}" "preforkd: --metrics-listen: expected HOST:PORT or [IPV6]:PORT, got 'nohost' (missing :PORT)"
	run "$PREFORKD" --metrics-listen 127.0.0.1:70000
	assert_eq "$status" 2
	run "$PREFORKD" --listen 127.0.0.1:7999 --metrics-listen 127.0.0.1:7999
	assert_eq "$status" 2
	assert_eq "${lines[0]}" "preforkd: --metrics-listen: 127.0.0.1:7999 is the --listen address"
	start_metrics --workers 1
	# Another instance whose metrics port is taken: refused at start, nothing left.
	run "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --admin "$BATS_TEST_TMPDIR/second.sock" \
		--metrics-listen "$SERVER_ADDR"
	assert_eq "$status" 1
	assert_contains "$output" "preforkd: --metrics-listen: cannot listen on $SERVER_ADDR: bind: Address already in use"
	[ ! -e "$BATS_TEST_TMPDIR/second.sock" ]
	run "$PREFORKD" -t --listen 127.0.0.1:0 --admin "$BATS_TEST_TMPDIR/second.sock" \
		--metrics-listen "$SERVER_ADDR"
	assert_eq "$status" 1
	assert_contains "$output" "metrics-listen: cannot bind $SERVER_ADDR: address in use"
	# The running instance's own metrics port is fine for -t.
	run "$PREFORKD" -t --listen 127.0.0.1:0 --admin "$SERVER_ADMIN" --metrics-listen "$METRICS"
	assert_eq "$status" 0
	assert_contains "$output" "$METRICS is held by the running instance (pid $SERVER_PID)"
	# The running server is untouched.
	run_ok scrape -o /dev/null
}

@test "-T shows metrics-listen, a bare port is loopback's, and a reload says it needs a restart" {
	run_ok "$PREFORKD" -T
	assert_contains "$output" "# metrics-listen (not set)"
	run_ok "$PREFORKD" -T --metrics-listen 9100
	assert_contains "$output" $'\nmetrics-listen 127.0.0.1:9100\n'
	run_ok "$PREFORKD" -T --metrics-listen :9100
	assert_contains "$output" $'\nmetrics-listen 127.0.0.1:9100\n'
	run_ok "$PREFORKD" -T --metrics-listen '[::1]:9100'
	assert_contains "$output" $'\nmetrics-listen [::1]:9100\n'
	local f="$BATS_TEST_TMPDIR/p.conf"
	printf '%s\n' "metrics-listen 127.0.0.1:0" >"$f"
	start_server -c "$f"
	METRICS=$(sed -n 's|.*info: metrics on http://\([^/]*\)/metrics$|\1|p' "$SERVER_LOG")
	run_ok scrape -o /dev/null
	printf '%s\n' "metrics-listen 127.0.0.1:1" >"$f"
	run_ok "$CTL" -s "$SERVER_ADMIN" reload
	assert_contains "$output" "needs a restart to take effect: metrics-listen"
	wait_until 5 log_has "warn: reload: metrics-listen: 127.0.0.1:1 in the configuration, 127.0.0.1:0 running: needs a restart to take effect"
	# Still served where it was.
	run_ok scrape -o /dev/null
}

# socket_inodes PID: the inodes of PID's sockets, one a line.
socket_inodes() {
	local fd
	for fd in /proc/"$1"/fd/*; do readlink "$fd" 2>/dev/null; done |
		sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p'
}

@test "a worker holds none of the metrics endpoint's fds: its listener and its clients" {
	start_metrics --workers 1 --min-uptime 0 --verbose
	local old worker ino client_ino spawned timed_out
	spawn hold_clients 1 silent "$BATS_TEST_TMPDIR/held"
	wait_until 10 log_has "debug: metrics: client "
	client_ino=$(ss -Htne state established "( sport = :$METRICS_PORT )" | sed -n 's/.* ino:\([0-9]*\).*/\1/p' | head -1)
	old=$(worker_pids)
	kill -KILL "$old"
	wait_until 10 new_worker "$old"
	worker=$(worker_pids)
	ino=$(ss -Htlne "( sport = :$METRICS_PORT )" | sed -n 's/.* ino:\([0-9]*\).*/\1/p' | head -1)
	[ -n "$ino" ] && [ -n "$client_ino" ]
	socket_inodes "$SERVER_PID" | grep -qx "$ino"
	if socket_inodes "$worker" | grep -qx "$ino"; then
		fail "worker $worker holds the metrics listener"
	fi
	# The client counts only if it was still connected when the worker was forked:
	# the spawn logged before the client's 2 s deadline (a loaded machine may take
	# longer than that to get here).
	spawned=$(grep -n "worker spawned: slot 0 pid $worker " "$SERVER_LOG" | cut -d: -f1)
	timed_out=$(grep -n "metrics: client .* timed out" "$SERVER_LOG" | head -1 | cut -d: -f1)
	[ -n "$spawned" ]
	if [ -n "$timed_out" ] && [ "$spawned" -gt "$timed_out" ]; then
		echo "# the client had timed out before the fork: only the listener was checked" >&3
		return 0
	fi
	if socket_inodes "$worker" | grep -qx "$client_ino"; then
		fail "worker $worker holds a metrics client's socket"
	fi
}

# new_worker OLD: one worker runs, and it is not OLD.
new_worker() {
	has_workers 1 && [ "$(worker_pids)" != "$1" ]
}
