#!/usr/bin/env bats
# Local attackers: a second account (nobody, through setpriv) plants symlinks, FIFOs
# and sockets where preforkd, started as root, writes its pidfile, log and admin
# socket; it locks the pidfile, forges a server, and sends escapes. One test per row
# of the local-attackers table, then the paths that must keep working. The attacker's
# directories are not sticky (distributions protect symlinks in sticky ones). Races
# are made deterministic with the test build's pauses (server/master_fault.c).

bats_require_minimum_version 1.5.0
load helpers

PREFORKD_TEST="$ROOT/bin/test/preforkd"
# The attacker needs an interpreter it can run: not one under root's home.
ATTACKER_PYTHON=/usr/bin/python3

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (the attacker is nobody, through setpriv)"
	[ -x "$ATTACKER_PYTHON" ] || skip "needs $ATTACKER_PYTHON for the attacker"
	# Under /tmp (root-owned, sticky) so nobody can reach them: BATS_TEST_TMPDIR is 0700.
	ATTACK=$(mktemp -d /tmp/preforkd-attack.XXXXXX) # nobody may write here: 0777, not sticky
	SAFE=$(mktemp -d /tmp/preforkd-safe.XXXXXX)     # root's, 0755
	chmod 0777 "$ATTACK"
	chmod 0755 "$SAFE"
	echo precious >"$SAFE/precious"
	chmod 0644 "$SAFE/precious"
}

suite_cleanup() {
	rm -rf "${ATTACK:-/nonexistent}" "${SAFE:-/nonexistent}" "${STICKY:-/nonexistent}" \
		"${XDG:-/nonexistent}"
}

attacker() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

precious_intact() {
	[ "$(cat "$SAFE/precious")" = precious ] && [ "$(stat -c %a "$SAFE/precious")" = 644 ]
}

# start_at PIDFILE ADMIN LOG [OPTIONS...]: a foreground server with these paths, its
# stderr kept in $BATS_TEST_TMPDIR/stderr.
start_at() {
	local pidfile=$1 admin=$2 log=$3
	shift 3
	# shellcheck disable=SC2034 # SERVER_PIDFILE is read by helpers.bash
	SERVER_LOG=$log SERVER_ADMIN=$admin SERVER_PIDFILE=$pidfile
	"${PREFORKD_BIN:-$PREFORKD}" --listen 127.0.0.1:0 --workers 1 --pidfile "$pidfile" \
		--admin "$admin" --log "$log" "$@" </dev/null 2>>"$BATS_TEST_TMPDIR/stderr" &
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 10 log_has "listening on"
	SERVER_ADDR=$(listen_addr "$SERVER_LOG")
	# shellcheck disable=SC2034 # read by helpers.bash
	SERVER_PORT=${SERVER_ADDR##*:}
}

stderr_has() {
	grep -q -- "$1" "$BATS_TEST_TMPDIR/stderr"
}

@test "row 1: a planted pidfile symlink is never followed; the target is untouched" {
	attacker ln -s "$SAFE/precious" "$ATTACK/p.pid"
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$ATTACK/p.pid" \
		--admin "$SAFE/a.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"directory $ATTACK (owner uid 0, mode 0777) is writable by group or others"* ]]
	precious_intact
	[ -L "$ATTACK/p.pid" ]
	# A symlink already there in a directory nobody else can write (planted while it
	# could): refused as a symlink.
	ln -s "$SAFE/precious" "$SAFE/p.pid"
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$SAFE/p.pid" \
		--admin "$SAFE/a.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$SAFE/p.pid is a symlink"* ]]
	precious_intact
	[ -L "$SAFE/p.pid" ]
}

