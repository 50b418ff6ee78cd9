#!/usr/bin/env bats
# The configuration file (--config): keys are the long options, the command line
# overrides it; -t checks it (binding and opening without changing anything), -T
# prints it; SIGHUP and `preforkctl reload` re-read it, applying what can change live,
# reporting what needs a restart, and refusing a bad file without touching the server.

load helpers

suite_cleanup() {
	[ -z "${HOLDER_PID:-}" ] || { kill "$HOLDER_PID" 2>/dev/null || true; wait "$HOLDER_PID" 2>/dev/null || true; }
	[ -z "${NOBODY_DIR:-}" ] || rm -rf "$NOBODY_DIR"
}

# conf NAME LINE...: writes the lines to $BATS_TEST_TMPDIR/NAME; prints its path.
conf() {
	local f="$BATS_TEST_TMPDIR/$1"
	shift
	printf '%s\n' "$@" >"$f"
	echo "$f"
}

# base_conf NAME LINE...: a configuration with the test's own admin socket, pidfile
# and log (relative: they start at the file's directory), plus the lines given.
base_conf() {
	local name=$1
	shift
	conf "$name" "# written by config.bats" "" "admin preforkd.sock" "pidfile preforkd.pid" \
		"log preforkd.log" "listen 127.0.0.1:0" "defer-accept 0" "$@"
}

# start_conf FILE [OPTION...]: starts preforkd -c FILE (from another directory, so
# the file's own directory is what relative paths mean), waits for N workers
# (WORKERS, default 2) to be ready; sets what helpers.bash's functions use.
start_conf() {
	local file=$1
	shift
	SERVER_LOG="$BATS_TEST_TMPDIR/preforkd.log"
	SERVER_ADMIN="$BATS_TEST_TMPDIR/preforkd.sock"
	# shellcheck disable=SC2034 # read by helpers.bash
	SERVER_PIDFILE="$BATS_TEST_TMPDIR/preforkd.pid"
	: >"$SERVER_LOG"
	(cd / && exec "$PREFORKD" -c "$file" "$@" </dev/null 3>&-) &
	SERVER_PID=$!
	echo "$SERVER_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_until 5 log_has "listening on" || { cat "$SERVER_LOG" >&2; return 1; }
	SERVER_PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$SERVER_LOG" | head -1)
	# shellcheck disable=SC2034 # read by helpers.bash
	SERVER_ADDR="127.0.0.1:$SERVER_PORT"
	wait_until 5 workers_ready "${WORKERS:-2}"
}

# every_worker_of GEN N: N workers run, all of generation GEN, ready.
every_worker_of() {
	json_true ".generation == $1 and .pool.running == $2 and .pool.idle + .pool.busy == $2 and
		all(.workers[]; .generation == $1)"
}

@test "a configuration file sets the options: comments, blank lines, relative paths" {
	local f
	f=$(base_conf p.conf "workers 3   # three" "" "idle-timeout 7")
	WORKERS=3 start_conf "$f"
	[ -S "$BATS_TEST_TMPDIR/preforkd.sock" ]
	[ "$(cat "$BATS_TEST_TMPDIR/preforkd.pid")" = "$SERVER_PID" ]
	json_true '.pool.configured == 3'
	run echo_once "from a file"
	[ "$output" = "from a file" ]
}

@test "errors name the file, the line and the key, and exit 2" {
	local f
	f=$(conf bad.conf "# fine" "workers 2" "" "max-requests lots")
	run "$PREFORKD" -c "$f"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "preforkd: $f:4: max-requests: expected an integer 0..1000000000, got 'lots'" ]
	f=$(conf bad.conf "workers 2" "wrokers 3")
	run "$PREFORKD" --config "$f"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "preforkd: $f:2: wrokers: unknown key" ]
	f=$(conf bad.conf "workers 2" "listen 127.0.0.1:0" "workers 3")
	run "$PREFORKD" --config="$f"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "preforkd: $f:3: workers: already set on line 1" ]
	f=$(conf bad.conf "daemon perhaps")
	run "$PREFORKD" -c "$f"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "preforkd: $f:1: daemon: expected yes or no, got 'perhaps'" ]
	run "$PREFORKD" -c "$BATS_TEST_TMPDIR/none.conf"
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "preforkd: cannot open $BATS_TEST_TMPDIR/none.conf: No such file or directory" ]]
	# Whoever may change the file decides where root appends its log: refused.
	f=$(conf open.conf "workers 2")
	chmod 0666 "$f"
	run "$PREFORKD" -c "$f"
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"$f (owner uid $(id -u), mode 0666) is writable by group or others"* ]]
}

