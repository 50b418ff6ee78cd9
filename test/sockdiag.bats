#!/usr/bin/env bats
# The kernel's view of busy workers' connections in status, workers and the JSON:
# each busy worker's four numbers (client IP and port, server IP and port), its TCP
# state, RTT and retransmits, asked through sock_diag when the reply is built; and
# the status still answers, with "-", when sock_diag fails. The reply parser alone
# is unit-tested in test/unit/sockdiag.c.

# shellcheck disable=SC2153 # the SERVER_* variables come from helpers.bash
load helpers

# The test build: the same server, with PREFORKD_TEST_FAIL and PREFORKD_TEST_FAULT.
PREFORKD="$ROOT/bin/test/preforkd"

# python3 -c "$HOLD_CLIENT" HOST PORT OUT [shut|echo] [SOURCE]: connects from SOURCE
# (default 127.0.0.1, or ::1 for an IPv6 HOST) port 0, then echo: sends one byte and
# reads it back; shut: half-closes (shutdown SHUT_WR) at once. Writes its own port to
# OUT and holds the connection open (at most 120 s) until it is stopped.
HOLD_CLIENT='import socket, sys, time, os
host, port, out, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
v6 = ":" in host
src = sys.argv[5] if len(sys.argv) > 5 else ("::1" if v6 else "127.0.0.1")
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
s.bind((src, 0))
s.settimeout(10)
s.connect((host, port))
if mode == "echo":
    s.sendall(b"x")
    assert s.recv(1) == b"x"
else:
    s.shutdown(socket.SHUT_WR)