@test "row 2: a FIFO or a device at the pidfile path is refused and never deleted" {
	attacker mkfifo "$ATTACK/p.pid"
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$ATTACK/p.pid" \
		--admin "$SAFE/a.sock"
	[ "$status" -eq 1 ]
	[ -p "$ATTACK/p.pid" ]
	# The same in a safe directory, as --pidfile /dev/null would be.
	mkfifo "$SAFE/fifo.pid"
	mknod "$SAFE/null.pid" c 1 3
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$SAFE/fifo.pid" \
		--admin "$SAFE/a.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$SAFE/fifo.pid is a FIFO (owner uid 0), not a regular file"* ]]
	[ -p "$SAFE/fifo.pid" ]
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$SAFE/null.pid" \
		--admin "$SAFE/a.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$SAFE/null.pid is a character device (owner uid 0), not a regular file"* ]]
	[ -c "$SAFE/null.pid" ]
}

@test "row 3: a starter paused between opening and locking never runs beside a later one" {
	start_at "$SAFE/p.pid" "$SAFE/a.sock" "$SAFE/a.log"
	local first=$SERVER_PID b rc=0
	# B opens the instance lock file of the same pidfile, then pauses before flock().
	touch "$BATS_TEST_TMPDIR/pause"
	PREFORKD_TEST_PAUSE=lock PREFORKD_TEST_PAUSE_FILE="$BATS_TEST_TMPDIR/pause" \
		"$PREFORKD_TEST" --listen 127.0.0.1:0 --workers 1 --pidfile "$SAFE/p.pid" \
		--admin "$SAFE/b.sock" --log "$SAFE/b.log" </dev/null 2>"$BATS_TEST_TMPDIR/b.err" &
	b=$!
	echo "$b" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 10 test -e "$BATS_TEST_TMPDIR/pause.reached"
	# The first instance stops, a third starts with the same pidfile...
	stop_server "$first"
	start_at "$SAFE/p.pid" "$SAFE/c.sock" "$SAFE/c.log"
	# ...and B resumes: it must find the lock taken.
	rm "$BATS_TEST_TMPDIR/pause"
	wait_until 15 process_gone "$b"
	wait "$b" || rc=$?
	[ "$rc" -eq 1 ]
	grep -q "another instance is running (pid $SERVER_PID, pidfile $SAFE/p.pid)" \
		"$BATS_TEST_TMPDIR/b.err"
	process_alive "$SERVER_PID"
	[ "$(cat "$SAFE/p.pid")" = "$SERVER_PID" ]
}

@test "row 4: another user holding a lock on a stale pidfile does not block a start" {
	echo 2147483646 >"$SAFE/p.pid"
	chmod 0644 "$SAFE/p.pid"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ATTACKER_PYTHON" -c 'import fcntl, sys, time
f = open(sys.argv[1])
fcntl.flock(f, fcntl.LOCK_SH)
open(sys.argv[2], "w").close()
time.sleep(60)' "$SAFE/p.pid" "$ATTACK/locked" 3>&- &
	track $!
	wait_until 10 test -e "$ATTACK/locked"
	start_at "$SAFE/p.pid" "$SAFE/a.sock" "$SAFE/a.log"
	[ "$(cat "$SAFE/p.pid")" = "$SERVER_PID" ]
	run echo_once "not blocked"
	[ "$output" = "not blocked" ]
}

@test "row 5: the log never follows a symlink, at start or at a SIGUSR1 reopen" {
	attacker ln -s "$SAFE/precious" "$ATTACK/log"
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --log "$ATTACK/log" \
		--admin "$SAFE/a.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot open log file $ATTACK/log"*"writable by group or others"* ]]
	precious_intact
	# A symlink put in place of a rotated log: the reopen refuses it, the old file
	# keeps the lines.
	mkdir -m 0755 "$SAFE/logs"
	start_at "$SAFE/p.pid" "$SAFE/a.sock" "$SAFE/logs/log"
	mv "$SAFE/logs/log" "$SAFE/logs/log.1"
	ln -s "$SAFE/precious" "$SAFE/logs/log"
	kill -USR1 "$SERVER_PID"
	wait_until 10 grep -q -- "cannot reopen log file $SAFE/logs/log: $SAFE/logs/log is a symlink" "$SAFE/logs/log.1"
	precious_intact
	run echo_once "still serving"
	[ "$output" = "still serving" ]
}

