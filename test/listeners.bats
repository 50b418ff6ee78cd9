#!/usr/bin/env bats
# Several listeners: repeated --listen (TCP, IPv6, Unix), each served and counted;
# the rules of the configuration (duplicates, too many, -T, a reload that would
# change them); Unix sockets' stale-file rules, mode and deadlines; sockets handed
# over through LISTEN_FDS (test/tools/activate.py plays systemd); a listener made
# O_NONBLOCK by another holder; a graceful stop that empties two queues.

bats_require_minimum_version 1.5.0
load helpers

ACTIVATE="$ROOT/test/tools/activate.py"
# The system's interpreter: a version manager's shim is slow to start, and one that
# runs as another user cannot read root's home.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

# addr_of N: the Nth (1-based) listener's address, from the stats.
addr_of() {
	stat_json ".listeners[$(($1 - 1))].address"
}

# py_echo ADDRESS MESSAGE: one echo through python (TCP, [V6] or unix:PATH).
py_echo() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import socket, sys
a, msg = sys.argv[1], sys.argv[2].encode()
if a.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(a[5:])
else:
    host, _, port = a.rpartition(":")
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
s.sendall(msg)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    got += b
sys.stdout.write(got.decode())
EOF
}

ipv6_loopback() {
	"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
		2>/dev/null
}

