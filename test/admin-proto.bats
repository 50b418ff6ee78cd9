#!/usr/bin/env bats
# The admin protocol on the wire: a success is "ok LEN" and exactly LEN bytes, a
# failure one "error:" line; a slow but live reader gets a whole big reply, one that
# takes nothing is cut off without holding a client slot or the master.

# shellcheck disable=SC2153 # SERVER_* and CTL come from helpers.bash
load helpers

teardown() {
	stop_tracked
	stop_big_server
	teardown_servers
}

BIG_POOL=560

# start_big_server: a server of $BIG_POOL workers, whose `stats json` reply (about
# 290 KB) is more than a Unix socket's default send buffer (208 KiB), so the
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
	# shellcheck disable=SC2086 # one pid a word
	wait_until 30 none_alive $BIG_WORKERS
	BIG_WORKERS=""
}

none_alive() {
	! ps -o stat= -p "$(echo "$@" | tr ' ' ,)" | grep -qv '^Z'
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

# reader CHUNK INTERVAL DIR: asks for `stats json` and reads the reply CHUNK
# bytes every INTERVAL seconds. DIR/head gets the header line once read; while
# DIR/drain does not exist the reader keeps its pace, after that it reads at full
# speed. At EOF, DIR/got gets the number of body bytes read and DIR/body the body.
reader() {
	python3 - "$SERVER_ADMIN" "$1" "$2" "$3" <<'EOF'
import os, socket, sys, time
path, chunk, interval, d = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.sendall(b"stats json\n")
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
	# shellcheck disable=SC2016 # jq's $variables, not the shell's
	tail -n +2 "$BATS_TEST_TMPDIR/json" | jq_in -e --argjson pid "$SERVER_PID" '.pid == $pid'
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
	track $!
	wait_until 60 test -e "$d/got"
	[[ "$(cat "$d/head")" =~ ^ok\ ([0-9]+)$ ]]
	len=${BASH_REMATCH[1]}
	echo "# reply of $len bytes, read $(cat "$d/got")" >&3
	[ "$len" -gt 250000 ]
	[ "$(cat "$d/got")" -eq "$len" ]
	# shellcheck disable=SC2016 # jq's $variables, not the shell's
	jq_in -e --argjson n "$BIG_POOL" '.workers | length == $n' <"$d/body" >/dev/null
	run log_has "cut off the reply"
	[ "$status" -ne 0 ]
}

@test "a reader that takes nothing is cut off within seconds and sees the cut; others are served meanwhile" {
	start_big_server
	local d="$BATS_TEST_TMPDIR" base len
	base=$(find "/proc/$SERVER_PID/fd" -mindepth 1 | wc -l)
	# One byte a second: the server's send buffer never empties.
	reader 1 1 "$d" 3>&- &
	track $!
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

# fake_server NAME REPLY: a server on $BATS_TEST_TMPDIR/NAME.sock that answers every
# connection with REPLY (a Python bytes literal) and closes.
fake_server() {
	local path="$BATS_TEST_TMPDIR/$1.sock"
	python3 -c "$FAKE_ADMIN_SERVER" "$path" "$2" 3>&- &
	track $!
	wait_until 10 test -e "$path.up"
}

@test "preforkctl says a reply is truncated (exit 4) when it ends before LEN bytes" {
	# Ten bytes of a hundred, ending in a newline: it looks like a whole reply.
	fake_server short 'b"ok 100\n012345678\n"'
	run "$CTL" --socket "$BATS_TEST_TMPDIR/short.sock" status
	[ "$status" -eq 4 ]
	[ "$output" = "preforkctl: truncated reply from preforkd at $BATS_TEST_TMPDIR/short.sock: got 10 of 100 bytes" ]
	fake_server cut 'b"ok 10"'
	run "$CTL" --socket "$BATS_TEST_TMPDIR/cut.sock" status
	[ "$status" -eq 4 ]
	[[ "$output" == *"truncated reply"*"the reply ends inside its header" ]]
}

@test "preforkctl refuses a reply without a valid header or with bytes past LEN (exit 4)" {
	fake_server plain 'b"preforkd 0.1.0 - running\n"'
	run "$CTL" --socket "$BATS_TEST_TMPDIR/plain.sock" status
	[ "$status" -eq 4 ]
	[ "$output" = "preforkctl: malformed reply from preforkd at $BATS_TEST_TMPDIR/plain.sock: no 'ok LEN' or 'error:' header" ]
	fake_server long 'b"ok 3\nabc\ndef\n"'
	run "$CTL" --socket "$BATS_TEST_TMPDIR/long.sock" status
	[ "$status" -eq 4 ]
	[[ "$output" == *"malformed reply"*"more bytes than the 3 announced" ]]
	fake_server huge 'b"ok 99999999999\n"'
	run "$CTL" --socket "$BATS_TEST_TMPDIR/huge.sock" status
	[ "$status" -eq 4 ]
	[[ "$output" == *"malformed reply"*"a reply over 67108864 bytes" ]]
	fake_server fine 'b"ok 6\nfine\n\n"'
	run "$CTL" --socket "$BATS_TEST_TMPDIR/fine.sock" status
	[ "$status" -eq 0 ]
	[ "$output" = "fine" ]
}

@test "preforkctl sends a 4096-byte command line, as the server reads it, and no longer one" {
	start_server --workers 1
	local arg
	# "stats " and 4089 bytes and the newline: 4096 bytes, the server's limit.
	arg=$(head -c 4089 /dev/zero | tr '\0' a)
	run ctl stats "$arg"
	[ "$status" -eq 1 ]
	[[ "$output" == "preforkctl: error: stats: expected 'json' or 'prometheus', got 'aaaa"*"...'" ]]
	run ctl stats "${arg}a"
	[ "$status" -eq 2 ]
	[[ "$output" == "preforkctl: command too long (at most 4096 bytes with its newline)"* ]]
}

@test "an empty --socket or --pidfile is a usage error (exit 2), not a missing server" {
	run "$CTL" -s '' status
	[ "$status" -eq 2 ]
	[[ "$output" == "preforkctl: --socket: empty path"* ]]
	run "$CTL" --pidfile '' status
	[ "$status" -eq 2 ]
	[[ "$output" == "preforkctl: --pidfile: empty path"* ]]
}

@test "preforkctl --help and the server's help list the same commands, from one table" {
	start_server --workers 1
	run "$CTL" --help
	[ "$status" -eq 0 ]
	# The lines between "Commands" and preforkctl's own `top`.
	sed -n '/^Commands/,/^  top /p' <<<"$output" | sed '1d;$d' >"$BATS_TEST_TMPDIR/ctl-help"
	ctl help | sed 1d >"$BATS_TEST_TMPDIR/server-help"
	[ -s "$BATS_TEST_TMPDIR/server-help" ]
	diff "$BATS_TEST_TMPDIR/ctl-help" "$BATS_TEST_TMPDIR/server-help"
}