@test "row 6: a symlink swapped in after bind() is never chmod'ed; the socket is 0600 from the start" {
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --admin "$ATTACK/a.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"directory $ATTACK (owner uid 0, mode 0777) is writable by group or others"* ]]
	[ ! -e "$ATTACK/a.sock" ]
	# Between bind() and listen() the socket is replaced by a symlink to a file.
	touch "$BATS_TEST_TMPDIR/pause"
	SERVER_LOG="$SAFE/a.log"
	PREFORKD_TEST_PAUSE=bind PREFORKD_TEST_PAUSE_FILE="$BATS_TEST_TMPDIR/pause" \
		"$PREFORKD_TEST" --listen 127.0.0.1:0 --workers 1 --pidfile "$SAFE/p.pid" \
		--admin "$SAFE/a.sock" --log "$SERVER_LOG" </dev/null &
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 10 test -e "$BATS_TEST_TMPDIR/pause.reached"
	[ "$(stat -c '%a %F' "$SAFE/a.sock")" = "600 socket" ]
	mv "$SAFE/a.sock" "$SAFE/a.sock.moved"
	ln -s "$SAFE/precious" "$SAFE/a.sock"
	rm "$BATS_TEST_TMPDIR/pause"
	wait_until 10 log_has "listening on"
	precious_intact
	# At exit the symlink is not ours: left alone.
	stop_server
	[ -L "$SAFE/a.sock" ]
	precious_intact
}

@test "row 7: a live socket of another user is named and left alone; preforkctl does not trust it" {
	STICKY=$(mktemp -d /tmp/preforkd-sticky.XXXXXX)
	chmod 1777 "$STICKY"
	# Not through the attacker function: $! must be the server itself (setpriv execs).
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$ATTACKER_PYTHON" -c "$FAKE_ADMIN_SERVER" "$STICKY/a.sock" \
		'b"ok: stopping preforkd (pid 1)\n\x1b]0;owned\x07\n"' 3>&- &
	local holder=$!
	track "$holder"
	wait_until 10 test -e "$STICKY/a.sock.up"
	run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --workers 1 --admin "$STICKY/a.sock"
	[ "$status" -eq 1 ]
	[ "$output" = "preforkd: admin socket $STICKY/a.sock is held by uid 65534 pid $holder" ]
	[ -S "$STICKY/a.sock" ]
	[ "$(stat -c %u "$STICKY/a.sock")" = 65534 ]
	# preforkctl: a forged reply from a server that is neither root nor us.
	run "$CTL" --socket "$STICKY/a.sock" stop
	[ "$status" -eq 4 ]
	[ "$output" = "preforkctl: not trusting $STICKY/a.sock: the server runs as uid 65534 (pid $holder), neither root nor uid 0" ]
	# A trusted server's reply is printed with its control bytes escaped.
	python3 -c "$FAKE_ADMIN_SERVER" "$SAFE/r.sock" 'b"ok 27\nstatus \x1b[2J\x1b]0;title\x07 done\n"' 3>&- &
	track $!
	wait_until 10 test -e "$SAFE/r.sock.up"
	run "$CTL" --socket "$SAFE/r.sock" status
	[ "$status" -eq 0 ]
	[ "$output" = 'status \x1b[2J\x1b]0;title\x07 done' ]
	# A reply cut short (fewer bytes than its header announced) is status unknown.
	python3 -c "$FAKE_ADMIN_SERVER" "$SAFE/t.sock" 'b"ok 26\npreforkd 0.1.0 - runn"' 3>&- &
	track $!
	wait_until 10 test -e "$SAFE/t.sock.up"
	run "$CTL" --socket "$SAFE/t.sock" status
	[ "$status" -eq 4 ]
	[[ "$output" == *"truncated reply"* ]]
}

