#!/usr/bin/env bats
# Datagrams: the echo service on a udp: listener. Every datagram is answered to its
# sender and counted; the reflection defence refuses privileged source ports and
# limits each source's rate, and counts what it refuses; counters survive a killed
# worker; prefork-client --udp and prefork-bench --udp.

load helpers

# start_udp [OPTIONS...]: a server on udp:127.0.0.1:0; sets UDP_ADDR (HOST:PORT) and
# UDP_PORT from the listener the server reports.
start_udp() {
	start_server --listen udp:127.0.0.1:0 "$@"
	UDP_ADDR=$(stat_json '.listen[] | select(startswith("udp:"))' | sed 's/^udp://')
	UDP_PORT=${UDP_ADDR##*:}
	[ -n "$UDP_PORT" ]
}

# stat_above JQ_PATH N: a condition for wait_until, which reads the stat on each try.
stat_above() { [ "$(stat_json "$1")" -gt "$2" ]; }

# udp_py SCRIPT [ARGS...]: a python3 client; the script sees PORT and ARGS in sys.argv.
udp_py() {
	local script=$1
	shift
	timeout 20 python3 -c "$script" "$UDP_PORT" "$@"
}

@test "prefork-client --udp: one datagram is echoed to its sender" {
	start_udp
	run_ok "$CLIENT" --udp --connect "$UDP_ADDR" --timeout 5 "hello, datagrams"
	assert_eq "$output" "hello, datagrams"
	wait_until 5 stat_is '.totals.udp.datagrams_out' 1
	assert_eq "$(stat_json '.totals.udp.datagrams_in')" 1
	assert_eq "$(stat_json '.totals.udp.bytes_in')" 16
	assert_eq "$(stat_json '.totals.udp.bytes_out')" 16
}

@test "datagrams from several sources and ports are all answered and counted" {
	start_udp --workers 2
	# 4 source addresses x 2 ports x 25 datagrams, each of its own length, under the
	# default rate limit (100/s with a burst of 100 per source): all answered.
	run_ok udp_py '
import socket, sys
port = int(sys.argv[1])
socks = []
for a in range(1, 5):
    for p in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.%d" % a, 0))
        s.settimeout(5)
        socks.append(s)
total = 0
for i in range(25):
    for k, s in enumerate(socks):
        msg = (b"%d-%d:" % (k, i)) + b"x" * (i + k)
        s.sendto(msg, ("127.0.0.1", port))
        got, frm = s.recvfrom(65536)
        assert got == msg, (got, msg)
        total += len(msg)
print(len(socks) * 25, total)
'
	read -r n bytes <<<"$output"
	assert_eq "$n" 200
	wait_until 5 stat_is '.totals.udp.datagrams_out' 200
	assert_eq "$(stat_json '.totals.udp.datagrams_in')" 200
	assert_eq "$(stat_json '.totals.udp.bytes_in')" "$bytes"
	assert_eq "$(stat_json '.totals.udp.bytes_out')" "$bytes"
	assert_eq "$(stat_json '.totals.udp.rate_limited + .totals.udp.refused_port')" 0
	assert_eq "$(stat_json '[.workers[].udp.datagrams_in] | add')" 200
}

@test "a datagram from a privileged source port gets no answer and is counted refused" {
	[ "$(id -u)" -eq 0 ] || skip "binding a port below 1024 needs root"
	start_udp
	run_ok udp_py '
import socket, sys
port = int(sys.argv[1])
for src in range(1023, 600, -1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", src))
        break
    except OSError:
        s.close()
s.settimeout(1)
s.sendto(b"reflect me", ("127.0.0.1", port))
try:
    print("answered", s.recvfrom(100))
except socket.timeout:
    print("no answer")
'
	assert_eq "$output" "no answer"
	wait_until 5 stat_is '.totals.udp.refused_port' 1
	assert_eq "$(stat_json '.totals.udp.datagrams_out')" 0
	# an ordinary port still is answered
	run_ok "$CLIENT" --udp --connect "$UDP_ADDR" --timeout 5 ok
	assert_eq "$output" ok
}

@test "a burst above --udp-rate gets the allowed answers; another source still gets its own" {
	start_udp --workers 1 --udp-rate 5 --udp-burst 5
	run_ok udp_py '
import socket, sys, time
port = int(sys.argv[1])
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind(("127.0.0.1", 0))
t0 = time.monotonic()
for i in range(40):
    a.sendto(b"%d" % i, ("127.0.0.1", port))
a.settimeout(0.5)
got = 0
try:
    while True:
        a.recvfrom(100)
        got += 1
except socket.timeout:
    pass
elapsed = time.monotonic() - t0
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(("127.0.0.2", 0))
b.settimeout(2)
b.sendto(b"other", ("127.0.0.1", port))
print(got, int(elapsed * 5) + 5, b.recvfrom(100)[0].decode())
'
	read -r got allowed other <<<"$output"
	assert_ge "$got" 5
	assert_le "$got" "$allowed"
	assert_eq "$other" other
	wait_until 5 stat_is '.totals.udp.datagrams_in' 41
	assert_eq "$(stat_json '.totals.udp.rate_limited')" $((40 - got))
	assert_eq "$(stat_json '.totals.udp.datagrams_out')" $((got + 1))
}

@test "a datagram larger than the service's buffer is not echoed in part: counted truncated" {
	start_udp
	run_ok udp_py '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b"x" * 5000, ("127.0.0.1", int(sys.argv[1])))
try:
    print("answered", len(s.recvfrom(65536)[0]))
except socket.timeout:
    print("no answer")
'
	assert_eq "$output" "no answer"
	wait_until 5 stat_is '.totals.udp.truncated' 1
	run_ok "$CLIENT" --udp --connect "$UDP_ADDR" --timeout 5 "$(head -c 4096 /dev/zero | tr '\0' y)"
	assert_eq "${#output}" 4096
}

@test "a worker killed during UDP traffic: its counters stay, the pool is whole again" {
	start_udp --workers 2 --udp-rate 0
	"$ROOT/bin/prefork-bench" --udp --connect "$UDP_ADDR" -c 8 -d 3 --timeout 0.5 --json -q \
		>"$BATS_TEST_TMPDIR/bench.json" 2>&1 3>&- &
	local bench=$!
	track "$bench"
	wait_until 10 stat_above .totals.udp.datagrams_out 1000
	local victim
	victim=$(worker_pids | head -1)
	kill -KILL "$victim"
	wait "$bench"
	cat "$BATS_TEST_TMPDIR/bench.json"
	wait_until 10 has_workers 2
	wait_until 10 stat_is '.restarts.signal' 1
	local ok out
	ok=$(jq -r .ok "$BATS_TEST_TMPDIR/bench.json")
	out=$(stat_json '.totals.udp.datagrams_out')
	# Every answer the client received was counted by a worker, the dead one's too,
	# but for one batch (16): SIGKILL takes effect as a call returns, so the killed
	# worker may have sent a batch with sendmmsg and not counted it.
	assert_ge $((out + 16)) "$ok"
	assert_ge "$(stat_json '.totals.udp.datagrams_in')" "$out"
	run_ok "$CLIENT" --udp --connect "$UDP_ADDR" --timeout 5 after
	assert_eq "$output" after
}

@test "prefork-bench --udp at a low rate: no loss, and its JSON fields" {
	start_udp --udp-rate 0
	run_ok "$ROOT/bin/prefork-bench" --udp --connect "$UDP_ADDR" -c 2 -n 300 --timeout 2 --json -q
	assert_eq "$(jq -r '[.ok, .sent, .lost, .late, .loss, .udp, .errors.mismatch] | @tsv' <<<"$output")" \
		"$(printf '300\t300\t0\t0\t0\ttrue\t0')"
	jq_in -e '.latency_us.p50 >= 0 and .latency_us.p99 >= .latency_us.p50 and .tps > 0' <<<"$output"
	wait_until 5 stat_is '.totals.udp.datagrams_out' 300
}

@test "prefork-bench --udp counts unanswered datagrams as lost, not hidden" {
	start_udp
	# 5000-byte datagrams are beyond the service's buffer: none is answered
	run_ok "$ROOT/bin/prefork-bench" --udp --connect "$UDP_ADDR" -c 2 -n 4 -s 5000 \
		--timeout 0.2 --json -q
	assert_eq "$(jq -r '[.ok, .sent, .lost] | @tsv' <<<"$output")" "$(printf '0\t4\t4')"
	jq_in -e '.loss == 1' <<<"$output"
}

@test "prefork-client --udp with nobody answering: exit 1 and says so" {
	run_expect 1 timeout 10 python3 -c '
import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
r = subprocess.run([sys.argv[1], "--udp", "--connect", "127.0.0.1:%d" % s.getsockname()[1],
                    "--timeout", "0.3", "hi"], capture_output=True, text=True)
print(r.stderr, end="")
sys.exit(r.returncode)
' "$CLIENT"
	assert_contains "$output" "no answer from udp:127.0.0.1:"
}

@test "bad --udp-rate and --udp-burst values exit 2 with a clear message" {
	local bad
	for bad in -1 abc 1000001 "" 1.5; do
		run_expect 2 "$PREFORKD" --udp-rate "$bad"
		assert_contains "$output" "--udp-rate: expected an integer 0..1000000, got '$bad'"
	done
	run_expect 2 "$PREFORKD" --udp-burst 0
	assert_contains "$output" "--udp-burst: expected an integer 1..1000000, got '0'"
	run_expect 2 "$ROOT/bin/prefork-bench" --udp --size 4
	assert_contains "$output" "--size: with --udp, 8..65507"
}
