#!/usr/bin/env bats
# A stream of admin connections must not stall supervision: the admin socket gets a
# bounded share of each turn of the master's loop.

bats_require_minimum_version 1.5.0
load helpers

# flood SECONDS MARKER: connect to the admin socket as fast as possible, send
# `stats prometheus`, close without reading; after the first 10 connections,
# create MARKER and go on for SECONDS more.
flood() {
	python3 - "$SERVER_ADMIN" "$1" "$2" <<'EOF'
import socket, sys, time
path, seconds, marker = sys.argv[1], float(sys.argv[2]), sys.argv[3]
n, end = 0, None
while end is None or time.monotonic() < end:
    n += 1
    if n == 10:
        open(marker, "w").close()
        end = time.monotonic() + seconds
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.send(b"stats prometheus\n")
    except OSError:
        pass
    s.close()
EOF
}

spawned_after() {
	[ "$(tail -n +"$(($1 + 1))" "$SERVER_LOG" | grep -c 'worker spawned')" -ge 1 ]
}

@test "a SIGKILLed worker is replaced while admin clients flood the socket" {
	start_server --workers 2
	local i mark victim t0 t1 flooders=()
	for i in 1 2 3 4; do
		spawn flood 5 "$BATS_TEST_TMPDIR/flooding.$i"
		flooders+=("$SPAWNED")
	done
	# The flood is under way: every flooder has made 10 connections.
	wait_until 30 flooding
	mark=$(wc -l <"$SERVER_LOG")
	victim=$(worker_pids | head -1)
	t0=$(now_ms)
	kill -KILL "$victim"
	wait_until 10 spawned_after "$mark"
	t1=$(now_ms)
	local flooding=0
	for i in "${flooders[@]}"; do process_alive "$i" && flooding=$((flooding + 1)); done
	echo "# worker replaced $((t1 - t0)) ms after SIGKILL, $flooding of 4 flooders still running" >&3
	# Replaced while the flood still runs (before: only once it ended).
	[ "$flooding" -ge 1 ]
	for i in "${flooders[@]}"; do wait "$i" || true; done
	run echo_once "after the flood"
	[ "$output" = "after the flood" ]
}

flooding() {
	local i
	for i in 1 2 3 4; do [ -e "$BATS_TEST_TMPDIR/flooding.$i" ] || return 1; done
}
