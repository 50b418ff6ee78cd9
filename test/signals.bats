#!/usr/bin/env bats
# The master's signals: graceful and fast stop, rolling restart, scaling, and the
# supervisor replacing workers that die; workers never outlive the master.

load helpers

@test "a worker killed with SIGKILL is replaced and the server keeps serving" {
	start_server --workers 2
	local before victim after
	before=$(worker_pids)
	victim=$(echo "$before" | head -1)
	kill -KILL "$victim"
	wait_until 5 log_has "pid $victim cause signal 9"
	wait_until 5 has_workers 2
	after=$(worker_pids)
	[[ $'\n'"$after"$'\n' != *$'\n'"$victim"$'\n'* ]]
	run echo_once "still here"
	[ "$output" = "still here" ]
}

@test "SIGTERM lets a client mid-transfer finish; exit 0 and nothing left behind" {
	start_server --workers 2 --defer-accept 0
	(
		exec 3>&-
		# shellcheck disable=SC2153 # CLIENT comes from helpers.bash
		{ printf 'first half,'; sleep 1; printf 'second half'; } |
			"$CLIENT" --connect "$SERVER_ADDR" --timeout 10 >"$BATS_TEST_TMPDIR/out"
		echo "$?" >"$BATS_TEST_TMPDIR/rc"
	) &
	local client=$!
	wait_until 5 established_to_server 1
	local workers
	workers=$(worker_pids)
	kill -TERM "$SERVER_PID"
	local rc=0
	wait "$SERVER_PID" || rc=$?
	[ "$rc" -eq 0 ]
	wait "$client"
	[ "$(cat "$BATS_TEST_TMPDIR/rc")" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "first half,second half" ]
	[ ! -e "$SERVER_PIDFILE" ]
	[ ! -e "$SERVER_ADMIN" ]
	for w in $workers; do process_gone "$w"; done
	log_has "stopping (SIGTERM)"
	log_has "stopped"
}

@test "SIGTERM kills a worker still busy after --grace" {
	start_server --workers 1 --grace 0.5 --defer-accept 0
	({ printf 'slow'; sleep 4; } | "$CLIENT" --connect "$SERVER_ADDR" >/dev/null 2>&1) 3>&- &
	local client=$!
	wait_until 5 established_to_server 1
	local t0=$SECONDS rc=0
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || rc=$?
	[ "$rc" -eq 0 ]
	[ $((SECONDS - t0)) -le 3 ]
	log_has "grace period over: killing 1 workers"
	wait "$client" || true
}

@test "SIGQUIT stops at once, even with a client connected" {
	start_server --workers 2 --defer-accept 0
	({ printf 'slow'; sleep 4; } | "$CLIENT" --connect "$SERVER_ADDR" >/dev/null 2>&1) 3>&- &
	local client=$!
	wait_until 5 established_to_server 1
	local workers t0=$SECONDS
	workers=$(worker_pids)
	kill -QUIT "$SERVER_PID"
	wait "$SERVER_PID" || true
	[ $((SECONDS - t0)) -le 1 ]
	for w in $workers; do wait_until 1 process_gone "$w"; done
	[ ! -e "$SERVER_PIDFILE" ]
	wait "$client" || true
}

@test "SIGTTIN adds a worker and SIGTTOU removes one" {
	start_server --workers 2
	kill -TTIN "$SERVER_PID"
	wait_until 5 has_workers 3
	kill -TTIN "$SERVER_PID"
	wait_until 5 has_workers 4
	# One signal at a time: the kernel merges a burst of the same pending signal.
	kill -TTOU "$SERVER_PID"
	wait_until 5 has_workers 3
	kill -TTOU "$SERVER_PID"
	wait_until 5 has_workers 2
	kill -TTOU "$SERVER_PID"
	wait_until 5 has_workers 1
	# Never below one worker.
	kill -TTOU "$SERVER_PID"
	sleep 0.3
	has_workers 1
	run echo_once "one left"
	[ "$output" = "one left" ]
}

# A client loop that counts failures; it runs until the stop file appears.
client_loop() {
	local n=0 fail=0
	while [ ! -e "$BATS_TEST_TMPDIR/stop" ]; do
		n=$((n + 1))
		if [ "$("$CLIENT" --connect "$SERVER_ADDR" --timeout 5 "ping $n" 2>&1)" != "ping $n" ]; then
			fail=$((fail + 1))
		fi
	done
	echo "$n $fail" >"$BATS_TEST_TMPDIR/loop.$1"
}

@test "SIGHUP replaces every worker while clients never fail" {
	start_server --workers 3
	local before after
	before=$(worker_pids)
	(exec 3>&-; client_loop 1) &
	local l1=$!
	(exec 3>&-; client_loop 2) &
	local l2=$!
	sleep 0.3
	kill -HUP "$SERVER_PID"
	wait_until 5 log_has "generation 2"
	# Every old worker must be gone and three new ones in place.
	for w in $before; do wait_until 5 process_gone "$w"; done
	wait_until 5 has_workers 3
	sleep 0.3
	kill -HUP "$SERVER_PID"
	wait_until 5 log_has "generation 3"
	sleep 0.3
	touch "$BATS_TEST_TMPDIR/stop"
	wait "$l1" "$l2"
	after=$(worker_pids)
	for w in $before; do [[ $'\n'"$after"$'\n' != *$'\n'"$w"$'\n'* ]]; done
	read -r n1 f1 <"$BATS_TEST_TMPDIR/loop.1"
	read -r n2 f2 <"$BATS_TEST_TMPDIR/loop.2"
	echo "transactions: $n1 + $n2, failures: $f1 + $f2"
	[ "$n1" -gt 5 ] && [ "$n2" -gt 5 ]
	[ "$f1" -eq 0 ] && [ "$f2" -eq 0 ]
}

@test "workers are gone within 1 s of the master's SIGKILL and the port binds again" {
	start_server --workers 3
	local workers
	workers=$(worker_pids)
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" || true
	for w in $workers; do wait_until 1 process_gone "$w"; done
	python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()' "$SERVER_PORT"
}

@test "SIGUSR1 reopens the log file after logrotate moves it, in workers too" {
	start_server --workers 2 --verbose
	mv "$SERVER_LOG" "$SERVER_LOG.1"
	kill -USR1 "$SERVER_PID"
	wait_until 5 test -s "$SERVER_LOG"
	grep -q "log file reopened" "$SERVER_LOG"
	grep -q "listening on" "$SERVER_LOG.1"
	# A worker forked before the rotation writes its next line to the new file.
	kill -TTOU "$SERVER_PID"
	wait_until 5 has_workers 1
	wait_until 5 grep -q "preforkd\[[0-9]*\] debug: worker stops" "$SERVER_LOG"
	run grep -c "debug: worker stops" "$SERVER_LOG.1"
	[ "$output" -eq 0 ]
}