@test "the command line overrides the file, and --listen replaces the file's" {
	local f
	f=$(conf p.conf "workers 3" "listen 127.0.0.1:7001" "grace 4" "quiet")
	run "$PREFORKD" -T -c "$f" --workers 5 --listen '[::1]:7002' --verbose
	[ "$status" -eq 0 ]
	grep -qx "workers 5" <<<"$output"
	grep -qx "listen \[::1\]:7002" <<<"$output"
	grep -qx "grace 4" <<<"$output"
	grep -qx "verbose yes" <<<"$output"
	grep -qx "quiet no" <<<"$output"
	# Wherever --config stands, the file is the lower layer.
	run "$PREFORKD" --workers 5 -T --config "$f"
	grep -qx "workers 5" <<<"$output"
	# A rule between options holds across both.
	f=$(conf rule.conf "worker-timeout 5")
	run "$PREFORKD" -c "$f" --idle-timeout 10 -T
	[ "$status" -eq 1 ]
	[[ "$output" == "preforkd: configuration check failed: --worker-timeout (5 s) must be 0 or greater than --idle-timeout (10 s)"* ]]
}

@test "-T prints the effective configuration; read back, it prints the same" {
	local f
	f=$(base_conf p.conf "workers 3" "idle-timeout 0.25" "user nobody" "core-dumps")
	run "$PREFORKD" -T -c "$f" --max-requests 9
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/printed.conf"
	cat "$BATS_TEST_TMPDIR/printed.conf"
	grep -qx "log $BATS_TEST_TMPDIR/preforkd.log" "$BATS_TEST_TMPDIR/printed.conf"
	grep -qx "idle-timeout 0.25" "$BATS_TEST_TMPDIR/printed.conf"
	grep -qx "max-requests 9" "$BATS_TEST_TMPDIR/printed.conf"
	grep -qx "daemon no" "$BATS_TEST_TMPDIR/printed.conf"
	grep -qx "# group (not set)" "$BATS_TEST_TMPDIR/printed.conf"
	# Every key --help names is there, set or as a comment.
	local key
	for key in listen workers backlog service idle-timeout first-byte-timeout grace pidfile \
		log admin worker-timeout max-requests max-requests-jitter min-uptime defer-accept \
		pressure-idle queue-wait daemon user group core-dumps quiet verbose; do
		grep -Eq "^(# )?$key( |$)" "$BATS_TEST_TMPDIR/printed.conf" || { echo "missing $key"; return 1; }
	done
	mkdir "$BATS_TEST_TMPDIR/elsewhere"
	cp "$BATS_TEST_TMPDIR/printed.conf" "$BATS_TEST_TMPDIR/elsewhere/again.conf"
	run "$PREFORKD" -T -c "$BATS_TEST_TMPDIR/elsewhere/again.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/printed.conf")" ]
}

@test "-t: one line and exit 0 for a configuration that would start; nothing is created" {
	local f
	f=$(base_conf p.conf "workers 2")
	run "$PREFORKD" -t -c "$f"
	[ "$status" -eq 0 ]
	[ "$output" = "preforkd: configuration ok ($f)" ]
	[ ! -e "$BATS_TEST_TMPDIR/preforkd.log" ]
	[ ! -e "$BATS_TEST_TMPDIR/preforkd.pid" ]
	[ ! -e "$BATS_TEST_TMPDIR/preforkd.sock" ]
	[ ! -e "$BATS_TEST_TMPDIR/preforkd.sock.lock" ]
	[ ! -e "$BATS_TEST_TMPDIR/preforkd.pid.lock" ]
	# An existing log is opened, neither truncated nor rewritten.
	echo "old line" >"$BATS_TEST_TMPDIR/preforkd.log"
	run "$PREFORKD" --check-config -c "$f"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/preforkd.log")" = "old line" ]
	# Without a file, the command line alone is checked.
	run "$PREFORKD" -t --listen 127.0.0.1:0 --admin "$BATS_TEST_TMPDIR/x.sock"
	[ "$status" -eq 0 ]
	[ "$output" = "preforkd: configuration ok (command line only)" ]
	# A bad value is a failed check too: one line, exit 1.
	run "$PREFORKD" -t -c "$f" --workers 0
	[ "$status" -eq 1 ]
	[ "$output" = "preforkd: configuration check failed: --workers: expected an integer 1..1024, got '0'" ]
}

