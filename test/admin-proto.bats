#!/usr/bin/env bats
# The admin protocol on the wire: a success is "ok LEN" and exactly LEN bytes, a
# failure one "error:" line; a slow but live reader gets a whole big reply, one that
# takes nothing is cut off without holding a client slot or the master.

# shellcheck disable=SC2153 # SERVER_* and CTL come from helpers.bash
load helpers

teardown() {
	stop_extra_processes
	stop_big_server
	teardown_servers
}

BIG_POOL=400

# start_big_server: a server of $BIG_POOL workers, whose `stats prometheus` reply
# (about 330 KB) is more than a Unix socket's default send buffer (208 KiB), so the
# reader's pace decides how long the reply takes. Grown with `scale` and waited for
# with a bound that suits a loaded machine.
start_big_server() {
	start_server --workers 2
	ctl scale "$BIG_POOL" >/dev/null
	wait_until 120 workers_ready "$BIG_POOL"
	BIG_WORKERS=$(worker_pids)
}

# stop_big_server: SIGTERM, then one ps call per poll for all the workers at once
# (the shared teardown checks them one by one: minutes for hundreds).
stop_big_server() {
	[ -n "${BIG_WORKERS:-}" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait_until 60 process_gone "$SERVER_PID" || kill -KILL "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	wait_until 30 none_alive $BIG_WORKERS
	BIG_WORKERS=""
}

none_alive() {
	! ps -o stat= -p "$(echo "$@" | tr ' ' ,)" | grep -qv '^Z'
}

stop_extra_processes() {
	local pid
	[ -f "$BATS_TEST_TMPDIR/extra.pids" ] || return 0
	while read -r pid; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done <"$BATS_TEST_TMPDIR/extra.pids"
	rm -f "$BATS_TEST_TMPDIR/extra.pids"
}

ctl() {
	"$CTL" --socket "$SERVER_ADMIN" "$@"
}

fd_count_is() {
	[ "$(find "/proc/$1/fd" -mindepth 1 | wc -l)" -eq "$2" ]
}

# exchange LINE OUT: sends LINE and a newline on the admin socket, saves every byte
# of the reply up to EOF in OUT.
exchange() {
	python3 - "$SERVER_ADMIN" "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
open(sys.argv[3], "wb").write(out)
EOF
}

# is_framed FILE: FILE is "ok LEN\n" and exactly LEN bytes; prints LEN.
is_framed() {
	local head len size
	head=$(head -n 1 "$1")
	[[ "$head" =~ ^ok\ (0|[1-9][0-9]*)$ ]] || { echo "bad header: $head" >&2; return 1; }
	len=${BASH_REMATCH[1]}
	size=$(stat -c %s "$1")
	[ "$size" -eq $((${#head} + 1 + len)) ] || { echo "LEN $len, body $((size - ${#head} - 1))" >&2; return 1; }
	echo "$len"
}

# reader CHUNK INTERVAL DIR: asks for `stats prometheus` and reads the reply CHUNK
# bytes every INTERVAL seconds. DIR/head gets the header line once read; while
# DIR/drain does not exist the reader keeps its pace, after that it reads at full
# speed. At EOF, DIR/got gets the number of body bytes read and DIR/body the body.
reader() {
	python3 - "$SERVER_ADMIN" "$1" "$2" "$3" <<'EOF'
import os, socket, sys, time
path, chunk, interval, d = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.sendall(b"stats prometheus\n")
head = b""
while not head.endswith(b"\n"):
    c = s.recv(1)
    if not c:
        break
    head += c
with open(os.path.join(d, "head.tmp"), "wb") as f:
    f.write(head)
os.rename(os.path.join(d, "head.tmp"), os.path.join(d, "head"))
body = b""
while True:
    fast = os.path.exists(os.path.join(d, "drain"))
    try:
        c = s.recv(65536 if fast else chunk)
    except ConnectionResetError:
        break
    if not c:
        break
    body += c
    if not fast:
        time.sleep(interval)
open(os.path.join(d, "body"), "wb").write(body)
with open(os.path.join(d, "got.tmp"), "w") as f:
    f.write(str(len(body)))
os.rename(os.path.join(d, "got.tmp"), os.path.join(d, "got"))
EOF
}

@test "a success is 'ok LEN' and exactly LEN bytes; a failure is one error line" {
	start_server --workers 2
	exchange "stats json" "$BATS_TEST_TMPDIR/json"
	len=$(is_framed "$BATS_TEST_TMPDIR/json")
	[ "$len" -gt 100 ]
	tail -n +2 "$BATS_TEST_TMPDIR/json" | jq -e --argjson pid "$SERVER_PID" '.pid == $pid'
	exchange "help" "$BATS_TEST_TMPDIR/help"
	is_framed "$BATS_TEST_TMPDIR/help"
	# preforkctl prints the body, nothing of the header.
	diff <(tail -n +2 "$BATS_TEST_TMPDIR/help") <(ctl help)
	exchange "scale 3" "$BATS_TEST_TMPDIR/scale"
	is_framed "$BATS_TEST_TMPDIR/scale"
	[ "$(tail -n +2 "$BATS_TEST_TMPDIR/scale")" = "ok: scaling from 2 to 3 workers" ]
	exchange "frobnicate" "$BATS_TEST_TMPDIR/error"
	[ "$(cat "$BATS_TEST_TMPDIR/error")" = "error: unknown command 'frobnicate' (try 'help')" ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/error")" -eq 1 ]
	[ "$(tail -c 1 "$BATS_TEST_TMPDIR/error" | od -An -c | tr -d ' ')" = '\n' ]
}

@test "a slow but live reader gets the whole of a 300 KB reply" {
	start_big_server
	local d="$BATS_TEST_TMPDIR" len
	# 8 KiB every 0.1 s: about 5 s for the reply, many times the old 1 s limit.
	reader 8192 0.1 "$d" 3>&- &
	echo $! >>"$d/extra.pids"
	wait_until 60 test -e "$d/got"
	[[ "$(cat "$d/head")" =~ ^ok\ ([0-9]+)$ ]]
	len=${BASH_REMATCH[1]}
	echo "# reply of $len bytes, read $(cat "$d/got")" >&3
	[ "$len" -gt 250000 ]
	[ "$(cat "$d/got")" -eq "$len" ]
	promtool check metrics <"$d/body"
	! log_has "cut off the reply"
}

@test "a reader that takes nothing is cut off within seconds and sees the cut; others are served meanwhile" {
	start_big_server
	local d="$BATS_TEST_TMPDIR" base len
	base=$(find "/proc/$SERVER_PID/fd" -mindepth 1 | wc -l)
	# One byte a second: the server's send buffer never empties.
	reader 1 1 "$d" 3>&- &
	echo $! >>"$d/extra.pids"
	wait_until 30 test -e "$d/head"
	[[ "$(cat "$d/head")" =~ ^ok\ ([0-9]+)$ ]]
	len=${BASH_REMATCH[1]}
	run ctl status
	[ "$status" -eq 0 ]
	# The server closes its end: the client's slot and fd are free again.
	wait_until 10 fd_count_is "$SERVER_PID" "$base"
	touch "$d/drain"
	wait_until 10 test -e "$d/got"
	echo "# reply of $len bytes, $(cat "$d/got") read before the cut" >&3
	[ "$(cat "$d/got")" -lt "$len" ]
	wait_until 5 log_has "admin: cut off the reply to uid $(id -u) pid [0-9]* after [0-9]* of $((len + ${#len} + 4)) bytes: the reader took nothing for 1 s"
	run ctl status
	[ "$status" -eq 0 ]
}