@test "row 8: --daemon without --admin or --pidfile: root uses /run/preforkd, others need a runtime dir" {
	unshare --mount --propagation private true 2>/dev/null ||
		skip "unshare --mount is not available: the default root path is not tested"
	local out="$BATS_TEST_TMPDIR/ns.out"
	SERVER_LOG="$BATS_TEST_TMPDIR/d.log"
	# A private /run: the machine's own /run/preforkd is never touched.
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare --mount --propagation private bash -c '
		set -e
		mount -t tmpfs tmpfs /run
		"$1" --daemon --listen 127.0.0.1:0 --workers 1 --log "$2" </dev/null
		stat -c "%a %U %F" /run/preforkd/preforkd.sock
		"$3" status | head -1
		"$3" stop
		for _ in $(seq 200); do [ -e /run/preforkd/preforkd.sock ] || break; sleep 0.05; done
		[ ! -e /run/preforkd/preforkd.sock ] && echo removed' \
		_ "$PREFORKD" "$SERVER_LOG" "$CTL" >"$out" 2>&1 || { cat "$out"; return 1; }
	local pid
	pid=$(sed -n 's/.*started preforkd .*(pid \([0-9]*\),.*/\1/p' "$SERVER_LOG" | head -1)
	echo "$pid" >>"$BATS_TEST_TMPDIR/started.pids"
	cat "$out"
	[ "$(sed -n 1p "$out")" = "600 root socket" ]
	[[ "$(sed -n 2p "$out")" == *"running, pid $pid" ]]
	[ "$(sed -n 4p "$out")" = removed ]
	wait_until 10 process_gone "$pid"
	# Not root and no usable runtime directory: a clear refusal, nothing created.
	run env -u XDG_RUNTIME_DIR setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PREFORKD" --daemon --listen 127.0.0.1:0 --workers 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"no default admin socket for uid 65534: XDG_RUNTIME_DIR is unset; give the path with --admin PATH"* ]]
	# With one (its own, 0700), the socket goes there, and preforkctl finds it.
	XDG=$(mktemp -d /tmp/preforkd-xdg.XXXXXX)
	chown 65534:65534 "$XDG"
	chmod 0700 "$XDG"
	XDG_RUNTIME_DIR=$XDG attacker "$PREFORKD" --daemon --listen 127.0.0.1:0 --workers 1
	[ -S "$XDG/preforkd.sock" ]
	run env XDG_RUNTIME_DIR="$XDG" setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" status
	[ "$status" -eq 0 ]
	pid=$(sed -n '1s/.*running, pid \([0-9]*\)$/\1/p' <<<"$output")
	echo "$pid" >>"$BATS_TEST_TMPDIR/started.pids"
	stop_server "$pid"
	[ ! -e "$XDG/preforkd.sock" ]
}

@test "row 9: --group root and --group 0 are refused like --user root" {
	for g in root 0; do
		run timeout 10 "$PREFORKD" --listen 127.0.0.1:0 --user nobody --group "$g" \
			--admin "$SAFE/a.sock"
		[ "$status" -eq 1 ]
		[[ "$output" == *"--group: '$g' is gid 0; refusing to run workers with group root"* ]]
	done
	[ ! -e "$SAFE/a.sock" ]
}

@test "workers run with no_new_privs; under --user they dump core only with --core-dumps" {
	start_at "$SAFE/p.pid" "$SAFE/a.sock" "$SAFE/a.log" --user nobody
	local w
	w=$(worker_pids | head -1)
	grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$w/status"
	grep -q '^Groups:[[:space:]]*65534 *$' "/proc/$w/status"
	# A non-dumpable process's /proc files belong to root.
	[ "$(stat -c %u "/proc/$w/status")" = 0 ]
	stop_server
	start_at "$SAFE/p.pid" "$SAFE/a.sock" "$SAFE/a.log" --user nobody --core-dumps
	w=$(worker_pids | head -1)
	[ "$(stat -c %u "/proc/$w/status")" = 65534 ]
	grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$w/status"
	run "$PREFORKD" --core-dumps --admin "$SAFE/x.sock"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--core-dumps: needs --user"* ]]
}

