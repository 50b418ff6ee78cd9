#!/usr/bin/env bats
# Per-connection waits: --first-byte-timeout cuts a client that sends nothing once a
# worker holds its connection; --idle-timeout bounds every later wait for progress,
# on reads and on writes, once (not once per partial write).

load helpers

# conn_probe MODE: a Python client against $SERVER_PORT; prints what it measured.
#   silent: connect, send nothing; print the seconds until the server closes.
#   slow GAP: first byte at once, then a byte every GAP s (3 bytes), half-close;
#             print the echo.
#   deaf: send until the server stops taking data, never read; print the seconds
#         from the last byte the server took until it gives up on the connection.
conn_probe() {
	python3 - "$SERVER_PORT" "$@" <<'PY'
import select, socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
if mode == "silent":
    t0 = time.monotonic()
    try:
        s.recv(1)
    except OSError:
        pass
    print("%.2f" % (time.monotonic() - t0))
elif mode == "slow":
    gap = float(sys.argv[3])
    for i, b in enumerate(b"abc"):
        if i:
            time.sleep(gap)
        s.sendall(bytes([b]))
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(100)
        if not d:
            break
        out += d
    print(out.decode())
elif mode == "deaf":
    s.setblocking(False)
    chunk = b"x" * 65536
    last = time.monotonic()
    # Fill every buffer on the way; the server is then stuck writing to us.
    while time.monotonic() - last < 1.0:
        try:
            s.send(chunk)
            last = time.monotonic()
        except BlockingIOError:
            select.select([], [s], [], 0.1)
    # The server closes with our bytes unread, which resets the connection. (Its
    # echo is readable all along: wait for the reset alone.)
    p = select.poll()
    p.register(s, select.POLLERR | select.POLLHUP)
    p.poll(60000)
    print("%.2f" % (time.monotonic() - last))
PY
}

@test "a silent client is cut at --first-byte-timeout; a slow but progressing one is served" {
	start_server --workers 2 --defer-accept 0 --first-byte-timeout 1 --idle-timeout 20
	conn_probe slow 1.6 >"$BATS_TEST_TMPDIR/slow" &
	local slow=$!
	run conn_probe silent
	[ "$status" -eq 0 ]
	echo "silent client cut after $output s (--first-byte-timeout 1, --idle-timeout 20)"
	# Cut near 1 s, far before the 20 s idle limit that bounded it before.
	awk -v s="$output" 'BEGIN { exit !(s >= 0.9 && s < 8) }'
	wait "$slow"
	# Its pauses (1.6 s) are longer than the first-byte limit but within the idle one.
	[ "$(cat "$BATS_TEST_TMPDIR/slow")" = "abc" ]
	[ "$("$ROOT/bin/preforkctl" -s "$SERVER_ADMIN" stats json | jq .totals.errors.timeout)" -eq 1 ]
}

@test "a client that never reads its echo frees the worker after --idle-timeout, not twice it" {
	start_server --workers 1 --defer-accept 0 --idle-timeout 3
	run conn_probe deaf
	[ "$status" -eq 0 ]
	echo "worker gave up after $output s without progress (--idle-timeout 3)"
	# Today's bound is the option (3 s); a bound restarted per partial write is 6 s.
	awk -v s="$output" 'BEGIN { exit !(s >= 2 && s < 4.8) }'
	run echo_once "free again"
	[ "$output" = "free again" ]
}