@test "-t while the instance runs: the port it holds is fine, another program's is not" {
	local f t
	f=$(base_conf p.conf "workers 1")
	WORKERS=1 start_conf "$f"
	# The configuration about to be loaded names the port the instance listens on.
	t=$(base_conf next.conf "workers 4" "listen 127.0.0.1:$SERVER_PORT")
	sed -i "/^listen 127.0.0.1:0$/d" "$t"
	run "$PREFORKD" -t -c "$t"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "preforkd: configuration ok ($t); 127.0.0.1:$SERVER_PORT is held by the running instance (pid $SERVER_PID)" ]
	# The running server did not notice anything.
	run echo_once "still here"
	[ "$output" = "still here" ]
	# A port held by some other program: refused.
	python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(60)' >"$BATS_TEST_TMPDIR/holder.port" 3>&- &
	HOLDER_PID=$!
	wait_until 5 test -s "$BATS_TEST_TMPDIR/holder.port"
	local port
	port=$(cat "$BATS_TEST_TMPDIR/holder.port")
	sed -i "s/^listen .*/listen 127.0.0.1:$port/" "$t"
	run "$PREFORKD" -t -c "$t"
	[ "$status" -eq 1 ]
	[ "$output" = "preforkd: configuration check failed: listen: cannot bind 127.0.0.1:$port: address in use by another program than the running instance" ]
	# And with no instance of this configuration running at all.
	run "$PREFORKD" -t --listen "127.0.0.1:$port" --admin "$BATS_TEST_TMPDIR/none.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot bind 127.0.0.1:$port: address in use (and no instance of this configuration answers)" ]]
}

@test "-t fails on an address it cannot bind and on a log directory it cannot use" {
	local f
	# 192.0.2.0/24 (TEST-NET-1) is on no interface here.
	f=$(base_conf p.conf "workers 1")
	sed -i "s/^listen .*/listen 192.0.2.1:7777/" "$f"
	run "$PREFORKD" -t -c "$f"
	[ "$status" -eq 1 ]
	[ "$output" = "preforkd: configuration check failed: listen: cannot bind 192.0.2.1:7777: Cannot assign requested address" ]
	f=$(base_conf p.conf "workers 1")
	sed -i "s|^log .*|log $BATS_TEST_TMPDIR/no-such-dir/p.log|" "$f"
	run "$PREFORKD" -t -c "$f"
	[ "$status" -eq 1 ]
	[[ "$output" == "preforkd: configuration check failed: log: $BATS_TEST_TMPDIR/no-such-dir/p.log: directory $BATS_TEST_TMPDIR/no-such-dir: No such file or directory" ]]
	# A log directory that the user running -t cannot enter (root may, so: nobody).
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
	NOBODY_DIR=$(mktemp -d /tmp/preforkd-conf.XXXXXX)
	chmod 0755 "$NOBODY_DIR"
	mkdir -m 0700 "$NOBODY_DIR/logs" "$NOBODY_DIR/run"
	chown 65534 "$NOBODY_DIR/run"
	printf '%s\n' "listen 127.0.0.1:0" "log logs/p.log" "admin run/p.sock" >"$NOBODY_DIR/p.conf"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$PREFORKD" -t -c "$NOBODY_DIR/p.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "preforkd: configuration check failed: log: cannot create files in $NOBODY_DIR/logs: Permission denied" ]
	# The same with a log directory of its own passes.
	sed -i "s|^log .*|log run/p.log|" "$NOBODY_DIR/p.conf"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$PREFORKD" -t -c "$NOBODY_DIR/p.conf"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "SIGHUP and preforkctl reload re-read the file: a workers change takes effect" {
	local f
	f=$(base_conf p.conf "workers 2")
	start_conf "$f"
	sed -i "s/^workers .*/workers 3/" "$f"
	kill -HUP "$SERVER_PID"
	wait_until 10 every_worker_of 2 3
	log_has "reload: workers: 2 -> 3"
	sed -i "s/^workers .*/workers 1/" "$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 0 ]
	[ "$output" = "ok: reloading: rolling restart to generation 3 ($f re-read)" ]
	wait_until 10 every_worker_of 3 1
	json_true '.pool.configured == 1'
	run echo_once "after two reloads"
	[ "$output" = "after two reloads" ]
}