@test "two TCP listeners (and [::1]) are both served and counted per listener" {
	local v6=()
	ipv6_loopback && v6=(--listen '[::1]:0')
	start_server --listen 127.0.0.1:0 --listen 127.0.0.1:0 "${v6[@]}"
	local n=$((2 + ${#v6[@]} / 2)) a b
	assert_eq "$n" "$(stat_json '.listeners | length')"
	a=$(addr_of 1)
	b=$(addr_of 2)
	[ "$a" != "$b" ]
	run "$CLIENT" --connect "$a" --timeout 5 one
	assert_eq one "$output"
	run "$CLIENT" --connect "$b" --timeout 5 two
	assert_eq two "$output"
	run "$CLIENT" --connect "$b" --timeout 5 three
	assert_eq three "$output"
	if [ "$n" -eq 3 ]; then
		run "$CLIENT" --connect "$(addr_of 3)" --timeout 5 six
		assert_eq six "$output"
		assert_eq 1 "$(stat_json '.listeners[2].accepted')"
	fi
	assert_eq 1 "$(stat_json '.listeners[0].accepted')"
	assert_eq 2 "$(stat_json '.listeners[1].accepted')"
	assert_eq tcp "$(stat_json '.listeners[0].kind')"
	run "$CTL" -s "$SERVER_ADMIN" stats prometheus
	assert_contains "$output" "preforkd_listener_accepted_total{listener=\"$b\"} 2"
	log_has "listening on $a, $b"
}

@test "a Unix listener: served by prefork-client and python, made with --unix-mode" {
	local sock="$BATS_TEST_TMPDIR/echo.sock"
	start_server --listen "unix:$sock" --listen 127.0.0.1:0 --unix-mode 0640
	[ -S "$sock" ]
	assert_eq 640 "$(stat -c %a "$sock")"
	run "$CLIENT" --connect "unix:$sock" --timeout 5 "over unix"
	assert_eq "over unix" "$output"
	run py_echo "unix:$sock" "from python"
	assert_eq "from python" "$output"
	assert_eq 2 "$(stat_json '.listeners[0].accepted')"
	assert_eq unix "$(stat_json '.listeners[0].kind')"
	assert_eq "unix:$sock" "$(stat_json '.listeners[0].address')"
	stop_server
	[ ! -e "$sock" ]
}

@test "a second --listen adds; the same address twice and too many are refused" {
	run "$PREFORKD" -T --listen 127.0.0.1:7001 --listen 'unix:/run/p.sock'
	assert_eq 0 "$status"
	assert_contains "$output" "listen 127.0.0.1:7001"
	assert_contains "$output" "listen unix:/run/p.sock"
	run_expect 2 "$PREFORKD" --listen 127.0.0.1:7001 --listen 127.0.0.1:7001
	assert_contains "$output" "--listen: 127.0.0.1:7001 is given twice"
	local args=() i
	for i in $(seq 1 17); do args+=(--listen "127.0.0.1:$((7000 + i))"); done
	run_expect 2 "$PREFORKD" "${args[@]}"
	assert_contains "$output" "more than 16 listeners"
	run_expect 2 "$PREFORKD" --service http --root / --listen udp:127.0.0.1:0
	assert_contains "$output" "udp:127.0.0.1:0"
	assert_contains "$output" "http"
}

@test "unix: a stale socket of ours is replaced, a live one and a symlink are refused" {
	local sock="$BATS_TEST_TMPDIR/s.sock"
	"$PYTHON" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
		"$sock"
	start_server --listen "unix:$sock"
	log_has "removed stale unix listener $sock"
	run "$CLIENT" --connect "unix:$sock" --timeout 5 fresh
	assert_eq fresh "$output"
	# A live socket: another instance.
	run_expect 1 "$PREFORKD" --listen "unix:$sock" --admin "$BATS_TEST_TMPDIR/b.sock"
	assert_contains "$output" "another instance is running"
	# A symlink planted at the path: refused, its target untouched.
	echo keep >"$BATS_TEST_TMPDIR/target"
	ln -s "$BATS_TEST_TMPDIR/target" "$BATS_TEST_TMPDIR/link.sock"
	run_expect 1 "$PREFORKD" --listen "unix:$BATS_TEST_TMPDIR/link.sock" \
		--admin "$BATS_TEST_TMPDIR/c.sock"
	assert_contains "$output" "is not a socket"
	[ -L "$BATS_TEST_TMPDIR/link.sock" ]
	assert_eq keep "$(cat "$BATS_TEST_TMPDIR/target")"
}

@test "unix: someone else's stale socket is refused and left alone" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (the other user is nobody, through setpriv)"
	local dir
	dir=$(mktemp -d /tmp/preforkd-listen.XXXXXX)
	chmod 0755 "$dir"
	chmod 1777 "$dir"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PYTHON" -c \
		'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$dir/s.sock"
	run_expect 1 "$PREFORKD" --listen "unix:$dir/s.sock" --admin "$BATS_TEST_TMPDIR/a.sock"
	assert_contains "$output" "owned by uid 65534"
	assert_eq 65534 "$(stat -c %u "$dir/s.sock")"
	rm -rf "$dir"
}

# cut_while_silent ADDRESS: a client that connects (HOST:PORT or unix:PATH) and
# never writes sees the server close within about a second (--first-byte-timeout
# 0.5 in the tests that use it).
cut_while_silent() {
	run timeout 10 "$PYTHON" - "$1" <<'EOF'
import socket, sys, time
a = sys.argv[1]
if a.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX)
    s.connect(a[5:])
else:
    host, _, port = a.rpartition(":")
    s = socket.create_connection((host.strip("[]"), int(port)))
t = time.monotonic()
s.settimeout(8)
print("eof" if s.recv(10) == b"" else "data", round(time.monotonic() - t, 1))
EOF
	assert_eq 0 "$status"
	[[ $output == "eof 0."* || $output == "eof 1."* ]] || fail "not cut in time: $output"
}

@test "a silent Unix client is cut at --first-byte-timeout" {
	local sock="$BATS_TEST_TMPDIR/t.sock"
	start_server --workers 1 --listen "unix:$sock" --first-byte-timeout 0.5 \
		--idle-timeout 5 --pressure-idle 0
	cut_while_silent "unix:$sock"
	wait_until 5 stat_at_least .totals.errors.timeout 1
}

@test "a reload with changed listeners says they need a restart and keeps serving" {
	local f="$BATS_TEST_TMPDIR/p.conf"
	printf 'listen 127.0.0.1:0\nworkers 1\n' >"$f"
	START_NO_LISTEN=1 start_server --config "$f"
	printf 'listen 127.0.0.1:0\nlisten unix:%s\nworkers 1\n' "$BATS_TEST_TMPDIR/n.sock" >"$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	assert_eq 0 "$status"
	assert_contains "$output" "needs a restart to take effect: listen"
	log_has "reload: listen: .* needs a restart"
	[ ! -e "$BATS_TEST_TMPDIR/n.sock" ]
	run echo_once "still here"
	assert_eq "still here" "$output"
}

# start_activated SPEC... -- OPTIONS...: preforkd started through activate.py, which
# hands it SPEC's sockets as LISTEN_FDS (same pid: it execs preforkd).
start_activated() {
	local specs=()
	while [ "$1" != -- ]; do
		specs+=("$1")
		shift
	done
	shift
	cat >"$BATS_TEST_TMPDIR/activated" <<EOF
#!/bin/sh
exec $PYTHON "$ACTIVATE" ${specs[*]} -- "$PREFORKD" "\$@"
EOF
	chmod +x "$BATS_TEST_TMPDIR/activated"
	export ACTIVATE_ADDRS="$BATS_TEST_TMPDIR/addrs"
	# A loaded machine has been seen to take long to start the interpreter.
	PREFORKD="$BATS_TEST_TMPDIR/activated" START_NO_LISTEN=1 START_TIMEOUT=40 start_server "$@"
}

@test "activation: inherited sockets are served, not bound again, and matched to --listen" {
	start_activated tcp:127.0.0.1:0=web unix:"$BATS_TEST_TMPDIR/a.sock" -- --workers 2
	local tcp
	tcp=$(sed -n 1p "$ACTIVATE_ADDRS")
	assert_eq 2 "$(stat_json '.listeners | length')"
	assert_eq true "$(stat_json '.listeners[0].inherited')"
	assert_eq "$tcp" "$(stat_json '.listeners[0].address')"
	run "$CLIENT" --connect "$tcp" --timeout 5 inherited
	assert_eq inherited "$output"
	run "$CLIENT" --connect "unix:$BATS_TEST_TMPDIR/a.sock" --timeout 5 "inherited unix"
	assert_eq "inherited unix" "$output"
	log_has "using the inherited socket $tcp"
	run ! log_has "removed stale"
	stop_server
	# Not ours to remove: systemd (here, the wrapper) made it.
	[ -S "$BATS_TEST_TMPDIR/a.sock" ]
}

@test "activation: a --listen of port 0 matches an inherited socket, another is bound" {
	start_activated tcp:127.0.0.1:0 -- --listen 127.0.0.1:0 --listen "unix:$BATS_TEST_TMPDIR/b.sock"
	local tcp
	tcp=$(sed -n 1p "$ACTIVATE_ADDRS")
	assert_eq 2 "$(stat_json '.listeners | length')"
	assert_eq "$tcp" "$(stat_json '.listeners[0].address')"
	log_has "--listen 127.0.0.1:0: the inherited socket $tcp (not bound again)"
	assert_eq false "$(stat_json '.listeners[1].inherited')"
	run "$CLIENT" --connect "unix:$BATS_TEST_TMPDIR/b.sock" --timeout 5 bound
	assert_eq bound "$output"
}

@test "activation: a port-0 --listen never takes the socket another --listen names" {
	# Two inherited sockets on 127.0.0.1; the second --listen names the second's
	# port. Matched in the order given, the port-0 spec would take it first and the
	# named one would then fail to bind its own port.
	local second
	second=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# The named port's socket comes first, where a port-0 spec matched in order
	# would find it.
	start_activated "tcp:127.0.0.1:$second" tcp:127.0.0.1:0 -- \
		--listen 127.0.0.1:0 --listen "127.0.0.1:$second"
	assert_eq 2 "$(stat_json '.listeners | length')"
	assert_eq "127.0.0.1:$second" "$(stat_json '.listeners[1].address')"
	assert_eq true "$(stat_json '.listeners[1].inherited')"
	assert_eq true "$(stat_json '.listeners[0].inherited')"
	log_has "--listen 127.0.0.1:$second: the inherited socket 127.0.0.1:$second"
}

@test "activation: a silent client of an inherited socket is cut at --first-byte-timeout" {
	# The socket systemd made has no receive timeout of ours; a client that never
	# writes must not hold the worker for ever. A listener of its own comes first:
	# the workers judge the slice by the first one.
	start_activated tcp:127.0.0.1:0 -- --workers 1 --first-byte-timeout 0.5 \
		--idle-timeout 5 --pressure-idle 0 --listen "unix:$BATS_TEST_TMPDIR/own.sock"
	local tcp
	tcp=$(sed -n 1p "$ACTIVATE_ADDRS")
	cut_while_silent "$tcp"
}

@test "activation: a unix: --listen through a symlinked directory matches its socket" {
	mkdir "$BATS_TEST_TMPDIR/real"
	ln -s "$BATS_TEST_TMPDIR/real" "$BATS_TEST_TMPDIR/link"
	start_activated unix:"$BATS_TEST_TMPDIR/real/s.sock" -- \
		--listen "unix:$BATS_TEST_TMPDIR/link/s.sock"
	assert_eq 1 "$(stat_json '.listeners | length')"
	assert_eq true "$(stat_json '.listeners[0].inherited')"
	run "$CLIENT" --connect "unix:$BATS_TEST_TMPDIR/link/s.sock" --timeout 5 linked
	assert_eq linked "$output"
}

@test "activation: a regular file or a socket that does not listen is refused" {
	echo x >"$BATS_TEST_TMPDIR/plain"
	run_expect 1 "$PYTHON" "$ACTIVATE" file:"$BATS_TEST_TMPDIR/plain" -- "$PREFORKD" \
		--admin "$BATS_TEST_TMPDIR/a.sock"
	assert_contains "$output" "not a socket"
	run_expect 1 "$PYTHON" "$ACTIVATE" tcp-nolisten:127.0.0.1:0 -- "$PREFORKD" \
		--admin "$BATS_TEST_TMPDIR/a.sock"
	assert_contains "$output" "does not listen"
}

@test "activation: LISTEN_PID of another process is ignored" {
	start_activated --pid-other tcp:127.0.0.1:0 -- --listen 127.0.0.1:0
	local tcp
	tcp=$(sed -n 1p "$ACTIVATE_ADDRS")
	assert_eq 1 "$(stat_json '.listeners | length')"
	assert_eq false "$(stat_json '.listeners[0].inherited')"
	[ "$(stat_json '.listeners[0].address')" != "$tcp" ]
}

# cpu_ticks PID: user + system time, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "a listener made O_NONBLOCK by another holder does not make idle workers spin" {
	start_activated --nonblock tcp:127.0.0.1:0 -- --workers 2
	local tcp pids before after p
	tcp=$(sed -n 1p "$ACTIVATE_ADDRS")
	run "$CLIENT" --connect "$tcp" --timeout 5 nonblocking
	assert_eq nonblocking "$output"
	mapfile -t pids < <(worker_pids)
	before=0
	for p in "${pids[@]}"; do before=$((before + $(cpu_ticks "$p"))); done
	sleep 2
	after=0
	for p in "${pids[@]}"; do after=$((after + $(cpu_ticks "$p"))); done
	# A spinning worker burns ~200 ticks in 2 s; idle ones a few at most.
	assert_le $((after - before)) 20
}