with open(out + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(out + ".tmp", out)
time.sleep(120)'

# hold CLIENT_NAME MODE [HOST] [SOURCE]: a held connection; its port in $HELD_PORT.
hold() {
	local out="$BATS_TEST_TMPDIR/$1.port"
	spawn python3 -c "$HOLD_CLIENT" "${3:-127.0.0.1}" "$SERVER_PORT" "$out" "$2" \
		${4:+"$4"}
	wait_until 30 test -s "$out"
	HELD_PORT=$(cat "$out")
}

workers_json() {
	"$CTL" -s "$SERVER_ADMIN" --json workers
}

# busy_workers N: N workers are busy.
busy_workers() {
	# shellcheck disable=SC2016 # jq's $variables, not the shell's
	workers_json | jq_in -e --argjson n "$1" '[.workers[] | select(.state == "busy")] | length == $n' \
		>/dev/null
}

# worker_of PORT FILTER: the busy worker whose client port is PORT passes the jq FILTER.
worker_of() {
	workers_json | jq_in -e --argjson p "$1" \
		"[.workers[] | select(.client_port == \$p)] | length == 1 and (.[0] | $2)" >/dev/null
}

@test "a busy worker shows its four numbers, ESTABLISHED, an rtt and its retransmits" {
	start_server --workers 2
	hold one echo
	wait_until 30 worker_of "$HELD_PORT" '.state == "busy"'
	run_ok workers_json
	# shellcheck disable=SC2016 # jq's $variables, not the shell's
	echo "$output" | jq_in -e --argjson p "$HELD_PORT" --argjson sp "$SERVER_PORT" \
		'.workers[] | select(.client_port == $p) |
		 .client_ip == "127.0.0.1" and .server_ip == "127.0.0.1" and .server_port == $sp and
		 .peer == "127.0.0.1:\($p)" and .tcp_state == "ESTABLISHED" and
		 (.rtt_us | type == "number") and (.rttvar_us | type == "number") and
		 .retransmits == 0'
	# idle workers: nothing known, null rather than zeros
	echo "$output" | jq_in -e '[.workers[] | select(.state == "idle")] | length == 1 and
		(.[0] | .client_ip == null and .client_port == null and .server_port == null and
		 .tcp_state == null and .rtt_us == null and .retransmits == null)'
	# the tables: a line under the worker table names the same connection
	run_ok "$CTL" -s "$SERVER_ADMIN" workers
	assert_match "$output" $'\n''SLOT +PID +CLIENT +SERVER +TCP STATE +RTT +RTTVAR +RETRANS'
	assert_match "$output" " 127\\.0\\.0\\.1:$HELD_PORT +127\\.0\\.0\\.1:$SERVER_PORT +ESTABLISHED +[0-9.]+(us|ms) +[0-9.]+(us|ms) +0([[:space:]]|$)"
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_match "$output" " 127\\.0\\.0\\.1:$HELD_PORT +127\\.0\\.0\\.1:$SERVER_PORT +ESTABLISHED "
	# stats json carries the same fields; Prometheus none of them
	# shellcheck disable=SC2016 # jq's $variables, not the shell's
	"$CTL" -s "$SERVER_ADMIN" stats json | jq_in -e --argjson p "$HELD_PORT" \
		'.workers[] | select(.client_port == $p) | .tcp_state == "ESTABLISHED"'
	run_ok "$CTL" -s "$SERVER_ADMIN" stats prometheus
	[[ $output != *rtt* && $output != *tcp_state* ]]
}

@test "a client that half-closed while its worker is stuck: the server side is CLOSE_WAIT" {
	PREFORKD_TEST_FAULT=hang-after:0 start_server --workers 1 --worker-timeout 0 --grace 1
	hold shut shut
	# The worker never reads, so the client's FIN stays unread: CLOSE_WAIT.
	wait_until 30 worker_of "$HELD_PORT" '.tcp_state == "CLOSE_WAIT"'
	run_ok "$CTL" -s "$SERVER_ADMIN" workers
	assert_match "$output" " 127\\.0\\.0\\.1:$HELD_PORT +127\\.0\\.0\\.1:$SERVER_PORT +CLOSE_WAIT "
}

@test "several busy workers: each shows its own client's connection" {
	local ports=() p slots
	start_server --workers 4
	for c in a b c; do
		hold "$c" echo
		ports+=("$HELD_PORT")
	done
	wait_until 30 busy_workers 3
	for p in "${ports[@]}"; do
		worker_of "$p" ".tcp_state == \"ESTABLISHED\" and .server_port == $SERVER_PORT and
			.peer == \"127.0.0.1:$p\"" || fail "no busy worker shows client port $p"
	done
	# three different slots, and no connection shown twice
	slots=$(workers_json | jq '[.workers[] | select(.client_port != null) | .slot] | unique | length')
	assert_eq "$slots" 3 "slots holding the three clients"
	run_ok "$CTL" -s "$SERVER_ADMIN" workers
	for p in "${ports[@]}"; do
		assert_match "$output" " 127\\.0\\.0\\.1:$p +127\\.0\\.0\\.1:$SERVER_PORT +ESTABLISHED "
	done
}

@test "IPv6: a busy worker's connection over ::1 shows its four numbers" {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
		2>/dev/null || skip "no IPv6 loopback"
	start_server --workers 2 --listen '[::1]:0'
	hold six echo ::1
	wait_until 30 worker_of "$HELD_PORT" '.tcp_state == "ESTABLISHED"'
	worker_of "$HELD_PORT" ".client_ip == \"::1\" and .server_ip == \"::1\" and
		.server_port == $SERVER_PORT and (.rtt_us | type == \"number\")"
	run_ok "$CTL" -s "$SERVER_ADMIN" workers
	assert_match "$output" " \\[::1\\]:$HELD_PORT +\\[::1\\]:$SERVER_PORT +ESTABLISHED "
}

# status_without_sockdiag FAULT: with sock_diag failing so, status, workers and the
# JSON still answer, with the client's numbers from the scoreboard and "-"/null for
# what only the kernel knows; the log says so once.
status_without_sockdiag() {
	PREFORKD_TEST_FAIL="sockdiag:$1" start_server --workers 2
	hold one echo
	wait_until 30 worker_of "$HELD_PORT" '.state == "busy"'
	for _ in 1 2; do
		run_ok "$CTL" -s "$SERVER_ADMIN" status
		assert_match "$output" " 127\\.0\\.0\\.1:$HELD_PORT +- +- +- +- +-"$'\n'
		assert_contains "$output" "sock_diag did not answer; see the log"
	done
	run_ok "$CTL" -s "$SERVER_ADMIN" workers
	assert_match "$output" " 127\\.0\\.0\\.1:$HELD_PORT +- +- "
	worker_of "$HELD_PORT" '.client_ip == "127.0.0.1" and .server_ip == null and
		.server_port == null and .tcp_state == null and .rtt_us == null and
		.rttvar_us == null and .retransmits == null'
	assert_eq "$(grep -c 'warn: sock_diag: ' "$SERVER_LOG")" 1 "sock_diag warnings in the log"
}

@test "status still works when sock_diag is refused (EPERM): '-' and one warning" {
	status_without_sockdiag 1
	grep -q 'warn: sock_diag: .*Operation not permitted' "$SERVER_LOG"
}

@test "status still works without sock_diag in the kernel (EPROTONOSUPPORT)" {
	status_without_sockdiag 93
	grep -q 'warn: sock_diag: .*Protocol not supported' "$SERVER_LOG"
}

@test "a kernel that never answers costs status a bounded wait, not a hang" {
	status_without_sockdiag silent
	grep -q 'warn: sock_diag: waiting for .*timed out' "$SERVER_LOG"
}

# In a network namespace of its own (root only), where a wildcard listener is seen
# by loopback alone: the server's address is the one the client connected to.
@test "behind a wildcard listener the server address is the one the client reached" {
	[ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
	command -v unshare >/dev/null && command -v nsenter >/dev/null && command -v ip >/dev/null ||
		skip "needs unshare, nsenter and ip"
	unshare -n true 2>/dev/null || skip "cannot create a network namespace here"
	local wrapper="$BATS_TEST_TMPDIR/preforkd-netns"
	# unshare and sh exec in turn: the pid is preforkd's
	cat >"$wrapper" <<EOF
#!/bin/sh
exec unshare -n sh -c 'ip link set lo up && exec "\$0" "\$@"' "$PREFORKD" "\$@"
EOF
	chmod +x "$wrapper"
	PREFORKD="$wrapper" start_server --workers 2 --listen 0.0.0.0:0
	local out="$BATS_TEST_TMPDIR/wild.port"
	spawn nsenter --net="/proc/$SERVER_PID/ns/net" python3 -c "$HOLD_CLIENT" 127.0.0.2 \
		"$SERVER_PORT" "$out" echo 127.0.0.3
	wait_until 30 test -s "$out"
	HELD_PORT=$(cat "$out")
	wait_until 30 worker_of "$HELD_PORT" '.tcp_state == "ESTABLISHED"'
	worker_of "$HELD_PORT" ".client_ip == \"127.0.0.3\" and .server_ip == \"127.0.0.2\" and
		.server_port == $SERVER_PORT"
	run_ok "$CTL" -s "$SERVER_ADMIN" workers
	assert_match "$output" " 127\\.0\\.0\\.3:$HELD_PORT +127\\.0\\.0\\.2:$SERVER_PORT +ESTABLISHED "
}

@test "the shipped systemd unit allows AF_NETLINK, which sock_diag needs" {
	grep -Eq '^RestrictAddressFamilies=.*\bAF_NETLINK\b' "$ROOT/scripts/preforkd.service"
}
