#!/usr/bin/env bats
# --agent-listen: HAProxy's agent-check, one line per connection written at once
# (free capacity as a weight percentage, maxconn MAX, and ready, drain, maint or
# down), `preforkctl maint on|off`, and a real HAProxy in front of two instances
# whose weights and states follow what each one says.

bats_require_minimum_version 1.5.0
load helpers

# start_agent [OPTION...]: start_server with --agent-listen 127.0.0.1:0; sets AGENT
# (HOST:PORT, as the log names it) and AGENT_PORT.
start_agent() {
	start_server --agent-listen 127.0.0.1:0 "$@"
	AGENT=$(sed -n 's|.*info: agent-check on \(.*\)$|\1|p' "$SERVER_LOG" | head -1)
	AGENT_PORT=${AGENT##*:}
	[ -n "$AGENT_PORT" ] || fail "no 'agent-check on' line in the log"
}

# agent_line PORT [SEND]: what the agent at 127.0.0.1:PORT writes before it closes,
# newline shown as \n; SEND is written first (HAProxy's agent-send), else nothing.
agent_line() {
	python3 - "$1" "${2:-}" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
if sys.argv[2]:
    s.sendall(sys.argv[2].encode())
got = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    got += b
print(got.decode().replace("\n", "\\n"))
PY
}

# says PORT LINE: the agent at PORT says LINE now (for wait_until).
says() {
	[ "$(agent_line "$1")" = "$2" ]
}

# hold N: N echo connections to the server, each answered once (so a worker
# serves it), kept open by a tracked process until the test ends.
hold() {
	python3 - "$SERVER_PORT" "$1" "$BATS_TEST_TMPDIR/held.$SERVER_PORT" <<'PY' 3>&- &
import socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"a")
    if s.recv(1) != b"a":
        sys.exit(1)
    socks.append(s)
open(sys.argv[3], "w").close()
time.sleep(600)
PY
	track $!
	wait_until 10 test -e "$BATS_TEST_TMPDIR/held.$SERVER_PORT"
}

@test "the agent writes its line at once: free capacity, maxconn MAX" {
	start_agent --workers 4 --idle-timeout 30
	run_ok agent_line "$AGENT_PORT"
	assert_eq "$output" 'up ready 100% maxconn:4\n'
	hold 1
	wait_until 10 says "$AGENT_PORT" 'up ready 75% maxconn:4\n'
	hold 2
	wait_until 10 says "$AGENT_PORT" 'up ready 25% maxconn:4\n'
	# agent-send: whatever the balancer writes first changes nothing.
	run_ok agent_line "$AGENT_PORT" $'backend/a\n'
	assert_eq "$output" 'up ready 25% maxconn:4\n'
}

@test "an adaptive pool counts its room to grow as free: maxconn is MAX" {
	start_agent --workers 2..8 --spare 1..2 --idle-timeout 30
	run_ok agent_line "$AGENT_PORT"
	assert_eq "$output" 'up ready 100% maxconn:8\n'
	# Two workers busy of at most 8: 6 free, whether idle now or still to be started.
	hold 2
	wait_until 10 says "$AGENT_PORT" 'up ready 75% maxconn:8\n'
	hold 4
	wait_until 10 says "$AGENT_PORT" 'up ready 25% maxconn:8\n'
	# the pool grew for them, up to its spare idle
	wait_until 10 json_true '.pool.busy == 6 and .pool.configured >= 7'
}

@test "a full pool says the 1 % floor, never 0 % (which HAProxy takes as drain)" {
	start_agent --workers 2 --idle-timeout 30 --pressure-idle 0
	hold 2
	wait_until 10 says "$AGENT_PORT" 'up ready 1% maxconn:2\n'
}