@test "a bad file on reload changes nothing, and the reply says why" {
	local f
	f=$(base_conf p.conf "workers 2")
	start_conf "$f"
	printf '%s\n' "workers 5" "idle-timeout never" >>"$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 1 ]
	[ "$output" = "preforkctl: error: reload refused, nothing changed: $f:9: workers: already set on line 8" ]
	sed -i "/^workers 2$/d" "$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 1 ]
	[ "$output" = "preforkctl: error: reload refused, nothing changed: $f:9: idle-timeout: expected seconds 0.001..86400, got 'never'" ]
	# A rule between options, broken by the file: refused the same way.
	sed -i "s/^idle-timeout .*/idle-timeout 90/" "$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 1 ]
	[[ "$output" == "preforkctl: error: reload refused, nothing changed: --worker-timeout (60 s) must be 0 or greater than --idle-timeout (90 s)"* ]]
	# SIGHUP: said in the log.
	kill -HUP "$SERVER_PID"
	wait_until 5 log_has "reload (SIGHUP) refused, nothing changed: --worker-timeout (60 s)"
	# The server runs on as it was: same generation, same workers, same settings.
	json_true '.generation == 1 and .pool.configured == 2 and .pool.running == 2'
	run echo_once "untouched"
	[ "$output" = "untouched" ]
	run "$CTL" -s "$SERVER_ADMIN" status
	[[ "$output" == *"Config: $f, loaded "* ]]
}

@test "a change that needs a restart is reported in the log and the reply; live ones apply" {
	local f new_log="$BATS_TEST_TMPDIR/logs/second.log"
	f=$(base_conf p.conf "workers 2")
	start_conf "$f"
	mkdir "$BATS_TEST_TMPDIR/logs"
	sed -i "s/^listen .*/listen 127.0.0.1:1/; s|^log .*|log logs/second.log|" "$f"
	echo "user nobody" >>"$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 0 ]
	[ "$output" = "ok: reloading: rolling restart to generation 2 ($f re-read); needs a restart to take effect: listen, user" ]
	log_has "warn: reload: listen: 127.0.0.1:1 in the configuration, 127.0.0.1:0 running: needs a restart to take effect"
	log_has "warn: reload: user: nobody in the configuration, (not set) running: needs a restart to take effect"
	log_has "info: reload: log: $BATS_TEST_TMPDIR/preforkd.log -> $new_log"
	# The log moved: the rest of the reload is told in the new file.
	SERVER_LOG=$new_log
	wait_until 5 log_has "reloading (admin reload): rolling restart to generation 2"
	wait_until 10 every_worker_of 2 2
	# Still on the old address.
	run echo_once "same port"
	[ "$output" = "same port" ]
	run "$CTL" -s "$SERVER_ADMIN" status
	[[ "$output" == *"Listen: 127.0.0.1:$SERVER_PORT "* ]]
	# SIGUSR1 reopens the new path.
	mv "$new_log" "$new_log.1"
	kill -USR1 "$SERVER_PID"
	wait_until 5 test -s "$new_log"
}

@test "a log-format change is reported at every reload until a restart, never half applied" {
	local f
	f=$(base_conf p.conf "workers 2")
	start_conf "$f"
	echo "log-format journal" >>"$f"
	for gen in 2 3; do
		run "$CTL" -s "$SERVER_ADMIN" reload
		[ "$status" -eq 0 ]
		[ "$output" = "ok: reloading: rolling restart to generation $gen ($f re-read); needs a restart to take effect: log-format" ]
	done
	# The running form stays: lines keep their timestamp, no <N> prefix.
	wait_until 5 log_has "rolling restart to generation 3"
	if grep -q '^<[0-9]>' "$SERVER_LOG"; then return 1; fi
}

@test "the command line is applied again over the re-read file" {
	local f
	f=$(base_conf p.conf "workers 3")
	start_conf "$f" --workers 2
	sed -i "s/^workers .*/workers 4/" "$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 0 ]
	wait_until 10 every_worker_of 2 2
	json_true '.pool.configured == 2'
}

@test "a reload that shortens --idle-timeout holds new workers to the new limit" {
	local f
	# The listener's receive timeout is the shorter wait, 10 s, set once at start.
	f=$(base_conf p.conf "workers 1" "first-byte-timeout 10" "idle-timeout 30")
	WORKERS=1 start_conf "$f"
	sed -i "s/^idle-timeout .*/idle-timeout 1/" "$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 0 ]
	wait_until 10 every_worker_of 2 1
	run python3 - "$SERVER_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"a")
assert s.recv(1) == b"a"
t0 = time.monotonic()
try:
    s.recv(1)
except OSError:
    pass
print("%.2f" % (time.monotonic() - t0))
PY
	[ "$status" -eq 0 ]
	echo "idle client cut after $output s (idle-timeout 1 after the reload, 30 before)"
	# Near 1 s; the listener's 10 s would show if the worker used it.
	awk -v s="$output" 'BEGIN { exit !(s >= 0.9 && s < 6) }'
}

# seconds_since START_NS SECONDS: at least SECONDS have passed since START_NS.
seconds_since() {
	[ $(($(date +%s%N) - $1)) -ge $(($2 * 1000000000)) ]
}