# ask_raw LINE: sends LINE (a Python bytes literal) to the admin socket, prints the
# reply with non-printable bytes shown as \xHH.
ask_raw() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(eval(sys.argv[2]))
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
sys.stdout.write(data.decode("latin-1").encode("unicode_escape").decode())' "$SERVER_ADMIN" "$1"
}

@test "row 10: error replies to stats and scale never echo raw bytes" {
	start_at "$SAFE/p.pid" "$SAFE/a.sock" "$SAFE/a.log"
	run ask_raw 'b"stats \x1b]0;x\x07\n"'
	[ "$output" = "error: stats: expected 'json' or 'prometheus', got '?]0;x?'\\n" ]
	run ask_raw 'b"scale 1\x1b[2J\n"'
	[ "$output" = "error: scale: expected an integer 1..1024, got '1?[2J'\\n" ]
}

@test "symlinked directories still work for the pidfile, the log and the admin socket" {
	mkdir -m 0755 "$SAFE/real"
	ln -s real "$SAFE/link"
	start_at "$SAFE/link/p.pid" "$SAFE/link/a.sock" "$SAFE/link/a.log"
	[ "$(cat "$SAFE/real/p.pid")" = "$SERVER_PID" ]
	[ -S "$SAFE/real/a.sock" ]
	run "$CTL" --socket "$SAFE/link/a.sock" status
	[ "$status" -eq 0 ]
	stop_server
	[ ! -e "$SAFE/real/p.pid" ]
	[ ! -e "$SAFE/real/a.sock" ]
}

@test "after kill -9 of the master, a restart cleans up its stale pidfile and socket" {
	start_at "$SAFE/p.pid" "$SAFE/a.sock" "$SAFE/a.log"
	local first=$SERVER_PID workers
	workers=$(worker_pids)
	kill -KILL "$first"
	wait "$first" || true
	for w in $workers; do wait_until 10 process_gone "$w"; done
	[ -S "$SAFE/a.sock" ]
	[ "$(cat "$SAFE/p.pid")" = "$first" ]
	start_at "$SAFE/p.pid" "$SAFE/a.sock" "$SAFE/a2.log"
	log_has "removed stale admin socket $SAFE/a.sock"
	[ "$(cat "$SAFE/p.pid")" = "$SERVER_PID" ]
	run "$CTL" --socket "$SAFE/a.sock" status
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"pid $SERVER_PID" ]]
}

gone_count_is() {
	local want=$1 n=0 p
	shift
	for p in "$@"; do process_gone "$p" && n=$((n + 1)); done
	[ "$n" -eq "$want" ]
}

@test "instances started together with the same paths: exactly one runs" {
	local i pids=() rc running=0 refused=0
	for i in 1 2 3 4; do
		"$PREFORKD" --listen 127.0.0.1:0 --workers 1 --pidfile "$SAFE/p.pid" \
			--admin "$SAFE/a.sock" --log "$SAFE/$i.log" </dev/null \
			2>"$BATS_TEST_TMPDIR/$i.err" &
		pids+=($!)
		echo $! >>"$BATS_TEST_TMPDIR/started.pids"
	done
	wait_until 10 test -s "$SAFE/p.pid"
	wait_until 10 gone_count_is 3 "${pids[@]}"
	for i in 0 1 2 3; do
		if [ "${pids[$i]}" = "$(cat "$SAFE/p.pid")" ]; then
			process_alive "${pids[$i]}" && running=$((running + 1))
			continue
		fi
		rc=0
		wait "${pids[$i]}" || rc=$?
		[ "$rc" -eq 1 ] && refused=$((refused + 1))
		grep -q "another instance is running" "$BATS_TEST_TMPDIR/$((i + 1)).err"
	done
	[ "$running" -eq 1 ]
	[ "$refused" -eq 3 ]
}