@test "maint on says maint, maint off says ready again; status and stats show it" {
	start_agent --workers 2
	run_ok "$CTL" -s "$SERVER_ADMIN" maint on
	assert_contains "$output" "maintenance on"
	run_ok agent_line "$AGENT_PORT"
	assert_eq "$output" 'up maint maxconn:2\n'
	assert_eq "$(stat_json .maint)" true
	run_ok "$CTL" -s "$SERVER_ADMIN" stats prometheus
	assert_contains "$output" "preforkd_maint 1"
	run_ok "$CTL" -s "$SERVER_ADMIN" status
	assert_contains "$output" "Agent: $AGENT says 'up maint maxconn:2' (maint on)"
	# The pool serves on: maint is the balancer's business.
	run_ok echo_once "still served"
	assert_eq "$output" "still served"
	log_has "maintenance on (admin, uid"
	run_ok "$CTL" -s "$SERVER_ADMIN" maint off
	assert_contains "$output" "maintenance off"
	run_ok agent_line "$AGENT_PORT"
	assert_eq "$output" 'up ready 100% maxconn:2\n'
	assert_eq "$(stat_json .maint)" false
}

@test "bad maint commands get a clear error and change nothing" {
	start_agent --workers 1
	run_expect 1 "$CTL" -s "$SERVER_ADMIN" maint maybe
	assert_contains "$output" "maint: expected 'on' or 'off', got 'maybe'"
	run_expect 2 "$CTL" -s "$SERVER_ADMIN" maint
	assert_contains "$output" "maint: missing argument"
	run_fail "$CTL" -s "$SERVER_ADMIN" maint on off
	assert_eq "$(stat_json .maint)" false
	run_ok agent_line "$AGENT_PORT"
	assert_eq "$output" 'up ready 100% maxconn:1\n'
}

@test "maint without --agent-listen is applied and says nobody is told" {
	start_server --workers 1
	run_ok "$CTL" -s "$SERVER_ADMIN" maint on
	assert_contains "$output" "no --agent-listen: nobody is told"
	assert_eq "$(stat_json .maint)" true
	assert_eq "$(stat_json .agent_listen)" null
}

@test "a graceful stop says drain while workers finish" {
	start_agent --workers 2 --grace 20 --idle-timeout 30
	hold 1
	kill -TERM "$SERVER_PID"
	wait_until 10 says "$AGENT_PORT" 'up drain maxconn:2\n'
	stop_tracked
	wait_until 20 process_gone "$SERVER_PID"
}

@test "a crash loop says down with its reason when no worker serves, and up again when it ends" {
	PREFORKD="$ROOT/bin/test/preforkd"
	export PREFORKD_TEST_FAULT=crash-on-start PREFORKD_TEST_FAULT_FILE="$BATS_TEST_TMPDIR/crash"
	start_agent --workers 2 --min-uptime 0.3
	touch "$BATS_TEST_TMPDIR/crash"
	# One worker left serving: still up, with the reason, and only it free.
	local first second
	first=$(worker_pids | head -1)
	second=$(worker_pids | tail -1)
	kill -KILL "$first"
	wait_until 10 says "$AGENT_PORT" 'up ready 50% maxconn:2 # crash-loop\n'
	# None left: down.
	kill -KILL "$second"
	wait_until 10 says "$AGENT_PORT" 'down ready maxconn:2 # crash-loop\n'
	rm "$BATS_TEST_TMPDIR/crash"
	wait_until 20 says "$AGENT_PORT" 'up ready 100% maxconn:2\n'
}

@test "--agent-listen is checked at start-up, by -t and shown by -T" {
	run_expect 2 "$PREFORKD" --agent-listen nonsense
	assert_contains "${lines[0]}" "--agent-listen"
	run_expect 2 "$PREFORKD" --listen 127.0.0.1:7000 --agent-listen 127.0.0.1:7000
	assert_contains "${lines[0]}" "--agent-listen: 127.0.0.1:7000 is the --listen address"
	run_ok "$PREFORKD" --agent-listen 9777 -T
	assert_contains "$output" "agent-listen 127.0.0.1:9777"
	start_agent --workers 1
	run_expect 1 "$PREFORKD" --listen 127.0.0.1:0 --agent-listen "$AGENT" \
		--admin "$BATS_TEST_TMPDIR/second.sock"
	assert_contains "$output" "--agent-listen: cannot listen on $AGENT"
}

# ---- a real HAProxy in front of two instances ----

# haproxy_cmd COMMAND: one command on HAProxy's runtime API (its stats socket).
haproxy_cmd() {
	python3 - "$HAPROXY_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
sys.stdout.write(got.decode())
PY
}