@test "after a reload that lowers --worker-timeout, an older worker keeps its own limit" {
	local f t0
	f=$(base_conf p.conf "workers 1" "idle-timeout 30" "worker-timeout 60")
	WORKERS=1 start_conf "$f"
	hold_worker
	sed -i "s/^idle-timeout .*/idle-timeout 1/; s/^worker-timeout .*/worker-timeout 3/" "$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 0 ]
	t0=$(date +%s%N)
	# The new worker serves; the old one finishes its connection, idle within its 30 s.
	wait_until 10 json_true '.pool.running == 2 and .pool.idle == 1'
	# Past the new 3 s limit (and the master's 1 s check): the old worker lives on.
	wait_until 10 seconds_since "$t0" 5
	printf 'b' >&"$HELD"
	local got
	IFS= read -r -n 1 -t 5 got <&"$HELD"
	[ "$got" = b ]
	json_true '.restarts.timeout == 0'
	release_worker
}

@test "status shows the configuration file and when it was loaded" {
	local f before
	f=$(base_conf p.conf "workers 1")
	WORKERS=1 start_conf "$f"
	run "$CTL" -s "$SERVER_ADMIN" status
	[ "$status" -eq 0 ]
	before=$(grep "Config:" <<<"$output")
	[[ "$before" =~ ^"    Config: $f, loaded "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	# Without a file, the command line alone.
	stop_server
	start_server --workers 1 --admin "$BATS_TEST_TMPDIR/other.sock"
	run "$CTL" -s "$BATS_TEST_TMPDIR/other.sock" status
	[[ "$output" == *"    Config: none (command line only), loaded "* ]]
}

@test "preforkctl --config finds the socket from the file; a hint when it finds nothing" {
	local f
	f=$(base_conf p.conf "workers 1")
	WORKERS=1 start_conf "$f"
	run "$CTL" --config "$f" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"Admin: $BATS_TEST_TMPDIR/preforkd.sock"* ]]
	# Only a pidfile in the file: the socket beside it, as the server does.
	mkdir "$BATS_TEST_TMPDIR/run"
	f=$(conf only-pid.conf "pidfile run/p.pid")
	run "$CTL" -c "$f" status
	[ "$status" -eq 3 ]
	[ "$output" = "preforkctl: preforkd is not running ($BATS_TEST_TMPDIR/run/preforkd.sock: no such socket)" ]
	run "$CTL" -c "$f" -s "$SERVER_ADMIN" status
	[ "$status" -eq 2 ]
	[[ "$output" == *"--socket, --pidfile and --config exclude each other"* ]]
	run "$CTL" -c "$BATS_TEST_TMPDIR/none.conf" status
	[ "$status" -eq 2 ]
	[[ "$output" == "preforkctl: --config: cannot open $BATS_TEST_TMPDIR/none.conf: No such file or directory"* ]]
	# Nothing given and nothing at the default path: say where else to look.
	run env XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR" "$CTL" status
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"hint: that is the default path; a server started with --admin, --pidfile or --config is found with -s SOCKET, -p PIDFILE or -c CONFIG" ]]
}

@test "the sample configuration is valid, and names every key" {
	local sample="$ROOT/scripts/preforkd.conf" key all="$BATS_TEST_TMPDIR/all.conf" keys
	keys="listen workers spare backlog service idle-timeout first-byte-timeout grace pidfile log admin
		admin-group metrics-listen agent-listen worker-timeout max-requests max-requests-jitter min-uptime
		crash-loop-limit crash-loop-exit defer-accept pressure-idle queue-wait daemon user group
		core-dumps quiet verbose"
	run "$PREFORKD" -T -c "$sample"
	[ "$status" -eq 0 ]
	# Each key appears, set or commented out with its default.
	for key in $keys; do
		grep -Eq "^(# )?$key( |$)" "$sample" || { echo "sample lacks $key"; return 1; }
	done
	# Uncommented, every default still reads (bar the paths and the user, which need
	# their directories and root at start, not here).
	sed -E "s/^# (($(tr -s ' \t\n' '|' <<<"$keys" | sed 's/^|//; s/|$//'))( |\$))/\1/" "$sample" |
		grep -Ev '^(pidfile|log|admin|user|group|core-dumps)( |$)' >"$all"
	cat "$all"
	run "$PREFORKD" -T -c "$all"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx "workers 4" <<<"$output"
	grep -qx "daemon no" <<<"$output"
	grep -qx "metrics-listen 127.0.0.1:9100" <<<"$output"
	grep -qx "agent-listen 127.0.0.1:9777" <<<"$output"
}