# unix_queued PATH N: N connections to the Unix listener at PATH wait in its queue
# (ss shows the listener's Recv-Q as its queue length).
unix_queued() {
	[ "$(ss -Hxl src "$1" | awk '{ print $3 }')" -ge "$2" ]
}

# tcp_queued PORT N: N connections wait in the queue of the TCP listener on PORT.
tcp_queued() {
	[ "$(ss -Htl "( sport = :$1 )" | awk '{ print $2 }')" -ge "$2" ]
}

@test "graceful stop with connections queued on two listeners loses none" {
	local sock="$BATS_TEST_TMPDIR/q.sock"
	start_server --workers 1 --pressure-idle 0 --listen 127.0.0.1:0 --listen "unix:$sock"
	hold_worker
	local i
	for i in 1 2 3; do
		"$CLIENT" --connect "$SERVER_ADDR" --timeout 30 "tcp-$i" \
			>"$BATS_TEST_TMPDIR/out.t$i" 2>&1 {HELD}>&- 3>&- &
		track $!
		"$CLIENT" --connect "unix:$sock" --timeout 30 "unix-$i" \
			>"$BATS_TEST_TMPDIR/out.u$i" 2>&1 {HELD}>&- 3>&- &
		track $!
	done
	wait_until 10 unix_queued "$sock" 3
	wait_until 10 tcp_queued "$SERVER_PORT" 3
	kill -TERM "$SERVER_PID"
	wait_until 5 log_has "stopping (SIGTERM)"
	# New connects to the Unix listener fail at once: its file is gone.
	wait_until 5 test ! -e "$sock"
	release_worker
	wait_until 15 process_gone "$SERVER_PID"
	for i in 1 2 3; do
		wait_until 10 test -s "$BATS_TEST_TMPDIR/out.t$i"
		assert_eq "tcp-$i" "$(cat "$BATS_TEST_TMPDIR/out.t$i")"
		wait_until 10 test -s "$BATS_TEST_TMPDIR/out.u$i"
		assert_eq "unix-$i" "$(cat "$BATS_TEST_TMPDIR/out.u$i")"
	done
	log_has "cause stopped after .*, 7 connections"
}