# server_state NAME: "OP ADMIN UWEIGHT" of server be/NAME from `show servers state`
# (srv_op_state 2 = running, 0 = stopped; srv_admin_state 0 = ready, bit 0x01 =
# maint forced, 0x08 = drain forced).
server_state() {
	haproxy_cmd "show servers state be" | awk -v n="$1" '
		/^# be_id/ { for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
		$0 !~ /^#/ && $(col["srv_name"]) == n {
			print $(col["srv_op_state"]), $(col["srv_admin_state"]), $(col["srv_uweight"])
		}'
}

# state_is NAME "OP ADMIN UWEIGHT": for wait_until.
state_is() {
	[ "$(server_state "$1")" = "$2" ]
}

# start_haproxy: HAProxy in the foreground (-db), tracked by pid, with a backend of
# the two instances A and B (weight 100, agent-check every 200 ms).
start_haproxy() {
	command -v haproxy >/dev/null || fail "haproxy is missing: run scripts/install-test-deps.sh"
	HAPROXY_SOCK="$BATS_TEST_TMPDIR/haproxy.sock"
	cat >"$BATS_TEST_TMPDIR/haproxy.cfg" <<CFG
global
	stats socket $HAPROXY_SOCK mode 600 level admin
defaults
	mode tcp
	timeout connect 2s
	timeout client 10s
	timeout server 10s
backend be
	balance leastconn
	server a $A_ADDR weight 100 agent-check agent-addr 127.0.0.1 agent-port $A_AGENT_PORT agent-inter 200ms
	server b $B_ADDR weight 100 agent-check agent-addr 127.0.0.1 agent-port $B_AGENT_PORT agent-inter 200ms
CFG
	haproxy -c -q -f "$BATS_TEST_TMPDIR/haproxy.cfg" || fail "haproxy rejects its configuration"
	haproxy -db -f "$BATS_TEST_TMPDIR/haproxy.cfg" >"$BATS_TEST_TMPDIR/haproxy.log" 2>&1 </dev/null 3>&- &
	track $!
	wait_until 10 test -S "$HAPROXY_SOCK"
}

@test "HAProxy: weights and states follow each instance's agent (busy, maint, ready)" {
	local n
	# SERVER_LOG, SERVER_ADMIN and SERVER_PIDFILE are read by start_server.
	# shellcheck disable=SC2034
	for n in b a; do
		SERVER_LOG="$BATS_TEST_TMPDIR/$n.log"
		SERVER_ADMIN="$BATS_TEST_TMPDIR/$n.sock"
		SERVER_PIDFILE="$BATS_TEST_TMPDIR/$n.pid"
		start_agent --workers 4 --idle-timeout 30
		if [ "$n" = b ]; then B_ADDR=$SERVER_ADDR B_AGENT_PORT=$AGENT_PORT; fi
	done
	# A is the last started: hold and SERVER_ADMIN are about A.
	A_ADDR=$SERVER_ADDR A_AGENT_PORT=$AGENT_PORT
	start_haproxy
	# Both idle: 100 % of weight 100, running, ready.
	wait_until 10 state_is a "2 0 100"
	wait_until 10 state_is b "2 0 100"
	# A busy: 3 of its 4 workers hold a connection, so 25 % of 100.
	hold 3
	wait_until 10 state_is a "2 0 25"
	assert_eq "$(server_state b)" "2 0 100" "b is untouched"
	run_ok haproxy_cmd "show stat"
	# maxconn:4 became the server's session limit (slim).
	assert_eq "$(awk -F, '$1 == "be" && $2 == "a" { print $7 }' <<<"$output")" 4 "slim of a"
	# maint: HAProxy puts A in forced maintenance (admin bit 0x01).
	run_ok "$CTL" -s "$SERVER_ADMIN" maint on
	wait_until 10 state_is a "0 1 25"
	# maint off: ready again, with the weight its load says.
	run_ok "$CTL" -s "$SERVER_ADMIN" maint off
	wait_until 10 state_is a "2 0 25"
	assert_eq "$(server_state b)" "2 0 100" "b is still untouched"
}
